/**
 * Fault injection on the real emulators. SES faults the emulator cannot produce come from a fake Mailer that
 * wraps the real SES client (so every accepted email still lands in the emulator's store); the test names say so.
 * After each: the accounting invariant holds and no subscriber received two emails for one campaign.
 */
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { SQSRecord } from 'aws-lambda';
import type { CampaignAccounting } from '../../lambdas/core/model.ts';
import type { AttachedSending } from '../../lambdas/local/sending.ts';
import { viaEventBridge } from '../handlers/ses-events.fixtures.ts';
import {
  attach, audienceOf, countByRecipient, FaultInjectingMailer, invariantHolds, issueMarkdown, realMailer,
  resetEmulators, seed, sesError, settle, startSendEnv, storedEmails,
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

/** Deterministic pseudo-random numbers (mulberry32), so a failure can be replayed. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function expectExactlyOnce(slug: string, expected: string[], a: CampaignAccounting): Promise<void> {
  const counts = countByRecipient(await storedEmails(env.emulators.sesEndpoint), slug);
  const twice = [...counts.entries()].filter(([, n]) => n > 1);
  expect(twice).toEqual([]);
  expect([...counts.keys()].sort()).toEqual([...expected].sort());
  expect(invariantHolds(a)).toBe(true);
}

describe('fault injection', () => {
  it('(fake SES: throttling on 30% of calls) everyone still gets exactly one email', async () => {
    const random = prng(42);
    const mailer = new FaultInjectingMailer(realMailer(env.emulators), () =>
      random() < 0.3 ? sesError('TooManyRequestsException', 429, 'Maximum sending rate exceeded.') : undefined,
    );
    sending = attach(env, { mailer });
    const people = audienceOf(60, 'throttle.test');
    await seed(sending, people);
    await sending.invokeSend({ issue: { markdown: issueMarkdown('throttle-1') }, mode: 'send' });
    const a = await settle(sending, 'throttle-1');
    expect(a).toMatchObject({ audience: 60, sent: 60, failed: 0, unknown: 0, queued: 0 });
    expect(sending.queue.deadLetters).toHaveLength(0);
    await expectExactlyOnce('throttle-1', people.map((p) => p.email), a);
  });

  it('(fake SES: MessageRejected for one address) that pair is FAILED and never retried', async () => {
    const mailer = new FaultInjectingMailer(realMailer(env.emulators), (email) =>
      email.to === 'r003@reject.test' ? sesError('MessageRejected', 400, 'Email address is not verified.') : undefined,
    );
    sending = attach(env, { mailer });
    const people = audienceOf(12, 'reject.test');
    await seed(sending, people);
    await sending.invokeSend({ issue: { markdown: issueMarkdown('reject-1') }, mode: 'send' });
    const a = await settle(sending, 'reject-1');
    expect(a).toMatchObject({ audience: 12, sent: 11, failed: 1, queued: 0 });
    const attemptsForRejected = mailer.calls - 11;
    expect(attemptsForRejected).toBe(1);
    await expectExactlyOnce('reject-1', people.map((p) => p.email).filter((e) => e !== 'r003@reject.test'), a);
  });

  it('(fake SES: SendingPausedException halfway) pauses with an empty DLQ, then resume finishes exactly once', async () => {
    let accepted = 0;
    let paused = false;
    const mailer = new FaultInjectingMailer(realMailer(env.emulators), () => {
      if (paused) return sesError('SendingPausedException', 400, 'Email sending is disabled for your account.');
      if (++accepted === 40) paused = true; // trips once, after 40 accepted emails
      return undefined;
    });
    sending = attach(env, { mailer });
    const people = audienceOf(80, 'pause.test');
    await seed(sending, people);
    await sending.invokeSend({ issue: { markdown: issueMarkdown('pause-1') }, mode: 'send' });
    const mid = await settle(sending, 'pause-1');
    expect(mid.status).toBe('PAUSED');
    expect(mid.queued).toBeGreaterThan(0);
    expect(mid.sent).toBeLessThan(80);
    expect(invariantHolds(mid)).toBe(true);
    expect(sending.queue.deadLetters).toHaveLength(0);

    paused = false;
    const resumed = await sending.invokeSend({ campaignId: 'pause-1', resume: true });
    expect(resumed.status).toBe('complete');
    const a = await settle(sending, 'pause-1');
    expect(a).toMatchObject({ audience: 80, sent: 80, queued: 0, unknown: 0 });
    await expectExactlyOnce('pause-1', people.map((p) => p.email), a);
  });

  it('(fake SES: crash after SES accepted, before the SENT write) the retry marks UNKNOWN and does not resend', async () => {
    const mailer = new FaultInjectingMailer(realMailer(env.emulators), (email) => (email.to === 'r005@crash.test' ? 'after' : undefined));
    sending = attach(env, { mailer });
    const people = audienceOf(10, 'crash.test');
    await seed(sending, people);
    await sending.invokeSend({ issue: { markdown: issueMarkdown('crash-1') }, mode: 'send' });
    const a = await settle(sending, 'crash-1');
    expect(a).toMatchObject({ audience: 10, sent: 9, unknown: 1, queued: 0 });
    await expectExactlyOnce('crash-1', people.map((p) => p.email), a);
  });

  it('the same SQS message delivered twice, concurrently, sends once per recipient', async () => {
    sending = attach(env);
    const people = audienceOf(20, 'twice.test');
    await seed(sending, people);
    await sending.queue.stop(); // hold the fan-out's messages; deliver our own copy first
    await sending.invokeSend({ issue: { markdown: issueMarkdown('twice-1') }, mode: 'send' });
    const record = (id: string): SQSRecord =>
      ({
        messageId: id,
        body: JSON.stringify({ campaignId: 'twice-1', recipients: people.map((p) => ({ email: p.email })) }),
        attributes: { ApproximateReceiveCount: '1' },
      }) as unknown as SQSRecord;
    const [r1, r2] = await Promise.all([sending.worker({ Records: [record('m1')] }), sending.worker({ Records: [record('m1')] })]);
    expect([...r1.batchItemFailures, ...r2.batchItemFailures]).toEqual([]);
    sending.queue.consume(sending.worker); // now the original messages arrive too
    const a = await settle(sending, 'twice-1');
    expect(a).toMatchObject({ audience: 20, sent: 20, queued: 0 });
    await expectExactlyOnce('twice-1', people.map((p) => p.email), a);
  });

  it('the send triggered twice at once: one fan-out, the other reports the existing campaign', async () => {
    sending = attach(env);
    const people = audienceOf(30, 'double.test');
    await seed(sending, people);
    const input = { issue: { markdown: issueMarkdown('double-1') }, mode: 'send' as const };
    const results = await Promise.all([sending.invokeSend(input), sending.invokeSend(input)]);
    expect(results.map((r) => r.status).sort()).toEqual(['complete', 'exists']);
    const again = await sending.invokeSend(input);
    expect(again.status).toBe('exists');
    const a = await settle(sending, 'double-1');
    expect(a).toMatchObject({ audience: 30, sent: 30, queued: 0 });
    await expectExactlyOnce('double-1', people.map((p) => p.email), a);
  });

  it('the fan-out stopped by the deadline mid-way resumes without gaps or repeats', async () => {
    sending = attach(env, { pageSize: 5 });
    const people = audienceOf(23, 'deadline.test');
    await seed(sending, people);
    let calls = 0;
    const context = { getRemainingTimeInMillis: () => (++calls <= 2 ? 600_000 : 1_000) };
    const first = await sending.invokeSend({ issue: { markdown: issueMarkdown('deadline-1') }, mode: 'send' }, context);
    expect(first.status).toBe('continuing');
    const campaign = await sending.campaigns.get('deadline-1');
    expect(campaign).toMatchObject({ enqueued: 10, fanoutComplete: false });

    const second = await sending.invokeSend({ issue: { markdown: issueMarkdown('deadline-1') }, mode: 'send', resume: true });
    expect(second.status).toBe('complete');
    const a = await settle(sending, 'deadline-1');
    expect(a).toMatchObject({ audience: 23, sent: 23, queued: 0 });
    await expectExactlyOnce('deadline-1', people.map((p) => p.email), a);
  });

  it('a crash between an enqueue and its cursor save re-enqueues one page; nobody gets two emails', async () => {
    sending = attach(env, { pageSize: 5 });
    const people = audienceOf(17, 'cursor.test');
    await seed(sending, people);
    const repo = sending.campaigns;
    const saveCursor = repo.saveCursor.bind(repo);
    let saves = 0;
    repo.saveCursor = async (...args) => {
      if (++saves === 2) throw Object.assign(new Error('Lambda crashed'), { name: 'Crash' });
      return saveCursor(...args);
    };
    await expect(sending.invokeSend({ issue: { markdown: issueMarkdown('cursor-1') }, mode: 'send' })).rejects.toThrow('Lambda crashed');
    const resumed = await sending.invokeSend({ issue: { markdown: issueMarkdown('cursor-1') }, mode: 'send', resume: true });
    expect(resumed.status).toBe('complete');
    const a = await settle(sending, 'cursor-1');
    expect(a).toMatchObject({ audience: 17, sent: 17, queued: 0 });
    await expectExactlyOnce('cursor-1', people.map((p) => p.email), a);
  });
});

/** Attach, seed `n` confirmed subscribers and fan out `slug` with the queue held: the messages wait, unsent. */
async function fannedOutWithQueueHeld(n: number, domain: string, slug: string, options: Parameters<typeof attach>[1] = {}) {
  sending = attach(env, options);
  const people = audienceOf(n, domain);
  await seed(sending, people);
  await sending.queue.stop();
  const result = await sending.invokeSend({ issue: { markdown: issueMarkdown(slug) }, mode: 'send' });
  return { sending, people, emails: people.map((p) => p.email), result };
}

function sqsRecord(id: string, campaignId: string, emails: string[]): SQSRecord {
  return {
    messageId: id,
    body: JSON.stringify({ campaignId, recipients: emails.map((email) => ({ email })) }),
    attributes: { ApproximateReceiveCount: '1' },
  } as unknown as SQSRecord;
}

describe('nothing is lost: a message that never succeeds, a lost queue, completion without a status read', () => {
  it('a worker that throws on every receive (stored issue unreadable) parks the message and pauses the campaign (empty DLQ); after the fix, resume delivers exactly once', async () => {
    const { sending, emails, result } = await fannedOutWithQueueHeld(25, 'dlq.test', 'dlq-1', {
      queue: { visibilityTimeoutMs: 5, maxReceiveCount: 3, concurrency: 2 },
    });
    expect(result.status).toBe('complete');
    const doc = DynamoDBDocumentClient.from(sending.dynamo);
    const key = { TableName: env.emulators.tableName, Key: { pk: 'ISSUE#dlq-1', sk: 'ISSUE' } };
    const stored = (await doc.send(new GetCommand(key))).Item!;
    // Every receive throws while reading the issue: its body is not gzip.
    await doc.send(new PutCommand({ TableName: key.TableName, Item: { ...stored, body: new TextEncoder().encode('{ not json') } }));
    sending.queue.consume(sending.worker);
    await sending.drain();
    expect(sending.queue.deadLetters).toHaveLength(0);
    const stuck = (await sending.campaigns.accounting('dlq-1'))!;
    expect(stuck).toMatchObject({ audience: 25, sent: 0, queued: 25, status: 'PAUSED' });
    expect((await sending.campaigns.get('dlq-1'))!.pausedReason).toMatch(/queue message .*receive/);
    expect((await sending.campaigns.listPending('dlq-1', undefined, 100)).items).toHaveLength(25);
    expect(countByRecipient(await storedEmails(env.emulators.sesEndpoint), 'dlq-1').size).toBe(0);

    await doc.send(new PutCommand({ TableName: key.TableName, Item: stored })); // the cause is fixed
    expect((await sending.invokeSend({ campaignId: 'dlq-1', resume: true })).status).toBe('complete');
    const a = await settle(sending, 'dlq-1');
    expect(a).toMatchObject({ audience: 25, sent: 25, queued: 0, status: 'SENT' });
    await expectExactlyOnce('dlq-1', emails, a);
  });

  it('the in-memory queue lost on a restart: resume re-walks the confirmed index; a late confirmer is counted in N', async () => {
    const before = await fannedOutWithQueueHeld(30, 'lost.test', 'lost-1');
    // One message's worth was delivered before the restart; the rest of the queue is gone with the process.
    const first = before.emails.slice(0, 10);
    expect((await before.sending.worker({ Records: [sqsRecord('m1', 'lost-1', first)] })).batchItemFailures).toEqual([]);
    await before.sending.stop();
    sending = attach(env);
    await seed(sending, [{ email: 'late@lost.test', status: 'confirmed' }]); // confirmed after the snapshot

    expect((await sending.invokeSend({ campaignId: 'lost-1', resume: true })).status).toBe('complete');
    const a = await settle(sending, 'lost-1');
    expect(a).toMatchObject({ audience: 31, sent: 31, queued: 0, status: 'SENT' });
    await expectExactlyOnce('lost-1', [...before.emails, 'late@lost.test'], a);
  });

  it('the worker that records the last outcome marks the campaign SENT, with nobody reading its status', async () => {
    const { sending, result } = await fannedOutWithQueueHeld(12, 'close.test', 'close-1');
    expect(result).toMatchObject({ status: 'complete', campaign: { status: 'SENDING', fanoutComplete: true } });
    sending.queue.consume(sending.worker);
    await sending.drain();
    const c = await sending.campaigns.get('close-1');
    expect(c).toMatchObject({ status: 'SENT' });
    expect(c?.sentAt).toBeDefined();
  });

  it('a subscriber who leaves while their pair is SENDING ends UNKNOWN (never resent) and the campaign completes', async () => {
    const { sending, emails } = await fannedOutWithQueueHeld(5, 'left.test', 'left-1');
    await sending.campaigns.claim('left-1', 'r002@left.test', new Date()); // a crashed attempt, SES outcome in doubt
    await sending.subscribers.unsubscribe('r002@left.test', new Date());
    sending.queue.consume(sending.worker);
    const a = await settle(sending, 'left-1');
    expect(a).toMatchObject({ audience: 5, sent: 4, unknown: 1, queued: 0, status: 'SENT' });
    expect(await sending.campaigns.get('left-1')).toMatchObject({ status: 'SENT' });
    await expectExactlyOnce('left-1', emails.filter((e) => e !== 'r002@left.test'), a);
  });

  it('an SES Reject event on dynalite settles an in-doubt pair as FAILED and leaves a SENT pair alone', async () => {
    const mailer = new FaultInjectingMailer(realMailer(env.emulators), (email) => (email.to === 'r001@rej.test' ? 'after' : undefined));
    sending = attach(env, { mailer });
    await seed(sending, audienceOf(3, 'rej.test'));
    await sending.invokeSend({ issue: { markdown: issueMarkdown('rej-1') }, mode: 'send' });
    expect(await settle(sending, 'rej-1')).toMatchObject({ sent: 2, unknown: 1 });
    const reject = (messageId: string, to: string) => ({
      eventType: 'Reject',
      reject: { reason: 'Bad content' },
      mail: { messageId, destination: [to], tags: { campaign: ['rej-1'] } },
    });
    const r1 = await sending.handleSesEvent(viaEventBridge(reject('m-1', 'r001@rej.test')));
    const r0 = await sending.handleSesEvent(viaEventBridge(reject('m-0', 'r000@rej.test')));
    expect(r1.rejected + r0.rejected).toBe(1);
    expect(await sending.campaigns.accounting('rej-1')).toMatchObject({ audience: 3, sent: 2, unknown: 0, failed: 1, queued: 0 });
  });
});

