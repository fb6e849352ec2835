/**
 * The send Lambda's `{s3Key}` input: issue Markdown uploaded to the bucket (`aws s3 cp issue.md s3://<bucket>/…`).
 * Rendered issues are not kept here but in the table (dynamodb-issue-store.ts).
 */
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';

function isMissing(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e?.name === 'NoSuchKey' || e?.name === 'NotFound' || e?.$metadata?.httpStatusCode === 404;
}

/** Reads one object as UTF-8 text, or undefined when there is no such object; other faults throw. */
export function s3MarkdownReader(client: S3Client, bucket: string): (key: string) => Promise<string | undefined> {
  return async (key) => {
    try {
      const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return await out.Body!.transformToString('utf-8');
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
  };
}
