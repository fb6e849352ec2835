import { describe, expect, it } from 'vitest';
import { normalizeEmail } from '../../../lambdas/core/subscribers/email.ts';
import { parseSubscribeForm } from '../../../lambdas/core/subscribers/subscribe-form.ts';

describe('normalizeEmail', () => {
  it.each([
    ['  Ann@Example.COM  ', 'Ann@example.com'],
    ['a.b+tag@sub.example.co.uk', 'a.b+tag@sub.example.co.uk'],
    ['user@bücher.example', 'user@xn--bcher-kva.example'],
    ['user@例え.jp', 'user@xn--r8jz45g.jp'],
  ])('accepts %j as %j', (input, expected) => {
    expect(normalizeEmail(input)).toEqual({ ok: true, email: expected });
  });

  it.each([
    ['', /Enter an email/],
    ['Ann <ann@example.com>', /without a name/],
    ['ann@example.com\r\nBcc: x@evil.example', /control/],
    ['ann@example.com\n', /control/],
    ['\tann@example.com', /control/],
    ['jörg@example.com', /ASCII/],
    ['"quoted"@example.com', /not allowed/],
    ['a..b@example.com', /not allowed/],
    ['ann@localhost', /needs a dot/],
    ['ann@[127.0.0.1]', /not valid/],
    ['ann@example.123', /not valid/],
    ['ann@-example.com', /not valid/],
    [`${'a'.repeat(65)}@example.com`, /too long/],
    [`a@${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(63)}.${'e'.repeat(60)}.com`, /too long/],
  ])('refuses %j', (input, reason) => {
    const r = normalizeEmail(input);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(reason);
  });

  it('accepts exactly 254 characters and refuses 255', () => {
    const at254 = `${'a'.repeat(64)}@${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(57)}.com`;
    expect(at254).toHaveLength(254);
    expect(normalizeEmail(at254).ok).toBe(true);
    expect(normalizeEmail(at254.replace('@b', '@bb')).ok).toBe(false);
  });

  it('never throws on non-strings', () => {
    for (const v of [undefined, null, 42, {}, []]) expect(normalizeEmail(v).ok).toBe(false);
  });
});

describe('parseSubscribeForm', () => {
  it('normalizes the email, trims the name and defaults the source', () => {
    expect(parseSubscribeForm({ email: ' a@Example.com ', name: '  Ann  ' })).toEqual({
      ok: true,
      request: { email: 'a@example.com', name: 'Ann', source: 'subscribe-form', isBot: false },
    });
  });

  it('flags a filled honeypot but still validates', () => {
    const r = parseSubscribeForm({ email: 'a@example.com', website: 'spam' });
    expect(r.ok && r.request.isBot).toBe(true);
    expect(parseSubscribeForm({ email: 'a@example.com', website: '' }).ok && parseSubscribeForm({ email: 'a@example.com', website: '' })).toMatchObject({ request: { isBot: false } });
  });

  it('refuses long or control-character names and sources', () => {
    expect(parseSubscribeForm({ email: 'a@example.com', name: 'x'.repeat(101) }).ok).toBe(false);
    expect(parseSubscribeForm({ email: 'a@example.com', name: 'a\u0000b' }).ok).toBe(false);
    expect(parseSubscribeForm({ email: 'a@example.com', source: 's'.repeat(101) }).ok).toBe(false);
  });
});
