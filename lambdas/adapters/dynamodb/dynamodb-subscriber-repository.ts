/**
 * SubscriberRepository on DynamoDB (single table, see table.ts), through the lib-dynamodb DocumentClient.
 *
 * Every state change is ONE conditional UpdateItem/PutItem: the condition encodes the allowed transition, so
 * concurrent requests cannot race (no read-modify-write). A failed condition is an outcome, not an error;
 * only then do we read the item to report what is there.
 * The sparse GSI attributes (gsi1pk/gsi1sk) exist only while a subscriber is confirmed.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  DeleteCommand,
  GetCommand,
  PutCommand,
  QueryCommand,
  ScanCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import type { Consent, Subscriber, SubscriberStatus } from '../../core/model.ts';
import type { SubscriberPage, SubscriberRepository, SubscriberWriteOutcome } from '../../core/ports.ts';
import { CONFIRMED_INDEX, CONFIRMED_PK, TTL_ATTRIBUTE, keys } from './table.ts';
import { decodeCursor, encodeCursor } from './cursor.ts';
import { importedSubscriber } from '../../core/subscribers/imported-subscriber.ts';

const SUBSCRIBER_SK = keys.subscriber('x').sk;
const STORED_FIELDS = [
  'email', 'status', 'name', 'attributes', 'createdAt', 'updatedAt', 'confirmedAt', 'unsubscribedAt',
  'confirmationSentAt', 'consent', TTL_ATTRIBUTE,
] as const;

function epochSeconds(d: Date): number {
  return Math.floor(d.getTime() / 1000);
}

function isConditionFailure(err: unknown): boolean {
  return err instanceof ConditionalCheckFailedException || (err as Error | undefined)?.name === 'ConditionalCheckFailedException';
}

/** A pending record whose TTL has passed is dead even if DynamoDB has not deleted it yet. */
function isExpired(item: Record<string, unknown>, now: Date): boolean {
  const exp = item[TTL_ATTRIBUTE];
  return item.status === 'pending' && typeof exp === 'number' && exp <= epochSeconds(now);
}

function toSubscriber(item: Record<string, unknown>): Subscriber {
  const out: Record<string, unknown> = {};
  for (const f of STORED_FIELDS) if (item[f] !== undefined) out[f] = item[f];
  return out as unknown as Subscriber;
}

/** BatchGetItem's limit of keys per call. */
const BATCH_GET_KEYS = 100;
/**
 * Calls per chunk (the first plus retries of UnprocessedKeys) before `getStatuses` gives up and throws. Giving up
 * fails the whole message back to SQS (visibility timeout: half an hour), so ride out a throttling burst first.
 */
const BATCH_GET_ATTEMPTS = 8;
/** Pause before retry n: full jitter, up to 50 ms doubled per retry, capped at 1 s (at most about 3.5 s in all). */
const BATCH_GET_BACKOFF_MS = 50;
const BATCH_GET_BACKOFF_CAP_MS = 1000;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * The item {@link DynamoDbSubscriberRepository.importSubscriber} stores for an imported subscriber: the record,
 * its keys, and the sparse-index attributes when confirmed. Exported for bench/seed.ts, which writes the same items
 * with BatchWriteItem.
 */
export function importedSubscriberItem(input: Parameters<SubscriberRepository['importSubscriber']>[0]): Record<string, unknown> {
  const subscriber = importedSubscriber(input);
  return {
    ...keys.subscriber(input.email),
    ...subscriber,
    ...(subscriber.status === 'confirmed' ? { gsi1pk: CONFIRMED_PK, gsi1sk: input.email } : {}),
  };
}

// Shared by the conditions below: "a live pending record" and "a pending record past its TTL".
const LIVE_PENDING = `(#status = :pending AND (attribute_not_exists(${TTL_ATTRIBUTE}) OR ${TTL_ATTRIBUTE} > :nowS))`;
const EXPIRED_PENDING = `(#status = :pending AND ${TTL_ATTRIBUTE} <= :nowS)`;

export class DynamoDbSubscriberRepository implements SubscriberRepository {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
    /** Used only to hide expired pending records on reads that take no time argument. */
    private readonly now: () => Date = () => new Date(),
  ) {}

  private async getItem(email: string, projection?: string): Promise<Record<string, unknown> | undefined> {
    const res = await this.doc.send(
      new GetCommand({
        TableName: this.tableName,
        Key: keys.subscriber(email),
        ConsistentRead: true,
        ...(projection ? { ProjectionExpression: projection, ExpressionAttributeNames: { '#status': 'status' } } : {}),
      }),
    );
    if (!res.Item || isExpired(res.Item, this.now())) return undefined;
    return res.Item;
  }

  async get(email: string): Promise<Subscriber | undefined> {
    const item = await this.getItem(email);
    return item && toSubscriber(item);
  }

  async getStatus(email: string): Promise<SubscriberStatus | undefined> {
    const item = await this.getItem(email, `#status, ${TTL_ATTRIBUTE}`);
    return item?.status as SubscriberStatus | undefined;
  }

  /**
   * Strongly consistent BatchGetItem, 100 keys a call (chunks in parallel), projecting only the key, the status and
   * the TTL (an expired pending record counts as absent, as in {@link getStatus}). Keys DynamoDB leaves in
   * UnprocessedKeys (throttling, size limits) are retried with exponential backoff; after BATCH_GET_ATTEMPTS calls
   * it throws rather than return a partial map, because a missing status would read as "absent" and skip someone.
   */
  async getStatuses(emails: string[]): Promise<Map<string, SubscriberStatus>> {
    // BatchGetItem refuses duplicate keys in one request.
    const unique = [...new Set(emails)];
    // Keys are built by the same keys.subscriber as getStatus, so an address is read exactly as getStatus reads it.
    const emailOfPk = new Map(unique.map((email) => [keys.subscriber(email).pk, email]));
    const out = new Map<string, SubscriberStatus>();
    const chunks: string[][] = [];
    for (let i = 0; i < unique.length; i += BATCH_GET_KEYS) chunks.push(unique.slice(i, i + BATCH_GET_KEYS));
    const now = this.now();
    await Promise.all(
      chunks.map(async (chunk) => {
        for (const item of await this.batchGetSubscribers(chunk)) {
          const email = emailOfPk.get(item.pk as string);
          if (email !== undefined && !isExpired(item, now)) out.set(email, item.status as SubscriberStatus);
        }
      }),
    );
    return out;
  }

  /** One chunk of at most 100 distinct addresses, retrying UnprocessedKeys. */
  private async batchGetSubscribers(emails: string[]): Promise<Record<string, unknown>[]> {
    const items: Record<string, unknown>[] = [];
    let pending: Record<string, unknown>[] = emails.map((email) => keys.subscriber(email));
    for (let attempt = 1; ; attempt++) {
      const res = await this.doc.send(
        new BatchGetCommand({
          RequestItems: {
            [this.tableName]: {
              Keys: pending,
              ConsistentRead: true,
              ProjectionExpression: `pk, #status, ${TTL_ATTRIBUTE}`,
              ExpressionAttributeNames: { '#status': 'status' },
            },
          },
        }),
      );
      items.push(...(res.Responses?.[this.tableName] ?? []));
      pending = res.UnprocessedKeys?.[this.tableName]?.Keys ?? [];
      if (pending.length === 0) return items;
      if (attempt >= BATCH_GET_ATTEMPTS) {
        throw new Error(`BatchGetItem left ${pending.length} subscriber statuses unprocessed after ${attempt} attempts`);
      }
      await sleep(Math.random() * Math.min(BATCH_GET_BACKOFF_CAP_MS, BATCH_GET_BACKOFF_MS * 2 ** (attempt - 1)));
    }
  }

  async upsertPending(input: Parameters<SubscriberRepository['upsertPending']>[0]) {
    const nowIso = input.now.toISOString();
    const nowS = epochSeconds(input.now);
    const consent: Consent = { at: nowIso, method: 'double-opt-in', source: input.source };
    const common = {
      ':pending': 'pending',
      ':now': nowIso,
      ':nowS': nowS,
      ':exp': nowS + input.ttlSeconds,
      ':consent': consent,
      ...(input.name ? { ':name': input.name } : {}),
    };
    const setName = input.name ? ', #name = :name' : '';
    const names = { '#status': 'status', ...(input.name ? { '#name': 'name' } : {}) };

    // 1. Create, revive an expired pending record, or refresh one whose resend window has passed; this write
    //    also moves confirmationSentAt, so among concurrent requests exactly one wins the right to send.
    try {
      const res = await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: keys.subscriber(input.email),
          ConditionExpression:
            `attribute_not_exists(pk) OR ${EXPIRED_PENDING} OR ` +
            `((#status = :pending OR #status = :unsub) AND (attribute_not_exists(confirmationSentAt) OR confirmationSentAt <= :cutoff))`,
          UpdateExpression:
            `SET #status = :pending, email = :email, createdAt = if_not_exists(createdAt, :now), updatedAt = :now, ` +
            `confirmationSentAt = :now, ${TTL_ATTRIBUTE} = :exp, consent = :consent${setName} REMOVE gsi1pk, gsi1sk`,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: {
            ...common,
            ':email': input.email,
            ':unsub': 'unsubscribed',
            ':cutoff': new Date(input.now.getTime() - input.resendAfterSeconds * 1000).toISOString(),
          },
          ReturnValues: 'ALL_OLD',
        }),
      );
      const old = res.Attributes;
      const created = !old || isExpired(old, input.now);
      return { outcome: created ? ('created' as const) : ('refreshed' as const), mayResend: true };
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
    }

    // 2. Inside the resend window: refresh the record (TTL, name) but send nothing.
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: keys.subscriber(input.email),
          ConditionExpression: `${LIVE_PENDING} OR #status = :unsub`,
          UpdateExpression: `SET #status = :pending, updatedAt = :now, ${TTL_ATTRIBUTE} = :exp, consent = :consent${setName}`,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: { ...common, ':unsub': 'unsubscribed' },
        }),
      );
      return { outcome: 'refreshed' as const, mayResend: false };
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
    }
    // confirmed, bounced or complained: never downgraded by a form.
    return { outcome: 'ignored' as const, mayResend: false };
  }

  async releaseConfirmation(email: string, sentAt: Date): Promise<void> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: keys.subscriber(email),
          ConditionExpression: 'confirmationSentAt = :sentAt',
          UpdateExpression: 'REMOVE confirmationSentAt',
          ExpressionAttributeValues: { ':sentAt': sentAt.toISOString() },
        }),
      );
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
    }
  }

  /** Run a conditional update; on a failed condition, report what is there instead. */
  private async transition(email: string, update: Omit<ConstructorParameters<typeof UpdateCommand>[0], 'TableName' | 'Key'>): Promise<SubscriberWriteOutcome> {
    try {
      const res = await this.doc.send(
        new UpdateCommand({ TableName: this.tableName, Key: keys.subscriber(email), ReturnValues: 'ALL_NEW', ...update }),
      );
      return { kind: 'changed', subscriber: toSubscriber(res.Attributes ?? {}) };
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
    }
    const current = await this.get(email);
    return current ? { kind: 'unchanged', subscriber: current } : { kind: 'not-found' };
  }

  confirm(email: string, now: Date): Promise<SubscriberWriteOutcome> {
    return this.transition(email, {
      ConditionExpression: LIVE_PENDING,
      UpdateExpression:
        `SET #status = :confirmed, confirmedAt = :now, updatedAt = :now, consent.#at = :now, ` +
        `gsi1pk = :gsiPk, gsi1sk = :email REMOVE ${TTL_ATTRIBUTE}`,
      ExpressionAttributeNames: { '#status': 'status', '#at': 'at' },
      ExpressionAttributeValues: {
        ':pending': 'pending',
        ':confirmed': 'confirmed',
        ':now': now.toISOString(),
        ':nowS': epochSeconds(now),
        ':gsiPk': CONFIRMED_PK,
        ':email': email,
      },
    });
  }

  unsubscribe(email: string, now: Date): Promise<SubscriberWriteOutcome> {
    return this.transition(email, {
      ConditionExpression: `${LIVE_PENDING} OR #status = :confirmed`,
      // The record stays (without TTL) so that a later import or form cannot silently bring the address back.
      UpdateExpression: `SET #status = :unsub, unsubscribedAt = :now, updatedAt = :now REMOVE gsi1pk, gsi1sk, ${TTL_ATTRIBUTE}`,
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: {
        ':pending': 'pending',
        ':confirmed': 'confirmed',
        ':unsub': 'unsubscribed',
        ':now': now.toISOString(),
        ':nowS': epochSeconds(now),
      },
    });
  }

  suppress(email: string, reason: 'bounced' | 'complained', now: Date): Promise<SubscriberWriteOutcome> {
    return this.transition(email, {
      ConditionExpression: 'attribute_exists(pk) AND #status <> :reason',
      UpdateExpression: `SET #status = :reason, updatedAt = :now REMOVE gsi1pk, gsi1sk, ${TTL_ATTRIBUTE}`,
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: { ':reason': reason, ':now': now.toISOString() },
    });
  }

  async importSubscriber(input: Parameters<SubscriberRepository['importSubscriber']>[0]): Promise<'created' | 'exists'> {
    const item = importedSubscriberItem(input);
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: item,
          ConditionExpression: `attribute_not_exists(pk) OR ${EXPIRED_PENDING}`,
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':pending': 'pending', ':nowS': epochSeconds(input.now) },
        }),
      );
      return 'created';
    } catch (err) {
      if (isConditionFailure(err)) return 'exists';
      throw err;
    }
  }

  async delete(email: string): Promise<boolean> {
    const res = await this.doc.send(
      new DeleteCommand({ TableName: this.tableName, Key: keys.subscriber(email), ReturnValues: 'ALL_OLD' }),
    );
    return res.Attributes !== undefined;
  }

  /** Query the sparse GSI: only confirmed subscribers are in it. */
  private queryConfirmed(extra: { Limit?: number; Select?: 'COUNT'; ExclusiveStartKey?: Record<string, unknown> }) {
    return this.doc.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: CONFIRMED_INDEX,
        KeyConditionExpression: 'gsi1pk = :pk',
        ExpressionAttributeValues: { ':pk': CONFIRMED_PK },
        ...extra,
      }),
    );
  }

  async listConfirmed(cursor: string | undefined, limit: number): Promise<SubscriberPage> {
    const res = await this.queryConfirmed({ Limit: limit, ...(cursor ? { ExclusiveStartKey: decodeCursor(cursor) } : {}) });
    const items = (res.Items ?? []).map((i) => ({
      email: i.email as string,
      ...(typeof i.name === 'string' ? { name: i.name } : {}),
    }));
    return { items, ...(res.LastEvaluatedKey ? { cursor: encodeCursor(res.LastEvaluatedKey) } : {}) };
  }

  async countConfirmed(): Promise<number> {
    let count = 0;
    let start: Record<string, unknown> | undefined;
    do {
      const res = await this.queryConfirmed({ Select: 'COUNT', ...(start ? { ExclusiveStartKey: start } : {}) });
      count += res.Count ?? 0;
      start = res.LastEvaluatedKey;
    } while (start);
    return count;
  }

  async *scan(): AsyncIterable<Subscriber> {
    let start: Record<string, unknown> | undefined;
    do {
      const res = await this.doc.send(
        new ScanCommand({
          TableName: this.tableName,
          FilterExpression: 'sk = :sk',
          ExpressionAttributeValues: { ':sk': SUBSCRIBER_SK },
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      const now = this.now();
      for (const item of res.Items ?? []) if (!isExpired(item, now)) yield toSubscriber(item);
      start = res.LastEvaluatedKey;
    } while (start);
  }
}
