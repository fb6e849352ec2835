/**
 * Ports: the capabilities the core needs from the outside world. Adapters (lambdas/adapters/*) implement them;
 * runtime wiring (lambdas/runtime/*) builds one set per runtime. Tests swap in in-memory versions.
 * Nothing here imports AWS.
 */
import type {
  CampaignAccounting,
  CampaignStatus,
  Consent,
  DeliveryStatus,
  OutboundEmail,
  Subscriber,
  SubscriberStatus,
} from './model.ts';

/** Injected clock, so expiry and rate limits are testable. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** Outcome of a conditional write on a subscriber. Outcomes are values; faults are thrown errors. */
export type SubscriberWriteOutcome =
  | { kind: 'changed'; subscriber: Subscriber }
  | { kind: 'unchanged'; subscriber?: Subscriber }
  | { kind: 'not-found' };

/** One page of confirmed subscribers, read from the sparse GSI. */
export interface SubscriberPage {
  /** `attributes` (custom import columns) only when the subscriber has some. */
  items: Array<Pick<Subscriber, 'email' | 'name' | 'attributes'>>;
  /** Opaque cursor to resume after this page; absent on the last page. */
  cursor?: string;
}

/**
 * Subscribers, keyed by identity: the normalized address compared case-insensitively (`identityKey` in
 * core/subscribers/email.ts), so case variants of an address are one subscriber. Every state change is a single conditional write: no read-modify-write.
 * Reads ignore `pending` records whose `expiresAt` has passed (TTL deletion lags by up to two days).
 */
export interface SubscriberRepository {
  get(email: string): Promise<Subscriber | undefined>;
  /** Strongly consistent status read of one subscriber (the send worker reads many with {@link getStatuses}). */
  getStatus(email: string): Promise<SubscriberStatus | undefined>;
  /**
   * Strongly consistent status read of many subscribers at once (the send worker reads one queue message's
   * recipients with it). Absent subscribers (and expired pending ones) are simply not in the map; duplicates in
   * `emails` are read once. Throws if some statuses could not be read: never a partial map.
   */
  getStatuses(emails: string[]): Promise<Map<string, SubscriberStatus>>;
  /**
   * Create a pending record, or refresh an existing pending/unsubscribed one (never downgrades `confirmed`,
   * `bounced` or `complained`). `mayResend` is true only when the conditional write also moved
   * `confirmationSentAt` forward (at most one confirmation email per address per `resendAfterSeconds`).
   */
  upsertPending(input: {
    email: string;
    name?: string;
    source: string;
    now: Date;
    ttlSeconds: number;
    resendAfterSeconds: number;
  }): Promise<{ outcome: 'created' | 'refreshed' | 'ignored'; mayResend: boolean }>;
  /**
   * Give back the resend slot that `upsertPending` took at `sentAt`, because the confirmation email could not be
   * sent: the reader's retry may send at once instead of waiting out the window. Conditional on the slot still
   * being the one taken at `sentAt`, so it never undoes a later request's slot. No-op otherwise.
   */
  releaseConfirmation(email: string, sentAt: Date): Promise<void>;
  /**
   * Take the confirmation-email slot of an imported pending subscriber that has never been sent one (a live
   * pending record without `confirmationSentAt`): true when this call took it, so of concurrent or repeated
   * imports exactly one sends. Give it back with `releaseConfirmation` when the email could not be sent.
   */
  claimConfirmation(email: string, now: Date): Promise<boolean>;
  /** pending → confirmed. Idempotent: a confirmed subscriber gives `unchanged`. */
  confirm(email: string, now: Date): Promise<SubscriberWriteOutcome>;
  /** pending|confirmed → unsubscribed. Idempotent. */
  unsubscribe(email: string, now: Date): Promise<SubscriberWriteOutcome>;
  /** Any status → bounced / complained (suppression). Idempotent. */
  suppress(email: string, reason: 'bounced' | 'complained', now: Date): Promise<SubscriberWriteOutcome>;
  /** Operator import: creates the subscriber when absent; never changes an existing one. */
  importSubscriber(input: {
    email: string;
    name?: string;
    attributes?: Record<string, string>;
    status: 'pending' | 'confirmed';
    consent: Consent;
    now: Date;
  }): Promise<'created' | 'exists'>;
  /** Right to erasure: removes the subscriber record. */
  delete(email: string): Promise<boolean>;
  /** Page through confirmed subscribers (sparse GSI), in a stable order. */
  listConfirmed(cursor: string | undefined, limit: number): Promise<SubscriberPage>;
  countConfirmed(): Promise<number>;
  /** Every subscriber, for export. Streams; never loads the table in memory. */
  scan(): AsyncIterable<Subscriber>;
}

/** Campaign record and its (campaign, subscriber) delivery pairs. */
export interface CampaignRecord {
  campaignId: string;
  slug: string;
  subject: string;
  status: CampaignStatus;
  audience: number;
  createdAt: string;
  updatedAt: string;
  sentAt?: string;
  /** Fan-out cursor: the last GSI page fully enqueued. */
  cursor?: string;
  /** Recipients enqueued so far by the fan-out (pages counted once, when their cursor is saved). */
  enqueued?: number;
  fanoutComplete?: boolean;
  pausedReason?: string;
  /**
   * Final outcomes the workers have recorded so far (a hint, added once per queue message): when it reaches N the
   * worker runs the real completion check. It may over-count (redeliveries) or under-count (a crash between a
   * final write and the add); the check itself reads the pairs, so neither makes a campaign SENT early.
   */
  handled?: number;
  /**
   * Set by the first `resume` that re-walked the confirmed index after the fan-out (the repair). From then on every
   * audience member has a delivery pair, and N is the number of pairs (see `computeAccounting`).
   */
  repairedAt?: string;
  /**
   * Set when a fan-out stopped cleanly at its deadline (`continuing`) and handed over to the next invocation; any
   * cursor save clears it. A resume that finds the fan-out unfinished without it knows the last run died mid-way,
   * possibly with enqueued messages lost (the local in-memory queue), and repairs after finishing the fan-out.
   */
  handoffAt?: string;
}

/** A recipient as a delivery pair keeps it for `resume` (name and custom attributes go into the queue message). */
export interface PendingRecipient {
  email: string;
  name?: string;
  attributes?: Readonly<Record<string, string>>;
}

export interface CampaignRepository {
  get(campaignId: string): Promise<CampaignRecord | undefined>;
  /** Conditional create (DRAFT) then DRAFT→SENDING. `created: false` when the campaign already exists. */
  start(input: { campaignId: string; slug: string; subject: string; audience: number; now: Date }): Promise<{
    created: boolean;
    campaign: CampaignRecord;
  }>;
  /**
   * Save the fan-out cursor after a page is fully enqueued. `enqueued` (default 0) is added to the campaign's
   * count of enqueued recipients in the same write, so a page re-enqueued after a crash is counted once.
   * When `fanoutComplete`, the audience becomes the exact enqueued count. Clears `handoffAt`.
   *
   * With `expected`, the write applies only if the saved cursor is still `expected.cursor` (absent for the first
   * page) and the fan-out is not complete: of two fan-outs racing over the same pages (a resume while the first
   * run is still alive), only one saves each page, so the page is counted once. Returns whether it applied.
   */
  saveCursor(
    campaignId: string,
    cursor: string | undefined,
    fanoutComplete: boolean,
    enqueued?: number,
    expected?: { cursor: string | undefined },
  ): Promise<boolean>;
  /** Record a clean stop at `cursor` (see `handoffAt`); a no-op if another fan-out has moved the cursor since. */
  markHandoff(campaignId: string, cursor: string | undefined, now: Date): Promise<void>;
  setStatus(campaignId: string, from: CampaignStatus[], to: CampaignStatus, reason?: string): Promise<boolean>;
  /** Atomically add `n` to the campaign's `handled` count; returns the campaign after the add (undefined if absent). */
  addHandled(campaignId: string, n: number): Promise<CampaignRecord | undefined>;
  /** Mark the campaign repaired (sets `repairedAt` once; later calls keep the first time). */
  markRepaired(campaignId: string, now: Date): Promise<void>;
  list(): Promise<CampaignRecord[]>;
  /** Claim the pair: absent|QUEUED → SENDING. Returns the status found when the claim fails. */
  claim(campaignId: string, email: string, now: Date): Promise<{ claimed: true } | { claimed: false; status: DeliveryStatus }>;
  /**
   * Give a claim back: SENDING or UNKNOWN → QUEUED, called only by the lane holding the claim when SES certainly did
   * not take the email (throttled, unreachable, campaign paused). UNKNOWN too: a concurrent duplicate of the message
   * may have found the pair SENDING while this lane's SendEmail was in flight and recorded it UNKNOWN; since a pair
   * is claimed only from absent or QUEUED, that UNKNOWN can only stand for this lane's claim. No-op otherwise.
   */
  release(campaignId: string, email: string): Promise<void>;
  /**
   * Park recipients that were not attempted (campaign paused, message about to be dead-lettered): creates QUEUED
   * pairs where none exist, so `resume` finds them. Never touches an existing pair.
   */
  park(campaignId: string, recipients: PendingRecipient[]): Promise<void>;
  /** Pairs that are not final (QUEUED or SENDING), paged, for `resume`. */
  listPending(
    campaignId: string,
    cursor: string | undefined,
    limit: number,
  ): Promise<{ items: PendingRecipient[]; cursor?: string }>;
  /**
   * The pair's current status (undefined when absent), read with eventual consistency: half the cost of a strong
   * read, for a caller that only decides whether a guarded write is worth making (a stale answer costs one write
   * that the guard refuses, never a wrong state).
   */
  deliveryStatus(campaignId: string, email: string): Promise<DeliveryStatus | undefined>;
  /**
   * Record a final state for the pair (SENT / SKIPPED / FAILED / UNKNOWN), guarded by `allowedFrom`: a write whose
   * guard fails is a no-op. Returns whether the write applied.
   */
  recordDelivery(
    campaignId: string,
    email: string,
    status: DeliveryStatus,
    detail?: { messageId?: string; error?: string },
  ): Promise<boolean>;
  /**
   * Idempotent event counter (bounce / transient bounce / complaint / delivery): counted once per
   * (campaign, type, email, eventId). Returns false for a duplicate.
   */
  recordEvent(
    campaignId: string,
    type: 'bounced' | 'complained' | 'delivered' | 'softBounced',
    email: string,
    eventId: string,
  ): Promise<boolean>;
  /** `consistent`: read with strong consistency (the completion check, right after the caller's own writes). */
  accounting(campaignId: string, options?: { consistent?: boolean }): Promise<CampaignAccounting | undefined>;
  /**
   * Right to erasure: in every campaign, replace this address's delivery and event records with anonymous ones
   * that count the same (pairs not yet final become SKIPPED / UNKNOWN, see `erasedStatus`), so the accounting
   * still adds up and no record holds the address. Idempotent. Returns how many records were erased.
   */
  deleteSubscriberRecords(email: string): Promise<number>;
}

/** The email transport (SES v2). Throws errors whose `name` is the SES exception name. */
export interface Mailer {
  send(email: OutboundEmail): Promise<{ messageId: string }>;
  /** The account's current MaxSendRate (emails per second) and quota. */
  getSendQuota(): Promise<{ maxSendRate: number; max24HourSend: number; sentLast24Hours: number }>;
}

/** A queue of recipient batches (SQS on AWS, in-process locally). */
export interface QueueMessage {
  id: string;
  body: string;
  /** How many recipients the body carries (the send function's `Enqueued` metric); not sent to the queue. */
  recipients?: number;
}
export interface Queue {
  /** Up to 10 messages. Returns the ids that failed (SQS `Failed[]`), which the caller retries. */
  sendBatch(messages: QueueMessage[]): Promise<{ failedIds: string[] }>;
}

/** A rendered issue as stored once per campaign (in the table: lambdas/adapters/dynamodb/dynamodb-issue-store.ts). */
export interface StoredIssue {
  slug: string;
  subject: string;
  preheader: string;
  title: string;
  /** ISO date of the issue, when known. */
  date?: string;
  lang: string;
  /** Compiled HTML with per-recipient placeholders left for the personalization pass. */
  html: string;
  text: string;
}
export interface IssueStore {
  put(issue: StoredIssue): Promise<void>;
  get(slug: string): Promise<StoredIssue | undefined>;
}

/** HMAC keys for tokens. `current` signs; every key in `keys` verifies (rotation). */
export interface TokenKeys {
  current: string;
  keys: Record<string, string>;
}
