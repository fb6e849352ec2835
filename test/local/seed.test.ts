/**
 * The steps of `npm start` (lambdas/local/seed.ts) on a local stack with the real emulators: the demo import and
 * the seed send, including the case `--once` must report as a failure (a campaign left paused) and its resumption.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { accountingComplete, DEMO_SUBSCRIBERS_FILE, importDemoSubscribers, SEED_ISSUE_FILE, sendSeedIssue, type SeedSend } from '../../lambdas/local/seed.ts';
import { attachSendingToStack, type AttachedSending } from '../../lambdas/local/sending.ts';
import { startLocalStack, type LocalStack } from '../../lambdas/local/stack.ts';
import { FaultInjectingMailer, realMailer, sesError, storedEmails } from '../integration/send-helpers.ts';

const SEED = readFileSync(SEED_ISSUE_FILE, 'utf8');
const DEMO_COUNT = readFileSync(DEMO_SUBSCRIBERS_FILE, 'utf8').trim().split(/\r?\n/).length - 1;

let stack: LocalStack | undefined;
let sending: AttachedSending | undefined;
let dataDir: string | undefined;

async function startStack(): Promise<LocalStack> {
  dataDir = mkdtempSync(join(tmpdir(), 'npm-start-seed-'));
  stack = await startLocalStack({ port: 0, sesPort: 0, dynamoPort: 0, dataDir, persist: false, writeStackFile: false, maxSendRate: 1000 });
  // aws-ses-v2-local keeps one store per process, shared by every emulator instance: start each test empty.
  await (await fetch(`${stack.urls.sesEndpoint}/clear-store`, { method: 'POST' })).arrayBuffer();
  return stack;
}

/** The run after an unfinished send resumed it, and every demo subscriber has exactly one email. */
async function expectResumedExactlyOnce(run: SeedSend, s: LocalStack): Promise<void> {
  expect(run).toMatchObject({ created: false, resumed: true });
  expect(run.accounting).toMatchObject({ audience: DEMO_COUNT, sent: DEMO_COUNT, queued: 0 });
  expect(accountingComplete(run.accounting)).toBe(true);
  const recipients = (await storedEmails(s.urls.sesEndpoint)).flatMap((e) => e.destination.to);
  expect(recipients).toHaveLength(DEMO_COUNT);
  expect(new Set(recipients).size).toBe(DEMO_COUNT);
}

afterEach(async () => {
  await sending?.stop();
  await stack?.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  sending = stack = dataDir = undefined;
});

describe('importDemoSubscribers', () => {
  it('imports every demo row as confirmed with consent source demo, and never changes an existing subscriber', async () => {
    // Prepare
    const s = await startStack();
    // Act
    const first = await importDemoSubscribers(s.deps.subscribers);
    await s.deps.subscribers.unsubscribe('ada.okafor@example.com', new Date());
    const second = await importDemoSubscribers(s.deps.subscribers);
    // Assess
    expect(first).toMatchObject({ rows: DEMO_COUNT, created: DEMO_COUNT, existing: 0, skipped: [] });
    expect(second).toMatchObject({ rows: DEMO_COUNT, created: 0, existing: DEMO_COUNT });
    expect(await s.deps.subscribers.get('chen.jing@example.com')).toMatchObject({
      status: 'confirmed',
      name: '陈静',
      consent: { method: 'import', source: 'demo' },
      attributes: { city: 'Chengdu' },
    });
    expect(await s.deps.subscribers.getStatus('ada.okafor@example.com')).toBe('unsubscribed');
    expect(await s.deps.subscribers.countConfirmed()).toBe(DEMO_COUNT - 1);
  });
});

describe('sendSeedIssue', () => {
  it('sends once; a second call reports the existing campaign and sends nothing', async () => {
    const s = await startStack();
    sending = attachSendingToStack(s, { maxSendRate: 1000 });
    await importDemoSubscribers(s.deps.subscribers);

    const first = await sendSeedIssue(sending, SEED);
    expect(first).toMatchObject({ campaignId: 'issue-31', created: true, resumed: false });
    expect(first.accounting).toMatchObject({ audience: DEMO_COUNT, sent: DEMO_COUNT, queued: 0, status: 'SENT' });
    expect(accountingComplete(first.accounting)).toBe(true);
    expect(await storedEmails(s.urls.sesEndpoint)).toHaveLength(DEMO_COUNT);

    const second = await sendSeedIssue(sending, SEED);
    expect(second).toMatchObject({ created: false, resumed: false });
    expect(second.accounting).toMatchObject({ audience: DEMO_COUNT, sent: DEMO_COUNT });
    expect(accountingComplete(second.accounting)).toBe(true);
    expect(await storedEmails(s.urls.sesEndpoint)).toHaveLength(DEMO_COUNT);
  });

  it('(fake SES: SendingPausedException after 3 emails) reports an incomplete accounting, and the next run resumes exactly once', async () => {
    // Prepare: SES refuses to send after three accepted emails, until `paused` is lifted.
    const s = await startStack();
    let accepted = 0;
    let paused = false;
    const mailer = new FaultInjectingMailer(realMailer(s.emulators), () => {
      if (paused) return sesError('SendingPausedException', 400, 'Email sending is disabled for your account.');
      if (++accepted === 3) paused = true;
      return undefined;
    });
    sending = attachSendingToStack(s, { maxSendRate: 1000, mailer });
    await importDemoSubscribers(s.deps.subscribers);

    // Act: the first run stops at the pause.
    const first = await sendSeedIssue(sending, SEED);
    // Assess: what `npm start -- --once` turns into exit 1.
    expect(first.accounting.status).toBe('PAUSED');
    expect(first.accounting.queued).toBeGreaterThan(0);
    expect(accountingComplete(first.accounting)).toBe(false);

    // Act: SES sends again; the next run resumes the campaign.
    paused = false;
    const second = await sendSeedIssue(sending, SEED);
    // Assess
    await expectResumedExactlyOnce(second, s);
  });

  it('resumes a send whose queued messages were lost (the stack stopped mid-send), and emails nobody twice', async () => {
    // Prepare: the first run's queue drops every message, as the in-memory queue does when the process stops.
    const s = await startStack();
    await importDemoSubscribers(s.deps.subscribers);
    const lost = attachSendingToStack(s, { maxSendRate: 1000, sendQueue: { sendBatch: async () => ({ failedIds: [] }) } });
    const first = await sendSeedIssue(lost, SEED);
    await lost.stop();
    expect(first.accounting).toMatchObject({ audience: DEMO_COUNT, sent: 0, queued: DEMO_COUNT });
    expect(accountingComplete(first.accounting)).toBe(false);

    // Act: the next run, with a working queue.
    sending = attachSendingToStack(s, { maxSendRate: 1000 });
    const second = await sendSeedIssue(sending, SEED);

    // Assess
    await expectResumedExactlyOnce(second, s);
    // A third run has nothing left to do.
    expect(await sendSeedIssue(sending, SEED)).toMatchObject({ created: false, resumed: false });
    expect(await storedEmails(s.urls.sesEndpoint)).toHaveLength(DEMO_COUNT);
  });
});
