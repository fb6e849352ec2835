/**
 * Lambda entry point for the send function. Wiring only; the logic is in send.ts and core/sending.
 * Environment: TABLE_NAME, BUCKET_NAME, QUEUE_URL, SENDER, PUBLIC_BASE_URL, POSTAL_ADDRESS, TOKEN_SECRET_ARN,
 * optional CONFIGURATION_SET, SEND_RATE_FRACTION, MAX_SEND_RATE, and the worker's deployment, which sizes the queue
 * messages to the paced rate (core/sending/message-size.ts): WORKER_CONCURRENCY (its SQS maximum concurrency,
 * default 1), WORKER_TIMEOUT_SECONDS (default 300), WORKER_BATCH_SIZE (messages per invocation, default 10).
 * Optional POWERTOOLS_SERVICE_NAME, POWERTOOLS_LOG_LEVEL: Powertools Logger entries carrying the campaign id, and
 * the Enqueued metric (EMF), see send.ts and runtime/observability.ts.
 */
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import * as z from 'zod/mini';
import { DynamoDbIssueStore } from '../adapters/dynamodb/dynamodb-issue-store.ts';
import { DynamoDbCampaignRepository } from '../adapters/dynamodb/dynamodb-campaign-repository.ts';
import { DynamoDbSubscriberRepository } from '../adapters/dynamodb/dynamodb-subscriber-repository.ts';
import { secretsManagerTokenKeys } from '../adapters/secrets/token-keys.ts';
import { SesMailer } from '../adapters/ses/ses-mailer.ts';
import { s3MarkdownReader } from '../adapters/s3/s3-markdown.ts';
import { SqsQueue } from '../adapters/sqs/sqs-queue.ts';
import { compilePersonalizer } from '../core/issue/personalize.ts';
import { systemClock } from '../core/ports.ts';
import { renderForSend } from '../core/sending/render-for-send.ts';
import { unsubscribeTokenSigner } from '../core/sending/unsubscribe-token.ts';
import { documentClient, secretsClient, sesClient } from '../runtime/aws-clients.ts';
import { configFor, loadConfig, positiveInt } from '../runtime/config.ts';
import { log, metricCounts, withLogKeys } from '../runtime/observability.ts';
import { createSendHandler } from './send.ts';

const config = loadConfig(
  z.object({
    ...configFor({
      TABLE_NAME: true, BUCKET_NAME: true, QUEUE_URL: true, SENDER: true, PUBLIC_BASE_URL: true, POSTAL_ADDRESS: true,
      TOKEN_SECRET_ARN: true, CONFIGURATION_SET: true, SEND_RATE_FRACTION: true, MAX_SEND_RATE: true,
    }).shape,
    WORKER_CONCURRENCY: z._default(positiveInt, 1),
    WORKER_TIMEOUT_SECONDS: z._default(positiveInt, 300),
    WORKER_BATCH_SIZE: z._default(positiveInt, 10),
  }),
);
const mailer = new SesMailer(sesClient());

export const handler = createSendHandler({
  render: renderForSend({ postalAddress: config.POSTAL_ADDRESS }),
  loadMarkdown: s3MarkdownReader(new S3Client({}), config.BUCKET_NAME),
  issues: new DynamoDbIssueStore(documentClient(), config.TABLE_NAME),
  campaigns: new DynamoDbCampaignRepository(documentClient(), config.TABLE_NAME),
  subscribers: new DynamoDbSubscriberRepository(documentClient(), config.TABLE_NAME),
  queue: new SqsQueue(new SQSClient({}), config.QUEUE_URL),
  mailer,
  compilePersonalizer,
  sendRate: async () =>
    (config.MAX_SEND_RATE ?? (await mailer.getSendQuota()).maxSendRate) * config.SEND_RATE_FRACTION,
  messageSizing: {
    workerConcurrency: config.WORKER_CONCURRENCY,
    workerTimeoutSeconds: config.WORKER_TIMEOUT_SECONDS,
    messagesPerInvocation: config.WORKER_BATCH_SIZE,
  },
  clock: systemClock,
  sender: config.SENDER,
  publicBaseUrl: config.PUBLIC_BASE_URL,
  unsubscribeToken: unsubscribeTokenSigner(secretsManagerTokenKeys(secretsClient(), config.TOKEN_SECRET_ARN), systemClock),
  ...(config.CONFIGURATION_SET ? { configurationSet: config.CONFIGURATION_SET } : {}),
}, { log, withKeys: withLogKeys, counts: metricCounts() });
