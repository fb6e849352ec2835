import { describe, expect, it, vi } from 'vitest';
import { createRecipientWorker } from '../../../lambdas/core/sending/worker.ts';
import { subscriberTag } from '../../../lambdas/core/sending/compose.ts';
import { ISSUE, message, sesError, world } from './fakes.ts';

async function started(w: ReturnType<typeof world>, audience = 3) {
  await w.issues.put(ISSUE);
  await w.campaigns.start({ campaignId: ISSUE.slug, slug: ISSUE.slug, subject: ISSUE.subject, audience, now: w.now });
}

/**
 * A message for a@ and b@ whose processing throws: it fails on every receive and touches no pair before its last
 * receive (3); on that one it is parked (both pairs QUEUED), the campaign is paused naming the cause, and the
 * message is acknowledged (the DLQ stays empty); nobody is emailed.
 */
async function expectFailsThenParksOnLastReceive(
  w: ReturnType<typeof world>,
  work: ReturnType<typeof createRecipientWorker>,
  cause: RegExp,
) {
  expect((await work([message('m1', ISSUE.slug, ['a@x.com', 'b@x.com'], 2)])).failedMessageIds).toEqual(['m1']);
  expect(w.campaigns.pairStatus(ISSUE.slug, 'a@x.com')).toBeUndefined();
  expect((await w.campaigns.get(ISSUE.slug))!.status).toBe('SENDING');
  expect((await work([message('m1', ISSUE.slug, ['a@x.com', 'b@x.com'], 3)])).failedMessageIds).toEqual([]);
  expect(w.campaigns.pairStatus(ISSUE.slug, 'a@x.com')).toBe('QUEUED');
  expect(w.campaigns.pairStatus(ISSUE.slug, 'b@x.com')).toBe('QUEUED');
  const c = (await w.campaigns.get(ISSUE.slug))!;
  expect(c.status).toBe('PAUSED');
  expect(c.pausedReason).toMatch(cause);
  expect(w.mailer.sent).toHaveLength(0);
}

describe('recipient worker', () => {
  it('sends each confirmed recipient once with one-click unsubscribe headers, tags and the configuration set', async () => {
    const w = world();
    await w.seed([['a@x.com', 'confirmed'], ['b@x.com', 'confirmed']]);
    await started(w, 2);
    const work = createRecipientWorker(w.workerDeps);
    const r = await work([message('m1', ISSUE.slug, ['a@x.com', 'b@x.com'])]);
    expect(r.failedMessageIds).toEqual([]);
    expect(w.mailer.sent.map((e) => e.to).sort()).toEqual(['a@x.com', 'b@x.com']);
    const a = w.mailer.sent.find((e) => e.to === 'a@x.com')!;
    expect(a.headers).toEqual({
      'List-Unsubscribe': '<https://news.example.com/unsubscribe?token=tok-a%40x.com>',
      'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
    });
    expect(a.tags).toEqual({ campaign: 'issue-1', subscriber: subscriberTag('a@x.com') });
    expect(a.tags!.subscriber).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(a.configurationSet).toBe('newsletter');
    expect(a.html).toContain('https://news.example.com/archive/issue-1');
    expect(w.campaigns.pairStatus(ISSUE.slug, 'a@x.com')).toBe('SENT');
  });

  it('skips subscribers who are no longer confirmed, and absent ones', async () => {
    const w = world();
    await w.seed([['a@x.com', 'confirmed'], ['u@x.com', 'unsubscribed'], ['p@x.com', 'pending']]);
    await started(w);
    const r = await createRecipientWorker(w.workerDeps)([message('m1', ISSUE.slug, ['a@x.com', 'u@x.com', 'p@x.com', 'gone@x.com'])]);
    expect(r.outcomes).toMatchObject({ sent: 1, skipped: 3 });
    expect(w.mailer.sent.map((e) => e.to)).toEqual(['a@x.com']);
  });

  it('a redelivered message sends nobody twice; a pair found SENDING becomes UNKNOWN without sending', async () => {
    const w = world();
    await w.seed([['a@x.com', 'confirmed'], ['b@x.com', 'confirmed']]);
    await started(w, 2);
    const work = createRecipientWorker(w.workerDeps);
    await work([message('m1', ISSUE.slug, ['a@x.com'])]);
    await w.campaigns.claim(ISSUE.slug, 'b@x.com', w.now); // a crashed attempt left b SENDING
    const r = await work([message('m1', ISSUE.slug, ['a@x.com', 'b@x.com'], 2)]);
    expect(r.outcomes).toMatchObject({ duplicate: 1, unknown: 1, sent: 0 });
    expect(w.mailer.sent).toHaveLength(1);
    expect(w.campaigns.pairStatus(ISSUE.slug, 'b@x.com')).toBe('UNKNOWN');
  });

  it('throttling releases the claim and returns only that message as a batch item failure', async () => {
    const w = world();
    await w.seed([['a@x.com', 'confirmed'], ['b@x.com', 'confirmed']]);
    await started(w, 2);
    w.mailer.fault = (e) => (e.to === 'b@x.com' ? sesError('TooManyRequestsException', 429) : undefined);
    const r = await createRecipientWorker({ ...w.workerDeps, concurrency: 1 })([
      message('m1', ISSUE.slug, ['a@x.com']),
      message('m2', ISSUE.slug, ['b@x.com']),
    ]);
    expect(r.failedMessageIds).toEqual(['m2']);
    expect(w.campaigns.pairStatus(ISSUE.slug, 'b@x.com')).toBe('QUEUED');
  });

  it('MessageRejected marks FAILED and acknowledges the message (never retried)', async () => {
    const w = world();
    await w.seed([['a@x.com', 'confirmed']]);
    await started(w, 1);
    w.mailer.fault = () => sesError('MessageRejected', 400);
    const r = await createRecipientWorker(w.workerDeps)([message('m1', ISSUE.slug, ['a@x.com'])]);
    expect(r.failedMessageIds).toEqual([]);
    expect(w.campaigns.pairStatus(ISSUE.slug, 'a@x.com')).toBe('FAILED');
  });

  it('SendingPaused pauses the campaign, keeps everyone else QUEUED and acknowledges the messages', async () => {
    const w = world();
    const emails = ['a@x.com', 'b@x.com', 'c@x.com', 'd@x.com'];
    await w.seed(emails.map((e) => [e, 'confirmed']));
    await started(w, 4);
    w.mailer.fault = (e) => (e.to === 'b@x.com' ? sesError('SendingPausedException', 400) : undefined);
    const work = createRecipientWorker({ ...w.workerDeps, concurrency: 1 });
    const r = await work([message('m1', ISSUE.slug, emails)]);
    expect(r.failedMessageIds).toEqual([]);
    // A later message of the paused campaign is parked and acknowledged without any send.
    const later = await work([message('m2', ISSUE.slug, ['e@x.com'])]);
    expect(later.failedMessageIds).toEqual([]);
    expect(w.campaigns.pairStatus(ISSUE.slug, 'e@x.com')).toBe('QUEUED');
    expect((await w.campaigns.get(ISSUE.slug))!.status).toBe('PAUSED');
    expect(w.mailer.sent.map((e) => e.to)).toEqual(['a@x.com']);
    for (const e of emails.slice(1)) expect(w.campaigns.pairStatus(ISSUE.slug, e)).toBe('QUEUED');
    const a = (await w.campaigns.accounting(ISSUE.slug))!;
    expect(a).toMatchObject({ sent: 1, queued: 3, audience: 4 });
    expect(w.mailer.sent).toHaveLength(1);
  });

  it('on the last receive, an unfinished message is parked, the campaign paused and the message acknowledged (no DLQ)', async () => {
    const w = world();
    await w.seed([['a@x.com', 'confirmed'], ['b@x.com', 'confirmed']]);
    await started(w, 2);
    w.mailer.fault = () => sesError('ThrottlingException', 400);
    const r = await createRecipientWorker({ ...w.workerDeps, concurrency: 1, maxReceiveCount: 3 })([
      message('m1', ISSUE.slug, ['a@x.com', 'b@x.com'], 3),
    ]);
    expect(r.failedMessageIds).toEqual([]);
    expect(w.campaigns.pairStatus(ISSUE.slug, 'a@x.com')).toBe('QUEUED');
    expect(w.campaigns.pairStatus(ISSUE.slug, 'b@x.com')).toBe('QUEUED');
    const c = (await w.campaigns.get(ISSUE.slug))!;
    expect(c.status).toBe('PAUSED');
    expect(c.pausedReason).toMatch(/ThrottlingException/);
  });

  it('drops malformed messages and unknown campaigns without retrying them; loads the issue once', async () => {
    const w = world();
    await w.seed([['a@x.com', 'confirmed'], ['b@x.com', 'confirmed']]);
    await started(w, 2);
    const work = createRecipientWorker(w.workerDeps);
    const r = await work([
      { messageId: 'bad1', body: 'not json', receiveCount: 1 },
      { messageId: 'bad2', body: '{"campaignId":1}', receiveCount: 1 },
      message('nope', 'no-such-campaign', ['a@x.com']),
    ]);
    expect(r.failedMessageIds).toEqual([]);
    await work([message('m1', ISSUE.slug, ['a@x.com'])]);
    await work([message('m2', ISSUE.slug, ['b@x.com'])]);
    expect(w.issues.gets).toBe(1);
  });

  it('an in-doubt SendEmail (no answer) keeps the claim and fails the message, so the retry records UNKNOWN', async () => {
    const w = world();
    await w.seed([['a@x.com', 'confirmed']]);
    await started(w, 1);
    w.mailer.fault = () => Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    const work = createRecipientWorker(w.workerDeps);
    expect((await work([message('m1', ISSUE.slug, ['a@x.com'])])).failedMessageIds).toEqual(['m1']);
    w.mailer.fault = () => undefined;
    await work([message('m1', ISSUE.slug, ['a@x.com'], 2)]);
    expect(w.campaigns.pairStatus(ISSUE.slug, 'a@x.com')).toBe('UNKNOWN');
    expect(w.mailer.sent).toHaveLength(0);
  });
});

describe('recipient worker: pairs left behind, last receive, completion', () => {
  it('a pair left SENDING whose subscriber has since left becomes UNKNOWN (never resent) and the campaign completes', async () => {
    const w = world();
    await w.seed([['a@x.com', 'confirmed'], ['b@x.com', 'confirmed']]);
    await started(w, 2);
    await w.campaigns.saveCursor(ISSUE.slug, undefined, true, 2);
    const work = createRecipientWorker(w.workerDeps);
    await work([message('m1', ISSUE.slug, ['a@x.com'])]);
    await w.campaigns.claim(ISSUE.slug, 'b@x.com', w.now); // claimed, SES outcome in doubt (crash)
    await w.subscribers.unsubscribe('b@x.com', w.now); // b leaves before the redelivery
    const r = await work([message('m2', ISSUE.slug, ['b@x.com'], 2)]);
    expect(r.outcomes).toMatchObject({ unknown: 1, skipped: 0, sent: 0 });
    expect(w.campaigns.pairStatus(ISSUE.slug, 'b@x.com')).toBe('UNKNOWN');
    expect(w.mailer.sent.map((e) => e.to)).toEqual(['a@x.com']);
    expect(await w.campaigns.accounting(ISSUE.slug)).toMatchObject({ audience: 2, sent: 1, unknown: 1, queued: 0, status: 'SENT' });
    expect((await w.campaigns.listPending(ISSUE.slug, undefined, 10)).items).toEqual([]);
  });

  it('on the last receive of a message whose processing throws, its recipients are parked before the DLQ', async () => {
    const w = world();
    await w.seed([['a@x.com', 'confirmed'], ['b@x.com', 'confirmed']]);
    await started(w, 2);
    const issues = { get: async () => Promise.reject(new Error('stored issue unreadable')) };
    await expectFailsThenParksOnLastReceive(w, createRecipientWorker({ ...w.workerDeps, issues, maxReceiveCount: 3 }), /stored issue unreadable/);
  });

  it('the worker that records the last outcome marks the campaign SENT, without anyone reading the accounting', async () => {
    const w = world();
    const emails = ['a@x.com', 'b@x.com', 'c@x.com', 'u@x.com'];
    await w.seed([['a@x.com', 'confirmed'], ['b@x.com', 'confirmed'], ['c@x.com', 'confirmed'], ['u@x.com', 'confirmed']]);
    await started(w, 4);
    await w.campaigns.saveCursor(ISSUE.slug, undefined, true, 4);
    await w.subscribers.unsubscribe('u@x.com', w.now);
    w.mailer.fault = (e) => (e.to === 'c@x.com' ? sesError('MessageRejected', 400) : undefined);
    const work = createRecipientWorker(w.workerDeps);
    await work([message('m1', ISSUE.slug, emails.slice(0, 2))]);
    expect((await w.campaigns.get(ISSUE.slug))!.status).toBe('SENDING');
    await work([message('m2', ISSUE.slug, emails.slice(2))]);
    const c = (await w.campaigns.get(ISSUE.slug))!;
    expect(c.status).toBe('SENT');
    expect(c.sentAt).toBeDefined();
  });

  it('does not finalize while the fan-out is still running, even when every enqueued recipient is done', async () => {
    const w = world();
    await w.seed([['a@x.com', 'confirmed'], ['b@x.com', 'confirmed']]);
    await started(w, 2);
    await w.campaigns.saveCursor(ISSUE.slug, 'page-1', false, 1);
    await createRecipientWorker(w.workerDeps)([message('m1', ISSUE.slug, ['a@x.com'])]);
    expect((await w.campaigns.get(ISSUE.slug))!.status).toBe('SENDING');
  });
});

describe('recipient worker: batched status reads, just ahead of the sending', () => {
  /** The memory repository, counting the worker's status reads (batched and single). */
  function countingSubscribers(w: ReturnType<typeof world>) {
    const batches: string[][] = [];
    let singles = 0;
    let fault: Error | undefined;
    const subscribers = {
      getStatuses: async (emails: string[]) => {
        batches.push([...emails]);
        if (fault) throw fault;
        return w.subscribers.getStatuses(emails);
      },
      getStatus: async (email: string) => {
        singles += 1;
        return w.subscribers.getStatus(email);
      },
    };
    return { subscribers, batches, singles: () => singles, failWith: (err: Error | undefined) => (fault = err) };
  }

  it('reads statuses in batches of `concurrency` recipients, each recipient once, and none one by one', async () => {
    const w = world();
    const emails = Array.from({ length: 12 }, (_, i) => `r${i}@x.com`);
    await w.seed(emails.map((e) => [e, 'confirmed'] as [string, 'confirmed']));
    await started(w, 12);
    const counted = countingSubscribers(w);
    const work = createRecipientWorker({ ...w.workerDeps, subscribers: counted.subscribers, concurrency: 4 });
    const r = await work([message('m1', ISSUE.slug, emails.slice(0, 7)), message('m2', ISSUE.slug, emails.slice(7))]);
    expect(r.outcomes.sent).toBe(12);
    // m1: 4 + 3, m2: 4 + 1, each batch in message order.
    expect([...counted.batches].sort((a, b) => a[0]!.localeCompare(b[0]!))).toEqual([
      emails.slice(0, 4), emails.slice(4, 7), emails.slice(7, 11), emails.slice(11),
    ].sort((a, b) => a[0]!.localeCompare(b[0]!)));
    expect(counted.singles()).toBe(0);
  });

  it('reads each batch just before sending to it: an unsubscribe after the first batch was read is honoured in the next', async () => {
    const w = world();
    const emails = ['a@x.com', 'b@x.com', 'c@x.com', 'd@x.com'];
    await w.seed(emails.map((e) => [e, 'confirmed'] as [string, 'confirmed']));
    await started(w, 4);
    const counted = countingSubscribers(w);
    // d unsubscribes right after the worker read the statuses of a and b (a whole-message read would have missed it).
    const subscribers = {
      ...counted.subscribers,
      getStatuses: async (batch: string[]) => {
        const statuses = await counted.subscribers.getStatuses(batch);
        if (counted.batches.length === 1) await w.subscribers.unsubscribe('d@x.com', w.now);
        return statuses;
      },
    };
    const r = await createRecipientWorker({ ...w.workerDeps, subscribers, concurrency: 2 })([message('m1', ISSUE.slug, emails)]);
    expect(r.outcomes).toMatchObject({ sent: 3, skipped: 1 });
    expect(w.mailer.sent.map((e) => e.to).sort()).toEqual(['a@x.com', 'b@x.com', 'c@x.com']);
    expect(w.campaigns.pairStatus(ISSUE.slug, 'd@x.com')).toBe('SKIPPED');
    expect(counted.batches).toEqual([['a@x.com', 'b@x.com'], ['c@x.com', 'd@x.com']]);
  });

  it('a subscriber who unsubscribed after the fan-out but before the message is processed is SKIPPED, not sent', async () => {
    const w = world();
    await w.seed([['a@x.com', 'confirmed'], ['b@x.com', 'confirmed'], ['c@x.com', 'confirmed']]);
    await started(w, 3);
    const counted = countingSubscribers(w);
    // The fan-out enqueued all three while confirmed; b unsubscribes while the message waits in the queue.
    await w.subscribers.unsubscribe('b@x.com', w.now);
    const r = await createRecipientWorker({ ...w.workerDeps, subscribers: counted.subscribers })([
      message('m1', ISSUE.slug, ['a@x.com', 'b@x.com', 'c@x.com']),
    ]);
    expect(r.outcomes).toMatchObject({ sent: 2, skipped: 1 });
    expect(w.mailer.sent.map((e) => e.to).sort()).toEqual(['a@x.com', 'c@x.com']);
    expect(w.campaigns.pairStatus(ISSUE.slug, 'b@x.com')).toBe('SKIPPED');
    expect(counted.batches).toHaveLength(1);
  });

  it('a failed status read fails the whole message before any claim or send; its last receive parks the recipients', async () => {
    const w = world();
    await w.seed([['a@x.com', 'confirmed'], ['b@x.com', 'confirmed']]);
    await started(w, 2);
    const counted = countingSubscribers(w);
    counted.failWith(new Error('BatchGetItem left 2 subscriber statuses unprocessed after 5 attempts'));
    const work = createRecipientWorker({ ...w.workerDeps, subscribers: counted.subscribers, maxReceiveCount: 3 });
    await expectFailsThenParksOnLastReceive(w, work, /BatchGetItem left 2/);
    expect(counted.batches).toHaveLength(2);
    counted.failWith(undefined);
    await w.campaigns.setStatus(ISSUE.slug, ['PAUSED'], 'SENDING'); // resume
    expect((await work([message('m1', ISSUE.slug, ['a@x.com', 'b@x.com'], 1)])).outcomes.sent).toBe(2);
  });

  it('a message of a paused campaign is parked without reading any status', async () => {
    const w = world();
    await w.seed([['a@x.com', 'confirmed']]);
    await started(w, 1);
    await w.campaigns.setStatus(ISSUE.slug, ['SENDING'], 'PAUSED', 'operator');
    const counted = countingSubscribers(w);
    const r = await createRecipientWorker({ ...w.workerDeps, subscribers: counted.subscribers })([message('m1', ISSUE.slug, ['a@x.com'])]);
    expect(r.outcomes.paused).toBe(1);
    expect(counted.batches).toHaveLength(0);
    expect(w.campaigns.pairStatus(ISSUE.slug, 'a@x.com')).toBe('QUEUED');
  });
});

describe('recipient worker: claim after pacing, unreachable SES, deadline, progress', () => {
  it('claims a pair only once pacing has given its lane a token, right before its SendEmail', async () => {
    const w = world();
    const emails = ['a@x.com', 'b@x.com', 'c@x.com', 'd@x.com'];
    await w.seed(emails.map((e) => [e, 'confirmed'] as [string, 'confirmed']));
    await started(w, 4);
    const gates: Array<() => void> = [];
    const pacer = { acquire: () => new Promise<boolean>((resolve) => gates.push(() => resolve(true))), throttled: () => undefined };
    const claimedAtSend: Array<string | undefined> = [];
    w.mailer.fault = (e) => {
      claimedAtSend.push(w.campaigns.pairStatus(ISSUE.slug, e.to));
      return undefined;
    };
    const run = createRecipientWorker({ ...w.workerDeps, pacer, concurrency: 2 })([message('m1', ISSUE.slug, emails)]);
    await vi.waitFor(() => expect(gates).toHaveLength(2));
    // Both lanes wait for a token: nothing is claimed yet, so a crash now leaves no SENDING pair.
    for (const e of emails) expect(w.campaigns.pairStatus(ISSUE.slug, e)).toBeUndefined();
    gates.shift()!();
    await vi.waitFor(() => expect(w.mailer.sent).toHaveLength(1));
    expect(emails.filter((e) => w.campaigns.pairStatus(ISSUE.slug, e) === 'SENDING')).toEqual([]);
    while (w.mailer.sent.length < 4) {
      await vi.waitFor(() => expect(gates.length).toBeGreaterThan(0));
      gates.shift()!();
      await new Promise((r) => setTimeout(r, 0));
    }
    expect((await run).outcomes.sent).toBe(4);
    expect(claimedAtSend).toEqual(['SENDING', 'SENDING', 'SENDING', 'SENDING']);
  });

  it('(fake SES: ECONNREFUSED) gives the claim back and retries the message; it never becomes UNKNOWN', async () => {
    const w = world();
    await w.seed([['a@x.com', 'confirmed'], ['b@x.com', 'confirmed']]);
    await started(w, 2);
    const logged: string[] = [];
    w.mailer.fault = () => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:443'), { code: 'ECONNREFUSED', syscall: 'connect' });
    const work = createRecipientWorker({
      ...w.workerDeps, throttleRetries: 1, maxIdleReceives: 5, concurrency: 1,
      log: { warn: (m) => logged.push(m), error: (m) => logged.push(m) },
    });
    const first = await work([message('m1', ISSUE.slug, ['a@x.com', 'b@x.com'])]);
    expect(first.failedMessageIds).toEqual(['m1']);
    expect(first.outcomes).toMatchObject({ unsent: 1, unknown: 0, 'in-doubt': 0 });
    expect(w.campaigns.pairStatus(ISSUE.slug, 'a@x.com')).toBe('QUEUED');
    expect(logged.some((m) => m.includes('SES unreachable'))).toBe(true);
    w.mailer.fault = () => undefined;
    const second = await work([message('m1', ISSUE.slug, ['a@x.com', 'b@x.com'], 2)]);
    expect(second).toMatchObject({ failedMessageIds: [], outcomes: { sent: 2, unknown: 0 } });
    expect(w.mailer.sent.map((e) => e.to).sort()).toEqual(['a@x.com', 'b@x.com']);
  });

  it('(fake SES: ECONNREFUSED every time) after maxIdleReceives receives without progress the campaign is paused with the reason', async () => {
    const w = world();
    await w.seed([['a@x.com', 'confirmed'], ['b@x.com', 'confirmed']]);
    await started(w, 2);
    w.mailer.fault = () => Object.assign(new Error('getaddrinfo ENOTFOUND email.example'), { code: 'ENOTFOUND', syscall: 'getaddrinfo' });
    const work = createRecipientWorker({ ...w.workerDeps, maxIdleReceives: 2, maxReceiveCount: 100 });
    expect((await work([message('m1', ISSUE.slug, ['a@x.com', 'b@x.com'], 1)])).failedMessageIds).toEqual(['m1']);
    expect((await work([message('m1', ISSUE.slug, ['a@x.com', 'b@x.com'], 2)])).failedMessageIds).toEqual([]);
    const c = (await w.campaigns.get(ISSUE.slug))!;
    expect(c.status).toBe('PAUSED');
    expect(c.pausedReason).toMatch(/SES unreachable.*ENOTFOUND/);
    expect(w.campaigns.pairStatus(ISSUE.slug, 'a@x.com')).toBe('QUEUED');
    expect(w.campaigns.pairStatus(ISSUE.slug, 'b@x.com')).toBe('QUEUED');
  });

  it('stops claiming near the deadline: the rest of the message goes back unclaimed, and later receives finish it', async () => {
    const w = world();
    const emails = ['a@x.com', 'b@x.com', 'c@x.com', 'd@x.com', 'e@x.com'];
    await w.seed(emails.map((e) => [e, 'confirmed'] as [string, 'confirmed']));
    await started(w, 5);
    await w.campaigns.saveCursor(ISSUE.slug, undefined, true, 5);
    const work = createRecipientWorker({ ...w.workerDeps, concurrency: 1, deadlineMarginMs: 1000, maxIdleReceives: 1, maxReceiveCount: 50 });
    // Time runs out after two sends.
    const afterSends = (n: number) => ({ remainingMs: () => (w.mailer.sent.length < n ? 60_000 : 999) });
    let receive = 1;
    const first = await work([message('m1', ISSUE.slug, emails, receive)], afterSends(2));
    expect(first.failedMessageIds).toEqual(['m1']);
    expect(first.outcomes).toMatchObject({ sent: 2, deferred: 1 });
    expect(emails.map((e) => w.campaigns.pairStatus(ISSUE.slug, e))).toEqual(['SENT', 'SENT', undefined, undefined, undefined]);
    // A receive with no time at all makes no progress, yet is not a failure: no pause, whatever the count.
    const none = await work([message('m1', ISSUE.slug, emails, ++receive)], { remainingMs: () => 10 });
    expect(none.failedMessageIds).toEqual(['m1']);
    expect((await w.campaigns.get(ISSUE.slug))!.status).toBe('SENDING');
    // Each later receive makes progress (even with receiveCount far above maxIdleReceives): never given up.
    while ((await w.campaigns.get(ISSUE.slug))!.status === 'SENDING' && receive < 10) {
      await work([message('m1', ISSUE.slug, emails, ++receive)], afterSends(w.mailer.sent.length + 1));
    }
    expect(w.mailer.sent.map((e) => e.to)).toEqual(emails);
    expect((await w.campaigns.accounting(ISSUE.slug))).toMatchObject({ sent: 5, unknown: 0, queued: 0, status: 'SENT' });
  });

  it('a pacer that cannot give a token before the deadline defers the recipient without claiming it', async () => {
    const w = world();
    await w.seed([['a@x.com', 'confirmed']]);
    await started(w, 1);
    const waits: number[] = [];
    const pacer = { acquire: async (maxWaitMs?: number) => (waits.push(maxWaitMs ?? Infinity), false), throttled: () => undefined };
    const r = await createRecipientWorker({ ...w.workerDeps, pacer, deadlineMarginMs: 2000 })(
      [message('m1', ISSUE.slug, ['a@x.com'])], { remainingMs: () => 5000 },
    );
    expect(r).toMatchObject({ failedMessageIds: ['m1'], outcomes: { deferred: 1, sent: 0 } });
    expect(waits).toEqual([3000]);
    expect(w.campaigns.pairStatus(ISSUE.slug, 'a@x.com')).toBeUndefined();
  });
});

describe('recipient worker: custom attributes from the queue message', () => {
  it('passes a recipient\'s attributes to the personalizer (escaped in HTML); malformed attribute values are left out', async () => {
    const w = world();
    await w.seed([['a@x.com', 'confirmed'], ['b@x.com', 'confirmed']]);
    await w.issues.put({ ...ISSUE, html: '<p>Plan: {{attributes.tier|none}}</p>{{unsubscribeUrl}}', text: 'Plan: {{attributes.tier|none}}' });
    await w.campaigns.start({ campaignId: ISSUE.slug, slug: ISSUE.slug, subject: ISSUE.subject, audience: 2, now: w.now });
    const body = JSON.stringify({
      campaignId: ISSUE.slug,
      recipients: [{ email: 'a@x.com', attributes: { tier: '<gold>' } }, { email: 'b@x.com', attributes: { tier: 7 } }],
    });
    await createRecipientWorker(w.workerDeps)([{ messageId: 'm1', body, receiveCount: 1 }]);
    const byTo = new Map(w.mailer.sent.map((e) => [e.to, e]));
    expect(byTo.get('a@x.com')!.html).toContain('Plan: &lt;gold&gt;');
    expect(byTo.get('a@x.com')!.text).toContain('Plan: <gold>');
    expect(byTo.get('b@x.com')!.text).toContain('Plan: none');
  });
});
