/**
 * SES event handling: the configuration set publishes to EventBridge's default bus, whose rule routes Bounce,
 * Complaint, Reject and Send events here (infra/stateless-stack.ts). SNS-wrapped events are accepted too.
 *
 * - Permanent bounce → subscriber `bounced`; complaint → `complained`: both suppressions exclude every later send.
 * - Transient bounce → only counted. Delivery → counted (if routed here; the deployed rule does not route it).
 * - Send → reconciles a pair SES sent but our records do not show as sent (SENDING or UNKNOWN) to SENT. It reads
 *   the pair first and writes only then: almost every Send event finds the pair SENT already.
 * - Reject (SES accepted the call, then refused the message, e.g. a virus) → the pair becomes FAILED
 *   (message-fatal) unless it is already final as SENT/SKIPPED/FAILED; an in-doubt UNKNOWN one becomes FAILED.
 * - Idempotent: each (campaign, type, recipient, feedback/message id) is counted once, and suppression is idempotent.
 * - Bad input never throws: malformed or unknown events are counted and ignored. Only storage faults throw
 *   (so the platform retries them).
 */
import type { CampaignRepository, Clock, SubscriberRepository } from '../ports.ts';
import { normalizeEmail } from '../subscribers/email.ts';

export interface SesEventDeps {
  subscribers: Pick<SubscriberRepository, 'suppress'>;
  campaigns: Pick<CampaignRepository, 'recordEvent' | 'recordDelivery' | 'deliveryStatus'>;
  clock: Clock;
}

export interface SesEventSummary {
  events: number;
  bounced: number;
  softBounced: number;
  complained: number;
  delivered: number;
  /** Pairs a Send event settled as SENT (they were SENDING or UNKNOWN). */
  reconciled: number;
  /** Pairs a Reject event settled as FAILED (those not final yet). */
  rejected: number;
  duplicates: number;
  ignored: number;
  malformed: number;
}

/** A parsed SES event, reduced to what we use. */
interface SesEvent {
  type: string;
  messageId: string;
  campaignId?: string;
  raw: Record<string, unknown>;
}

function asObject(v: unknown): Record<string, unknown> | undefined {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

function parseJson(v: unknown): unknown {
  if (typeof v !== 'string') return v;
  try {
    return JSON.parse(v);
  } catch {
    return undefined;
  }
}

/**
 * Unwrap whatever arrived into plain SES event objects: an SNS Lambda event (Records[].Sns.Message as JSON),
 * an EventBridge event (`detail`), an SQS-wrapped SNS message, a bare SES event, or an array of those.
 * Anything unrecognisable becomes `undefined` (counted as malformed).
 */
export function unwrapSesEvents(input: unknown): Array<Record<string, unknown> | undefined> {
  const value = parseJson(input);
  if (Array.isArray(value)) return value.flatMap((v) => unwrapSesEvents(v));
  const obj = asObject(value);
  if (!obj) return [undefined];
  if (Array.isArray(obj.Records)) {
    return obj.Records.flatMap((r) => {
      const rec = asObject(r);
      const sns = asObject(rec?.Sns);
      if (sns) return unwrapSesEvents(sns.Message);
      if (typeof rec?.body === 'string') return unwrapSesEvents(rec.body);
      return [undefined];
    });
  }
  if (obj.Type === 'Notification' && typeof obj.Message === 'string') return unwrapSesEvents(obj.Message);
  if (asObject(obj.detail) && (typeof obj.source === 'string' || typeof obj['detail-type'] === 'string')) {
    return unwrapSesEvents(obj.detail);
  }
  return [obj];
}

function toSesEvent(obj: Record<string, unknown> | undefined): SesEvent | undefined {
  if (!obj) return undefined;
  const type = typeof obj.eventType === 'string' ? obj.eventType : typeof obj.notificationType === 'string' ? obj.notificationType : undefined;
  const mail = asObject(obj.mail);
  const messageId = mail?.messageId;
  if (!type || typeof messageId !== 'string' || !messageId) return undefined;
  const tags = asObject(mail?.tags);
  const campaign = Array.isArray(tags?.campaign) ? tags.campaign[0] : undefined;
  return { type, messageId, raw: obj, ...(typeof campaign === 'string' && campaign ? { campaignId: campaign } : {}) };
}

/** Recipient addresses of a list like bounce.bouncedRecipients: [{emailAddress}], normalized, invalid ones dropped. */
function addresses(list: unknown): string[] {
  if (!Array.isArray(list)) return [];
  const out = new Set<string>();
  for (const item of list) {
    const raw = typeof item === 'string' ? item : asObject(item)?.emailAddress;
    const check = normalizeEmail(raw);
    if (check.ok) out.add(check.email);
  }
  return [...out];
}

/** Handle one delivery of events (any wrapping). Returns what was done; never throws on bad input. */
export async function handleSesEvents(deps: SesEventDeps, input: unknown): Promise<SesEventSummary> {
  const summary: SesEventSummary = {
    events: 0, bounced: 0, softBounced: 0, complained: 0, delivered: 0, reconciled: 0, rejected: 0, duplicates: 0, ignored: 0,
    malformed: 0,
  };
  for (const raw of unwrapSesEvents(input)) {
    const event = toSesEvent(raw);
    if (!event) {
      summary.malformed++;
      continue;
    }
    summary.events++;
    const now = deps.clock.now();
    const count = async (type: 'bounced' | 'complained' | 'delivered' | 'softBounced', email: string, id: string) => {
      if (!event.campaignId) return true;
      const fresh = await deps.campaigns.recordEvent(event.campaignId, type, email, id);
      if (!fresh) summary.duplicates++;
      return fresh;
    };
    switch (event.type) {
      case 'Bounce': {
        const bounce = asObject(event.raw.bounce);
        const id = typeof bounce?.feedbackId === 'string' ? bounce.feedbackId : event.messageId;
        const permanent = bounce?.bounceType === 'Permanent';
        const recipients = addresses(bounce?.bouncedRecipients);
        if (!bounce || recipients.length === 0) {
          summary.malformed++;
          break;
        }
        for (const email of recipients) {
          if (permanent) {
            await deps.subscribers.suppress(email, 'bounced', now);
            if (await count('bounced', email, id)) summary.bounced++;
          } else if (await count('softBounced', email, id)) summary.softBounced++;
        }
        break;
      }
      case 'Complaint': {
        const complaint = asObject(event.raw.complaint);
        const id = typeof complaint?.feedbackId === 'string' ? complaint.feedbackId : event.messageId;
        const recipients = addresses(complaint?.complainedRecipients);
        if (!complaint || recipients.length === 0) {
          summary.malformed++;
          break;
        }
        for (const email of recipients) {
          await deps.subscribers.suppress(email, 'complained', now);
          if (await count('complained', email, id)) summary.complained++;
        }
        break;
      }
      case 'Delivery': {
        for (const email of addresses(asObject(event.raw.delivery)?.recipients)) {
          if (await count('delivered', email, event.messageId)) summary.delivered++;
        }
        break;
      }
      case 'Send': {
        // SES did send it. A pair still SENDING (crash between SES accepting and the SENT write) or UNKNOWN (a retry
        // that gave up) becomes SENT. Every email produces a Send event and nearly all find the pair SENT, so a
        // cheap eventually consistent read (0.5 RRU) decides, and only those pairs cost a write (1 WRU). The read
        // skips the write only when it shows a state that is never left (SENT, FAILED, SKIPPED), so a stale one is
        // still true; anything else (absent or QUEUED from before the worker's claim) tries the guarded write.
        if (!event.campaignId) break;
        const mail = asObject(event.raw.mail);
        for (const email of addresses(mail?.destination)) {
          const status = await deps.campaigns.deliveryStatus(event.campaignId, email);
          if (status === 'SENT' || status === 'FAILED' || status === 'SKIPPED') continue;
          if (await deps.campaigns.recordDelivery(event.campaignId, email, 'SENT', { messageId: event.messageId })) {
            summary.reconciled++;
          }
        }
        break;
      }
      case 'Reject': {
        // SES accepted SendEmail (so the worker may have recorded SENT, which stays) but never delivered it. The
        // guard (delivery-rules.ts) applies FAILED only over SENDING or UNKNOWN: a crash left the pair claimed, or
        // the retry recorded it in doubt; either way nobody was emailed, and FAILED is never retried.
        if (!event.campaignId) break;
        const reason = asObject(event.raw.reject)?.reason;
        const error = `SES rejected the message${typeof reason === 'string' ? `: ${reason.slice(0, 200)}` : ''}`;
        for (const email of addresses(asObject(event.raw.mail)?.destination)) {
          if (await deps.campaigns.recordDelivery(event.campaignId, email, 'FAILED', { messageId: event.messageId, error })) {
            summary.rejected++;
          }
        }
        break;
      }
      default:
        summary.ignored++;
    }
  }
  return summary;
}
