/**
 * The local stack: real emulators + the real handlers behind an API Gateway v2 adapter, in one process.
 * `npm start` runs it (main.ts); tests start their own on free ports. Later parts plug in through
 * `addRoute` (more HTTP handlers) and `deps` (shared SDK clients and adapters).
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Clock, TokenKeys } from '../core/ports.ts';
import { systemClock } from '../core/ports.ts';
import { DynamoDbCampaignRepository } from '../adapters/dynamodb/dynamodb-campaign-repository.ts';
import { DynamoDbIssueStore } from '../adapters/dynamodb/dynamodb-issue-store.ts';
import { createArchiveHandler } from '../handlers/archive.ts';
import { buildSubscribersHandler } from '../handlers/subscribers.ts';
import { displayName } from '../core/subscribers/email.ts';
import { localDeps, localTokenKeys, localWelcomeEmail, type LocalDeps } from '../runtime/local.ts';
import { startEmulators, type Emulators } from './emulators.ts';
import { RouteTable, startHttpServer, type LambdaHttpHandler } from './http-server.ts';
import { DEFAULTS, STACK_FILE, type StackInfo } from './stack-info.ts';

export const DEFAULT_SENDER = "Akira's ML News <news@example.com>";

export interface LocalStackOptions {
  /** HTTP API port (default 3000; 0 = free port). */
  port?: number;
  /** aws-ses-v2-local port (default 8005; 0 = free port). */
  sesPort?: number;
  /** dynalite port (default 8001; 0 = free port). */
  dynamoPort?: number;
  /** Data directory: DynamoDB files, token keys, stack.json (default `.data`). */
  dataDir?: string;
  /** Keep DynamoDB on disk under DATA_DIR/dynamodb (default true). False: in memory (tests). */
  persist?: boolean;
  /** Write DATA_DIR/stack.json for other processes to find the stack (default true). */
  writeStackFile?: boolean;
  tableName?: string;
  /** From address of the emails (default {@link DEFAULT_SENDER}). */
  sender?: string;
  /** Base URL in emailed links (default: this server's URL). */
  publicBaseUrl?: string;
  /** MaxSendRate the SES emulator reports. */
  maxSendRate?: number;
  clock?: Clock;
}

export interface LocalStack {
  urls: {
    /** The HTTP API, e.g. http://127.0.0.1:3000. */
    baseUrl: string;
    subscribeUrl: string;
    /** The web archive (`/archive`; `/archive/feed.xml` is its Atom feed). */
    archiveUrl: string;
    /** aws-ses-v2-local: web inbox at `/`, JSON at `/store`. */
    sesEndpoint: string;
    dynamoEndpoint: string;
  };
  /** What stack.json holds. */
  info: StackInfo;
  /** Shared clients and adapters (DynamoDB, SES, subscriber repository, mailer) plus local settings. */
  deps: LocalDeps & { tokenKeys: () => Promise<TokenKeys>; dataDir: string; sender: string; publicBaseUrl: string };
  emulators: Emulators;
  /** Serve another Lambda-style HTTP handler under a path prefix (longest prefix wins; `/` is the fallback). */
  addRoute(prefix: string, handler: LambdaHttpHandler): void;
  /** Stop the server and the emulators, and remove stack.json. Safe to call twice. */
  stop(): Promise<void>;
}

export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const dataDir = resolve(options.dataDir ?? DEFAULTS.dataDir);
  mkdirSync(dataDir, { recursive: true });
  const emulators = await startEmulators({
    ...(options.persist === false ? {} : { dynamoPath: join(dataDir, 'dynamodb') }),
    dynamoPort: options.dynamoPort ?? DEFAULTS.dynamoPort,
    sesPort: options.sesPort ?? DEFAULTS.sesPort,
    tableName: options.tableName ?? DEFAULTS.tableName,
    ...(options.maxSendRate ? { maxSendRate: options.maxSendRate } : {}),
  });
  const routes = new RouteTable();
  let http: Awaited<ReturnType<typeof startHttpServer>>;
  try {
    http = await startHttpServer(routes, { port: options.port ?? DEFAULTS.port, host: DEFAULTS.host });
  } catch (err) {
    await emulators.stop();
    throw err;
  }

  const baseUrl = `http://${DEFAULTS.host}:${http.port}`;
  const clock = options.clock ?? systemClock;
  const base = localDeps(emulators, clock);
  const deps = {
    ...base,
    tokenKeys: localTokenKeys(dataDir),
    dataDir,
    sender: options.sender ?? DEFAULT_SENDER,
    publicBaseUrl: (options.publicBaseUrl ?? baseUrl).replace(/\/+$/, ''),
  };
  routes.add(
    '/',
    buildSubscribersHandler({
      repo: deps.subscribers,
      mailer: deps.mailer,
      tokenKeys: deps.tokenKeys,
      clock,
      sender: deps.sender,
      publicBaseUrl: deps.publicBaseUrl,
      // content/welcome.md, sent once when a subscriber confirms (none when the file is missing).
      welcome: localWelcomeEmail({ sender: deps.sender, publicBaseUrl: deps.publicBaseUrl }),
    }),
  );
  // The web archive reads the campaigns and the rendered issues the send pipeline stores in the table.
  routes.add(
    '/archive',
    createArchiveHandler({
      campaigns: new DynamoDbCampaignRepository(base.doc, base.tableName),
      issues: new DynamoDbIssueStore(base.doc, base.tableName, { consistentReads: false }),
      publicBaseUrl: deps.publicBaseUrl,
      newsletterName: displayName(deps.sender),
      clock,
    }),
  );

  const info: StackInfo = {
    port: http.port,
    sesPort: emulators.sesPort,
    dynamoPort: emulators.dynamoPort,
    dynamoEndpoint: emulators.dynamoEndpoint,
    sesEndpoint: emulators.sesEndpoint,
    tableName: emulators.tableName,
    baseUrl,
    pid: process.pid,
    dataDir,
  };
  const stackFile = join(dataDir, STACK_FILE);
  if (options.writeStackFile !== false) writeFileSync(stackFile, `${JSON.stringify(info, null, 2)}\n`);

  let stopped: Promise<void> | undefined;
  return {
    urls: { baseUrl, subscribeUrl: `${baseUrl}/subscribe`, archiveUrl: `${baseUrl}/archive`, sesEndpoint: emulators.sesEndpoint, dynamoEndpoint: emulators.dynamoEndpoint },
    info,
    deps,
    emulators,
    addRoute: (prefix, handler) => void routes.add(prefix, handler),
    stop() {
      stopped ??= (async () => {
        if (options.writeStackFile !== false) removeIfOurs(stackFile);
        await http.close();
        base.destroy();
        await emulators.stop();
      })();
      return stopped;
    },
  };
}

/** Another stack may have replaced the file since (same DATA_DIR): leave theirs alone. */
function removeIfOurs(file: string): void {
  try {
    const saved = JSON.parse(readFileSync(file, 'utf8')) as { pid?: number };
    if (saved.pid === process.pid) rmSync(file, { force: true });
  } catch {
    // Already gone or unreadable: nothing to clean up.
  }
}
