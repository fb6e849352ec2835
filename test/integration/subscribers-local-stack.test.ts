/**
 * The local stack as `npm start` runs it: real HTTP through the API Gateway v2 adapter, real emulators,
 * discovery through DATA_DIR/stack.json, and data that survives a restart.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalStack, type LocalStack } from '../../lambdas/local/stack.ts';
import { findLocalStack, LocalStackNotRunningError, STACK_FILE } from '../../lambdas/local/stack-info.ts';
import { tokenFromEmail, type StoredEmail } from '../support/emulators.ts';

let stack: LocalStack;
let dataDir: string;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'newsletter-stack-'));
  stack = await startLocalStack({ port: 0, sesPort: 0, dynamoPort: 0, dataDir });
});
afterAll(async () => {
  await stack?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

async function inbox(to: string): Promise<StoredEmail[]> {
  const res = await fetch(`${stack.urls.sesEndpoint}/store`);
  return ((await res.json()) as { emails: StoredEmail[] }).emails.filter((e) => e.destination.to.includes(to));
}

/** GET with the request target exactly as given. */
function rawGet(baseUrl: string, path: string): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const req = request({ hostname, port, path, method: 'GET' }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('local stack over HTTP', () => {
  it('runs the double opt-in flow and RFC 8058 one-click (multipart from fetch FormData) end to end', async () => {
    const sub = await fetch(`${stack.urls.baseUrl}/subscribe`, {
      method: 'POST',
      body: new URLSearchParams({ email: 'http@example.com', name: 'Hana' }),
      redirect: 'manual',
    });
    expect(sub.status).toBe(200);
    expect(await sub.text()).toContain('Check your inbox');
    const [mail] = await inbox('http@example.com');
    const token = tokenFromEmail(mail!.body.html!);
    expect(mail!.body.text).toContain(`${stack.urls.baseUrl}/confirm?token=`);

    const page = await fetch(`${stack.urls.baseUrl}/confirm?token=${encodeURIComponent(token)}`);
    expect(page.status).toBe(200);
    expect(await stack.deps.subscribers.getStatus('http@example.com')).toBe('pending');
    const confirmed = await fetch(`${stack.urls.baseUrl}/confirm`, { method: 'POST', body: new URLSearchParams({ token }) });
    expect(confirmed.status).toBe(200);
    expect(await stack.deps.subscribers.getStatus('http@example.com')).toBe('confirmed');
    // The welcome email from content/welcome.md, once, filled with the subscriber's name.
    const welcome = await inbox('http@example.com').then((m) => m.filter((e) => /^Welcome to /.test(e.subject)));
    expect(welcome).toHaveLength(1);
    expect(welcome[0]!.body.text).toContain('Hi Hana,');

    const { signToken } = await import('../../lambdas/core/tokens/tokens.ts');
    const unsub = signToken({ purpose: 'unsubscribe', email: 'http@example.com' }, await stack.deps.tokenKeys(), new Date());
    const form = new FormData();
    form.set('List-Unsubscribe', 'One-Click');
    const oneClick = await fetch(`${stack.urls.baseUrl}/unsubscribe?token=${encodeURIComponent(unsub)}`, { method: 'POST', body: form, redirect: 'manual' });
    expect(oneClick.status).toBe(200);
    expect(await stack.deps.subscribers.getStatus('http@example.com')).toBe('unsubscribed');
  });

  it('maps binary bodies to base64 events, and answers 415 / 404 / 405 / HEAD like API Gateway would', async () => {
    const binary = await fetch(`${stack.urls.baseUrl}/subscribe`, {
      method: 'POST', body: new Uint8Array([0, 1, 2, 255]), headers: { 'content-type': 'application/octet-stream' },
    });
    expect(binary.status).toBe(415);
    expect((await fetch(`${stack.urls.baseUrl}/nope`)).status).toBe(404);
    const wrong = await fetch(`${stack.urls.baseUrl}/health`, { method: 'DELETE' });
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toBe('GET, HEAD');
    const head = await fetch(`${stack.urls.baseUrl}/subscribe`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
    expect((await fetch(`${stack.urls.baseUrl}/%E0%A4%A`)).status).toBe(404);
    // A request target that is not a parsable path (fetch would normalize it, so send it raw): 400, never 500.
    for (const path of ['//', '//[::1']) {
      const raw = await rawGet(stack.urls.baseUrl, path);
      expect(raw, path).toEqual({ status: 400, body: 'Bad request path' });
    }
  });

  it('serves extra handlers added by prefix (longest prefix wins)', async () => {
    stack.addRoute('/archive', async (event) => ({ statusCode: 200, headers: { 'content-type': 'text/plain' }, body: `archive:${event.rawPath}` }));
    expect(await (await fetch(`${stack.urls.baseUrl}/archive/031`)).text()).toBe('archive:/archive/031');
    expect((await fetch(`${stack.urls.baseUrl}/archived`)).status).toBe(404);
  });

  it('is found through DATA_DIR/stack.json, and reports how to start it when it is not running', async () => {
    const found = await findLocalStack({ DATA_DIR: dataDir });
    expect(found).toMatchObject({ baseUrl: stack.urls.baseUrl, dynamoEndpoint: stack.urls.dynamoEndpoint, sesEndpoint: stack.urls.sesEndpoint, pid: process.pid });
    const empty = mkdtempSync(join(tmpdir(), 'newsletter-empty-'));
    try {
      await expect(findLocalStack({ DATA_DIR: empty, PORT: '1', DYNAMODB_PORT: '2' })).rejects.toThrow(LocalStackNotRunningError);
      await expect(findLocalStack({ DATA_DIR: empty, PORT: '1' })).rejects.toThrow(/No local stack is running on http:\/\/127\.0\.0\.1:1 .*`npm start`/);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});

describe('restart', () => {
  it('keeps subscribers on disk under DATA_DIR and removes stack.json on stop', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'newsletter-restart-'));
    try {
      const first = await startLocalStack({ port: 0, sesPort: 0, dynamoPort: 0, dataDir: dir });
      await first.deps.subscribers.importSubscriber({
        email: 'kept@example.com', status: 'confirmed', consent: { at: new Date().toISOString(), method: 'import', source: 'test' }, now: new Date(),
      });
      expect(existsSync(join(dir, STACK_FILE))).toBe(true);
      await first.stop();
      expect(existsSync(join(dir, STACK_FILE))).toBe(false);
      const second = await startLocalStack({ port: 0, sesPort: 0, dynamoPort: 0, dataDir: dir });
      try {
        expect(await second.deps.subscribers.getStatus('kept@example.com')).toBe('confirmed');
      } finally {
        await second.stop();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
