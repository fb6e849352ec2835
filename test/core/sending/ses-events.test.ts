/** SES events in the core: a Reject event settles the pair as FAILED unless it is already final. */
import { describe, expect, it } from 'vitest';
import { handleSesEvents } from '../../../lambdas/core/sending/ses-events.ts';
import { mail, viaEventBridge } from '../../handlers/ses-events.fixtures.ts';
import { world } from './fakes.ts';

const reject = (messageId: string, to: string[]) => ({ eventType: 'Reject', reject: { reason: 'Bad content' }, mail: mail(messageId, to) });

describe('SES Send events', () => {
  it('reconcile a claimed pair even when the cheap read is stale (absent or QUEUED from before the claim)', async () => {
    // Prepare: the worker claimed both pairs and crashed after SES accepted; the eventually consistent read lags.
    const w = world();
    await w.campaigns.start({ campaignId: 'issue-9', slug: 'issue-9', subject: 's', audience: 2, now: w.now });
    await w.campaigns.park('issue-9', [{ email: 'q@x.com' }]);
    await w.campaigns.claim('issue-9', 'q@x.com', w.now);
    await w.campaigns.claim('issue-9', 'n@x.com', w.now);
    const stale: Record<string, 'QUEUED' | undefined> = { 'q@x.com': 'QUEUED', 'n@x.com': undefined };
    const campaigns = Object.assign(Object.create(w.campaigns) as typeof w.campaigns, {
      deliveryStatus: async (_id: string, email: string) => stale[email],
    });
    const deps = { subscribers: w.subscribers, campaigns, clock: w.clock };
    // Act
    const r = await handleSesEvents(deps, viaEventBridge({ eventType: 'Send', send: {}, mail: mail('m1', ['q@x.com', 'n@x.com']) }));
    // Assess
    expect(r.reconciled).toBe(2);
    expect(w.campaigns.pairStatus('issue-9', 'q@x.com')).toBe('SENT');
    expect(w.campaigns.pairStatus('issue-9', 'n@x.com')).toBe('SENT');
  });
});

describe('SES Reject events', () => {
  it('a Reject records FAILED for a pair that is SENDING or UNKNOWN, and leaves final pairs alone', async () => {
    const w = world();
    await w.campaigns.start({ campaignId: 'issue-9', slug: 'issue-9', subject: 's', audience: 4, now: w.now });
    await w.campaigns.claim('issue-9', 'a@x.com', w.now); // SENDING: the worker crashed after SES accepted
    await w.campaigns.claim('issue-9', 'b@x.com', w.now);
    await w.campaigns.recordDelivery('issue-9', 'b@x.com', 'UNKNOWN'); // in doubt
    await w.campaigns.claim('issue-9', 'c@x.com', w.now);
    await w.campaigns.recordDelivery('issue-9', 'c@x.com', 'SENT', { messageId: 'm-c' });
    const deps = { subscribers: w.subscribers, campaigns: w.campaigns, clock: w.clock };
    let rejected = 0;
    for (const [id, to] of [['m1', 'a@x.com'], ['m2', 'b@x.com'], ['m3', 'c@x.com']] as const) {
      const r = await handleSesEvents(deps, viaEventBridge(reject(id, [to])));
      expect(r).toMatchObject({ events: 1, ignored: 0 });
      rejected += r.rejected;
    }
    expect(rejected).toBe(2);
    expect(w.campaigns.pairStatus('issue-9', 'a@x.com')).toBe('FAILED');
    expect(w.campaigns.pairStatus('issue-9', 'b@x.com')).toBe('FAILED');
    expect(w.campaigns.pairStatus('issue-9', 'c@x.com')).toBe('SENT');
    // A later Send event does not undo the definite answer.
    await handleSesEvents(deps, viaEventBridge({ eventType: 'Send', send: {}, mail: mail('m1', ['a@x.com']) }));
    expect(w.campaigns.pairStatus('issue-9', 'a@x.com')).toBe('FAILED');
    expect(await w.campaigns.accounting('issue-9')).toMatchObject({ failed: 2, sent: 1 });
  });

  it('a Reject without a campaign tag, or for an absent pair, changes nothing', async () => {
    const w = world();
    await w.campaigns.start({ campaignId: 'issue-9', slug: 'issue-9', subject: 's', audience: 1, now: w.now });
    const deps = { subscribers: w.subscribers, campaigns: w.campaigns, clock: w.clock };
    const untagged = { eventType: 'Reject', reject: {}, mail: { ...mail('m1', ['a@x.com']), tags: {} } };
    for (const event of [untagged, reject('m2', ['z@x.com'])]) {
      const r = await handleSesEvents(deps, viaEventBridge(event));
      expect(r).toMatchObject({ events: 1, rejected: 0, malformed: 0 });
    }
    expect(w.campaigns.pairStatus('issue-9', 'a@x.com')).toBeUndefined();
    expect(w.campaigns.pairStatus('issue-9', 'z@x.com')).toBeUndefined();
  });
});
