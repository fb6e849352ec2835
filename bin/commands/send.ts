/**
 * `newsletter send <issue.md>`, `newsletter status <campaign>`, `newsletter resume <campaign>`.
 *
 * `send` and `resume` invoke the send Lambda through @aws-sdk/client-lambda: on the running local stack (its HTTP
 * server speaks Lambda's Invoke API) or, with `--aws`, the function named by SEND_FUNCTION_NAME. They then poll the
 * campaign's accounting until nothing is queued or the campaign is paused, with a progress bar on a terminal
 * (quiet with --json or when stderr is not a TTY), and end with the accounting.
 * Exit codes (common.ts): 0 done and adding up, 1 failed or does not add up, 2 bad input, 3 unreachable,
 * 4 unknown campaign, 5 paused (run `newsletter resume <campaign>`).
 */
import { readFile } from 'node:fs/promises';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import type { CampaignAccounting } from '../../lambdas/core/model.ts';
import type { CampaignRecord, CampaignRepository } from '../../lambdas/core/ports.ts';
import { accountingAddsUp, isSettled } from '../../lambdas/core/sending/accounting.ts';
import type { SendResult } from '../../lambdas/core/sending/send-campaign.ts';
import { readAccounting } from '../../lambdas/core/sending/status.ts';
import { normalizeEmail } from '../../lambdas/core/subscribers/email.ts';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../lambdas/local/emulators.ts';
import { SEND_FUNCTION_NAME } from '../../lambdas/local/names.ts';
import { CliError, EXIT } from './common.ts';
import { progressBar } from './progress.ts';
import { openTable } from './table.ts';

type Env = Record<string, string | undefined>;

interface SendTarget {
  invoke(payload: unknown): Promise<SendResult>;
  campaigns: CampaignRepository;
  /** How often to poll the accounting (each poll is one Query over the campaign partition). */
  pollMs: number;
  close(): void;
}

/** The fields of `send --json` and `status --json`, in this order. */
const JSON_FIELDS = ['campaignId', 'audience', 'sent', 'skipped', 'failed', 'unknown', 'queued', 'bounced', 'complained'] as const;

export function accountingJson(a: CampaignAccounting): Record<(typeof JSON_FIELDS)[number], string | number> {
  return Object.fromEntries(JSON_FIELDS.map((k) => [k, a[k]])) as Record<(typeof JSON_FIELDS)[number], string | number>;
}

/** `status` reads the table only, so on AWS it needs no function name. */
async function openSendTarget(opts: { aws?: boolean }, env: Env = process.env, needsFunction = true): Promise<SendTarget> {
  if (opts.aws && (!env.TABLE_NAME || (needsFunction && !env.SEND_FUNCTION_NAME))) {
    throw new CliError(`--aws needs ${needsFunction ? 'SEND_FUNCTION_NAME and ' : ''}TABLE_NAME (see the stack outputs)`);
  }
  const table = await openTable({ aws: !!opts.aws }, env);
  const lambda = table.local
    ? new LambdaClient({ endpoint: table.local.baseUrl, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS, maxAttempts: 1 })
    : new LambdaClient({});
  const functionName = table.local ? SEND_FUNCTION_NAME : (env.SEND_FUNCTION_NAME ?? '');
  const campaigns = table.campaigns;
  const pollMs = table.local ? 250 : 5000;
  const close = () => {
    lambda.destroy();
    table.close();
  };
  return {
    campaigns,
    pollMs,
    close,
    async invoke(payload) {
      let out;
      try {
        out = await lambda.send(new InvokeCommand({ FunctionName: functionName, Payload: Buffer.from(JSON.stringify(payload)) }));
      } catch (err) {
        const e = err as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
        if (e.$metadata?.httpStatusCode === 404) {
          throw new CliError('the local stack does not serve the send function yet (restart it with `npm start`)', EXIT.UNREACHABLE);
        }
        throw new CliError(`cannot invoke the send function: ${e.message ?? e.name}`, EXIT.UNREACHABLE);
      }
      const text = out.Payload ? Buffer.from(out.Payload).toString('utf8') : '';
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        throw new CliError('the send function returned something that is not JSON', EXIT.FAILED);
      }
      if (out.FunctionError) {
        const msg = (body as { errorMessage?: string }).errorMessage ?? out.FunctionError;
        throw new CliError(`the send function failed: ${msg}`, EXIT.FAILED);
      }
      return body as SendResult;
    },
  };
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
 * Poll until nothing is queued or the campaign is paused. Gives up (returns what it has) after `stallMs` without
 * any change, e.g. when messages went to the dead-letter queue.
 */
async function waitForCampaign(target: SendTarget, campaignId: string, json: boolean, stallMs = 120_000): Promise<{ a: CampaignAccounting; stalled: boolean }> {
  const bar = progressBar({ json }, ' {bar} {value}/{total} handled | sent {sent} | skipped {skipped} | queued {queued}');
  let last: CampaignAccounting | undefined;
  let lastChange = Date.now();
  try {
    for (;;) {
      const a = await readAccounting(target.campaigns, campaignId);
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

function printAccounting(a: CampaignAccounting, json: boolean): void {
  if (json) {
    process.stdout.write(`${JSON.stringify(accountingJson(a))}\n`);
    return;
  }
  const rows: Array<[string, number | string]> = [
    ['audience', a.audience], ['sent', a.sent], ['skipped', a.skipped], ['failed', a.failed], ['unknown', a.unknown],
    ['queued', a.queued], ['bounced', a.bounced], ['complained', a.complained],
  ];
  process.stdout.write(
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

async function finish(target: SendTarget, campaignId: string, json: boolean): Promise<void> {
  const { a, stalled } = await waitForCampaign(target, campaignId, json);
  printAccounting(a, json);
  if (stalled) process.stderr.write(`newsletter: no progress for 2 minutes; ${a.queued} still queued (check the dead-letter queue, then \`newsletter resume ${campaignId}\`)\n`);
  else if (a.status === 'PAUSED') process.stderr.write(`newsletter: campaign paused; continue with \`newsletter resume ${campaignId}\`\n`);
  else if (!accountingAddsUp(a)) process.stderr.write('newsletter: the accounting does not add up\n');
  process.exitCode = exitCodeFor(a, stalled);
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

function reportOutcome(result: SendResult): string | undefined {
  switch (result.status) {
    case 'invalid':
      throw new CliError(result.message, EXIT.BAD_INPUT);
    case 'not-found':
      throw new CliError(result.message, EXIT.NOT_FOUND);
    case 'complete':
    case 'exists':
      return result.campaign.campaignId;
    default:
      return undefined;
  }
}

function printPlan(result: Extract<SendResult, { status: 'dry-run' }>, json: boolean): void {
  if (json) {
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return;
  }
  const eta = Number.isFinite(result.etaSeconds) ? `${Math.floor(result.etaSeconds / 60)} min ${result.etaSeconds % 60} s` : 'unknown';
  process.stdout.write(
    [
      `Dry run for ${result.campaignId}: "${result.subject}" (nothing sent, nothing recorded)`,
      `  audience     ${result.audience} confirmed subscribers`,
      `  suppressed   ${result.suppressed.total} (unsubscribed ${result.suppressed.unsubscribed}, bounced ${result.suppressed.bounced}, complained ${result.suppressed.complained})`,
      `  rate         ${result.ratePerSecond.toFixed(1)} emails/s`,
      `  ETA          ${eta}`,
      `  SES cost     $${result.sesCostUsd.toFixed(4)}`,
      ...(result.existing ? [`  note         campaign already exists (${result.existing}): send would only report it`] : []),
      ...result.warnings.map((w) => `  warning      ${w}`),
      '',
    ].join('\n'),
  );
}

export interface SendOptions {
  assetBaseUrl?: string;
  linkBaseUrl?: string;
  dryRun?: boolean;
  test?: string;
  json?: boolean;
  aws?: boolean;
}

/** `newsletter send <issue.md>`: invoke the send function, then follow the campaign until it settles. */
export async function sendCommand(file: string, opts: SendOptions): Promise<void> {
  if (opts.dryRun && opts.test) throw new CliError('use either --dry-run or --test, not both');
  const testRecipients = opts.test !== undefined ? parseTestRecipients(opts.test) : undefined;
  let markdown: string;
  try {
    markdown = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new CliError(`cannot read ${file}: ${code === 'ENOENT' ? 'no such file' : (code ?? 'unreadable')}`);
  }
  const target = await openSendTarget(opts);
  try {
    const mode = opts.dryRun ? 'dry-run' : testRecipients ? 'test' : 'send';
    const issue = {
      markdown,
      ...(opts.assetBaseUrl ? { assetBaseUrl: opts.assetBaseUrl } : {}),
      ...(opts.linkBaseUrl ? { linkBaseUrl: opts.linkBaseUrl } : {}),
    };
    const result = await invokeUntilFannedOut(target, { issue, mode, ...(testRecipients ? { testRecipients } : {}) });
    if (result.status === 'dry-run') return printPlan(result, !!opts.json);
    if (result.status === 'test-sent') {
      if (opts.json) process.stdout.write(`${JSON.stringify(result)}\n`);
      else process.stdout.write(`Test email "${result.subject}" sent to ${result.sent.map((s) => s.email).join(', ')}\n`);
      return;
    }
    const campaignId = reportOutcome(result)!;
    if (result.status === 'exists' && !opts.json) {
      process.stderr.write(`newsletter: ${campaignId} was already sent or is sending; showing its accounting\n`);
    }
    await finish(target, campaignId, !!opts.json);
  } finally {
    target.close();
  }
}

function printCampaignList(list: CampaignRecord[], json: boolean): void {
  if (json) {
    const rows = list.map((c) => ({ campaignId: c.campaignId, status: c.status, subject: c.subject, audience: c.audience, createdAt: c.createdAt }));
    process.stdout.write(`${JSON.stringify(rows)}\n`);
    return;
  }
  if (list.length === 0) {
    process.stdout.write('No campaigns yet: send one with `newsletter send <issue.md>`\n');
    return;
  }
  for (const c of list) process.stdout.write(`${c.campaignId}\t${c.status}\t${c.audience}\t${c.createdAt}\t${c.subject}\n`);
}

/** `newsletter status [campaign]`: one campaign's accounting, or every campaign in one line each. */
export async function statusCommand(campaignId: string | undefined, opts: { json?: boolean; aws?: boolean }): Promise<void> {
  const target = await openSendTarget(opts, process.env, false);
  try {
    if (campaignId === undefined) return printCampaignList(await target.campaigns.list(), !!opts.json);
    const record = await target.campaigns.get(campaignId);
    if (!record) throw unknownCampaign(campaignId);
    const a = await readAccounting(target.campaigns, campaignId, record);
    printAccounting(a, !!opts.json);
    if (!accountingAddsUp(a)) process.exitCode = EXIT.FAILED;
  } finally {
    target.close();
  }
}

function unknownCampaign(campaignId: string): CliError {
  return new CliError(`unknown campaign: ${campaignId} (list them with \`newsletter status\`)`, EXIT.NOT_FOUND);
}

/** `newsletter resume <campaign>`: continue a paused campaign or an unfinished fan-out. */
export async function resumeCommand(campaignId: string, opts: { json?: boolean; aws?: boolean }): Promise<void> {
  const target = await openSendTarget(opts);
  try {
    // Checked here too, so an unknown id is one clear line whatever the send function's wording.
    if (!(await target.campaigns.get(campaignId))) throw unknownCampaign(campaignId);
    const result = await invokeUntilFannedOut(target, { campaignId, resume: true });
    reportOutcome(result);
    await finish(target, campaignId, !!opts.json);
  } finally {
    target.close();
  }
}
