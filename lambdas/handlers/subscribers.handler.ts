/**
 * Lambda entry point for the subscribers HTTP API. Wiring only: configuration and SDK clients at module scope
 * (reused by warm invocations); the logic lives in subscribers.ts.
 * Environment: TABLE_NAME, SENDER, PUBLIC_BASE_URL, TOKEN_SECRET_ARN, optional CONFIGURATION_SET, and
 * TEMPLATES_DIR when the bundle keeps templates/ somewhere other than the repository layout. The welcome email
 * (content/welcome.md, precompiled into the bundle at synth) also reads POSTAL_ADDRESS; without it the welcome
 * email is not sent (logged), and confirmations still succeed. Optional POWERTOOLS_SERVICE_NAME, POWERTOOLS_LOG_LEVEL
 * (runtime/observability.ts): faults answered 502 and welcome emails not sent are logged as ERROR entries with their
 * cause, refused requests (4xx) as WARN entries with their status, method, path and reason.
 */
import { DynamoDbSubscriberRepository } from '../adapters/dynamodb/dynamodb-subscriber-repository.ts';
import { secretsManagerTokenKeys } from '../adapters/secrets/token-keys.ts';
import { SesMailer } from '../adapters/ses/ses-mailer.ts';
import { systemClock } from '../core/ports.ts';
import { documentClient, secretsClient, sesClient } from '../runtime/aws-clients.ts';
import { configFor, loadConfig } from '../runtime/config.ts';
import { log, logError } from '../runtime/observability.ts';
import { buildSubscribersHandler } from './subscribers.ts';
import { loadWelcomeEmail } from './http/welcome-email.ts';

const config = loadConfig(
  configFor({ TABLE_NAME: true, SENDER: true, PUBLIC_BASE_URL: true, TOKEN_SECRET_ARN: true, CONFIGURATION_SET: true }),
);

export const handler = buildSubscribersHandler({
  repo: new DynamoDbSubscriberRepository(documentClient(), config.TABLE_NAME),
  mailer: new SesMailer(sesClient()),
  tokenKeys: secretsManagerTokenKeys(secretsClient(), config.TOKEN_SECRET_ARN),
  clock: systemClock,
  sender: config.SENDER,
  publicBaseUrl: config.PUBLIC_BASE_URL,
  ...(config.CONFIGURATION_SET ? { configurationSet: config.CONFIGURATION_SET } : {}),
  ...(process.env.TEMPLATES_DIR ? { templatesDir: process.env.TEMPLATES_DIR } : {}),
  welcome: () => loadWelcomeEmail(),
  logError,
  log,
});
