/** The worker Lambda handler with SQS fixture events (in-memory ports): batchItemFailures per message. */
import type { SQSEvent } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { createWorkerHandler } from '../../lambdas/handlers/worker.ts';
import { LocalQueue } from '../../lambdas/local/queue/local-queue.ts';
import { ISSUE, sesError, world } from '../core/sending/fakes.ts';

const sqsEvent = (records: Array<{ id: string; body: string; receives?: number }>): SQSEvent => ({
  Records: records.map((r) => ({
    messageId: r.id,
    receiptHandle: `rh-${r.id}`,
    body: r.body,
    attributes: { ApproximateReceiveCount: String(r.receives ?? 1), SentTimestamp: '0', SenderId: 'x', ApproximateFirstReceiveTimestamp: '0' },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:send',
    awsRegion: 'us-east-1',
  })),
});
const body = (emails: string[]) => JSON.stringify({ campaignId: ISSUE.slug, recipients: emails.map((email) => ({ email })) });

async function setup() {
  const w = world();
  await w.seed([['a@x.com', 'confirmed'], ['b@x.com', 'confirmed'], ['c@x.com', 'confirmed']]);
  await w.issues.put(ISSUE);
  await w.campaigns.start({ campaignId: ISSUE.slug, slug: ISSUE.slug, subject: ISSUE.subject, audience: 3, now: w.now });
  return w;
}

describe('worker handler (SQS event source with ReportBatchItemFailures)', () => {
  it('(fake mailer: throttling) returns only the throttled message as a batch item failure', async () => {
    const w = await setup();
    w.mailer.fault = (e) => (e.to === 'b@x.com' ? sesError('ThrottlingException', 400) : undefined);
    const handler = createWorkerHandler(w.workerDeps);
    const res = await handler(sqsEvent([{ id: 'm1', body: body(['a@x.com']) }, { id: 'm2', body: body(['b@x.com']) }, { id: 'm3', body: '{bad' }]));
    expect(res).toEqual({ batchItemFailures: [{ itemIdentifier: 'm2' }] });
  });

  it('an empty or odd event is answered with no failures', async () => {
    const w = await setup();
    const handler = createWorkerHandler(w.workerDeps);
    expect(await handler({ Records: [] })).toEqual({ batchItemFailures: [] });
    expect(await handler({} as SQSEvent)).toEqual({ batchItemFailures: [] });
  });

  it('(fake mailer: throttling) driven by the local queue: redelivers failed messages after the visibility timeout until they succeed', async () => {
    const w = await setup();
    let throttles = 2;
    w.mailer.fault = () => (throttles-- > 0 ? sesError('TooManyRequestsException', 429) : undefined);
    const queue = new LocalQueue({ visibilityTimeoutMs: 5, maxReceiveCount: 5 });
    const seen: number[] = [];
    const handler = createWorkerHandler({ ...w.workerDeps, concurrency: 1 });
    queue.consume(async (event) => {
      for (const r of event.Records) seen.push(Number(r.attributes.ApproximateReceiveCount));
      return handler(event);
    });
    await queue.sendBatch([{ id: '0', body: body(['a@x.com', 'b@x.com', 'c@x.com']) }]);
    await queue.drain();
    expect(seen).toEqual([1, 2, 3]);
    expect(w.mailer.sent.map((e) => e.to).sort()).toEqual(['a@x.com', 'b@x.com', 'c@x.com']);
    expect(queue.deadLetters).toHaveLength(0);
    await queue.stop();
  });
});
