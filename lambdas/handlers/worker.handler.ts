/**
 * Lambda entry point for the worker function (SQS, ReportBatchItemFailures). Wiring only.
 * Environment: TABLE_NAME (subscribers, campaigns, rendered issues), SENDER, PUBLIC_BASE_URL, TOKEN_SECRET_ARN, optional CONFIGURATION_SET,
 * SEND_RATE_FRACTION, MAX_SEND_RATE, WORKER_CONCURRENCY (the function's SQS maximum concurrency: each container
 * paces at 1/WORKER_CONCURRENCY of the account rate), MAX_RECEIVE_COUNT (the queue's redrive maxReceiveCount),
 * MAX_IDLE_RECEIVES (receives without progress before the worker pauses the campaign, default 5),
 * DEADLINE_MARGIN_MS (stop claiming with less than this left, default 20000), POWERTOOLS_SERVICE_NAME,
 * POWERTOOLS_LOG_LEVEL.
 */
import { SESv2Client } from '@aws-sdk/client-sesv2';
import * as z from 'zod/mini';
import { DynamoDbIssueStore } from '../adapters/dynamodb/dynamodb-issue-store.ts';
import { DynamoDbCampaignRepository } from '../adapters/dynamodb/dynamodb-campaign-repository.ts';
import { DynamoDbSubscriberRepository } from '../adapters/dynamodb/dynamodb-subscriber-repository.ts';
import { secretsManagerTokenKeys } from '../adapters/secrets/token-keys.ts';
import { SES_SEND_CLIENT_OPTIONS, SesMailer } from '../adapters/ses/ses-mailer.ts';
import { compilePersonalizer } from '../core/issue/personalize.ts';
import { systemClock } from '../core/ports.ts';
import { Pacer } from '../core/sending/rate-limiter.ts';
import { unsubscribeTokenSigner } from '../core/sending/unsubscribe-token.ts';
import { documentClient, secretsClient } from '../runtime/aws-clients.ts';
import { configFor, loadConfig, positiveInt } from '../runtime/config.ts';
import { log, metricCounts } from '../runtime/observability.ts';
import { createWorkerHandler } from './worker.ts';

const config = loadConfig(
  z.object({
    ...configFor({
      TABLE_NAME: true, SENDER: true, PUBLIC_BASE_URL: true, TOKEN_SECRET_ARN: true,
      CONFIGURATION_SET: true, SEND_RATE_FRACTION: true, MAX_SEND_RATE: true,
    }).shape,
    WORKER_CONCURRENCY: z._default(positiveInt, 1),
    MAX_RECEIVE_COUNT: z.optional(positiveInt),
    MAX_IDLE_RECEIVES: z._default(positiveInt, 5),
    DEADLINE_MARGIN_MS: z.optional(positiveInt),
  }),
);
// The worker's own SES client: one attempt per call and bounded timeouts (see SES_SEND_CLIENT_OPTIONS), so every
// error it sees is classifiable and a SendEmail always ends within the deadline margin.
const mailer = new SesMailer(new SESv2Client(SES_SEND_CLIENT_OPTIONS));

export const handler = createWorkerHandler(
  {
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
    // Powertools Logger: one JSON entry per event, each carrying its campaign id (an invocation can hold several).
    log,
    ...(config.CONFIGURATION_SET ? { configurationSet: config.CONFIGURATION_SET } : {}),
    ...(config.MAX_RECEIVE_COUNT ? { maxReceiveCount: config.MAX_RECEIVE_COUNT } : {}),
    maxIdleReceives: config.MAX_IDLE_RECEIVES,
    ...(config.DEADLINE_MARGIN_MS ? { deadlineMarginMs: config.DEADLINE_MARGIN_MS } : {}),
  },
  // Powertools Metrics (EMF): Sent, Failed, Unknown, Paused, Throttled, Unreachable, Deferred, Dropped per invocation.
  metricCounts(),
);
