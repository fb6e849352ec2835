/** SesMailer against aws-ses-v2-local through the real SESv2Client. */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { createServer } from 'node:net';
import { createServer as createHttpServer } from 'node:http';
import { SES_SEND_CLIENT_OPTIONS, SesMailer } from '../../lambdas/adapters/ses/ses-mailer.ts';
import { classifySendError } from '../../lambdas/core/sending/errors.ts';
import { LOCAL_CREDENTIALS } from '../../lambdas/local/emulators.ts';
import { startTestEmulators, type TestEmulators } from '../support/emulators.ts';

let env: TestEmulators;
beforeAll(async () => {
  env = await startTestEmulators({ maxSendRate: 14 });
});
beforeEach(() => env.clearEmails());
afterAll(() => env?.stop());

describe('SesMailer', () => {
  it('sends Simple content with headers (RFC 8058) and returns the message id', async () => {
    const { messageId } = await env.mailer.send({
      from: 'News <news@example.com>',
      to: 'reader@example.com',
      subject: 'Issue 31 — 机器学习',
      html: '<p>Hello</p>',
      text: 'Hello',
      headers: { 'List-Unsubscribe': '<https://news.example/unsubscribe?token=t>', 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' },
      tags: { campaign: 'issue-031' },
      configurationSet: 'newsletter-events',
    });
    const [stored] = await env.emails();
    expect(stored!.messageId).toBe(messageId);
    expect(stored).toMatchObject({ subject: 'Issue 31 — 机器学习', destination: { to: ['reader@example.com'] }, body: { html: '<p>Hello</p>', text: 'Hello' } });
    expect(stored!.headers).toEqual(
      expect.arrayContaining([
        { name: 'List-Unsubscribe', value: '<https://news.example/unsubscribe?token=t>' },
        { name: 'List-Unsubscribe-Post', value: 'List-Unsubscribe=One-Click' },
      ]),
    );
  });

  it('reads the send quota from GetAccount', async () => {
    expect(await env.mailer.getSendQuota()).toEqual({ maxSendRate: 14, max24HourSend: 1_000_000, sentLast24Hours: 0 });
  });

  it('lets SDK errors propagate with their name (unreachable endpoint)', async () => {
    const client = new SESv2Client({ endpoint: 'http://127.0.0.1:9', region: 'us-east-1', credentials: LOCAL_CREDENTIALS, maxAttempts: 1 });
    const mailer = new SesMailer(client);
    await expect(mailer.send({ from: 'a@example.com', to: 'b@example.com', subject: 's', html: 'h', text: 't' })).rejects.toHaveProperty('name');
    client.destroy();
  });
});

describe('SesMailer transport faults, as the real SDK surfaces them (SES_SEND_CLIENT_OPTIONS)', () => {
  const email = { from: 'news@example.com', to: 'reader@example.com', subject: 's', html: '<p>h</p>', text: 'h' };
  const client = (endpoint: string, extra: Partial<typeof SES_SEND_CLIENT_OPTIONS.requestHandler> = {}) =>
    new SESv2Client({
      ...SES_SEND_CLIENT_OPTIONS,
      requestHandler: { ...SES_SEND_CLIENT_OPTIONS.requestHandler, ...extra },
      endpoint,
      region: 'us-east-1',
      credentials: LOCAL_CREDENTIALS,
    });

  it('a refused connection (nothing listens on the port) is unsent: SES never saw it', async () => {
    const server = createServer();
    const port = await new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)));
    await new Promise((resolve) => server.close(resolve));
    const err = await new SesMailer(client(`http://127.0.0.1:${port}`)).send(email).then(() => undefined, (e: unknown) => e);
    expect((err as { code?: string }).code).toBe('ECONNREFUSED');
    expect(classifySendError(err)).toBe('unsent');
    expect(await env.emails()).toHaveLength(0);
  });

  it('an unresolvable host is unsent', async () => {
    const err = await new SesMailer(client('http://ses.invalid')).send(email).then(() => undefined, (e: unknown) => e);
    expect(classifySendError(err)).toBe('unsent');
  });

  it('a server that accepts the request and never answers hits the request timeout: in doubt, never retried by the SDK', async () => {
    let requests = 0;
    const silent = createHttpServer((_req) => {
      requests += 1; // read, never answered
    });
    const port = await new Promise<number>((resolve) => silent.listen(0, '127.0.0.1', () => resolve((silent.address() as { port: number }).port)));
    try {
      const err = await new SesMailer(client(`http://127.0.0.1:${port}`, { requestTimeout: 200 })).send(email).then(() => undefined, (e: unknown) => e);
      expect((err as { name?: string }).name).toBe('TimeoutError');
      expect(classifySendError(err)).toBe('in-doubt');
      expect(requests).toBe(1);
    } finally {
      silent.closeAllConnections();
      await new Promise((resolve) => silent.close(resolve));
    }
  });
});
