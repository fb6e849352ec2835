/**
 * `npm start`: the whole pipeline on this machine, on real emulators, with no AWS account.
 *
 * 1. Boots the local stack (dynalite, aws-ses-v2-local with its web inbox, the HTTP API) and writes
 *    DATA_DIR/stack.json as soon as the stack answers, before anything is imported or sent.
 * 2. Imports the demo subscribers (content/demo-subscribers.csv) as confirmed, consent source `demo`, through the
 *    same CSV plan and repository call as `newsletter subscribers import --confirmed`. Existing ones are kept.
 * 3. Sends the seed issue (content/issues/031-akira-ml-news.md) through the real send pipeline. The campaign is
 *    idempotent: a second run finds it and sends nothing new.
 * 4. Prints a summary ending with a line that starts with `Ready:`, and serves until SIGINT/SIGTERM.
 *
 * `--once` stops after the summary: exit 0 when every recipient reached a final state that adds up to the
 * audience, 1 otherwise. `--empty` skips steps 2 and 3 (no demo subscribers, no seed send): a clean stack for your
 * own list and issues. Bad arguments or environment: one line on stderr, exit 2.
 *
 * Entry point only: importing this module runs it, so nothing here is exported (the steps live in seed.ts).
 */
import { accessSync, constants, mkdirSync, readFileSync } from 'node:fs';
import type { CampaignAccounting } from '../core/model.ts';
import { accountingComplete, importDemoSubscribers, SEED_ISSUE_FILE, sendSeedIssue, type DemoImport, type SeedSend } from './seed.ts';
import { SCHEDULES_FILE, type FireReport, type LocalSchedule, type LocalScheduler } from './schedules.ts';
import type { LocalStack, LocalStackOptions } from './stack.ts';
import { dataDirFrom } from './stack-info.ts';

const EXIT = { OK: 0, FAILED: 1, BAD_INPUT: 2 } as const;

const USAGE = `Usage: npm start [-- --once] [-- --empty]

Runs the newsletter locally: embedded DynamoDB (dynalite), the SES emulator with its web inbox and the HTTP API;
imports the demo subscribers from content/demo-subscribers.csv (confirmed, consent source "demo"); sends the seed
issue content/issues/031-akira-ml-news.md through the real send pipeline (once: re-runs send nothing new);
prints a summary, then serves until Ctrl+C. While it serves it fires the sends scheduled with
\`npx newsletter send <issue.md> --at <time>\`; one still pending when it stops fires after the next start.

Options:
  --once      exit after the summary: 0 when the accounting adds up, 1 otherwise
  --empty     no demo subscribers and no seed send: an empty list for your own import and issues
  -h, --help  show this help

Environment:
  PORT             HTTP API port (default 3000; 0 = any free port)
  SES_PORT         SES emulator and web inbox port (default 8005; 0 = any free port)
  DYNAMODB_PORT    dynalite port (default 8001; 0 = any free port)
  DATA_DIR         data directory: DynamoDB files (rendered issues included), token keys, stack.json and
                   schedules.json (default .data)
  SENDER           From address (default "Akira's ML News <news@example.com>")
  PUBLIC_BASE_URL  base of the links in emails (default: the HTTP API's own URL)
  POSTAL_ADDRESS   postal address in the email footer (default: a placeholder address)

Exit codes: 0 OK, 1 failed (accounting does not add up, stack could not start), 2 bad arguments or environment
(a bad port, an unusable DATA_DIR, a PUBLIC_BASE_URL that is not http(s)).
`;

class UsageError extends Error {
  override name = 'UsageError';
}

function parseArgs(argv: string[]): { once: boolean; empty: boolean; help: boolean } {
  const args = { once: false, empty: false, help: false };
  for (const arg of argv) {
    if (arg === '--once') args.once = true;
    else if (arg === '--empty') args.empty = true;
    else if (arg === '--help' || arg === '-h') args.help = true;
    else throw new UsageError(`unknown argument ${JSON.stringify(arg)} (see npm start -- --help)`);
  }
  return args;
}

function portFromEnv(name: string): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || !Number.isInteger(n) || n > 65535) throw new UsageError(`${name}=${raw} is not a port number (0-65535)`);
  return n;
}

/** DATA_DIR (default .data), created when missing; refused when it cannot be a writable directory. */
function dataDirFromEnv(): string {
  const dir = dataDirFrom();
  try {
    mkdirSync(dir, { recursive: true });
    accessSync(dir, constants.W_OK);
  } catch (err) {
    throw new UsageError(`DATA_DIR=${dir} is not a writable directory (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  return dir;
}

function publicBaseUrlFromEnv(): string | undefined {
  const raw = process.env.PUBLIC_BASE_URL;
  if (!raw) return undefined;
  if (!URL.canParse(raw) || !/^https?:$/.test(new URL(raw).protocol)) throw new UsageError(`PUBLIC_BASE_URL=${raw} is not an http(s) URL`);
  return raw;
}

function counts(a: CampaignAccounting): string {
  const parts = [`audience ${a.audience}`, `sent ${a.sent}`, `skipped ${a.skipped}`, `failed ${a.failed}`];
  if (a.unknown) parts.push(`unknown ${a.unknown}`);
  if (a.queued) parts.push(`queued ${a.queued}`);
  return parts.join(' · ');
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** What steps 2 and 3 did; both undefined with `--empty`. */
interface Seeded {
  demo?: DemoImport;
  seed?: SeedSend;
}

function sendLine(seed: SeedSend): string {
  if (seed.created) return `${counts(seed.accounting)} · in ${seconds(seed.elapsedMs)}`;
  if (seed.resumed) return `resumed an unfinished send: ${counts(seed.accounting)} · in ${seconds(seed.elapsedMs)}`;
  return `already sent, nothing new (${counts(seed.accounting)})`;
}

/** One line per fired schedule, as it happens. */
function fireLine(report: FireReport): string {
  if ('error' in report) return `Scheduled send ${report.name} failed: ${report.error}${report.willRetry ? ' (trying again shortly)' : ' (given up)'}`;
  const r = report.result;
  if (r.status === 'complete') return `Scheduled send ${report.name} fired: audience ${r.campaign.audience}, enqueued ${r.campaign.enqueued}`;
  if (r.status === 'exists') return `Scheduled send ${report.name} fired: the campaign already existed (${r.campaign.status}), nothing new`;
  return `Scheduled send ${report.name} fired: not sent (${'message' in r ? r.message : r.status})`;
}

function summary(stack: LocalStack, { demo, seed }: Seeded, scheduled: LocalSchedule[]): string {
  const { urls, info } = stack;
  return [
    `Newsletter running locally (DATA_DIR ${info.dataDir})`,
    demo
      ? `  Subscribers   ${demo.rows} demo subscribers: ${demo.created} imported, ${demo.existing} already present`
      : '  Subscribers   no demo subscribers (--empty): npx newsletter subscribers import <file.csv> --confirmed --consent-source TEXT',
    ...(seed
      ? [`  Seed issue    ${seed.campaignId} · ${seed.subject}`, `  Send          ${sendLine(seed)}`]
      : ['  Seed issue    none (--empty): npx newsletter send <issue.md>']),
    `  Inbox (SES)   ${urls.sesEndpoint}/`,
    `  Subscribe     ${urls.subscribeUrl}`,
    `  Archive       ${urls.archiveUrl}  (Atom: ${urls.archiveUrl}/feed.xml)`,
    `  HTTP API      ${urls.baseUrl}  ·  DynamoDB ${urls.dynamoEndpoint} table ${info.tableName}`,
    ...(scheduled.length
      ? [`  Scheduled     ${scheduled.length} send${scheduled.length === 1 ? '' : 's'} pending, next ${scheduled[0]!.Name} at ${new Date(scheduled[0]!.dueMs).toISOString()}`]
      : []),
    ...(demo?.skipped ?? []).map((s) => `  (skipped in ${demo!.file}: ${s})`),
    '',
  ].join('\n');
}

async function main(): Promise<number> {
  const startedAt = performance.now();
  let args: ReturnType<typeof parseArgs>;
  let options: LocalStackOptions;
  try {
    args = parseArgs(process.argv.slice(2));
    if (args.help) {
      process.stdout.write(USAGE);
      return EXIT.OK;
    }
    const port = portFromEnv('PORT');
    const sesPort = portFromEnv('SES_PORT');
    const dynamoPort = portFromEnv('DYNAMODB_PORT');
    const publicBaseUrl = publicBaseUrlFromEnv();
    options = {
      ...(port !== undefined ? { port } : {}),
      ...(sesPort !== undefined ? { sesPort } : {}),
      ...(dynamoPort !== undefined ? { dynamoPort } : {}),
      dataDir: dataDirFromEnv(),
      ...(process.env.SENDER ? { sender: process.env.SENDER } : {}),
      ...(publicBaseUrl ? { publicBaseUrl } : {}),
    };
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`npm start: ${err.message}\n`);
    return EXIT.BAD_INPUT;
  }

  // From here on Ctrl+C stops whatever has started (a second Ctrl+C exits at once). An interrupted seed send is
  // resumed by the next run.
  let cleanup: () => Promise<void> = async () => {};
  let stopping: Promise<void> | undefined;
  const stop = () => (stopping ??= cleanup());
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (stopping) process.exit(EXIT.FAILED);
      process.stdout.write(`\nStopping (${signal})…\n`);
      void stop().then(() => process.exit(EXIT.OK));
    });
  }

  // Loaded only now: the emulators, MJML and the SDK take seconds to import, and --help or a bad port need none.
  const [{ startLocalStack }, { attachSendingToStack }, { attachSchedulerToStack }] = await Promise.all([
    import('./stack.ts'),
    import('./sending.ts'),
    import('./schedules.ts'),
  ]);
  let stack: LocalStack;
  try {
    stack = await startLocalStack(options);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const hint = e.code === 'EADDRINUSE' ? ' (is another stack running? set PORT, SES_PORT or DYNAMODB_PORT)' : '';
    process.stderr.write(`npm start: ${String(e.message).split('\n')[0]}${hint}\n`);
    return EXIT.FAILED;
  }
  const sending = attachSendingToStack(stack, process.env.POSTAL_ADDRESS ? { postalAddress: process.env.POSTAL_ADDRESS } : {});
  let scheduler: LocalScheduler;
  try {
    // Schedules still pending from an earlier run are armed now; overdue ones fire at once.
    scheduler = attachSchedulerToStack(stack, sending, { onFire: (report) => process.stdout.write(`${fireLine(report)}\n`) });
  } catch (err) {
    process.stderr.write(`npm start: cannot read ${SCHEDULES_FILE} in ${stack.info.dataDir}: ${String((err as Error).message).split('\n')[0]}\n`);
    await sending.stop().finally(() => stack.stop());
    return EXIT.FAILED;
  }
  cleanup = () => scheduler.stop().finally(() => sending.stop().finally(() => stack.stop()));
  if (stopping) return new Promise<number>(() => {}); // a signal came while starting: its handler exits

  let seeded: Seeded = {};
  try {
    if (!args.empty) {
      const demo = await importDemoSubscribers(stack.deps.subscribers);
      seeded = { demo, seed: await sendSeedIssue(sending, readFileSync(SEED_ISSUE_FILE, 'utf8')) };
    }
    process.stdout.write(summary(stack, seeded, scheduler.pending()));
  } catch (err) {
    if (stopping) return new Promise<number>(() => {}); // a signal is shutting down: let its handler exit
    process.stderr.write(`npm start: ${String((err as Error).message ?? err).split('\n')[0]}\n`);
    await stop();
    return EXIT.FAILED;
  }

  const { seed } = seeded;
  const complete = !seed || accountingComplete(seed.accounting);
  if (args.once) {
    process.stdout.write(
      !seed
        ? `Done in ${seconds(performance.now() - startedAt)}: nothing was sent (--empty --once).\n`
        : complete
          ? `Done in ${seconds(performance.now() - startedAt)}: the accounting adds up (--once).\n`
          : `The accounting does not add up: ${counts(seed.accounting)} (--once).\n`,
    );
    await stop();
    return complete ? EXIT.OK : EXIT.FAILED;
  }
  if (seed && !complete) process.stdout.write(`Warning: the accounting does not add up yet: ${counts(seed.accounting)}\n`);
  process.stdout.write(`Ready: serving in ${seconds(performance.now() - startedAt)}. Press Ctrl+C to stop.\n`);
  return new Promise<number>(() => {}); // serve until a signal
}

// Exit explicitly: SDK sockets and emulator timers could keep the event loop alive for seconds after stop().
process.exit(await main());
