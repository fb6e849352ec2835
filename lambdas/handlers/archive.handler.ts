/**
 * Lambda entry point for the web archive (GET /archive, /archive/feed.xml, /archive/<slug>). Wiring only:
 * configuration and SDK clients at module scope (reused by warm invocations); the logic lives in archive.ts.
 * Environment: TABLE_NAME (campaigns and rendered issues, read-only), PUBLIC_BASE_URL,
 * SENDER (its display name titles the pages and the feed), and TEMPLATES_DIR when the bundle keeps templates/ somewhere other than the repository layout.
 * Optional POWERTOOLS_SERVICE_NAME, POWERTOOLS_LOG_LEVEL: a fault answered 502 is one ERROR entry with its cause
 * (runtime/observability.ts); unknown and malformed addresses are ordinary 404 and 400 pages, not logged.
 */
import { DynamoDbCampaignRepository } from '../adapters/dynamodb/dynamodb-campaign-repository.ts';
import { DynamoDbIssueStore } from '../adapters/dynamodb/dynamodb-issue-store.ts';
import { documentClient } from '../runtime/aws-clients.ts';
import { configFor, loadConfig } from '../runtime/config.ts';
import { logError } from '../runtime/observability.ts';
import { displayName } from '../core/subscribers/email.ts';
import { createArchiveHandler } from './archive.ts';

const config = loadConfig(configFor({ TABLE_NAME: true, PUBLIC_BASE_URL: true, SENDER: true }));

export const handler = createArchiveHandler({
  campaigns: new DynamoDbCampaignRepository(documentClient(), config.TABLE_NAME),
  issues: new DynamoDbIssueStore(documentClient(), config.TABLE_NAME, { consistentReads: false }),
  publicBaseUrl: config.PUBLIC_BASE_URL,
  newsletterName: displayName(config.SENDER),
  ...(process.env.TEMPLATES_DIR ? { templatesDir: process.env.TEMPLATES_DIR } : {}),
  logError,
});
