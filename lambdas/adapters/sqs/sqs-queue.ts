/**
 * Queue on SQS: SendMessageBatch with up to 10 entries. Entries SQS reports in `Failed[]` are returned for the
 * caller to retry (the fan-out retries them with backoff); a whole-call failure throws.
 */
import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { Queue, QueueMessage } from '../../core/ports.ts';

export class SqsQueue implements Queue {
  constructor(
    private readonly client: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async sendBatch(messages: QueueMessage[]): Promise<{ failedIds: string[] }> {
    if (messages.length === 0) return { failedIds: [] };
    const out = await this.client.send(
      new SendMessageBatchCommand({
        QueueUrl: this.queueUrl,
        Entries: messages.map((m) => ({ Id: m.id, MessageBody: m.body })),
      }),
    );
    return { failedIds: (out.Failed ?? []).map((f) => f.Id).filter((id): id is string => typeof id === 'string') };
  }
}
