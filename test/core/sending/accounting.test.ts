import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { accountingAddsUp, audienceOf, computeAccounting, emptyEventCounts, emptyPairCounts, isSettled } from '../../../lambdas/core/sending/accounting.ts';

const campaign = { campaignId: 'c', audience: 10, enqueued: 0, fanoutComplete: false, status: 'SENDING' as const };

describe('accounting', () => {
  it('QUEUED is N minus the final pairs, so the invariant holds at every moment (property)', () => {
    fc.assert(
      fc.property(
        fc.nat(1000), fc.nat(1000), fc.boolean(), fc.array(fc.constantFrom('SENT', 'SKIPPED', 'FAILED', 'UNKNOWN', 'SENDING', 'QUEUED'), { maxLength: 200 }),
        (snapshot, enqueuedExtra, complete, statuses) => {
          const pairs = emptyPairCounts();
          for (const s of statuses) pairs[s as keyof typeof pairs] += 1;
          const enqueued = statuses.length + enqueuedExtra;
          const a = computeAccounting({ ...campaign, audience: snapshot, enqueued, fanoutComplete: complete }, pairs, emptyEventCounts());
          expect(accountingAddsUp(a)).toBe(true);
          expect(a.queued).toBeGreaterThanOrEqual(pairs.SENDING + pairs.QUEUED);
        },
      ),
    );
  });

  it('N is the start snapshot during the fan-out and the exact enqueued count once it is complete', () => {
    expect(audienceOf({ audience: 10, enqueued: 4, fanoutComplete: false })).toBe(10);
    expect(audienceOf({ audience: 10, enqueued: 12, fanoutComplete: false })).toBe(12);
    expect(audienceOf({ audience: 10, enqueued: 9, fanoutComplete: true })).toBe(9);
  });

  it('more final pairs than N is reported as not adding up, not hidden', () => {
    const pairs = { ...emptyPairCounts(), SENT: 11 };
    const a = computeAccounting(campaign, pairs, emptyEventCounts());
    expect(a.queued).toBe(0);
    expect(accountingAddsUp(a)).toBe(false);
  });

  it('settled when nothing is queued or the campaign is paused', () => {
    const pairs = { ...emptyPairCounts(), SENT: 3 };
    expect(isSettled(computeAccounting({ ...campaign, audience: 3 }, pairs, emptyEventCounts()))).toBe(true);
    expect(isSettled(computeAccounting({ ...campaign, audience: 5 }, pairs, emptyEventCounts()))).toBe(false);
    expect(isSettled(computeAccounting({ ...campaign, audience: 5, status: 'PAUSED' }, pairs, emptyEventCounts()))).toBe(true);
  });
});

describe('accounting after a repair', () => {
  it('N is the number of pairs once the campaign is repaired, so the invariant holds with late confirmers (property)', () => {
    fc.assert(
      fc.property(fc.nat(1000), fc.array(fc.constantFrom('SENT', 'SKIPPED', 'FAILED', 'UNKNOWN', 'SENDING', 'QUEUED'), { maxLength: 200 }), (enqueued, statuses) => {
        const pairs = emptyPairCounts();
        for (const s of statuses) pairs[s as keyof typeof pairs] += 1;
        const repaired = { ...campaign, audience: enqueued, enqueued, fanoutComplete: true, repairedAt: '2026-01-01T00:00:00Z' };
        const a = computeAccounting(repaired, pairs, emptyEventCounts());
        expect(a.audience).toBe(statuses.length);
        expect(a.queued).toBe(pairs.SENDING + pairs.QUEUED);
        expect(accountingAddsUp(a)).toBe(true);
      }),
    );
  });
});
