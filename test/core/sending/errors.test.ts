import { describe, expect, it } from 'vitest';
import { classifySendError, errorReason, isUnsentError } from '../../../lambdas/core/sending/errors.ts';

const err = (name: string, status?: number, message = name) =>
  Object.assign(new Error(message), { name, ...(status ? { $metadata: { httpStatusCode: status } } : {}) });

const sesErr = (name: string, status: number) => Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status } });

describe('classifySendError', () => {
  it.each([
    ['TooManyRequestsException', 429, 'throttling'],
    ['ThrottlingException', 400, 'throttling'],
    ['LimitExceededException', 400, 'throttling'],
    ['InternalFailure', 500, 'throttling'],
    ['SomethingElse', 503, 'throttling'],
    ['MessageRejected', 400, 'message-fatal'],
    ['BadRequestException', 400, 'message-fatal'],
    ['MailFromDomainNotVerifiedException', 400, 'message-fatal'],
    ['SendingPausedException', 400, 'campaign-fatal'],
    ['AccountSuspendedException', 400, 'campaign-fatal'],
  ] as const)('%s (%i) → %s', (name, status, expected) => {
    expect(classifySendError(err(name, status))).toBe(expected);
  });

  it('the daily quota is campaign-fatal whatever the error name', () => {
    expect(classifySendError(err('LimitExceededException', 400, 'Daily message quota exceeded.'))).toBe('campaign-fatal');
    expect(classifySendError(err('Throttling', 400, 'Maximum sending quota exceeded'))).toBe('campaign-fatal');
  });

  it('no answer after the request may have been written (reset, request timeout, crash) is in-doubt, never a plain retry', () => {
    expect(classifySendError(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }))).toBe('in-doubt');
    // NodeHttpHandler renames ECONNRESET / EPIPE / ETIMEDOUT to TimeoutError and keeps the code.
    expect(classifySendError(Object.assign(new Error('write EPIPE'), { name: 'TimeoutError', code: 'EPIPE' }))).toBe('in-doubt');
    expect(classifySendError(Object.assign(new Error('read ECONNRESET'), { name: 'TimeoutError', code: 'ECONNRESET' }))).toBe('in-doubt');
    expect(classifySendError(Object.assign(
      new Error('@smithy/node-http-handler - [ERROR] a request has exceeded the configured 10000 ms requestTimeout.'),
      { name: 'TimeoutError', code: 'ETIMEDOUT' },
    ))).toBe('in-doubt');
    expect(classifySendError(undefined)).toBe('in-doubt');
    expect(classifySendError('weird')).toBe('in-doubt');
  });

  it.each([
    ['ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:443', 'connect'],
    ['ENOTFOUND', 'getaddrinfo ENOTFOUND email.us-east-1.amazonaws.com', 'getaddrinfo'],
    ['EAI_AGAIN', 'getaddrinfo EAI_AGAIN email.us-east-1.amazonaws.com', 'getaddrinfo'],
    ['EHOSTUNREACH', 'connect EHOSTUNREACH 10.0.0.1:443', 'connect'],
    ['ENETUNREACH', 'connect ENETUNREACH 10.0.0.1:443', 'connect'],
    ['CERT_HAS_EXPIRED', 'certificate has expired', undefined],
    ['ERR_TLS_CERT_ALTNAME_INVALID', "Hostname/IP does not match certificate's altnames", undefined],
    ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'unable to verify the first certificate', undefined],
    ['DEPTH_ZERO_SELF_SIGNED_CERT', 'self-signed certificate', undefined],
  ] as const)('%s before the request was sent is unsent (retry, never UNKNOWN)', (code, message, syscall) => {
    expect(classifySendError(Object.assign(new Error(message), { code, ...(syscall ? { syscall } : {}) }))).toBe('unsent');
  });

  it('a lost route or a TLS record error on a socket that may have carried the request is in doubt, not unsent', () => {
    for (const code of ['EHOSTUNREACH', 'ENETUNREACH']) {
      expect(classifySendError(Object.assign(new Error(`read ${code}`), { code, syscall: 'read' })), code).toBe('in-doubt');
      expect(classifySendError(Object.assign(new Error(code), { code })), code).toBe('in-doubt');
    }
    const badRecord = Object.assign(new Error('decryption failed or bad record mac'), { code: 'ERR_SSL_DECRYPTION_FAILED_OR_BAD_RECORD_MAC' });
    expect(classifySendError(badRecord)).toBe('in-doubt');
    expect(classifySendError(Object.assign(new Error('wrong version number'), { code: 'ERR_SSL_WRONG_VERSION_NUMBER' }))).toBe('unsent');
  });

  it('the TLS handshake reset and the SDK connect timeout are unsent; a reset after connecting is not', () => {
    const tlsReset = Object.assign(new Error('Client network socket disconnected before secure TLS connection was established'), {
      name: 'TimeoutError', code: 'ECONNRESET',
    });
    expect(classifySendError(tlsReset)).toBe('unsent');
    const connectTimeout = Object.assign(new Error(
      '@smithy/node-http-handler - the request socket did not establish a connection with the server within the configured timeout of 3000 ms.',
    ), { name: 'TimeoutError' });
    expect(classifySendError(connectTimeout)).toBe('unsent');
    expect(isUnsentError(Object.assign(new Error('socket hang up'), { name: 'TimeoutError', code: 'ECONNRESET' }))).toBe(false);
  });

  it('an answer from SES wins over a transport code', () => {
    expect(classifySendError(Object.assign(sesErr('MessageRejected', 400), { code: 'ECONNREFUSED' }))).toBe('message-fatal');
  });

  it('errorReason is one bounded line', () => {
    const r = errorReason(err('MessageRejected', 400, `bad\naddress ${'x'.repeat(1000)}`));
    expect(r).not.toContain('\n');
    expect(r.length).toBeLessThanOrEqual(300);
    expect(r.startsWith('MessageRejected: bad address')).toBe(true);
  });
});
