/**
 * The S3 issue store and the SQS queue adapters. The local stack has no S3 or SQS emulator (it uses the data
 * directory and an in-process queue), so these run against aws-sdk-client-mock: every test title says so.
 */
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { S3IssueStore } from '../../lambdas/adapters/s3/s3-issue-store.ts';
import { SqsQueue } from '../../lambdas/adapters/sqs/sqs-queue.ts';
import type { StoredIssue } from '../../lambdas/core/ports.ts';

const s3 = mockClient(S3Client);
const sqs = mockClient(SQSClient);
afterEach(() => {
  s3.reset();
  sqs.reset();
});

const issue: StoredIssue = {
  slug: 'issue-31', subject: 'Akira 的机器学习新闻', preheader: 'p', title: 't', lang: 'zh', html: '<p>{{name}}</p>', text: 'hi',
};
const body = (text: string) => ({ Body: { transformToString: async () => text } }) as never;

describe('S3IssueStore', () => {
  it('(fake S3) stores an issue as UTF-8 JSON under issues/<slug>.json and reads it back', async () => {
    // Prepare
    const store = new S3IssueStore(new S3Client({ region: 'us-east-1' }), 'bucket');
    s3.on(PutObjectCommand).resolves({});
    // Act
    await store.put(issue);
    const put = s3.commandCalls(PutObjectCommand)[0]!.args[0].input;
    s3.on(GetObjectCommand, { Bucket: 'bucket', Key: 'issues/issue-31.json' }).resolves(body(String(put.Body)));
    // Assess
    expect(put).toMatchObject({ Bucket: 'bucket', Key: 'issues/issue-31.json', ContentType: 'application/json; charset=utf-8' });
    expect(await store.get('issue-31')).toEqual(issue);
  });

  it('(fake S3) reads a missing object as undefined, rethrows other faults, and refuses slugs that escape the prefix', async () => {
    const store = new S3IssueStore(new S3Client({ region: 'us-east-1' }), 'bucket');
    s3.on(GetObjectCommand, { Key: 'issues/gone.json' }).rejects(Object.assign(new Error('gone'), { name: 'NoSuchKey' }));
    s3.on(GetObjectCommand, { Key: 'issues/denied.json' }).rejects(Object.assign(new Error('Access Denied'), { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } }));
    s3.on(GetObjectCommand, { Key: 'issues/broken.json' }).resolves(body('{"slug":"broken"}'));
    expect(await store.get('gone')).toBeUndefined();
    await expect(store.get('denied')).rejects.toMatchObject({ name: 'AccessDenied' });
    await expect(store.get('broken')).rejects.toThrow(/missing "subject"/);
    await expect(store.get('../secrets')).rejects.toThrow(/invalid issue slug/);
    expect(s3.commandCalls(GetObjectCommand).map((c) => c.args[0].input.Key)).not.toContain('issues/../secrets.json');
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
