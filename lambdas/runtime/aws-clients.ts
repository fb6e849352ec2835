/**
 * AWS SDK clients, created once per Lambda container (module scope, memoized) so warm invocations reuse them.
 * Each is created only when a function first asks for it, so esbuild can leave unused SDKs out of a bundle
 * when a handler never imports their factory.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DOCUMENT_CLIENT_OPTIONS } from './client-options.ts';

let ddb: DynamoDBClient | undefined;
let doc: DynamoDBDocumentClient | undefined;
let ses: SESv2Client | undefined;
let secrets: SecretsManagerClient | undefined;

export function dynamoClient(): DynamoDBClient {
  ddb ??= new DynamoDBClient({});
  return ddb;
}

export { DOCUMENT_CLIENT_OPTIONS };

/** DocumentClient over {@link dynamoClient}: plain JS values in and out. */
export function documentClient(): DynamoDBDocumentClient {
  doc ??= DynamoDBDocumentClient.from(dynamoClient(), DOCUMENT_CLIENT_OPTIONS);
  return doc;
}

/**
 * SES for the subscribers function (confirmation and welcome emails) and send's test mode: bounded, so a hung or
 * throttled SES fails the call well inside the 10 s function timeout (two attempts of at most 1 s to connect and
 * 3 s to answer) instead of timing the whole request out with a 5xx after the subscriber was already confirmed.
 */
export const SES_HTTP_CLIENT_OPTIONS = {
  maxAttempts: 2,
  requestHandler: { connectionTimeout: 1_000, requestTimeout: 3_000, throwOnRequestTimeout: true },
} as const;

export function sesClient(): SESv2Client {
  ses ??= new SESv2Client(SES_HTTP_CLIENT_OPTIONS);
  return ses;
}

export function secretsClient(): SecretsManagerClient {
  secrets ??= new SecretsManagerClient({});
  return secrets;
}
