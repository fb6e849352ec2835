/**
 * `newsletter subscribers get|import|export|delete`: operator commands on the subscriber table, against the
 * running local stack (found through PORT/SES_PORT/DYNAMODB_PORT/DATA_DIR or DATA_DIR/stack.json) or, with
 * `--aws`, against AWS (default SDK credentials; table from --table or TABLE_NAME).
 * Failures follow common.ts: one line on stderr, exit 2 bad input, 3 unreachable, 4 not found.
 */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import type { Subscriber } from '../../lambdas/core/model.ts';
import { normalizeEmail } from '../../lambdas/core/subscribers/email.ts';
import { planImport as planSubscriberImport, SubscriberCsvError, type ImportPlan } from '../../lambdas/core/subscribers/import-plan.ts';
import { CliError, EXIT } from './common.ts';
import { progressBar } from './progress.ts';
import { openTable, type TableOptions, type TableTarget } from './table.ts';

export type TargetOptions = TableOptions;
type Target = TableTarget;

async function withTarget<T>(opts: TargetOptions, fn: (t: Target) => Promise<T>): Promise<T> {
  const target = await openTable(opts);
  try {
    return await fn(target);
  } catch (err) {
    const name = (err as Error).name;
    if (name === 'ResourceNotFoundException') throw new CliError(`table not found: ${(err as Error).message}`, EXIT.UNREACHABLE);
    if (name === 'CredentialsProviderError' || name === 'UnrecognizedClientException') {
      throw new CliError(`AWS credentials problem: ${(err as Error).message}`, EXIT.UNREACHABLE);
    }
    throw err;
  } finally {
    target.close();
  }
}

function emailArg(raw: string): string {
  const check = normalizeEmail(raw);
  if (!check.ok) throw new CliError(`invalid email address ${JSON.stringify(raw)}: ${check.reason}`);
  return check.email;
}

// ---------- get ----------

/** `subscribers get <email>`: one subscriber; exit 4 when unknown. */
export async function getCommand(raw: string, opts: TargetOptions & { json?: boolean }): Promise<void> {
  const email = emailArg(raw);
  const s = await withTarget(opts, (t) => t.subscribers.get(email));
  if (!s) throw new CliError(`no subscriber ${email}`, EXIT.NOT_FOUND);
  if (opts.json) process.stdout.write(`${JSON.stringify(s)}\n`);
  else process.stdout.write(`${s.email}\t${s.status}${s.name ? `\t${s.name}` : ''}\n`);
}

// ---------- import ----------

export type { ImportPlan, ImportRow } from '../../lambdas/core/subscribers/import-plan.ts';

/** The core's planImport (lambdas/core/subscribers/import-plan.ts) with the CLI's contract: an unusable file is a CliError (exit 2). */
export function planImport(text: string, file: string): ImportPlan {
  try {
    return planSubscriberImport(text, file);
  } catch (err) {
    if (err instanceof SubscriberCsvError) throw new CliError(err.message);
    throw err;
  }
}

/** One line per skipped row, `file:line: skipped: why`, in file order. */
export function skippedLines(plan: ImportPlan, file: string): string[] {
  return [
    ...plan.invalid.map(({ line, reason }) => ({ line, text: `${file}:${line}: skipped: ${reason}` })),
    ...plan.duplicates.map((d) => ({ line: d.line, text: `${file}:${d.line}: skipped: duplicate of line ${d.firstLine} (${d.email})` })),
  ]
    .sort((a, b) => a.line - b.line)
    .map((s) => s.text);
}

export interface ImportOptions extends TargetOptions {
  confirmed?: boolean;
  consentSource?: string;
  strict?: boolean;
  json?: boolean;
}

/** `subscribers import <file.csv>`: validate the whole file first, then write the valid rows (idempotent). */
export async function importCommand(file: string, opts: ImportOptions): Promise<void> {
  if (opts.confirmed && !opts.consentSource?.trim()) {
    throw new CliError('--confirmed requires --consent-source TEXT (where these people agreed to receive the newsletter)');
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(await readFile(file));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new CliError(code ? `cannot read ${file}: ${code === 'ENOENT' ? 'no such file' : code}` : `${file} is not valid UTF-8 text`);
  }
  const plan = planImport(text, file);
  const skipped = skippedLines(plan, file);
  if (opts.strict && skipped.length > 0) {
    for (const line of skipped) process.stderr.write(`${line}\n`);
    throw new CliError(`${file}: ${skipped.length} rows invalid or duplicated, nothing imported (--strict)`);
  }

  const summary = await withTarget(opts, async ({ subscribers }) => {
    // Reported only once the target is reachable: an unreachable stack gives one line, nothing else.
    for (const line of skipped) process.stderr.write(`${line}\n`);
    const now = new Date();
    const consent = {
      at: now.toISOString(),
      method: 'import' as const,
      source: opts.consentSource?.trim() || `import:${basename(file)}`,
    };
    const bar = progressBar(opts, ' {bar} {value}/{total} rows');
    bar?.start(plan.rows.length, 0);
    let created = 0;
    let existing = 0;
    const queue = [...plan.rows];
    try {
      // A few writes in flight: fast on DynamoDB, gentle on the local emulator.
      await Promise.all(
        Array.from({ length: 8 }, async () => {
          for (let row = queue.shift(); row; row = queue.shift()) {
            const result = await subscribers.importSubscriber({
              email: row.email,
              ...(row.name ? { name: row.name } : {}),
              attributes: row.attributes,
              status: opts.confirmed ? 'confirmed' : 'pending',
              consent,
              now,
            });
            if (result === 'created') created += 1;
            else existing += 1;
            bar?.increment();
          }
        }),
      );
    } finally {
      bar?.stop();
    }
    return {
      file,
      status: opts.confirmed ? 'confirmed' : 'pending',
      rows: plan.rows.length + plan.invalid.length + plan.duplicates.length,
      created,
      existing,
      invalid: plan.invalid.length,
      duplicates: plan.duplicates.length,
    };
  });
  if (opts.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
  else {
    process.stdout.write(
      `Imported ${summary.created} new ${summary.status} subscribers from ${file} (${summary.existing} already present, ` +
        `${summary.invalid} invalid rows, ${summary.duplicates} duplicates skipped)\n`,
    );
  }
  // Valid rows are imported either way; a non-zero exit tells scripts that some rows were not.
  if (summary.invalid > 0) process.exitCode = EXIT.FAILED;
}

// ---------- export ----------

export const EXPORT_COLUMNS = [
  'email', 'status', 'name', 'createdAt', 'updatedAt', 'confirmedAt', 'unsubscribedAt', 'consentAt', 'consentMethod', 'consentSource', 'attributes',
] as const;

/**
 * CSV formula injection: a spreadsheet runs a cell starting with = + - @ (or a tab or CR before one) as a
 * formula. Such cells get a leading single quote, which spreadsheets show as text; `import` removes it again.
 */
export function guardFormula(value: string): string {
  return /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
}

/** One CSV cell: formula-guarded, then quoted when it holds a quote, comma or line break. */
export function csvField(value: string): string {
  const safe = guardFormula(value);
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

function exportRow(s: Subscriber): string[] {
  return [
    s.email, s.status, s.name ?? '', s.createdAt, s.updatedAt, s.confirmedAt ?? '', s.unsubscribedAt ?? '',
    s.consent?.at ?? '', s.consent?.method ?? '', s.consent?.source ?? '',
    s.attributes && Object.keys(s.attributes).length > 0 ? JSON.stringify(s.attributes) : '',
  ];
}

/** `subscribers export`: every subscriber to stdout, CSV (default) or a JSON array. */
export async function exportCommand(opts: TargetOptions & { csv?: boolean; json?: boolean }): Promise<void> {
  if (opts.csv && opts.json) throw new CliError('choose one format: --csv or --json');
  await withTarget(opts, async ({ subscribers }) => {
    const out = process.stdout;
    let first = true;
    if (opts.json) out.write('[');
    else out.write(`${EXPORT_COLUMNS.join(',')}\n`);
    for await (const s of subscribers.scan()) {
      if (out.destroyed) return; // the reader has gone (`| head`): stop scanning
      if (opts.json) {
        out.write(`${first ? '\n' : ',\n'}${JSON.stringify(s)}`);
      } else {
        out.write(`${exportRow(s).map(csvField).join(',')}\n`);
      }
      first = false;
    }
    if (opts.json) out.write(first ? ']\n' : '\n]\n');
  });
}

// ---------- delete ----------

/**
 * `subscribers delete <email>`: the right to erasure. The subscriber record goes first (so no new email can be
 * sent to them), then their delivery and event records in every campaign are replaced by anonymous ones: the
 * campaign counts stay, the address goes. Exit 4 when there was nothing to erase.
 */
export async function deleteCommand(raw: string, opts: TargetOptions & { json?: boolean }): Promise<void> {
  const email = emailArg(raw);
  const result = await withTarget(opts, async (t) => {
    const deleted = await t.subscribers.delete(email);
    const deliveryRecords = await t.campaigns.deleteSubscriberRecords(email);
    // A campaign still sending may have this address in a queued batch: the worker then finds no subscriber and
    // records a SKIPPED pair under the address. Running delete again once it has finished erases that too.
    const sending = (await t.campaigns.list()).filter((c) => c.status === 'SENDING').map((c) => c.campaignId);
    return { email, deleted, deliveryRecords, sending };
  });
  if (!result.deleted && result.deliveryRecords === 0) throw new CliError(`no subscriber ${email}`, EXIT.NOT_FOUND);
  if (opts.json) process.stdout.write(`${JSON.stringify(result)}\n`);
  else {
    process.stdout.write(
      `Deleted ${email}${result.deleted ? '' : ' (no subscriber record)'} and erased ${result.deliveryRecords} delivery records (campaign counts kept)\n`,
    );
  }
  if (result.sending.length > 0) {
    process.stderr.write(
      `newsletter: campaign ${result.sending.join(', ')} is still sending: run \`newsletter subscribers delete ${email}\` again once it has finished\n`,
    );
  }
}
