/**
 * An in-process queue with SQS semantics, driving the worker handler locally exactly as SQS + Lambda would:
 * batches of up to `batchSize` delivered as SQS-shaped events (Records with messageId, body,
 * attributes.ApproximateReceiveCount), partial batch failures (`batchItemFailures`) redelivered after the
 * visibility timeout, a DLQ after `maxReceiveCount` receives, and `concurrency` batches in flight at once. Each
 * invocation gets a Lambda-like context whose `getRemainingTimeInMillis()` counts down from `timeoutMs`; like
 * Lambda, a handler still running at its timeout fails the whole batch (the handler itself is not stopped: it
 * is expected to watch its remaining time).
 */
import { randomUUID } from 'node:crypto';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import type { Queue, QueueMessage } from '../../core/ports.ts';

export interface LocalQueueOptions {
  /** Messages per worker invocation (SQS event source batch size, max 10). Default 10. */
  batchSize?: number;
  /** Batches processed at once (Lambda maximum concurrency). Default 2. */
  concurrency?: number;
  /** A failed message becomes visible again after this long. Default 1000 ms. */
  visibilityTimeoutMs?: number;
  /** Receives before a message moves to the DLQ. Default 5. */
  maxReceiveCount?: number;
  /** Shown in the records' eventSourceARN. */
  name?: string;
  /** The consumer's timeout (Lambda's function timeout), for the context's remaining time. Default 300 s. */
  timeoutMs?: number;
}

/** The part of Lambda's context the local queue provides. */
export interface LocalInvokeContext {
  getRemainingTimeInMillis(): number;
}

export type SqsBatchHandler = (event: SQSEvent, context: LocalInvokeContext) => Promise<SQSBatchResponse | void>;

interface Stored {
  messageId: string;
  body: string;
  receiveCount: number;
  sentAt: number;
  visibleAt: number;
}

export class LocalQueue implements Queue {
  private readonly ready = new Map<string, Stored>();
  private readonly inFlight = new Map<string, Stored>();
  /** Invocations that returned after their `timeoutMs` (Lambda would have killed them; their batch failed). */
  timedOut = 0;
  /** Messages that exceeded maxReceiveCount. */
  readonly deadLetters: Array<{ messageId: string; body: string; receiveCount: number }> = [];
  private handler: SqsBatchHandler | undefined;
  private running = 0;
  private timer: NodeJS.Timeout | undefined;
  private idleWaiters: Array<() => void> = [];
  private stopped = false;
  private readonly opts: Required<LocalQueueOptions>;

  constructor(opts: LocalQueueOptions = {}) {
    this.opts = {
      batchSize: Math.min(10, Math.max(1, opts.batchSize ?? 10)),
      concurrency: Math.max(1, opts.concurrency ?? 2),
      visibilityTimeoutMs: opts.visibilityTimeoutMs ?? 1000,
      maxReceiveCount: opts.maxReceiveCount ?? 5,
      name: opts.name ?? 'send-queue',
      timeoutMs: opts.timeoutMs ?? 300_000,
    };
  }

  /** SendMessageBatch: at most 10 entries; never reports failures (an in-process queue cannot lose one). */
  async sendBatch(messages: QueueMessage[]): Promise<{ failedIds: string[] }> {
    if (messages.length > 10) throw new Error('SendMessageBatch accepts at most 10 entries');
    const now = Date.now();
    for (const m of messages) {
      const messageId = randomUUID();
      this.ready.set(messageId, { messageId, body: m.body, receiveCount: 0, sentAt: now, visibleAt: now });
    }
    this.pump();
    return { failedIds: [] };
  }

  /** Attach the consumer (the worker handler) and start delivering. */
  consume(handler: SqsBatchHandler): void {
    this.handler = handler;
    this.stopped = false;
    this.pump();
  }

  /** Messages waiting or in flight (not counting the DLQ). */
  get depth(): number {
    return this.ready.size + this.inFlight.size;
  }

  /** Resolves when no message is waiting or in flight (dead letters excepted). */
  drain(): Promise<void> {
    if (this.depth === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Stop delivering; messages stay queued. Waits for the batches in flight. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    while (this.running > 0) await new Promise((r) => setTimeout(r, 5));
  }

  /** Drop everything, including dead letters (tests). */
  purge(): void {
    this.ready.clear();
    this.deadLetters.length = 0;
    this.notifyIdle();
  }

  private notifyIdle(): void {
    if (this.depth !== 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  private takeBatch(now: number): Stored[] {
    const batch: Stored[] = [];
    for (const m of this.ready.values()) {
      if (m.visibleAt > now) continue;
      batch.push(m);
      if (batch.length >= this.opts.batchSize) break;
    }
    for (const m of batch) {
      this.ready.delete(m.messageId);
      m.receiveCount += 1;
      this.inFlight.set(m.messageId, m);
    }
    return batch;
  }

  private pump(): void {
    if (!this.handler || this.stopped) return;
    const now = Date.now();
    while (this.running < this.opts.concurrency) {
      const batch = this.takeBatch(now);
      if (batch.length === 0) break;
      this.running++;
      void this.deliver(batch).finally(() => {
        this.running--;
        this.pump();
        this.notifyIdle();
      });
    }
    this.scheduleNextVisible(now);
  }

  /** Wake up when the earliest invisible message becomes visible again. */
  private scheduleNextVisible(now: number): void {
    if (this.timer || this.ready.size === 0 || this.running >= this.opts.concurrency) return;
    let next = Number.POSITIVE_INFINITY;
    for (const m of this.ready.values()) next = Math.min(next, m.visibleAt);
    if (!Number.isFinite(next)) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.pump();
    }, Math.max(1, next - now));
  }

  private toRecord(m: Stored): SQSRecord {
    return {
      messageId: m.messageId,
      receiptHandle: `${m.messageId}#${m.receiveCount}`,
      body: m.body,
      attributes: {
        ApproximateReceiveCount: String(m.receiveCount),
        SentTimestamp: String(m.sentAt),
        SenderId: 'local',
        ApproximateFirstReceiveTimestamp: String(Date.now()),
      },
      messageAttributes: {},
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: `arn:aws:sqs:local:000000000000:${this.opts.name}`,
      awsRegion: 'local',
    };
  }

  private async deliver(batch: Stored[]): Promise<void> {
    let failed: Set<string>;
    const deadline = Date.now() + this.opts.timeoutMs;
    const context: LocalInvokeContext = { getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()) };
    try {
      const res = await this.handler!({ Records: batch.map((m) => this.toRecord(m)) }, context);
      // Past its timeout Lambda would have stopped the handler and failed the batch, whatever it returned.
      if (Date.now() > deadline) this.timedOut += 1;
      failed = Date.now() > deadline
        ? new Set(batch.map((m) => m.messageId))
        : new Set((res?.batchItemFailures ?? []).map((f) => f.itemIdentifier));
    } catch {
      // A thrown handler fails the whole batch, as with Lambda.
      failed = new Set(batch.map((m) => m.messageId));
    }
    const now = Date.now();
    for (const m of batch) {
      this.inFlight.delete(m.messageId);
      if (!failed.has(m.messageId)) continue;
      if (m.receiveCount >= this.opts.maxReceiveCount) {
        this.deadLetters.push({ messageId: m.messageId, body: m.body, receiveCount: m.receiveCount });
      } else {
        m.visibleAt = now + this.opts.visibilityTimeoutMs;
        this.ready.set(m.messageId, m);
      }
    }
  }
}
