/**
 * The send worker's core: for each recipient of each queue message, re-check its subscriber status (read in batches just
 * ahead of the sending), claim the (campaign, subscriber) pair, personalize, send once, record the outcome.
 *
 * Exactly-once per recipient rests on the claim: only the caller that moves a pair from absent/QUEUED to SENDING
 * may call SES, and a pair found SENDING is never sent again (it becomes UNKNOWN: SES may have accepted it).
 * Each lane claims a pair only after pacing gave it a token, right before its SendEmail, and gives the claim back
 * whenever SES certainly did not take the email (throttled, unreachable): a crash leaves at most one SENDING pair
 * per lane, and only pairs whose SendEmail was in flight can end UNKNOWN.
 *
 * Per recipient this costs two writes (claim, SENT) and a share of one strongly consistent BatchGetItem of the
 * statuses per `concurrency` recipients (8: about 7 reads per 50-recipient message instead of 50 GetItem, the same
 * read units); per message, one more write (the campaign's `handled` hint, see {@link createRecipientWorker}).
 * A redelivered message also reads each pair once (eventually consistent) before pacing, so the recipients an
 * earlier receive finished cost no send token. Each DynamoDB call costs about as much CPU as the SendEmail itself,
 * hence the batching. The statuses are read by the lanes as they get their send tokens, not for the whole message
 * at once, so a status is at most one round of the lanes old when its recipient is sent: an unsubscribe made
 * before that read is always honoured.
 *
 * Deadline: the caller passes the invocation's remaining time. The worker stops claiming when less than
 * `deadlineMarginMs` is left (the SES request timeout, the SENT write and the message's bookkeeping must still
 * fit), never waits for a send token past that point, and returns the unfinished message to the queue.
 *
 * Giving up on a message: SQS counts every receive, also those that made progress, so a long message (a slow
 * account, long throttling) may need many receives. The worker gives up only on receives that made no progress:
 * when a receive records no final outcome and the message has had at least `maxIdleReceives` receives without
 * progress, or it is SQS's last receive before the DLQ (`maxReceiveCount`), the worker parks the message's
 * recipients as QUEUED pairs, pauses the campaign with the reason, and acknowledges the message; `resume`
 * continues. It keeps no state for this: each earlier receive that made progress finished at least one recipient,
 * which this receive finds already final, so `receiveCount - recipients found final` is a lower bound of the
 * receives without progress (it never gives up early; at worst a few receives late). SQS's last receive before the
 * DLQ (`maxReceiveCount`) is a give-up point too, progress or not: the deployed queue allows 5 receives, 30 minutes
 * apart, so a message that is still unfinished after about two hours of throttling or outages parks its recipients
 * and pauses the campaign for the operator, and a message whose invocation crashes every time (timeouts, out of
 * memory) reaches the DLQ after 5 tries instead of dozens. Messages are sized so one invocation can send them at the
 * paced rate (message-size.ts), so an ordinary send never gets near that point.
 */
import type { CampaignStatus, OutboundEmail, SubscriberStatus } from '../model.ts';
import type { CampaignRepository, Clock, IssueStore, Mailer, StoredIssue, SubscriberRepository } from '../ports.ts';
import { classifySendError, errorReason } from './errors.ts';
import {
  composeEmail,
  parseRecipientBatch,
  type CompilePersonalizer,
  type ComposeSettings,
  type Personalize,
  type Recipient,
  type RecipientBatch,
} from './compose.ts';
import { realSleeper, type Sleeper } from './rate-limiter.ts';
import { audienceOf } from './accounting.ts';
import { readAccounting } from './status.ts';

/** One queue message as the worker sees it (SQS record or local queue delivery). */
export interface WorkerMessage {
  messageId: string;
  body: string;
  /** 1 on first delivery. */
  receiveCount: number;
}

/** Where the worker reports what an operator should see (Powertools Logger on AWS); details carry the campaign id. */
export interface WorkerLogger {
  info?(message: string, detail?: Record<string, unknown>): void;
  warn(message: string, detail?: Record<string, unknown>): void;
  error(message: string, detail?: Record<string, unknown>): void;
}

/** The send-token source (rate-limiter.ts's Pacer): `false` when no token comes within `maxWaitMs` (none taken). */
export interface WorkerPacer {
  acquire(maxWaitMs?: number): Promise<boolean | void>;
  throttled(): void;
}

/** Per invocation: how long it may still run (Lambda's `context.getRemainingTimeInMillis`). */
export interface WorkerInvocation {
  remainingMs(): number;
}

export interface WorkerDeps extends ComposeSettings {
  subscribers: Pick<SubscriberRepository, 'getStatuses'>;
  campaigns: CampaignRepository;
  mailer: Pick<Mailer, 'send'>;
  issues: Pick<IssueStore, 'get'>;
  pacer: WorkerPacer;
  compilePersonalizer: CompilePersonalizer;
  clock: Clock;
  /**
   * Recipients sent in parallel per invocation (default 8), split over its messages (at least one lane each), and
   * the size of the batched status reads. The pacer still bounds the rate.
   */
  concurrency?: number;
  /**
   * In-place retries of a throttled or unsent (SES unreachable) SendEmail before the message goes back to the queue
   * (default 2). The claim is given back before each backoff.
   */
  throttleRetries?: number;
  /** Base backoff after a throttled or unsent SendEmail, doubled per retry (default 200 ms). */
  backoffMs?: number;
  /**
   * Stop claiming when the invocation has less than this left (default 20 s): it must cover the SES client's request
   * timeout, the SENT write and the message's bookkeeping (handled hint, parking).
   */
  deadlineMarginMs?: number;
  /**
   * The queue's maxReceiveCount: on that receive the worker gives up on an unfinished message (parks its
   * recipients, pauses the campaign, acknowledges it) rather than let it fall into the DLQ. Default: none.
   */
  maxReceiveCount?: number;
  /**
   * Receives without progress after which the worker gives up on a message the same way. Default: none (only
   * `maxReceiveCount` applies; the worker handler and the local stack set 5).
   */
  maxIdleReceives?: number;
  time?: Sleeper;
  log?: WorkerLogger;
}

/**
 * What became of one recipient in one receive. `unsent`: SES was unreachable (claim given back); `deferred`: not
 * attempted because the invocation's deadline was near (not claimed); `duplicate`: already final.
 */
export type RecipientOutcome =
  | 'sent' | 'skipped' | 'failed' | 'unknown' | 'duplicate' | 'throttled' | 'paused' | 'in-doubt' | 'unsent' | 'deferred';

export interface WorkerResult {
  /** Message ids to return to the queue (SQS batchItemFailures). */
  failedMessageIds: string[];
  outcomes: Record<RecipientOutcome, number>;
  /** Messages acknowledged without processing: malformed bodies, unknown campaigns. */
  dropped: number;
}

const silent: WorkerLogger = { warn: () => undefined, error: () => undefined };
const noDeadline: WorkerInvocation = { remainingMs: () => Number.POSITIVE_INFINITY };

/** Why a message stopped before every recipient was final. */
type Stop = 'throttled' | 'paused' | 'in-doubt' | 'unsent' | 'deferred';

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
export function createRecipientWorker(
  deps: WorkerDeps,
): (messages: WorkerMessage[], invocation?: WorkerInvocation) => Promise<WorkerResult> {
  const compiled = new Map<string, Promise<CompiledIssue | undefined>>();
  const time = deps.time ?? realSleeper;
  const log = deps.log ?? silent;
  const concurrency = Math.max(1, deps.concurrency ?? 8);
  const retries = deps.throttleRetries ?? 2;
  const backoff = deps.backoffMs ?? 200;
  const margin = deps.deadlineMarginMs ?? 20_000;
  const maxIdle = deps.maxIdleReceives === undefined ? Number.POSITIVE_INFINITY : Math.max(1, deps.maxIdleReceives);

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

  return async function processMessages(messages, invocation = noDeadline) {
    const outcomes: Record<RecipientOutcome, number> = {
      sent: 0, skipped: 0, failed: 0, unknown: 0, duplicate: 0, throttled: 0, paused: 0, 'in-doubt': 0, unsent: 0, deferred: 0,
    };
    /** Time this invocation may still spend before it must stop claiming (≤ 0: stop now). */
    const budget = () => invocation.remainingMs() - margin;
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
    let dropped = 0;

    async function pause(campaignId: string, reason: string): Promise<void> {
      await deps.campaigns.setStatus(campaignId, ['SENDING'], 'PAUSED', reason);
      statusCache.set(campaignId, Promise.resolve('PAUSED'));
      log.warn('campaign paused', { campaignId, reason });
    }

    /** How far one receive of a message got (also when it threw). */
    interface MessageProgress {
      priorFinals: number;
      progress: number;
    }

    /** One message's state within one receive, shared by its lanes. */
    interface Lane {
      campaignId: string;
      compiledIssue: CompiledIssue;
      /** Recipients found already final (by an earlier receive): see the module comment on giving up. */
      priorFinals: number;
      lastError?: string;
    }

    /**
     * Pace, re-check the subscriber, claim, send, record: in that order, so the pair is SENDING only while its
     * SendEmail is in flight. Throttled and unsent attempts give the claim back before backing off.
     */
    async function sendOne(
      ctx: Lane,
      r: Recipient,
      status: () => Promise<SubscriberStatus | undefined>,
      redelivered: boolean,
    ): Promise<RecipientOutcome> {
      const { campaignId } = ctx;
      if (redelivered) {
        // An earlier receive may have finished this one: skip it without spending a send token. Eventually
        // consistent: a stale "not final" only costs a token and a claim that fails.
        const prior = await deps.campaigns.deliveryStatus(campaignId, r.email);
        if (prior === 'SENDING') return foundSending(ctx, r.email);
        if (prior && prior !== 'QUEUED') {
          ctx.priorFinals += 1;
          return 'duplicate';
        }
      }
      let email: OutboundEmail | undefined;
      for (let attempt = 0; ; attempt++) {
        if (budget() <= 0 || (await deps.pacer.acquire(budget())) === false) return 'deferred';
        if (!email) {
          const s = await status();
          if (s !== 'confirmed') return leftBeforeSend(campaignId, r.email, s ?? 'absent');
          email = await composeEmail(deps, ctx.compiledIssue.issue, ctx.compiledIssue.personalize, r, campaignId);
        }
        if (budget() <= 0) return 'deferred';
        const claim = await deps.campaigns.claim(campaignId, r.email, deps.clock.now());
        if (!claim.claimed) {
          if (claim.status === 'SENDING') return foundSending(ctx, r.email);
          ctx.priorFinals += 1;
          return 'duplicate';
        }
        try {
          const { messageId } = await deps.mailer.send(email);
          await deps.campaigns.recordDelivery(campaignId, r.email, 'SENT', { messageId });
          return 'sent';
        } catch (err) {
          const kind = classifySendError(err);
          const reason = errorReason(err);
          ctx.lastError = reason;
          if (kind === 'message-fatal') {
            await deps.campaigns.recordDelivery(campaignId, r.email, 'FAILED', { error: reason });
            return 'failed';
          }
          if (kind === 'campaign-fatal') {
            await pause(campaignId, reason);
            await deps.campaigns.release(campaignId, r.email);
            return 'paused';
          }
          if (kind === 'in-doubt') {
            // Keep the claim: the redelivery finds SENDING and records UNKNOWN rather than risk a second email.
            log.warn('SendEmail outcome unknown; the pair stays SENDING and becomes UNKNOWN on the retry', { campaignId, error: reason });
            return 'in-doubt';
          }
          // SES did not take it (throttled, or never reached): give the claim back before waiting.
          await deps.campaigns.release(campaignId, r.email);
          if (kind === 'throttling') deps.pacer.throttled();
          else log.warn('SES unreachable; claim given back', { campaignId, error: reason, attempt: attempt + 1 });
          const outcome = kind === 'throttling' ? 'throttled' : 'unsent';
          const wait = backoff * 2 ** attempt * (0.5 + Math.random() / 2);
          if (attempt >= retries || budget() - wait <= 0) return outcome;
          await time.sleep(wait);
        }
      }
    }

    /** A pair claimed by an earlier attempt and never recorded: SES may have accepted it. Never risk a second email. */
    async function foundSending(ctx: Lane, email: string): Promise<RecipientOutcome> {
      if (await deps.campaigns.recordDelivery(ctx.campaignId, email, 'UNKNOWN', { error: 'found SENDING on retry' })) {
        log.warn('pair found SENDING on retry recorded UNKNOWN (SES outcome in doubt)', { campaignId: ctx.campaignId });
        return 'unknown';
      }
      // Settled meanwhile (a concurrent delivery's SENT, an SES event): final either way.
      ctx.priorFinals += 1;
      return 'duplicate';
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

    /**
     * The message cannot finish and retrying it is not making progress (or SQS would dead-letter it next): park its
     * recipients as QUEUED pairs (never touching an existing pair), pause the campaign with the reason, and
     * acknowledge the message, so the DLQ stays empty and `resume` continues. Returns false when that itself fails
     * (the message is then returned to the queue, as any fault).
     */
    async function giveUp(m: WorkerMessage, batch: RecipientBatch, why: string, left: number): Promise<boolean> {
      try {
        await deps.campaigns.park(batch.campaignId, batch.recipients);
        await pause(batch.campaignId, why.replace(/\s+/g, ' ').slice(0, 300));
        outcomes.paused += left;
        return true;
      } catch (err) {
        log.error('could not park and pause after a message stopped making progress', {
          campaignId: batch.campaignId, messageId: m.messageId, error: errorReason(err),
        });
        return false;
      }
    }

    /**
     * Whether this unfinished receive should be the last, and why (the pause reason); see the module comment on
     * giving up. `undefined`: return the message to the queue.
     */
    function giveUpReason(m: WorkerMessage, progress: number, priorFinals: number, cause: string, failed = true): string | undefined {
      const idle = Math.max(1, m.receiveCount - priorFinals);
      // A receive cut short by the deadline before its turn came has not failed: only SQS's last receive ends it.
      if (failed && progress === 0 && idle >= maxIdle) return `a queue message made no progress in ${idle} receives: ${cause}`;
      if (deps.maxReceiveCount !== undefined && m.receiveCount >= deps.maxReceiveCount) {
        return `a queue message reached the queue's last receive (${m.receiveCount}) unfinished: ${cause}`;
      }
      return undefined;
    }

    // The `concurrency` lanes are shared by the batch's messages, at least one each. The send tokens go round the
    // lanes in order (the pacer serves its waiters first come, first served), so every message of the batch gets
    // its share of a slow rate in every receive instead of the first messages taking all of it.
    const lanesPerMessage = Math.max(1, Math.ceil(concurrency / Math.max(1, messages.length)));

    async function processMessage(m: WorkerMessage, batch: RecipientBatch, ctx: MessageProgress): Promise<boolean> {
      const { campaignId, recipients } = batch;
      const status = await campaignStatus(campaignId);
      if (!status) {
        log.error('queue message for an unknown campaign dropped', { messageId: m.messageId, campaignId });
        dropped += 1;
        return true;
      }
      if (status === 'PAUSED') {
        await deps.campaigns.park(campaignId, recipients);
        outcomes.paused += recipients.length;
        return true;
      }
      const compiledIssue = await loadIssue(campaignId);
      if (!compiledIssue) throw new Error(`rendered issue ${campaignId} not found`);
      const lane: Lane = { campaignId, compiledIssue, priorFinals: 0 };
      // Statuses are read by the lanes as they get their send tokens: one strongly consistent read per
      // `concurrency` recipients, when a lane reaches the first of them, so a status is never older than one round
      // of the lanes. If a read throws, the message fails and is retried like any other infrastructure fault.
      const statusReads = new Map<number, Promise<Map<string, SubscriberStatus>>>();
      const statusOf = (i: number) => async (): Promise<SubscriberStatus | undefined> => {
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
      let stop: Stop | undefined;
      const untried: Recipient[] = [];
      const run = async () => {
        while (next < recipients.length) {
          const i = next++;
          const r = recipients[i]!;
          if (stop || (await campaignStatus(campaignId)) === 'PAUSED') {
            stop ??= 'paused';
            untried.push(r);
            continue;
          }
          const outcome = await sendOne(lane, r, statusOf(i), m.receiveCount > 1);
          outcomes[outcome] += 1;
          if (FINAL_OUTCOMES.has(outcome)) finals += 1;
          if (outcome === 'throttled' || outcome === 'paused' || outcome === 'in-doubt' || outcome === 'unsent' || outcome === 'deferred') {
            stop ??= outcome;
            if (outcome !== 'in-doubt') untried.push(r);
          }
        }
      };
      const lanes = await Promise.allSettled(Array.from({ length: Math.min(lanesPerMessage, recipients.length) }, run));
      ctx.priorFinals = lane.priorFinals;
      ctx.progress = finals;
      if (finals > 0) await noteHandled(campaignId, finals);
      const crashed = lanes.find((l): l is PromiseRejectedResult => l.status === 'rejected');
      if (crashed) throw crashed.reason;

      if (stop === 'paused' || (await campaignStatus(campaignId)) === 'PAUSED') {
        // Paused: the rest stay QUEUED as pairs for `resume`; the message is acknowledged so the DLQ stays empty.
        await deps.campaigns.park(campaignId, untried);
        outcomes.paused += untried.length;
        return true;
      }
      if (!stop) return true;
      if (stop === 'deferred') {
        log.info?.('deadline near: message returned to the queue', { campaignId, messageId: m.messageId, finished: finals, left: untried.length });
      }
      const cause = stop === 'unsent' ? `SES unreachable: ${lane.lastError ?? 'connection failed'}`
        : stop === 'deferred' ? 'the invocation ran out of time (deadline)'
          : `${stop}${lane.lastError ? `: ${lane.lastError}` : ''}`;
      const why = giveUpReason(m, finals, lane.priorFinals, cause, stop !== 'deferred');
      return why ? giveUp(m, batch, why, untried.length) : false;
    }

    await Promise.all(
      messages.map(async (m) => {
        const batch = parseRecipientBatch(m.body);
        let ok: boolean;
        if (!batch) {
          // Retrying a malformed body cannot help; acknowledge it so it does not cycle into the DLQ.
          log.error('malformed queue message dropped', { messageId: m.messageId, bodyLength: m.body.length });
          dropped += 1;
          return;
        }
        const ctx: MessageProgress = { priorFinals: 0, progress: 0 };
        try {
          ok = await processMessage(m, batch, ctx);
        } catch (err) {
          log.error('queue message failed', { campaignId: batch.campaignId, messageId: m.messageId, error: errorReason(err) });
          const why = giveUpReason(m, ctx.progress, ctx.priorFinals, errorReason(err));
          ok = why ? await giveUp(m, batch, why, batch.recipients.length - ctx.progress) : false;
        }
        if (!ok) failedMessageIds.push(m.messageId);
      }),
    );
    return { failedMessageIds, outcomes, dropped };
  };
}
