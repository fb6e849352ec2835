/**
 * Lambda entry point for the worker function (SQS, ReportBatchItemFailures). Wiring only.
 * Environment: TABLE_NAME (subscribers, campaigns, rendered issues), SENDER, PUBLIC_BASE_URL, TOKEN_SECRET_ARN, optional CONFIGURATION_SET,
 * SEND_RATE_FRACTION, MAX_SEND_RATE, WORKER_CONCURRENCY (the function's SQS maximum concurrency: each container
 * paces at 1/WORKER_CONCURRENCY of the account rate), MAX_RECEIVE_COUNT (the queue's redrive maxReceiveCount).
 */
import * as z from 'zod/mini';
import { DynamoDbIssueStore } from '../adapters/dynamodb/dynamodb-issue-store.ts';
import { DynamoDbCampaignRepository } from '../adapters/dynamodb/dynamodb-campaign-repository.ts';
import { DynamoDbSubscriberRepository } from '../adapters/dynamodb/dynamodb-subscriber-repository.ts';
import { secretsManagerTokenKeys } from '../adapters/secrets/token-keys.ts';
import { SesMailer } from '../adapters/ses/ses-mailer.ts';
import { compilePersonalizer } from '../core/issue/personalize.ts';
import { systemClock } from '../core/ports.ts';
import { Pacer } from '../core/sending/rate-limiter.ts';
import { unsubscribeTokenSigner } from '../core/sending/unsubscribe-token.ts';
import { documentClient, secretsClient, sesClient } from '../runtime/aws-clients.ts';
import { configFor, loadConfig, positiveInt } from '../runtime/config.ts';
import { createWorkerHandler } from './worker.ts';

const config = loadConfig(
  z.object({
    ...configFor({
      TABLE_NAME: true, SENDER: true, PUBLIC_BASE_URL: true, TOKEN_SECRET_ARN: true,
      CONFIGURATION_SET: true, SEND_RATE_FRACTION: true, MAX_SEND_RATE: true,
    }).shape,
    WORKER_CONCURRENCY: z._default(positiveInt, 1),
    MAX_RECEIVE_COUNT: z.optional(positiveInt),
  }),
);
const mailer = new SesMailer(sesClient());

export const handler = createWorkerHandler({
  subscribers: new DynamoDbSubscriberRepository(documentClient(), config.TABLE_NAME),
  campaigns: new DynamoDbCampaignRepository(documentClient(), config.TABLE_NAME),
  mailer,
  issues: new DynamoDbIssueStore(documentClient(), config.TABLE_NAME),
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
