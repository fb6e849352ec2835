/** The in-process queue's SQS semantics, with a scripted consumer (no AWS). */
import type { SQSEvent } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { LocalQueue } from '../../../lambdas/local/queue/local-queue.ts';

const msgs = (n: number, from = 0) => Array.from({ length: n }, (_, i) => ({ id: String(i), body: `b${from + i}` }));

describe('LocalQueue', () => {
  it('delivers SQS-shaped batches of at most batchSize and empties on success', async () => {
    const q = new LocalQueue({ batchSize: 10, concurrency: 1 });
    const batches: SQSEvent[] = [];
    q.consume(async (e) => {
      batches.push(e);
      return { batchItemFailures: [] };
    });
    await q.sendBatch(msgs(10));
    await q.sendBatch(msgs(10, 10));
    await q.sendBatch(msgs(5, 20));
    await q.drain();
    expect(batches.every((b) => b.Records.length <= 10)).toBe(true);
    const bodies = batches.flatMap((b) => b.Records.map((r) => r.body));
    expect(bodies.sort()).toEqual(Array.from({ length: 25 }, (_, i) => `b${i}`).sort());
    const r = batches[0]!.Records[0]!;
    expect(r.eventSource).toBe('aws:sqs');
    expect(r.attributes.ApproximateReceiveCount).toBe('1');
    expect(q.depth).toBe(0);
    await q.stop();
  });

  it('redelivers only the partial failures, then moves them to the DLQ after maxReceiveCount', async () => {
    const q = new LocalQueue({ visibilityTimeoutMs: 5, maxReceiveCount: 3 });
    const receives = new Map<string, number>();
    q.consume(async (e) => {
      for (const r of e.Records) receives.set(r.body, Number(r.attributes.ApproximateReceiveCount));
      return { batchItemFailures: e.Records.filter((r) => r.body === 'b1').map((r) => ({ itemIdentifier: r.messageId })) };
    });
    await q.sendBatch(msgs(3));
    await q.drain();
    expect(receives.get('b0')).toBe(1);
    expect(receives.get('b1')).toBe(3);
    expect(q.deadLetters.map((d) => d.body)).toEqual(['b1']);
    await q.stop();
  });

  it('a throwing handler fails the whole batch; more than 10 entries per SendMessageBatch is refused', async () => {
    const q = new LocalQueue({ visibilityTimeoutMs: 5, maxReceiveCount: 2 });
    let calls = 0;
    q.consume(async () => {
      calls++;
      throw new Error('boom');
    });
    await q.sendBatch(msgs(2));
    await q.drain();
    expect(q.deadLetters).toHaveLength(2);
    expect(calls).toBeGreaterThanOrEqual(2);
    await expect(q.sendBatch(msgs(11))).rejects.toThrow();
    await q.stop();
  });

  it('runs up to `concurrency` batches at once, never more', async () => {
    const q = new LocalQueue({ batchSize: 1, concurrency: 3 });
    let running = 0;
    let peak = 0;
    q.consume(async () => {
      peak = Math.max(peak, ++running);
      await new Promise((r) => setTimeout(r, 5));
      running--;
      return { batchItemFailures: [] };
    });
    await q.sendBatch(msgs(10));
    await q.drain();
    expect(peak).toBe(3);
    await q.stop();
  });
});
