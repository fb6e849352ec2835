/**
 * Every bad input to the subscribers API, through the real handler on dynalite + aws-ses-v2-local:
 * 4xx with a plain message, never a 5xx, nothing stored or sent. Plus the isemail test set via POST /subscribe.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildSubscribersHandler, type HttpHandler } from '../../lambdas/handlers/subscribers.ts';
import { localTokenKeys } from '../../lambdas/runtime/local.ts';
import { httpEvent, startTestEmulators, type TestEmulators } from '../support/emulators.ts';
import { fixturePath } from '../support/fixtures.ts';

let env: TestEmulators;
let handler: HttpHandler;
const URLENC = 'application/x-www-form-urlencoded';

beforeAll(async () => {
  env = await startTestEmulators();
  handler = buildSubscribersHandler({
    repo: env.subscribers,
    mailer: env.mailer,
    tokenKeys: localTokenKeys(env.dataDir),
    clock: { now: () => new Date() },
    sender: 'News <news@example.com>',
    publicBaseUrl: 'http://127.0.0.1:3000',
  });
});
beforeEach(() => env.reset());
afterAll(() => env?.stop());

async function expectNothingStored() {
  const items = [];
  for await (const s of env.subscribers.scan()) items.push(s.email);
  expect(items).toEqual([]);
  expect(await env.emails()).toEqual([]);
}

describe('bad HTTP input', () => {
  const cases: Array<[string, Parameters<typeof httpEvent>, number, RegExp]> = [
    ['malformed JSON', ['POST', '/subscribe', { body: '{"email": "a@example.com"', contentType: 'application/json' }], 400, /not valid JSON/],
    ['JSON array', ['POST', '/subscribe', { body: '["a@example.com"]', contentType: 'application/json' }], 400, /JSON object/],
    ['JSON non-string email', ['POST', '/subscribe', { body: '{"email": 42}', contentType: 'application/json' }], 400, /must be a string/],
    ['unsupported content type', ['POST', '/subscribe', { body: '<x/>', contentType: 'application/xml' }], 415, /Unsupported content type/],
    ['body without content type', ['POST', '/subscribe', { body: 'email=a@example.com' }], 415, /urlencoded/],
    ['body over 16 KB', ['POST', '/subscribe', { body: `email=a@example.com&name=${'x'.repeat(17 * 1024)}`, contentType: URLENC }], 413, /16 KB/],
    ['base64 body over 16 KB', ['POST', '/subscribe', { body: Buffer.alloc(17 * 1024, 'a'), contentType: URLENC }], 413, /16 KB/],
    ['multipart without boundary', ['POST', '/subscribe', { body: 'x', contentType: 'multipart/form-data' }], 400, /boundary/],
    ['multipart malformed', ['POST', '/subscribe', { body: '--b\r\nno headers', contentType: 'multipart/form-data; boundary=b' }], 400, /malformed/],
    ['missing email', ['POST', '/subscribe', { body: 'name=Ann', contentType: URLENC }], 400, /Enter an email/],
    ['display name', ['POST', '/subscribe', { body: 'email=Ann%20%3Cann%40example.com%3E', contentType: URLENC }], 400, /without a name/],
    ['CR LF injection', ['POST', '/subscribe', { body: 'email=a%40example.com%0D%0ABcc%3A%20x%40evil.com', contentType: URLENC }], 400, /control characters/],
    ['non-ASCII local part', ['POST', '/subscribe', { body: `email=${encodeURIComponent('jörg@example.com')}`, contentType: URLENC }], 400, /ASCII/],
    ['255-character address', ['POST', '/subscribe', { body: `email=${'a'.repeat(64)}%40${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(59)}.com`, contentType: URLENC }], 400, /too long/],
    ['name over 100 characters', ['POST', '/subscribe', { body: `email=a%40example.com&name=${'n'.repeat(101)}`, contentType: URLENC }], 400, /longer than 100/],
    ['name with control characters', ['POST', '/subscribe', { body: 'email=a%40example.com&name=A%07B', contentType: URLENC }], 400, /control characters/],
    ['unknown route', ['GET', '/wp-admin'], 404, /Not found/],
    ['GET on one-click path with no token', ['GET', '/unsubscribe'], 400, /not valid/],
    ['POST /health', ['POST', '/health'], 405, /not allowed/],
    ['DELETE /subscribe', ['DELETE', '/subscribe'], 405, /not allowed/],
  ];

  it.each(cases)('%s → %i with a plain message, nothing stored', async (_name, args, status, message) => {
    const res = await handler(httpEvent(...args));
    expect(res.statusCode).toBe(status);
    expect(res.body).toMatch(message);
    expect(res.body).not.toMatch(/at .*\.ts:\d+|Exception/);
    await expectNothingStored();
  });

  it('405 names the allowed methods in Allow', async () => {
    const res = await handler(httpEvent('PUT', '/confirm'));
    expect(res.statusCode).toBe(405);
    expect(res.headers.allow).toBe('GET, POST, HEAD');
  });

  it('answers JSON errors to JSON clients', async () => {
    const res = await handler(httpEvent('POST', '/subscribe', { body: '{"email":"nope"}', contentType: 'application/json' }));
    expect(res.statusCode).toBe(400);
    expect(res.headers['content-type']).toMatch(/application\/json/);
    expect(JSON.parse(res.body!)).toEqual({ error: expect.stringContaining('like name@example.com') });
  });

  it('accepts a base64-encoded urlencoded body and converts a non-ASCII domain to punycode', async () => {
    const body = Buffer.from(`email=${encodeURIComponent('  Ann@Bücher.Example ')}`);
    const res = await handler(httpEvent('POST', '/subscribe', { body, contentType: `${URLENC}; charset=UTF-8` }));
    expect(res.statusCode).toBe(200);
    expect(await env.subscribers.getStatus('Ann@xn--bcher-kva.example')).toBe('pending');
    expect((await env.emails())[0]!.destination.to).toEqual(['Ann@xn--bcher-kva.example']);
  });

  it('serves an accessible subscribe form that works without JavaScript', async () => {
    const res = await handler(httpEvent('GET', '/subscribe'));
    expect(res.statusCode).toBe(200);
    const page = res.body!;
    expect(page).toMatch(/<html lang="en">/);
    expect(page).toMatch(/<title>Subscribe · News<\/title>/);
    expect(page).toMatch(/<form method="post" action="\/subscribe"/);
    expect(page).toMatch(/<label for="email">/);
    expect(page).toMatch(/<input id="email" name="email" type="email" required/);
    expect(page).toMatch(/name="website"[^>]*tabindex="-1"/);
    expect(page).not.toMatch(/<script/);
    expect(res.headers['content-security-policy']).toContain("default-src 'none'");
  });
});

/** The isemail set, decoded as fixtures/README.md says (U+2400 + code stands for a control character). */
function isemailCases() {
  const xml = readFileSync(fixturePath('email-addresses', 'isemail-tests.xml'), 'utf8');
  const decode = (s: string) =>
    s
      .replace(/&#x([0-9a-f]+);/gi, (_m, hex: string) => String.fromCodePoint(parseInt(hex, 16)))
      .replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&')
      .replace(/[\u2400-\u241f]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 0x2400));
  return [...xml.matchAll(/<test id="(\d+)">([\s\S]*?)<\/test>/g)].map(([, id, body]) => ({
    id: Number(id),
    address: decode(/<address>([\s\S]*?)<\/address>/.exec(body!)?.[1] ?? ''),
    category: /<category>(.*?)<\/category>/.exec(body!)![1]!,
    diagnosis: /<diagnosis>(.*?)<\/diagnosis>/.exec(body!)![1]!,
  }));
}

describe('isemail test set through POST /subscribe', () => {
  const all = isemailCases();
  const plain = (a: string) => /^[\x21-\x7e]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$/.test(a) && !a.includes('"') && !a.includes('(');
  const refused = all.filter((t) => t.category === 'ISEMAIL_ERR' || t.diagnosis.includes('TOOLONG'));
  const accepted = all.filter(
    (t) => (t.category === 'ISEMAIL_VALID_CATEGORY' || t.category === 'ISEMAIL_DNSWARN') && plain(t.address),
  );

  it('reads the whole set', () => {
    expect(all.length).toBeGreaterThanOrEqual(160);
    expect(refused.length).toBeGreaterThan(60);
    expect(accepted.length).toBeGreaterThan(15);
  });

  it('refuses every error and every over-long address with a 4xx (and stores nothing)', async () => {
    for (const t of refused) {
      for (const contentType of [URLENC, 'application/json']) {
        const body = contentType === URLENC ? `email=${encodeURIComponent(t.address)}` : JSON.stringify({ email: t.address });
        const res = await handler(httpEvent('POST', '/subscribe', { body, contentType }));
        expect(res.statusCode, `#${t.id} ${JSON.stringify(t.address)} (${t.diagnosis})`).toBe(400);
      }
    }
    await expectNothingStored();
  });

  it('accepts every plain valid (and DNS-warning) address', async () => {
    for (const t of accepted) {
      const res = await handler(httpEvent('POST', '/subscribe', { body: `email=${encodeURIComponent(t.address)}`, contentType: URLENC }));
      expect(res.statusCode, `#${t.id} ${t.address}`).toBe(200);
      expect(await env.subscribers.getStatus(t.address.replace(/@(.*)$/, (_m, d: string) => `@${d.toLowerCase()}`)), `#${t.id}`).toBe('pending');
    }
  });
});
