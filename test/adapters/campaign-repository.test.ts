/**
 * DynamoDbCampaignRepository on dynalite through the real SDK, with the memory repository run through the same
 * contract, so core tests on the memory one mean something.
 */
import { DeleteTableCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DynamoDbCampaignRepository } from '../../lambdas/adapters/dynamodb/dynamodb-campaign-repository.ts';
import { MemoryCampaignRepository } from '../../lambdas/adapters/memory/memory-campaign-repository.ts';
import type { CampaignRepository } from '../../lambdas/core/ports.ts';
import { ensureTable, localDynamoClient, startEmulators, type Emulators } from '../../lambdas/local/emulators.ts';
import { DOCUMENT_CLIENT_OPTIONS } from '../../lambdas/runtime/aws-clients.ts';

let emulators: Emulators;
let client: ReturnType<typeof localDynamoClient>;

beforeAll(async () => {
  emulators = await startEmulators({ dynamoPort: 0, sesPort: 0 });
  client = localDynamoClient(emulators.dynamoEndpoint);
});
afterAll(async () => {
  client.destroy();
  await emulators.stop();
});

const now = new Date('2026-01-01T00:00:00Z');
const start = (repo: CampaignRepository, id = 'c1', audience = 3) => repo.start({ campaignId: id, slug: id, subject: `S ${id}`, audience, now });

const implementations: Array<[string, () => Promise<CampaignRepository>]> = [
  ['dynalite', async () => {
    await client.send(new DeleteTableCommand({ TableName: emulators.tableName }));
    await ensureTable(client, emulators.tableName);
    return new DynamoDbCampaignRepository(DynamoDBDocumentClient.from(client, DOCUMENT_CLIENT_OPTIONS), emulators.tableName);
  }],
  ['memory', async () => new MemoryCampaignRepository()],
];

describe.each(implementations)('CampaignRepository contract (%s)', (_name, make) => {
  let repo: CampaignRepository;
  beforeEach(async () => {
    repo = await make();
  });

  it('start is a conditional create + DRAFT→SENDING; a second start reports the existing campaign', async () => {
    const first = await start(repo);
    expect(first).toMatchObject({ created: true, campaign: { status: 'SENDING', audience: 3 } });
    const second = await start(repo, 'c1', 99);
    expect(second).toMatchObject({ created: false, campaign: { status: 'SENDING', audience: 3 } });
  });

  it('claim succeeds once; a second claim reports SENDING; QUEUED (released) can be claimed again', async () => {
    await start(repo);
    expect(await repo.claim('c1', 'a@x.com', now)).toEqual({ claimed: true });
    expect(await repo.claim('c1', 'a@x.com', now)).toEqual({ claimed: false, status: 'SENDING' });
    await repo.release('c1', 'a@x.com');
    expect(await repo.claim('c1', 'a@x.com', now)).toEqual({ claimed: true });
    await repo.recordDelivery('c1', 'a@x.com', 'SENT', { messageId: 'm1' });
    expect(await repo.claim('c1', 'a@x.com', now)).toEqual({ claimed: false, status: 'SENT' });
  });

  it('release gives a claim back also after a concurrent duplicate recorded it UNKNOWN; a final SENT, FAILED or SKIPPED stays', async () => {
    await start(repo);
    expect(await repo.claim('c1', 'a@x.com', now)).toEqual({ claimed: true });
    // Another delivery of the same recipient found the pair SENDING while this claim's SendEmail was in flight.
    expect(await repo.recordDelivery('c1', 'a@x.com', 'UNKNOWN', { error: 'found SENDING on retry' })).toBe(true);
    // SES refused the connection: the email certainly did not go, so the claim goes back and the pair is sendable.
    await repo.release('c1', 'a@x.com');
    expect(await repo.deliveryStatus('c1', 'a@x.com')).toBe('QUEUED');
    expect(await repo.claim('c1', 'a@x.com', now)).toEqual({ claimed: true });
    await repo.recordDelivery('c1', 'a@x.com', 'SENT', { messageId: 'm1' });
    await repo.release('c1', 'a@x.com');
    expect(await repo.deliveryStatus('c1', 'a@x.com')).toBe('SENT');
  });

  it('twenty concurrent claims of one pair: exactly one wins', async () => {
    await start(repo);
    const results = await Promise.all(Array.from({ length: 20 }, () => repo.claim('c1', 'race@x.com', now)));
    expect(results.filter((r) => r.claimed)).toHaveLength(1);
  });

  it('recordDelivery never downgrades a final state; park never touches an existing pair', async () => {
    await start(repo);
    await repo.claim('c1', 'a@x.com', now);
    await repo.recordDelivery('c1', 'a@x.com', 'SENT', { messageId: 'm1' });
    await repo.recordDelivery('c1', 'a@x.com', 'SKIPPED');
    await repo.recordDelivery('c1', 'a@x.com', 'UNKNOWN');
    await repo.park('c1', [{ email: 'a@x.com' }, { email: 'b@x.com', name: 'Bee' }]);
    const a = (await repo.accounting('c1'))!;
    expect(a).toMatchObject({ sent: 1, skipped: 0, unknown: 0, queued: 2, audience: 3 });
    const pending = await repo.listPending('c1', undefined, 10);
    expect(pending.items).toEqual([{ email: 'b@x.com', name: 'Bee' }]);
  });

  it('deliveryStatus reads the pair as it stands, undefined when there is none', async () => {
    await start(repo);
    expect(await repo.deliveryStatus('c1', 'a@x.com')).toBeUndefined();
    await repo.claim('c1', 'a@x.com', now);
    expect(await repo.deliveryStatus('c1', 'a@x.com')).toBe('SENDING');
    await repo.recordDelivery('c1', 'a@x.com', 'UNKNOWN');
    expect(await repo.deliveryStatus('c1', 'a@x.com')).toBe('UNKNOWN');
    await repo.recordDelivery('c1', 'a@x.com', 'SENT', { messageId: 'm1' });
    expect(await repo.deliveryStatus('c1', 'a@x.com')).toBe('SENT');
    expect(await repo.deliveryStatus('c2', 'a@x.com')).toBeUndefined();
  });

  it('listPending pages through QUEUED and SENDING pairs only, without gaps', async () => {
    await start(repo, 'c1', 30);
    const emails = Array.from({ length: 25 }, (_, i) => `p${String(i).padStart(2, '0')}@x.com`);
    await repo.park('c1', emails.map((email) => ({ email })));
    await repo.claim('c1', 'p00@x.com', now); // SENDING still pending
    await repo.claim('c1', 'p01@x.com', now);
    await repo.recordDelivery('c1', 'p01@x.com', 'SENT', { messageId: 'x' });
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await repo.listPending('c1', cursor, 7);
      seen.push(...page.items.map((i) => i.email));
      cursor = page.cursor;
    } while (cursor);
    expect(seen.sort()).toEqual(emails.filter((e) => e !== 'p01@x.com'));
  });

  it('saveCursor adds the page count once and sets the exact audience when the fan-out completes', async () => {
    await start(repo, 'c1', 10);
    await repo.saveCursor('c1', 'cur-1', false, 5);
    expect(await repo.get('c1')).toMatchObject({ cursor: 'cur-1', enqueued: 5, audience: 10, fanoutComplete: false });
    await repo.saveCursor('c1', undefined, true, 3);
    const c = (await repo.get('c1'))!;
    expect(c).toMatchObject({ enqueued: 8, audience: 8, fanoutComplete: true });
    expect(c.cursor).toBeUndefined();
  });

  it('saveCursor with `expected` applies only from that cursor: of two racing fan-outs, each page is counted once', async () => {
    await start(repo, 'c1', 10);
    // Both runs read "no cursor yet"; the first save wins, the second (same page) is refused and counts nothing.
    expect(await repo.saveCursor('c1', 'cur-1', false, 5, { cursor: undefined })).toBe(true);
    expect(await repo.saveCursor('c1', 'cur-1', false, 5, { cursor: undefined })).toBe(false);
    expect(await repo.saveCursor('c1', 'cur-2', false, 5, { cursor: 'cur-0' })).toBe(false);
    expect(await repo.saveCursor('c1', undefined, true, 5, { cursor: 'cur-1' })).toBe(true);
    expect(await repo.get('c1')).toMatchObject({ enqueued: 10, audience: 10, fanoutComplete: true });
    // A complete fan-out accepts no further page, whatever the cursor.
    expect(await repo.saveCursor('c1', undefined, true, 5, { cursor: undefined })).toBe(false);
    expect(await repo.get('c1')).toMatchObject({ enqueued: 10, audience: 10 });
  });

  it('markHandoff records a clean stop at the saved cursor; the next cursor save clears it; a moved cursor is left alone', async () => {
    await start(repo, 'c1', 10);
    await repo.saveCursor('c1', 'cur-1', false, 5, { cursor: undefined });
    await repo.markHandoff('c1', 'cur-0', now); // another fan-out has moved on: no-op
    expect((await repo.get('c1'))!.handoffAt).toBeUndefined();
    await repo.markHandoff('c1', 'cur-1', now);
    expect((await repo.get('c1'))!.handoffAt).toBe(now.toISOString());
    await repo.saveCursor('c1', 'cur-2', false, 3, { cursor: 'cur-1' });
    expect((await repo.get('c1'))!.handoffAt).toBeUndefined();
  });

  it('park keeps a recipient’s custom attributes and listPending returns them', async () => {
    await start(repo);
    await repo.park('c1', [{ email: 'a@x.com', name: 'Ann', attributes: { tier: 'gold', city: 'Kyoto' } }, { email: 'b@x.com', attributes: {} }]);
    const { items } = await repo.listPending('c1', undefined, 10);
    expect(items.sort((x, y) => x.email.localeCompare(y.email))).toEqual([
      { email: 'a@x.com', name: 'Ann', attributes: { tier: 'gold', city: 'Kyoto' } },
      { email: 'b@x.com' },
    ]);
  });

  it('case variants of an address are one pair and one event key, listed under the spelling that made the pair; erasure in another casing finds them', async () => {
    await start(repo);
    await repo.park('c1', [{ email: 'Ann@X.com', name: 'Ann' }, { email: 'ann@x.COM', name: 'Other' }]);
    expect((await repo.listPending('c1', undefined, 10)).items).toEqual([{ email: 'Ann@X.com', name: 'Ann' }]);
    expect(await repo.claim('c1', 'ANN@x.com', now)).toEqual({ claimed: true });
    expect(await repo.claim('c1', 'ann@x.com', now)).toEqual({ claimed: false, status: 'SENDING' });
    expect(await repo.recordDelivery('c1', 'ann@X.com', 'SENT', { messageId: 'm1' })).toBe(true);
    expect(await repo.deliveryStatus('c1', 'Ann@X.com')).toBe('SENT');
    expect(await repo.recordEvent('c1', 'bounced', 'ANN@X.COM', 'f1')).toBe(true);
    expect(await repo.recordEvent('c1', 'bounced', 'ann@x.com', 'f1')).toBe(false);
    expect(await repo.accounting('c1')).toMatchObject({ sent: 1, bounced: 1 });
    expect(await repo.deleteSubscriberRecords('aNN@x.com')).toBe(2);
    expect(await repo.deliveryStatus('c1', 'ann@x.com')).toBeUndefined();
    expect(await repo.accounting('c1')).toMatchObject({ sent: 1, bounced: 1 });
  });

  it('setStatus is conditional on the current status; PAUSED keeps its reason', async () => {
    await start(repo);
    expect(await repo.setStatus('c1', ['DRAFT'], 'SENDING')).toBe(false);
    expect(await repo.setStatus('c1', ['SENDING'], 'PAUSED', 'SendingPausedException: off')).toBe(true);
    expect(await repo.get('c1')).toMatchObject({ status: 'PAUSED', pausedReason: 'SendingPausedException: off' });
    expect(await repo.setStatus('nope', ['SENDING'], 'PAUSED')).toBe(false);
  });

  it('recordEvent counts each (type, email, id) once; accounting adds them up', async () => {
    await start(repo);
    expect(await repo.recordEvent('c1', 'bounced', 'a@x.com', 'f1')).toBe(true);
    expect(await repo.recordEvent('c1', 'bounced', 'a@x.com', 'f1')).toBe(false);
    await repo.recordEvent('c1', 'complained', 'b@x.com', 'f2');
    await repo.recordEvent('c1', 'delivered', 'b@x.com', 'm2');
    await repo.recordEvent('c1', 'softBounced', 'c@x.com', 'f3');
    expect(await repo.accounting('c1')).toMatchObject({ bounced: 1, complained: 1, delivered: 1, softBounced: 1 });
    expect(await repo.accounting('missing')).toBeUndefined();
  });

  it('list returns every campaign, newest first; deleteSubscriberRecords erases one subscriber everywhere', async () => {
    await repo.start({ campaignId: 'old', slug: 'old', subject: 'Old', audience: 1, now: new Date('2025-01-01T00:00:00Z') });
    await start(repo, 'new');
    expect((await repo.list()).map((c) => c.campaignId)).toEqual(['new', 'old']);
    for (const id of ['old', 'new']) {
      await repo.claim(id, 'gone@x.com', now);
      await repo.recordDelivery(id, 'gone@x.com', 'SENT', { messageId: `m-${id}` });
      await repo.recordEvent(id, 'delivered', 'gone@x.com', `m-${id}`);
    }
    await repo.claim('new', 'stay@x.com', now);
    await repo.park('old', [{ email: 'gone@x.com' }, { email: 'queued@x.com', name: 'Q' }]); // gone@ already has a pair: kept
    const before = await repo.accounting('new');
    expect(await repo.deleteSubscriberRecords('gone@x.com')).toBe(4);
    // The counts stay (erasure anonymizes, it does not un-send); the address goes.
    expect(await repo.accounting('new')).toEqual(before);
    expect(await repo.accounting('new')).toMatchObject({ sent: 1, delivered: 1 });
    expect(await repo.deleteSubscriberRecords('gone@x.com')).toBe(0);
    expect(await repo.claim('new', 'stay@x.com', now)).toEqual({ claimed: false, status: 'SENDING' });
    // A parked (QUEUED) pair of an erased address becomes SKIPPED, so resume never picks up an anonymous one.
    const parked = (await repo.accounting('old'))!;
    expect(await repo.deleteSubscriberRecords('queued@x.com')).toBe(1);
    expect((await repo.listPending('old', undefined, 10)).items).toEqual([]);
    expect(await repo.accounting('old')).toMatchObject({ skipped: parked.skipped + 1, sent: 1 });
  });
});
