/**
 * `newsletter subscribers get|import|export|delete`: operator commands on the subscriber table, against the
 * running local stack (found through PORT/SES_PORT/DYNAMODB_PORT/DATA_DIR or DATA_DIR/stack.json) or, with
 * `--aws`, against AWS (default SDK credentials; table from --table or TABLE_NAME).
 * Failures follow common.ts: one line on stderr, exit 2 bad input, 3 unreachable, 4 not found.
 */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import type { Subscriber } from '../../lambdas/core/model.ts';
import { systemClock } from '../../lambdas/core/ports.ts';
import { identityKey, normalizeEmail } from '../../lambdas/core/subscribers/email.ts';
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
  /** `--no-confirmation-email` sets it false: pending imports get no confirmation email. */
  confirmationEmail?: boolean;
}

/**
 * What sending confirmation emails from the CLI needs: locally the running stack's SES emulator, token keys
 * (DATA_DIR/token-keys.json) and URL; with --aws, SES and the token secret (TOKEN_SECRET_ARN), SENDER, and the API
 * URL from the stack outputs (or PUBLIC_BASE_URL). Loaded only when emails are sent (MJML, SES, Secrets Manager).
 */
async function confirmationMailer(target: Target, env: Record<string, string | undefined> = process.env) {
  const [{ createConfirmationRenderer }, { SesMailer }, { displayName }] = await Promise.all([
    import('../../lambdas/handlers/http/confirmation-email.ts'),
    import('../../lambdas/adapters/ses/ses-mailer.ts'),
    import('../../lambdas/core/subscribers/email.ts'),
  ]);
  if (target.local) {
    const [{ localSesClient, localTokenKeys }, { DEFAULT_SENDER }] = await Promise.all([
      import('../../lambdas/runtime/local.ts'),
      import('../../lambdas/local/stack.ts'),
    ]);
    const ses = localSesClient(target.local.sesEndpoint);
    const sender = env.SENDER?.trim() || DEFAULT_SENDER;
    return {
      mailer: new SesMailer(ses),
      tokenKeys: localTokenKeys(target.local.dataDir),
      sender,
      publicBaseUrl: (env.PUBLIC_BASE_URL?.trim() || target.local.baseUrl).replace(/\/+$/, ''),
      renderConfirmation: createConfirmationRenderer({ newsletterName: displayName(sender) }),
      close: () => ses.destroy(),
    };
  }
  const { readStackOutputs } = await import('./aws-outputs.ts');
  const outputs = await readStackOutputs(env);
  const sender = env.SENDER?.trim();
  const secret = env.TOKEN_SECRET_ARN?.trim();
  const publicBaseUrl = outputs.publicBaseUrl;
  const missing = [!sender && 'SENDER', !secret && 'TOKEN_SECRET_ARN', !publicBaseUrl && 'PUBLIC_BASE_URL (or the PublicBaseUrl stack output)'].filter(Boolean);
  if (missing.length > 0) {
    throw new CliError(`--aws import sends confirmation emails and needs ${missing.join(', ')}; or pass --no-confirmation-email`);
  }
  const [{ SESv2Client }, { SecretsManagerClient }, { secretsManagerTokenKeys }] = await Promise.all([
    import('@aws-sdk/client-sesv2'),
    import('@aws-sdk/client-secrets-manager'),
    import('../../lambdas/adapters/secrets/token-keys.ts'),
  ]);
  const region = outputs.region ? { region: outputs.region } : {};
  const ses = new SESv2Client(region);
  const secrets = new SecretsManagerClient(region);
  return {
    mailer: new SesMailer(ses),
    tokenKeys: secretsManagerTokenKeys(secrets, secret!),
    sender: sender!,
    publicBaseUrl: publicBaseUrl!.replace(/\/+$/, ''),
    renderConfirmation: createConfirmationRenderer({ newsletterName: displayName(sender!) }),
    ...(env.CONFIGURATION_SET?.trim() ? { configurationSet: env.CONFIGURATION_SET.trim() } : {}),
    close: () => {
      ses.destroy();
      secrets.destroy();
    },
  };
}

/** Send the confirmation emails of a pending import, paced at SEND_RATE_FRACTION of the account's MaxSendRate. */
async function sendConfirmations(
  target: Target,
  mail: Omit<Awaited<ReturnType<typeof confirmationMailer>>, 'close'>,
  rows: ImportPlan['rows'],
  opts: ImportOptions,
) {
  const [{ sendImportConfirmations }, { Pacer }] = await Promise.all([
    import('../../lambdas/core/subscribers/import-confirmations.ts'),
    import('../../lambdas/core/sending/rate-limiter.ts'),
  ]);
  const pacer = new Pacer(async () => (await mail.mailer.getSendQuota()).maxSendRate);
  const bar = progressBar(opts, ' {bar} {value}/{total} confirmation emails');
  bar?.start(rows.length, 0);
  try {
    return await sendImportConfirmations(rows, {
      ...mail,
      repo: target.subscribers,
      clock: systemClock,
      pace: () => pacer.acquire().then((ok) => ok !== false),
      throttled: () => pacer.throttled(),
      onProgress: () => bar?.increment(),
    });
  } finally {
    bar?.stop();
  }
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

  const sendEmails = !opts.confirmed && opts.confirmationEmail !== false;
  const summary = await withTarget(opts, async (target) => {
    // Before anything is written: what sending the emails needs is there (or the import stops here).
    const mail = sendEmails ? await confirmationMailer(target) : undefined;
    try {
      return await importRows(target, mail);
    } finally {
      mail?.close();
    }
  });
  async function importRows(target: Target, mail: Awaited<ReturnType<typeof confirmationMailer>> | undefined) {
    const { subscribers } = target;
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
    const emails = mail ? await sendConfirmations(target, mail, plan.rows, opts) : undefined;
    for (const f of emails?.failed ?? []) process.stderr.write(`${file}: confirmation email to ${f.email} not sent: ${f.reason}\n`);
    return {
      file,
      status: opts.confirmed ? 'confirmed' : 'pending',
      rows: plan.rows.length + plan.invalid.length + plan.duplicates.length,
      created,
      existing,
      invalid: plan.invalid.length,
      duplicates: plan.duplicates.length,
      ...(emails ? { confirmationEmails: { sent: emails.sent, skipped: emails.skipped, failed: emails.failed.length } } : {}),
    };
  }
  if (opts.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
  else {
    process.stdout.write(
      `Imported ${summary.created} new ${summary.status} subscribers from ${file} (${summary.existing} already present, ` +
        `${summary.invalid} invalid rows, ${summary.duplicates} duplicates skipped)\n`,
    );
    const e = summary.confirmationEmails;
    if (e) {
      process.stdout.write(
        `Sent ${e.sent} confirmation emails (${e.skipped} already sent one or no longer pending${e.failed ? `, ${e.failed} failed: run the import again to retry them` : ''})\n`,
      );
    }
  }
  // Valid rows are imported either way; a non-zero exit tells scripts that some rows (or emails) were not.
  if (summary.invalid > 0 || (summary.confirmationEmails?.failed ?? 0) > 0) process.exitCode = EXIT.FAILED;
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
    // Any casing finds the subscriber (identity key); the spelling it was stored with may name older records.
    const stored = (await t.subscribers.get(email))?.email;
    const spellings = [...new Set([identityKey(email), email, ...(stored ? [stored] : [])])];
    let deleted = false;
    for (const spelling of spellings) if (await t.subscribers.delete(spelling)) deleted = true;
    let deliveryRecords = 0;
    for (const spelling of spellings) deliveryRecords += await t.campaigns.deleteSubscriberRecords(spelling);
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

// ---------- migrate-identities ----------

/**
 * `subscribers migrate-identities`: rewrite the records older versions stored under an address's exact spelling
 * under its identity key (case-insensitive), merging case variants so the most restrictive status wins. Idempotent;
 * run it once after upgrading (a second run finds nothing to do).
 */
export async function migrateIdentitiesCommand(opts: TargetOptions & { json?: boolean }): Promise<void> {
  const result = await withTarget(opts, async (t) => {
    const campaigns = await t.campaigns.list();
    // Delivery pairs are copied then deleted: a worker writing one meanwhile could be lost.
    const sending = campaigns.filter((c) => c.status === 'SENDING').map((c) => c.campaignId);
    if (sending.length > 0) {
      throw new CliError(`campaign ${sending.join(', ')} is sending: run migrate-identities once it has finished (or is paused)`, EXIT.FAILED);
    }
    const subscribers = await t.subscribers.migrateIdentities();
    const deliveryPairs = await t.subscribers.migrateDeliveryPairs(campaigns.map((c) => c.campaignId));
    return { ...subscribers, deliveryPairs };
  });
  if (opts.json) process.stdout.write(`${JSON.stringify(result)}\n`);
  else {
    process.stdout.write(
      `Checked ${result.scanned} subscribers: ${result.migrated} moved to their case-insensitive key ` +
        `(${result.merged} merged with another spelling), ${result.expiredRemoved} expired pending records removed; ` +
        `${result.deliveryPairs} delivery records moved\n`,
    );
  }
}
