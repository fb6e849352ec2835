/**
 * The send pipeline end to end on the real emulators (dynalite + aws-ses-v2-local) with the real SDK clients:
 * send Lambda → local queue → worker → SES emulator, and the subscribers API for the unsubscribe link.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { buildSubscribersHandler } from '../../lambdas/handlers/subscribers.ts';
import { verifyToken } from '../../lambdas/core/tokens/tokens.ts';
import { systemClock } from '../../lambdas/core/ports.ts';
import type { AttachedSending } from '../../lambdas/local/sending.ts';
import { viaEventBridge } from '../handlers/ses-events.fixtures.ts';
import {
  attach, countByRecipient, invariantHolds, issueMarkdown, PUBLIC_BASE_URL, resetEmulators, seed, settle,
  startSendEnv, storedEmails, TOKEN_KEYS,
} from './send-helpers.ts';

let env: Awaited<ReturnType<typeof startSendEnv>>;
let sending: AttachedSending;

beforeAll(async () => {
  env = await startSendEnv();
});
afterAll(async () => {
  await env.stop();
});
beforeEach(async () => {
  await resetEmulators(env.emulators);
  sending = attach(env);
});
afterEach(async () => {
  await sending.stop();
});

const mixed = [
  { email: 'ann@example.com', status: 'confirmed' as const, name: 'Ann <script>alert(1)</script>' },
  { email: 'bob@example.com', status: 'confirmed' as const },
  { email: 'cat@example.com', status: 'confirmed' as const },
  { email: 'dan@example.com', status: 'confirmed' as const },
  { email: 'eve@example.com', status: 'pending' as const },
  { email: 'fay@example.com', status: 'unsubscribed' as const },
  { email: 'gus@example.com', status: 'bounced' as const },
  { email: 'hal@example.com', status: 'complained' as const },
];
const confirmed = mixed.filter((p) => p.status === 'confirmed').map((p) => p.email).sort();

function onePostEvent(url: string): APIGatewayProxyEventV2 {
  const u = new URL(url);
  return {
    version: '2.0', routeKey: '$default', rawPath: u.pathname, rawQueryString: u.search.slice(1),
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    requestContext: { http: { method: 'POST', path: u.pathname, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'test' } },
    body: 'List-Unsubscribe=One-Click', isBase64Encoded: false,
  } as unknown as APIGatewayProxyEventV2;
}

describe('send pipeline on dynalite + aws-ses-v2-local', () => {
  it('a mixed audience: every confirmed subscriber gets exactly one email, nobody else any', async () => {
    await seed(sending, mixed);
    const result = await sending.invokeSend({ issue: { markdown: issueMarkdown('mixed-1') }, mode: 'send' });
    expect(result.status).toBe('complete');
    const a = await settle(sending, 'mixed-1');

    const counts = countByRecipient(await storedEmails(env.emulators.sesEndpoint), 'mixed-1');
    expect([...counts.keys()].sort()).toEqual(confirmed);
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
    expect(a).toMatchObject({ audience: 4, sent: 4, skipped: 0, failed: 0, unknown: 0, queued: 0 });
    expect(invariantHolds(a)).toBe(true);
  });

  it('List-Unsubscribe headers are present and their URL really unsubscribes (one-click POST)', async () => {
    await seed(sending, mixed);
    await sending.invokeSend({ issue: { markdown: issueMarkdown('headers-1') }, mode: 'send' });
    await settle(sending, 'headers-1');
    const emails = await storedEmails(env.emulators.sesEndpoint);
    const toBob = emails.find((e) => e.destination.to.includes('bob@example.com'));
    expect(toBob).toBeDefined();
    const header = (n: string) => toBob!.headers?.find((h) => h.name.toLowerCase() === n.toLowerCase())?.value;
    expect(header('List-Unsubscribe-Post')).toBe('List-Unsubscribe=One-Click');
    const listUnsubscribe = header('List-Unsubscribe');
    expect(listUnsubscribe).toMatch(/^<http:\/\/127\.0\.0\.1:3999\/unsubscribe\?token=[^>]+>$/);
    const url = listUnsubscribe!.slice(1, -1);

    // The same signed URL is in the text part the subscriber reads (the footer link).
    expect(toBob!.body.text ?? '').toContain(url);
    expect(toBob!.body.html ?? '').toContain(url.replace(/&/g, '&amp;'));

    const token = new URL(url).searchParams.get('token');
    const check = verifyToken(token, 'unsubscribe', TOKEN_KEYS, new Date());
    expect(check.ok && check.claims.email).toBe('bob@example.com');

    const api = buildSubscribersHandler({
      repo: sending.subscribers, mailer: sending.mailer, tokenKeys: async () => TOKEN_KEYS, clock: systemClock,
      sender: 'Test News <news@example.com>', publicBaseUrl: PUBLIC_BASE_URL,
    });
    const res = await api(onePostEvent(url));
    expect(res.statusCode).toBe(200);
    expect(await sending.subscribers.getStatus('bob@example.com')).toBe('unsubscribed');
  });

  it('escapes a subscriber name in the HTML it sends', async () => {
    await seed(sending, mixed);
    await sending.invokeSend({ issue: { markdown: issueMarkdown('escape-1') }, mode: 'send' });
    await settle(sending, 'escape-1');
    const emails = await storedEmails(env.emulators.sesEndpoint);
    for (const e of emails) expect(e.body.html ?? '').not.toContain('<script>alert(1)</script>');
  });

  it('a second issue after an unsubscribe does not reach that subscriber', async () => {
    await seed(sending, mixed);
    await sending.invokeSend({ issue: { markdown: issueMarkdown('first-1') }, mode: 'send' });
    await settle(sending, 'first-1');
    await sending.subscribers.unsubscribe('cat@example.com', new Date());

    await sending.invokeSend({ issue: { markdown: issueMarkdown('second-1') }, mode: 'send' });
    const a = await settle(sending, 'second-1');
    const counts = countByRecipient(await storedEmails(env.emulators.sesEndpoint), 'second-1');
    expect(counts.has('cat@example.com')).toBe(false);
    expect([...counts.keys()].sort()).toEqual(confirmed.filter((e) => e !== 'cat@example.com'));
    expect(a).toMatchObject({ audience: 3, sent: 3, queued: 0 });
    expect(invariantHolds(a)).toBe(true);
  });

  it('dry-run prints the plan and records nothing; test mode sends only to the given addresses with [TEST]', async () => {
    await seed(sending, mixed);
    const plan = await sending.invokeSend({ issue: { markdown: issueMarkdown('plan-1') }, mode: 'dry-run' });
    expect(plan).toMatchObject({ status: 'dry-run', campaignId: 'plan-1', audience: 4, suppressed: { total: 3 } });
    if (plan.status !== 'dry-run') throw new Error('unreachable');
    expect(plan.sesCostUsd).toBeCloseTo(4 * 0.0001, 6);
    expect(plan.etaSeconds).toBeGreaterThan(0);
    expect(await sending.campaigns.get('plan-1')).toBeUndefined();

    const test = await sending.invokeSend({ issue: { markdown: issueMarkdown('plan-1') }, mode: 'test', testRecipients: ['qa@example.org'] });
    expect(test.status).toBe('test-sent');
    await sending.drain();
    const emails = await storedEmails(env.emulators.sesEndpoint);
    expect(emails).toHaveLength(1);
    expect(emails[0]!.destination.to).toEqual(['qa@example.org']);
    expect(emails[0]!.subject.startsWith('[TEST] ')).toBe(true);
    expect(await sending.campaigns.get('plan-1')).toBeUndefined();
  });

  it('refuses bad input as a value, never a throw', async () => {
    await expect(sending.invokeSend({ mode: 'send' })).resolves.toMatchObject({ status: 'invalid' });
    await expect(sending.invokeSend({ issue: { markdown: 'x' }, mode: 'blast' })).resolves.toMatchObject({ status: 'invalid' });
    await expect(sending.invokeSend({ issue: { markdown: 'x' }, mode: 'test', testRecipients: ['not an email'] })).resolves.toMatchObject({ status: 'invalid' });
    await expect(sending.invokeSend({ campaignId: 'nope', resume: true })).resolves.toMatchObject({ status: 'not-found' });
  });

  it('SES events on dynalite: a permanent bounce and a complaint suppress; duplicates count once; the next issue skips them', async () => {
    await seed(sending, mixed);
    await sending.invokeSend({ issue: { markdown: issueMarkdown('events-1') }, mode: 'send' });
    await settle(sending, 'events-1');
    const mail = (id: string, to: string[]) => ({ messageId: id, destination: to, tags: { campaign: ['events-1'] }, unknownField: { x: 1 } });
    const bounce = { eventType: 'Bounce', mail: mail('m1', ['ann@example.com', 'nobody@example.com']), bounce: { bounceType: 'Permanent', feedbackId: 'f1', bouncedRecipients: [{ emailAddress: 'ann@example.com' }, { emailAddress: 'nobody@example.com' }] } };
    const soft = { eventType: 'Bounce', mail: mail('m2', ['dan@example.com']), bounce: { bounceType: 'Transient', feedbackId: 'f2', bouncedRecipients: [{ emailAddress: 'dan@example.com' }] } };
    const complaint = { eventType: 'Complaint', mail: mail('m3', ['bob@example.com']), complaint: { feedbackId: 'f3', complainedRecipients: [{ emailAddress: 'bob@example.com' }] } };
    // As the EventBridge rule delivers them: one event per invocation; the bounce twice (EventBridge is at least once).
    for (const event of [bounce, soft, complaint, bounce]) await sending.handleSesEvent(viaEventBridge(event));
    expect(await sending.subscribers.getStatus('ann@example.com')).toBe('bounced');
    expect(await sending.subscribers.getStatus('bob@example.com')).toBe('complained');
    expect(await sending.subscribers.getStatus('dan@example.com')).toBe('confirmed');
    expect(await sending.campaigns.accounting('events-1')).toMatchObject({ bounced: 2, complained: 1, softBounced: 1 });

    await fetch(`${env.emulators.sesEndpoint}/clear-store`, { method: 'POST' });
    await sending.invokeSend({ issue: { markdown: issueMarkdown('events-2') }, mode: 'send' });
    await settle(sending, 'events-2');
    const counts = countByRecipient(await storedEmails(env.emulators.sesEndpoint), 'events-2');
    expect([...counts.keys()].sort()).toEqual(['cat@example.com', 'dan@example.com']);
  });

  it('custom attributes go from the confirmed index into the queue messages, and survive a repair (parked pairs)', async () => {
    // Prepare: a queue that only records (the messages are then lost, as with a restart of the local stack).
    const bodies: string[] = [];
    await sending.stop();
    sending = attach(env, { sendQueue: { sendBatch: async (m) => (bodies.push(...m.map((x) => x.body)), { failedIds: [] }) } });
    const consent = { at: new Date().toISOString(), method: 'import' as const, source: 'test' };
    await sending.subscribers.importSubscriber({ email: 'ann@attr.test', name: 'Ann', attributes: { tier: 'gold', city: 'Kyoto' }, status: 'confirmed', consent, now: new Date() });
    await sending.subscribers.importSubscriber({ email: 'bob@attr.test', status: 'confirmed', consent, now: new Date() });
    const recipients = () => bodies.splice(0).flatMap((b) => (JSON.parse(b) as { recipients: unknown[] }).recipients);
    const expected = [{ email: 'ann@attr.test', name: 'Ann', attributes: { tier: 'gold', city: 'Kyoto' } }, { email: 'bob@attr.test' }];
    // Act + assess: the fan-out, then the repair of the lost messages.
    expect((await sending.invokeSend({ issue: { markdown: issueMarkdown('attr-1') }, mode: 'send' })).status).toBe('complete');
    expect(recipients()).toEqual(expected);
    expect((await sending.invokeSend({ campaignId: 'attr-1', resume: true })).status).toBe('complete');
    expect(recipients()).toEqual(expected);
  });

  it('costs at most one strongly consistent read and two writes per recipient on DynamoDB (SDK calls counted)', async () => {
    const people = Array.from({ length: 100 }, (_, i) => ({ email: `c${String(i).padStart(3, '0')}@cost.test`, status: 'confirmed' as const }));
    await seed(sending, people);
    await sending.invokeSend({ issue: { markdown: issueMarkdown('cost-1') }, mode: 'dry-run' }); // warm-up, records nothing
    const calls: Record<string, number> = {};
    sending.dynamo.middlewareStack.add(
      (next, context) => async (args) => {
        calls[context.commandName ?? '?'] = (calls[context.commandName ?? '?'] ?? 0) + 1;
        return next(args);
      },
      { step: 'initialize', name: 'countCalls' },
    );
    await sending.invokeSend({ issue: { markdown: issueMarkdown('cost-1') }, mode: 'send' });
    await sending.drain();
    // Worker per recipient: UpdateItem (claim) + UpdateItem (SENT); statuses one BatchGetItem per 8 recipients of a
    // message. Everything else is per page, per message batch or per campaign, far below one call per recipient.
    expect(calls.UpdateItemCommand).toBeLessThanOrEqual(2 * 100 + 5);
    expect(calls.BatchGetItemCommand).toBe(2 * Math.ceil(50 / 8));
    expect(calls.GetItemCommand).toBeLessThanOrEqual(10);
    expect((calls.PutItemCommand ?? 0) + (calls.QueryCommand ?? 0)).toBeLessThanOrEqual(10);
    const a = await settle(sending, 'cost-1');
    expect(a).toMatchObject({ sent: 100, queued: 0 });
  });
});
