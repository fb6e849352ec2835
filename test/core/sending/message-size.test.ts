import { describe, expect, it } from 'vitest';
import { recipientsPerMessage } from '../../../lambdas/core/sending/message-size.ts';

/** Seconds one worker invocation needs for a full batch of messages at its share of the paced rate. */
function invocationSeconds(o: { sendRate: number; workerConcurrency: number; messagesPerInvocation: number }): number {
  return (o.messagesPerInvocation * recipientsPerMessage(o)) / (o.sendRate / o.workerConcurrency);
}

describe('recipientsPerMessage', () => {
  it('is 50 at the SES production default (14/s × 0.8, 2 workers, batches of 10)', () => {
    expect(recipientsPerMessage({ sendRate: 11.2, workerConcurrency: 2, workerTimeoutSeconds: 300, messagesPerInvocation: 10 })).toBe(50);
  });

  it('shrinks messages for a 1/s account (0.8/s paced) so a worker’s batch fits in half its timeout', () => {
    const sizing = { sendRate: 0.8, workerConcurrency: 2, workerTimeoutSeconds: 300, messagesPerInvocation: 10 };
    expect(recipientsPerMessage(sizing)).toBe(6);
    expect(invocationSeconds(sizing)).toBeLessThanOrEqual(150);
  });

  it('a batch at the per-worker pace always fits in half the timeout, across rates, concurrencies and batch sizes', () => {
    for (const sendRate of [0.8, 1.6, 4, 11.2, 40, 80, 400]) {
      for (const workerConcurrency of [1, 2, 5, 10, 40]) {
        for (const messagesPerInvocation of [1, 3, 10]) {
          const n = recipientsPerMessage({ sendRate, workerConcurrency, workerTimeoutSeconds: 300, messagesPerInvocation });
          expect(Number.isInteger(n) && n >= 1 && n <= 50).toBe(true);
          // Whenever more than one recipient fits, the batch fits the budget (one recipient is the floor).
          if (n > 1) expect(invocationSeconds({ sendRate, workerConcurrency, messagesPerInvocation })).toBeLessThanOrEqual(150);
        }
      }
    }
  });

  it('never goes below 1 or above 50', () => {
    expect(recipientsPerMessage({ sendRate: 0.01, workerConcurrency: 100 })).toBe(1);
    expect(recipientsPerMessage({ sendRate: 5000 })).toBe(50);
  });

  it('uses the deployed defaults when the sizing is absent (1 worker, 300 s, batches of 10, half the timeout)', () => {
    // 0.8/s × 150 s / 10 messages = 12.
    expect(recipientsPerMessage({ sendRate: 0.8 })).toBe(12);
    expect(recipientsPerMessage({ sendRate: 0.8, timeoutShare: 1 })).toBe(24);
  });

  it('treats a rate or setting that is not a positive number as the conservative default, never 0 or NaN', () => {
    expect(recipientsPerMessage({ sendRate: Number.NaN })).toBe(15); // the 1/s fallback: 1 × 150 / 10
    expect(recipientsPerMessage({ sendRate: 0 })).toBe(15);
    expect(recipientsPerMessage({ sendRate: 0.8, workerConcurrency: 0, messagesPerInvocation: -3, workerTimeoutSeconds: Number.POSITIVE_INFINITY })).toBe(12);
  });
});
