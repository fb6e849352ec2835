/**
 * A Queue that only records what was enqueued (core tests), optionally failing some entries as SQS `Failed[]`.
 */
import type { Queue, QueueMessage } from '../../core/ports.ts';

export class MemoryQueue implements Queue {
  readonly messages: QueueMessage[] = [];
  /** Return true to report an entry as failed (simulates SendMessageBatch's partial failures). */
  failWhen: (m: QueueMessage) => boolean = () => false;
  calls = 0;

  async sendBatch(messages: QueueMessage[]): Promise<{ failedIds: string[] }> {
    this.calls++;
    if (messages.length > 10) throw new Error('SendMessageBatch accepts at most 10 entries');
    const failedIds: string[] = [];
    for (const m of messages) {
      if (this.failWhen(m)) failedIds.push(m.id);
      else this.messages.push({ ...m });
    }
    return { failedIds };
  }
}
