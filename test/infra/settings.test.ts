/** Deployment settings from CDK context (infra/settings.ts): validation and the worker sizing derived from the send rate. */
import { describe, expect, it } from 'vitest';
import {
  RECIPIENTS_PER_MESSAGE, SettingsError, WORKER_TIMEOUT_SECONDS, parseSettings, workerSizing, type ContextKey,
} from '../../infra/settings.ts';

const read = (values: Partial<Record<ContextKey, unknown>>) => (key: ContextKey) => values[key];
const required = { sender: 'News <news@example.com>', postalAddress: '1 Main St, Springfield' };

describe('parseSettings', () => {
  it('reads -c strings and applies the defaults', () => {
    const s = parseSettings(read({ ...required, sendRate: '50', allowedOrigin: 'https://example.com' }));
    expect(s).toMatchObject({
      senderEmail: 'news@example.com', senderDomain: 'example.com', sendRate: 50, sendRateFraction: 0.8,
      allowedOrigin: 'https://example.com', apiRateLimit: 10, apiBurstLimit: 20, stackPrefix: 'Newsletter',
    });
    expect(s.domain).toBeUndefined();
  });

  it('lists every problem in one error', () => {
    let err: unknown;
    try {
      parseSettings(read({ sendRate: 'fast', allowedOrigin: 'https://example.com/path', domain: 'Not A Domain' }));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SettingsError);
    const lines = (err as Error).message.split('\n').slice(1);
    expect(lines.map((l) => l.trim().split(':')[0])).toEqual(
      expect.arrayContaining(['-c sender', '-c postalAddress', '-c sendRate', '-c allowedOrigin', '-c domain']),
    );
  });

  it('refuses a sender outside the given domain (SES would reject every send)', () => {
    expect(() => parseSettings(read({ ...required, domain: 'example.org' }))).toThrow(/example\.com is not example\.org/);
    expect(parseSettings(read({ ...required, sender: 'news@mail.example.org', domain: 'example.org' })).domain).toBe('example.org');
  });
});

describe('workerSizing', () => {
  it('grows maxConcurrency with the send rate, between the SQS minimum of 2 and a cap of 100', () => {
    const concurrency = (sendRate: number | undefined) => workerSizing({ sendRate, sendRateFraction: 0.8 }).maxConcurrency;
    expect(concurrency(undefined)).toBe(2); // SES's default 14/s x 0.8 = 11.2/s
    expect(concurrency(50)).toBe(4);
    expect(concurrency(500)).toBe(40);
    expect(concurrency(5000)).toBe(100);
    const rates = [1, 14, 50, 100, 200, 1000, 5000];
    const sized = rates.map(concurrency);
    expect(sized).toEqual([...sized].sort((a, b) => a - b));
  });

  it('sizes a batch so one worker can send it at its pace within half the worker timeout', () => {
    for (const sendRate of [1, 14, 50, 500, 5000]) {
      const { rate, maxConcurrency, batchSize } = workerSizing({ sendRate, sendRateFraction: 0.8 });
      expect(batchSize).toBeGreaterThanOrEqual(1);
      expect(batchSize).toBeLessThanOrEqual(10);
      const seconds = (batchSize * RECIPIENTS_PER_MESSAGE) / (rate / maxConcurrency);
      // A single message (the floor) must at least fit in the whole timeout.
      expect(seconds, `sendRate ${sendRate}`).toBeLessThanOrEqual(batchSize > 1 ? WORKER_TIMEOUT_SECONDS / 2 : WORKER_TIMEOUT_SECONDS);
    }
  });
});
