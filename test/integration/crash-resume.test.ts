/**
 * A crash during the fan-out, for real: a child process runs the sending pipeline (send Lambda, in-process queue,
 * workers) against the emulators and is killed with SIGKILL in the middle of the fan-out, with messages still
 * waiting in its in-memory queue. Then, as after restarting `npm start`, a new pipeline runs ONE `resume`: every
 * confirmed subscriber must end in a final state, nobody emailed twice, the accounting adding up and the campaign
 * SENT. (Issue 13: the first resume used to leave the lost recipients queued, stall, and exit 1.)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { AttachedSending } from '../../lambdas/local/sending.ts';
import { readAccounting } from '../../lambdas/core/sending/status.ts';
import {
  attach, audienceOf, countByRecipient, invariantHolds, issueMarkdown, PUBLIC_BASE_URL, resetEmulators, seed,
  startSendEnv, storedEmails, TOKEN_KEYS,
} from './send-helpers.ts';

const REPO = fileURLToPath(new URL('../..', import.meta.url));

/**
 * The child: the real pipeline (lambdas/local/sending.ts) at 1 email/s, 10 subscribers a page (one message each).
 * Its send queue forwards to the in-process queue the workers consume, and after `CRASH_AFTER_BATCHES` batches
 * it prints HUNG and never answers: the fan-out is stuck mid-way with the earlier pages' cursors saved and their
 * messages in memory, where the parent kills it.
 */
const CHILD = `
import { register } from 'tsx/esm/api';
register();
const cfg = JSON.parse(process.env.CRASH_CHILD);
const { attachSending } = await import(cfg.module);
const gate = {
  target: undefined,
  batches: 0,
  async sendBatch(messages) {
    if (++gate.batches > cfg.crashAfterBatches) {
      process.stdout.write('HUNG\\n');
      return new Promise(() => undefined);
    }
    return gate.target.sendBatch(messages);
  },
};
const sending = attachSending(cfg.stack, { ...cfg.options, sendQueue: gate });
gate.target = sending.queue;
await sending.invokeSend({ issue: { markdown: cfg.markdown }, mode: 'send' });
process.stdout.write('FINISHED\\n');
`;

let env: Awaited<ReturnType<typeof startSendEnv>>;
let sending: AttachedSending | undefined;
let child: ChildProcess | undefined;

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
  if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  child = undefined;
  await sending?.stop();
  sending = undefined;
});

/** Run the child until it prints HUNG (mid fan-out), then SIGKILL it and wait until it is gone. */
async function crashMidFanOut(slug: string, crashAfterBatches: number): Promise<void> {
  const cfg = {
    module: `${REPO}lambdas/local/sending.ts`,
    stack: {
      dynamoEndpoint: env.emulators.dynamoEndpoint,
      sesEndpoint: env.emulators.sesEndpoint,
      tableName: env.emulators.tableName,
      publicBaseUrl: PUBLIC_BASE_URL,
    },
    options: {
      sender: 'Test News <news@example.com>',
      postalAddress: '1 Test Street, Testville',
      tokenKeys: TOKEN_KEYS,
      maxSendRate: 1,
      pageSize: 10,
      queue: { visibilityTimeoutMs: 30, maxReceiveCount: 10, concurrency: 2 },
    },
    markdown: issueMarkdown(slug),
    crashAfterBatches,
  };
  const proc = spawn(process.execPath, ['--input-type=module', '-e', CHILD], {
    cwd: REPO,
    env: { ...process.env, CRASH_CHILD: JSON.stringify(cfg) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child = proc;
  let out = '';
  let err = '';
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('HUNG')) resolve();
    });
    proc.once('exit', (code, signal) => reject(new Error(`the child ended before the crash point (${code ?? signal}): ${out}${err.slice(0, 2000)}`)));
  });
  proc.kill('SIGKILL');
  await exited;
  expect(proc.signalCode).toBe('SIGKILL');
}

describe('resume after a crash during the fan-out', () => {
  it('one resume (by campaign id) finishes: everyone handled once, nothing left queued, the campaign SENT', async () => {
    // Prepare: 60 confirmed subscribers; the child crashes after enqueuing 3 of 6 pages.
    sending = attach(env);
    const people = audienceOf(60, 'crash.test');
    await seed(sending, people);
    await crashMidFanOut('crash-1', 3);
    const before = await sending.campaigns.get('crash-1');
    expect(before).toMatchObject({ status: 'SENDING', fanoutComplete: false, enqueued: 30 });

    // Act: one resume, as `newsletter resume crash-1` invokes it, and the queue drained.
    const resumed = await sending.invokeSend({ campaignId: 'crash-1', resume: true });
    expect(resumed.status).toBe('complete');
    await sending.drain();

    // Assess: every recipient has a final pair, nothing is queued, and the campaign closed.
    const a = await readAccounting(sending.campaigns, 'crash-1');
    expect(a).toMatchObject({ audience: 60, queued: 0, failed: 0, skipped: 0, status: 'SENT' });
    expect(a.sent + a.unknown).toBe(60);
    expect(invariantHolds(a)).toBe(true);
    expect(sending.queue.deadLetters).toHaveLength(0);
    const counts = countByRecipient(await storedEmails(env.emulators.sesEndpoint), 'crash-1');
    expect([...counts.entries()].filter(([, n]) => n > 1)).toEqual([]);
    // UNKNOWN only for a pair the child had claimed when it died (it may or may not have reached SES).
    expect(counts.size).toBeGreaterThanOrEqual(60 - a.unknown);
  });

  it('the restarted local stack’s own resume (`send` with resume: true, as npm start does) also finishes in one run', async () => {
    sending = attach(env);
    const people = audienceOf(40, 'crash2.test');
    await seed(sending, people);
    await crashMidFanOut('crash-2', 2);

    const resumed = await sending.invokeSend({ issue: { markdown: issueMarkdown('crash-2') }, mode: 'send', resume: true });
    expect(resumed.status).toBe('complete');
    await sending.drain();

    const a = await readAccounting(sending.campaigns, 'crash-2');
    expect(a).toMatchObject({ audience: 40, queued: 0, status: 'SENT' });
    expect(a.sent + a.unknown).toBe(40);
    const counts = countByRecipient(await storedEmails(env.emulators.sesEndpoint), 'crash-2');
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
  });
});
