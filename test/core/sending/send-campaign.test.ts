import { describe, expect, it } from 'vitest';
import { runSend } from '../../../lambdas/core/sending/send-campaign.ts';
import { world } from './fakes.ts';

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

  it('retries the entries SendMessageBatch reports as Failed', async () => {
    const w = world();
    await w.seed(people(120));
    let failures = 2;
    w.queue.failWhen = () => failures-- > 0;
    await runSend(w.sendDeps, { issue: { markdown: 'retry-1' }, mode: 'send' });
    const emails = w.queue.messages.flatMap((m) => (JSON.parse(m.body) as { recipients: unknown[] }).recipients);
    expect(emails).toHaveLength(120);
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
});
