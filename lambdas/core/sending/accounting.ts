/**
 * Campaign accounting. One Query over the campaign's partition gives the pair counts by status and the event
 * counts by type; the audience N comes from the campaign record. QUEUED is derived, so the invariant
 * SENT + SKIPPED + FAILED + UNKNOWN + QUEUED = N holds at every moment; pairs that are SENDING (claimed, in flight)
 * and recipients still waiting in the queue without a pair are both part of QUEUED.
 */
import type { CampaignAccounting, CampaignStatus, DeliveryStatus } from '../model.ts';
import type { CampaignRecord } from '../ports.ts';

export type PairCounts = Record<DeliveryStatus, number>;
export type EventCounts = { bounced: number; complained: number; delivered: number; softBounced: number };

export function emptyEventCounts(): EventCounts {
  return { bounced: 0, complained: 0, delivered: 0, softBounced: 0 };
}

export function emptyPairCounts(): PairCounts {
  return { QUEUED: 0, SENDING: 0, SENT: 0, SKIPPED: 0, FAILED: 0, UNKNOWN: 0 };
}

/**
 * The audience N. While the fan-out runs it is the snapshot taken at start (or the enqueued count, if more were
 * enqueued); once the fan-out is complete it is exactly the number of recipients enqueued, which differs from the
 * snapshot only when subscribers confirmed or left during the fan-out.
 *
 * After a repair (`repairedAt`: a `resume` re-walked the confirmed index and gave every confirmed subscriber
 * without a final pair a QUEUED pair), every audience member has a pair, so N is the number of pairs (`pairs`,
 * when given). That count includes subscribers who confirmed after the snapshot and were reached by the repair
 * (counted, never uncounted extras), and no longer includes recipients whose queue message was lost and who left
 * the list before the repair (they received nothing and are no longer subscribed; nobody can name them).
 */
export function audienceOf(
  campaign: Pick<CampaignRecord, 'audience' | 'enqueued' | 'fanoutComplete' | 'repairedAt'>,
  pairs?: number,
): number {
  if (campaign.repairedAt && pairs !== undefined) return pairs;
  const enqueued = campaign.enqueued ?? 0;
  return campaign.fanoutComplete ? enqueued : Math.max(campaign.audience, enqueued);
}

export function computeAccounting(
  campaign: Pick<CampaignRecord, 'campaignId' | 'audience' | 'enqueued' | 'fanoutComplete' | 'status' | 'repairedAt'>,
  pairs: PairCounts,
  events: EventCounts,
): CampaignAccounting {
  const finals = pairs.SENT + pairs.SKIPPED + pairs.FAILED + pairs.UNKNOWN;
  const audience = audienceOf(campaign, finals + pairs.QUEUED + pairs.SENDING);
  return {
    campaignId: campaign.campaignId,
    audience,
    sent: pairs.SENT,
    skipped: pairs.SKIPPED,
    failed: pairs.FAILED,
    unknown: pairs.UNKNOWN,
    // Sanity check: more final pairs than N would mean someone outside the audience was handled. QUEUED never
    // goes negative, so the sum then exceeds N and `accountingAddsUp` reports it instead of hiding it.
    queued: Math.max(0, audience - finals),
    bounced: events.bounced,
    complained: events.complained,
    delivered: events.delivered,
    softBounced: events.softBounced,
    status: campaign.status as CampaignStatus,
  };
}

/** True when the invariant holds (it always should; the CLI exits non-zero when it does not). */
export function accountingAddsUp(a: CampaignAccounting): boolean {
  return a.sent + a.skipped + a.failed + a.unknown + a.queued === a.audience && a.queued >= 0;
}

/** Done when nothing is left to send, or parked waiting for `resume`. */
export function isSettled(a: CampaignAccounting): boolean {
  return a.queued === 0 || a.status === 'PAUSED';
}
