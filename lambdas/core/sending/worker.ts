/**
 * The send worker's core: for each recipient of each queue message, re-check its subscriber status (read in batches just
 * ahead of the sending), claim the (campaign, subscriber) pair, personalize, send once, record the outcome.
 *
 * Exactly-once per recipient rests on the claim: only the caller that moves a pair from absent/QUEUED to SENDING
 * may call SES, and a pair found SENDING is never sent again (it becomes UNKNOWN: SES may have accepted it).
 * Per recipient this costs two writes (claim, SENT) and a share of one strongly consistent BatchGetItem of the
 * statuses per `concurrency` recipients (8: about 7 reads per 50-recipient message instead of 50 GetItem, the same
 * read units); per message, one more write (the campaign's `handled` hint, see {@link createRecipientWorker}).
 * Each DynamoDB call costs about as much CPU as the SendEmail itself, hence the batching. The statuses are read
 * just ahead of the lanes, not for the whole message at once, so a status is at most one round of the lanes old
 * when its recipient is sent: an unsubscribe made before that read is always honoured.
 */
import type { CampaignStatus, SubscriberStatus } from '../model.ts';
import type { CampaignRepository, Clock, IssueStore, Mailer, StoredIssue, SubscriberRepository } from '../ports.ts';
import { classifySendError, errorReason } from './errors.ts';
import {
  composeEmail,
  parseRecipientBatch,
  type CompilePersonalizer,
  type ComposeSettings,
  type Personalize,
  type Recipient,
} from './compose.ts';
import { realSleeper, type Pacer, type Sleeper } from './rate-limiter.ts';
import { audienceOf } from './accounting.ts';
import { readAccounting } from './status.ts';

/** One queue message as the worker sees it (SQS record or local queue delivery). */
export interface WorkerMessage {
  messageId: string;
  body: string;
  /** 1 on first delivery. */
  receiveCount: number;
}

export interface WorkerLogger {
  warn(message: string, detail?: Record<string, unknown>): void;
  error(message: string, detail?: Record<string, unknown>): void;
}

export interface WorkerDeps extends ComposeSettings {
  subscribers: Pick<SubscriberRepository, 'getStatuses'>;
  campaigns: CampaignRepository;
  mailer: Pick<Mailer, 'send'>;
  issues: Pick<IssueStore, 'get'>;
  pacer: Pick<Pacer, 'acquire' | 'throttled'>;
  compilePersonalizer: CompilePersonalizer;
  clock: Clock;
  /** Recipients of one message sent in parallel (default 8). The pacer still bounds the rate. */
  concurrency?: number;
  /** In-place retries of a throttled SendEmail before the message goes back to the queue (default 2). */
  throttleRetries?: number;
  /** Base backoff after a throttled SendEmail, doubled per retry (default 200 ms). */
  backoffMs?: number;
  /**
   * The queue's maxReceiveCount. On the last delivery, recipients that could not be attempted (throttled, in doubt,
   * or the whole message failed, e.g. the stored issue was unreadable) are parked as QUEUED pairs before the message
   * fails into the DLQ, so `resume` still finds them. Default: none (`resume` then finds them by re-walking the
   * confirmed index).
   */
  maxReceiveCount?: number;
  time?: Sleeper;
  log?: WorkerLogger;
}

export type RecipientOutcome = 'sent' | 'skipped' | 'failed' | 'unknown' | 'duplicate' | 'throttled' | 'paused' | 'in-doubt';

export interface WorkerResult {
  /** Message ids to return to the queue (SQS batchItemFailures). */
  failedMessageIds: string[];
  outcomes: Record<RecipientOutcome, number>;
}

const silent: WorkerLogger = { warn: () => undefined, error: () => undefined };

/** Per-container cache: the stored issue and its compiled personalizer, loaded once per campaign. */
interface CompiledIssue {
  issue: StoredIssue;
  personalize: Personalize;
}

/** Outcomes that leave the pair final (SENT / FAILED / SKIPPED / UNKNOWN): what the `handled` hint counts. */
const FINAL_OUTCOMES: ReadonlySet<RecipientOutcome> = new Set(['sent', 'failed', 'skipped', 'unknown']);

/**
 * Build the worker. Keep the returned function for the container's life so the personalizer cache is reused.
 *
 * Completion: after each message that recorded final outcomes, the worker adds their number to the campaign's
 * `handled` hint (one write per message). When the fan-out is complete and the hint reaches N (or the campaign was
 * repaired, when N is the pair count), it runs the real check on a strongly consistent read of the accounting and
 * closes the campaign (SENDING → SENT), so a campaign is SENT without anyone reading its status. The hint can
 * under-count after a crash between a final write and the add, or when an SES event settled a pair first; a reader
 * (status, send/resume progress) then closes the campaign, as before.
 */
export function createRecipientWorker(deps: WorkerDeps): (messages: WorkerMessage[]) => Promise<WorkerResult> {
  const compiled = new Map<string, Promise<CompiledIssue | undefined>>();
  const time = deps.time ?? realSleeper;
  const log = deps.log ?? silent;
  const concurrency = Math.max(1, deps.concurrency ?? 8);
  const retries = deps.throttleRetries ?? 2;
  const backoff = deps.backoffMs ?? 200;

  function loadIssue(campaignId: string): Promise<CompiledIssue | undefined> {
    let entry = compiled.get(campaignId);
    if (!entry) {
      entry = deps.issues.get(campaignId).then((issue) =>
        issue
          ? { issue, personalize: deps.compilePersonalizer({ html: issue.html, text: issue.text, subject: issue.subject }) }
          : undefined,
      );
      // A failed or missing load is retried by the next message, not cached forever.
      entry.then(
        (v) => v ?? compiled.delete(campaignId),
        () => compiled.delete(campaignId),
      );
      compiled.set(campaignId, entry);
    }
    return entry;
  }

  /**
   * Last receive of a message whose processing threw (e.g. its stored issue is unreadable): park its recipients as
   * QUEUED pairs (never touching an existing pair) so `resume` finds them even though the message goes to the DLQ.
   * Best effort: if parking fails too, `resume` still finds them by re-walking the confirmed index.
   */
  async function parkBeforeDlq(m: WorkerMessage): Promise<void> {
    const batch = parseRecipientBatch(m.body);
    if (!batch) return;
    try {
      await deps.campaigns.park(batch.campaignId, batch.recipients);
    } catch (err) {
      log.error('could not park the recipients of a dead-lettered message', { messageId: m.messageId, error: errorReason(err) });
    }
  }

  return async function processMessages(messages) {
    const outcomes: Record<RecipientOutcome, number> = {
      sent: 0, skipped: 0, failed: 0, unknown: 0, duplicate: 0, throttled: 0, paused: 0, 'in-doubt': 0,
    };
    // Campaign status, read once per batch: a paused campaign is not sent from, and a pause seen in this batch
    // stops its other messages too.
    const statusCache = new Map<string, Promise<CampaignStatus | undefined>>();
    const campaignStatus = (id: string) => {
      let s = statusCache.get(id);
      if (!s) {
        s = deps.campaigns.get(id).then((c) => c?.status);
        statusCache.set(id, s);
      }
      return s;
    };
    const failedMessageIds: string[] = [];

    async function sendOne(
      campaignId: string,
      compiledIssue: CompiledIssue,
      r: Recipient,
      status: SubscriberStatus | undefined,
    ): Promise<RecipientOutcome> {
      if (status !== 'confirmed') return leftBeforeSend(campaignId, r.email, status ?? 'absent');
      const claim = await deps.campaigns.claim(campaignId, r.email, deps.clock.now());
      if (!claim.claimed) {
        if (claim.status === 'SENDING') {
          // Claimed before and never recorded: SES may have accepted it. Never risk a second email.
          await deps.campaigns.recordDelivery(campaignId, r.email, 'UNKNOWN', { error: 'found SENDING on retry' });
          return 'unknown';
        }
        return 'duplicate';
      }
      const email = await composeEmail(deps, compiledIssue.issue, compiledIssue.personalize, r, campaignId);
      for (let attempt = 0; ; attempt++) {
        await deps.pacer.acquire();
        try {
          const { messageId } = await deps.mailer.send(email);
          await deps.campaigns.recordDelivery(campaignId, r.email, 'SENT', { messageId });
          return 'sent';
        } catch (err) {
          const kind = classifySendError(err);
          if (kind === 'message-fatal') {
            await deps.campaigns.recordDelivery(campaignId, r.email, 'FAILED', { error: errorReason(err) });
            return 'failed';
          }
          if (kind === 'campaign-fatal') {
            await deps.campaigns.setStatus(campaignId, ['SENDING'], 'PAUSED', errorReason(err));
            statusCache.set(campaignId, Promise.resolve('PAUSED'));
            await deps.campaigns.release(campaignId, r.email);
            log.warn('campaign paused', { campaignId, reason: errorReason(err) });
            return 'paused';
          }
          if (kind === 'in-doubt') {
            // Keep the claim: the redelivery finds SENDING and records UNKNOWN rather than risk a second email.
            log.warn('SendEmail outcome unknown', { campaignId, error: errorReason(err) });
            return 'in-doubt';
          }
          deps.pacer.throttled();
          if (attempt >= retries) {
            await deps.campaigns.release(campaignId, r.email);
            return 'throttled';
          }
          await time.sleep(backoff * 2 ** attempt * (0.5 + Math.random() / 2));
        }
      }
    }

    /**
     * The subscriber is no longer confirmed: never send. An unclaimed (absent or QUEUED) pair becomes SKIPPED. A pair
     * found SENDING was claimed by an earlier attempt whose SES outcome is in doubt (a crash, or no answer), so the
     * email may have gone out: it becomes UNKNOWN, the same honest in-doubt state as a plain retry, with the reason
     * recorded. It is final (counted in the accounting, never re-enqueued by `resume`), and an SES Send event still
     * reconciles it to SENT. SKIPPED is not allowed over SENDING (delivery-rules.ts), because it could hide an email
     * that a concurrent claim is sending right now; UNKNOWN does not, as that claim's SENT still replaces it.
     */
    async function leftBeforeSend(campaignId: string, email: string, status: string): Promise<RecipientOutcome> {
      // Exactly one of these applies, by the guards: SKIPPED over absent/QUEUED, UNKNOWN over SENDING; neither over
      // a final pair (a duplicate delivery).
      if (await deps.campaigns.recordDelivery(campaignId, email, 'SKIPPED', { error: `subscriber ${status}` })) return 'skipped';
      const reason = `claimed earlier, SES outcome unknown; subscriber ${status} before the retry`;
      if (await deps.campaigns.recordDelivery(campaignId, email, 'UNKNOWN', { error: reason })) return 'unknown';
      return 'duplicate';
    }

    /** Add this message's final outcomes to the `handled` hint; close the campaign when the real check agrees. */
    async function noteHandled(campaignId: string, finals: number): Promise<void> {
      try {
        const c = await deps.campaigns.addHandled(campaignId, finals);
        if (!c || c.status !== 'SENDING' || !c.fanoutComplete || (c.handled ?? 0) < audienceOf(c)) return;
        const a = await readAccounting(deps.campaigns, campaignId, c, { consistent: true });
        if (a.status === 'SENT') statusCache.set(campaignId, Promise.resolve('SENT'));
      } catch (err) {
        // Only a hint: the outcomes are recorded, and any reader of the accounting can still close the campaign.
        log.warn('completion check failed', { campaignId, error: errorReason(err) });
      }
    }

    async function processMessage(m: WorkerMessage): Promise<boolean> {
      const batch = parseRecipientBatch(m.body);
      if (!batch) {
        // Retrying a malformed body cannot help; acknowledge it so it does not cycle into the DLQ.
        log.error('malformed queue message dropped', { messageId: m.messageId });
        return true;
      }
      const { campaignId, recipients } = batch;
      const status = await campaignStatus(campaignId);
      if (!status) {
        log.error('queue message for an unknown campaign dropped', { messageId: m.messageId, campaignId });
        return true;
      }
      if (status === 'PAUSED') {
        await deps.campaigns.park(campaignId, recipients);
        outcomes.paused += recipients.length;
        return true;
      }
      const compiledIssue = await loadIssue(campaignId);
      if (!compiledIssue) throw new Error(`rendered issue ${campaignId} not found`);
      // Statuses are read just ahead of the lanes: one strongly consistent read per `concurrency` recipients, when a
      // lane reaches the first of them, so a status is never older than one round of the lanes. If a read throws,
      // the message fails and is retried like any other infrastructure fault (parked first on its last receive).
      const statusReads = new Map<number, Promise<Map<string, SubscriberStatus>>>();
      const statusOf = async (i: number): Promise<SubscriberStatus | undefined> => {
        const chunk = Math.floor(i / concurrency);
        let read = statusReads.get(chunk);
        if (!read) {
          read = deps.subscribers.getStatuses(recipients.slice(chunk * concurrency, (chunk + 1) * concurrency).map((r) => r.email));
          statusReads.set(chunk, read);
        }
        return (await read).get(recipients[i]!.email);
      };

      let next = 0;
      let finals = 0;
      let stop: 'throttled' | 'paused' | 'in-doubt' | undefined;
      const untried: Recipient[] = [];
      const lane = async () => {
        while (next < recipients.length) {
          const i = next++;
          const r = recipients[i]!;
          if (stop || (await campaignStatus(campaignId)) === 'PAUSED') {
            stop ??= 'paused';
            untried.push(r);
            continue;
          }
          const outcome = await sendOne(campaignId, compiledIssue, r, await statusOf(i));
          outcomes[outcome] += 1;
          if (FINAL_OUTCOMES.has(outcome)) finals += 1;
          if (outcome === 'throttled' || outcome === 'paused' || outcome === 'in-doubt') stop ??= outcome;
        }
      };
      const lanes = await Promise.allSettled(Array.from({ length: Math.min(concurrency, recipients.length) }, lane));
      if (finals > 0) await noteHandled(campaignId, finals);
      const crashed = lanes.find((l): l is PromiseRejectedResult => l.status === 'rejected');
      if (crashed) throw crashed.reason;

      if (stop === 'paused' || (await campaignStatus(campaignId)) === 'PAUSED') {
        // Paused: the rest stay QUEUED as pairs for `resume`; the message is acknowledged so the DLQ stays empty.
        await deps.campaigns.park(campaignId, untried);
        outcomes.paused += untried.length;
        return true;
      }
      if (stop === 'throttled' || stop === 'in-doubt') {
        if (deps.maxReceiveCount && m.receiveCount >= deps.maxReceiveCount) await deps.campaigns.park(campaignId, untried);
        return false;
      }
      return true;
    }

    await Promise.all(
      messages.map(async (m) => {
        let ok: boolean;
        try {
          ok = await processMessage(m);
        } catch (err) {
          log.error('queue message failed', { messageId: m.messageId, error: errorReason(err) });
          ok = false;
          if (deps.maxReceiveCount && m.receiveCount >= deps.maxReceiveCount) await parkBeforeDlq(m);
        }
        if (!ok) failedMessageIds.push(m.messageId);
      }),
    );
    return { failedMessageIds, outcomes };
  };
}
