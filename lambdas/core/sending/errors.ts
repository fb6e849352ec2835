/**
 * How the worker reacts to a failed SendEmail. SES v2 errors are classified by their `name` (the SDK sets it to the
 * exception's name) and, for unnamed transport faults, by `$metadata.httpStatusCode`; errors without any answer
 * from SES by the Node.js error `code` and the SDK's NodeHttpHandler's messages (it passes socket errors through
 * unchanged, renames ECONNRESET / EPIPE / ETIMEDOUT to `TimeoutError` keeping their `code`, and names its own
 * connection and request timeouts `TimeoutError`).
 */

/**
 * - `throttling`: transient; give the claim back and retry the message later (SQS redelivery, with backoff).
 * - `message-fatal`: this one email can never be sent; record FAILED and never retry it.
 * - `campaign-fatal`: nothing can be sent right now (account paused, suspended, daily quota); pause the campaign,
 *   keep the remaining recipients QUEUED, and wait for an operator `resume`.
 * - `unsent`: the request never reached SES (connection refused, DNS failure, TLS handshake failure, no connection
 *   within the connect timeout). SES cannot have accepted it, so the claim is given back and the recipient is
 *   retried like a throttled one; when it persists the campaign is paused. Never UNKNOWN.
 * - `in-doubt`: the request may have reached SES and no answer came back (reset or timeout after connecting, a
 *   crash): SES may have accepted the email. The pair stays SENDING and the message is retried, so the retry
 *   records UNKNOWN instead of sending twice.
 */
export type SendErrorClass = 'throttling' | 'message-fatal' | 'campaign-fatal' | 'unsent' | 'in-doubt';

const THROTTLING = new Set(['TooManyRequestsException', 'ThrottlingException', 'Throttling', 'ServiceUnavailable', 'InternalFailure']);
const MESSAGE_FATAL = new Set(['MessageRejected', 'BadRequestException', 'MailFromDomainNotVerifiedException', 'InvalidParameterValue', 'NotFoundException']);
const CAMPAIGN_FATAL = new Set(['SendingPausedException', 'AccountSuspendedException', 'AccountSendingPausedException', 'ConfigurationSetSendingPausedException']);

/** True when the message says the 24-hour quota is used up (SES reports it as LimitExceeded or Throttling). */
function isDailyQuota(message: string): boolean {
  return /daily message quota|maximum sending quota|24.?hour/i.test(message);
}

/**
 * Socket error codes that only the connection itself can raise (refused, name resolution): no byte of the request
 * can have been sent. Retrying them can never send an email twice.
 */
const UNSENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EAI_NONAME']);
/**
 * Routing failures: unsent when the connect failed (`syscall: 'connect'`), but a reused keep-alive socket can raise
 * them after the request was written (a route lost mid-request), so without that proof they stay in doubt.
 */
const ROUTE_CODES = new Set(['EHOSTUNREACH', 'EHOSTDOWN', 'ENETUNREACH', 'ENETDOWN', 'EADDRNOTAVAIL']);
/**
 * Certificate verification and handshake failures (OpenSSL's codes as Node.js reports them): the TLS handshake never
 * completed. Not every ERR_SSL_ code: a record-layer error (ERR_SSL_DECRYPTION_FAILED_OR_BAD_RECORD_MAC) can come
 * after the request was written.
 */
const TLS_CERT_CODE =
  /^(ERR_TLS_CERT_|ERR_TLS_HANDSHAKE_TIMEOUT$|ERR_SSL_(WRONG_VERSION_NUMBER|UNSUPPORTED_PROTOCOL|NO_PROTOCOLS_AVAILABLE|TLSV1_ALERT_PROTOCOL_VERSION|[A-Z0-9_]*HANDSHAKE_FAILURE)$|CERT_|UNABLE_TO_(GET|VERIFY|DECRYPT)|DEPTH_ZERO_SELF_SIGNED_CERT$|SELF_SIGNED_CERT_IN_CHAIN$|HOSTNAME_MISMATCH$)/;
/** Messages of failures before the request was written: Node's TLS handshake reset, the SDK's connect timeout. */
const UNSENT_MESSAGE = /before secure TLS connection was established|did not establish a connection/i;

/**
 * True when the error proves the request never left this process for SES: refused or unroutable connection, DNS,
 * TLS handshake, connect timeout. A reset or timeout after connecting (ECONNRESET, EPIPE, the request timeout) is
 * not: the request may have been written and accepted.
 */
export function isUnsentError(err: unknown): boolean {
  const e = (err ?? {}) as { code?: unknown; message?: unknown; syscall?: unknown };
  const code = typeof e.code === 'string' ? e.code : '';
  const message = typeof e.message === 'string' ? e.message : '';
  if (UNSENT_CODES.has(code) || TLS_CERT_CODE.test(code)) return true;
  if (ROUTE_CODES.has(code)) return e.syscall === 'connect';
  // getaddrinfo failures carry the syscall even with an unusual code.
  if (e.syscall === 'getaddrinfo') return true;
  return UNSENT_MESSAGE.test(message);
}

/**
 * Classify a SendEmail failure. An error with an HTTP status is an answer from SES (429/5xx: throttling,
 * other 4xx: message-fatal); an error that proves the request never reached SES is `unsent`; any other error
 * without an answer is `in-doubt`.
 *
 * This relies on the SES client making one attempt per call (`maxAttempts: 1`, see worker.handler.ts): with the
 * SDK's own retries, the error seen here could be a refused retry of an attempt that SES had accepted.
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
  return isUnsentError(err) ? 'unsent' : 'in-doubt';
}

/** Short, single-line reason stored on a FAILED pair or a PAUSED campaign (no stack, bounded length). */
export function errorReason(err: unknown): string {
  const e = (err ?? {}) as { name?: unknown; message?: unknown };
  const name = typeof e.name === 'string' ? e.name : 'Error';
  const message = typeof e.message === 'string' ? e.message : String(err);
  return `${name}: ${message}`.replace(/\s+/g, ' ').slice(0, 300);
}
