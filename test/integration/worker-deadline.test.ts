/**
 * The worker's deadline on the local stack: a send rate far too slow for the function's timeout (as a 1/s SES
 * sandbox account is for a 300 s Lambda), scaled down to a 1.5 s local timeout. Every invocation stops claiming
 * before its deadline and returns the unfinished messages; each receive makes progress, so no message is given
 * up, paused or dead-lettered, however many receives it needs.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { AttachedSending } from '../../lambdas/local/sending.ts';
import {
  attach, audienceOf, expectEveryoneOnceUnknownOnlyInFlight, issueMarkdown, RecordingMailer, resetEmulators, seed,
  sesMailerAt, settle, startSendEnv,
} from './send-helpers.ts';

let env: Awaited<ReturnType<typeof startSendEnv>>;
let sending: AttachedSending | undefined;

beforeAll(async () => {
  env = await startSendEnv();
});
afterAll(async () => {
  await env.stop();
});
beforeEach(async () => {
  await resetEmulators(env.emulators);
});
afterEach(async () => {
  await sending?.stop();
  sending = undefined;
});

describe('worker deadline (short remaining time)', () => {
  it('a rate too slow for the timeout: 500 recipients over many receives, exactly one email each, zero UNKNOWN, no pause, empty DLQ', async () => {
    const mailer = new RecordingMailer(() => ses);
    const ses = sesMailerAt(env.emulators.sesEndpoint);
    const deadlines: Array<Record<string, unknown> | undefined> = [];
    sending = attach(env, {
      mailer,
      // 80 emails/s for 10 messages of 50 at once: about 80 per 1 s of sending time, so each message needs ~7 receives.
      maxSendRate: 100,
      queue: { timeoutMs: 1500, visibilityTimeoutMs: 20, maxReceiveCount: 100, concurrency: 1 },
      deadlineMarginMs: 500,
      maxIdleReceives: 3,
      log: {
        info: (message, detail) => (message.startsWith('deadline near') ? deadlines.push(detail) : undefined),
        warn: () => undefined,
        error: () => undefined,
      },
    });
    const people = audienceOf(500, 'slow.test');
    await seed(sending, people);
    expect((await sending.invokeSend({ issue: { markdown: issueMarkdown('slow-1') }, mode: 'send' })).status).toBe('complete');
    const a = await settle(sending, 'slow-1');

    // The deadline really cut receives short, and more than 5 receives (the AWS queue's old redrive count) were needed.
    expect(deadlines.length).toBeGreaterThan(10);
    expect(deadlines.every((d) => typeof d?.campaignId === 'string')).toBe(true);
    expect(a.status).toBe('SENT');
    expect(sending.queue.deadLetters).toEqual([]);
    expect(sending.queue.timedOut).toBe(0);
    const { unknown } = await expectEveryoneOnceUnknownOnlyInFlight(
      sending, env.emulators.sesEndpoint, 'slow-1', people.map((p) => p.email), new Set(),
    );
    expect(unknown).toEqual([]);
    expect(a).toMatchObject({ audience: 500, sent: 500, unknown: 0, queued: 0 });
    // Nobody was asked of SES twice: a redelivered message skips the recipients earlier receives finished.
    expect(mailer.started).toHaveLength(500);
  });
});
