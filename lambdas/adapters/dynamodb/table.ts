/**
 * The single-table layout. Storage keys never leave lambdas/adapters/dynamodb: the core only sees domain types.
 *
 * | item              | pk                   | sk                    | notes                                           |
 * |-------------------|----------------------|-----------------------|-------------------------------------------------|
 * | subscriber        | SUB#<email>          | SUB                   | gsi1pk=CONFIRMED, gsi1sk=<email> only when confirmed (sparse GSI) |
 * | campaign          | CAMPAIGN#<id>        | META                  | status, audience, fan-out cursor                |
 * | delivery pair     | CAMPAIGN#<id>        | D#<email>             | QUEUED/SENDING/SENT/SKIPPED/FAILED/UNKNOWN      |
 * | event (idempotent)| CAMPAIGN#<id>        | E#<type>#<email>#<id> | bounce / complaint / delivery, counted once     |
 * | campaign index    | CAMPAIGNS            | CAMPAIGN#<id>         | one per campaign: `list()` is a Query           |
 * | rendered issue    | ISSUE#<slug>         | ISSUE                 | gzipped JSON (dynamodb-issue-store.ts)          |
 *
 * `expiresAt` (epoch seconds) is the TTL attribute; only pending subscribers carry it.
 */
import type { CreateTableCommandInput } from '@aws-sdk/client-dynamodb';

export const TTL_ATTRIBUTE = 'expiresAt';
export const CONFIRMED_INDEX = 'confirmed';
export const CONFIRMED_PK = 'CONFIRMED';

export const keys = {
  subscriber: (email: string) => ({ pk: `SUB#${email}`, sk: 'SUB' }),
  campaign: (id: string) => ({ pk: `CAMPAIGN#${id}`, sk: 'META' }),
  delivery: (id: string, email: string) => ({ pk: `CAMPAIGN#${id}`, sk: `D#${email}` }),
  /** One tiny item per campaign under a shared partition, so listing campaigns is one Query, not a Scan. */
  campaignIndex: (id: string) => ({ pk: 'CAMPAIGNS', sk: `CAMPAIGN#${id}` }),
  issue: (slug: string) => ({ pk: `ISSUE#${slug}`, sk: 'ISSUE' }),
  event: (id: string, type: string, email: string, eventId: string) => ({
    pk: `CAMPAIGN#${id}`,
    sk: `E#${type}#${email}#${eventId}`,
  }),
};

/** CreateTable input used by the local stack and tests. The CDK stateful stack declares the same shape. */
export function tableDefinition(tableName: string): CreateTableCommandInput {
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [
      { AttributeName: 'pk', AttributeType: 'S' },
      { AttributeName: 'sk', AttributeType: 'S' },
      { AttributeName: 'gsi1pk', AttributeType: 'S' },
      { AttributeName: 'gsi1sk', AttributeType: 'S' },
    ],
    KeySchema: [
      { AttributeName: 'pk', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ],
    GlobalSecondaryIndexes: [
      {
        IndexName: CONFIRMED_INDEX,
        KeySchema: [
          { AttributeName: 'gsi1pk', KeyType: 'HASH' },
          { AttributeName: 'gsi1sk', KeyType: 'RANGE' },
        ],
        // Sending reads only the address and the name.
        Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: ['email', 'name'] },
      },
    ],
  };
}
