/** DynamoDbIssueStore on dynalite through the real SDK: round trip, absence, bad slugs, the size limit. */
import { randomBytes } from 'node:crypto';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbIssueStore, MAX_STORED_ISSUE_BYTES } from '../../lambdas/adapters/dynamodb/dynamodb-issue-store.ts';
import type { StoredIssue } from '../../lambdas/core/ports.ts';
import { StoredIssueTooLargeError } from '../../lambdas/core/sending/stored-issue.ts';
import { localDynamoClient, startEmulators, type Emulators } from '../../lambdas/local/emulators.ts';
import { DOCUMENT_CLIENT_OPTIONS } from '../../lambdas/runtime/aws-clients.ts';

let emulators: Emulators;
let client: ReturnType<typeof localDynamoClient>;
let doc: DynamoDBDocumentClient;
let store: DynamoDbIssueStore;

beforeAll(async () => {
  emulators = await startEmulators({ dynamoPort: 0, sesPort: 0 });
  client = localDynamoClient(emulators.dynamoEndpoint);
  doc = DynamoDBDocumentClient.from(client, DOCUMENT_CLIENT_OPTIONS);
  store = new DynamoDbIssueStore(doc, emulators.tableName);
});
afterAll(async () => {
  client.destroy();
  await emulators.stop();
});

const issue = (slug: string, html: string): StoredIssue => ({
  slug, subject: 'Akira 的机器学习新闻', preheader: 'p', title: 't', date: '2026-01-05', lang: 'zh', html, text: 'hi {{name}}',
});

describe('DynamoDbIssueStore (dynalite)', () => {
  it('stores an issue compressed in one item and reads back exactly what was stored, CJK and placeholders included', async () => {
    // Prepare
    const html = `<p>{{name}} 你好</p>${'<td>機械学習のニュース</td>'.repeat(2000)}`;
    // Act
    await store.put(issue('issue-31', html));
    const back = await store.get('issue-31');
    const raw = await doc.send(new GetCommand({ TableName: emulators.tableName, Key: { pk: 'ISSUE#issue-31', sk: 'ISSUE' } }));
    // Assess
    expect(back).toEqual(issue('issue-31', html));
    const body = raw.Item!.body as Uint8Array;
    expect(body.byteLength).toBeLessThan(Buffer.byteLength(html) / 10);
    expect(raw.Item!.bytes).toBe(Buffer.byteLength(JSON.stringify(issue('issue-31', html))));
  });

  it('reads a missing issue as undefined, overwrites on a second put, and refuses slugs outside the rule', async () => {
    expect(await store.get('never-stored')).toBeUndefined();
    await store.put(issue('twice', '<p>one</p>'));
    await store.put(issue('twice', '<p>two</p>'));
    expect((await store.get('twice'))?.html).toBe('<p>two</p>');
    await expect(store.get('../secrets')).rejects.toThrow(/invalid issue slug/);
    await expect(store.put(issue('a b', '<p>x</p>'))).rejects.toThrow(/invalid issue slug/);
  });

  it('refuses an issue whose compressed form cannot fit in one item, writing nothing', async () => {
    // Incompressible HTML (random base64) larger than the limit.
    const html = randomBytes(Math.ceil(MAX_STORED_ISSUE_BYTES * 1.2)).toString('base64');
    const err = await store.put(issue('huge', html)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoredIssueTooLargeError);
    expect((err as Error).message).toMatch(/too large to store: \d+ KB of HTML and text \(\d+ KB compressed, limit 381 KB\)/);
    expect(await store.get('huge')).toBeUndefined();
  });

  it('a corrupt stored body fails loudly (the worker retries the message, then parks it), never as a blank email', async () => {
    await store.put(issue('corrupt', '<p>x</p>'));
    const { PutCommand } = await import('@aws-sdk/lib-dynamodb');
    await doc.send(new PutCommand({ TableName: emulators.tableName, Item: { pk: 'ISSUE#corrupt', sk: 'ISSUE', slug: 'corrupt', body: new TextEncoder().encode('{}') } }));
    await expect(store.get('corrupt')).rejects.toThrow(/incorrect header check/);
    // A body that unzips to JSON without the fields the worker needs, and an item without a body.
    const { gzipSync } = await import('node:zlib');
    await doc.send(new PutCommand({ TableName: emulators.tableName, Item: { pk: 'ISSUE#corrupt', sk: 'ISSUE', body: gzipSync('{"slug":"corrupt"}') } }));
    await expect(store.get('corrupt')).rejects.toThrow(/missing "subject"/);
    await doc.send(new PutCommand({ TableName: emulators.tableName, Item: { pk: 'ISSUE#corrupt', sk: 'ISSUE', slug: 'corrupt' } }));
    await expect(store.get('corrupt')).rejects.toThrow(/stored issue corrupt has no body/);
  });

  it('reads strongly consistent by default (the worker) and eventually consistent when asked (the archive)', async () => {
    const consistency: unknown[] = [];
    const spy = { send: (c: GetCommand) => (consistency.push(c.input.ConsistentRead), doc.send(c)) } as unknown as DynamoDBDocumentClient;
    await store.put(issue('eventual', '<p>x</p>'));
    expect(await new DynamoDbIssueStore(spy, emulators.tableName).get('eventual')).toEqual(issue('eventual', '<p>x</p>'));
    expect(await new DynamoDbIssueStore(spy, emulators.tableName, { consistentReads: false }).get('eventual')).toEqual(issue('eventual', '<p>x</p>'));
    expect(consistency).toEqual([true, false]);
  });
});
