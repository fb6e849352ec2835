/**
 * Lambda entry point for the worker function (SQS, ReportBatchItemFailures). Wiring only.
 * Environment: TABLE_NAME, BUCKET_NAME, SENDER, PUBLIC_BASE_URL, TOKEN_SECRET_ARN, optional CONFIGURATION_SET,
 * SEND_RATE_FRACTION, MAX_SEND_RATE, WORKER_CONCURRENCY (the function's SQS maximum concurrency: each container
 * paces at 1/WORKER_CONCURRENCY of the account rate), MAX_RECEIVE_COUNT (the queue's redrive maxReceiveCount).
 */
import { S3Client } from '@aws-sdk/client-s3';
// A namespace import lets esbuild tree-shake zod; `import { z }` kept all its locales (~360 KB in each bundle).
import * as z from 'zod';
import { DynamoDbCampaignRepository } from '../adapters/dynamodb/dynamodb-campaign-repository.ts';
import { DynamoDbSubscriberRepository } from '../adapters/dynamodb/dynamodb-subscriber-repository.ts';
import { S3IssueStore } from '../adapters/s3/s3-issue-store.ts';
import { secretsManagerTokenKeys } from '../adapters/secrets/token-keys.ts';
import { SesMailer } from '../adapters/ses/ses-mailer.ts';
import { compilePersonalizer } from '../core/issue/personalize.ts';
import { systemClock } from '../core/ports.ts';
import { Pacer } from '../core/sending/rate-limiter.ts';
import { unsubscribeTokenSigner } from '../core/sending/unsubscribe-token.ts';
import { documentClient, secretsClient, sesClient } from '../runtime/aws-clients.ts';
import { configSchema, loadConfig } from '../runtime/config.ts';
import { createWorkerHandler } from './worker.ts';

const config = loadConfig(
  configSchema
    .pick({
      TABLE_NAME: true, BUCKET_NAME: true, SENDER: true, PUBLIC_BASE_URL: true, TOKEN_SECRET_ARN: true,
      CONFIGURATION_SET: true, SEND_RATE_FRACTION: true, MAX_SEND_RATE: true,
    })
    .extend({
      WORKER_CONCURRENCY: z.coerce.number().int().positive().default(1),
      MAX_RECEIVE_COUNT: z.coerce.number().int().positive().optional(),
    }),
);
const mailer = new SesMailer(sesClient());

export const handler = createWorkerHandler({
  subscribers: new DynamoDbSubscriberRepository(documentClient(), config.TABLE_NAME),
  campaigns: new DynamoDbCampaignRepository(documentClient(), config.TABLE_NAME),
  mailer,
  issues: new S3IssueStore(new S3Client({}), config.BUCKET_NAME),
  pacer: new Pacer(async () => (await mailer.getSendQuota()).maxSendRate, {
    fraction: config.SEND_RATE_FRACTION,
    share: 1 / config.WORKER_CONCURRENCY,
    ...(config.MAX_SEND_RATE ? { fixedMaxRate: config.MAX_SEND_RATE } : {}),
  }),
  compilePersonalizer,
  clock: systemClock,
  sender: config.SENDER,
  publicBaseUrl: config.PUBLIC_BASE_URL,
  unsubscribeToken: unsubscribeTokenSigner(secretsManagerTokenKeys(secretsClient(), config.TOKEN_SECRET_ARN), systemClock),
  ...(config.CONFIGURATION_SET ? { configurationSet: config.CONFIGURATION_SET } : {}),
  ...(config.MAX_RECEIVE_COUNT ? { maxReceiveCount: config.MAX_RECEIVE_COUNT } : {}),
});
