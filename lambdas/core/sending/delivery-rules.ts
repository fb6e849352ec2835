/**
 * Which recorded states may replace which: the guard every CampaignRepository applies to `recordDelivery`, so a
 * late or duplicate write never downgrades a final state (e.g. a SKIPPED for an already SENT pair).
 */
import type { DeliveryStatus } from '../model.ts';

export type PairState = DeliveryStatus | 'ABSENT';

/** States a pair may be in for `recordDelivery(status)` to apply; otherwise the write is a no-op. */
export function allowedFrom(status: Exclude<DeliveryStatus, 'QUEUED'> | DeliveryStatus): PairState[] {
  switch (status) {
    case 'SKIPPED':
      // Never from SENDING: a SKIPPED there could hide an email that an in-flight claim is sending right now.
      return ['ABSENT', 'QUEUED'];
    case 'SENT':
      // UNKNOWN too: a slow first attempt that finally gets SES's answer knows better than a retry that gave up.
      return ['SENDING', 'UNKNOWN'];
    case 'FAILED':
    case 'UNKNOWN':
      return ['SENDING'];
    case 'QUEUED':
      return ['ABSENT'];
    case 'SENDING':
      return ['ABSENT', 'QUEUED'];
  }
}

/**
 * The state an erased subscriber's anonymous pair keeps (right to erasure). Not-yet-final pairs become final so
 * `resume` never picks them up: a QUEUED one was never sent (SKIPPED); a SENDING one may have been (UNKNOWN).
 */
export function erasedStatus(status: DeliveryStatus): DeliveryStatus {
  if (status === 'QUEUED') return 'SKIPPED';
  if (status === 'SENDING') return 'UNKNOWN';
  return status;
}
