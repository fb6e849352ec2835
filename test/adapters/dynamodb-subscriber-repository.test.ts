/** The SubscriberRepository contract on dynalite (real SDK DocumentClient), and the in-memory fake. */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, DynamoDBDocumentClient, PutCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { DynamoDbSubscriberRepository } from '../../lambdas/adapters/dynamodb/dynamodb-subscriber-repository.ts';
import { InvalidCursorError } from '../../lambdas/adapters/dynamodb/cursor.ts';
import { MemorySubscriberRepository } from '../../lambdas/adapters/memory/memory-subscriber-repository.ts';
import { startTestEmulators, type TestEmulators } from '../support/emulators.ts';
import { subscriberRepositoryContract } from './subscriber-repository-contract.ts';

let env: TestEmulators;
beforeAll(async () => {
  env = await startTestEmulators();
});
afterAll(() => env?.stop());

describe('DynamoDbSubscriberRepository on dynalite', () => {
  subscriberRepositoryContract(() => ({
    makeRepo: (now) => new DynamoDbSubscriberRepository(env.doc, env.tableName, now),
    reset: () => env.resetTable(),
  }));

  it('refuses a forged cursor before it reaches DynamoDB', async () => {
    const repo = new DynamoDbSubscriberRepository(env.doc, env.tableName);
    await expect(repo.listConfirmed('not-json', 10)).rejects.toBeInstanceOf(InvalidCursorError);
    await expect(repo.listConfirmed(Buffer.from('[1]').toString('base64url'), 10)).rejects.toBeInstanceOf(InvalidCursorError);
  });
});

describe('DynamoDbSubscriberRepository: records written by older versions under their exact spelling', () => {
  const T = new Date('2026-12-01T10:00:00Z');
  const at = (minutes: number) => new Date(T.getTime() + minutes * 60_000).toISOString();
  /** What a version before identity keys stored: the key and the index sort key as spelled. */
  const legacyItem = (email: string, status: string, extra: Record<string, unknown> = {}) => ({
    pk: `SUB#${email}`, sk: 'SUB', email, status, createdAt: at(0), updatedAt: at(0),
    consent: { at: at(0), method: 'import', source: 'old' },
    ...(status === 'confirmed' ? { gsi1pk: 'CONFIRMED', gsi1sk: email } : {}),
    ...extra,
  });
  const put = (item: Record<string, unknown>) => env.doc.send(new PutCommand({ TableName: env.tableName, Item: item }));
  const rawItems = async () =>
    ((await env.doc.send(new ScanCommand({ TableName: env.tableName }))).Items ?? [])
      .filter((i) => i.sk === 'SUB')
      .sort((a, b) => (String(a.pk) < String(b.pk) ? -1 : 1));
  let repo: DynamoDbSubscriberRepository;
  const consent = { at: T.toISOString(), method: 'import' as const, source: 'new' };

  beforeEach(async () => {
    await env.resetTable();
    repo = new DynamoDbSubscriberRepository(env.doc, env.tableName, () => T);
  });

  it('are found by their spelling, and a sign-up or import in that spelling never adds a second record', async () => {
    await put(legacyItem('Bob@example.com', 'confirmed'));
    expect(await repo.get('Bob@example.com')).toMatchObject({ email: 'Bob@example.com', status: 'confirmed' });
    expect(await repo.getStatus('Bob@example.com')).toBe('confirmed');
    expect(Object.fromEntries(await repo.getStatuses(['Bob@example.com']))).toEqual({ 'Bob@example.com': 'confirmed' });
    expect(await repo.upsertPending({ email: 'Bob@example.com', source: 'form', now: T, ttlSeconds: 60, resendAfterSeconds: 600 })).toEqual({ outcome: 'ignored', mayResend: false });
    expect(await repo.importSubscriber({ email: 'Bob@example.com', status: 'pending', consent, now: T })).toBe('exists');
    expect((await rawItems()).map((i) => i.pk)).toEqual(['SUB#Bob@example.com']);
  });

  it('their tokens keep working: confirm and unsubscribe reach the old record; erasure removes it', async () => {
    await put(legacyItem('Ann@example.com', 'pending', { expiresAt: Math.floor(T.getTime() / 1000) + 3600 }));
    expect((await repo.confirm('Ann@example.com', T)).kind).toBe('changed');
    expect((await rawItems()).map((i) => [i.pk, i.status])).toEqual([['SUB#Ann@example.com', 'confirmed']]);
    expect((await repo.listConfirmed(undefined, 10)).items).toEqual([{ email: 'Ann@example.com' }]);
    expect((await repo.unsubscribe('Ann@example.com', T)).kind).toBe('changed');
    expect(await repo.countConfirmed()).toBe(0);
    expect(await repo.delete('Ann@example.com')).toBe(true);
    expect(await rawItems()).toEqual([]);
  });

  it('an old record and a new one of the same mailbox: status reads take the most restrictive, leaving reaches both', async () => {
    await put(legacyItem('Cy@example.com', 'confirmed'));
    await repo.importSubscriber({ email: 'cy@example.com', status: 'confirmed', consent, now: T });
    expect(await repo.countConfirmed()).toBe(2); // until migrate-identities merges them
    expect((await repo.suppress('Cy@example.com', 'bounced', T)).kind).toBe('changed');
    expect((await rawItems()).map((i) => [i.pk, i.status])).toEqual([['SUB#Cy@example.com', 'bounced'], ['SUB#cy@example.com', 'bounced']]);
    await put(legacyItem('Dee@example.com', 'unsubscribed'));
    await repo.importSubscriber({ email: 'dee@example.com', status: 'confirmed', consent, now: T });
    expect(Object.fromEntries(await repo.getStatuses(['Dee@example.com', 'dee@example.com']))).toEqual({
      'Dee@example.com': 'unsubscribed', 'dee@example.com': 'confirmed',
    });
    expect(await repo.getStatus('Dee@example.com')).toBe('unsubscribed');
  });

  it('migrate-identities rewrites them under the identity key, merging variants (most restrictive wins), idempotently', async () => {
    await put(legacyItem('Eve@example.com', 'confirmed', { name: 'Eve', attributes: { tier: 'gold' } }));
    await put(legacyItem('EVE@example.com', 'unsubscribed', { createdAt: at(5), updatedAt: at(6), unsubscribedAt: at(6) }));
    await put(legacyItem('eve@example.com', 'confirmed', { createdAt: at(10), updatedAt: at(10) }));
    await put(legacyItem('Fay@example.com', 'confirmed', { name: 'Fay' }));
    await put(legacyItem('Gus@example.com', 'pending', { expiresAt: Math.floor(T.getTime() / 1000) - 1 }));
    await put(legacyItem('hal@example.com', 'confirmed'));
    const progress: unknown[] = [];
    expect(await repo.migrateIdentities((m) => progress.push(m))).toEqual({ scanned: 6, migrated: 3, merged: 2, expiredRemoved: 1 });
    expect(progress.length).toBeGreaterThan(0);
    const items = await rawItems();
    expect(items.map((i) => [i.pk, i.email, i.status, i.gsi1sk])).toEqual([
      ['SUB#eve@example.com', 'Eve@example.com', 'unsubscribed', undefined],
      ['SUB#fay@example.com', 'Fay@example.com', 'confirmed', 'fay@example.com'],
      ['SUB#hal@example.com', 'hal@example.com', 'confirmed', 'hal@example.com'],
    ]);
    expect(items[0]).toMatchObject({ name: 'Eve', attributes: { tier: 'gold' }, createdAt: at(0), unsubscribedAt: at(6) });
    expect((await repo.listConfirmed(undefined, 10)).items).toEqual([{ email: 'Fay@example.com', name: 'Fay' }, { email: 'hal@example.com' }]);
    expect(await repo.migrateIdentities()).toEqual({ scanned: 3, migrated: 0, merged: 0, expiredRemoved: 0 });
    expect(await rawItems()).toEqual(items);
  });
});

describe('MemorySubscriberRepository', () => {
  // makeRepo builds a fresh store each test, so reset has nothing to do.
  subscriberRepositoryContract(() => ({ makeRepo: (now) => new MemorySubscriberRepository(now), reset: async () => {} }));
});

describe('DynamoDbSubscriberRepository.getStatuses on a fake DocumentClient (UnprocessedKeys: a fault dynalite cannot produce)', () => {
  const TABLE = 'newsletter';
  const key = (email: string) => ({ pk: `SUB#${email}`, sk: 'SUB' });
  const fakeDoc = () => {
    const doc = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } }));
    return { doc, mock: mockClient(doc) };
  };

  it('fake: retries the UnprocessedKeys of a throttled BatchGetItem until every status is read', async () => {
    const { doc, mock } = fakeDoc();
    mock
      .on(BatchGetCommand)
      .resolvesOnce({
        Responses: { [TABLE]: [{ ...key('a@x.com'), status: 'confirmed' }] },
        UnprocessedKeys: { [TABLE]: { Keys: [key('b@x.com'), key('c@x.com')] } },
      })
      .resolvesOnce({
        Responses: { [TABLE]: [{ ...key('b@x.com'), status: 'unsubscribed' }] },
        UnprocessedKeys: { [TABLE]: { Keys: [key('c@x.com')] } },
      })
      .resolvesOnce({ Responses: { [TABLE]: [] } });
    const statuses = await new DynamoDbSubscriberRepository(doc, TABLE).getStatuses(['a@x.com', 'b@x.com', 'c@x.com', 'a@x.com']);
    expect(Object.fromEntries(statuses)).toEqual({ 'a@x.com': 'confirmed', 'b@x.com': 'unsubscribed' });
    const calls = mock.commandCalls(BatchGetCommand).map((c) => c.args[0].input.RequestItems![TABLE]!);
    expect(calls.map((r) => r.Keys)).toEqual([
      [key('a@x.com'), key('b@x.com'), key('c@x.com')],
      [key('b@x.com'), key('c@x.com')],
      [key('c@x.com')],
    ]);
    for (const r of calls) expect(r).toMatchObject({ ConsistentRead: true, ProjectionExpression: expect.stringContaining('#status') });
  });

  it('fake: throws after a bounded number of attempts when keys stay unprocessed, never returning a partial map', async () => {
    const { doc, mock } = fakeDoc();
    mock.on(BatchGetCommand).resolves({
      Responses: { [TABLE]: [{ ...key('a@x.com'), status: 'confirmed' }] },
      UnprocessedKeys: { [TABLE]: { Keys: [key('b@x.com')] } },
    });
    await expect(new DynamoDbSubscriberRepository(doc, TABLE).getStatuses(['a@x.com', 'b@x.com'])).rejects.toThrow(/unprocessed/);
    const attempts = mock.commandCalls(BatchGetCommand).length;
    expect(attempts).toBeGreaterThan(1);
    expect(attempts).toBeLessThanOrEqual(10);
  });
});
