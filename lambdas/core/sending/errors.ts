/**
 * How the worker reacts to a failed SendEmail. SES v2 errors are classified by their `name` (the SDK sets it to the
 * exception's name) and, for unnamed transport faults, by `$metadata.httpStatusCode`.
 */

/**
 * - `throttling`: transient; give the claim back and retry the message later (SQS redelivery, with backoff).
 * - `message-fatal`: this one email can never be sent; record FAILED and never retry it.
 * - `campaign-fatal`: nothing can be sent right now (account paused, suspended, daily quota); pause the campaign,
 *   keep the remaining recipients QUEUED, and wait for an operator `resume`.
 * - `in-doubt`: no answer from SES at all (connection reset, timeout, a crash): SES may have accepted the email.
 *   The pair stays SENDING and the message is retried, so the retry records UNKNOWN instead of sending twice.
 */
export type SendErrorClass = 'throttling' | 'message-fatal' | 'campaign-fatal' | 'in-doubt';

const THROTTLING = new Set(['TooManyRequestsException', 'ThrottlingException', 'Throttling', 'ServiceUnavailable', 'InternalFailure']);
const MESSAGE_FATAL = new Set(['MessageRejected', 'BadRequestException', 'MailFromDomainNotVerifiedException', 'InvalidParameterValue', 'NotFoundException']);
const CAMPAIGN_FATAL = new Set(['SendingPausedException', 'AccountSuspendedException', 'AccountSendingPausedException', 'ConfigurationSetSendingPausedException']);

/** True when the message says the 24-hour quota is used up (SES reports it as LimitExceeded or Throttling). */
function isDailyQuota(message: string): boolean {
  return /daily message quota|maximum sending quota|24.?hour/i.test(message);
}

/**
 * Classify a SendEmail failure. An error with an HTTP status is an answer from SES (429/5xx: throttling,
 * other 4xx: message-fatal); an error without one never reached an answer and is `in-doubt`.
 */
export function classifySendError(err: unknown): SendErrorClass {
  const e = (err ?? {}) as { name?: unknown; message?: unknown; $metadata?: { httpStatusCode?: number } };
  const name = typeof e.name === 'string' ? e.name : '';
  const message = typeof e.message === 'string' ? e.message : '';
  if (CAMPAIGN_FATAL.has(name) || isDailyQuota(message)) return 'campaign-fatal';
  if (THROTTLING.has(name)) return 'throttling';
  // LimitExceeded is a per-second burst unless its message names the daily quota (checked above).
  if (name === 'LimitExceededException') return 'throttling';
  if (MESSAGE_FATAL.has(name)) return 'message-fatal';
  const status = e.$metadata?.httpStatusCode;
  if (typeof status === 'number') {
    if (status === 429 || status >= 500) return 'throttling';
    if (status >= 400) return 'message-fatal';
  }
  return 'in-doubt';
}

/** Short, single-line reason stored on a FAILED pair or a PAUSED campaign (no stack, bounded length). */
export function errorReason(err: unknown): string {
  const e = (err ?? {}) as { name?: unknown; message?: unknown };
  const name = typeof e.name === 'string' ? e.name : 'Error';
  const message = typeof e.message === 'string' ? e.message : String(err);
  return `${name}: ${message}`.replace(/\s+/g, ' ').slice(0, 300);
}
