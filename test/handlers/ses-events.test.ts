/**
 * The SES events handler with fixture events as the EventBridge rule delivers them (one per invocation), on
 * in-memory repositories; SNS-wrapped input is still accepted.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { MemoryCampaignRepository } from '../../lambdas/adapters/memory/memory-campaign-repository.ts';
import { MemorySubscriberRepository } from '../../lambdas/adapters/memory/memory-subscriber-repository.ts';
import { createSesEventsHandler } from '../../lambdas/handlers/ses-events.ts';
import { metricCounts } from '../../lambdas/runtime/observability.ts';
import { captureOutput, metricDocuments } from '../runtime/capture-output.ts';
import { complaint, delivery, permanentBounce, send, transientBounce, viaEventBridge, viaSns } from './ses-events.fixtures.ts';

const now = new Date('2026-01-01T00:00:00Z');
let subscribers: MemorySubscriberRepository;
let campaigns: MemoryCampaignRepository;
let handler: ReturnType<typeof createSesEventsHandler>;
/** Calls the handler makes to the campaign repository, by method. */
let calls: Record<string, number>;

beforeEach(async () => {
  subscribers = new MemorySubscriberRepository(() => now);
  campaigns = new MemoryCampaignRepository();
  const consent = { at: now.toISOString(), method: 'import' as const, source: 'test' };
  for (const email of ['a@x.com', 'b@x.com', 'c@x.com']) await subscribers.importSubscriber({ email, status: 'confirmed', consent, now });
  await campaigns.start({ campaignId: 'issue-9', slug: 'issue-9', subject: 's', audience: 3, now });
  calls = {};
  const counted = Object.create(campaigns) as MemoryCampaignRepository;
  for (const method of ['deliveryStatus', 'recordDelivery', 'recordEvent'] as const) {
    const original = campaigns[method].bind(campaigns) as (...a: unknown[]) => unknown;
    (counted as unknown as Record<string, unknown>)[method] = (...args: unknown[]) => {
      calls[method] = (calls[method] ?? 0) + 1;
      return original(...args);
    };
  }
  handler = createSesEventsHandler({ subscribers, campaigns: counted, clock: { now: () => now } });
});

/** A pair in the given state, made through the repository's own transitions. */
async function pairIn(email: string, status: 'SENDING' | 'UNKNOWN' | 'SENT' | 'FAILED') {
  await campaigns.claim('issue-9', email, now);
  if (status !== 'SENDING') await campaigns.recordDelivery('issue-9', email, status, { messageId: 'm-worker' });
}

describe('SES events handler (EventBridge)', () => {
  it('a permanent bounce marks the subscriber bounced and counts it once per campaign', async () => {
    const r = await handler(viaEventBridge(permanentBounce('m1', ['a@x.com'])));
    expect(r).toMatchObject({ events: 1, bounced: 1, malformed: 0 });
    expect(await subscribers.getStatus('a@x.com')).toBe('bounced');
    expect((await campaigns.accounting('issue-9'))!.bounced).toBe(1);
  });

  it('a complaint marks the subscriber complained', async () => {
    const r = await handler(viaEventBridge(complaint('m2', ['b@x.com'])));
    expect(r).toMatchObject({ complained: 1 });
    expect(await subscribers.getStatus('b@x.com')).toBe('complained');
    expect((await campaigns.accounting('issue-9'))!.complained).toBe(1);
  });

  it('a transient bounce is only counted; the subscriber stays confirmed', async () => {
    const r = await handler(viaEventBridge(transientBounce('m3', ['c@x.com'])));
    expect(r).toMatchObject({ softBounced: 1, bounced: 0 });
    expect(await subscribers.getStatus('c@x.com')).toBe('confirmed');
    expect((await campaigns.accounting('issue-9'))).toMatchObject({ bounced: 0, softBounced: 1 });
  });

  it('duplicates are counted once', async () => {
    await handler(viaEventBridge(permanentBounce('m1', ['a@x.com'])));
    const again = await handler(viaEventBridge(permanentBounce('m1', ['a@x.com'])));
    expect(again).toMatchObject({ duplicates: 1, bounced: 0 });
    expect((await campaigns.accounting('issue-9'))).toMatchObject({ bounced: 1 });
  });

  it('several recipients in one event are each handled', async () => {
    const r = await handler(viaEventBridge(permanentBounce('m5', ['a@x.com', 'b@x.com', 'c@x.com'])));
    expect(r.bounced).toBe(3);
    for (const e of ['a@x.com', 'b@x.com', 'c@x.com']) expect(await subscribers.getStatus(e)).toBe('bounced');
  });

  it('a Send event for a pair already SENT reads it once and writes nothing', async () => {
    await pairIn('a@x.com', 'SENT');
    const r = await handler(viaEventBridge(send('m8', ['a@x.com'])));
    expect(r).toMatchObject({ events: 1, reconciled: 0, malformed: 0 });
    expect(calls).toEqual({ deliveryStatus: 1 });
    expect(campaigns.pairStatus('issue-9', 'a@x.com')).toBe('SENT');
  });

  it('a Send event for a FAILED pair writes nothing; for an absent one (maybe a stale read) only a refused guarded write', async () => {
    await pairIn('b@x.com', 'FAILED');
    await handler(viaEventBridge(send('m9', ['b@x.com'])));
    expect(calls).toEqual({ deliveryStatus: 1 });
    const r = await handler(viaEventBridge(send('m10', ['nobody@x.com'])));
    expect(r).toMatchObject({ reconciled: 0 });
    expect(calls).toEqual({ deliveryStatus: 2, recordDelivery: 1 });
    expect(campaigns.pairStatus('issue-9', 'b@x.com')).toBe('FAILED');
    expect(campaigns.pairStatus('issue-9', 'nobody@x.com')).toBeUndefined();
  });

  it('a Send event reconciles an UNKNOWN pair to SENT with one read and one write', async () => {
    await pairIn('a@x.com', 'UNKNOWN');
    const r = await handler(viaEventBridge(send('m8', ['a@x.com'])));
    expect(r).toMatchObject({ reconciled: 1 });
    expect(calls).toEqual({ deliveryStatus: 1, recordDelivery: 1 });
    expect(campaigns.pairStatus('issue-9', 'a@x.com')).toBe('SENT');
    expect((await campaigns.accounting('issue-9'))).toMatchObject({ sent: 1, unknown: 0 });
  });

  it('a Send event settles a pair left SENDING (the worker crashed after SES accepted) as SENT', async () => {
    await pairIn('c@x.com', 'SENDING');
    const r = await handler(viaEventBridge(send('m11', ['c@x.com'])));
    expect(r).toMatchObject({ reconciled: 1 });
    expect(calls).toEqual({ deliveryStatus: 1, recordDelivery: 1 });
    expect(campaigns.pairStatus('issue-9', 'c@x.com')).toBe('SENT');
  });

  it('unknown fields and unknown addresses are handled without error; unknown event types are ignored', async () => {
    const event = { ...permanentBounce('m6', ['nobody@x.com']), extra: { nested: [1, 2] }, futureField: true };
    const r1 = await handler(viaEventBridge(event));
    const r2 = await handler(viaEventBridge({ eventType: 'DeliveryDelay', mail: { messageId: 'm7' }, deliveryDelay: {} } as { eventType: string }));
    expect(r1).toMatchObject({ events: 1, bounced: 1, malformed: 0 });
    expect(r2).toMatchObject({ events: 1, ignored: 1, malformed: 0 });
    expect(await subscribers.get('nobody@x.com')).toBeUndefined();
  });

  it('malformed input never throws', async () => {
    const bad = [
      null, undefined, 42, 'not json', '{"Records":"x"}', { Records: [{ Sns: { Message: '{oops' } }] },
      { source: 'aws.ses', 'detail-type': 'Email Bounced', detail: { eventType: 'Bounce' } },
      viaEventBridge({ eventType: 'Bounce', mail: { messageId: 'm' }, bounce: { bouncedRecipients: 'x' } } as { eventType: string }),
    ];
    for (const input of bad) {
      const r = await handler(input);
      expect(r.malformed).toBeGreaterThan(0);
    }
  });
});

describe('SES events handler (SNS-wrapped input, still accepted)', () => {
  it('a bounce and a delivery in one SNS batch are both handled', async () => {
    const r = await handler(viaSns(permanentBounce('m1', ['a@x.com']), delivery('m4', ['b@x.com'])));
    expect(r).toMatchObject({ events: 2, bounced: 1, delivered: 1 });
    expect(await subscribers.getStatus('a@x.com')).toBe('bounced');
  });
});

describe('SES events handler: logs and metrics', () => {
  it('logs a dropped malformed event (without its content) and publishes bounces and complaints as one EMF line', async () => {
    const warnings: Array<[string, Record<string, unknown> | undefined]> = [];
    const observed = createSesEventsHandler(
      { subscribers, campaigns, clock: { now: () => now } },
      { log: { warn: (m, d) => warnings.push([m, d]) }, counts: metricCounts() },
    );
    const { result: r, entries: first } = await captureOutput(() =>
      observed({ source: 'aws.ses', 'detail-type': 'Email Bounced', detail: { eventType: 'Bounce', mail: 'a@x.com' } }),
    );
    expect(r.malformed).toBe(1);
    expect(warnings).toEqual([['malformed SES event dropped', { malformed: 1, detailType: 'Email Bounced' }]]);
    expect(JSON.stringify(warnings)).not.toContain('a@x.com');
    expect(metricDocuments(first)).toMatchObject([{ Dropped: 1, service: 'newsletter' }]);

    const { entries } = await captureOutput(async () => {
      await observed(viaEventBridge(permanentBounce('m1', ['a@x.com'])));
      await observed(viaEventBridge(complaint('m2', ['b@x.com'])));
    });
    const emitted = metricDocuments(entries);
    expect(emitted).toMatchObject([{ Bounced: 1 }, { Complained: 1 }]);
    expect((emitted[0]!._aws as { CloudWatchMetrics: Array<{ Namespace: string }> }).CloudWatchMetrics[0]!.Namespace).toBe('Newsletter');
    expect(warnings).toHaveLength(1);
  });
});
