/**
 * The worker Lambda (SQS event source with ReportBatchItemFailures): each record is one message of up to 50
 * recipients; only the messages that must be retried come back as batchItemFailures.
 */
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { createRecipientWorker, type WorkerDeps } from '../core/sending/worker.ts';

export function createWorkerHandler(deps: WorkerDeps): (event: SQSEvent) => Promise<SQSBatchResponse> {
  const work = createRecipientWorker(deps);
  return async (event) => {
    const records = Array.isArray(event?.Records) ? event.Records : [];
    const { failedMessageIds } = await work(
      records.map((r) => ({
        messageId: r.messageId,
        body: typeof r.body === 'string' ? r.body : '',
        receiveCount: Number(r.attributes?.ApproximateReceiveCount ?? 1) || 1,
      })),
    );
    return { batchItemFailures: failedMessageIds.map((itemIdentifier) => ({ itemIdentifier })) };
  };
}
