/** The SubscriberRepository contract on dynalite (real SDK DocumentClient), and the in-memory fake. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
