/**
 * The single-table layout. Storage keys never leave lambdas/adapters/dynamodb: the core only sees domain types.
 *
 * | item              | pk                   | sk                    | notes                                           |
 * |-------------------|----------------------|-----------------------|-------------------------------------------------|
 * | subscriber        | SUB#<identity>       | SUB                   | gsi1pk=CONFIRMED, gsi1sk=<identity> only when confirmed (sparse GSI) |
 * | campaign          | CAMPAIGN#<id>        | META                  | status, audience, fan-out cursor                |
 * | delivery pair     | CAMPAIGN#<id>        | D#<identity>          | QUEUED/SENDING/SENT/SKIPPED/FAILED/UNKNOWN      |
 * | event (idempotent)| CAMPAIGN#<id>        | E#<type>#<identity>#<id> | bounce / complaint / delivery, counted once  |
 * | campaign index    | CAMPAIGNS            | CAMPAIGN#<id>         | one per campaign: `list()` is a Query           |
 * | rendered issue    | ISSUE#<slug>         | ISSUE                 | gzipped JSON (dynamodb-issue-store.ts)          |
 *
 * `expiresAt` (epoch seconds) is the TTL attribute; only pending subscribers carry it.
 *
 * `<identity>` is `identityKey(email)` (lambdas/core/subscribers/email.ts): the whole address lower-cased, so the
 * case variants of one mailbox share one subscriber, one index entry and one delivery pair per campaign. The
 * `email` attribute keeps the spelling shown to people. Versions before identity keys wrote `SUB#<email>` and
 * `D#<email>` as spelled: the `legacy*` keys below address those records, which the subscriber repository still
 * reads (and `subscribers migrate-identities` rewrites under the identity key).
 */
import type { CreateTableCommandInput } from '@aws-sdk/client-dynamodb';
import { identityKey } from '../../core/subscribers/email.ts';

export const TTL_ATTRIBUTE = 'expiresAt';
export const CONFIRMED_INDEX = 'confirmed';
export const CONFIRMED_PK = 'CONFIRMED';
/** Non-key attributes the confirmed index projects (infra/stateful-stack.ts declares the same list). */
export const CONFIRMED_INDEX_ATTRIBUTES = ['email', 'name', 'attributes'] as const;

export const SUBSCRIBER_PREFIX = 'SUB#';

export const keys = {
  subscriber: (email: string) => ({ pk: `${SUBSCRIBER_PREFIX}${identityKey(email)}`, sk: 'SUB' }),
  /** The key an older version wrote for this exact spelling (the same as `subscriber` for a lower-case address). */
  legacySubscriber: (email: string) => ({ pk: `${SUBSCRIBER_PREFIX}${email}`, sk: 'SUB' }),
  campaign: (id: string) => ({ pk: `CAMPAIGN#${id}`, sk: 'META' }),
  delivery: (id: string, email: string) => ({ pk: `CAMPAIGN#${id}`, sk: `D#${identityKey(email)}` }),
  /** A delivery pair an older version wrote under this exact spelling (erasure must still find it). */
  legacyDelivery: (id: string, email: string) => ({ pk: `CAMPAIGN#${id}`, sk: `D#${email}` }),
  /** One tiny item per campaign under a shared partition, so listing campaigns is one Query, not a Scan. */
  campaignIndex: (id: string) => ({ pk: 'CAMPAIGNS', sk: `CAMPAIGN#${id}` }),
  issue: (slug: string) => ({ pk: `ISSUE#${slug}`, sk: 'ISSUE' }),
  event: (id: string, type: string, email: string, eventId: string) => ({
    pk: `CAMPAIGN#${id}`,
    sk: `E#${type}#${identityKey(email)}#${eventId}`,
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
        // Sending reads only the address, the name and the import's custom attributes.
        Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: [...CONFIRMED_INDEX_ATTRIBUTES] },
      },
    ],
  };
}
