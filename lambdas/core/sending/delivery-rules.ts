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
    case 'FAILED':
      // UNKNOWN too: a definite answer (SES's reply to a slow first attempt, a Send or Reject event) knows better
      // than a retry that gave up. Never over another final state: SENT and FAILED do not replace each other.
      return ['SENDING', 'UNKNOWN'];
    case 'UNKNOWN':
      // Only over a claim: the pair was claimed and its SES outcome is in doubt (a retry found it SENDING, or the
      // subscriber left before the retry, see worker.ts).
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
