/**
 * Finding a running local stack from another process (the CLI, tests, scripts).
 * The stack writes DATA_DIR/stack.json while it runs; PORT, SES_PORT and DYNAMODB_PORT override its values.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const STACK_FILE = 'stack.json';
export const DEFAULTS = { port: 3000, sesPort: 8005, dynamoPort: 8001, dataDir: '.data', tableName: 'newsletter', host: '127.0.0.1' } as const;

/** What DATA_DIR/stack.json holds. */
export interface StackInfo {
  port: number;
  sesPort: number;
  dynamoPort: number;
  dynamoEndpoint: string;
  sesEndpoint: string;
  tableName: string;
  /** Base URL of the HTTP API (subscribe, confirm, unsubscribe, …). */
  baseUrl: string;
  pid: number;
  dataDir: string;
}

export class LocalStackNotRunningError extends Error {
  override name = 'LocalStackNotRunningError';
}

type Env = Record<string, string | undefined>;

function port(env: Env, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new LocalStackNotRunningError(`${name}=${raw} is not a port number`);
  return n;
}

/** DATA_DIR from the environment, resolved against the working directory (default `.data`). */
export function dataDirFrom(env: Env = process.env): string {
  return resolve(env.DATA_DIR || DEFAULTS.dataDir);
}

/** Where the stack should be, from the environment and stack.json, without checking that it runs. */
export function describeLocalStack(env: Env = process.env): StackInfo {
  const dataDir = dataDirFrom(env);
  const file = join(dataDir, STACK_FILE);
  let saved: Partial<StackInfo> = {};
  if (existsSync(file)) {
    try {
      saved = JSON.parse(readFileSync(file, 'utf8')) as Partial<StackInfo>;
    } catch {
      saved = {};
    }
  }
  const p = port(env, 'PORT', saved.port ?? DEFAULTS.port);
  const sesPort = port(env, 'SES_PORT', saved.sesPort ?? DEFAULTS.sesPort);
  const dynamoPort = port(env, 'DYNAMODB_PORT', saved.dynamoPort ?? DEFAULTS.dynamoPort);
  const host = DEFAULTS.host;
  return {
    port: p,
    sesPort,
    dynamoPort,
    dynamoEndpoint: `http://${host}:${dynamoPort}`,
    sesEndpoint: `http://${host}:${sesPort}`,
    tableName: env.TABLE_NAME || saved.tableName || DEFAULTS.tableName,
    baseUrl: `http://${host}:${p}`,
    pid: saved.pid ?? 0,
    dataDir,
  };
}

async function answers(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
    await res.arrayBuffer();
    return res.ok;
  } catch {
    return false;
  }
}

/**
 * Find the running local stack and check that it answers (HTTP API /health and the DynamoDB emulator).
 * Throws LocalStackNotRunningError with a one-line message saying how to start it.
 */
export async function findLocalStack(env: Env = process.env): Promise<StackInfo> {
  const info = describeLocalStack(env);
  const [http, dynamo] = await Promise.all([answers(`${info.baseUrl}/health`), reachable(info.dynamoEndpoint)]);
  if (!http || !dynamo) {
    throw new LocalStackNotRunningError(
      `No local stack is running on ${info.baseUrl} (DynamoDB ${info.dynamoEndpoint}, DATA_DIR ${info.dataDir}) — start it with \`npm start\``,
    );
  }
  return info;
}

/** dynalite answers any HTTP request (400 without a target): we only need a response. */
async function reachable(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
    await res.arrayBuffer();
    return true;
  } catch {
    return false;
  }
}
