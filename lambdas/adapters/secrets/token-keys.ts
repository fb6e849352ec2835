/**
 * Where token keys come from.
 * - AWS: a Secrets Manager secret (TOKEN_SECRET_ARN) holding `{"current":"k2","keys":{"k1":"…","k2":"…"}}`.
 *   Rotation: add a new key, point `current` at it, keep the previous one in `keys` until its links are stale.
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

/** Validate the JSON shape; throws TokenKeysError naming the problem (never echoing the key material). */
export function parseTokenKeys(json: string, origin: string): TokenKeys {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    throw new TokenKeysError(`${origin}: token keys are not valid JSON`);
  }
  const value = raw as Partial<TokenKeys> | null;
  if (!value || typeof value.current !== 'string' || typeof value.keys !== 'object' || value.keys === null) {
    throw new TokenKeysError(`${origin}: expected {"current": "<key id>", "keys": {"<key id>": "<secret>"}}`);
  }
  const keys = Object.fromEntries(Object.entries(value.keys).filter(([, v]) => typeof v === 'string' && v.length >= 16));
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
