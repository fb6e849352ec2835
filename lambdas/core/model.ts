/**
 * The domain's vocabulary, shared by every layer. Pure types: no AWS, no I/O.
 * Names follow what a listmonk or Mailchimp user would recognise: subscriber, campaign, delivery, bounce, complaint.
 */

/** Lifecycle of a subscriber. Only `confirmed` subscribers are ever sent a campaign. */
export type SubscriberStatus = 'pending' | 'confirmed' | 'unsubscribed' | 'bounced' | 'complained';

/** How and when the subscriber agreed to receive email (kept for GDPR / CAN-SPAM records). */
export interface Consent {
  /** ISO-8601 time of consent (the confirmation time for double opt-in, the import time for imports). */
  at: string;
  /** How consent was given. */
  method: 'double-opt-in' | 'import' | 'api';
  /** Where: the form's source field, or the operator's `--consent-source` text (e.g. `demo`). */
  source: string;
}

export interface Subscriber {
  /**
   * Normalized address (trimmed, domain lower-cased and punycoded) as the subscriber first spelled it, for display
   * and sending. The key is its identity, `identityKey(email)` (the whole address lower-cased): case variants are
   * the same subscriber.
   */
  email: string;
  status: SubscriberStatus;
  name?: string;
  attributes?: Record<string, string>;
  /** ISO-8601 timestamps. */
  createdAt: string;
  updatedAt: string;
  confirmedAt?: string;
  unsubscribedAt?: string;
  /** Last confirmation email sent (rate limit: one per address per 10 minutes). */
  confirmationSentAt?: string;
  consent?: Consent;
  /** Epoch seconds after which a `pending` record is dead (DynamoDB TTL attribute). Absent otherwise. */
  expiresAt?: number;
}

/** Campaign = one issue sent to the audience. Identified by the slug. */
export type CampaignStatus = 'DRAFT' | 'SENDING' | 'PAUSED' | 'SENT';

/** State of one (campaign, subscriber) pair. */
export type DeliveryStatus = 'QUEUED' | 'SENDING' | 'SENT' | 'SKIPPED' | 'FAILED' | 'UNKNOWN';

/** The accounting an operator sees. Invariant: sent + skipped + failed + unknown + queued === audience. */
export interface CampaignAccounting {
  campaignId: string;
  audience: number;
  sent: number;
  skipped: number;
  failed: number;
  unknown: number;
  queued: number;
  bounced: number;
  complained: number;
  delivered?: number;
  /** Transient (soft) bounces: counted only, the subscriber stays confirmed. */
  softBounced?: number;
  status?: CampaignStatus;
}

/** Per-recipient values filled into an already-compiled issue by the cheap personalization pass. */
export interface RecipientData {
  /** Absolute URL of the unsubscribe page, carrying a signed `unsubscribe` token. */
  unsubscribeUrl: string;
  /** Absolute URL of the web version (`/archive/<slug>`): no personal data. */
  viewInBrowserUrl: string;
  /** Subscriber's name when known. Always HTML-escaped by the pass. */
  name?: string;
  email?: string;
  /** Custom attributes from the import (`{{attributes.tier}}` in an issue body). Always HTML-escaped by the pass. */
  attributes?: Readonly<Record<string, string>>;
}

/** An email ready for the transport. */
export interface OutboundEmail {
  from: string;
  to: string;
  subject: string;
  html: string;
  text: string;
  /** Extra headers, e.g. List-Unsubscribe and List-Unsubscribe-Post (RFC 8058). */
  headers?: Record<string, string>;
  /** SES EmailTags: names and values limited to [A-Za-z0-9_-]. */
  tags?: Record<string, string>;
  configurationSet?: string;
}
