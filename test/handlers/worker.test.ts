/** The worker Lambda handler with SQS fixture events (in-memory ports): batchItemFailures per message. */
import type { SQSEvent } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { createWorkerHandler } from '../../lambdas/handlers/worker.ts';
import { log, metricCounts } from '../../lambdas/runtime/observability.ts';
import { captureOutput, logEntries, metricDocuments } from '../runtime/capture-output.ts';
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

describe('worker handler: logs, metrics, remaining time', () => {
  it('logs a dropped malformed message and publishes the invocation outcomes as one EMF line (Powertools, as deployed)', async () => {
    const w = await setup();
    const handler = createWorkerHandler({ ...w.workerDeps, log }, metricCounts());
    const { result: res, entries } = await captureOutput(() =>
      handler(sqsEvent([{ id: 'bad', body: '{not json' }, { id: 'm1', body: body(['a@x.com', 'b@x.com']) }])),
    );
    expect(res).toEqual({ batchItemFailures: [] });
    const logs = logEntries(entries);
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatchObject({ level: 'ERROR', message: 'malformed queue message dropped', service: 'newsletter', messageId: 'bad' });
    expect(typeof logs[0]!.timestamp).toBe('string');
    // Only the shape of the body is logged, never its addresses.
    expect(JSON.stringify(logs)).not.toContain('@x.com');
    const metrics = metricDocuments(entries);
    expect(metrics).toHaveLength(1);
    expect(metrics[0]).toMatchObject({
      _aws: { CloudWatchMetrics: [{ Namespace: 'Newsletter', Dimensions: [['service']], Metrics: [{ Name: 'Sent', Unit: 'Count' }, { Name: 'Dropped', Unit: 'Count' }] }] },
      service: 'newsletter',
      Sent: 2,
      Dropped: 1,
    });
    expect(typeof (metrics[0]!._aws as { Timestamp: unknown }).Timestamp).toBe('number');
  });

  it('a paused campaign: the WARN entry carries its campaign id, and Paused is published', async () => {
    const w = await setup();
    w.mailer.fault = () => sesError('AccountSendingPausedException', 400);
    const handler = createWorkerHandler({ ...w.workerDeps, log }, metricCounts());
    const { entries } = await captureOutput(() => handler(sqsEvent([{ id: 'm1', body: body(['a@x.com']) }])));
    const paused = logEntries(entries).find((e) => e.message === 'campaign paused');
    expect(paused).toMatchObject({ level: 'WARN', service: 'newsletter', campaignId: ISSUE.slug });
    const [metrics] = metricDocuments(entries);
    expect(metrics!.Paused).toBeGreaterThan(0);
    expect(metrics!.Sent).toBeUndefined();
  });

  it('an invocation with nothing to count writes no metrics line', async () => {
    const w = await setup();
    const handler = createWorkerHandler({ ...w.workerDeps, log }, metricCounts());
    const { entries } = await captureOutput(() => handler({ Records: [] }));
    expect(entries).toEqual([]);
  });

  it('passes the invocation\'s remaining time: with none left it claims nobody and returns the message', async () => {
    const w = await setup();
    const handler = createWorkerHandler({ ...w.workerDeps, deadlineMarginMs: 1000 });
    const res = await handler(sqsEvent([{ id: 'm1', body: body(['a@x.com']) }]), { getRemainingTimeInMillis: () => 500 });
    expect(res).toEqual({ batchItemFailures: [{ itemIdentifier: 'm1' }] });
    expect(w.campaigns.pairStatus(ISSUE.slug, 'a@x.com')).toBeUndefined();
    expect(w.mailer.sent).toHaveLength(0);
  });

  it('the Powertools-backed logger writes one JSON entry with the detail keys', async () => {
    const { entries } = await captureOutput(() => log.warn('campaign paused', { campaignId: 'issue-1', reason: 'SES unreachable' }));
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ level: 'WARN', message: 'campaign paused', service: 'newsletter', campaignId: 'issue-1', reason: 'SES unreachable' });
  });
});
