/**
 * SIGKILL mid-batch: a child process runs the real worker (local stack wiring, real SDK clients) against this
 * process's emulators and is killed with SIGKILL while it sends. The child reports on stdout (synchronous on a
 * pipe) each claim request it makes, each SendEmail it starts and each SENT write answered, so the test knows
 * exactly which pairs were in flight (claimed and not yet recorded) at the kill. Then `resume` (repair pass)
 * finishes the campaign.
 *
 * Because the worker claims a pair only right before its SendEmail (after pacing), the kill leaves at most one
 * SENDING pair per lane, every one of them in flight, and only those can end UNKNOWN; everyone else gets exactly
 * one email.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Queue, QueueMessage } from '../../lambdas/core/ports.ts';
import { readAccounting } from '../../lambdas/core/sending/status.ts';
import type { AttachedSending } from '../../lambdas/local/sending.ts';
import {
  attach, audienceOf, expectEveryoneOnceUnknownOnlyInFlight, issueMarkdown, PUBLIC_BASE_URL, resetEmulators, seed,
  settle, startSendEnv, TOKEN_KEYS,
} from './send-helpers.ts';

let env: Awaited<ReturnType<typeof startSendEnv>>;
const attached: AttachedSending[] = [];

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
  for (const s of attached.splice(0)) await s.stop();
});

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const module = (path: string) => new URL(`../../${path}`, import.meta.url).href;

/** The child: the local stack's worker on the given messages, at 16 emails/s, reporting claims and sends. */
const CHILD = `
import { attachSending } from ${JSON.stringify(module('lambdas/local/sending.ts'))};
import { sesMailerAt } from ${JSON.stringify(module('test/integration/send-helpers.ts'))};
const cfg = JSON.parse(process.env.WORKER_CHILD);
const ses = sesMailerAt(cfg.stack.sesEndpoint);
const say = (line) => process.stdout.write(line + '\\n');
const mailer = {
  async send(email) {
    say('start ' + email.to);
    const r = await ses.send(email);
    say('done ' + email.to);
    return r;
  },
  getSendQuota: () => ses.getSendQuota(),
};
const sending = attachSending(cfg.stack, { ...cfg.options, mailer });
// Every claim request before it is sent (the conditional write that sets status SENDING), and every SENT write
// once it is answered.
sending.dynamo.middlewareStack.add((next) => async (args) => {
  const values = args.input.ExpressionAttributeValues;
  if (values?.[':sending']) say('claim ' + values[':e'].S);
  const out = await next(args);
  if (values?.[':st']?.S === 'SENT') say('recorded ' + values[':e'].S);
  return out;
}, { step: 'initialize', name: 'reportClaims' });
await sending.queue.sendBatch(cfg.messages);
say('ready');
`;

describe('SIGKILL mid-batch', () => {
  it('only pairs in flight at the kill (claim, SendEmail or SENT write) can end UNKNOWN, at most one per lane; resume sends everyone else exactly once', async () => {
    // The fan-out, with its messages captured instead of consumed here.
    const messages: QueueMessage[] = [];
    const capture: Queue = { sendBatch: async (batch) => (messages.push(...batch), { failedIds: [] }) };
    const fanout = attach(env, { sendQueue: capture });
    attached.push(fanout);
    const people = audienceOf(120, 'kill.test');
    await seed(fanout, people);
    expect((await fanout.invokeSend({ issue: { markdown: issueMarkdown('kill-1') }, mode: 'send' })).status).toBe('complete');
    expect(messages.length).toBeGreaterThan(1);

    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', CHILD], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        WORKER_CHILD: JSON.stringify({
          stack: {
            dynamoEndpoint: env.emulators.dynamoEndpoint, sesEndpoint: env.emulators.sesEndpoint,
            tableName: env.emulators.tableName, publicBaseUrl: PUBLIC_BASE_URL,
          },
          options: {
            sender: 'Test News <news@example.com>', postalAddress: '1 Test Street, Testville', tokenKeys: TOKEN_KEYS,
            maxSendRate: 20, queue: { concurrency: 1, visibilityTimeoutMs: 30 },
          },
          messages,
        }),
      },
    });
    const lines: string[] = [];
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const closed = new Promise<number | null>((resolve) => child.on('close', (_code, signal) => resolve(signal === 'SIGKILL' ? 1 : null)));
    let partial = '';
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        const parts = (partial + d.toString()).split('\n');
        partial = parts.pop() ?? '';
        lines.push(...parts);
        // Kill it mid-batch, while it is sending: some answered, most not yet started.
        if (lines.filter((l) => l.startsWith('done ')).length >= 30 && !child.killed) {
          child.kill('SIGKILL');
          resolve();
        }
      });
      child.on('close', () => reject(new Error(`the child ended before the kill: ${stderr.slice(0, 2000)}`)));
    });
    expect(await closed).toBe(1);
    if (partial) lines.push(partial);

    const of = (kind: string) => new Set(lines.filter((l) => l.startsWith(`${kind} `)).map((l) => l.slice(kind.length + 1)));
    const done = of('done');
    const recorded = of('recorded');
    // Claimed (or started) and never recorded SENT: the claim, the SendEmail or the SENT write was in flight.
    const inFlight = new Set([...of('claim'), ...of('start')].filter((e) => !recorded.has(e)));
    const lanes = Math.max(1, Math.ceil(8 / Math.min(10, messages.length))) * Math.min(10, messages.length);

    // Right after the kill: the only SENDING pairs are in-flight ones, at most one per lane.
    const sending: string[] = [];
    for (const p of people) if ((await fanout.campaigns.deliveryStatus('kill-1', p.email)) === 'SENDING') sending.push(p.email);
    expect(sending.length).toBeLessThanOrEqual(lanes);
    for (const e of sending) expect(inFlight.has(e)).toBe(true);
    expect(done.size).toBeGreaterThanOrEqual(30);
    expect(done.size).toBeLessThan(people.length);

    // Resume (a repair pass: the queue is gone with the child) on a fresh worker here.
    const resumed = attach(env);
    attached.push(resumed);
    expect((await resumed.invokeSend({ campaignId: 'kill-1', resume: true })).status).toBe('complete');
    await settle(resumed, 'kill-1');
    // The killed child never added its finished recipients to the `handled` hint, so a reader closes the campaign
    // (as `newsletter status` or the CLI's progress poll does).
    expect((await readAccounting(resumed.campaigns, 'kill-1')).status).toBe('SENT');
    const { unknown } = await expectEveryoneOnceUnknownOnlyInFlight(
      resumed, env.emulators.sesEndpoint, 'kill-1', people.map((p) => p.email), inFlight,
    );
    expect(unknown.sort()).toEqual(sending.sort());
    expect(unknown.length).toBeLessThanOrEqual(lanes);
  });
});
