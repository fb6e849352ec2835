/**
 * The S3 Markdown reader and the SQS queue adapters. The local stack has no S3 or SQS emulator (it uses the data
 * directory and an in-process queue), so these run against aws-sdk-client-mock: every test title says so.
 */
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { s3MarkdownReader } from '../../lambdas/adapters/s3/s3-markdown.ts';
import { SqsQueue } from '../../lambdas/adapters/sqs/sqs-queue.ts';

const s3 = mockClient(S3Client);
const sqs = mockClient(SQSClient);
afterEach(() => {
  s3.reset();
  sqs.reset();
});

const body = (text: string) => ({ Body: { transformToString: async () => text } }) as never;

describe('s3MarkdownReader (the send function\'s {s3Key} input)', () => {
  it('(fake S3) reads an object as UTF-8 text, a missing one as undefined, and rethrows other faults', async () => {
    // Prepare
    const read = s3MarkdownReader(new S3Client({ region: 'us-east-1' }), 'bucket');
    s3.on(GetObjectCommand, { Bucket: 'bucket', Key: 'in/031.md' }).resolves(body('# Akira 的机器学习新闻'));
    s3.on(GetObjectCommand, { Key: 'in/gone.md' }).rejects(Object.assign(new Error('gone'), { name: 'NoSuchKey' }));
    s3.on(GetObjectCommand, { Key: 'in/denied.md' }).rejects(Object.assign(new Error('Access Denied'), { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } }));
    // Act + Assess
    expect(await read('in/031.md')).toBe('# Akira 的机器学习新闻');
    expect(await read('in/gone.md')).toBeUndefined();
    await expect(read('in/denied.md')).rejects.toMatchObject({ name: 'AccessDenied' });
  });
});

describe('SqsQueue', () => {
  it('(fake SQS) sends one batch and returns the ids SQS reports in Failed[] for the caller to retry', async () => {
    // Prepare
    const queue = new SqsQueue(new SQSClient({ region: 'us-east-1' }), 'https://sqs.example/q');
    sqs.on(SendMessageBatchCommand).resolves({
      Successful: [{ Id: 'a', MessageId: 'm1', MD5OfMessageBody: 'x' }],
      Failed: [{ Id: 'b', Code: 'InternalError', SenderFault: false }],
    });
    // Act
    const out = await queue.sendBatch([{ id: 'a', body: '1' }, { id: 'b', body: '2' }]);
    // Assess
    expect(out).toEqual({ failedIds: ['b'] });
    expect(sqs.commandCalls(SendMessageBatchCommand)[0]!.args[0].input).toEqual({
      QueueUrl: 'https://sqs.example/q',
      Entries: [{ Id: 'a', MessageBody: '1' }, { Id: 'b', MessageBody: '2' }],
    });
  });

  it('(fake SQS) sends nothing for an empty batch and lets a whole-call failure throw', async () => {
    const queue = new SqsQueue(new SQSClient({ region: 'us-east-1' }), 'https://sqs.example/q');
    expect(await queue.sendBatch([])).toEqual({ failedIds: [] });
    expect(sqs.commandCalls(SendMessageBatchCommand)).toHaveLength(0);
    sqs.on(SendMessageBatchCommand).rejects(Object.assign(new Error('slow down'), { name: 'RequestThrottled' }));
    await expect(queue.sendBatch([{ id: 'a', body: '1' }])).rejects.toMatchObject({ name: 'RequestThrottled' });
  });
});
