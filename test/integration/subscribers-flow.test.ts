/**
 * The double opt-in flow through the real handler, against dynalite and aws-ses-v2-local (real SDK clients).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildSubscribersHandler, type HttpHandler } from '../../lambdas/handlers/subscribers.ts';
import { localTokenKeys } from '../../lambdas/runtime/local.ts';
import { signToken } from '../../lambdas/core/tokens/tokens.ts';
import type { TokenKeys } from '../../lambdas/core/ports.ts';
import { httpEvent, startTestEmulators, testClock, tokenFromEmail, type TestEmulators } from '../support/emulators.ts';

const BASE = 'http://127.0.0.1:3000';
let env: TestEmulators;
let handler: HttpHandler;
let keys: TokenKeys;
const clock = testClock(new Date('2026-11-28T10:00:00Z'));

const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();
const subscribe = (fields: Record<string, string>) =>
  handler(httpEvent('POST', '/subscribe', { body: form(fields), contentType: 'application/x-www-form-urlencoded' }));

beforeAll(async () => {
  env = await startTestEmulators({ clock });
  const tokenKeys = localTokenKeys(env.dataDir);
  keys = await tokenKeys();
  handler = buildSubscribersHandler({
    repo: env.subscribers,
    mailer: env.mailer,
    tokenKeys,
    clock,
    sender: "Akira's ML News <news@example.com>",
    publicBaseUrl: BASE,
  });
});
beforeEach(async () => {
  clock.set(new Date('2026-11-28T10:00:00Z'));
  await env.reset();
});
afterAll(() => env?.stop());

describe('double opt-in flow', () => {
  it('subscribe → email → GET keeps pending → POST confirms → one-click unsubscribes (urlencoded and multipart) → repeats change nothing', async () => {
    // Prepare / Act: subscribe
    const res = await subscribe({ email: 'reader@example.com', name: 'Ann' });
    expect(res.statusCode).toBe(200);
    expect(await env.subscribers.getStatus('reader@example.com')).toBe('pending');

    // Assess: the confirmation email is in the emulator's store, with a working link
    const [mail, ...others] = await env.emailsTo('reader@example.com');
    expect(others).toHaveLength(0);
    expect(mail!.subject).toContain('Confirm');
    expect(mail!.body.text).toContain(`${BASE}/confirm?token=`);
    const token = tokenFromEmail(mail!.body.html!);
    expect(tokenFromEmail(mail!.body.text!)).toBe(token);

    // GET shows a button and changes nothing (mail scanners fetch links)
    const page = await handler(httpEvent('GET', `/confirm?token=${encodeURIComponent(token)}`));
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('<form method="post" action="/confirm">');
    expect(page.body).toContain('reader@example.com');
    expect(await env.subscribers.getStatus('reader@example.com')).toBe('pending');

    // POST (the page's form) confirms; the subscriber enters the sparse GSI with consent recorded
    const confirmed = await handler(httpEvent('POST', '/confirm', { body: form({ token }), contentType: 'application/x-www-form-urlencoded' }));
    expect(confirmed.statusCode).toBe(200);
    const sub = await env.subscribers.get('reader@example.com');
    expect(sub).toMatchObject({ status: 'confirmed', name: 'Ann', consent: { method: 'double-opt-in', source: 'subscribe-form' } });
    expect(sub!.expiresAt).toBeUndefined();
    expect((await env.subscribers.listConfirmed(undefined, 10)).items).toEqual([{ email: 'reader@example.com', name: 'Ann' }]);

    // Confirming again is harmless
    expect((await handler(httpEvent('POST', `/confirm?token=${encodeURIComponent(token)}`))).statusCode).toBe(200);

    // One-click unsubscribe (RFC 8058), urlencoded: 200, no redirect
    const unsub = signToken({ purpose: 'unsubscribe', email: 'reader@example.com' }, keys, clock.now());
    const oneClick = await handler(
      httpEvent('POST', `/unsubscribe?token=${encodeURIComponent(unsub)}`, {
        body: 'List-Unsubscribe=One-Click',
        contentType: 'application/x-www-form-urlencoded',
      }),
    );
    expect(oneClick.statusCode).toBe(200);
    expect(oneClick.headers.location).toBeUndefined();
    expect(await env.subscribers.getStatus('reader@example.com')).toBe('unsubscribed');
    expect(await env.subscribers.countConfirmed()).toBe(0);
    const after = await env.subscribers.get('reader@example.com');

    // Multipart repeat: same answer, nothing changes
    const fd = new FormData();
    fd.set('List-Unsubscribe', 'One-Click');
    const req = new Request('http://x/', { method: 'POST', body: fd });
    const multipart = await handler(
      httpEvent('POST', `/unsubscribe?token=${encodeURIComponent(unsub)}`, {
        body: Buffer.from(await req.arrayBuffer()),
        contentType: req.headers.get('content-type')!,
      }),
    );
    expect(multipart.statusCode).toBe(200);
    expect(await env.subscribers.get('reader@example.com')).toEqual(after);

    // Only the one confirmation email was ever sent
    expect(await env.emailsTo('reader@example.com')).toHaveLength(1);
  });

  it('one-click multipart unsubscribes a confirmed subscriber', async () => {
    await env.subscribers.importSubscriber({
      email: 'm@example.com', status: 'confirmed', consent: { at: clock.now().toISOString(), method: 'import', source: 'test' }, now: clock.now(),
    });
    const unsub = signToken({ purpose: 'unsubscribe', email: 'm@example.com' }, keys, clock.now());
    const boundary = '----vitestBoundary7MA4YWxk';
    const body = `--${boundary}\r\nContent-Disposition: form-data; name="List-Unsubscribe"\r\n\r\nOne-Click\r\n--${boundary}--\r\n`;
    const res = await handler(
      httpEvent('POST', `/unsubscribe?token=${encodeURIComponent(unsub)}`, { body, contentType: `multipart/form-data; boundary=${boundary}`, base64: true }),
    );
    expect(res.statusCode).toBe(200);
    expect(await env.subscribers.getStatus('m@example.com')).toBe('unsubscribed');
  });

  it('twenty concurrent subscribes of one address leave one record and send exactly one email', async () => {
    const results = await Promise.all(Array.from({ length: 20 }, () => subscribe({ email: 'race@example.com' })));
    expect(results.map((r) => r.statusCode)).toEqual(Array(20).fill(200));
    const records = [];
    for await (const s of env.subscribers.scan()) records.push(s);
    expect(records.map((r) => r.email)).toEqual(['race@example.com']);
    expect(await env.emailsTo('race@example.com')).toHaveLength(1);
  });

  it('sends at most one confirmation email per address per 10 minutes', async () => {
    await subscribe({ email: 'again@example.com' });
    clock.advance(9 * 60);
    await subscribe({ email: 'again@example.com' });
    expect(await env.emailsTo('again@example.com')).toHaveLength(1);
    clock.advance(61);
    await subscribe({ email: 'again@example.com' });
    expect(await env.emailsTo('again@example.com')).toHaveLength(2);
  });

  it('escapes a <script> name in the confirmation email', async () => {
    await subscribe({ email: 'xss@example.com', name: '<script>alert(1)</script>' });
    const [mail] = await env.emailsTo('xss@example.com');
    expect(mail!.body.html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(mail!.body.html).not.toContain('<script>');
  });

  it('answers identically for new, pending, confirmed and unsubscribed addresses', async () => {
    const now = clock.now();
    const consent = { at: now.toISOString(), method: 'import' as const, source: 'test' };
    await env.subscribers.upsertPending({ email: 'pending@example.com', source: 'x', now, ttlSeconds: 3600, resendAfterSeconds: 600 });
    await env.subscribers.importSubscriber({ email: 'confirmed@example.com', status: 'confirmed', consent, now });
    await env.subscribers.importSubscriber({ email: 'left@example.com', status: 'confirmed', consent, now });
    await env.subscribers.unsubscribe('left@example.com', now);
    const answers = await Promise.all(
      ['new@example.com', 'pending@example.com', 'confirmed@example.com', 'left@example.com'].map((email) => subscribe({ email })),
    );
    const shapes = answers.map((r) => ({ status: r.statusCode, body: r.body, type: r.headers['content-type'] }));
    expect(new Set(shapes.map((s) => JSON.stringify(s))).size).toBe(1);
    // JSON clients too
    const json = await Promise.all(
      ['new2@example.com', 'confirmed@example.com'].map((email) =>
        handler(httpEvent('POST', '/subscribe', { body: JSON.stringify({ email }), contentType: 'application/json' })),
      ),
    );
    expect(json[0]!.statusCode).toBe(200);
    expect(json[0]!.body).toBe(json[1]!.body);
    // confirmed stays confirmed
    expect(await env.subscribers.getStatus('confirmed@example.com')).toBe('confirmed');
  });

  it('a filled honeypot gets the same answer, and nothing is stored or sent', async () => {
    const normal = await subscribe({ email: 'human@example.com' });
    const bot = await subscribe({ email: 'bot@example.com', website: 'http://spam.example' });
    expect(bot.statusCode).toBe(normal.statusCode);
    expect(bot.body).toBe(normal.body);
    expect(await env.subscribers.get('bot@example.com')).toBeUndefined();
    expect(await env.emailsTo('bot@example.com')).toHaveLength(0);
  });
});

describe('tokens at the HTTP boundary', () => {
  async function pendingToken(email: string) {
    await subscribe({ email });
    const [mail] = await env.emailsTo(email);
    return tokenFromEmail(mail!.body.html!);
  }

  it('refuses a tampered confirm token with 400 and leaves the subscriber pending', async () => {
    const token = await pendingToken('t@example.com');
    const parts = token.split('.');
    const forged = Buffer.from(JSON.stringify({ p: 'confirm', e: 'other@example.com', iat: 1 })).toString('base64url');
    for (const bad of [`${parts[0]}.${parts[1]}.${forged}.${parts[3]}`, `${token.slice(0, -2)}AA`]) {
      const res = await handler(httpEvent('POST', '/confirm', { body: form({ token: bad }), contentType: 'application/x-www-form-urlencoded' }));
      expect(res.statusCode).toBe(400);
      expect(res.body).toContain('not valid');
    }
    expect(await env.subscribers.getStatus('t@example.com')).toBe('pending');
  });

  it('refuses an expired confirm token (after 7 days) on GET and POST', async () => {
    const token = await pendingToken('late@example.com');
    clock.advance(7 * 24 * 3600 + 1);
    const get = await handler(httpEvent('GET', `/confirm?token=${encodeURIComponent(token)}`));
    const post = await handler(httpEvent('POST', `/confirm?token=${encodeURIComponent(token)}`));
    expect([get.statusCode, post.statusCode]).toEqual([400, 400]);
    expect(post.body).toContain('expired');
    expect(await env.subscribers.get('late@example.com')).toBeUndefined();
  });

  it('refuses a confirm token used to unsubscribe and an unsubscribe token used to confirm', async () => {
    const confirmToken = await pendingToken('p@example.com');
    const unsub = signToken({ purpose: 'unsubscribe', email: 'p@example.com' }, keys, clock.now());
    const a = await handler(httpEvent('POST', `/unsubscribe?token=${encodeURIComponent(confirmToken)}`, { body: 'List-Unsubscribe=One-Click', contentType: 'application/x-www-form-urlencoded' }));
    const b = await handler(httpEvent('POST', '/confirm', { body: form({ token: unsub }), contentType: 'application/x-www-form-urlencoded' }));
    expect([a.statusCode, b.statusCode]).toEqual([400, 400]);
    expect(await env.subscribers.getStatus('p@example.com')).toBe('pending');
  });

  it('refuses over-long, empty and malformed tokens with 400', async () => {
    for (const token of ['x'.repeat(5000), '', 'abc', 'v1.k.@@.@@', '%%%']) {
      for (const path of ['/confirm', '/unsubscribe']) {
        const get = await handler(httpEvent('GET', `${path}?token=${encodeURIComponent(token)}`));
        const post = await handler(httpEvent('POST', path, { body: form({ token }), contentType: 'application/x-www-form-urlencoded' }));
        expect([get.statusCode, post.statusCode], `${path} ${token.slice(0, 10)}`).toEqual([400, 400]);
      }
    }
  });
});
