/**
 * SubscriberRepository on DynamoDB (single table, see table.ts), through the lib-dynamodb DocumentClient.
 *
 * Every state change is ONE conditional UpdateItem/PutItem: the condition encodes the allowed transition, so
 * concurrent requests cannot race (no read-modify-write). A failed condition is an outcome, not an error;
 * only then do we read the item to report what is there.
 * The sparse GSI attributes (gsi1pk/gsi1sk) exist only while a subscriber is confirmed.
 *
 * Identity: records are keyed by `identityKey(email)` (the address lower-cased), so the case variants of one
 * mailbox are one record; `email` keeps the spelling the subscriber first gave. Records written by older versions
 * under their exact spelling (`SUB#Bob@x.com`) keep working until `subscribers migrate-identities` rewrites them:
 * for an address spelled with capitals, reads also look at that exact-spelling key (one more key, only then),
 * status reads merge the two (the most restrictive status wins), a form sign-up or import finds the old record
 * instead of creating a second one, and unsubscribe, suppression and erasure apply to both.
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
import { CONFIRMED_INDEX, CONFIRMED_PK, SUBSCRIBER_PREFIX, TTL_ATTRIBUTE, keys } from './table.ts';
import { decodeCursor, encodeCursor } from './cursor.ts';
import { importedSubscriber } from '../../core/subscribers/imported-subscriber.ts';
import { identityKey } from '../../core/subscribers/email.ts';
import { mergeIdentityRecords, strictestStatus } from '../../core/subscribers/identity-merge.ts';

const SUBSCRIBER_SK = keys.subscriber('x').sk;
const DELIVERY_PREFIX = 'D#';
type Key = { pk: string; sk: string };

/** The keys an address may be stored under: its identity key, then (when it differs) an older version's exact spelling. */
function candidateKeys(email: string): Key[] {
  const id = keys.subscriber(email);
  const legacy = keys.legacySubscriber(email);
  return legacy.pk === id.pk ? [id] : [id, legacy];
}

/** A condition that holds while the item is as it was read (every write to a subscriber moves `updatedAt`). */
function unchangedSince(item: Record<string, unknown>) {
  return typeof item.updatedAt === 'string'
    ? { ConditionExpression: 'updatedAt = :seen', ExpressionAttributeValues: { ':seen': item.updatedAt } }
    : { ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(updatedAt)' };
}

/** What `subscribers migrate-identities` did (see {@link DynamoDbSubscriberRepository.migrateIdentities}). */
export interface IdentityMigration {
  /** Subscriber records read. */
  scanned: number;
  /** Records stored under an exact-spelling key, rewritten under their identity key (merged when one existed). */
  migrated: number;
  /** Of those, how many were merged into a record already present under the identity key (or an earlier variant). */
  merged: number;
  /** Expired pending records under an exact-spelling key, removed. */
  expiredRemoved: number;
}
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

function isAttributeMap(value: unknown): value is Record<string, string> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && Object.values(value).every((v) => typeof v === 'string');
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
    ...(subscriber.status === 'confirmed' ? { gsi1pk: CONFIRMED_PK, gsi1sk: identityKey(input.email) } : {}),
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

  private async getByKey(key: Key, projection?: string): Promise<Record<string, unknown> | undefined> {
    const res = await this.doc.send(
      new GetCommand({
        TableName: this.tableName,
        Key: key,
        ConsistentRead: true,
        ...(projection ? { ProjectionExpression: projection, ExpressionAttributeNames: { '#status': 'status' } } : {}),
      }),
    );
    if (!res.Item || isExpired(res.Item, this.now())) return undefined;
    return res.Item;
  }

  /** The live records of an address: under its identity key, then under an older version's exact spelling. */
  private async liveItems(email: string, projection?: string): Promise<Record<string, unknown>[]> {
    const found = await Promise.all(candidateKeys(email).map((key) => this.getByKey(key, projection)));
    return found.filter((item): item is Record<string, unknown> => item !== undefined);
  }

  /**
   * The key this address's writes go to: its identity key, unless only an older version's exact-spelling record
   * exists (then that one, so a sign-up or confirmation finds it instead of creating a second record).
   */
  private async resolveKey(email: string): Promise<Key> {
    const [id, legacy] = candidateKeys(email) as [Key, Key | undefined];
    if (!legacy || !(await this.getByKey(legacy, `pk, #status, ${TTL_ATTRIBUTE}`))) return id;
    return (await this.getByKey(id, `pk, #status, ${TTL_ATTRIBUTE}`)) ? id : legacy;
  }

  /** The identity record, else an older version's record under this exact spelling. */
  async get(email: string): Promise<Subscriber | undefined> {
    const [item] = await this.liveItems(email);
    return item && toSubscriber(item);
  }

  async getStatus(email: string): Promise<SubscriberStatus | undefined> {
    const items = await this.liveItems(email, `#status, ${TTL_ATTRIBUTE}`);
    return strictestStatus(items.map((i) => i.status as SubscriberStatus));
  }

  /**
   * Strongly consistent BatchGetItem, 100 keys a call (chunks in parallel), projecting only the key, the status and
   * the TTL (an expired pending record counts as absent, as in {@link getStatus}). Keys DynamoDB leaves in
   * UnprocessedKeys (throttling, size limits) are retried with exponential backoff; after BATCH_GET_ATTEMPTS calls
   * it throws rather than return a partial map, because a missing status would read as "absent" and skip someone.
   */
  async getStatuses(emails: string[]): Promise<Map<string, SubscriberStatus>> {
    // BatchGetItem refuses duplicate keys in one request. Each address reads the same keys as getStatus.
    const unique = [...new Set(emails)];
    const pks = [...new Set(unique.flatMap((email) => candidateKeys(email).map((k) => k.pk)))];
    const statusOfPk = new Map<string, SubscriberStatus>();
    const chunks: string[][] = [];
    for (let i = 0; i < pks.length; i += BATCH_GET_KEYS) chunks.push(pks.slice(i, i + BATCH_GET_KEYS));
    const now = this.now();
    await Promise.all(
      chunks.map(async (chunk) => {
        for (const item of await this.batchGetSubscribers(chunk)) {
          if (!isExpired(item, now)) statusOfPk.set(item.pk as string, item.status as SubscriberStatus);
        }
      }),
    );
    const out = new Map<string, SubscriberStatus>();
    for (const email of unique) {
      const status = strictestStatus(candidateKeys(email).map((k) => statusOfPk.get(k.pk)));
      if (status) out.set(email, status);
    }
    return out;
  }

  /** One chunk of at most 100 distinct subscriber keys, retrying UnprocessedKeys. */
  private async batchGetSubscribers(pks: string[]): Promise<Record<string, unknown>[]> {
    const items: Record<string, unknown>[] = [];
    let pending: Record<string, unknown>[] = pks.map((pk) => ({ pk, sk: SUBSCRIBER_SK }));
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
    const key = await this.resolveKey(input.email);
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
          Key: key,
          ConditionExpression:
            `attribute_not_exists(pk) OR ${EXPIRED_PENDING} OR ` +
            `((#status = :pending OR #status = :unsub) AND (attribute_not_exists(confirmationSentAt) OR confirmationSentAt <= :cutoff))`,
          UpdateExpression:
            // The first spelling given stays the one shown (a case variant is the same subscriber).
            `SET #status = :pending, email = if_not_exists(email, :email), createdAt = if_not_exists(createdAt, :now), updatedAt = :now, ` +
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
          Key: key,
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

  /** On every key of the address: the condition (the slot taken at `sentAt`) picks the record that took it. */
  async releaseConfirmation(email: string, sentAt: Date): Promise<void> {
    for (const key of candidateKeys(email)) {
      try {
        await this.doc.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: key,
            ConditionExpression: 'confirmationSentAt = :sentAt',
            UpdateExpression: 'REMOVE confirmationSentAt',
            ExpressionAttributeValues: { ':sentAt': sentAt.toISOString() },
          }),
        );
      } catch (err) {
        if (!isConditionFailure(err)) throw err;
      }
    }
  }

  async claimConfirmation(email: string, now: Date): Promise<boolean> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: await this.resolveKey(email),
          ConditionExpression: `${LIVE_PENDING} AND attribute_not_exists(confirmationSentAt)`,
          UpdateExpression: 'SET confirmationSentAt = :now',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':pending': 'pending', ':now': now.toISOString(), ':nowS': epochSeconds(now) },
        }),
      );
      return true;
    } catch (err) {
      if (isConditionFailure(err)) return false;
      throw err;
    }
  }

  /** Run a conditional update; on a failed condition, report what is there instead. */
  private async transition(
    email: string,
    update: Omit<ConstructorParameters<typeof UpdateCommand>[0], 'TableName' | 'Key'>,
    key: Key = keys.subscriber(email),
  ): Promise<SubscriberWriteOutcome> {
    try {
      const res = await this.doc.send(
        new UpdateCommand({ TableName: this.tableName, Key: key, ReturnValues: 'ALL_NEW', ...update }),
      );
      return { kind: 'changed', subscriber: toSubscriber(res.Attributes ?? {}) };
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
    }
    const current = await this.get(email);
    return current ? { kind: 'unchanged', subscriber: current } : { kind: 'not-found' };
  }

  /**
   * Applied to every key of the address (identity, then an older version's exact spelling): leaving must reach
   * whichever record the sends go to. `changed` when either record changed.
   */
  private async transitionAll(email: string, update: Parameters<DynamoDbSubscriberRepository['transition']>[1]): Promise<SubscriberWriteOutcome> {
    const outcomes: SubscriberWriteOutcome[] = [];
    for (const key of candidateKeys(email)) outcomes.push(await this.transition(email, update, key));
    return outcomes.find((o) => o.kind === 'changed') ?? outcomes.find((o) => o.kind === 'unchanged') ?? { kind: 'not-found' };
  }

  async confirm(email: string, now: Date): Promise<SubscriberWriteOutcome> {
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
        ':email': identityKey(email),
      },
    }, await this.resolveKey(email));
  }

  unsubscribe(email: string, now: Date): Promise<SubscriberWriteOutcome> {
    return this.transitionAll(email, {
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
    return this.transitionAll(email, {
      ConditionExpression: 'attribute_exists(pk) AND #status <> :reason',
      UpdateExpression: `SET #status = :reason, updatedAt = :now REMOVE gsi1pk, gsi1sk, ${TTL_ATTRIBUTE}`,
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: { ':reason': reason, ':now': now.toISOString() },
    });
  }

  async importSubscriber(input: Parameters<SubscriberRepository['importSubscriber']>[0]): Promise<'created' | 'exists'> {
    const [, legacy] = candidateKeys(input.email);
    // An older version's record under this exact spelling is this subscriber: never a second record beside it.
    if (legacy && (await this.getByKey(legacy, `pk, #status, ${TTL_ATTRIBUTE}`))) return 'exists';
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

  /** Removes the identity record and an older version's record under this exact spelling. */
  async delete(email: string): Promise<boolean> {
    let deleted = false;
    for (const key of candidateKeys(email)) {
      const res = await this.doc.send(new DeleteCommand({ TableName: this.tableName, Key: key, ReturnValues: 'ALL_OLD' }));
      if (res.Attributes !== undefined) deleted = true;
    }
    return deleted;
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
      ...(isAttributeMap(i.attributes) && Object.keys(i.attributes).length > 0 ? { attributes: i.attributes } : {}),
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

  /**
   * `subscribers migrate-identities`: rewrite every record an older version stored under its exact spelling
   * (`SUB#Bob@x.com`) under its identity key (`SUB#bob@x.com`), merging it with a record already there (the most
   * restrictive status wins, see identity-merge.ts). Idempotent, and safe beside live traffic: the identity record
   * is written only if unchanged since it was read, and the old record is deleted only if unchanged since it was
   * merged, else that record is merged again (up to 5 times, then it throws). One Scan of the table.
   */
  async migrateIdentities(onProgress?: (m: IdentityMigration) => void): Promise<IdentityMigration> {
    const result: IdentityMigration = { scanned: 0, migrated: 0, merged: 0, expiredRemoved: 0 };
    for await (const items of this.subscriberPages('pk')) {
      for (const item of items) {
        result.scanned += 1;
        const pk = String(item.pk);
        const spelling = pk.slice(SUBSCRIBER_PREFIX.length);
        if (pk === keys.subscriber(spelling).pk) continue;
        const outcome = await this.migrateOne(spelling);
        if (outcome === 'expired') result.expiredRemoved += 1;
        else if (outcome !== 'gone') {
          result.migrated += 1;
          if (outcome === 'merged') result.merged += 1;
        }
      }
      onProgress?.({ ...result });
    }
    return result;
  }

  /**
   * The other half of `migrate-identities`: delivery pairs an older version keyed by the exact spelling
   * (`D#Bob@x.com`) move to the identity key (`D#bob@x.com`), which the worker's claim, SES events, resume's
   * repair pass and erasure now use; otherwise a resumed campaign would not see the old pair and could mail that
   * person again. A pair whose identity key is already taken stays as it is (it counts for its own recipient).
   * Run only while no campaign is sending (the CLI checks): a pair is copied, then its old key deleted.
   */
  async migrateDeliveryPairs(campaignIds: readonly string[]): Promise<number> {
    let moved = 0;
    for (const campaignId of campaignIds) {
      const pk = keys.campaign(campaignId).pk;
      let start: Record<string, unknown> | undefined;
      do {
        const page = await this.doc.send(
          new QueryCommand({
            TableName: this.tableName,
            KeyConditionExpression: 'pk = :pk AND begins_with(sk, :d)',
            ExpressionAttributeValues: { ':pk': pk, ':d': DELIVERY_PREFIX },
            ConsistentRead: true,
            ...(start ? { ExclusiveStartKey: start } : {}),
          }),
        );
        for (const item of page.Items ?? []) {
          const spelling = String(item.sk).slice(DELIVERY_PREFIX.length);
          const target = keys.delivery(campaignId, spelling);
          if (target.sk === item.sk) continue;
          try {
            await this.doc.send(
              new PutCommand({ TableName: this.tableName, Item: { ...item, ...target }, ConditionExpression: 'attribute_not_exists(pk)' }),
            );
          } catch (err) {
            if (isConditionFailure(err)) continue;
            throw err;
          }
          await this.doc.send(new DeleteCommand({ TableName: this.tableName, Key: { pk: item.pk, sk: item.sk } }));
          moved += 1;
        }
        start = page.LastEvaluatedKey;
      } while (start);
    }
    return moved;
  }

  /** Move one exact-spelling record under its identity key. */
  private async migrateOne(spelling: string): Promise<'moved' | 'merged' | 'expired' | 'gone'> {
    const legacyKey = keys.legacySubscriber(spelling);
    const idKey = keys.subscriber(spelling);
    const read = async (key: Key) =>
      (await this.doc.send(new GetCommand({ TableName: this.tableName, Key: key, ConsistentRead: true }))).Item;
    const now = this.now();
    let merged = false;
    for (let attempt = 1; attempt <= 5; attempt++) {
      const old = await read(legacyKey);
      // Absent at once: another run (or an erasure) got there first.
      if (!old) return attempt === 1 ? 'gone' : merged ? 'merged' : 'moved';
      if (!isExpired(old, now)) {
        const current = await read(idKey);
        const live = current && !isExpired(current, now) ? current : undefined;
        const record = mergeIdentityRecords([toSubscriber(old), ...(live ? [toSubscriber(live)] : [])]);
        if (live) merged = true;
        try {
          await this.doc.send(
            new PutCommand({
              TableName: this.tableName,
              Item: {
                ...idKey,
                ...record,
                ...(record.status === 'confirmed' ? { gsi1pk: CONFIRMED_PK, gsi1sk: identityKey(record.email) } : {}),
              },
              ...(current ? unchangedSince(current) : { ConditionExpression: 'attribute_not_exists(pk)' }),
            }),
          );
        } catch (err) {
          if (isConditionFailure(err)) continue;
          throw err;
        }
      }
      try {
        await this.doc.send(
          new DeleteCommand({
            TableName: this.tableName,
            Key: legacyKey,
            ...unchangedSince(old),
          }),
        );
        return isExpired(old, now) ? 'expired' : merged ? 'merged' : 'moved';
      } catch (err) {
        if (!isConditionFailure(err)) throw err;
      }
    }
    throw new Error(`${legacyKey.pk} kept changing while it was migrated: run migrate-identities again`);
  }

  async *scan(): AsyncIterable<Subscriber> {
    for await (const items of this.subscriberPages()) {
      const now = this.now();
      for (const item of items) if (!isExpired(item, now)) yield toSubscriber(item);
    }
  }

  /** Every subscriber item, a Scan page at a time (optionally only some attributes). */
  private async *subscriberPages(projection?: string): AsyncIterable<Record<string, unknown>[]> {
    let start: Record<string, unknown> | undefined;
    do {
      const res = await this.doc.send(
        new ScanCommand({
          TableName: this.tableName,
          FilterExpression: 'sk = :sk',
          ExpressionAttributeValues: { ':sk': SUBSCRIBER_SK },
          ...(projection ? { ProjectionExpression: projection } : {}),
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      yield res.Items ?? [];
      start = res.LastEvaluatedKey;
    } while (start);
  }
}
