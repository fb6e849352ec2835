/**
 * How many recipients one queue message holds, derived from the rate the workers will actually be paced at.
 *
 * A worker invocation receives up to `messagesPerInvocation` messages (the SQS event source's batch size) and
 * sends them at its share of the paced rate: `sendRate / workerConcurrency` emails per second. Everything it
 * receives must be sendable well within the worker timeout, or the invocation is cut off mid-message and the
 * pairs it had claimed become UNKNOWN. So a message holds at most
 *
 *     floor(sendRate / workerConcurrency × workerTimeoutSeconds × timeoutShare / messagesPerInvocation)
 *
 * recipients, between 1 and {@link RECIPIENTS_PER_MESSAGE} (50). `timeoutShare` (default 0.5) leaves the other half
 * of the timeout for throttling backoff, slow SES answers and the bookkeeping writes. At 14/s × 0.8 with 2 workers
 * and batches of 10, that is 50; at 1/s × 0.8 it is 6 (10 messages of 6 take 150 s at 0.4/s per worker).
 *
 * Pure: the fan-out reads the current rate (GetAccount, or MAX_SEND_RATE) once per run and passes it in.
 */
import { RECIPIENTS_PER_MESSAGE } from './compose.ts';

export interface MessageSizing {
  /** SQS maximum concurrency of the worker function: each worker paces at 1/this of the rate (default 1). */
  workerConcurrency?: number;
  /** The worker function's timeout in seconds (default 300, as deployed). */
  workerTimeoutSeconds?: number;
  /** Messages per worker invocation, the SQS event source batch size (default 10, the most the stack uses). */
  messagesPerInvocation?: number;
  /** Share of the timeout a batch may take at the paced rate (default 0.5). */
  timeoutShare?: number;
}

export const DEFAULT_MESSAGE_SIZING: Required<MessageSizing> = {
  workerConcurrency: 1,
  workerTimeoutSeconds: 300,
  messagesPerInvocation: 10,
  timeoutShare: 0.5,
};

/** The rate assumed when the account's rate cannot be read: SES's sandbox rate, so messages err on the small side. */
export const FALLBACK_SEND_RATE = 1;

/** A positive finite number, else the default (a bad setting must not make messages empty or unbounded). */
function positive(value: number | undefined, fallback: number): number {
  return value !== undefined && Number.isFinite(value) && value > 0 ? value : fallback;
}

/**
 * Recipients per queue message for the overall paced rate `sendRate` (emails/s, already `fraction × MaxSendRate`).
 * Always an integer in [1, 50].
 */
export function recipientsPerMessage(input: { sendRate: number } & MessageSizing): number {
  const d = DEFAULT_MESSAGE_SIZING;
  const rate = positive(input.sendRate, FALLBACK_SEND_RATE);
  const perWorker = rate / Math.max(1, Math.floor(positive(input.workerConcurrency, d.workerConcurrency)));
  const budgetSeconds = positive(input.workerTimeoutSeconds, d.workerTimeoutSeconds) * Math.min(1, positive(input.timeoutShare, d.timeoutShare));
  const perInvocation = Math.max(1, Math.floor(positive(input.messagesPerInvocation, d.messagesPerInvocation)));
  const fits = Math.floor((perWorker * budgetSeconds) / perInvocation);
  return Math.min(RECIPIENTS_PER_MESSAGE, Math.max(1, fits));
}
