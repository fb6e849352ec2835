/**
 * SES unreachable mid-send, for real: the worker's SES client is switched to a port where nothing listens (the
 * SDK gets a genuine ECONNREFUSED from the kernel), then back to aws-ses-v2-local. A refused connection never
 * reaches SES, so no pair may become UNKNOWN: the claim is given back and the recipient retried; a short outage is
 * ridden out, a persistent one pauses the campaign with the reason, and `resume` finishes it.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { AttachedSending } from '../../lambdas/local/sending.ts';
import {
  attach, audienceOf, closedPort, expectEveryoneOnceUnknownOnlyInFlight, issueMarkdown, RecordingMailer, resetEmulators,
  seed, sesMailerAt, settle, startSendEnv,
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

/** Poll until `check` holds (a condition, not a duration). */
async function waitFor(check: () => boolean | Promise<boolean>): Promise<void> {
  while (!(await check())) await new Promise((r) => setTimeout(r, 10));
}

/** SES goes away after `upFor` answered calls, until `restore()`; the rest of the time it is the emulator. */
async function flakySes(upFor: number) {
  const good = sesMailerAt(env.emulators.sesEndpoint);
  const down = sesMailerAt(`http://127.0.0.1:${await closedPort()}`);
  let restored = false;
  const mailer: RecordingMailer = new RecordingMailer(() => (mailer.answered.length >= upFor && !restored ? down : good));
  const refused = () => mailer.errors.filter((e) => e.code === 'ECONNREFUSED').length;
  const inFlight = () => {
    const done = new Set([...mailer.answered, ...mailer.errors.map((e) => e.to)]);
    return new Set(mailer.started.filter((e) => !done.has(e)));
  };
  return { mailer, refused, inFlight, restore: () => (restored = true) };
}

describe('SES unreachable mid-send (a real refused connection)', () => {
  it('a short outage is retried in place and by redelivery: everyone gets exactly one email, nothing UNKNOWN, no pause', async () => {
    const ses = await flakySes(10);
    sending = attach(env, { mailer: ses.mailer, maxSendRate: 100, workerConcurrency: 4, maxIdleReceives: 50 });
    const people = audienceOf(40, 'blip.test');
    await seed(sending, people);
    // The outage lasts until SES has refused 12 calls: longer than one lane's in-place retries, so some messages
    // go back to the queue too.
    void waitFor(() => ses.refused() >= 12).then(ses.restore);
    expect((await sending.invokeSend({ issue: { markdown: issueMarkdown('blip-1') }, mode: 'send' })).status).toBe('complete');
    await settle(sending, 'blip-1');
    expect(ses.refused()).toBeGreaterThanOrEqual(12);
    const { accounting, unknown } = await expectEveryoneOnceUnknownOnlyInFlight(
      sending, env.emulators.sesEndpoint, 'blip-1', people.map((p) => p.email), new Set(),
    );
    expect(unknown).toEqual([]);
    expect(accounting).toMatchObject({ audience: 40, sent: 40, unknown: 0, queued: 0, status: 'SENT' });
    expect(sending.queue.deadLetters).toEqual([]);
  });

  it('a persistent outage pauses the campaign naming the refused connection (never UNKNOWN); resume finishes it exactly once', async () => {
    const ses = await flakySes(15);
    sending = attach(env, { mailer: ses.mailer, maxSendRate: 100, workerConcurrency: 4, maxIdleReceives: 3 });
    const people = audienceOf(60, 'down.test');
    await seed(sending, people);
    expect((await sending.invokeSend({ issue: { markdown: issueMarkdown('down-1') }, mode: 'send' })).status).toBe('complete');
    await waitFor(async () => (await sending!.campaigns.get('down-1'))?.status === 'PAUSED');
    await sending.drain();
    const paused = (await sending.campaigns.get('down-1'))!;
    expect(paused.pausedReason).toMatch(/SES unreachable/);
    expect(paused.pausedReason).toMatch(/ECONNREFUSED/);
    const during = (await sending.campaigns.accounting('down-1'))!;
    expect(during).toMatchObject({ unknown: 0, status: 'PAUSED' });
    expect(during.sent).toBeGreaterThanOrEqual(15);
    expect(during.queued).toBeGreaterThan(0);
    expect(sending.queue.deadLetters).toEqual([]);

    ses.restore();
    expect((await sending.invokeSend({ campaignId: 'down-1', resume: true })).status).toBe('complete');
    await settle(sending, 'down-1');
    const { accounting } = await expectEveryoneOnceUnknownOnlyInFlight(
      sending, env.emulators.sesEndpoint, 'down-1', people.map((p) => p.email), ses.inFlight(),
    );
    expect(accounting).toMatchObject({ audience: 60, sent: 60, unknown: 0, queued: 0, status: 'SENT' });
  });
});
