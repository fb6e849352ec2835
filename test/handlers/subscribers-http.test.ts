/** HTTP plumbing of the subscribers handler with fixture v2 events: body parsing, routing, content negotiation. */
import { describe, expect, it } from 'vitest';
import { HttpError, MAX_BODY_BYTES, parseForm, wantsJson } from '../../lambdas/handlers/http/body.ts';
import { route, type Routes } from '../../lambdas/handlers/http/router.ts';
import { text } from '../../lambdas/handlers/http/responses.ts';
import { displayName } from '../../lambdas/core/subscribers/email.ts';
import { httpEvent } from '../support/emulators.ts';

const fail = (fn: () => unknown): HttpError => {
  try {
    fn();
  } catch (err) {
    if (err instanceof HttpError) return err;
    throw err;
  }
  throw new Error('expected an HttpError');
};

describe('parseForm', () => {
  it('parses urlencoded bodies, first value wins', () => {
    expect({ ...parseForm(httpEvent('POST', '/', { body: 'a=1&b=%C3%A9&a=2', contentType: 'application/x-www-form-urlencoded' })) }).toEqual({ a: '1', b: 'é' });
  });

  it('parses base64-encoded JSON bodies', () => {
    const body = Buffer.from(JSON.stringify({ email: 'a@example.com', name: null }));
    expect({ ...parseForm(httpEvent('POST', '/', { body, contentType: 'application/json; charset=utf-8' })) }).toEqual({ email: 'a@example.com' });
  });

  it('parses multipart text fields with a quoted boundary and skips file parts', () => {
    const b = 'xYz';
    const body =
      `--${b}\r\nContent-Disposition: form-data; name="List-Unsubscribe"\r\n\r\nOne-Click\r\n` +
      `--${b}\r\nContent-Disposition: form-data; name="upload"; filename="a.txt"\r\nContent-Type: text/plain\r\n\r\nfile\r\n` +
      `--${b}\r\nContent-Disposition: form-data; name="name"\r\n\r\nJürgen\r\n--${b}--\r\n`;
    expect({ ...parseForm(httpEvent('POST', '/', { body, contentType: `multipart/form-data; boundary="${b}"` })) }).toEqual({
      'List-Unsubscribe': 'One-Click',
      name: 'Jürgen',
    });
  });

  it('treats an empty body as no fields, whatever the content type', () => {
    expect(Object.keys(parseForm(httpEvent('POST', '/', { contentType: 'application/xml' })))).toEqual([]);
  });

  it('limits bodies to 16 KB after base64 decoding', () => {
    expect(fail(() => parseForm(httpEvent('POST', '/', { body: Buffer.alloc(MAX_BODY_BYTES + 1), contentType: 'application/json' }))).statusCode).toBe(413);
    expect(parseForm(httpEvent('POST', '/', { body: `a=${'x'.repeat(MAX_BODY_BYTES - 2)}`, contentType: 'application/x-www-form-urlencoded' })).a).toHaveLength(MAX_BODY_BYTES - 2);
  });

  it('refuses unknown types (415), bad JSON and bad multipart (400)', () => {
    expect(fail(() => parseForm(httpEvent('POST', '/', { body: 'x', contentType: 'text/plain' }))).statusCode).toBe(415);
    expect(fail(() => parseForm(httpEvent('POST', '/', { body: '{', contentType: 'application/json' }))).statusCode).toBe(400);
    expect(fail(() => parseForm(httpEvent('POST', '/', { body: '--b\r\nX-Foo: 1\r\n\r\nx\r\n--b--', contentType: 'multipart/form-data; boundary=b' }))).message).toMatch(/Content-Disposition/);
  });
});

describe('router', () => {
  const routes: Routes = { '/a': { GET: async () => text(200, 'a') } };
  it('matches exact paths, ignoring a trailing slash, with HEAD served by GET', () => {
    expect(route(routes, httpEvent('GET', '/a/')).head).toBe(false);
    expect(route(routes, httpEvent('HEAD', '/a')).head).toBe(true);
  });
  it('404s unknown paths (including prototype names) and 405s wrong methods with Allow', () => {
    expect(fail(() => route(routes, httpEvent('GET', '/constructor'))).statusCode).toBe(404);
    const e = fail(() => route(routes, httpEvent('POST', '/a')));
    expect([e.statusCode, e.headers.allow]).toEqual([405, 'GET, HEAD']);
  });
});

describe('helpers', () => {
  it('answers JSON to JSON clients only', () => {
    expect(wantsJson(httpEvent('POST', '/', { contentType: 'application/json' }))).toBe(true);
    expect(wantsJson(httpEvent('GET', '/', { headers: { accept: 'application/json' } }))).toBe(true);
    expect(wantsJson(httpEvent('GET', '/', { headers: { accept: 'text/html,application/json;q=0.9' } }))).toBe(false);
  });
  it('takes the newsletter name from the sender', () => {
    expect(displayName("Akira's ML News <news@example.com>")).toBe("Akira's ML News");
    expect(displayName('"Quoted Name" <a@example.com>')).toBe('Quoted Name');
    expect(displayName('news@example.com')).toBe('our newsletter');
  });
});
