/**
 * IssueStore on S3: rendered issues as JSON under `issues/<slug>.json`, and issue Markdown read by key for the
 * send Lambda's `{s3Key}` input.
 */
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { IssueStore, StoredIssue } from '../../core/ports.ts';
import { issueKey, parseStoredIssue } from '../../core/sending/stored-issue.ts';

function isMissing(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e?.name === 'NoSuchKey' || e?.name === 'NotFound' || e?.$metadata?.httpStatusCode === 404;
}

export class S3IssueStore implements IssueStore {
  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
  ) {}

  async put(issue: StoredIssue): Promise<void> {
    await this.client.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: issueKey(issue.slug),
        Body: JSON.stringify(issue),
        ContentType: 'application/json; charset=utf-8',
      }),
    );
  }

  async get(slug: string): Promise<StoredIssue | undefined> {
    const text = await this.readText(issueKey(slug));
    return text === undefined ? undefined : parseStoredIssue(text);
  }

  /** Raw UTF-8 text of an object, or undefined when absent. */
  async readText(key: string): Promise<string | undefined> {
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      return await out.Body!.transformToString('utf-8');
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
  }
}
