/**
 * Embedded AWS emulators for the local stack and the integration tests:
 * dynalite (DynamoDB, pure JS, on disk) and aws-ses-v2-local (SES v2 with a web inbox and a `GET /store` API).
 * Both run in this process. Pass port 0 to get a free port (tests).
 */
import { mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { tableDefinition } from '../adapters/dynamodb/table.ts';

export interface EmulatorOptions {
  /** Directory for dynalite's LevelDB files. Omit for an in-memory database. */
  dynamoPath?: string;
  dynamoPort?: number;
  sesPort?: number;
  tableName?: string;
  /** SES MaxSendRate the emulator's GetAccount reports (emails per second). */
  maxSendRate?: number;
  host?: string;
}

export interface Emulators {
  dynamoEndpoint: string;
  sesEndpoint: string;
  dynamoPort: number;
  sesPort: number;
  tableName: string;
  stop(): Promise<void>;
}

/** Fake credentials: the emulators only check that a signature is present. */
export const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };
export const LOCAL_REGION = 'us-east-1';

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve((server.address() as AddressInfo).port));
  });
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections?.();
    server.close(() => resolve());
  });
}

export function sesAccountJson(maxSendRate: number): string {
  return JSON.stringify({
    DedicatedIpAutoWarmupEnabled: false,
    Details: {
      AdditionalContactEmailAddresses: [],
      ContactLanguage: 'EN',
      MailType: 'MARKETING',
      ReviewDetails: { CaseId: 'local', Status: 'GRANTED' },
      UseCaseDescription: 'local',
      WebsiteURL: 'http://127.0.0.1',
    },
    EnforcementStatus: 'HEALTHY',
    ProductionAccessEnabled: true,
    SendingEnabled: true,
    SendQuota: { Max24HourSend: 1_000_000, MaxSendRate: maxSendRate, SentLast24Hours: 0 },
    SuppressionAttributes: { SuppressedReasons: [] },
  });
}

/** Create the table when it does not exist yet (idempotent). */
export async function ensureTable(client: DynamoDBClient, tableName: string): Promise<void> {
  try {
    await client.send(new DescribeTableCommand({ TableName: tableName }));
    return;
  } catch (err) {
    if ((err as Error).name !== 'ResourceNotFoundException') throw err;
  }
  try {
    await client.send(new CreateTableCommand(tableDefinition(tableName)));
  } catch (err) {
    if ((err as Error).name !== 'ResourceInUseException') throw err;
  }
  await waitForActive(client, tableName);
}

/** CreateTable returns while the table is still CREATING (dynalite on disk, DynamoDB Local): wait for ACTIVE. */
async function waitForActive(client: DynamoDBClient, tableName: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    const indexesReady = (Table?.GlobalSecondaryIndexes ?? []).every((i) => !i.IndexStatus || i.IndexStatus === 'ACTIVE');
    if (Table?.TableStatus === 'ACTIVE' && indexesReady) return;
    if (Date.now() > deadline) throw new Error(`Table ${tableName} is still ${Table?.TableStatus} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Keep-alive sockets to the emulators (and the local HTTP API) that the client drops before the server does. The
 * servers close an idle socket after 5 s and say so (`Keep-Alive: timeout=5`); Node 20's agent honours that hint,
 * minus a one-second margin, only when the agent has a timeout of its own. Without one, a request sent just as the
 * server closes the socket fails with ECONNRESET: the SDK retries it for most calls, but the single-attempt SES
 * client (SES_SEND_CLIENT_OPTIONS) must treat it as in doubt.
 */
export const LOCAL_HTTP_AGENT = { keepAlive: true, timeout: 60_000 } as const;

export function localDynamoClient(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({
    endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS, maxAttempts: 3, requestHandler: { httpAgent: LOCAL_HTTP_AGENT },
  });
}

export async function startEmulators(opts: EmulatorOptions = {}): Promise<Emulators> {
  const host = opts.host ?? '127.0.0.1';
  const tableName = opts.tableName ?? 'newsletter';
  if (opts.dynamoPath) mkdirSync(opts.dynamoPath, { recursive: true });
  // Loaded here, not at module scope: the CLI imports this module for its client settings only, and the two
  // emulators cost about a second to load.
  const [{ default: dynalite }, { default: sesModule }] = await Promise.all([import('dynalite'), import('aws-ses-v2-local')]);
  const dyn = dynalite({
    ...(opts.dynamoPath ? { path: opts.dynamoPath } : {}),
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
  }) as Server;
  const dynamoPort = await listen(dyn, opts.dynamoPort ?? 0, host);

  // aws-ses-v2-local's GetAccount answers from this variable, read per request.
  process.env.AWS_SES_ACCOUNT = sesAccountJson(opts.maxSendRate ?? 200);
  // CommonJS module with an `exports.default`: unwrap whichever shape the loader gives us.
  type SesServer = (config?: { port?: number; host?: string }) => Promise<Server>;
  const mod = sesModule as unknown as SesServer & { default?: SesServer };
  const sesServer: SesServer = mod.default ?? mod;
  let ses: Server;
  let sesPort: number;
  try {
    ses = await sesServer({ port: opts.sesPort ?? 0, host });
    sesPort = (ses.address() as AddressInfo).port;
  } catch (err) {
    await close(dyn);
    throw err;
  }

  const dynamoEndpoint = `http://${host}:${dynamoPort}`;
  const client = localDynamoClient(dynamoEndpoint);
  await ensureTable(client, tableName);
  client.destroy();

  return {
    dynamoEndpoint,
    sesEndpoint: `http://${host}:${sesPort}`,
    dynamoPort,
    sesPort,
    tableName,
    async stop() {
      await Promise.all([close(ses), close(dyn)]);
    },
  };
}
