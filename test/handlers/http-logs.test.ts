/**
 * The subscribers and archive functions' logs, through the real Powertools Logger as their *.handler.ts wire it
 * (output captured from stdout/stderr): a fault answered 502 is one ERROR entry with its cause and the request's
 * method and path; a refused request (4xx) one WARN entry with its reason; never the token or the form's fields.
 */
import { describe, expect, it } from 'vitest';
import { createArchiveHandler } from '../../lambdas/handlers/archive.ts';
import { createSubscribersHandler } from '../../lambdas/handlers/subscribers.ts';
import type { SubscriberService } from '../../lambdas/core/subscribers/subscriber-service.ts';
import { log, logError } from '../../lambdas/runtime/observability.ts';
import { httpEvent } from '../support/emulators.ts';
import { captureOutput, logEntries } from '../runtime/capture-output.ts';

const TOKEN = 'v1.secret-token-value.signature';
const form = (fields: Record<string, string>) => ({ body: new URLSearchParams(fields).toString(), contentType: 'application/x-www-form-urlencoded' });

function subscribersHandler(service: Partial<SubscriberService>) {
  return createSubscribersHandler({
    service: service as SubscriberService,
    renderPage: (page, data) => `<p>${page} ${JSON.stringify(data ?? {})}</p>`,
    logError,
    log,
  });
}

describe('subscribers function logs (Powertools)', () => {
  it('a storage fault: 502, one ERROR entry with its cause, method and path; no form field', async () => {
    const handler = subscribersHandler({
      subscribe: async () => {
        throw new Error('subscriber write failed', { cause: Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }) });
      },
    });
    const { result, entries } = await captureOutput(() => handler(httpEvent('POST', '/subscribe', form({ email: 'ann@example.com', name: 'Ann' }))));
    expect(result.statusCode).toBe(502);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({
      level: 'ERROR',
      message: 'subscribers handler fault',
      service: 'newsletter',
      timestamp: expect.any(String),
      statusCode: 502,
      method: 'POST',
      path: '/subscribe',
      error: { name: 'Error', message: 'subscriber write failed', stack: expect.any(String), cause: { message: 'socket hang up', code: 'ECONNRESET' } },
    });
    expect(JSON.stringify(entries)).not.toMatch(/ann@example\.com|Ann"/);
  });

  it('an expired or invalid link: 400, one WARN entry with the reason, never the token', async () => {
    const handler = subscribersHandler({
      inspect: async () => ({ ok: false, reason: 'expired' }) as Awaited<ReturnType<SubscriberService['inspect']>>,
      unsubscribe: async () => ({ kind: 'invalid-token', reason: 'bad-signature' }) as Awaited<ReturnType<SubscriberService['unsubscribe']>>,
    });
    const { result, entries } = await captureOutput(async () => [
      await handler(httpEvent('GET', `/confirm?token=${TOKEN}`)),
      await handler(httpEvent('POST', `/unsubscribe?token=${TOKEN}`, form({ 'List-Unsubscribe': 'One-Click' }))),
    ]);
    expect(result.map((r) => r.statusCode)).toEqual([400, 400]);
    expect(entries).toMatchObject([
      { level: 'WARN', message: 'request refused', statusCode: 400, method: 'GET', path: '/confirm', reason: 'expired token' },
      { level: 'WARN', message: 'request refused', statusCode: 400, method: 'POST', path: '/unsubscribe', reason: 'bad-signature token' },
    ]);
    expect(JSON.stringify(entries)).not.toContain('secret-token-value');
  });

  it('plumbing refusals (415, 404, 405) and an invalid form: one WARN entry each, no field values', async () => {
    const handler = subscribersHandler({});
    const { result, entries } = await captureOutput(async () => [
      await handler(httpEvent('POST', '/subscribe', { body: 'x', contentType: 'text/plain' })),
      await handler(httpEvent('GET', '/nowhere')),
      await handler(httpEvent('DELETE', '/subscribe')),
      await handler(httpEvent('POST', '/subscribe', form({ email: 'not-an-address', name: 'Zed' }))),
    ]);
    expect(result.map((r) => r.statusCode)).toEqual([415, 404, 405, 400]);
    expect(logEntries(entries).map((e) => [e.level, e.statusCode, e.method, e.path])).toEqual([
      ['WARN', 415, 'POST', '/subscribe'],
      ['WARN', 404, 'GET', '/nowhere'],
      ['WARN', 405, 'DELETE', '/subscribe'],
      ['WARN', 400, 'POST', '/subscribe'],
    ]);
    expect(String(entries[3]!.reason)).toMatch(/^invalid form: /);
    expect(JSON.stringify(entries)).not.toMatch(/not-an-address|Zed/);
  });

  it('a successful request writes nothing', async () => {
    const handler = subscribersHandler({ subscribe: async () => undefined as never });
    const { result, entries } = await captureOutput(() => handler(httpEvent('POST', '/subscribe', form({ email: 'ann@example.com' }))));
    expect(result.statusCode).toBe(200);
    expect(entries).toEqual([]);
  });
});

describe('archive function logs (Powertools)', () => {
  it('a storage fault: 502, one ERROR entry with its cause, method and path', async () => {
    const down = async () => {
      throw new Error('campaign query failed', { cause: new Error('connect ECONNREFUSED 127.0.0.1:9') });
    };
    const handler = createArchiveHandler({
      campaigns: { list: down, get: down },
      issues: { get: down },
      publicBaseUrl: 'https://news.example.com',
      logError,
    });
    const { result, entries } = await captureOutput(() => handler(httpEvent('GET', '/archive')));
    expect(result.statusCode).toBe(502);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({
      level: 'ERROR',
      message: 'archive handler fault',
      statusCode: 502,
      method: 'GET',
      path: '/archive',
      error: { message: 'campaign query failed', cause: { message: 'connect ECONNREFUSED 127.0.0.1:9' } },
    });
  });
});
