/**
 * The same SubscriberRepository contract on DynamoDB Local (Java 17), which implements DynamoDB more fully than
 * dynalite. Fails (does not skip) without `java`: CI installs openjdk-17-jre-headless.
 */
import { afterAll, beforeAll, describe } from 'vitest';
import { DeleteTableCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoDbSubscriberRepository } from '../../lambdas/adapters/dynamodb/dynamodb-subscriber-repository.ts';
import { ensureTable } from '../../lambdas/local/emulators.ts';
import { DOCUMENT_CLIENT_OPTIONS } from '../../lambdas/runtime/aws-clients.ts';
import { startDynamoDbLocal } from '../support/emulators.ts';
import { subscriberRepositoryContract } from './subscriber-repository-contract.ts';

const TABLE = 'newsletter';
let local: Awaited<ReturnType<typeof startDynamoDbLocal>>;
let doc: DynamoDBDocumentClient;

beforeAll(async () => {
  local = await startDynamoDbLocal(TABLE);
  doc = DynamoDBDocumentClient.from(local.dynamo, DOCUMENT_CLIENT_OPTIONS);
}, 90_000);
afterAll(() => local?.stop());

describe('DynamoDbSubscriberRepository on DynamoDB Local', () => {
  subscriberRepositoryContract(() => ({
    makeRepo: (now) => new DynamoDbSubscriberRepository(doc, TABLE, now),
    reset: async () => {
      await local.dynamo.send(new DeleteTableCommand({ TableName: TABLE }));
      await ensureTable(local.dynamo, TABLE);
    },
  }));
});
