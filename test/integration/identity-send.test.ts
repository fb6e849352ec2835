/**
 * One subscriber per mailbox through the send pipeline (issue 13), on the real emulators: case variants never
 * mean a second email for one issue, also with records written by older versions under their exact spelling,
 * before and after `subscribers migrate-identities`.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import type { AttachedSending } from '../../lambdas/local/sending.ts';
import { planImport } from '../../lambdas/core/subscribers/import-plan.ts';
import { identityKey } from '../../lambdas/core/subscribers/email.ts';
import { viaEventBridge } from '../handlers/ses-events.fixtures.ts';
import { attach, invariantHolds, issueMarkdown, resetEmulators, settle, startSendEnv, storedEmails, type StoredEmail } from './send-helpers.ts';

let env: Awaited<ReturnType<typeof startSendEnv>>;
let sending: AttachedSending;

beforeAll(async () => {
  env = await startSendEnv();
});
afterAll(async () => {
  await env.stop();
});
beforeEach(async () => {
  await resetEmulators(env.emulators);
  sending = attach(env);
});
afterEach(async () => {
  await sending.stop();
});

const consent = { at: new Date().toISOString(), method: 'import' as const, source: 'identity test' };

/** Emails of one issue per mailbox (recipients compared case-insensitively). */
async function perMailbox(slug: string): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const e of (await storedEmails(env.emulators.sesEndpoint)) as StoredEmail[]) {
    if (!e.subject.includes(slug)) continue;
    for (const to of e.destination.to) counts.set(identityKey(to), (counts.get(identityKey(to)) ?? 0) + 1);
  }
  return counts;
}

/** A subscriber item as a version before identity keys wrote it: key and index sort key as spelled. */
function legacyItem(email: string, status: 'confirmed' | 'unsubscribed', createdAt: string) {
  return {
    pk: `SUB#${email}`, sk: 'SUB', email, status, createdAt, updatedAt: createdAt, consent,
    ...(status === 'confirmed' ? { gsi1pk: 'CONFIRMED', gsi1sk: email } : {}),
  };
}

async function putLegacy(item: Record<string, unknown>): Promise<void> {
  const { DynamoDBDocumentClient } = await import('@aws-sdk/lib-dynamodb');
  const doc = DynamoDBDocumentClient.from(sending.dynamo);
  await doc.send(new PutCommand({ TableName: env.emulators.tableName, Item: item }));
}

describe('one email per mailbox', () => {
  it('an import with case variants and later sign-ups in other casings: each mailbox gets one email', async () => {
    const plan = planImport('email,name\nAnn@example.com,Ann\nann@example.com,Ann 2\nANN@EXAMPLE.COM,Ann 3\nbob@example.com,Bob\nBob@example.com,Bob 2\n', 'v.csv');
    expect(plan.rows.map((r) => r.email)).toEqual(['Ann@example.com', 'bob@example.com']);
    const now = new Date();
    for (const row of plan.rows) await sending.subscribers.importSubscriber({ email: row.email, status: 'confirmed', consent, now });
    // A second import in another casing, and sign-ups through the form: nothing new.
    expect(await sending.subscribers.importSubscriber({ email: 'aNN@example.com', status: 'confirmed', consent, now })).toBe('exists');
    const upsert = await sending.subscribers.upsertPending({ email: 'BOB@example.com', source: 'form', now, ttlSeconds: 60, resendAfterSeconds: 600 });
    expect(upsert.outcome).toBe('ignored');

    expect((await sending.invokeSend({ issue: { markdown: issueMarkdown('variants-1') }, mode: 'send' })).status).toBe('complete');
    const a = await settle(sending, 'variants-1');
    expect(Object.fromEntries(await perMailbox('variants-1'))).toEqual({ 'ann@example.com': 1, 'bob@example.com': 1 });
    expect(a).toMatchObject({ audience: 2, sent: 2, queued: 0 });
    expect(invariantHolds(a)).toBe(true);
    // The email goes to the spelling the subscriber gave.
    const to = (await storedEmails(env.emulators.sesEndpoint)).flatMap((e) => e.destination.to).sort();
    expect(to).toEqual(['Ann@example.com', 'bob@example.com']);
  });

  it('records of older versions: one email per mailbox before migrate-identities; after it, one record and exact accounting', async () => {
    await putLegacy(legacyItem('Cat@example.com', 'confirmed', '2026-01-01T00:00:00.000Z'));
    await putLegacy(legacyItem('CAT@example.com', 'confirmed', '2026-02-01T00:00:00.000Z'));
    await sending.subscribers.importSubscriber({ email: 'cat@example.com', status: 'confirmed', consent, now: new Date() });
    await sending.subscribers.importSubscriber({ email: 'dan@example.com', status: 'confirmed', consent, now: new Date() });

    await sending.invokeSend({ issue: { markdown: issueMarkdown('legacy-1') }, mode: 'send' });
    await settle(sending, 'legacy-1');
    // Three index entries for cat's mailbox, one delivery pair (keyed by identity), so one email.
    expect(Object.fromEntries(await perMailbox('legacy-1'))).toEqual({ 'cat@example.com': 1, 'dan@example.com': 1 });

    expect(await sending.subscribers.migrateIdentities()).toMatchObject({ migrated: 2, merged: 2 });
    expect(await sending.subscribers.countConfirmed()).toBe(2);
    expect((await sending.subscribers.get('cat@example.com'))?.email).toBe('Cat@example.com');
    await sending.invokeSend({ issue: { markdown: issueMarkdown('legacy-2') }, mode: 'send' });
    const a = await settle(sending, 'legacy-2');
    expect(Object.fromEntries(await perMailbox('legacy-2'))).toEqual({ 'cat@example.com': 1, 'dan@example.com': 1 });
    expect(a).toMatchObject({ audience: 2, sent: 2, queued: 0 });
  });

  it('leaving under one spelling stops every record of the mailbox; a bounce reported in another casing suppresses', async () => {
    await putLegacy(legacyItem('Eve@example.com', 'confirmed', '2026-01-01T00:00:00.000Z'));
    await sending.subscribers.importSubscriber({ email: 'eve@example.com', status: 'confirmed', consent, now: new Date() });
    await sending.subscribers.importSubscriber({ email: 'Fay@example.com', status: 'confirmed', consent, now: new Date() });
    await sending.subscribers.importSubscriber({ email: 'gus@example.com', status: 'confirmed', consent, now: new Date() });
    // An unsubscribe link from an older email carries the old spelling.
    expect((await sending.subscribers.unsubscribe('Eve@example.com', new Date())).kind).toBe('changed');
    const bounce = {
      eventType: 'Bounce',
      mail: { messageId: 'm1', destination: ['FAY@EXAMPLE.COM'], tags: {} },
      bounce: { bounceType: 'Permanent', feedbackId: 'f1', bouncedRecipients: [{ emailAddress: 'FAY@EXAMPLE.COM' }] },
    };
    await sending.handleSesEvent(viaEventBridge(bounce));
    expect(await sending.subscribers.getStatus('fay@example.com')).toBe('bounced');

    await sending.invokeSend({ issue: { markdown: issueMarkdown('left-1') }, mode: 'send' });
    const a = await settle(sending, 'left-1');
    expect(Object.fromEntries(await perMailbox('left-1'))).toEqual({ 'gus@example.com': 1 });
    expect(a).toMatchObject({ audience: 1, sent: 1, queued: 0 });
  });
});
