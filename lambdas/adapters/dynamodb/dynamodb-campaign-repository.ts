/**
 * CampaignRepository on the single table (see table.ts): the campaign record (META), one delivery pair per
 * recipient (D#<email>) and idempotent event items (E#<type>#<email>#<eventId>), all in the campaign's partition,
 * so the accounting is one paginated Query. A tiny index item per campaign (pk CAMPAIGNS) makes `list()` a Query
 * instead of a table Scan.
 *
 * Every state change is one conditional write. Per recipient the worker costs 2 UpdateItem here (claim, SENT),
 * plus its share of one strongly consistent BatchGetItem per message (subscriber statuses, in the subscriber
 * repository).
 *
 * Erasure (`deleteSubscriberRecords`) replaces each record keyed by the address with an anonymous one keyed by a
 * random id (`D#~erased#<id>`, `E#<type>#~erased#<id>`) that counts the same, so the totals stay and the address
 * goes. It finds the records without a Scan: one Query per campaign and event type on the address's key prefix.
 */
import { randomUUID } from 'node:crypto';
import { type DynamoDBDocumentClient, BatchGetCommand, DeleteCommand, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { CampaignAccounting, CampaignStatus, DeliveryStatus } from '../../core/model.ts';
import type { CampaignRecord, CampaignRepository, PendingRecipient } from '../../core/ports.ts';
import { computeAccounting, emptyEventCounts, emptyPairCounts, type EventCounts } from '../../core/sending/accounting.ts';
import { allowedFrom, erasedStatus } from '../../core/sending/delivery-rules.ts';
import { identityKey } from '../../core/subscribers/email.ts';
import { keys } from './table.ts';
import { decodeCursor, encodeCursor } from './cursor.ts';

const DELIVERY = 'D#';
const EVENT = 'E#';
const EVENT_TYPES = ['bounced', 'complained', 'delivered', 'softBounced'] as const;
const DELIVERY_STATUSES = new Set<DeliveryStatus>(['QUEUED', 'SENDING', 'SENT', 'SKIPPED', 'FAILED', 'UNKNOWN']);
/** Stands in for the address in the sort key of an erased subscriber's anonymous records. */
const ERASED = '~erased#';

function isConditionFailure(err: unknown): boolean {
  return (err as Error)?.name === 'ConditionalCheckFailedException';
}

function toRecord(item: Record<string, unknown>): CampaignRecord {
  const r: CampaignRecord = {
    campaignId: String(item.campaignId),
    slug: String(item.slug),
    subject: String(item.subject ?? ''),
    status: item.status as CampaignStatus,
    audience: Number(item.audience ?? 0),
    enqueued: Number(item.enqueued ?? 0),
    fanoutComplete: item.fanoutComplete === true,
    createdAt: String(item.createdAt),
    updatedAt: String(item.updatedAt),
  };
  if (typeof item.sentAt === 'string') r.sentAt = item.sentAt;
  if (typeof item.cursor === 'string') r.cursor = item.cursor;
  if (typeof item.pausedReason === 'string') r.pausedReason = item.pausedReason;
  if (typeof item.handled === 'number') r.handled = item.handled;
  if (typeof item.repairedAt === 'string') r.repairedAt = item.repairedAt;
  if (typeof item.handoffAt === 'string') r.handoffAt = item.handoffAt;
  return r;
}

/** Custom attributes as a pair keeps them: a map of strings, omitted when empty. */
function attributesOf(value: unknown): Record<string, string> | undefined {
  if (!value || typeof value !== 'object') return undefined;
  const entries = Object.entries(value as Record<string, unknown>).filter((e): e is [string, string] => typeof e[1] === 'string');
  return entries.length ? Object.fromEntries(entries) : undefined;
}

export class DynamoDbCampaignRepository implements CampaignRepository {
  /** `doc` must drop undefined values (DOCUMENT_CLIENT_OPTIONS in runtime/client-options.ts). */
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async get(campaignId: string): Promise<CampaignRecord | undefined> {
    const out = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: keys.campaign(campaignId), ConsistentRead: true }));
    return out.Item ? toRecord(out.Item) : undefined;
  }

  async start(input: { campaignId: string; slug: string; subject: string; audience: number; now: Date }) {
    const at = input.now.toISOString();
    const draft: CampaignRecord = {
      campaignId: input.campaignId, slug: input.slug, subject: input.subject, status: 'DRAFT', audience: input.audience,
      enqueued: 0, fanoutComplete: false, createdAt: at, updatedAt: at,
    };
    try {
      await this.doc.send(new PutCommand({
        TableName: this.tableName,
        Item: { ...keys.campaign(input.campaignId), ...draft },
        ConditionExpression: 'attribute_not_exists(pk)',
      }));
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
      const existing = await this.get(input.campaignId);
      if (!existing) throw new Error(`campaign ${input.campaignId} exists but cannot be read`);
      return { created: false, campaign: existing };
    }
    await this.doc.send(new PutCommand({
      TableName: this.tableName,
      Item: { ...keys.campaignIndex(input.campaignId), campaignId: input.campaignId, createdAt: at },
    }));
    // DRAFT → SENDING is a separate conditional write: a crash in between leaves a DRAFT that the next trigger claims.
    const moved = await this.setStatus(input.campaignId, ['DRAFT'], 'SENDING');
    return { created: moved, campaign: moved ? { ...draft, status: 'SENDING' as const } : ((await this.get(input.campaignId)) ?? draft) };
  }

  async saveCursor(
    campaignId: string,
    cursor: string | undefined,
    fanoutComplete: boolean,
    enqueued = 0,
    expected?: { cursor: string | undefined },
  ): Promise<boolean> {
    const sets = ['fanoutComplete = :f', 'updatedAt = :now', 'enqueued = if_not_exists(enqueued, :zero) + :n'];
    // Both expressions read the old value of `enqueued`, so audience becomes exactly the new enqueued count.
    if (fanoutComplete) sets.push('audience = if_not_exists(enqueued, :zero) + :n');
    if (cursor !== undefined) sets.push('#c = :c');
    const conditions = ['attribute_exists(pk)'];
    const values: Record<string, unknown> = {
      ':f': fanoutComplete, ':now': new Date().toISOString(), ':zero': 0, ':n': enqueued,
      ...(cursor !== undefined ? { ':c': cursor } : {}),
    };
    if (expected) {
      // Only the fan-out that read the cursor still saved may save the next one (see the port).
      conditions.push('fanoutComplete = :no', expected.cursor === undefined ? 'attribute_not_exists(#c)' : '#c = :expected');
      values[':no'] = false;
      if (expected.cursor !== undefined) values[':expected'] = expected.cursor;
    }
    try {
      await this.doc.send(new UpdateCommand({
        TableName: this.tableName,
        Key: keys.campaign(campaignId),
        UpdateExpression: `SET ${sets.join(', ')} REMOVE handoffAt${cursor === undefined ? ', #c' : ''}`,
        ConditionExpression: conditions.join(' AND '),
        ExpressionAttributeNames: { '#c': 'cursor' },
        ExpressionAttributeValues: values,
      }));
      return true;
    } catch (err) {
      if (expected && isConditionFailure(err)) return false;
      throw err;
    }
  }

  async markHandoff(campaignId: string, cursor: string | undefined, now: Date): Promise<void> {
    try {
      await this.doc.send(new UpdateCommand({
        TableName: this.tableName,
        Key: keys.campaign(campaignId),
        UpdateExpression: 'SET handoffAt = :now',
        ConditionExpression: `attribute_exists(pk) AND fanoutComplete = :no AND ${cursor === undefined ? 'attribute_not_exists(#c)' : '#c = :c'}`,
        ExpressionAttributeNames: { '#c': 'cursor' },
        ExpressionAttributeValues: { ':now': now.toISOString(), ':no': false, ...(cursor !== undefined ? { ':c': cursor } : {}) },
      }));
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
    }
  }

  async setStatus(campaignId: string, from: CampaignStatus[], to: CampaignStatus, reason?: string): Promise<boolean> {
    const values: Record<string, unknown> = { ':to': to, ':now': new Date().toISOString() };
    from.forEach((s, i) => (values[`:f${i}`] = s));
    const sets = ['#s = :to', 'updatedAt = :now'];
    const removes: string[] = [];
    if (to === 'PAUSED' && reason) {
      sets.push('pausedReason = :r');
      values[':r'] = reason;
    } else removes.push('pausedReason');
    if (to === 'SENT') sets.push('sentAt = :now');
    try {
      await this.doc.send(new UpdateCommand({
        TableName: this.tableName,
        Key: keys.campaign(campaignId),
        UpdateExpression: `SET ${sets.join(', ')}${removes.length ? ` REMOVE ${removes.join(', ')}` : ''}`,
        ConditionExpression: `attribute_exists(pk) AND #s IN (${from.map((_, i) => `:f${i}`).join(', ')})`,
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: values,
      }));
      return true;
    } catch (err) {
      if (isConditionFailure(err)) return false;
      throw err;
    }
  }

  async addHandled(campaignId: string, n: number): Promise<CampaignRecord | undefined> {
    try {
      const out = await this.doc.send(new UpdateCommand({
        TableName: this.tableName,
        Key: keys.campaign(campaignId),
        UpdateExpression: 'ADD handled :n',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeValues: { ':n': n },
        ReturnValues: 'ALL_NEW',
      }));
      return out.Attributes ? toRecord(out.Attributes) : undefined;
    } catch (err) {
      if (isConditionFailure(err)) return undefined;
      throw err;
    }
  }

  async markRepaired(campaignId: string, now: Date): Promise<void> {
    await this.doc.send(new UpdateCommand({
      TableName: this.tableName,
      Key: keys.campaign(campaignId),
      UpdateExpression: 'SET repairedAt = if_not_exists(repairedAt, :now)',
      ConditionExpression: 'attribute_exists(pk)',
      ExpressionAttributeValues: { ':now': now.toISOString() },
    }));
  }

  async list(): Promise<CampaignRecord[]> {
    const ids: string[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.doc.send(new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': keys.campaignIndex('x').pk },
        ExclusiveStartKey: start,
      }));
      for (const item of page.Items ?? []) ids.push(String(item.campaignId));
      start = page.LastEvaluatedKey;
    } while (start);
    const records: CampaignRecord[] = [];
    for (let i = 0; i < ids.length; i += 100) {
      let request: Record<string, { Keys: Record<string, unknown>[] }> | undefined = {
        [this.tableName]: { Keys: ids.slice(i, i + 100).map((id) => keys.campaign(id)) },
      };
      while (request && Object.keys(request).length) {
        const out = await this.doc.send(new BatchGetCommand({ RequestItems: request }));
        for (const item of out.Responses?.[this.tableName] ?? []) records.push(toRecord(item));
        request = out.UnprocessedKeys as typeof request;
      }
    }
    return records.sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  }

  async claim(campaignId: string, email: string, now: Date): Promise<{ claimed: true } | { claimed: false; status: DeliveryStatus }> {
    try {
      await this.doc.send(new UpdateCommand({
        TableName: this.tableName,
        Key: keys.delivery(campaignId, email),
        UpdateExpression: 'SET #s = :sending, email = :e, claimedAt = :now',
        ConditionExpression: 'attribute_not_exists(pk) OR #s = :queued',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: { ':sending': 'SENDING', ':queued': 'QUEUED', ':e': email, ':now': now.toISOString() },
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }));
      return { claimed: true };
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
      // DynamoDB returns the item that failed the condition; an emulator without that feature costs one read.
      let status = (err as { Item?: Record<string, unknown> }).Item?.status as DeliveryStatus | undefined;
      if (!status || !DELIVERY_STATUSES.has(status)) {
        const out = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: keys.delivery(campaignId, email), ConsistentRead: true }));
        status = (out.Item?.status as DeliveryStatus | undefined) ?? 'SENDING';
      }
      return { claimed: false, status };
    }
  }

  async release(campaignId: string, email: string): Promise<void> {
    await this.conditionalUpdate(campaignId, email, 'QUEUED', ['SENDING', 'UNKNOWN'], {});
  }

  async park(campaignId: string, recipients: PendingRecipient[]): Promise<void> {
    // Conditional puts cannot be batched; a paused batch is rare, so plain parallel puts are fine.
    const at = new Date().toISOString();
    for (let i = 0; i < recipients.length; i += 10) {
      await Promise.all(recipients.slice(i, i + 10).map(async (r) => {
        try {
          await this.doc.send(new PutCommand({
            TableName: this.tableName,
            Item: { ...keys.delivery(campaignId, r.email), status: 'QUEUED', email: r.email, name: r.name, attributes: attributesOf(r.attributes), at },
            ConditionExpression: 'attribute_not_exists(pk)',
          }));
        } catch (err) {
          if (!isConditionFailure(err)) throw err;
        }
      }));
    }
  }

  async listPending(campaignId: string, cursor: string | undefined, limit: number) {
    const items: PendingRecipient[] = [];
    let start: Record<string, unknown> | undefined = cursor ? decodeCursor(cursor) : undefined;
    do {
      const page = await this.doc.send(new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :d)',
        FilterExpression: '#s IN (:q, :s)',
        ExpressionAttributeValues: { ':pk': keys.campaign(campaignId).pk, ':d': DELIVERY, ':q': 'QUEUED', ':s': 'SENDING' },
        ProjectionExpression: 'pk, sk, email, #n, attributes',
        ExpressionAttributeNames: { '#s': 'status', '#n': 'name' },
        Limit: limit - items.length,
        ExclusiveStartKey: start,
        ConsistentRead: true,
      }));
      for (const item of page.Items ?? []) {
        const email = String(item.email ?? String(item.sk).slice(DELIVERY.length));
        const attributes = attributesOf(item.attributes);
        items.push({ email, ...(typeof item.name === 'string' ? { name: item.name } : {}), ...(attributes ? { attributes } : {}) });
      }
      start = page.LastEvaluatedKey;
    } while (start && items.length < limit);
    const next = start ? encodeCursor(start) : undefined;
    return next ? { items, cursor: next } : { items };
  }

  async deliveryStatus(campaignId: string, email: string): Promise<DeliveryStatus | undefined> {
    // Eventually consistent (0.5 RRU): see the port. ConsistentRead is deliberately absent.
    const out = await this.doc.send(new GetCommand({
      TableName: this.tableName,
      Key: keys.delivery(campaignId, email),
      ProjectionExpression: '#s',
      ExpressionAttributeNames: { '#s': 'status' },
    }));
    const status = out.Item?.status as DeliveryStatus | undefined;
    return status && DELIVERY_STATUSES.has(status) ? status : undefined;
  }

  async recordDelivery(
    campaignId: string,
    email: string,
    status: DeliveryStatus,
    detail: { messageId?: string; error?: string } = {},
  ): Promise<boolean> {
    if (status === 'QUEUED') {
      await this.park(campaignId, [{ email }]);
      return true;
    }
    return this.conditionalUpdate(campaignId, email, status, allowedFrom(status), detail);
  }

  /** One UpdateItem guarded by the allowed previous states; a failed guard is a no-op (false), not an error. */
  private async conditionalUpdate(
    campaignId: string,
    email: string,
    status: DeliveryStatus,
    from: Array<DeliveryStatus | 'ABSENT'>,
    detail: { messageId?: string; error?: string },
  ): Promise<boolean> {
    const values: Record<string, unknown> = { ':st': status, ':e': email, ':now': new Date().toISOString() };
    const conditions: string[] = [];
    if (from.includes('ABSENT')) conditions.push('attribute_not_exists(pk)');
    const named = from.filter((s): s is DeliveryStatus => s !== 'ABSENT');
    if (named.length) {
      named.forEach((s, i) => (values[`:f${i}`] = s));
      conditions.push(`#s IN (${named.map((_, i) => `:f${i}`).join(', ')})`);
    }
    const sets = ['#s = :st', 'email = :e', '#at = :now'];
    if (detail.messageId) {
      sets.push('messageId = :m');
      values[':m'] = detail.messageId;
    }
    if (detail.error) {
      sets.push('#err = :err');
      values[':err'] = detail.error.slice(0, 500);
    }
    try {
      await this.doc.send(new UpdateCommand({
        TableName: this.tableName,
        Key: keys.delivery(campaignId, email),
        UpdateExpression: `SET ${sets.join(', ')}`,
        ConditionExpression: conditions.join(' OR '),
        ExpressionAttributeNames: { '#s': 'status', '#at': 'at', ...(detail.error ? { '#err': 'error' } : {}) },
        ExpressionAttributeValues: values,
      }));
      return true;
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
      return false;
    }
  }

  async recordEvent(campaignId: string, type: 'bounced' | 'complained' | 'delivered' | 'softBounced', email: string, eventId: string): Promise<boolean> {
    try {
      await this.doc.send(new PutCommand({
        TableName: this.tableName,
        Item: { ...keys.event(campaignId, type, email, eventId), type, email, eventId, at: new Date().toISOString() },
        ConditionExpression: 'attribute_not_exists(pk)',
      }));
      return true;
    } catch (err) {
      if (isConditionFailure(err)) return false;
      throw err;
    }
  }

  async accounting(campaignId: string, options: { consistent?: boolean } = {}): Promise<CampaignAccounting | undefined> {
    const pairs = emptyPairCounts();
    const events: EventCounts = emptyEventCounts();
    let meta: Record<string, unknown> | undefined;
    const erased = new Set<string>();
    let start: Record<string, unknown> | undefined;
    do {
      // Eventually consistent is fine for display: a stale page can only under-count pairs. Closing a campaign
      // (readAccounting) always decides on a consistent read, which also sees the writer's own latest outcomes.
      const page = await this.doc.send(new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': keys.campaign(campaignId).pk },
        ProjectionExpression: 'sk, #s, campaignId, slug, subject, audience, enqueued, fanoutComplete, repairedAt, createdAt, updatedAt, #t, erasedAs',
        ExpressionAttributeNames: { '#s': 'status', '#t': 'type' },
        ExclusiveStartKey: start,
        ...(options.consistent ? { ConsistentRead: true } : {}),
      }));
      for (const item of page.Items ?? []) {
        const sk = String(item.sk);
        // While an erasure runs, a record and its anonymous copy share `erasedAs`: count the pair once.
        if (typeof item.erasedAs === 'string') {
          if (erased.has(item.erasedAs)) continue;
          erased.add(item.erasedAs);
        }
        if (sk === 'META') meta = item;
        else if (sk.startsWith(DELIVERY)) {
          const s = item.status as DeliveryStatus;
          if (DELIVERY_STATUSES.has(s)) pairs[s] += 1;
        } else if (sk.startsWith(EVENT)) {
          const t = item.type as keyof EventCounts;
          if (t in events) events[t] += 1;
        }
      }
      start = page.LastEvaluatedKey;
    } while (start);
    if (!meta) return undefined;
    return computeAccounting(toRecord(meta), pairs, events);
  }

  async deleteSubscriberRecords(email: string): Promise<number> {
    let erased = 0;
    for (const c of await this.list()) {
      const pk = keys.campaign(c.campaignId).pk;
      // Records are keyed by the identity (the address lower-cased); an older version keyed them by the exact
      // spelling, so that spelling's records are erased too when it differs.
      const spellings = [...new Set([identityKey(email), email])];
      const targets: Array<{ pk: unknown; sk: unknown }> = spellings.map((s) => keys.legacyDelivery(c.campaignId, s));
      for (const [type, spelling] of EVENT_TYPES.flatMap((t) => spellings.map((s) => [t, s] as const))) {
        let start: Record<string, unknown> | undefined;
        do {
          const page = await this.doc.send(new QueryCommand({
            TableName: this.tableName,
            KeyConditionExpression: 'pk = :pk AND begins_with(sk, :p)',
            ExpressionAttributeValues: { ':pk': pk, ':p': `${EVENT}${type}#${spelling}#` },
            ProjectionExpression: 'pk, sk',
            ExclusiveStartKey: start,
          }));
          for (const item of page.Items ?? []) targets.push({ pk: item.pk, sk: item.sk });
          start = page.LastEvaluatedKey;
        } while (start);
      }
      for (const key of targets) if (await this.anonymize(key)) erased++;
    }
    return erased;
  }

  /**
   * Replace one delivery or event record with an anonymous copy that counts the same, then delete it. Crash-safe
   * without transactions: the copy's id is first stored on the record (`erasedAs`), so a rerun writes the same copy
   * again rather than a second one, and the accounting counts a record and its copy once. False when absent.
   */
  private async anonymize(key: { pk: unknown; sk: unknown }): Promise<boolean> {
    let item: Record<string, unknown>;
    try {
      const out = await this.doc.send(new UpdateCommand({
        TableName: this.tableName,
        Key: key,
        UpdateExpression: 'SET erasedAs = if_not_exists(erasedAs, :id)',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeValues: { ':id': randomUUID() },
        ReturnValues: 'ALL_NEW',
      }));
      item = out.Attributes ?? {};
    } catch (err) {
      if (isConditionFailure(err)) return false;
      throw err;
    }
    const id = String(item.erasedAs);
    const erasedAt = new Date().toISOString();
    // Only what the accounting reads survives: no address, name, message id or error text.
    const copy = String(key.sk).startsWith(DELIVERY)
      ? { pk: key.pk, sk: `${DELIVERY}${ERASED}${id}`, status: erasedStatus(item.status as DeliveryStatus), erasedAs: id, erasedAt }
      : { pk: key.pk, sk: `${EVENT}${String(item.type)}#${ERASED}${id}`, type: item.type, erasedAs: id, erasedAt };
    await this.doc.send(new PutCommand({ TableName: this.tableName, Item: copy }));
    await this.doc.send(new DeleteCommand({ TableName: this.tableName, Key: key }));
    return true;
  }
}
