/** The SubscriberRepository contract on dynalite (real SDK DocumentClient), and the in-memory fake. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
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
