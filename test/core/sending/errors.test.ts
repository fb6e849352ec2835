import { describe, expect, it } from 'vitest';
import { classifySendError, errorReason } from '../../../lambdas/core/sending/errors.ts';

const err = (name: string, status?: number, message = name) =>
  Object.assign(new Error(message), { name, ...(status ? { $metadata: { httpStatusCode: status } } : {}) });

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

  it('no answer from SES at all (network error, crash) is in-doubt, never a plain retry', () => {
    expect(classifySendError(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }))).toBe('in-doubt');
    expect(classifySendError(undefined)).toBe('in-doubt');
    expect(classifySendError('weird')).toBe('in-doubt');
  });

  it('errorReason is one bounded line', () => {
    const r = errorReason(err('MessageRejected', 400, `bad\naddress ${'x'.repeat(1000)}`));
    expect(r).not.toContain('\n');
    expect(r.length).toBeLessThanOrEqual(300);
    expect(r.startsWith('MessageRejected: bad address')).toBe(true);
  });
});
