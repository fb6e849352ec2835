/**
 * Lambda entry point for the web archive (GET /archive, /archive/feed.xml, /archive/<slug>). Wiring only:
 * configuration and SDK clients at module scope (reused by warm invocations); the logic lives in archive.ts.
 * Environment: TABLE_NAME (campaigns, read-only), BUCKET_NAME (rendered issues, read-only), PUBLIC_BASE_URL,
 * SENDER (its display name titles the pages and the feed), and TEMPLATES_DIR when the bundle keeps templates/ somewhere other than the repository layout.
 */
import { S3Client } from '@aws-sdk/client-s3';
import { DynamoDbCampaignRepository } from '../adapters/dynamodb/dynamodb-campaign-repository.ts';
import { S3IssueStore } from '../adapters/s3/s3-issue-store.ts';
import { documentClient } from '../runtime/aws-clients.ts';
import { configSchema, loadConfig } from '../runtime/config.ts';
import { displayName } from '../core/subscribers/email.ts';
import { createArchiveHandler } from './archive.ts';

const config = loadConfig(configSchema.pick({ TABLE_NAME: true, BUCKET_NAME: true, PUBLIC_BASE_URL: true, SENDER: true }));

export const handler = createArchiveHandler({
  campaigns: new DynamoDbCampaignRepository(documentClient(), config.TABLE_NAME),
  issues: new S3IssueStore(new S3Client({}), config.BUCKET_NAME),
  publicBaseUrl: config.PUBLIC_BASE_URL,
  newsletterName: displayName(config.SENDER),
  ...(process.env.TEMPLATES_DIR ? { templatesDir: process.env.TEMPLATES_DIR } : {}),
});
