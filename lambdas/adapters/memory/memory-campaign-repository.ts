/**
 * In-memory CampaignRepository with the same conditional semantics as the DynamoDB one, for core tests and
 * benchmarks of the core alone. Not durable; single process. Pairs and events are keyed by `identityKey(email)`,
 * like the table's `D#<identity>` keys, so case variants of one address are one pair; the spelling is kept.
 */
import { randomUUID } from 'node:crypto';
import type { CampaignAccounting, CampaignStatus, DeliveryStatus } from '../../core/model.ts';
import type { CampaignRecord, CampaignRepository, PendingRecipient } from '../../core/ports.ts';
import { computeAccounting, emptyEventCounts, emptyPairCounts } from '../../core/sending/accounting.ts';
import { allowedFrom, erasedStatus } from '../../core/sending/delivery-rules.ts';
import { identityKey } from '../../core/subscribers/email.ts';

interface Pair {
  status: DeliveryStatus;
  /** The spelling the pair was created with (the key is its identity). */
  email?: string;
  name?: string;
  attributes?: Readonly<Record<string, string>>;
  messageId?: string;
  error?: string;
}

export class MemoryCampaignRepository implements CampaignRepository {
  readonly campaigns = new Map<string, CampaignRecord>();
  readonly pairs = new Map<string, Map<string, Pair>>();
  readonly events = new Map<string, Set<string>>();

  private pairsOf(id: string): Map<string, Pair> {
    let m = this.pairs.get(id);
    if (!m) this.pairs.set(id, (m = new Map()));
    return m;
  }

  async get(campaignId: string): Promise<CampaignRecord | undefined> {
    const c = this.campaigns.get(campaignId);
    return c ? { ...c } : undefined;
  }

  async start(input: { campaignId: string; slug: string; subject: string; audience: number; now: Date }) {
    const existing = this.campaigns.get(input.campaignId);
    if (existing) return { created: false, campaign: { ...existing } };
    const at = input.now.toISOString();
    const c: CampaignRecord = {
      campaignId: input.campaignId, slug: input.slug, subject: input.subject, status: 'SENDING',
      audience: input.audience, enqueued: 0, fanoutComplete: false, createdAt: at, updatedAt: at,
    };
    this.campaigns.set(input.campaignId, c);
    return { created: true, campaign: { ...c } };
  }

  async saveCursor(
    campaignId: string,
    cursor: string | undefined,
    fanoutComplete: boolean,
    enqueued = 0,
    expected?: { cursor: string | undefined },
  ): Promise<boolean> {
    const c = this.campaigns.get(campaignId);
    if (!c) throw new Error(`unknown campaign ${campaignId}`);
    if (expected && (c.fanoutComplete || c.cursor !== expected.cursor)) return false;
    delete c.handoffAt;
    if (cursor === undefined) delete c.cursor;
    else c.cursor = cursor;
    c.enqueued = (c.enqueued ?? 0) + enqueued;
    c.fanoutComplete = fanoutComplete;
    if (fanoutComplete) c.audience = c.enqueued;
    return true;
  }

  async markHandoff(campaignId: string, cursor: string | undefined, now: Date): Promise<void> {
    const c = this.campaigns.get(campaignId);
    if (c && !c.fanoutComplete && c.cursor === cursor) c.handoffAt = now.toISOString();
  }

  async setStatus(campaignId: string, from: CampaignStatus[], to: CampaignStatus, reason?: string): Promise<boolean> {
    const c = this.campaigns.get(campaignId);
    if (!c || !from.includes(c.status)) return false;
    c.status = to;
    if (to === 'PAUSED' && reason) c.pausedReason = reason;
    else delete c.pausedReason;
    if (to === 'SENT') c.sentAt = new Date().toISOString();
    return true;
  }

  async addHandled(campaignId: string, n: number): Promise<CampaignRecord | undefined> {
    const c = this.campaigns.get(campaignId);
    if (!c) return undefined;
    c.handled = (c.handled ?? 0) + n;
    return { ...c };
  }

  async markRepaired(campaignId: string, now: Date): Promise<void> {
    const c = this.campaigns.get(campaignId);
    if (c && !c.repairedAt) c.repairedAt = now.toISOString();
  }

  async list(): Promise<CampaignRecord[]> {
    return [...this.campaigns.values()].map((c) => ({ ...c })).sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  }

  async claim(campaignId: string, email: string, _now?: Date): Promise<{ claimed: true } | { claimed: false; status: DeliveryStatus }> {
    const pairs = this.pairsOf(campaignId);
    const p = pairs.get(identityKey(email));
    if (p && p.status !== 'QUEUED') return { claimed: false, status: p.status };
    pairs.set(identityKey(email), { email, ...p, status: 'SENDING' });
    return { claimed: true };
  }

  async release(campaignId: string, email: string): Promise<void> {
    const p = this.pairsOf(campaignId).get(identityKey(email));
    if (p?.status === 'SENDING' || p?.status === 'UNKNOWN') p.status = 'QUEUED';
  }

  async park(campaignId: string, recipients: PendingRecipient[]): Promise<void> {
    const pairs = this.pairsOf(campaignId);
    for (const r of recipients) {
      if (pairs.has(identityKey(r.email))) continue;
      const attributes = r.attributes && Object.keys(r.attributes).length ? { attributes: { ...r.attributes } } : {};
      pairs.set(identityKey(r.email), { status: 'QUEUED', email: r.email, ...(r.name ? { name: r.name } : {}), ...attributes });
    }
  }

  async listPending(campaignId: string, cursor: string | undefined, limit: number) {
    const all = [...this.pairsOf(campaignId).entries()]
      .filter(([, p]) => p.status === 'QUEUED' || p.status === 'SENDING')
      .sort(([a], [b]) => a.localeCompare(b))
      .filter(([key]) => cursor === undefined || key > cursor);
    const page = all.slice(0, limit);
    const items = page.map(([key, p]): PendingRecipient => ({
      email: p.email ?? key,
      ...(p.name ? { name: p.name } : {}),
      ...(p.attributes ? { attributes: p.attributes } : {}),
    }));
    return all.length > limit ? { items, cursor: page[page.length - 1]![0] } : { items };
  }

  async deliveryStatus(campaignId: string, email: string): Promise<DeliveryStatus | undefined> {
    return this.pairStatus(campaignId, email);
  }

  async recordDelivery(
    campaignId: string,
    email: string,
    status: DeliveryStatus,
    detail: { messageId?: string; error?: string } = {},
  ): Promise<boolean> {
    const pairs = this.pairsOf(campaignId);
    const p = pairs.get(identityKey(email));
    if (!allowedFrom(status).includes(p?.status ?? 'ABSENT')) return false;
    if (status === 'QUEUED') await this.park(campaignId, [{ email }]);
    else pairs.set(identityKey(email), { email, ...p, status, ...detail });
    return true;
  }

  async recordEvent(campaignId: string, type: 'bounced' | 'complained' | 'delivered' | 'softBounced', email: string, eventId: string): Promise<boolean> {
    let s = this.events.get(campaignId);
    if (!s) this.events.set(campaignId, (s = new Set()));
    const key = `${type}#${identityKey(email)}#${eventId}`;
    if (s.has(key)) return false;
    s.add(key);
    return true;
  }

  async accounting(campaignId: string, _options?: { consistent?: boolean }): Promise<CampaignAccounting | undefined> {
    const c = this.campaigns.get(campaignId);
    if (!c) return undefined;
    const pairs = emptyPairCounts();
    for (const p of this.pairsOf(campaignId).values()) pairs[p.status] += 1;
    const events = emptyEventCounts();
    for (const key of this.events.get(campaignId) ?? []) events[key.split('#')[0] as keyof typeof events] += 1;
    return computeAccounting(c, pairs, events);
  }

  /** Same contract as the DynamoDB one: records keyed by the address become anonymous ones that count the same. */
  async deleteSubscriberRecords(email: string): Promise<number> {
    let n = 0;
    for (const pairs of this.pairs.values()) {
      const p = pairs.get(identityKey(email));
      if (!p) continue;
      pairs.delete(identityKey(email));
      pairs.set(`~erased#${randomUUID()}`, { status: erasedStatus(p.status) });
      n++;
    }
    for (const set of this.events.values()) {
      for (const key of [...set]) {
        const [type, address] = key.split('#');
        if (address === identityKey(email)) {
          set.delete(key);
          set.add(`${type}#~erased#${randomUUID()}`);
          n++;
        }
      }
    }
    return n;
  }

  /** Test helper: the pair's status. */
  pairStatus(campaignId: string, email: string): DeliveryStatus | undefined {
    return this.pairs.get(campaignId)?.get(identityKey(email))?.status;
  }
}
