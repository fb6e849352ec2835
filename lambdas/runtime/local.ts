/**
 * Wiring for the local runtime: the same adapters as on AWS, pointed at the emulators
 * (dynalite, aws-ses-v2-local) with fake credentials, and token keys from DATA_DIR.
 * Used by the local stack, the CLI (against a running stack) and the integration tests.
 */
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDbSubscriberRepository } from '../adapters/dynamodb/dynamodb-subscriber-repository.ts';
import { loadOrCreateLocalTokenKeys } from '../adapters/secrets/token-keys.ts';
import { SesMailer } from '../adapters/ses/ses-mailer.ts';
import { systemClock, type Clock, type TokenKeys } from '../core/ports.ts';
import { displayName } from '../core/subscribers/email.ts';
import type { WelcomeEmailLoader } from '../core/subscribers/welcome.ts';
import { LOCAL_CREDENTIALS, LOCAL_HTTP_AGENT, LOCAL_REGION, localDynamoClient } from '../local/emulators.ts';
import { DOCUMENT_CLIENT_OPTIONS } from './aws-clients.ts';

// The SDK warns once per process that Node 20 support ends in 2027; locally that is noise.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

export interface LocalEndpoints {
  dynamoEndpoint: string;
  sesEndpoint: string;
  tableName: string;
}

export function localSesClient(endpoint: string): SESv2Client {
  return new SESv2Client({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS, maxAttempts: 2, requestHandler: { httpAgent: LOCAL_HTTP_AGENT } });
}

export interface LocalDeps {
  dynamo: DynamoDBClient;
  doc: DynamoDBDocumentClient;
  ses: SESv2Client;
  subscribers: DynamoDbSubscriberRepository;
  mailer: SesMailer;
  clock: Clock;
  tableName: string;
  /** Close the SDK clients' sockets. */
  destroy(): void;
}

/** SDK clients and adapters for a running set of emulators. */
export function localDeps(endpoints: LocalEndpoints, clock: Clock = systemClock): LocalDeps {
  const dynamo = localDynamoClient(endpoints.dynamoEndpoint);
  const doc = DynamoDBDocumentClient.from(dynamo, DOCUMENT_CLIENT_OPTIONS);
  const ses = localSesClient(endpoints.sesEndpoint);
  return {
    dynamo,
    doc,
    ses,
    subscribers: new DynamoDbSubscriberRepository(doc, endpoints.tableName, () => clock.now()),
    mailer: new SesMailer(ses),
    clock,
    tableName: endpoints.tableName,
    destroy() {
      dynamo.destroy();
      ses.destroy();
    },
  };
}

/** Local token keys (DATA_DIR/token-keys.json, created on first use) as the async loader the service takes. */
export function localTokenKeys(dataDir: string): () => Promise<TokenKeys> {
  const keys = loadOrCreateLocalTokenKeys(dataDir);
  return async () => keys;
}

/** The footer address of local emails when POSTAL_ADDRESS is not set. */
export const LOCAL_POSTAL_ADDRESS = 'Newsletter, 1 Example Street, 00000 Example City';

/**
 * The welcome email for the local stack: content/welcome.md (or `file`) rendered on first use, with the local
 * sender, archive URL and postal address; undefined when there is no such file. The renderer (and MJML) load only
 * when the first subscriber is confirmed.
 */
export function localWelcomeEmail(settings: { sender: string; publicBaseUrl: string; postalAddress?: string; file?: string }): WelcomeEmailLoader {
  return async () => {
    const { loadWelcomeEmail } = await import('../handlers/http/welcome-email.ts');
    return loadWelcomeEmail({
      senderName: displayName(settings.sender),
      archiveUrl: `${settings.publicBaseUrl.replace(/\/+$/, '')}/archive`,
      postalAddress: settings.postalAddress ?? process.env.POSTAL_ADDRESS ?? LOCAL_POSTAL_ADDRESS,
      ...(settings.file ? { file: settings.file } : {}),
    });
  };
}
