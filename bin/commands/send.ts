/**
 * `newsletter send <issue.md>`, `newsletter status [campaign]`, `newsletter resume <campaign>`,
 * `newsletter cancel <campaign>`.
 *
 * `send` and `resume` invoke the send Lambda through @aws-sdk/client-lambda (send-target.ts: the local stack's
 * Invoke API, or the deployed function named by the stack outputs with `--aws`). They then poll the campaign's
 * accounting until nothing is queued or the campaign is paused, with a progress bar on a terminal (quiet with
 * --json or when stderr is not a terminal), and end with the accounting.
 *
 * On a terminal (stdin and stderr), `send` first shows the plan (the dry run: audience, suppressed, ETA, cost) and
 * asks; `--yes` skips the question. Without a terminal nothing is asked and the send proceeds as it always did, so
 * scripts and CI never wait for an answer. `send --at <time>` schedules the send instead (schedule.ts).
 *
 * Exit codes (common.ts): 0 done and adding up, 1 failed, declined or does not add up, 2 bad input (authoring
 * errors without --force included), 3 unreachable (also when the stack goes away while the CLI follows a send),
 * 4 unknown campaign, 5 paused (run `newsletter resume <campaign>`).
 */
import { basename } from 'node:path';
import type { CampaignAccounting } from '../../lambdas/core/model.ts';
import type { CampaignRecord } from '../../lambdas/core/ports.ts';
import { accountingAddsUp, isSettled } from '../../lambdas/core/sending/accounting.ts';
import type { SendResult } from '../../lambdas/core/sending/send-campaign.ts';
import { readAccounting } from '../../lambdas/core/sending/status.ts';
import { normalizeEmail } from '../../lambdas/core/subscribers/email.ts';
import { CliError, EXIT, isConnectionError } from './common.ts';
import { confirm, isInteractive } from './confirm.ts';
import { progressBar, type ProgressStream } from './progress.ts';
import { readIssueFile } from './render.ts';
import { parseAt, type ScheduledSend, type ScheduledSends } from './schedule.ts';
import { openSendTarget, type SendTarget } from './send-target.ts';

type Env = Record<string, string | undefined>;
type DryRun = Extract<SendResult, { status: 'dry-run' }>;

/** The process's streams, environment and clock; tests pass their own (a fake terminal, a fixed time). */
export interface CommandIo {
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  stdout: NodeJS.WritableStream;
  stderr: ProgressStream;
  env: Env;
  now(): Date;
  /** Sets the exit code (default: process.exitCode). */
  exit(code: number): void;
}

export function processIo(): CommandIo {
  return {
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    now: () => new Date(),
    exit: (code) => void (process.exitCode = code),
  };
}

/** The fields of `send --json` and `status --json`, in this order. */
const JSON_FIELDS = ['campaignId', 'audience', 'sent', 'skipped', 'failed', 'unknown', 'queued', 'bounced', 'complained'] as const;

export function accountingJson(a: CampaignAccounting): Record<(typeof JSON_FIELDS)[number], string | number> {
  return Object.fromEntries(JSON_FIELDS.map((k) => [k, a[k]])) as Record<(typeof JSON_FIELDS)[number], string | number>;
}

/** Invoke, and re-invoke with `resume` while the fan-out reports `continuing` (the Lambda ran out of time). */
async function invokeUntilFannedOut(target: SendTarget, payload: Record<string, unknown>): Promise<SendResult> {
  let result = await target.invoke(payload);
  while (result.status === 'continuing') {
    result = await target.invoke('campaignId' in payload ? payload : { ...payload, resume: true });
  }
  return result;
}

function sameCounts(a: CampaignAccounting, b: CampaignAccounting | undefined): boolean {
  return !!b && JSON.stringify(accountingJson(a)) === JSON.stringify(accountingJson(b)) && a.status === b.status;
}

/**
 * One poll of the accounting. A stack that stopped answering (the local stack killed, the network gone) is exit 3
 * with what to do next, not a failed send: the campaign is intact and `resume` continues it.
 */
async function pollAccounting(target: SendTarget, campaignId: string): Promise<CampaignAccounting> {
  try {
    return await readAccounting(target.campaigns, campaignId);
  } catch (err) {
    if (!isConnectionError(err)) throw err;
    const why = (err as { code?: string }).code ?? 'no answer';
    const next = target.where === 'AWS'
      ? `the send goes on without the CLI: check it with \`newsletter status ${campaignId} --aws\``
      : `start it again with \`npm start\`, then \`newsletter resume ${campaignId}\``;
    throw new CliError(`lost ${target.where} while following ${campaignId} (${why}): ${next}`, EXIT.UNREACHABLE);
  }
}

/**
 * Poll until nothing is queued or the campaign is paused. Gives up (returns what it has) after `stallMs` without
 * any change, e.g. when messages went to the dead-letter queue.
 */
async function waitForCampaign(target: SendTarget, campaignId: string, io: CommandIo, json: boolean, stallMs = 120_000): Promise<{ a: CampaignAccounting; stalled: boolean }> {
  const bar = progressBar({ json }, ' {bar} {value}/{total} handled | sent {sent} | skipped {skipped} | queued {queued}', io.stderr);
  let last: CampaignAccounting | undefined;
  let lastChange = Date.now();
  try {
    for (;;) {
      const a = await pollAccounting(target, campaignId);
      const handled = a.audience - a.queued;
      if (bar) {
        const counts = { sent: a.sent, skipped: a.skipped, queued: a.queued };
        if (!last) bar.start(a.audience, handled, counts);
        else bar.setTotal(a.audience);
        bar.update(handled, counts);
      }
      if (!sameCounts(a, last)) lastChange = Date.now();
      last = a;
      if (isSettled(a)) return { a, stalled: false };
      if (Date.now() - lastChange > stallMs) return { a, stalled: true };
      await new Promise((r) => setTimeout(r, target.pollMs));
    }
  } finally {
    bar?.stop();
  }
}

function printAccounting(a: CampaignAccounting, json: boolean, out: NodeJS.WritableStream): void {
  if (json) {
    out.write(`${JSON.stringify(accountingJson(a))}\n`);
    return;
  }
  const rows: Array<[string, number | string]> = [
    ['audience', a.audience], ['sent', a.sent], ['skipped', a.skipped], ['failed', a.failed], ['unknown', a.unknown],
    ['queued', a.queued], ['bounced', a.bounced], ['complained', a.complained],
  ];
  out.write(
    `Campaign ${a.campaignId} (${a.status ?? 'unknown'})\n${rows.map(([k, v]) => `  ${k.padEnd(11)}${v}`).join('\n')}\n` +
      `  sent + skipped + failed + unknown + queued = ${a.sent + a.skipped + a.failed + a.unknown + a.queued} of ${a.audience}\n`,
  );
}

/** Exit code for a settled (or stalled) campaign. */
function exitCodeFor(a: CampaignAccounting, stalled: boolean): number {
  if (!accountingAddsUp(a)) return EXIT.FAILED;
  if (a.status === 'PAUSED') return EXIT.PAUSED;
  return stalled ? EXIT.FAILED : EXIT.OK;
}

async function finish(target: SendTarget, campaignId: string, io: CommandIo, json: boolean): Promise<void> {
  const { a, stalled } = await waitForCampaign(target, campaignId, io, json);
  printAccounting(a, json, io.stdout);
  if (stalled) io.stderr.write(`newsletter: no progress for 2 minutes; ${a.queued} still queued (check the dead-letter queue, then \`newsletter resume ${campaignId}\`)\n`);
  else if (a.status === 'PAUSED') io.stderr.write(`newsletter: campaign paused; continue with \`newsletter resume ${campaignId}\`\n`);
  else if (!accountingAddsUp(a)) io.stderr.write('newsletter: the accounting does not add up\n');
  io.exit(exitCodeFor(a, stalled));
}

function parseTestRecipients(list: string): string[] {
  const out: string[] = [];
  for (const raw of list.split(',').map((s) => s.trim()).filter(Boolean)) {
    const check = normalizeEmail(raw);
    if (!check.ok) throw new CliError(`--test: invalid address "${raw.slice(0, 80)}": ${check.reason}`);
    out.push(check.email);
  }
  if (out.length === 0) throw new CliError('--test needs at least one address, e.g. --test a@example.com,b@example.com');
  return out;
}

/** The authoring errors a result names: its own list, or the ones the one-line refusal of mode `send` joins. */
function authoringErrorsOf(result: SendResult): string[] {
  const listed = (result as { authoringErrors?: unknown }).authoringErrors;
  if (Array.isArray(listed)) return listed.filter((e): e is string => typeof e === 'string');
  if (result.status !== 'invalid') return [];
  const joined = /^the issue has \d+ authoring errors? \([^)]*\): (.+)$/s.exec(result.message)?.[1];
  return joined ? joined.split('; ') : [];
}

/** Print each authoring error on its own line, then refuse (exit 2). */
function refuseAuthoringErrors(errors: string[], file: string, io: CommandIo): never {
  for (const e of errors) io.stderr.write(`newsletter: ${basename(file)}: ${e}\n`);
  const n = errors.length;
  throw new CliError(`not sent: ${n} authoring error${n === 1 ? '' : 's'} (fix ${n === 1 ? 'it' : 'them'}, or add --force to send anyway)`);
}

function reportOutcome(result: SendResult, file: string, io: CommandIo): string | undefined {
  switch (result.status) {
    case 'invalid': {
      const errors = authoringErrorsOf(result);
      if (errors.length) refuseAuthoringErrors(errors, file, io);
      throw new CliError(result.message, EXIT.BAD_INPUT);
    }
    case 'not-found':
      throw new CliError(result.message, EXIT.NOT_FOUND);
    case 'complete':
    case 'exists':
      return result.campaign.campaignId;
    default:
      return undefined;
  }
}

function planLines(result: DryRun): string[] {
  const eta = Number.isFinite(result.etaSeconds) ? `${Math.floor(result.etaSeconds / 60)} min ${result.etaSeconds % 60} s` : 'unknown';
  return [
    `  audience     ${result.audience} confirmed subscribers`,
    `  suppressed   ${result.suppressed.total} (unsubscribed ${result.suppressed.unsubscribed}, bounced ${result.suppressed.bounced}, complained ${result.suppressed.complained})`,
    `  rate         ${result.ratePerSecond.toFixed(1)} emails/s`,
    `  ETA          ${eta}`,
    `  SES cost     $${result.sesCostUsd.toFixed(4)}`,
    ...(result.existing ? [`  note         campaign already exists (${result.existing}): send would only report it`] : []),
    ...result.warnings.map((w) => `  warning      ${w}`),
  ];
}

function printDryRun(result: DryRun, json: boolean, out: NodeJS.WritableStream): void {
  if (json) {
    out.write(`${JSON.stringify(result)}\n`);
    return;
  }
  out.write([`Dry run for ${result.campaignId}: "${result.subject}" (nothing sent, nothing recorded)`, ...planLines(result), ''].join('\n'));
}

/** A time for people: the instant in UTC. */
function utc(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/:00Z$/, 'Z');
}

export interface SendOptions {
  assetBaseUrl?: string;
  linkBaseUrl?: string;
  dryRun?: boolean;
  test?: string;
  json?: boolean;
  aws?: boolean;
  /** Send despite authoring errors. */
  force?: boolean;
  /** Skip the question a terminal gets. */
  yes?: boolean;
  /** Schedule the send for this ISO 8601 time (with an offset) instead of sending now. */
  at?: string;
  /** With --aws: upload the Markdown to the issue bucket and invoke with its key. */
  s3?: boolean;
}

function checkCombinations(opts: SendOptions): void {
  if (opts.dryRun && opts.test) throw new CliError('use either --dry-run or --test, not both');
  if (opts.at !== undefined && (opts.dryRun || opts.test !== undefined)) throw new CliError('--at schedules the send to every subscriber: it cannot be combined with --dry-run or --test');
  if (opts.s3 && !opts.aws) throw new CliError('--s3 uploads the issue to the deployed issue bucket: use it with --aws');
}

/** The `issue` of the send input: the Markdown itself or, with --s3, the key it was uploaded to; plus the bases. */
async function issueInput(target: SendTarget, markdown: string, file: string, opts: SendOptions): Promise<Record<string, string>> {
  const bases = {
    ...(opts.assetBaseUrl ? { assetBaseUrl: opts.assetBaseUrl } : {}),
    ...(opts.linkBaseUrl ? { linkBaseUrl: opts.linkBaseUrl } : {}),
  };
  if (!opts.s3) return { markdown, ...bases };
  if (!target.upload) throw new CliError('--s3 needs the stack output IssueBucketName (or BUCKET_NAME)');
  // The slug names the object; parsing needs no MJML. Loaded only here.
  const { parseIssue } = await import('../../lambdas/core/issue/parse.ts');
  let slug: string;
  try {
    slug = parseIssue(markdown).issue.slug;
  } catch (err) {
    throw new CliError(`${basename(file)}: ${(err as Error).message}`);
  }
  return { s3Key: await target.upload(markdown, slug), ...bases };
}

/** `newsletter send <issue.md>`. */
export function sendCommand(file: string, opts: SendOptions): Promise<void> {
  return runSend(file, opts, processIo());
}

/** `send` with its streams, environment and clock given: invoke the send function, then follow the campaign. */
export async function runSend(file: string, opts: SendOptions, io: CommandIo): Promise<void> {
  checkCombinations(opts);
  const at = opts.at !== undefined ? parseAt(opts.at, io.now()) : undefined;
  const testRecipients = opts.test !== undefined ? parseTestRecipients(opts.test) : undefined;
  const markdown = await readIssueFile(file);
  const target = await openSendTarget(opts, io.env);
  try {
    if (at) schedulesFor(target, true);
    const issue = await issueInput(target, markdown, file, opts);
    const force = opts.force ? { force: true } : {};
    if (opts.dryRun) {
      const result = await target.invoke({ issue, mode: 'dry-run', ...force });
      if (result.status !== 'dry-run') reportOutcome(result, file, io);
      return printDryRun(result as DryRun, !!opts.json, io.stdout);
    }
    if (testRecipients) {
      const result = await target.invoke({ issue, mode: 'test', testRecipients, ...force });
      if (result.status !== 'test-sent') return void reportOutcome(result, file, io);
      if (opts.json) io.stdout.write(`${JSON.stringify(result)}\n`);
      else io.stdout.write(`Test email "${result.subject}" sent to ${result.sent.map((s) => s.email).join(', ')}\n`);
      return;
    }

    const ask = !opts.yes && isInteractive({ input: io.stdin, output: io.stderr });
    if (ask || at) {
      const plan = await target.invoke({ issue, mode: 'dry-run', ...force });
      if (plan.status !== 'dry-run') return void reportOutcome(plan, file, io);
      if (!opts.force && authoringErrorsOf(plan).length) refuseAuthoringErrors(authoringErrorsOf(plan), file, io);
      if (at && plan.existing) throw new CliError(`${plan.campaignId} already exists (${plan.existing}): there is nothing to schedule`);
      if (ask && !plan.existing) {
        const when = at ? `at ${utc(at)}` : 'now';
        io.stderr.write([`Send plan for ${plan.campaignId}: "${plan.subject}"`, ...planLines(plan), ''].join('\n'));
        if (!(await confirm(`Send it to ${plan.audience} subscribers ${when}?`, { input: io.stdin, output: io.stderr }))) {
          io.stderr.write('newsletter: nothing sent\n');
          return io.exit(EXIT.FAILED);
        }
      }
      // `resume: true`: a firing that crashes mid-fan-out is retried (Lambda's async retries, the local timer's), and
      // the retry must continue that campaign rather than report it as existing.
      const input = { issue, mode: 'send', ...force, resume: true };
      if (at) return schedule(target, { campaignId: plan.campaignId, at, subject: plan.subject }, input, io, !!opts.json);
    }

    const result = await invokeUntilFannedOut(target, { issue, mode: 'send', ...force });
    const campaignId = reportOutcome(result, file, io)!;
    if (result.status === 'exists' && !opts.json) {
      io.stderr.write(`newsletter: ${campaignId} was already sent or is sending; showing its accounting\n`);
    }
    await finish(target, campaignId, io, !!opts.json);
  } finally {
    target.close();
  }
}

/** The target's scheduled sends, or CliError (exit 2) naming the stack outputs they need. */
function schedulesFor(target: SendTarget, create = false): ScheduledSends {
  if (!target.schedules) throw new CliError('scheduled sends need the stack output ScheduleGroupName (or SCHEDULE_GROUP_NAME)');
  if (create && !target.schedules.canCreate) {
    throw new CliError('scheduling needs the stack outputs SendFunctionArn and ScheduleRoleArn (or SEND_FUNCTION_ARN and SCHEDULE_ROLE_ARN)');
  }
  return target.schedules;
}

async function schedule(target: SendTarget, send: ScheduledSend, input: unknown, io: CommandIo, json: boolean): Promise<void> {
  // Checked again: the time may have passed while the plan was shown and the question answered.
  if (send.at.getTime() <= io.now().getTime()) throw new CliError(`${utc(send.at)} has passed meanwhile: nothing was scheduled`);
  await schedulesFor(target, true).create(send, input);
  if (json) io.stdout.write(`${JSON.stringify(scheduledJson(send))}\n`);
  else {
    io.stdout.write(
      `Scheduled ${send.campaignId} ("${send.subject}") for ${utc(send.at)} on ${target.where}; cancel with \`newsletter cancel ${send.campaignId}\`\n`,
    );
  }
}

function scheduledJson(s: ScheduledSend): { campaignId: string; status: 'SCHEDULED'; at: string; subject: string } {
  return { campaignId: s.campaignId, status: 'SCHEDULED', at: s.at.toISOString(), subject: s.subject };
}

/** Scheduled sends for `status`: failing to read them (no permission, say) is a warning, not a failed status. */
async function readSchedules<T>(target: SendTarget, io: CommandIo, read: (s: ScheduledSends) => Promise<T>, none: T): Promise<T> {
  if (!target.schedules) return none;
  try {
    return await read(target.schedules);
  } catch (err) {
    io.stderr.write(`newsletter: warning: ${(err as Error).message}\n`);
    return none;
  }
}

function printCampaignList(list: CampaignRecord[], scheduled: ScheduledSend[], json: boolean, out: NodeJS.WritableStream): void {
  if (json) {
    const rows = list.map((c) => ({ campaignId: c.campaignId, status: c.status, subject: c.subject, audience: c.audience, createdAt: c.createdAt }));
    out.write(`${JSON.stringify([...rows, ...scheduled.map(scheduledJson)])}\n`);
    return;
  }
  if (list.length === 0 && scheduled.length === 0) {
    out.write('No campaigns yet: send one with `newsletter send <issue.md>`\n');
    return;
  }
  for (const c of list) out.write(`${c.campaignId}\t${c.status}\t${c.audience}\t${c.createdAt}\t${c.subject}\n`);
  for (const s of scheduled) out.write(`${s.campaignId}\tSCHEDULED\t-\t${s.at.toISOString()}\t${s.subject}\n`);
}

/** `newsletter status [campaign]`: one campaign's accounting, or every campaign (and scheduled send) in one line each. */
export function statusCommand(campaignId: string | undefined, opts: { json?: boolean; aws?: boolean }): Promise<void> {
  return runStatus(campaignId, opts, processIo());
}

export async function runStatus(campaignId: string | undefined, opts: { json?: boolean; aws?: boolean }, io: CommandIo): Promise<void> {
  const target = await openSendTarget(opts, io.env, 'read');
  try {
    if (campaignId === undefined) {
      const [list, scheduled] = await Promise.all([target.campaigns.list(), readSchedules(target, io, (s) => s.list(), [] as ScheduledSend[])]);
      return printCampaignList(list, scheduled, !!opts.json, io.stdout);
    }
    const record = await target.campaigns.get(campaignId);
    if (!record) {
      const scheduled = await readSchedules(target, io, (s) => s.get(campaignId), undefined);
      if (!scheduled) throw unknownCampaign(campaignId);
      io.stdout.write(
        opts.json ? `${JSON.stringify(scheduledJson(scheduled))}\n` : `Campaign ${campaignId} is scheduled for ${utc(scheduled.at)}: "${scheduled.subject}"\n`,
      );
      return;
    }
    const a = await readAccounting(target.campaigns, campaignId, record);
    printAccounting(a, !!opts.json, io.stdout);
    if (!accountingAddsUp(a)) io.exit(EXIT.FAILED);
  } finally {
    target.close();
  }
}

function unknownCampaign(campaignId: string): CliError {
  return new CliError(`unknown campaign: ${campaignId} (list them with \`newsletter status\`)`, EXIT.NOT_FOUND);
}

/** `newsletter resume <campaign>`: continue a paused campaign or an unfinished fan-out. */
export function resumeCommand(campaignId: string, opts: { json?: boolean; aws?: boolean }): Promise<void> {
  return runResume(campaignId, opts, processIo());
}

export async function runResume(campaignId: string, opts: { json?: boolean; aws?: boolean }, io: CommandIo): Promise<void> {
  const target = await openSendTarget(opts, io.env);
  try {
    // Checked here too, so an unknown id is one clear line whatever the send function's wording.
    if (!(await target.campaigns.get(campaignId))) throw unknownCampaign(campaignId);
    const result = await invokeUntilFannedOut(target, { campaignId, resume: true });
    reportOutcome(result, campaignId, io);
    await finish(target, campaignId, io, !!opts.json);
  } finally {
    target.close();
  }
}

/** `newsletter cancel <campaign>`: delete a scheduled send that has not fired yet. */
export function cancelCommand(campaignId: string, opts: { json?: boolean; aws?: boolean }): Promise<void> {
  return runCancel(campaignId, opts, processIo());
}

export async function runCancel(campaignId: string, opts: { json?: boolean; aws?: boolean }, io: CommandIo): Promise<void> {
  const target = await openSendTarget(opts, io.env, 'read');
  try {
    const cancelled = await schedulesFor(target).cancel(campaignId);
    if (opts.json) io.stdout.write(`${JSON.stringify({ ...scheduledJson(cancelled), status: 'CANCELLED' })}\n`);
    else io.stdout.write(`Cancelled the scheduled send of ${campaignId} (was due ${utc(cancelled.at)})\n`);
  } finally {
    target.close();
  }
}
