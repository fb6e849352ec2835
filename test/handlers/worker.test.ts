/** The worker Lambda handler with SQS fixture events (in-memory ports): batchItemFailures per message. */
import type { SQSEvent } from 'aws-lambda';
import { describe, expect, it, vi } from 'vitest';
import { createWorkerHandler } from '../../lambdas/handlers/worker.ts';
import { compactLog, emfCounts, log } from '../../lambdas/runtime/observability.ts';
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
  it('logs a dropped malformed message and publishes the invocation outcomes as one EMF line', async () => {
    const w = await setup();
    const lines: string[] = [];
    const handler = createWorkerHandler({ ...w.workerDeps, log: compactLog((l) => lines.push(l), {}) }, emfCounts((l) => lines.push(l), 'newsletter', () => 42));
    const res = await handler(sqsEvent([{ id: 'bad', body: '{not json' }, { id: 'm1', body: body(['a@x.com', 'b@x.com']) }]));
    expect(res).toEqual({ batchItemFailures: [] });
    const entries = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(entries[0]).toMatchObject({ level: 'ERROR', message: 'malformed queue message dropped', service: 'newsletter', messageId: 'bad' });
    expect(entries[1]).toEqual({
      _aws: { Timestamp: 42, CloudWatchMetrics: [{ Namespace: 'Newsletter', Dimensions: [['service']], Metrics: [{ Name: 'Sent', Unit: 'Count' }, { Name: 'Dropped', Unit: 'Count' }] }] },
      service: 'newsletter',
      Sent: 2,
      Dropped: 1,
    });
    expect(lines).toHaveLength(2);
  });

  it('passes the invocation\'s remaining time: with none left it claims nobody and returns the message', async () => {
    const w = await setup();
    const handler = createWorkerHandler({ ...w.workerDeps, deadlineMarginMs: 1000 });
    const res = await handler(sqsEvent([{ id: 'm1', body: body(['a@x.com']) }]), { getRemainingTimeInMillis: () => 500 });
    expect(res).toEqual({ batchItemFailures: [{ itemIdentifier: 'm1' }] });
    expect(w.campaigns.pairStatus(ISSUE.slug, 'a@x.com')).toBeUndefined();
    expect(w.mailer.sent).toHaveLength(0);
  });

  it('the Powertools-backed logger writes one JSON entry with the detail keys; compactLog honours the log level', () => {
    const written: string[] = [];
    const capture = (chunk: string | Uint8Array) => (written.push(String(chunk)), true);
    // Powertools writes warnings and errors to stderr, the rest to stdout (both end up in CloudWatch Logs).
    const spies = [vi.spyOn(process.stdout, 'write').mockImplementation(capture), vi.spyOn(process.stderr, 'write').mockImplementation(capture)];
    try {
      log.warn('campaign paused', { campaignId: 'issue-1', reason: 'SES unreachable' });
    } finally {
      for (const spy of spies) spy.mockRestore();
    }
    const entry = JSON.parse(written.join('').trim().split('\n').pop()!) as Record<string, unknown>;
    expect(entry).toMatchObject({ level: 'WARN', message: 'campaign paused', campaignId: 'issue-1', reason: 'SES unreachable' });
    const quiet: string[] = [];
    const l = compactLog((x) => quiet.push(x), { POWERTOOLS_LOG_LEVEL: 'ERROR', POWERTOOLS_SERVICE_NAME: 'svc' });
    l.warn('not shown');
    l.error('shown', { campaignId: 'c' });
    expect(quiet.map((x) => JSON.parse(x))).toMatchObject([{ level: 'ERROR', message: 'shown', service: 'svc', campaignId: 'c' }]);
  });
});
