/**
 * The SubscriberRepository contract, run against every implementation: dynalite, DynamoDB Local and memory.
 * Call inside a test file: `subscriberRepositoryContract(() => ({ makeRepo, reset }))`.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import type { SubscriberRepository } from '../../lambdas/core/ports.ts';
import { testClock } from '../support/emulators.ts';

export interface ContractTarget {
  /** A repository whose expiry reads use `now`. */
  makeRepo(now: () => Date): SubscriberRepository;
  /** Empty the storage between tests. */
  reset(): Promise<void>;
}

const T0 = new Date('2026-11-28T10:00:00Z');
const TTL = 7 * 24 * 3600;
const RESEND = 600;
const consent = { at: T0.toISOString(), method: 'import' as const, source: 'contract' };

export function subscriberRepositoryContract(target: () => ContractTarget): void {
  const clock = testClock(T0);
  let repo: SubscriberRepository;
  const pending = (email: string, extra: { name?: string } = {}) =>
    repo.upsertPending({ email, source: 'form', now: clock.now(), ttlSeconds: TTL, resendAfterSeconds: RESEND, ...extra });
  const all = async () => {
    const out = [];
    for await (const s of repo.scan()) out.push(s);
    return out.sort((a, b) => a.email.localeCompare(b.email));
  };

  beforeEach(async () => {
    clock.set(T0);
    await target().reset();
    repo = target().makeRepo(() => clock.now());
  });

  describe('pending records', () => {
    it('creates a pending record with TTL and consent, then allows one email per resend window', async () => {
      expect(await pending('a@example.com', { name: 'Ann' })).toEqual({ outcome: 'created', mayResend: true });
      const s = await repo.get('a@example.com');
      expect(s).toMatchObject({
        email: 'a@example.com', status: 'pending', name: 'Ann', createdAt: T0.toISOString(),
        confirmationSentAt: T0.toISOString(), expiresAt: T0.getTime() / 1000 + TTL,
        consent: { method: 'double-opt-in', source: 'form' },
      });
      clock.advance(RESEND - 1);
      expect(await pending('a@example.com')).toEqual({ outcome: 'refreshed', mayResend: false });
      clock.advance(1);
      expect(await pending('a@example.com')).toEqual({ outcome: 'refreshed', mayResend: true });
      expect((await repo.get('a@example.com'))?.confirmationSentAt).toBe(clock.now().toISOString());
    });

    it('hides expired pending records from every read, and lets them be created again', async () => {
      await pending('old@example.com');
      clock.advance(TTL);
      expect(await repo.get('old@example.com')).toBeUndefined();
      expect(await repo.getStatus('old@example.com')).toBeUndefined();
      expect(await all()).toEqual([]);
      expect(await repo.confirm('old@example.com', clock.now())).toEqual({ kind: 'not-found' });
      expect(await pending('old@example.com')).toEqual({ outcome: 'created', mayResend: true });
    });

    it('releases a resend slot only while it is still the one taken at that time', async () => {
      await pending('slot@example.com');
      await repo.releaseConfirmation('slot@example.com', new Date(T0.getTime() - 1000));
      expect((await repo.get('slot@example.com'))?.confirmationSentAt).toBe(T0.toISOString());
      await repo.releaseConfirmation('slot@example.com', T0);
      expect((await repo.get('slot@example.com'))?.confirmationSentAt).toBeUndefined();
      expect(await pending('slot@example.com')).toEqual({ outcome: 'refreshed', mayResend: true });
      await repo.releaseConfirmation('nobody@example.com', T0);
      expect(await repo.get('nobody@example.com')).toBeUndefined();
    });

    it('lets exactly one of 20 concurrent requests send the confirmation email', async () => {
      const results = await Promise.all(Array.from({ length: 20 }, () => pending('race@example.com')));
      expect(results.filter((r) => r.mayResend)).toHaveLength(1);
      expect((await all()).map((s) => s.email)).toEqual(['race@example.com']);
    });
  });

  describe('transitions', () => {
    it('confirms a pending subscriber into the sparse index, idempotently', async () => {
      await pending('c@example.com', { name: 'Cy' });
      clock.advance(60);
      const first = await repo.confirm('c@example.com', clock.now());
      expect(first.kind).toBe('changed');
      const s = await repo.get('c@example.com');
      expect(s).toMatchObject({ status: 'confirmed', confirmedAt: clock.now().toISOString(), consent: { at: clock.now().toISOString(), method: 'double-opt-in', source: 'form' } });
      expect(s?.expiresAt).toBeUndefined();
      expect((await repo.confirm('c@example.com', clock.now())).kind).toBe('unchanged');
      expect(await repo.listConfirmed(undefined, 10)).toEqual({ items: [{ email: 'c@example.com', name: 'Cy' }] });
      expect(await repo.countConfirmed()).toBe(1);
      expect(await repo.confirm('nobody@example.com', clock.now())).toEqual({ kind: 'not-found' });
    });

    it('never downgrades confirmed, bounced or complained through the form', async () => {
      await repo.importSubscriber({ email: 'k@example.com', status: 'confirmed', consent, now: clock.now() });
      expect(await pending('k@example.com')).toEqual({ outcome: 'ignored', mayResend: false });
      expect(await repo.getStatus('k@example.com')).toBe('confirmed');
      await repo.suppress('k@example.com', 'complained', clock.now());
      expect(await pending('k@example.com')).toEqual({ outcome: 'ignored', mayResend: false });
      expect(await repo.getStatus('k@example.com')).toBe('complained');
    });

    it('unsubscribes out of the index, idempotently, and an unsubscribed address may subscribe again', async () => {
      await repo.importSubscriber({ email: 'u@example.com', status: 'confirmed', consent, now: clock.now() });
      const first = await repo.unsubscribe('u@example.com', clock.now());
      expect(first).toMatchObject({ kind: 'changed', subscriber: { status: 'unsubscribed', unsubscribedAt: T0.toISOString() } });
      expect(await repo.countConfirmed()).toBe(0);
      expect((await repo.listConfirmed(undefined, 10)).items).toEqual([]);
      expect((await repo.unsubscribe('u@example.com', clock.now())).kind).toBe('unchanged');
      expect(await repo.unsubscribe('ghost@example.com', clock.now())).toEqual({ kind: 'not-found' });
      clock.advance(RESEND);
      expect(await pending('u@example.com')).toEqual({ outcome: 'refreshed', mayResend: true });
      expect(await repo.getStatus('u@example.com')).toBe('pending');
    });

    it('suppresses any status out of the index', async () => {
      await repo.importSubscriber({ email: 'b@example.com', status: 'confirmed', consent, now: clock.now() });
      expect((await repo.suppress('b@example.com', 'bounced', clock.now())).kind).toBe('changed');
      expect((await repo.suppress('b@example.com', 'bounced', clock.now())).kind).toBe('unchanged');
      expect(await repo.getStatus('b@example.com')).toBe('bounced');
      expect(await repo.countConfirmed()).toBe(0);
      expect(await repo.suppress('none@example.com', 'bounced', clock.now())).toEqual({ kind: 'not-found' });
    });
  });

  describe('batched status reads (getStatuses)', () => {
    it('returns the status of every present subscriber, whatever it is, and leaves absent and expired ones out', async () => {
      await repo.importSubscriber({ email: 'ok@example.com', status: 'confirmed', consent, now: clock.now() });
      await repo.importSubscriber({ email: 'pend@example.com', status: 'pending', consent, now: clock.now() });
      await repo.importSubscriber({ email: 'left@example.com', status: 'confirmed', consent, now: clock.now() });
      await repo.unsubscribe('left@example.com', clock.now());
      await repo.importSubscriber({ email: 'bounce@example.com', status: 'confirmed', consent, now: clock.now() });
      await repo.suppress('bounce@example.com', 'bounced', clock.now());
      await repo.importSubscriber({ email: 'spam@example.com', status: 'confirmed', consent, now: clock.now() });
      await repo.suppress('spam@example.com', 'complained', clock.now());
      clock.advance(TTL - 60);
      await pending('fresh@example.com');
      clock.advance(60); // pend@ (imported pending) has now expired; fresh@ has not
      const statuses = await repo.getStatuses([
        'ok@example.com', 'ghost@example.com', 'pend@example.com', 'left@example.com', 'bounce@example.com',
        'spam@example.com', 'fresh@example.com',
      ]);
      expect(Object.fromEntries(statuses)).toEqual({
        'ok@example.com': 'confirmed',
        'left@example.com': 'unsubscribed',
        'bounce@example.com': 'bounced',
        'spam@example.com': 'complained',
        'fresh@example.com': 'pending',
      });
      for (const [email, status] of statuses) expect(await repo.getStatus(email)).toBe(status);
      expect(await repo.getStatus('pend@example.com')).toBeUndefined();
      expect((await repo.getStatuses([])).size).toBe(0);
    });

    it('reads more than 100 addresses (several BatchGetItem chunks) and tolerates duplicates in the input', async () => {
      const present = Array.from({ length: 130 }, (_, i) => `r${String(i).padStart(3, '0')}@example.com`);
      for (const email of present) await repo.importSubscriber({ email, status: 'confirmed', consent, now: clock.now() });
      await repo.unsubscribe('r007@example.com', clock.now());
      await repo.unsubscribe('r120@example.com', clock.now());
      const absent = Array.from({ length: 25 }, (_, i) => `nobody${i}@example.com`);
      // 130 + 25 distinct addresses plus duplicates, interleaved, so the duplicates straddle chunk boundaries.
      const input = [...present, ...absent, ...present.slice(95, 110), 'r007@example.com', 'nobody3@example.com'];
      const statuses = await repo.getStatuses(input);
      expect(statuses.size).toBe(130);
      expect([...statuses.keys()].sort()).toEqual(present);
      expect(statuses.get('r007@example.com')).toBe('unsubscribed');
      expect(statuses.get('r120@example.com')).toBe('unsubscribed');
      expect(statuses.get('r129@example.com')).toBe('confirmed');
      expect([...statuses.values()].filter((s) => s === 'confirmed')).toHaveLength(128);
      for (const email of absent) expect(statuses.has(email)).toBe(false);
    });

    it('sees a change written just before it (read after write)', async () => {
      await repo.importSubscriber({ email: 'now@example.com', status: 'confirmed', consent, now: clock.now() });
      expect((await repo.getStatuses(['now@example.com'])).get('now@example.com')).toBe('confirmed');
      await repo.unsubscribe('now@example.com', clock.now());
      expect((await repo.getStatuses(['now@example.com'])).get('now@example.com')).toBe('unsubscribed');
      await repo.delete('now@example.com');
      expect((await repo.getStatuses(['now@example.com'])).has('now@example.com')).toBe(false);
    });
  });

  describe('identity: addresses differing only in case are one subscriber', () => {
    it('shares one record and one resend window across case variants, shown with the first spelling', async () => {
      expect(await pending('Bob@example.com', { name: 'Bob' })).toEqual({ outcome: 'created', mayResend: true });
      expect(await pending('bob@example.com')).toEqual({ outcome: 'refreshed', mayResend: false });
      expect(await pending('BOB@example.com')).toEqual({ outcome: 'refreshed', mayResend: false });
      expect((await all()).map((s) => s.email)).toEqual(['Bob@example.com']);
      expect(await repo.get('bOb@example.com')).toMatchObject({ email: 'Bob@example.com', status: 'pending', name: 'Bob' });
      expect(await repo.claimConfirmation('BOB@example.com', clock.now())).toBe(false); // the form already mailed them
      clock.advance(RESEND);
      expect(await pending('bob@EXAMPLE.com')).toEqual({ outcome: 'refreshed', mayResend: true });
      expect((await all()).map((s) => s.email)).toEqual(['Bob@example.com']);
    });

    it('confirms, unsubscribes, suppresses, reads and erases through any casing; the index holds one entry', async () => {
      await pending('Cy@example.com');
      expect((await repo.confirm('CY@example.com', clock.now())).kind).toBe('changed');
      expect((await repo.confirm('cy@example.com', clock.now())).kind).toBe('unchanged');
      expect((await repo.listConfirmed(undefined, 10)).items).toEqual([{ email: 'Cy@example.com' }]);
      expect(await repo.countConfirmed()).toBe(1);
      expect(Object.fromEntries(await repo.getStatuses(['cy@example.com', 'CY@EXAMPLE.COM']))).toEqual({
        'cy@example.com': 'confirmed', 'CY@EXAMPLE.COM': 'confirmed',
      });
      expect((await repo.unsubscribe('cY@example.com', clock.now())).kind).toBe('changed');
      expect(await repo.getStatus('Cy@example.com')).toBe('unsubscribed');
      expect(await repo.countConfirmed()).toBe(0);
      expect((await repo.suppress('CY@example.com', 'complained', clock.now())).kind).toBe('changed');
      expect(await repo.getStatus('cy@example.com')).toBe('complained');
      expect(await repo.delete('CY@EXAMPLE.COM')).toBe(true);
      expect(await all()).toEqual([]);
    });

    it('an import in another casing never creates a second record nor revives one that left', async () => {
      await repo.importSubscriber({ email: 'Dee@example.com', status: 'confirmed', consent, now: clock.now() });
      expect(await repo.importSubscriber({ email: 'dee@example.com', status: 'confirmed', consent, now: clock.now() })).toBe('exists');
      await repo.unsubscribe('dee@example.com', clock.now());
      await repo.importSubscriber({ email: 'Eve@example.com', status: 'confirmed', consent, now: clock.now() });
      await repo.suppress('eve@example.com', 'bounced', clock.now());
      for (const email of ['DEE@example.com', 'dEe@example.com', 'EVE@example.com']) {
        expect(await repo.importSubscriber({ email, status: 'confirmed', consent, now: clock.now() })).toBe('exists');
      }
      expect((await all()).map((s) => [s.email, s.status])).toEqual([['Dee@example.com', 'unsubscribed'], ['Eve@example.com', 'bounced']]);
      expect(await repo.countConfirmed()).toBe(0);
    });

    it('pages custom attributes with the confirmed subscribers', async () => {
      await repo.importSubscriber({ email: 'f@example.com', attributes: { tier: 'gold', city: 'Oslo' }, status: 'confirmed', consent, now: clock.now() });
      await repo.importSubscriber({ email: 'g@example.com', name: 'Gus', status: 'confirmed', consent, now: clock.now() });
      expect((await repo.listConfirmed(undefined, 10)).items).toEqual([
        { email: 'f@example.com', attributes: { tier: 'gold', city: 'Oslo' } },
        { email: 'g@example.com', name: 'Gus' },
      ]);
    });
  });

  describe('operator operations', () => {
    it('imports once, with name, attributes and consent, never touching an existing subscriber', async () => {
      const input = { email: 'i@example.com', name: 'Ida', attributes: { plan: 'pro' }, status: 'confirmed' as const, consent, now: clock.now() };
      expect(await repo.importSubscriber(input)).toBe('created');
      expect(await repo.importSubscriber({ ...input, name: 'Other', status: 'pending' })).toBe('exists');
      expect(await repo.get('i@example.com')).toMatchObject({ name: 'Ida', attributes: { plan: 'pro' }, status: 'confirmed', consent });
      expect(await repo.importSubscriber({ email: 'p@example.com', status: 'pending', consent, now: clock.now() })).toBe('created');
      expect(await repo.getStatus('p@example.com')).toBe('pending');
    });

    it('deletes a subscriber (erasure)', async () => {
      await repo.importSubscriber({ email: 'd@example.com', status: 'confirmed', consent, now: clock.now() });
      expect(await repo.delete('d@example.com')).toBe(true);
      expect(await repo.get('d@example.com')).toBeUndefined();
      expect(await repo.countConfirmed()).toBe(0);
      expect(await repo.delete('d@example.com')).toBe(false);
    });

    it('pages confirmed subscribers in a stable order with an opaque cursor, and scans everything', async () => {
      const emails = ['e1@example.com', 'e2@example.com', 'e3@example.com', 'e4@example.com', 'e5@example.com'];
      for (const email of emails) await repo.importSubscriber({ email, status: 'confirmed', consent, now: clock.now() });
      await pending('zz-pending@example.com');
      const seen: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = await repo.listConfirmed(cursor, 2);
        expect(page.items.length).toBeLessThanOrEqual(2);
        seen.push(...page.items.map((i) => i.email));
        cursor = page.cursor;
        pages += 1;
      } while (cursor && pages < 10);
      expect(seen).toEqual(emails);
      expect(await repo.countConfirmed()).toBe(5);
      expect((await all()).map((s) => s.email)).toEqual([...emails, 'zz-pending@example.com']);
    });
  });
}
