/**
 * Where token keys come from.
 * - AWS: a Secrets Manager secret (TOKEN_SECRET_ARN). The stack creates it flat, `{"current":"k1","k1":"…"}`,
 *   because Secrets Manager's generator can only add one top-level string; the nested shape
 *   `{"current":"k2","keys":{"k1":"…","k2":"…"}}` (the local file's) is accepted as well.
 *   Rotation: add a new key id, point `current` at it, keep the previous one until its links are stale.
 * - Local: DATA_DIR/token-keys.json, generated from random bytes on first use, mode 0600.
 * Both return a memoized loader: at most one fetch per container (or per data directory).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { TokenKeys } from '../../core/ports.ts';

export const LOCAL_TOKEN_KEYS_FILE = 'token-keys.json';

export class TokenKeysError extends Error {
  override name = 'TokenKeysError';
}

/**
 * Validate the JSON and return the keys; throws TokenKeysError naming the problem (never echoing key material).
 * Two shapes: nested `{"current":"k2","keys":{"k1":"…","k2":"…"}}`, or flat `{"current":"k1","k1":"…"}` where
 * every top-level string except `current` is a key (the shape the CDK stack generates). `keys` is reserved: when
 * present the secret is read as nested. Keys shorter than 16 characters are ignored.
 */
export function parseTokenKeys(json: string, origin: string): TokenKeys {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    throw new TokenKeysError(`${origin}: token keys are not valid JSON`);
  }
  const value = raw as Record<string, unknown> | null;
  const expected = `expected {"current": "<key id>", "keys": {"<key id>": "<secret>"}} or {"current": "<key id>", "<key id>": "<secret>"}`;
  if (!value || typeof value !== 'object' || Array.isArray(value) || typeof value.current !== 'string') {
    throw new TokenKeysError(`${origin}: ${expected}`);
  }
  let candidates: Record<string, unknown>;
  if ('keys' in value) {
    if (typeof value.keys !== 'object' || value.keys === null || Array.isArray(value.keys)) {
      throw new TokenKeysError(`${origin}: ${expected}`);
    }
    candidates = value.keys as Record<string, unknown>;
  } else {
    const { current: _current, ...flat } = value;
    candidates = flat;
  }
  const keys = Object.fromEntries(
    Object.entries(candidates).filter((e): e is [string, string] => typeof e[1] === 'string' && e[1].length >= 16),
  );
  if (!keys[value.current]) throw new TokenKeysError(`${origin}: current key "${value.current}" is missing or shorter than 16 characters`);
  return { current: value.current, keys };
}

/** A loader that fetches the secret once and shares the promise; a failed fetch is retried next time. */
export function secretsManagerTokenKeys(client: SecretsManagerClient, secretId: string): () => Promise<TokenKeys> {
  let cached: Promise<TokenKeys> | undefined;
  return () => {
    cached ??= client
      .send(new GetSecretValueCommand({ SecretId: secretId }))
      .then((res) => {
        if (!res.SecretString) throw new TokenKeysError(`Secret ${secretId} has no SecretString`);
        return parseTokenKeys(res.SecretString, `Secret ${secretId}`);
      })
      .catch((err: unknown) => {
        cached = undefined;
        throw err;
      });
    return cached;
  };
}

/** Read DATA_DIR/token-keys.json, creating it (0600, exclusive create) with a fresh 32-byte key if absent. */
export function loadOrCreateLocalTokenKeys(dataDir: string): TokenKeys {
  const file = join(dataDir, LOCAL_TOKEN_KEYS_FILE);
  try {
    return parseTokenKeys(readFileSync(file, 'utf8'), file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  mkdirSync(dataDir, { recursive: true });
  const keys: TokenKeys = { current: 'local-1', keys: { 'local-1': randomBytes(32).toString('base64url') } };
  try {
    writeFileSync(file, `${JSON.stringify(keys, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
    return keys;
  } catch (err) {
    // Another process created it first: use theirs, so both sign with the same key.
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return parseTokenKeys(readFileSync(file, 'utf8'), file);
    throw err;
  }
}
