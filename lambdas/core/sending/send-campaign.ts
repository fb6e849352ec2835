/**
 * The send Lambda's core: render once, store, claim the campaign, snapshot the audience, fan out.
 *
 * Fan-out pages the sparse GSI of confirmed subscribers, enqueues messages of 1-50 recipients (sized to the paced
 * rate, see message-size.ts) in SendMessageBatch groups of 10, and saves the cursor (and the page's recipient
 * count) after each page, conditionally on the cursor it started the page from. A run that nears its deadline
 * records a clean hand-off and returns `continuing`; re-invoking with `resume: true` continues from the saved
 * cursor, so no one is skipped. A crash between an enqueue and its cursor save re-enqueues that one page:
 * harmless, because the worker's claim lets only one delivery of a recipient send. A resume after a crash (no
 * hand-off recorded) also repairs, because the crash may have taken enqueued messages with it (see
 * {@link resumeCampaign}).
 */
import type { CampaignAccounting, CampaignStatus } from '../model.ts';
import type {
  CampaignRecord,
  CampaignRepository,
  Clock,
  IssueStore,
  Mailer,
  PendingRecipient,
  Queue,
  QueueMessage,
  StoredIssue,
  SubscriberRepository,
} from '../ports.ts';
import { readAccounting } from './status.ts';
import {
  archiveIndexUrl,
  archiveUrl,
  composeEmail,
  RECIPIENTS_PER_MESSAGE,
  type CompilePersonalizer,
  type ComposeSettings,
} from './compose.ts';
import { FALLBACK_SEND_RATE, recipientsPerMessage, type MessageSizing } from './message-size.ts';
import { realSleeper, type Sleeper } from './rate-limiter.ts';
import { errorReason } from './errors.ts';
import { StoredIssueTooLargeError } from './stored-issue.ts';

export type SendMode = 'dry-run' | 'test' | 'send';

/** The send Lambda's input (the Lambda event). */
export interface SendInput {
  /** The issue, and optionally the bases for its relative images and links (they override its front matter). */
  issue: ({ markdown: string } | { s3Key: string }) & RenderBases;
  mode: SendMode;
  /** Addresses for `test` mode. */
  testRecipients?: string[];
  /** Continue an unfinished fan-out, or re-enqueue a paused campaign's pending recipients. */
  resume?: boolean;
  /** Mode `send`: send even though the render reported authoring errors (the CLI's `--force`). */
  force?: boolean;
}

/** A resume by campaign id only (the CLI's `resume <campaign>`): the rendered issue is already stored. */
export interface ResumeInput {
  campaignId: string;
  resume: true;
}

export interface CampaignSummary {
  campaignId: string;
  subject: string;
  status: CampaignStatus;
  audience: number;
  enqueued: number;
  fanoutComplete: boolean;
  pausedReason?: string;
}

/** Outcomes are values; only infrastructure faults throw. */
export type SendResult =
  | {
      status: 'dry-run';
      campaignId: string;
      subject: string;
      audience: number;
      suppressed: { unsubscribed: number; bounced: number; complained: number; total: number };
      ratePerSecond: number;
      etaSeconds: number;
      sesCostUsd: number;
      /** Recipients per queue message at this rate (see message-size.ts). */
      recipientsPerMessage: number;
      existing?: CampaignStatus;
      warnings: string[];
      /** What mode `send` would refuse without `force` (also among `warnings`). */
      authoringErrors: string[];
    }
  | {
      status: 'test-sent';
      campaignId: string;
      subject: string;
      sent: Array<{ email: string; messageId: string }>;
      /** The render's authoring errors: a test send goes out anyway, so they can be seen in a real inbox. */
      authoringErrors?: string[];
    }
  /** Fan-out finished (now or before); the workers are sending. */
  | { status: 'complete'; campaign: CampaignSummary; accounting: CampaignAccounting; warnings?: string[] }
  /** Stopped before the deadline; invoke again with `resume: true`. */
  | { status: 'continuing'; campaign: CampaignSummary }
  /** A second trigger of an existing campaign: nothing enqueued. */
  | { status: 'exists'; campaign: CampaignSummary; accounting: CampaignAccounting }
  | { status: 'not-found'; message: string }
  | { status: 'invalid'; message: string };

/** Base URLs for an issue's relative images and links, as `newsletter render` takes them. */
export interface RenderBases {
  assetBaseUrl?: string;
  linkBaseUrl?: string;
}

/**
 * The renderer, reduced to what sending needs. Throws on an issue that cannot be rendered. `authoringErrors`
 * (unknown front-matter keys, placeholders that will not be filled, relative images, non-https links) make mode
 * `send` refuse unless forced; they are also among `warnings`.
 */
export type RenderForSend = (
  markdown: string,
  bases?: RenderBases,
) => Promise<{ issue: StoredIssue; warnings: string[]; authoringErrors?: string[] }>;

export interface SendDeps extends ComposeSettings {
  render: RenderForSend;
  /** Reads issue Markdown from the bucket (AWS input `{s3Key}`); undefined when there is no such object. */
  loadMarkdown?: (s3Key: string) => Promise<string | undefined>;
  issues: IssueStore;
  campaigns: CampaignRepository;
  subscribers: Pick<SubscriberRepository, 'listConfirmed' | 'countConfirmed' | 'scan'>;
  queue: Queue;
  mailer: Mailer;
  compilePersonalizer: CompilePersonalizer;
  /** The overall pacing rate (fraction × MaxSendRate): the dry-run ETA, and the size of queue messages. */
  sendRate(): Promise<number>;
  /** How the workers are deployed, to size queue messages to the paced rate (defaults: message-size.ts). */
  messageSizing?: MessageSizing;
  clock: Clock;
  /** Milliseconds left before the Lambda deadline (default: unlimited). */
  remainingMs?: () => number;
  /** Stop fanning out when less than this is left (default 20 s). */
  safetyMs?: number;
  /** Subscribers read per GSI page (default 500 = 10 messages = one SendMessageBatch). */
  pageSize?: number;
  /** Attempts for entries SendMessageBatch reports as Failed (default 8, exponential backoff from 50 ms). */
  enqueueAttempts?: number;
  time?: Sleeper;
}

export const SES_USD_PER_EMAIL = 0.1 / 1000;
const EMAIL_SHAPE = /^[^\s@<>,;"]+@[^\s@<>,;"]+\.[^\s@<>,;"]+$/;

function summary(c: CampaignRecord): CampaignSummary {
  return {
    campaignId: c.campaignId,
    subject: c.subject,
    status: c.status,
    audience: c.audience,
    enqueued: c.enqueued ?? 0,
    fanoutComplete: c.fanoutComplete ?? false,
    ...(c.pausedReason ? { pausedReason: c.pausedReason } : {}),
  };
}

/** Validate an untrusted event; returns a message for the operator, or undefined when fine. */
export function validateSendInput(input: unknown): string | undefined {
  if (!input || typeof input !== 'object') return 'send input must be an object';
  const i = input as Partial<SendInput> & Partial<ResumeInput>;
  if (typeof i.campaignId === 'string') return i.resume === true ? undefined : 'campaignId is only accepted with resume: true';
  if (!['dry-run', 'test', 'send'].includes(i.mode as string)) return 'mode must be dry-run, test or send';
  const issue = i.issue as { markdown?: unknown; s3Key?: unknown } | undefined;
  if (!issue || (typeof issue.markdown !== 'string' && typeof issue.s3Key !== 'string')) {
    return 'issue must be {markdown} or {s3Key}';
  }
  if (i.force !== undefined && typeof i.force !== 'boolean') return 'force must be true or false';
  for (const key of ['assetBaseUrl', 'linkBaseUrl'] as const) {
    const value = (issue as RenderBases)[key];
    if (value !== undefined && (typeof value !== 'string' || !/^https?:\/\/[^\s/]+/i.test(value))) return `issue.${key} must be an http(s) URL`;
  }
  if (i.mode === 'test') {
    if (!Array.isArray(i.testRecipients) || i.testRecipients.length === 0) return 'test mode needs testRecipients';
    if (i.testRecipients.length > 50) return 'at most 50 test recipients';
    const bad = i.testRecipients.find((e) => typeof e !== 'string' || !EMAIL_SHAPE.test(e));
    if (bad !== undefined) return `invalid test recipient: ${String(bad).slice(0, 100)}`;
  }
  return undefined;
}

/** Run one send request. See {@link SendInput} and {@link SendResult}. */
export async function runSend(deps: SendDeps, input: SendInput | ResumeInput): Promise<SendResult> {
  const invalid = validateSendInput(input);
  if (invalid) return { status: 'invalid', message: invalid };

  if ('campaignId' in input) {
    const campaign = await deps.campaigns.get(input.campaignId);
    if (!campaign) return { status: 'not-found', message: `unknown campaign: ${input.campaignId}` };
    return resumeCampaign(deps, campaign);
  }

  let markdown: string | undefined;
  if ('markdown' in input.issue) markdown = input.issue.markdown;
  else if (deps.loadMarkdown) markdown = await deps.loadMarkdown(input.issue.s3Key);
  else return { status: 'invalid', message: 'this runtime cannot read issues by s3Key' };
  if (markdown === undefined) return { status: 'not-found', message: `no issue at s3Key ${(input.issue as { s3Key: string }).s3Key}` };

  let rendered: Awaited<ReturnType<RenderForSend>>;
  try {
    const { assetBaseUrl, linkBaseUrl } = input.issue;
    rendered = await deps.render(markdown, { ...(assetBaseUrl ? { assetBaseUrl } : {}), ...(linkBaseUrl ? { linkBaseUrl } : {}) });
  } catch (err) {
    return { status: 'invalid', message: `cannot render the issue: ${errorReason(err)}` };
  }
  const { issue, warnings } = rendered;
  const authoringErrors = rendered.authoringErrors ?? [];
  const campaignId = issue.slug;

  if (input.mode === 'dry-run') return dryRun(deps, issue, warnings, authoringErrors);
  if (input.mode === 'test') return testSend(deps, issue, input.testRecipients ?? [], authoringErrors);
  // Refused only where a send would start; a campaign that exists is reported (or resumed) as before.
  const refusal = authoringErrors.length && !input.force ? refuseAuthoringErrors(authoringErrors) : undefined;

  const existing = await deps.campaigns.get(campaignId);
  if (existing) {
    if (existing.status === 'DRAFT') return refusal ?? claimDraftAndFanOut(deps, existing, issue, warnings);
    // A campaign whose rendered issue is gone (stored by an older version, elsewhere) gets it back, so its workers
    // and its archive page work again. A stored issue is never replaced: it is what was sent.
    if (!(await deps.issues.get(campaignId))) {
      const refused = await storeIssue(deps, issue);
      if (refused) return refused;
    }
    if (input.resume) return resumeCampaign(deps, existing);
    return { status: 'exists', campaign: summary(existing), accounting: await readAccounting(deps.campaigns, campaignId, existing) };
  }

  if (refusal) return refusal;
  // Store first: a worker must find the rendered issue as soon as the first message is enqueued.
  const refused = await storeIssue(deps, issue);
  if (refused) return refused;
  const audience = await deps.subscribers.countConfirmed();
  const started = await deps.campaigns.start({ campaignId, slug: issue.slug, subject: issue.subject, audience, now: deps.clock.now() });
  if (!started.created) {
    // Lost a race with a concurrent trigger: report, never enqueue twice.
    const c = started.campaign;
    if (c.status === 'DRAFT') return claimDraftAndFanOut(deps, c, issue, warnings);
    return { status: 'exists', campaign: summary(c), accounting: await readAccounting(deps.campaigns, campaignId, c) };
  }
  return fanOut(deps, started.campaign, warnings, await messageSize(deps));
}

/** Mode `send` without `force`: one line naming every authoring error, nothing written. */
function refuseAuthoringErrors(errors: string[]): SendResult {
  const n = errors.length;
  return {
    status: 'invalid',
    message: `the issue has ${n} authoring error${n === 1 ? '' : 's'} (send with --force to send it anyway): ${errors.join('; ')}`,
  };
}

/** Store the rendered issue; an issue too large to store is refused as invalid input, with nothing written. */
async function storeIssue(deps: SendDeps, issue: StoredIssue): Promise<SendResult | undefined> {
  try {
    await deps.issues.put(issue);
    return undefined;
  } catch (err) {
    if (err instanceof StoredIssueTooLargeError) return { status: 'invalid', message: err.message };
    throw err;
  }
}

/** A campaign left in DRAFT (crash between create and DRAFT→SENDING): whoever wins the transition fans out. */
async function claimDraftAndFanOut(deps: SendDeps, c: CampaignRecord, issue: StoredIssue, warnings: string[]): Promise<SendResult> {
  const refused = (await storeIssue(deps, issue)) ?? (await claimDraft(deps, c));
  if (refused) return refused;
  return fanOut(deps, { ...c, status: 'SENDING' }, warnings, await messageSize(deps));
}

/** DRAFT → SENDING; when another trigger won it, the existing campaign as it is now (undefined when this one won). */
async function claimDraft(deps: SendDeps, c: CampaignRecord): Promise<SendResult | undefined> {
  if (await deps.campaigns.setStatus(c.campaignId, ['DRAFT'], 'SENDING')) return undefined;
  const now = (await deps.campaigns.get(c.campaignId)) ?? c;
  return { status: 'exists', campaign: summary(now), accounting: await readAccounting(deps.campaigns, c.campaignId, now) };
}

/**
 * Resume: PAUSED → SENDING (or a DRAFT left by a crash → SENDING), then make sure nothing is lost, in one run.
 *
 * 1. An unfinished fan-out continues from its cursor. When the last run handed over cleanly at its deadline
 *    (`handoffAt`: the CLI's re-invocation after `continuing`), that is all. Otherwise the last run died mid-way
 *    (or is still running): messages it enqueued may be gone with it (the local stack's in-memory queue dies with
 *    the process), so once the fan-out is complete the repair below runs too. Without it, the recipients of the
 *    pages saved before the crash stayed queued forever and only a second `resume` found them (issue 13).
 * 2. A fan-out that was complete when this resume started gets the repair pass: it re-walks the confirmed index
 *    from the start and parks every confirmed subscriber without a delivery pair as a QUEUED pair (a
 *    conditional write that never touches an existing pair). That finds recipients whose queue message was lost:
 *    dead-lettered after the worker threw on every receive, or dropped with the in-memory local queue on a
 *    restart. The campaign is then marked repaired, so N becomes the number of pairs (see `audienceOf`):
 *    subscribers who confirmed after the snapshot and are reached here are counted in N, and lost recipients who
 *    left before the repair drop out of it (they got nothing and are no longer subscribed).
 * 3. Every pair that is not final (QUEUED, and SENDING, which the worker turns into UNKNOWN rather than resend) is
 *    enqueued.
 *
 * Recipients still in the queue may be enqueued a second time; the worker's conditional claim makes that harmless,
 * so nobody is emailed twice. The repair costs one conditional write per confirmed subscriber; when it runs out of
 * time it returns `continuing`, and the next resume starts it again (it is idempotent).
 */
async function resumeCampaign(deps: SendDeps, c: CampaignRecord): Promise<SendResult> {
  if (c.status === 'PAUSED') {
    await deps.campaigns.setStatus(c.campaignId, ['PAUSED'], 'SENDING');
  } else if (c.status === 'DRAFT') {
    // Never fanned out: nothing was enqueued, so nothing can be lost. Whoever wins DRAFT → SENDING fans out.
    const lost = await claimDraft(deps, c);
    if (lost) return lost;
  } else if (c.status === 'SENT') {
    return { status: 'exists', campaign: summary(c), accounting: await readAccounting(deps.campaigns, c.campaignId, c) };
  }
  const current = (await deps.campaigns.get(c.campaignId)) ?? c;
  const perMessage = await messageSize(deps);
  // A run that saved no page yet left nothing behind that the fan-out will not enqueue again.
  const startedBefore = current.cursor !== undefined || (current.enqueued ?? 0) > 0;
  const repair = current.fanoutComplete || (startedBefore && !current.handoffAt);
  if (!current.fanoutComplete) {
    const r = await fanOut(deps, current, [], perMessage);
    if (r.status !== 'complete') return r;
  }
  if (repair) {
    let page: Awaited<ReturnType<SendDeps['subscribers']['listConfirmed']>> | undefined;
    do {
      if (outOfTime(deps)) return { status: 'continuing', campaign: summary((await deps.campaigns.get(c.campaignId)) ?? current) };
      page = await deps.subscribers.listConfirmed(page?.cursor, deps.pageSize ?? 500);
      await deps.campaigns.park(c.campaignId, page.items);
    } while (page.cursor);
    // After the parking: from here on N counts pairs, and every audience member has one.
    await deps.campaigns.markRepaired(c.campaignId, deps.clock.now());
  }
  let cursor: string | undefined;
  do {
    if (outOfTime(deps)) return { status: 'continuing', campaign: summary((await deps.campaigns.get(c.campaignId)) ?? current) };
    const page = await deps.campaigns.listPending(c.campaignId, cursor, deps.pageSize ?? 500);
    await enqueueRecipients(deps, c.campaignId, page.items, perMessage);
    cursor = page.cursor;
  } while (cursor);
  const after = (await deps.campaigns.get(c.campaignId)) ?? current;
  return { status: 'complete', campaign: summary(after), accounting: await readAccounting(deps.campaigns, c.campaignId, after) };
}

function outOfTime(deps: SendDeps): boolean {
  return deps.remainingMs !== undefined && deps.remainingMs() < (deps.safetyMs ?? 20_000);
}

/**
 * Recipients per queue message at the current paced rate (one rate read per run). When the rate cannot be read,
 * the sandbox rate: smaller messages cost a few more SQS calls, larger ones could outlast the worker's timeout.
 */
async function messageSize(deps: Pick<SendDeps, 'sendRate' | 'messageSizing'>): Promise<number> {
  let sendRate: number;
  try {
    sendRate = await deps.sendRate();
  } catch {
    sendRate = FALLBACK_SEND_RATE;
  }
  return recipientsPerMessage({ sendRate, ...deps.messageSizing });
}

/**
 * Page the confirmed index from the saved cursor into the queue. Each page's cursor save is conditional on the
 * cursor the page started from: when it fails, another fan-out of this campaign (a resume racing a run that is
 * still alive) saved first, so this page was a duplicate (harmless) and not counted; carry on from where the
 * other one got. Both may enqueue the same pages; each is counted once, so N stays exact.
 */
async function fanOut(deps: SendDeps, campaign: CampaignRecord, warnings: string[], perMessage: number): Promise<SendResult> {
  const id = campaign.campaignId;
  let cursor = campaign.cursor;
  let enqueued = campaign.enqueued ?? 0;
  let complete = campaign.fanoutComplete ?? false;
  while (!complete) {
    if (outOfTime(deps)) {
      await deps.campaigns.markHandoff(id, cursor, deps.clock.now());
      return { status: 'continuing', campaign: { ...summary(campaign), enqueued, fanoutComplete: false } };
    }
    const page = await deps.subscribers.listConfirmed(cursor, deps.pageSize ?? 500);
    await enqueueRecipients(deps, id, page.items, perMessage);
    if (await deps.campaigns.saveCursor(id, page.cursor, !page.cursor, page.items.length, { cursor })) {
      enqueued += page.items.length;
      cursor = page.cursor;
      complete = !page.cursor;
    } else {
      const now = await deps.campaigns.get(id);
      if (!now) throw new Error(`campaign ${id} vanished during the fan-out`);
      ({ cursor } = now);
      enqueued = now.enqueued ?? 0;
      complete = now.fanoutComplete ?? false;
    }
  }
  const after = (await deps.campaigns.get(id)) ?? campaign;
  return {
    status: 'complete',
    campaign: summary(after),
    accounting: await readAccounting(deps.campaigns, id, after),
    ...(warnings.length ? { warnings } : {}),
  };
}

/**
 * Enqueue recipients as messages of `perMessage` (1-50, default 50), in SendMessageBatch groups of 10, retrying
 * Failed[] with backoff. A recipient's custom attributes travel with it (omitted when empty).
 */
export async function enqueueRecipients(
  deps: Pick<SendDeps, 'queue' | 'enqueueAttempts' | 'time'>,
  campaignId: string,
  recipients: PendingRecipient[],
  perMessage = RECIPIENTS_PER_MESSAGE,
): Promise<number> {
  const time = deps.time ?? realSleeper;
  const size = Math.min(RECIPIENTS_PER_MESSAGE, Math.max(1, Math.floor(perMessage)));
  const messages: QueueMessage[] = [];
  for (let i = 0; i < recipients.length; i += size) {
    // The worker's RecipientBatch (compose.ts), with each recipient's `attributes` when it has any.
    const batch: { campaignId: string; recipients: PendingRecipient[] } = { campaignId, recipients: recipients.slice(i, i + size).map(queuedRecipient) };
    messages.push({ id: String(messages.length), body: JSON.stringify(batch), recipients: batch.recipients.length });
  }
  const attempts = deps.enqueueAttempts ?? 8;
  for (let g = 0; g < messages.length; g += 10) {
    let pending = messages.slice(g, g + 10);
    for (let attempt = 1; pending.length > 0; attempt++) {
      const { failedIds } = await deps.queue.sendBatch(pending);
      if (failedIds.length === 0) break;
      if (attempt >= attempts) throw new Error(`enqueue failed for ${failedIds.length} message(s) after ${attempts} attempts`);
      const failed = new Set(failedIds);
      pending = pending.filter((m) => failed.has(m.id));
      await time.sleep(50 * 2 ** (attempt - 1));
    }
  }
  return messages.length;
}

/** A recipient as a queue message carries it: the address, the name and the custom attributes when present. */
function queuedRecipient(r: PendingRecipient): PendingRecipient {
  const attributes = r.attributes && Object.keys(r.attributes).length > 0 ? { attributes: r.attributes } : {};
  return { email: r.email, ...(r.name ? { name: r.name } : {}), ...attributes };
}

async function dryRun(deps: SendDeps, issue: StoredIssue, warnings: string[], authoringErrors: string[]): Promise<SendResult> {
  const [audience, rate, existing] = await Promise.all([
    deps.subscribers.countConfirmed(),
    deps.sendRate(),
    deps.campaigns.get(issue.slug),
  ]);
  const suppressed = { unsubscribed: 0, bounced: 0, complained: 0, total: 0 };
  // A full scan: acceptable for an operator's dry run, never done during a send.
  for await (const s of deps.subscribers.scan()) {
    if (s.status === 'unsubscribed' || s.status === 'bounced' || s.status === 'complained') {
      suppressed[s.status] += 1;
      suppressed.total += 1;
    }
  }
  return {
    status: 'dry-run',
    campaignId: issue.slug,
    subject: issue.subject,
    audience,
    suppressed,
    ratePerSecond: rate,
    etaSeconds: rate > 0 ? Math.ceil(audience / rate) : Number.POSITIVE_INFINITY,
    sesCostUsd: Math.round(audience * SES_USD_PER_EMAIL * 10_000) / 10_000,
    recipientsPerMessage: recipientsPerMessage({ sendRate: rate, ...deps.messageSizing }),
    ...(existing ? { existing: existing.status } : {}),
    warnings,
    authoringErrors,
  };
}

/**
 * Test mode: the given addresses only, subject prefixed, straight through the Mailer; no campaign, no queue, and
 * nothing stored. The archive serves an issue only once its campaign has left DRAFT, so while there is none the
 * test email's "view in browser" link goes to the archive index (a page that exists) rather than to a 404. Storing
 * the rendered issue here would not make its page public, and could replace the web version of a campaign that
 * already went out under the same slug. Once the campaign is public, the link is its archive page, as in the send.
 */
async function testSend(deps: SendDeps, issue: StoredIssue, to: string[], authoringErrors: string[]): Promise<SendResult> {
  const personalize = deps.compilePersonalizer({ html: issue.html, text: issue.text, subject: issue.subject });
  const campaign = await deps.campaigns.get(issue.slug);
  const viewInBrowser = campaign && campaign.status !== 'DRAFT'
    ? archiveUrl(deps.publicBaseUrl, issue.slug)
    : archiveIndexUrl(deps.publicBaseUrl);
  const sent: Array<{ email: string; messageId: string }> = [];
  for (const address of to) {
    const email = await composeEmail(deps, issue, personalize, { email: address }, issue.slug, '[TEST] ', viewInBrowser);
    const { messageId } = await deps.mailer.send(email);
    sent.push({ email: address, messageId });
  }
  return {
    status: 'test-sent',
    campaignId: issue.slug,
    subject: `[TEST] ${issue.subject}`,
    sent,
    ...(authoringErrors.length ? { authoringErrors } : {}),
  };
}
