/**
 * One subscriber per mailbox (issue 13) in the core: the identity key, merging case variants, the import plan
 * (case-variant duplicates, mixed line endings, custom attributes), the welcome email and import confirmations.
 * In-memory repository and a recording mailer: no emulators.
 */
import { describe, expect, it } from 'vitest';
import { MemorySubscriberRepository } from '../../../lambdas/adapters/memory/memory-subscriber-repository.ts';
import type { OutboundEmail, Subscriber } from '../../../lambdas/core/model.ts';
import type { Mailer } from '../../../lambdas/core/ports.ts';
import { identityKey, normalizeEmail } from '../../../lambdas/core/subscribers/email.ts';
import { mergeIdentityRecords, strictestStatus } from '../../../lambdas/core/subscribers/identity-merge.ts';
import { sendImportConfirmations } from '../../../lambdas/core/subscribers/import-confirmations.ts';
import { MAX_ATTRIBUTE_VALUE_LENGTH, planImport, SubscriberCsvError } from '../../../lambdas/core/subscribers/import-plan.ts';
import { createSubscriberService } from '../../../lambdas/core/subscribers/subscriber-service.ts';
import { composeWelcomeEmail } from '../../../lambdas/core/subscribers/welcome.ts';
import { verifyToken } from '../../../lambdas/core/tokens/tokens.ts';
import { testClock } from '../../support/emulators.ts';

const KEYS = { current: 'k', keys: { k: 'identity-test-secret-0123456789' } };
const T0 = new Date('2026-12-01T10:00:00Z');

function recordingMailer(fail: (email: OutboundEmail) => Error | undefined = () => undefined) {
  const sent: OutboundEmail[] = [];
  const mailer: Mailer = {
    async send(email) {
      const err = fail(email);
      if (err) throw err;
      sent.push(email);
      return { messageId: `m${sent.length}` };
    },
    async getSendQuota() {
      return { maxSendRate: 10, max24HourSend: 200, sentLast24Hours: 0 };
    },
  };
  return { sent, mailer };
}

describe('identityKey', () => {
  it('is the whole normalized address lower-cased, so case variants share one key', () => {
    const variants = ['Bob@Example.com', 'bob@example.com', 'BOB@EXAMPLE.COM', ' bOb@example.COM '];
    const keys = variants.map((v) => {
      const check = normalizeEmail(v);
      if (!check.ok) throw new Error(check.reason);
      return identityKey(check.email);
    });
    expect(new Set(keys)).toEqual(new Set(['bob@example.com']));
    // Display spelling is kept by normalization (only the domain is lower-cased).
    expect(normalizeEmail('Bob@Example.com')).toEqual({ ok: true, email: 'Bob@example.com' });
    expect(identityKey('Ann.Lee+News@xn--bcher-kva.example')).toBe('ann.lee+news@xn--bcher-kva.example');
  });
});

describe('merging case variants', () => {
  const record = (over: Partial<Subscriber>): Subscriber => ({
    email: 'x@example.com', status: 'confirmed', createdAt: '2026-01-01T00:00:00.000Z', updatedAt: '2026-01-01T00:00:00.000Z', ...over,
  });

  it('the most restrictive status wins', () => {
    expect(strictestStatus(['confirmed', undefined, 'pending'])).toBe('confirmed');
    expect(strictestStatus(['confirmed', 'unsubscribed'])).toBe('unsubscribed');
    expect(strictestStatus(['bounced', 'unsubscribed', 'confirmed'])).toBe('bounced');
    expect(strictestStatus(['complained', 'bounced'])).toBe('complained');
    expect(strictestStatus([undefined])).toBeUndefined();
  });

  it('keeps the winner’s status and consent, the first spelling and creation time, and fills gaps from the others', () => {
    const older = record({ email: 'Bob@example.com', status: 'confirmed', name: 'Bob', attributes: { tier: 'gold', city: 'Oslo' }, createdAt: '2026-01-01T00:00:00.000Z' });
    const newer = record({
      email: 'BOB@example.com', status: 'unsubscribed', unsubscribedAt: '2026-03-01T00:00:00.000Z', attributes: { tier: 'free' },
      createdAt: '2026-02-01T00:00:00.000Z', updatedAt: '2026-03-01T00:00:00.000Z',
      consent: { at: '2026-02-01T00:00:00.000Z', method: 'double-opt-in', source: 'form' },
    });
    const merged = mergeIdentityRecords([newer, older]);
    expect(merged).toEqual({
      email: 'Bob@example.com', status: 'unsubscribed', unsubscribedAt: '2026-03-01T00:00:00.000Z', name: 'Bob',
      attributes: { tier: 'free', city: 'Oslo' }, createdAt: '2026-01-01T00:00:00.000Z', updatedAt: '2026-03-01T00:00:00.000Z',
      consent: { at: '2026-02-01T00:00:00.000Z', method: 'double-opt-in', source: 'form' },
    });
    // A confirmed record outranks a pending one, and the pending TTL does not survive.
    const pending = record({ email: 'bob@example.com', status: 'pending', expiresAt: 123, createdAt: '2026-04-01T00:00:00.000Z' });
    const m2 = mergeIdentityRecords([pending, older]);
    expect(m2.status).toBe('confirmed');
    expect(m2.expiresAt).toBeUndefined();
  });
});

describe('import plan: identity, line endings, attributes', () => {
  it('collapses case variants within one file to the first row, reported as duplicates', () => {
    const plan = planImport('email,name\na@x.com,First\nA@x.com,Second\nA@X.COM,Third\nb@x.com,B\n', 'v.csv');
    expect(plan.rows.map((r) => [r.email, r.name])).toEqual([['a@x.com', 'First'], ['b@x.com', 'B']]);
    expect(plan.duplicates).toEqual([
      { line: 3, email: 'A@x.com', firstLine: 2 },
      { line: 4, email: 'A@x.com', firstLine: 2 },
    ]);
  });

  it('reads every row of a file mixing CRLF, LF and CR line endings, with the right line numbers', () => {
    const text = 'email,name\r\na@x.com,A\nb@x.com,B\r\nc@x.com,C\rnot-an-address,D\r\ne@x.com,E\n';
    const plan = planImport(text, 'mixed.csv');
    expect(plan.rows.map((r) => `${r.line}:${r.email}:${r.name}`)).toEqual(['2:a@x.com:A', '3:b@x.com:B', '4:c@x.com:C', '6:e@x.com:E']);
    expect(plan.invalid.map((i) => i.line)).toEqual([5]);
  });

  it('stores other columns as attributes; export bookkeeping columns are ignored and its attributes column read back', () => {
    const plan = planImport(
      'email,name,tier,company_id,status,createdAt,attributes\n' +
        'a@x.com,A,gold,42,confirmed,2026-01-01,"{""city"":""Oslo""}"\n' +
        'b@x.com,B,,7,,,\n',
      'attrs.csv',
    );
    expect(plan.rows.map((r) => r.attributes)).toEqual([{ city: 'Oslo', tier: 'gold', company_id: '42' }, { company_id: '7' }]);
  });

  it('refuses a column whose name cannot be an attribute, and rows whose attributes are too large or not text', () => {
    expect(() => planImport('email,Company Name\na@x.com,Acme\n', 'bad.csv')).toThrow(SubscriberCsvError);
    expect(() => planImport('email,Company Name\na@x.com,Acme\n', 'bad.csv')).toThrow(/"Company Name" cannot be an attribute/);
    const long = 'y'.repeat(MAX_ATTRIBUTE_VALUE_LENGTH + 1);
    const plan = planImport(`email,note,attributes\na@x.com,${long},\nb@x.com,ok,"{""n"":1}"\nc@x.com,ok,"[1]"\nd@x.com,fine,\n`, 'rows.csv');
    expect(plan.rows.map((r) => r.email)).toEqual(['d@x.com']);
    expect(plan.invalid.map((i) => [i.line, i.reason])).toEqual([
      [2, `attribute "note" is longer than ${MAX_ATTRIBUTE_VALUE_LENGTH} characters`],
      [3, 'attribute "n" is not text'],
      [4, 'the "attributes" column is not a JSON object'],
    ]);
  });
});

describe('case variants in the repository (memory)', () => {
  it('are one subscriber: one record, one resend window, shown with the first spelling', async () => {
    const clock = testClock(T0);
    const repo = new MemorySubscriberRepository(() => clock.now());
    const upsert = (email: string) => repo.upsertPending({ email, source: 'form', now: clock.now(), ttlSeconds: 3600, resendAfterSeconds: 600 });
    expect(await upsert('Bob@x.com')).toEqual({ outcome: 'created', mayResend: true });
    expect(await upsert('bob@x.com')).toEqual({ outcome: 'refreshed', mayResend: false });
    expect(await upsert('BOB@x.com')).toEqual({ outcome: 'refreshed', mayResend: false });
    expect((await repo.get('bOB@x.com'))?.email).toBe('Bob@x.com');
    expect((await repo.confirm('BOB@x.com', clock.now())).kind).toBe('changed');
    const consent = { at: T0.toISOString(), method: 'import' as const, source: 't' };
    expect(await repo.importSubscriber({ email: 'bob@x.com', status: 'pending', consent, now: clock.now() })).toBe('exists');
    expect((await repo.unsubscribe('bob@X.com', clock.now())).kind).toBe('changed');
    // A later variant in an import never revives the unsubscribed record.
    expect(await repo.importSubscriber({ email: 'BOB@x.com', status: 'confirmed', consent, now: clock.now() })).toBe('exists');
    expect(Object.fromEntries(await repo.getStatuses(['Bob@x.com', 'BOB@x.com']))).toEqual({ 'Bob@x.com': 'unsubscribed', 'BOB@x.com': 'unsubscribed' });
    expect(await repo.delete('BOB@X.COM')).toBe(true);
    expect(await repo.get('Bob@x.com')).toBeUndefined();
  });
});

describe('welcome email', () => {
  const template = {
    subject: 'Welcome, {{name}}!',
    html: '<p>Hi {{name}}</p><a href="{{unsubscribeUrl}}">Unsubscribe</a>',
    text: 'Hi {{name}}\nUnsubscribe: {{unsubscribeUrl}}',
  };

  it('fills the name HTML-escaped in the HTML part, carries an unsubscribe link and List-Unsubscribe headers', () => {
    const email = composeWelcomeEmail(template, {
      email: 'a@x.com', name: 'Ann <b>&"\'', unsubscribeToken: 'v1.k.p&q.s', sender: 'News <n@x.com>', publicBaseUrl: 'https://news.example', configurationSet: 'cs',
    });
    const url = 'https://news.example/unsubscribe?token=v1.k.p%26q.s';
    expect(email).toEqual({
      from: 'News <n@x.com>', to: 'a@x.com', subject: 'Welcome, Ann <b>&"\'!',
      html: `<p>Hi Ann &lt;b&gt;&amp;&quot;&#39;</p><a href="${url}">Unsubscribe</a>`,
      text: `Hi Ann <b>&"'\nUnsubscribe: ${url}`,
      headers: { 'List-Unsubscribe': `<${url}>`, 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' },
      tags: { type: 'welcome' }, configurationSet: 'cs',
    });
    expect(composeWelcomeEmail(template, { email: 'a@x.com', unsubscribeToken: 't', sender: 's', publicBaseUrl: 'https://n' }).html).toContain('<p>Hi </p>');
  });

  it('uses the fallback the renderer writes ({{name|there}}) when the subscriber gave no name', () => {
    const withFallback = { subject: 'Welcome', html: '<p>Hi {{name|dear%20reader}},</p>', text: 'Hi {{name|dear%20reader}},' };
    const base = { email: 'a@x.com', unsubscribeToken: 't', sender: 's', publicBaseUrl: 'https://n' };
    expect(composeWelcomeEmail(withFallback, base)).toMatchObject({ html: '<p>Hi dear reader,</p>', text: 'Hi dear reader,' });
    expect(composeWelcomeEmail(withFallback, { ...base, name: '<i>Ann</i>' })).toMatchObject({ html: '<p>Hi &lt;i&gt;Ann&lt;/i&gt;,</p>', text: 'Hi <i>Ann</i>,' });
  });

  function service(opts: { welcome?: typeof template; fail?: (e: OutboundEmail) => Error | undefined } = {}) {
    const clock = testClock(T0);
    const repo = new MemorySubscriberRepository(() => clock.now());
    const { sent, mailer } = recordingMailer(opts.fail);
    const errors: unknown[] = [];
    const svc = createSubscriberService({
      repo, mailer, clock, tokenKeys: async () => KEYS,
      renderConfirmation: async ({ confirmUrl }) => ({ subject: 'Confirm', html: confirmUrl, text: confirmUrl }),
      sender: 'News <n@x.com>', publicBaseUrl: 'https://news.example',
      welcome: async () => opts.welcome,
      logError: (_m, err) => errors.push(err),
    });
    return { svc, sent, clock, errors };
  }

  it('is sent once, when a pending subscriber becomes confirmed, with a working unsubscribe token; not on a repeated click', async () => {
    const { svc, sent, clock } = service({ welcome: template });
    await svc.subscribe({ email: 'Ann@x.com', name: 'Ann', source: 'form', isBot: false });
    const token = decodeURIComponent(sent[0]!.text.split('token=')[1]!);
    expect(await svc.confirm(token)).toEqual({ kind: 'confirmed', email: 'Ann@x.com', welcomeSent: true });
    expect(await svc.confirm(token)).toEqual({ kind: 'confirmed', email: 'Ann@x.com' });
    const welcomes = sent.filter((e) => e.tags?.type === 'welcome');
    expect(welcomes).toHaveLength(1);
    expect(welcomes[0]).toMatchObject({ to: 'Ann@x.com', subject: 'Welcome, Ann!' });
    const unsubscribe = decodeURIComponent(welcomes[0]!.headers!['List-Unsubscribe']!.split('token=')[1]!.replace(/>$/, ''));
    expect(verifyToken(unsubscribe, 'unsubscribe', KEYS, clock.now())).toMatchObject({ ok: true, claims: { email: 'Ann@x.com' } });
    expect(await svc.unsubscribe(unsubscribe)).toEqual({ kind: 'unsubscribed', email: 'Ann@x.com' });
  });

  it('is not sent without a template, and a failure to send it does not fail the confirmation', async () => {
    const none = service();
    await none.svc.subscribe({ email: 'b@x.com', source: 'form', isBot: false });
    expect(await none.svc.confirm(decodeURIComponent(none.sent[0]!.text.split('token=')[1]!))).toEqual({ kind: 'confirmed', email: 'b@x.com' });
    expect(none.sent).toHaveLength(1);

    const failing = service({
      welcome: template,
      fail: (e) => (e.tags?.type === 'welcome' ? Object.assign(new Error('SES down'), { name: 'TooManyRequestsException' }) : undefined),
    });
    await failing.svc.subscribe({ email: 'c@x.com', source: 'form', isBot: false });
    const outcome = await failing.svc.confirm(decodeURIComponent(failing.sent[0]!.text.split('token=')[1]!));
    expect(outcome).toEqual({ kind: 'confirmed', email: 'c@x.com' });
    expect(failing.errors).toHaveLength(1);
  });
});

describe('import confirmation emails', () => {
  const consent = { at: T0.toISOString(), method: 'import' as const, source: 'list.csv' };

  it('mails each imported pending address once, paced, skipping confirmed and already-mailed ones; a rerun sends nothing', async () => {
    const clock = testClock(T0);
    const repo = new MemorySubscriberRepository(() => clock.now());
    const { sent, mailer } = recordingMailer();
    for (const email of ['a@x.com', 'b@x.com']) await repo.importSubscriber({ email, status: 'pending', consent, now: clock.now() });
    await repo.importSubscriber({ email: 'c@x.com', status: 'confirmed', consent, now: clock.now() });
    await repo.upsertPending({ email: 'd@x.com', source: 'form', now: clock.now(), ttlSeconds: 3600, resendAfterSeconds: 600 });
    let paced = 0;
    const deps = {
      repo, mailer, clock, tokenKeys: async () => KEYS, sender: 'News <n@x.com>', publicBaseUrl: 'https://news.example',
      renderConfirmation: async ({ confirmUrl }: { confirmUrl: string }) => ({ subject: 'Confirm', html: confirmUrl, text: confirmUrl }),
      pace: async () => {
        paced += 1;
        return true;
      },
    };
    const rows = ['a@x.com', 'b@x.com', 'c@x.com', 'd@x.com'].map((email) => ({ email }));
    expect(await sendImportConfirmations(rows, deps)).toEqual({ sent: 2, skipped: 2, failed: [] });
    expect(paced).toBe(2);
    expect(sent.map((e) => e.to).sort()).toEqual(['a@x.com', 'b@x.com']);
    expect(verifyToken(decodeURIComponent(sent[0]!.text.split('token=')[1]!), 'confirm', KEYS, clock.now()).ok).toBe(true);
    expect(await sendImportConfirmations(rows, deps)).toEqual({ sent: 0, skipped: 4, failed: [] });
    expect(sent).toHaveLength(2);
  });

  it('gives the slot back when an email cannot be sent, so a rerun sends it', async () => {
    const clock = testClock(T0);
    const repo = new MemorySubscriberRepository(() => clock.now());
    let down = true;
    const { sent, mailer } = recordingMailer(() => (down ? Object.assign(new Error('no'), { name: 'MessageRejected' }) : undefined));
    await repo.importSubscriber({ email: 'a@x.com', status: 'pending', consent, now: clock.now() });
    const deps = {
      repo, mailer, clock, tokenKeys: async () => KEYS, sender: 's@x.com', publicBaseUrl: 'https://n',
      renderConfirmation: async () => ({ subject: 's', html: 'h', text: 't' }), pace: async () => true,
    };
    const first = await sendImportConfirmations([{ email: 'a@x.com' }], deps);
    expect(first.sent).toBe(0);
    expect(first.failed).toEqual([{ email: 'a@x.com', reason: 'MessageRejected: no' }]);
    down = false;
    expect(await sendImportConfirmations([{ email: 'a@x.com' }], deps)).toEqual({ sent: 1, skipped: 0, failed: [] });
    expect(sent).toHaveLength(1);
  });
});
