/** The double opt-in rules on the in-memory repository and a recording mailer: no emulators, no mocks. */
import { describe, expect, it } from 'vitest';
import { MemorySubscriberRepository } from '../../../lambdas/adapters/memory/memory-subscriber-repository.ts';
import type { OutboundEmail } from '../../../lambdas/core/model.ts';
import type { Mailer } from '../../../lambdas/core/ports.ts';
import { createSubscriberService } from '../../../lambdas/core/subscribers/subscriber-service.ts';
import { signToken } from '../../../lambdas/core/tokens/tokens.ts';
import { testClock } from '../../support/emulators.ts';

const KEYS = { current: 'k', keys: { k: 'service-test-secret-123' } };

function setup(mailerFails = false) {
  const clock = testClock(new Date('2026-11-28T10:00:00Z'));
  const repo = new MemorySubscriberRepository(() => clock.now());
  const sent: OutboundEmail[] = [];
  const mailer: Mailer = {
    async send(email) {
      if (mailerFails) throw Object.assign(new Error('throttled'), { name: 'TooManyRequestsException' });
      sent.push(email);
      return { messageId: `m${sent.length}` };
    },
    async getSendQuota() {
      return { maxSendRate: 1, max24HourSend: 200, sentLast24Hours: 0 };
    },
  };
  const service = createSubscriberService({
    repo, mailer, clock, tokenKeys: async () => KEYS,
    renderConfirmation: async ({ confirmUrl, name }) => ({ subject: 'Confirm', html: `<a href="${confirmUrl}">${name ?? ''}</a>`, text: confirmUrl }),
    sender: 'News <news@example.com>', publicBaseUrl: 'https://news.example', configurationSet: 'cs',
  });
  const request = (email: string, extra = {}) => ({ email, source: 'test', isBot: false, ...extra });
  return { clock, repo, sent, service, request };
}

describe('subscriber service', () => {
  it('sends one confirmation email with a confirm link, tagged and with the configuration set', async () => {
    const { service, sent, request } = setup();
    expect(await service.subscribe(request('a@example.com', { name: 'Ann' }))).toEqual({ kind: 'accepted', stored: 'created', emailSent: true });
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ to: 'a@example.com', from: 'News <news@example.com>', tags: { type: 'confirmation' }, configurationSet: 'cs' });
    expect(sent[0]!.text).toMatch(/^https:\/\/news\.example\/confirm\?token=v1\.k\./);
  });

  it('confirms with the emailed token, and refuses a link once the address has left', async () => {
    const { service, sent, request, repo, clock } = setup();
    await service.subscribe(request('a@example.com'));
    const token = decodeURIComponent(sent[0]!.text.split('token=')[1]!);
    expect(await service.confirm(token)).toEqual({ kind: 'confirmed', email: 'a@example.com' });
    expect(await service.confirm(token)).toEqual({ kind: 'confirmed', email: 'a@example.com' });
    await repo.unsubscribe('a@example.com', clock.now());
    expect(await service.confirm(token)).toEqual({ kind: 'not-pending', email: 'a@example.com' });
  });

  it('treats unsubscribing an unknown address as done, and rejects bad tokens as values', async () => {
    const { service, clock } = setup();
    const token = signToken({ purpose: 'unsubscribe', email: 'ghost@example.com' }, KEYS, clock.now());
    expect(await service.unsubscribe(token)).toEqual({ kind: 'unsubscribed', email: 'ghost@example.com' });
    expect(await service.unsubscribe('garbage')).toEqual({ kind: 'invalid-token', reason: 'malformed' });
  });

  it('stores and sends nothing for the honeypot', async () => {
    const { service, sent, repo, request } = setup();
    expect(await service.subscribe(request('bot@example.com', { isBot: true }))).toMatchObject({ stored: 'honeypot', emailSent: false });
    expect(sent).toEqual([]);
    expect(await repo.get('bot@example.com')).toBeUndefined();
  });

  it('lets mailer faults propagate unchanged (the handler answers 502)', async () => {
    const { service, request } = setup(true);
    await expect(service.subscribe(request('a@example.com'))).rejects.toMatchObject({ name: 'TooManyRequestsException' });
  });

  it('gives the resend slot back when the confirmation email fails, so an immediate retry sends it', async () => {
    const failing = setup(true);
    await expect(failing.service.subscribe(failing.request('a@example.com'))).rejects.toThrow();
    expect((await failing.repo.get('a@example.com'))?.confirmationSentAt).toBeUndefined();
    expect(await failing.repo.upsertPending({
      email: 'a@example.com', source: 'form', now: failing.clock.now(), ttlSeconds: 3600, resendAfterSeconds: 600,
    })).toMatchObject({ mayResend: true });
  });

  it('gives the slot back too when the token keys cannot be loaded (Secrets Manager down)', async () => {
    const { clock, repo } = setup();
    const service = createSubscriberService({
      repo, clock,
      mailer: { send: async () => ({ messageId: 'never' }), getSendQuota: async () => ({ maxSendRate: 1, max24HourSend: 1, sentLast24Hours: 0 }) },
      tokenKeys: async () => { throw Object.assign(new Error('unreachable'), { name: 'InternalServiceError' }); },
      renderConfirmation: async () => ({ subject: 's', html: 'h', text: 't' }),
      sender: 'News <news@example.com>', publicBaseUrl: 'https://news.example',
    });
    await expect(service.subscribe({ email: 'k@example.com', source: 'test', isBot: false })).rejects.toMatchObject({ name: 'InternalServiceError' });
    expect((await repo.get('k@example.com'))?.confirmationSentAt).toBeUndefined();
  });
});
