/** The SES events handler with fixture events (SNS- and EventBridge-wrapped), on in-memory repositories. */
import { beforeEach, describe, expect, it } from 'vitest';
import { MemoryCampaignRepository } from '../../lambdas/adapters/memory/memory-campaign-repository.ts';
import { MemorySubscriberRepository } from '../../lambdas/adapters/memory/memory-subscriber-repository.ts';
import { createSesEventsHandler } from '../../lambdas/handlers/ses-events.ts';
import { complaint, delivery, permanentBounce, send, transientBounce, viaEventBridge, viaSns } from './ses-events.fixtures.ts';

const now = new Date('2026-01-01T00:00:00Z');
let subscribers: MemorySubscriberRepository;
let campaigns: MemoryCampaignRepository;
let handler: ReturnType<typeof createSesEventsHandler>;

beforeEach(async () => {
  subscribers = new MemorySubscriberRepository(() => now);
  campaigns = new MemoryCampaignRepository();
  handler = createSesEventsHandler({ subscribers, campaigns, clock: { now: () => now } });
  const consent = { at: now.toISOString(), method: 'import' as const, source: 'test' };
  for (const email of ['a@x.com', 'b@x.com', 'c@x.com']) await subscribers.importSubscriber({ email, status: 'confirmed', consent, now });
  await campaigns.start({ campaignId: 'issue-9', slug: 'issue-9', subject: 's', audience: 3, now });
});

describe('SES events handler', () => {
  it('a permanent bounce (SNS) marks the subscriber bounced and counts it once per campaign', async () => {
    const r = await handler(viaSns(permanentBounce('m1', ['a@x.com'])));
    expect(r).toMatchObject({ events: 1, bounced: 1 });
    expect(await subscribers.getStatus('a@x.com')).toBe('bounced');
    expect((await campaigns.accounting('issue-9'))!.bounced).toBe(1);
  });

  it('a complaint (EventBridge) marks the subscriber complained', async () => {
    const r = await handler(viaEventBridge(complaint('m2', ['b@x.com'])));
    expect(r).toMatchObject({ complained: 1 });
    expect(await subscribers.getStatus('b@x.com')).toBe('complained');
    expect((await campaigns.accounting('issue-9'))!.complained).toBe(1);
  });

  it('a transient bounce is only counted; the subscriber stays confirmed', async () => {
    const r = await handler(viaSns(transientBounce('m3', ['c@x.com'])));
    expect(r).toMatchObject({ softBounced: 1, bounced: 0 });
    expect(await subscribers.getStatus('c@x.com')).toBe('confirmed');
    expect((await campaigns.accounting('issue-9'))).toMatchObject({ bounced: 0, softBounced: 1 });
  });

  it('duplicates are counted once', async () => {
    await handler(viaSns(permanentBounce('m1', ['a@x.com'])));
    const again = await handler(viaSns(permanentBounce('m1', ['a@x.com']), permanentBounce('m1', ['a@x.com'])));
    expect(again).toMatchObject({ duplicates: 2, bounced: 0 });
    await handler(viaSns(delivery('m4', ['b@x.com'])));
    await handler(viaSns(delivery('m4', ['b@x.com'])));
    expect((await campaigns.accounting('issue-9'))).toMatchObject({ bounced: 1, delivered: 1 });
  });

  it('several recipients in one event are each handled', async () => {
    const r = await handler(viaSns(permanentBounce('m5', ['a@x.com', 'b@x.com', 'c@x.com'])));
    expect(r.bounced).toBe(3);
    for (const e of ['a@x.com', 'b@x.com', 'c@x.com']) expect(await subscribers.getStatus(e)).toBe('bounced');
  });

  it('unknown fields and unknown addresses are handled without error; unknown event types are ignored', async () => {
    const event = { ...permanentBounce('m6', ['nobody@x.com']), extra: { nested: [1, 2] }, futureField: true };
    const r = await handler(viaSns(event, { eventType: 'DeliveryDelay', mail: { messageId: 'm7' }, deliveryDelay: {} }));
    expect(r).toMatchObject({ events: 2, bounced: 1, ignored: 1, malformed: 0 });
    expect(await subscribers.get('nobody@x.com')).toBeUndefined();
  });

  it('malformed input never throws', async () => {
    for (const bad of [null, undefined, 42, 'not json', '{"Records":"x"}', { Records: [{ Sns: { Message: '{oops' } }] }, { eventType: 'Bounce' }, { eventType: 'Bounce', mail: { messageId: 'm' }, bounce: { bouncedRecipients: 'x' } }]) {
      const r = await handler(bad);
      expect(r.malformed).toBeGreaterThan(0);
    }
  });

  it('a Send event reconciles an UNKNOWN pair to SENT', async () => {
    await campaigns.claim('issue-9', 'a@x.com', now);
    await campaigns.recordDelivery('issue-9', 'a@x.com', 'UNKNOWN');
    await handler(viaSns(send('m8', ['a@x.com'])));
    expect(campaigns.pairStatus('issue-9', 'a@x.com')).toBe('SENT');
    expect((await campaigns.accounting('issue-9'))).toMatchObject({ sent: 1, unknown: 0 });
  });
});
