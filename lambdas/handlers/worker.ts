/**
 * The worker Lambda (SQS event source with ReportBatchItemFailures): each record is one message of recipients;
 * only the messages that must be retried come back as batchItemFailures. The invocation's remaining time
 * (`context.getRemainingTimeInMillis()`) bounds the sending (see the deadline in core/sending/worker.ts), and each
 * invocation's outcomes are published as metric counts.
 */
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { createRecipientWorker, type RecipientOutcome, type WorkerDeps, type WorkerInvocation } from '../core/sending/worker.ts';
import type { CountName, Counts } from '../runtime/observability.ts';

/** The part of Lambda's context the worker reads (the local queue passes the same). */
export interface WorkerContext {
  getRemainingTimeInMillis(): number;
}

/** Which recipient outcomes are published, under which metric name. */
const OUTCOME_METRICS: ReadonlyArray<[RecipientOutcome, CountName]> = [
  ['sent', 'Sent'], ['failed', 'Failed'], ['unknown', 'Unknown'], ['paused', 'Paused'],
  ['throttled', 'Throttled'], ['unsent', 'Unreachable'], ['deferred', 'Deferred'],
];

export function createWorkerHandler(
  deps: WorkerDeps,
  counts?: Counts,
): (event: SQSEvent, context?: WorkerContext) => Promise<SQSBatchResponse> {
  const work = createRecipientWorker(deps);
  return async (event, context) => {
    const records = Array.isArray(event?.Records) ? event.Records : [];
    const invocation: WorkerInvocation | undefined =
      typeof context?.getRemainingTimeInMillis === 'function' ? { remainingMs: () => context.getRemainingTimeInMillis() } : undefined;
    try {
      const { failedMessageIds, outcomes, dropped } = await work(
        records.map((r) => ({
          messageId: r.messageId,
          body: typeof r.body === 'string' ? r.body : '',
          receiveCount: Number(r.attributes?.ApproximateReceiveCount ?? 1) || 1,
        })),
        invocation,
      );
      for (const [outcome, name] of OUTCOME_METRICS) counts?.add(name, outcomes[outcome]);
      counts?.add('Dropped', dropped);
      return { batchItemFailures: failedMessageIds.map((itemIdentifier) => ({ itemIdentifier })) };
    } finally {
      counts?.flush();
    }
  };
}
