/**
 * IssueStore on the single table: one item per rendered issue (`ISSUE#<slug>` / `ISSUE`), its JSON gzipped into a
 * binary attribute. The worker reads it once per container and campaign with one strongly consistent GetItem, so the
 * worker needs only the DynamoDB and SES clients: no S3 client in its bundle or its cold start (issue 8).
 *
 * Size: a DynamoDB item holds at most 400 KB. The seed issue's JSON (about 46 KB) gzips to about 9 KB; an issue
 * whose compressed JSON would not fit (megabytes of HTML, far past what mail clients show: Gmail clips at 102 KB) is
 * refused with {@link StoredIssueTooLargeError} and nothing is written.
 */
import { promisify } from 'node:util';
import { gunzip, gzip } from 'node:zlib';
import { GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { IssueStore, StoredIssue } from '../../core/ports.ts';
import { validIssueSlug, parseStoredIssue, StoredIssueTooLargeError } from '../../core/sending/stored-issue.ts';
import { keys } from './table.ts';

const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);

/** Room for the body inside DynamoDB's 400 KB item limit, with the keys and the other attributes. */
export const MAX_STORED_ISSUE_BYTES = 390_000;

export class DynamoDbIssueStore implements IssueStore {
  /**
   * `doc` must drop undefined values (DOCUMENT_CLIENT_OPTIONS in runtime/client-options.ts). `consistentReads`: the
   * worker and the send function read strongly (a worker may start right after the store); the archive need not
   * (an issue is stored before its campaign exists), and eventually consistent reads cost half.
   */
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly options: { consistentReads: boolean } = { consistentReads: true },
  ) {}

  async put(issue: StoredIssue): Promise<void> {
    validIssueSlug(issue.slug); // refuses a malformed slug, as every IssueStore does
    const json = JSON.stringify(issue);
    const body = await gzipAsync(json);
    if (body.byteLength > MAX_STORED_ISSUE_BYTES) throw new StoredIssueTooLargeError(issue.slug, Buffer.byteLength(json), body.byteLength, MAX_STORED_ISSUE_BYTES);
    await this.doc.send(
      new PutCommand({
        TableName: this.tableName,
        // `bytes` (the JSON's size) is for whoever inspects the table; the code reads only `body`.
        Item: { ...keys.issue(issue.slug), slug: issue.slug, body, bytes: Buffer.byteLength(json) },
      }),
    );
  }

  async get(slug: string): Promise<StoredIssue | undefined> {
    validIssueSlug(slug);
    const out = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: keys.issue(slug), ConsistentRead: this.options.consistentReads }));
    const body = out.Item?.body as Uint8Array | undefined;
    if (!out.Item) return undefined;
    if (!(body instanceof Uint8Array)) throw new Error(`stored issue ${slug} has no body`);
    return parseStoredIssue((await gunzipAsync(body)).toString('utf8'));
  }
}
