/** SesMailer against aws-ses-v2-local through the real SESv2Client. */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { SesMailer } from '../../lambdas/adapters/ses/ses-mailer.ts';
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
