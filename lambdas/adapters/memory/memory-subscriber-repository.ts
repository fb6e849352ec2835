/**
 * In-memory SubscriberRepository for core tests and demos. Same contract as the DynamoDB adapter
 * (test/adapters/subscriber-repository-contract.ts runs against both); JS is single-threaded, so each
 * method body is atomic like a conditional write. Keyed by `identityKey(email)` like the table: case variants are
 * one subscriber, shown with the spelling first given.
 */
import type { Subscriber, SubscriberStatus } from '../../core/model.ts';
import { importedSubscriber } from '../../core/subscribers/imported-subscriber.ts';
import type { SubscriberPage, SubscriberRepository, SubscriberWriteOutcome } from '../../core/ports.ts';
import { identityKey } from '../../core/subscribers/email.ts';

const epoch = (d: Date) => Math.floor(d.getTime() / 1000);

export class MemorySubscriberRepository implements SubscriberRepository {
  private readonly items = new Map<string, Subscriber>();

  constructor(private readonly now: () => Date = () => new Date()) {}

  private live(email: string, now: Date = this.now()): Subscriber | undefined {
    const s = this.items.get(identityKey(email));
    if (!s) return undefined;
    if (s.status === 'pending' && s.expiresAt !== undefined && s.expiresAt <= epoch(now)) return undefined;
    return s;
  }

  async get(email: string) {
    const s = this.live(email);
    return s && structuredClone(s);
  }

  async getStatus(email: string): Promise<SubscriberStatus | undefined> {
    return this.live(email)?.status;
  }

  async getStatuses(emails: string[]): Promise<Map<string, SubscriberStatus>> {
    const now = this.now();
    const out = new Map<string, SubscriberStatus>();
    for (const email of emails) {
      const status = this.live(email, now)?.status;
      if (status) out.set(email, status);
    }
    return out;
  }

  async upsertPending(input: Parameters<SubscriberRepository['upsertPending']>[0]) {
    const nowIso = input.now.toISOString();
    const current = this.live(input.email, input.now);
    const fresh = {
      status: 'pending' as const,
      updatedAt: nowIso,
      expiresAt: epoch(input.now) + input.ttlSeconds,
      consent: { at: nowIso, method: 'double-opt-in' as const, source: input.source },
      ...(input.name ? { name: input.name } : {}),
    };
    if (!current) {
      this.items.set(identityKey(input.email), { email: input.email, createdAt: nowIso, ...fresh, confirmationSentAt: nowIso });
      return { outcome: 'created' as const, mayResend: true };
    }
    if (current.status !== 'pending' && current.status !== 'unsubscribed') return { outcome: 'ignored' as const, mayResend: false };
    const cutoff = input.now.getTime() - input.resendAfterSeconds * 1000;
    const mayResend = !current.confirmationSentAt || Date.parse(current.confirmationSentAt) <= cutoff;
    Object.assign(current, fresh, mayResend ? { confirmationSentAt: nowIso } : {});
    return { outcome: 'refreshed' as const, mayResend };
  }

  async releaseConfirmation(email: string, sentAt: Date): Promise<void> {
    const current = this.items.get(identityKey(email));
    if (current?.confirmationSentAt === sentAt.toISOString()) delete current.confirmationSentAt;
  }

  async claimConfirmation(email: string, now: Date): Promise<boolean> {
    const s = this.live(email, now);
    if (s?.status !== 'pending' || s.confirmationSentAt) return false;
    s.confirmationSentAt = now.toISOString();
    return true;
  }

  private change(email: string, now: Date, allowed: (s: Subscriber) => boolean, apply: (s: Subscriber) => void): SubscriberWriteOutcome {
    const s = this.live(email, now);
    if (!s) return { kind: 'not-found' };
    if (!allowed(s)) return { kind: 'unchanged', subscriber: structuredClone(s) };
    apply(s);
    s.updatedAt = now.toISOString();
    return { kind: 'changed', subscriber: structuredClone(s) };
  }

  async confirm(email: string, now: Date) {
    return this.change(email, now, (s) => s.status === 'pending', (s) => {
      s.status = 'confirmed';
      s.confirmedAt = now.toISOString();
      if (s.consent) s.consent = { ...s.consent, at: now.toISOString() };
      delete s.expiresAt;
    });
  }

  async unsubscribe(email: string, now: Date) {
    return this.change(email, now, (s) => s.status === 'pending' || s.status === 'confirmed', (s) => {
      s.status = 'unsubscribed';
      s.unsubscribedAt = now.toISOString();
      delete s.expiresAt;
    });
  }

  async suppress(email: string, reason: 'bounced' | 'complained', now: Date) {
    return this.change(email, now, (s) => s.status !== reason, (s) => {
      s.status = reason;
      delete s.expiresAt;
    });
  }

  async importSubscriber(input: Parameters<SubscriberRepository['importSubscriber']>[0]): Promise<'created' | 'exists'> {
    if (this.live(input.email, input.now)) return 'exists';
    this.items.set(identityKey(input.email), importedSubscriber(input));
    return 'created';
  }

  async delete(email: string) {
    return this.items.delete(identityKey(email));
  }

  private confirmedSorted() {
    return [...this.items.entries()]
      .filter(([, s]) => s.status === 'confirmed')
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([key, s]) => ({ key, s }));
  }

  async listConfirmed(cursor: string | undefined, limit: number): Promise<SubscriberPage> {
    const after = cursor === undefined ? undefined : Buffer.from(cursor, 'base64url').toString('utf8');
    const rest = this.confirmedSorted().filter(({ key }) => after === undefined || key > after);
    const page = rest.slice(0, limit);
    const items = page.map(({ s }) => ({
      email: s.email,
      ...(s.name ? { name: s.name } : {}),
      ...(s.attributes && Object.keys(s.attributes).length > 0 ? { attributes: { ...s.attributes } } : {}),
    }));
    const last = page[page.length - 1];
    return { items, ...(rest.length > limit && last ? { cursor: Buffer.from(last.key).toString('base64url') } : {}) };
  }

  async countConfirmed() {
    return this.confirmedSorted().length;
  }

  async *scan() {
    const now = this.now();
    for (const key of [...this.items.keys()]) {
      const s = this.live(key, now);
      if (s) yield structuredClone(s);
    }
  }
}
