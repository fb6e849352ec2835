/**
 * One subscriber per mailbox over HTTP (issue 13), and the welcome email (issue 15): the local stack as `npm start`
 * runs it (real HTTP, real emulators), then the subscribers handler with a welcome template on the emulators.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startLocalStack, type LocalStack } from '../../lambdas/local/stack.ts';
import { buildSubscribersHandler, type HttpHandler } from '../../lambdas/handlers/subscribers.ts';
import { LOCAL_POSTAL_ADDRESS, localTokenKeys, localWelcomeEmail } from '../../lambdas/runtime/local.ts';
import { identityKey } from '../../lambdas/core/subscribers/email.ts';
import { signToken } from '../../lambdas/core/tokens/tokens.ts';
import type { TokenKeys } from '../../lambdas/core/ports.ts';
import type { WelcomeEmailTemplate } from '../../lambdas/core/subscribers/welcome.ts';
import { httpEvent, startTestEmulators, testClock, tokenFromEmail, type StoredEmail, type TestEmulators } from '../support/emulators.ts';

/** Every spelling of `local` with each letter in either case (2^letters variants). */
function caseVariants(local: string, domain: string): string[] {
  let out = [''];
  for (const ch of local) out = out.flatMap((p) => (ch.toLowerCase() === ch.toUpperCase() ? [p + ch] : [p + ch.toLowerCase(), p + ch.toUpperCase()]));
  return out.map((l) => `${l}@${domain}`);
}

describe('case variants over HTTP on the local stack', () => {
  let stack: LocalStack;
  let dataDir: string;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'newsletter-identity-'));
    stack = await startLocalStack({ port: 0, sesPort: 0, dynamoPort: 0, dataDir, persist: false });
  });
  afterAll(async () => {
    await stack?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function mailboxEmails(email: string): Promise<StoredEmail[]> {
    const res = await fetch(`${stack.urls.sesEndpoint}/store`);
    const all = ((await res.json()) as { emails: StoredEmail[] }).emails;
    return all.filter((e) => e.destination.to.some((to) => identityKey(to) === identityKey(email)));
  }
  const subscribe = (email: string) =>
    fetch(`${stack.urls.baseUrl}/subscribe`, { method: 'POST', body: new URLSearchParams({ email }), redirect: 'manual' });

  it('64 case variants of one address get one confirmation email (one resend window) and make one subscriber', async () => {
    const variants = caseVariants('abcdef', 'example.com');
    expect(new Set(variants).size).toBe(64);
    for (let i = 0; i < variants.length; i += 16) {
      const answers = await Promise.all(variants.slice(i, i + 16).map(subscribe));
      expect(answers.map((r) => r.status)).toEqual(Array(answers.length).fill(200));
      await Promise.all(answers.map((r) => r.arrayBuffer()));
    }
    const mails = await mailboxEmails('abcdef@example.com');
    expect(mails).toHaveLength(1);
    const items = (await stack.deps.doc.send(new ScanCommand({ TableName: stack.info.tableName }))).Items ?? [];
    expect(items.filter((i) => i.sk === 'SUB').map((i) => i.pk)).toEqual(['SUB#abcdef@example.com']);

    // The link confirms whatever casing it was sent to; later variants stay one confirmed subscriber, no new email
    // beyond the one welcome email the confirmation sends.
    const token = tokenFromEmail(mails[0]!.body.html!);
    const confirm = await fetch(`${stack.urls.baseUrl}/confirm`, { method: 'POST', body: new URLSearchParams({ token }) });
    expect(confirm.status).toBe(200);
    await confirm.arrayBuffer();
    expect((await subscribe('ABCDEF@example.com')).status).toBe(200);
    expect(await stack.deps.subscribers.getStatus('AbCdEf@example.com')).toBe('confirmed');
    const after = await mailboxEmails('abcdef@example.com');
    expect(after.map((m) => m.subject === mails[0]!.subject ? 'confirmation' : /^Welcome/.test(m.subject) ? 'welcome' : m.subject).sort()).toEqual(['confirmation', 'welcome']);
    expect(await stack.deps.subscribers.countConfirmed()).toBe(1);
  });

  it('a confirm link for a record an older version stored under its exact spelling still works', async () => {
    const now = new Date();
    await stack.deps.doc.send(new PutCommand({
      TableName: stack.info.tableName,
      Item: {
        pk: 'SUB#Old.Timer@example.com', sk: 'SUB', email: 'Old.Timer@example.com', status: 'pending',
        createdAt: now.toISOString(), updatedAt: now.toISOString(), confirmationSentAt: now.toISOString(),
        expiresAt: Math.floor(now.getTime() / 1000) + 3600, consent: { at: now.toISOString(), method: 'double-opt-in', source: 'old' },
      },
    }));
    const token = signToken({ purpose: 'confirm', email: 'Old.Timer@example.com' }, await stack.deps.tokenKeys(), now);
    // The same person subscribes again in the same spelling: still one record, inside its resend window.
    expect((await subscribe('Old.Timer@example.com')).status).toBe(200);
    expect(await mailboxEmails('old.timer@example.com')).toHaveLength(0);
    const confirm = await fetch(`${stack.urls.baseUrl}/confirm`, { method: 'POST', body: new URLSearchParams({ token }) });
    expect(confirm.status).toBe(200);
    await confirm.arrayBuffer();
    expect(await stack.deps.subscribers.getStatus('Old.Timer@example.com')).toBe('confirmed');
    const items = (await stack.deps.doc.send(new ScanCommand({ TableName: stack.info.tableName }))).Items ?? [];
    expect(items.filter((i) => String(i.pk).toLowerCase() === 'sub#old.timer@example.com').map((i) => i.pk)).toEqual(['SUB#Old.Timer@example.com']);
  });
});

describe('welcome email on confirmation (subscribers handler on the emulators)', () => {
  const BASE = 'http://127.0.0.1:3000';
  const clock = testClock(new Date('2026-12-01T10:00:00Z'));
  const template: WelcomeEmailTemplate = {
    subject: 'Welcome to the newsletter',
    html: '<p>Hello {{name}}!</p><p><a href="{{unsubscribeUrl}}">Unsubscribe</a></p>',
    text: 'Hello {{name}}!\nUnsubscribe: {{unsubscribeUrl}}',
  };
  let env: TestEmulators;
  let keys: TokenKeys;
  let welcome: () => Promise<WelcomeEmailTemplate | undefined>;
  let handler: HttpHandler;
  const errors: unknown[] = [];

  beforeAll(async () => {
    env = await startTestEmulators({ clock });
    const tokenKeys = localTokenKeys(env.dataDir);
    keys = await tokenKeys();
    handler = buildSubscribersHandler({
      repo: env.subscribers, mailer: env.mailer, tokenKeys, clock, sender: 'News <news@example.com>', publicBaseUrl: BASE,
      welcome: () => welcome(),
      logError: (_m, err) => errors.push(err),
    });
  });
  beforeEach(async () => {
    welcome = async () => template;
    errors.length = 0;
    await env.reset();
  });
  afterAll(() => env?.stop());

  const post = (path: string, fields: Record<string, string>) =>
    handler(httpEvent('POST', path, { body: new URLSearchParams(fields).toString(), contentType: 'application/x-www-form-urlencoded' }));

  it('is sent once, escaped, with an unsubscribe link and List-Unsubscribe headers; a repeated click sends no second one', async () => {
    expect((await post('/subscribe', { email: 'Ann@example.com', name: 'Ann <b>"&' })).statusCode).toBe(200);
    const [confirmation] = await env.emailsTo('Ann@example.com');
    const token = tokenFromEmail(confirmation!.body.html!);
    expect((await post('/confirm', { token })).statusCode).toBe(200);
    expect((await post('/confirm', { token })).statusCode).toBe(200);
    const welcomes = (await env.emailsTo('Ann@example.com')).filter((e) => e.subject === 'Welcome to the newsletter');
    expect(welcomes).toHaveLength(1);
    const mail = welcomes[0]!;
    expect(mail.body.html).toContain('<p>Hello Ann &lt;b&gt;&quot;&amp;!</p>');
    expect(mail.body.text).toContain('Hello Ann <b>"&!');
    const header = (n: string) => mail.headers?.find((h) => h.name.toLowerCase() === n.toLowerCase())?.value;
    expect(header('List-Unsubscribe-Post')).toBe('List-Unsubscribe=One-Click');
    const url = /^<(.+)>$/.exec(header('List-Unsubscribe') ?? '')?.[1];
    expect(url).toMatch(new RegExp(`^${BASE}/unsubscribe\\?token=`));
    expect(mail.body.text).toContain(url!);
    // The link really unsubscribes (RFC 8058 one-click POST).
    const u = new URL(url!);
    const oneClick = await handler(httpEvent('POST', `${u.pathname}${u.search}`, { body: 'List-Unsubscribe=One-Click', contentType: 'application/x-www-form-urlencoded' }));
    expect(oneClick.statusCode).toBe(200);
    expect(await env.subscribers.getStatus('ann@example.com')).toBe('unsubscribed');
  });

  it('the local stack\'s loader renders content/welcome.md: the name (or its fallback) filled, the unsubscribe link working', async () => {
    welcome = localWelcomeEmail({ sender: 'News <news@example.com>', publicBaseUrl: BASE });
    for (const [email, name] of [['dee@example.com', 'Dee & <Co>'], ['eli@example.com', undefined]] as const) {
      await post('/subscribe', { email, ...(name ? { name } : {}) });
      const token = tokenFromEmail((await env.emailsTo(email))[0]!.body.html!);
      expect((await post('/confirm', { token })).statusCode).toBe(200);
    }
    expect(errors).toEqual([]);
    const [dee] = (await env.emailsTo('dee@example.com')).filter((e) => e.subject.startsWith('Welcome'));
    const [eli] = (await env.emailsTo('eli@example.com')).filter((e) => e.subject.startsWith('Welcome'));
    expect(dee!.body.html).toContain('Hi Dee &amp; &lt;Co&gt;,');
    expect(dee!.body.text).toContain('Hi Dee & <Co>,');
    expect(eli!.body.text).toContain('Hi there,');
    for (const mail of [dee!, eli!]) {
      expect(`${mail.body.html}${mail.body.text}`).not.toMatch(/\{\{/);
      expect(mail.body.text).toContain(LOCAL_POSTAL_ADDRESS);
      expect(mail.body.text).toContain(`${BASE}/unsubscribe?token=`);
    }
  });

  it('a welcome email that cannot be sent (its template fails to load) does not fail the confirmation; none without a template', async () => {
    welcome = async () => {
      throw new Error('content/welcome.md is broken');
    };
    await post('/subscribe', { email: 'bob@example.com' });
    const token = tokenFromEmail((await env.emailsTo('bob@example.com'))[0]!.body.html!);
    expect((await post('/confirm', { token })).statusCode).toBe(200);
    expect(await env.subscribers.getStatus('bob@example.com')).toBe('confirmed');
    expect(errors).toHaveLength(1);
    expect(await env.emailsTo('bob@example.com')).toHaveLength(1);

    welcome = async () => undefined;
    await post('/subscribe', { email: 'cy@example.com' });
    const token2 = signToken({ purpose: 'confirm', email: 'cy@example.com' }, keys, clock.now());
    expect((await post('/confirm', { token: token2 })).statusCode).toBe(200);
    expect(await env.emailsTo('cy@example.com')).toHaveLength(1);
  });
});
