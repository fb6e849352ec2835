import { describe, expect, it } from 'vitest';
import { runSend } from '../../../lambdas/core/sending/send-campaign.ts';
import { createRecipientWorker } from '../../../lambdas/core/sending/worker.ts';
import { accountingAddsUp } from '../../../lambdas/core/sending/accounting.ts';
import { readAccounting } from '../../../lambdas/core/sending/status.ts';
import { StoredIssueTooLargeError } from '../../../lambdas/core/sending/stored-issue.ts';
import { ISSUE, world } from './fakes.ts';

/** Deliver every message the queue holds once (first receive) to a worker; returns the ids it failed. */
async function deliverAll(w: ReturnType<typeof world>, work = createRecipientWorker(w.workerDeps)): Promise<string[]> {
  const batch = w.queue.messages.splice(0).map((m, i) => ({ messageId: `q${i}`, body: m.body, receiveCount: 1 }));
  return (await work(batch)).failedMessageIds;
}

function sentCounts(w: ReturnType<typeof world>): Map<string, number> {
  const m = new Map<string, number>();
  for (const e of w.mailer.sent) m.set(e.to, (m.get(e.to) ?? 0) + 1);
  return m;
}

const people = (n: number) => Array.from({ length: n }, (_, i) => [`r${String(i).padStart(4, '0')}@x.com`, 'confirmed'] as [string, 'confirmed']);

describe('send Lambda core', () => {
  it('fans out messages of at most 50 recipients, in batches of at most 10, each recipient exactly once', async () => {
    const w = world();
    await w.seed(people(1234));
    const r = await runSend({ ...w.sendDeps, pageSize: 500 }, { issue: { markdown: 'big-1' }, mode: 'send' });
    expect(r.status).toBe('complete');
    const bodies = w.queue.messages.map((m) => JSON.parse(m.body) as { campaignId: string; recipients: Array<{ email: string }> });
    expect(bodies.every((b) => b.recipients.length <= 50 && b.campaignId === 'big-1')).toBe(true);
    const emails = bodies.flatMap((b) => b.recipients.map((x) => x.email));
    expect(emails).toHaveLength(1234);
    expect(new Set(emails).size).toBe(1234);
    expect(await w.campaigns.get('big-1')).toMatchObject({ status: 'SENDING', audience: 1234, enqueued: 1234, fanoutComplete: true });
    expect(w.issues.issues.has('big-1')).toBe(true);
  });

  it('a reader that loses the closing race to the worker reports SENT, not a stale SENDING', async () => {
    // Prepare: everyone handled, the fan-out complete, the campaign still SENDING.
    const w = world();
    await w.seed(people(3));
    await runSend(w.sendDeps, { issue: { markdown: 'race-1' }, mode: 'send' });
    await deliverAll(w);
    await w.campaigns.setStatus('race-1', ['SENT'], 'SENDING'); // undo the worker's own close, if it got there
    expect((await w.campaigns.get('race-1'))?.status).toBe('SENDING');
    // The worker closes the campaign between the reader's accounting read and its own conditional close.
    const racing = Object.assign(Object.create(w.campaigns) as typeof w.campaigns, {
      setStatus: async (id: string, from: Parameters<typeof w.campaigns.setStatus>[1], to: Parameters<typeof w.campaigns.setStatus>[2]) => {
        await w.campaigns.setStatus(id, ['SENDING'], 'SENT');
        return w.campaigns.setStatus(id, from, to);
      },
    });
    // Act
    const a = await readAccounting(racing, 'race-1');
    // Assess
    expect(a).toMatchObject({ status: 'SENT', sent: 3, queued: 0 });
  });

  it('retries the entries SendMessageBatch reports as Failed', async () => {
    const w = world();
    await w.seed(people(120));
    let failures = 2;
    w.queue.failWhen = () => failures-- > 0;
    await runSend(w.sendDeps, { issue: { markdown: 'retry-1' }, mode: 'send' });
    const emails = w.queue.messages.flatMap((m) => (JSON.parse(m.body) as { recipients: unknown[] }).recipients);
    expect(emails).toHaveLength(120);
  });

  it('an issue too large to store is refused as invalid input: no campaign, nothing enqueued', async () => {
    // Prepare: a store that refuses, as DynamoDbIssueStore does past DynamoDB's item limit.
    const w = world();
    await w.seed(people(5));
    const refusing = { ...w.issues, get: w.issues.get.bind(w.issues), put: async () => Promise.reject(new StoredIssueTooLargeError('huge-1', 3_000_000, 400_000, 390_000)) };
    // Act
    const r = await runSend({ ...w.sendDeps, issues: refusing }, { issue: { markdown: 'huge-1' }, mode: 'send' });
    // Assess
    expect(r).toMatchObject({ status: 'invalid', message: expect.stringMatching(/too large to store: 2930 KB .*limit 381 KB/) });
    expect(await w.campaigns.get('huge-1')).toBeUndefined();
    expect(w.queue.messages).toHaveLength(0);
  });

  it('an {s3Key} with no object behind it is not-found, and a store fault still throws (retried, not swallowed)', async () => {
    const w = world();
    await w.seed(people(2));
    const missing = await runSend({ ...w.sendDeps, loadMarkdown: async () => undefined }, { issue: { s3Key: 'in/none.md' }, mode: 'send' });
    expect(missing).toEqual({ status: 'not-found', message: 'no issue at s3Key in/none.md' });
    const faulty = { ...w.issues, get: w.issues.get.bind(w.issues), put: async () => Promise.reject(new Error('throttled')) };
    await expect(runSend({ ...w.sendDeps, issues: faulty }, { issue: { markdown: 'fault-1' }, mode: 'send' })).rejects.toThrow('throttled');
    expect(await w.campaigns.get('fault-1')).toBeUndefined();
  });

  it('a second trigger stores the rendered issue again only when it is gone, never over the one that was sent', async () => {
    const w = world();
    await w.seed(people(2));
    await runSend(w.sendDeps, { issue: { markdown: 'kept-1' }, mode: 'send' });
    const sent = w.issues.issues.get('kept-1')!;
    w.issues.issues.set('kept-1', { ...sent, html: '<p>as sent</p>' });
    expect((await runSend(w.sendDeps, { issue: { markdown: 'kept-1' }, mode: 'send' })).status).toBe('exists');
    expect(w.issues.issues.get('kept-1')!.html).toBe('<p>as sent</p>');
    w.issues.issues.delete('kept-1'); // e.g. stored in S3 by an older version
    expect((await runSend(w.sendDeps, { issue: { markdown: 'kept-1' }, mode: 'send' })).status).toBe('exists');
    expect(w.issues.issues.get('kept-1')).toEqual(sent);
  });

  it('a second trigger reports the existing campaign and enqueues nothing', async () => {
    const w = world();
    await w.seed(people(10));
    await runSend(w.sendDeps, { issue: { markdown: 'twice-1' }, mode: 'send' });
    const before = w.queue.messages.length;
    const again = await runSend(w.sendDeps, { issue: { markdown: 'twice-1' }, mode: 'send' });
    expect(again.status).toBe('exists');
    expect(w.queue.messages.length).toBe(before);
  });

  it('stops before the deadline with `continuing` and resumes from the saved cursor without gaps or repeats', async () => {
    const w = world();
    await w.seed(people(95));
    let budget = 3;
    const first = await runSend({ ...w.sendDeps, pageSize: 20, remainingMs: () => (budget-- > 0 ? 60_000 : 0) }, { issue: { markdown: 'dl-1' }, mode: 'send' });
    expect(first.status).toBe('continuing');
    expect((await w.campaigns.get('dl-1'))!.enqueued).toBe(60);
    const second = await runSend({ ...w.sendDeps, pageSize: 20 }, { issue: { markdown: 'dl-1' }, mode: 'send', resume: true });
    expect(second.status).toBe('complete');
    const emails = w.queue.messages.flatMap((m) => (JSON.parse(m.body) as { recipients: Array<{ email: string }> }).recipients.map((r) => r.email));
    expect(emails).toHaveLength(95);
    expect(new Set(emails).size).toBe(95);
  });

  it('dry-run reports audience, suppressed, ETA and SES cost and records nothing', async () => {
    const w = world();
    await w.seed([...people(8), ['u@x.com', 'unsubscribed'], ['b@x.com', 'bounced'], ['c@x.com', 'complained'], ['p@x.com', 'pending']]);
    const r = await runSend(w.sendDeps, { issue: { markdown: 'dry-1' }, mode: 'dry-run' });
    expect(r).toMatchObject({ status: 'dry-run', audience: 8, suppressed: { unsubscribed: 1, bounced: 1, complained: 1, total: 3 }, ratePerSecond: 800, etaSeconds: 1 });
    if (r.status === 'dry-run') expect(r.sesCostUsd).toBeCloseTo(0.0008, 6);
    expect(await w.campaigns.get('dry-1')).toBeUndefined();
    expect(w.queue.messages).toHaveLength(0);
    expect(w.mailer.sent).toHaveLength(0);
  });

  it('test mode sends to the given addresses only with a [TEST] subject and touches no campaign', async () => {
    const w = world();
    await w.seed(people(5));
    const r = await runSend(w.sendDeps, { issue: { markdown: 'test-1' }, mode: 'test', testRecipients: ['qa@y.com'] });
    expect(r.status).toBe('test-sent');
    expect(w.mailer.sent.map((e) => [e.to, e.subject])).toEqual([['qa@y.com', '[TEST] Issue 1']]);
    expect(await w.campaigns.get('test-1')).toBeUndefined();
    expect(w.queue.messages).toHaveLength(0);
  });

  it('refuses malformed input as a value', async () => {
    const w = world();
    for (const bad of [null, {}, { mode: 'send' }, { issue: {}, mode: 'send' }, { issue: { markdown: 'x' }, mode: 'test' }, { campaignId: 'x' }]) {
      expect((await runSend(w.sendDeps, bad as never)).status).toBe('invalid');
    }
    const failing = { ...w.sendDeps, render: async () => Promise.reject(new Error('no title')) };
    expect(await runSend(failing, { issue: { markdown: 'x' }, mode: 'send' })).toMatchObject({ status: 'invalid' });
  });

  it('test mode links "view in browser" to the archive index while the issue is not public, and stores nothing', async () => {
    const w = world();
    const r = await runSend(w.sendDeps, { issue: { markdown: 'test-2' }, mode: 'test', testRecipients: ['qa@y.com'] });
    expect(r.status).toBe('test-sent');
    const html = w.mailer.sent[0]!.html;
    expect(html).toContain('href="https://news.example.com/archive"');
    expect(html).not.toContain('/archive/test-2');
    expect(w.issues.issues.has('test-2')).toBe(false);
  });

  it('test mode of an issue whose campaign has gone out links to its archive page', async () => {
    const w = world();
    await w.seed(people(2));
    await runSend(w.sendDeps, { issue: { markdown: 'test-3' }, mode: 'send' });
    await runSend(w.sendDeps, { issue: { markdown: 'test-3' }, mode: 'test', testRecipients: ['qa@y.com'] });
    const test = w.mailer.sent.find((e) => e.to === 'qa@y.com')!;
    expect(test.html).toContain('href="https://news.example.com/archive/test-3"');
  });
});

describe('resume: nothing is lost', () => {
  it('recipients whose queue messages were lost (queue gone) are re-enqueued from the confirmed index, each sent once', async () => {
    const w = world();
    await w.seed(people(120));
    await runSend({ ...w.sendDeps, pageSize: 50 }, { issue: { markdown: 'lost-1' }, mode: 'send' });
    // The first message is delivered, the rest of the queue is lost (a restart of the in-memory queue).
    const first = w.queue.messages.splice(0, 1);
    w.queue.messages.length = 0;
    w.queue.messages.push(...first);
    expect(await deliverAll(w)).toEqual([]);
    expect(w.mailer.sent).toHaveLength(50);
    const resumed = await runSend(w.sendDeps, { campaignId: 'lost-1', resume: true });
    expect(resumed.status).toBe('complete');
    expect(await deliverAll(w)).toEqual([]);
    const counts = sentCounts(w);
    expect(counts.size).toBe(120);
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
    const a = (await w.campaigns.accounting('lost-1'))!;
    expect(a).toMatchObject({ audience: 120, sent: 120, queued: 0, status: 'SENT' });
    expect(accountingAddsUp(a)).toBe(true);
  });

  it('a dead-lettered message (the worker threw on every receive) is recovered by resume after the cause is fixed', async () => {
    const w = world();
    await w.seed(people(30));
    await runSend(w.sendDeps, { issue: { markdown: 'dlq-1' }, mode: 'send' });
    const body = w.queue.messages.splice(0).map((m) => m.body);
    const broken = createRecipientWorker({ ...w.workerDeps, issues: { get: async () => Promise.reject(new Error('unreadable')) } });
    // No maxReceiveCount configured: nothing is parked, the messages simply end up in the DLQ.
    for (let receive = 1; receive <= 5; receive++) {
      const r = await broken(body.map((b, i) => ({ messageId: `d${i}`, body: b, receiveCount: receive })));
      expect(r.failedMessageIds).toHaveLength(body.length);
    }
    expect(w.mailer.sent).toHaveLength(0);
    await runSend(w.sendDeps, { campaignId: 'dlq-1', resume: true });
    await deliverAll(w);
    const counts = sentCounts(w);
    expect(counts.size).toBe(30);
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
    expect(await w.campaigns.accounting('dlq-1')).toMatchObject({ audience: 30, sent: 30, queued: 0, status: 'SENT' });
  });

  it('resume while messages are still queued sends nobody twice', async () => {
    const w = world();
    await w.seed(people(40));
    await runSend(w.sendDeps, { issue: { markdown: 'dup-1' }, mode: 'send' });
    await runSend(w.sendDeps, { campaignId: 'dup-1', resume: true });
    expect(await deliverAll(w)).toEqual([]);
    expect(w.mailer.sent).toHaveLength(40);
    expect(await w.campaigns.accounting('dup-1')).toMatchObject({ audience: 40, sent: 40, queued: 0, status: 'SENT' });
  });

  it('after a repair, late confirmers are counted in N and lost recipients who left are no longer counted', async () => {
    const w = world();
    await w.seed(people(10));
    await runSend(w.sendDeps, { issue: { markdown: 'late-1' }, mode: 'send' });
    w.queue.messages.length = 0; // every message lost
    await w.seed([['late@x.com', 'confirmed']]); // confirmed after the snapshot
    await w.subscribers.unsubscribe('r0000@x.com', w.now); // lost, then left: never emailed
    await runSend(w.sendDeps, { campaignId: 'late-1', resume: true });
    await deliverAll(w);
    const counts = sentCounts(w);
    expect(counts.has('late@x.com')).toBe(true);
    expect(counts.has('r0000@x.com')).toBe(false);
    expect(w.mailer.sent).toHaveLength(10);
    const a = (await w.campaigns.accounting('late-1'))!;
    expect(a).toMatchObject({ audience: 10, sent: 10, queued: 0, status: 'SENT' });
    expect(accountingAddsUp(a)).toBe(true);
  });
});


describe('resume after a crash, and racing fan-outs', () => {
  it('a resume after a crash mid fan-out (messages lost with the process) finishes in one run', async () => {
    const w = world();
    await w.seed(people(120));
    // Prepare: the third SendMessageBatch never returns (the process dies there); the two pages before it were
    // saved, and their messages die with the in-memory queue.
    let calls = 0;
    const crashing = { sendBatch: async (m: Parameters<typeof w.queue.sendBatch>[0]) => (++calls === 3 ? Promise.reject(new Error('killed')) : w.queue.sendBatch(m)) };
    await expect(runSend({ ...w.sendDeps, queue: crashing, pageSize: 20 }, { issue: { markdown: 'crash-1' }, mode: 'send' })).rejects.toThrow('killed');
    expect(await w.campaigns.get('crash-1')).toMatchObject({ enqueued: 40, fanoutComplete: false });
    w.queue.messages.length = 0;
    // Act
    const resumed = await runSend({ ...w.sendDeps, pageSize: 20 }, { campaignId: 'crash-1', resume: true });
    expect(resumed.status).toBe('complete');
    expect(await deliverAll(w)).toEqual([]);
    // Assess
    const counts = sentCounts(w);
    expect(counts.size).toBe(120);
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
    const a = (await w.campaigns.accounting('crash-1'))!;
    expect(a).toMatchObject({ audience: 120, sent: 120, queued: 0, status: 'SENT' });
  });

  it('a continuation after a clean hand-off (`continuing`) does not repair: nothing was lost', async () => {
    const w = world();
    await w.seed(people(50));
    let budget = 2;
    const first = await runSend({ ...w.sendDeps, pageSize: 20, remainingMs: () => (budget-- > 0 ? 60_000 : 0) }, { issue: { markdown: 'ho-1' }, mode: 'send' });
    expect(first.status).toBe('continuing');
    expect((await w.campaigns.get('ho-1'))!.handoffAt).toBeDefined();
    await runSend({ ...w.sendDeps, pageSize: 20 }, { campaignId: 'ho-1', resume: true });
    const c = (await w.campaigns.get('ho-1'))!;
    expect(c.repairedAt).toBeUndefined();
    expect(c.handoffAt).toBeUndefined();
    expect(w.queue.messages.flatMap((m) => (JSON.parse(m.body) as { recipients: unknown[] }).recipients)).toHaveLength(50);
  });

  it('a resume racing a fan-out that is still alive counts every page once, so N stays exact', async () => {
    const w = world();
    await w.seed(people(100));
    // Prepare: the first run stalls in its second SendMessageBatch until the resume has finished.
    let release!: () => void;
    const stalled = new Promise<void>((r) => (release = r));
    let calls = 0;
    const slow = {
      sendBatch: async (m: Parameters<typeof w.queue.sendBatch>[0]) => {
        if (++calls === 2) await stalled;
        return w.queue.sendBatch(m);
      },
    };
    const first = runSend({ ...w.sendDeps, queue: slow, pageSize: 20 }, { issue: { markdown: 'race-2' }, mode: 'send' });
    while (calls < 2) await new Promise((r) => setImmediate(r));
    // Act: the operator resumes while the first run is stuck, then the first run carries on.
    const resumed = await runSend({ ...w.sendDeps, pageSize: 20 }, { campaignId: 'race-2', resume: true });
    expect(resumed.status).toBe('complete');
    release();
    expect((await first).status).toBe('complete');
    // Assess: each page counted once, everyone sent once.
    expect(await w.campaigns.get('race-2')).toMatchObject({ enqueued: 100, fanoutComplete: true });
    expect(await deliverAll(w)).toEqual([]);
    expect([...sentCounts(w).values()].filter((n) => n !== 1)).toEqual([]);
    expect(sentCounts(w).size).toBe(100);
    const a = (await w.campaigns.accounting('race-2'))!;
    expect(a).toMatchObject({ audience: 100, sent: 100, queued: 0, status: 'SENT' });
  });

  it('resume by campaign id fans out a campaign left in DRAFT by a crash', async () => {
    const w = world();
    await w.seed(people(7));
    await runSend(w.sendDeps, { issue: { markdown: 'draft-1' }, mode: 'send' });
    // Prepare: as if the crash came between the create and DRAFT → SENDING (nothing enqueued yet).
    w.queue.messages.length = 0;
    Object.assign(w.campaigns.campaigns.get('draft-1')!, { status: 'DRAFT', enqueued: 0, fanoutComplete: false, audience: 7 });
    const r = await runSend(w.sendDeps, { campaignId: 'draft-1', resume: true });
    expect(r.status).toBe('complete');
    await deliverAll(w);
    expect(await w.campaigns.accounting('draft-1')).toMatchObject({ audience: 7, sent: 7, queued: 0, status: 'SENT' });
  });
});

describe('queue messages', () => {
  const bodies = (w: ReturnType<typeof world>) =>
    w.queue.messages.map((m) => JSON.parse(m.body) as { recipients: Array<{ email: string; name?: string; attributes?: Record<string, string> }> });

  it('are sized to the paced rate: a 1/s account (0.8/s over 2 workers) gets messages of 6, everyone once', async () => {
    const w = world();
    await w.seed(people(500));
    const deps = { ...w.sendDeps, sendRate: async () => 0.8, messageSizing: { workerConcurrency: 2, workerTimeoutSeconds: 300, messagesPerInvocation: 10 } };
    const dry = await runSend(deps, { issue: { markdown: 'slow-0' }, mode: 'dry-run' });
    expect(dry).toMatchObject({ status: 'dry-run', recipientsPerMessage: 6 });
    await runSend(deps, { issue: { markdown: 'slow-1' }, mode: 'send' });
    const sizes = bodies(w).map((b) => b.recipients.length);
    expect(Math.max(...sizes)).toBe(6);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(500);
    expect(new Set(bodies(w).flatMap((b) => b.recipients.map((r) => r.email))).size).toBe(500);
  });

  it('fall back to the 1/s rate when the account rate cannot be read, rather than failing the send', async () => {
    const w = world();
    await w.seed(people(40));
    const deps = { ...w.sendDeps, sendRate: async () => Promise.reject(new Error('GetAccount: AccessDenied')) };
    expect((await runSend(deps, { issue: { markdown: 'norate-1' }, mode: 'send' })).status).toBe('complete');
    expect(Math.max(...bodies(w).map((b) => b.recipients.length))).toBe(15);
  });

  it('carry each confirmed subscriber’s custom attributes, omitted when there are none', async () => {
    const w = world();
    const items: Array<{ email: string; name?: string; attributes?: Record<string, string> }> = [
      { email: 'a@x.com', name: 'Ann', attributes: { tier: 'gold' } },
      { email: 'b@x.com', attributes: {} },
      { email: 'c@x.com' },
    ];
    const subscribers = {
      listConfirmed: async () => ({ items }),
      countConfirmed: async () => items.length,
      scan: () => w.subscribers.scan(),
    };
    await runSend({ ...w.sendDeps, subscribers }, { issue: { markdown: 'attr-1' }, mode: 'send' });
    expect(bodies(w).flatMap((b) => b.recipients)).toEqual([
      { email: 'a@x.com', name: 'Ann', attributes: { tier: 'gold' } },
      { email: 'b@x.com' },
      { email: 'c@x.com' },
    ]);
  });
});

describe('authoring errors', () => {
  const errors = ['unknown front-matter key "titel"', 'image "a.png" has no absolute URL'];
  const withErrors = (w: ReturnType<typeof world>) => ({
    ...w.sendDeps,
    render: async (markdown: string) => ({ issue: { ...ISSUE, slug: markdown }, warnings: errors, authoringErrors: errors }),
  });

  it('mode send refuses, naming every error, and writes nothing; with force it sends', async () => {
    const w = world();
    await w.seed(people(3));
    const refused = await runSend(withErrors(w), { issue: { markdown: 'ae-1' }, mode: 'send' });
    expect(refused.status).toBe('invalid');
    if (refused.status === 'invalid') {
      expect(refused.message).toContain('2 authoring errors');
      for (const e of errors) expect(refused.message).toContain(e);
      expect(refused.message).toContain('--force');
    }
    expect(await w.campaigns.get('ae-1')).toBeUndefined();
    expect(w.issues.issues.has('ae-1')).toBe(false);
    expect(w.queue.messages).toHaveLength(0);

    const forced = await runSend(withErrors(w), { issue: { markdown: 'ae-1' }, mode: 'send', force: true });
    expect(forced.status).toBe('complete');
    expect(w.queue.messages.length).toBeGreaterThan(0);
  });

  it('dry-run lists them; test mode sends and reports them; force must be a boolean', async () => {
    const w = world();
    const dry = await runSend(withErrors(w), { issue: { markdown: 'ae-2' }, mode: 'dry-run' });
    expect(dry).toMatchObject({ status: 'dry-run', authoringErrors: errors });
    const test = await runSend(withErrors(w), { issue: { markdown: 'ae-2' }, mode: 'test', testRecipients: ['qa@y.com'] });
    expect(test).toMatchObject({ status: 'test-sent', authoringErrors: errors });
    expect(w.mailer.sent).toHaveLength(1);
    const bad = await runSend(w.sendDeps, { issue: { markdown: 'ae-2' }, mode: 'send', force: 'yes' } as never);
    expect(bad).toMatchObject({ status: 'invalid', message: 'force must be true or false' });
  });
});
