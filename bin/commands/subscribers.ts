/**
 * `newsletter subscribers get|import|export|delete`: operator commands on the subscriber table, against the
 * running local stack (found through PORT/SES_PORT/DYNAMODB_PORT/DATA_DIR or DATA_DIR/stack.json) or, with
 * `--aws`, against AWS (default SDK credentials; table from --table or TABLE_NAME).
 * Failures follow common.ts: one line on stderr, exit 2 bad input, 3 unreachable, 4 not found.
 */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { SingleBar, Presets } from 'cli-progress';
import type { Command } from 'commander';
import { parse } from 'csv-parse/sync';
import { DynamoDbCampaignRepository } from '../../lambdas/adapters/dynamodb/dynamodb-campaign-repository.ts';
import { DynamoDbSubscriberRepository } from '../../lambdas/adapters/dynamodb/dynamodb-subscriber-repository.ts';
import type { Subscriber } from '../../lambdas/core/model.ts';
import type { CampaignRepository, SubscriberRepository } from '../../lambdas/core/ports.ts';
import { normalizeEmail } from '../../lambdas/core/subscribers/email.ts';
import { parseSubscribeForm } from '../../lambdas/core/subscribers/subscribe-form.ts';
import { findLocalStack, LocalStackNotRunningError } from '../../lambdas/local/stack-info.ts';
import { DOCUMENT_CLIENT_OPTIONS } from '../../lambdas/runtime/aws-clients.ts';
import { localDeps } from '../../lambdas/runtime/local.ts';
import { CliError, EXIT, action } from './common.ts';

interface TargetOptions {
  aws?: boolean;
  table?: string;
}

interface Target {
  subscribers: SubscriberRepository;
  campaigns: CampaignRepository;
  close(): void;
}

/** Connect to the local stack or to AWS. Unreachable → exit 3 with how to start the stack. */
export async function openTarget(opts: TargetOptions, env: Record<string, string | undefined> = process.env): Promise<Target> {
  if (opts.aws) {
    const table = opts.table ?? env.TABLE_NAME;
    if (!table) throw new CliError('--aws needs the table name: pass --table NAME or set TABLE_NAME');
    const dynamo = new DynamoDBClient({});
    const doc = DynamoDBDocumentClient.from(dynamo, DOCUMENT_CLIENT_OPTIONS);
    return {
      subscribers: new DynamoDbSubscriberRepository(doc, table),
      campaigns: new DynamoDbCampaignRepository(doc, table),
      close: () => dynamo.destroy(),
    };
  }
  let info;
  try {
    info = await findLocalStack(env);
  } catch (err) {
    if (err instanceof LocalStackNotRunningError) throw new CliError(err.message, EXIT.UNREACHABLE);
    throw err;
  }
  const deps = localDeps({ ...info, tableName: opts.table ?? info.tableName });
  return {
    subscribers: deps.subscribers,
    campaigns: new DynamoDbCampaignRepository(deps.doc, deps.tableName),
    close: () => deps.destroy(),
  };
}

async function withTarget<T>(opts: TargetOptions, fn: (t: Target) => Promise<T>): Promise<T> {
  const target = await openTarget(opts);
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

function targetOptions(cmd: Command): Command {
  return cmd
    .option('--aws', 'work on AWS (default SDK credentials) instead of the local stack')
    .option('--table <name>', 'DynamoDB table (default: TABLE_NAME, or the local stack\'s table)');
}

// ---------- import ----------

export interface ImportRow {
  line: number;
  email: string;
  name?: string;
  attributes: Record<string, string>;
}

export interface ImportPlan {
  rows: ImportRow[];
  invalid: Array<{ line: number; reason: string }>;
  duplicates: Array<{ line: number; email: string; firstLine: number }>;
}

/**
 * Parse and validate a subscriber CSV (header row with `email`, optional `name`, any other columns become
 * attributes). Pure: nothing is written. A file that is not CSV at all throws a CliError.
 */
export function planImport(text: string, file: string): ImportPlan {
  let records: Array<{ record: string[]; info: { lines: number } }>;
  try {
    records = parse(text, { bom: true, info: true, relax_column_count: true, skip_empty_lines: true, trim: true }) as never;
  } catch (err) {
    throw new CliError(`${file} is not valid CSV: ${(err as Error).message}`);
  }
  const [head, ...body] = records;
  if (!head) throw new CliError(`${file} is empty: expected a header row with an "email" column`);
  const columns = head.record.map((c) => c.toLowerCase());
  const emailCol = columns.indexOf('email');
  if (emailCol < 0) throw new CliError(`${file}: the header row has no "email" column`);
  const nameCol = columns.indexOf('name');
  const plan: ImportPlan = { rows: [], invalid: [], duplicates: [] };
  const seen = new Map<string, number>();
  for (const { record, info } of body) {
    const line = info.lines;
    if (record.length !== columns.length) {
      plan.invalid.push({ line, reason: `expected ${columns.length} fields, found ${record.length}` });
      continue;
    }
    const check = parseSubscribeForm({ email: record[emailCol], ...(nameCol >= 0 ? { name: record[nameCol] } : {}) });
    if (!check.ok) {
      plan.invalid.push({ line, reason: check.message });
      continue;
    }
    const { email, name } = check.request;
    const firstLine = seen.get(email);
    if (firstLine !== undefined) {
      plan.duplicates.push({ line, email, firstLine });
      continue;
    }
    seen.set(email, line);
    const attributes: Record<string, string> = {};
    head.record.forEach((column, i) => {
      if (i !== emailCol && i !== nameCol && record[i]) attributes[column] = record[i]!;
    });
    plan.rows.push({ line, email, ...(name ? { name } : {}), attributes });
  }
  return plan;
}

async function importCommand(file: string, opts: TargetOptions & { confirmed?: boolean; consentSource?: string; json?: boolean }) {
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

  const summary = await withTarget(opts, async ({ subscribers }) => {
    // Reported only once the target is reachable: an unreachable stack gives one line, nothing else.
    for (const { line, reason } of plan.invalid) process.stderr.write(`${file}:${line}: skipped: ${reason}\n`);
    for (const d of plan.duplicates) process.stderr.write(`${file}:${d.line}: skipped: duplicate of line ${d.firstLine} (${d.email})\n`);
    const now = new Date();
    const consent = {
      at: now.toISOString(),
      method: 'import' as const,
      source: opts.consentSource?.trim() || `import:${basename(file)}`,
    };
    const bar = process.stderr.isTTY && !opts.json ? new SingleBar({ clearOnComplete: true }, Presets.shades_classic) : undefined;
    bar?.start(plan.rows.length, 0);
    let created = 0;
    let existing = 0;
    const queue = [...plan.rows];
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
    bar?.stop();
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

function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

function exportRow(s: Subscriber): string[] {
  return [
    s.email, s.status, s.name ?? '', s.createdAt, s.updatedAt, s.confirmedAt ?? '', s.unsubscribedAt ?? '',
    s.consent?.at ?? '', s.consent?.method ?? '', s.consent?.source ?? '',
    s.attributes && Object.keys(s.attributes).length > 0 ? JSON.stringify(s.attributes) : '',
  ];
}

async function exportCommand(opts: TargetOptions & { csv?: boolean; json?: boolean }) {
  if (opts.csv && opts.json) throw new CliError('choose one format: --csv or --json');
  await withTarget(opts, async ({ subscribers }) => {
    const out = process.stdout;
    let first = true;
    if (opts.json) out.write('[');
    else out.write(`${EXPORT_COLUMNS.join(',')}\n`);
    for await (const s of subscribers.scan()) {
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

// ---------- registration ----------

export function registerSubscribers(program: Command): void {
  const subscribers = program.command('subscribers').description('Look up, import, export and erase subscribers');

  targetOptions(subscribers.command('get <email>').description('Show one subscriber (exit 4 if unknown)'))
    .option('--json', 'print JSON: {"email","status",…}')
    .action(
      action(async (raw: string, opts: TargetOptions & { json?: boolean }) => {
        const email = emailArg(raw);
        const s = await withTarget(opts, (t) => t.subscribers.get(email));
        if (!s) throw new CliError(`no subscriber ${email}`, EXIT.NOT_FOUND);
        if (opts.json) process.stdout.write(`${JSON.stringify(s)}\n`);
        else process.stdout.write(`${s.email}\t${s.status}${s.name ? `\t${s.name}` : ''}\n`);
      }),
    );

  targetOptions(subscribers.command('import <file.csv>').description('Import subscribers from CSV (idempotent)'))
    .option('--confirmed', 'mark imported addresses as confirmed (requires --consent-source)')
    .option('--consent-source <text>', 'where consent was given, recorded with each imported subscriber')
    .option('--json', 'print a JSON summary, no progress bar')
    .action(action(importCommand));

  targetOptions(subscribers.command('export').description('Write every subscriber to stdout'))
    .option('--csv', 'CSV with a header row (default)')
    .option('--json', 'a JSON array of subscribers')
    .action(action(exportCommand));

  targetOptions(subscribers.command('delete <email>').description('Erase a subscriber and their delivery records (GDPR)'))
    .option('--json', 'print JSON: {"email","deleted","deliveryRecords"}')
    .action(
      action(async (raw: string, opts: TargetOptions & { json?: boolean }) => {
        const email = emailArg(raw);
        const result = await withTarget(opts, async (t) => {
          const deliveryRecords = await t.campaigns.deleteSubscriberRecords(email);
          const deleted = await t.subscribers.delete(email);
          return { email, deleted, deliveryRecords };
        });
        if (!result.deleted && result.deliveryRecords === 0) throw new CliError(`no subscriber ${email}`, EXIT.NOT_FOUND);
        if (opts.json) process.stdout.write(`${JSON.stringify(result)}\n`);
        else process.stdout.write(`Deleted ${email}${result.deleted ? '' : ' (no subscriber record)'} and ${result.deliveryRecords} delivery records\n`);
      }),
    );
}
