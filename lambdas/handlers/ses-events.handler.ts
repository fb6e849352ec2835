/**
 * Lambda entry point for the SES events function (EventBridge rule target). Wiring only. Environment: TABLE_NAME;
 * optional POWERTOOLS_SERVICE_NAME, POWERTOOLS_LOG_LEVEL (see runtime/observability.ts).
 */
import { DynamoDbCampaignRepository } from '../adapters/dynamodb/dynamodb-campaign-repository.ts';
import { DynamoDbSubscriberRepository } from '../adapters/dynamodb/dynamodb-subscriber-repository.ts';
import { systemClock } from '../core/ports.ts';
import { documentClient } from '../runtime/aws-clients.ts';
import { configFor, loadConfig } from '../runtime/config.ts';
import { log, metricCounts } from '../runtime/observability.ts';
import { createSesEventsHandler } from './ses-events.ts';

const config = loadConfig(configFor({ TABLE_NAME: true }));

export const handler = createSesEventsHandler(
  {
    subscribers: new DynamoDbSubscriberRepository(documentClient(), config.TABLE_NAME),
    campaigns: new DynamoDbCampaignRepository(documentClient(), config.TABLE_NAME),
    clock: systemClock,
  },
  { log, counts: metricCounts() },
);
