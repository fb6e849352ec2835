import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import {
  LOCAL_TOKEN_KEYS_FILE, loadOrCreateLocalTokenKeys, parseTokenKeys, secretsManagerTokenKeys,
} from '../../lambdas/adapters/secrets/token-keys.ts';

const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'token-keys-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('local token keys', () => {
  it('creates DATA_DIR/token-keys.json with mode 0600 on first use and reuses it afterwards', () => {
    const dir = join(tempDir(), 'nested');
    const first = loadOrCreateLocalTokenKeys(dir);
    const file = join(dir, LOCAL_TOKEN_KEYS_FILE);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(first.keys[first.current]!.length).toBeGreaterThanOrEqual(32);
    expect(loadOrCreateLocalTokenKeys(dir)).toEqual(first);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(first);
  });

  it('refuses a corrupt key file instead of silently replacing it', () => {
    const dir = tempDir();
    writeFileSync(join(dir, LOCAL_TOKEN_KEYS_FILE), '{not json');
    expect(() => loadOrCreateLocalTokenKeys(dir)).toThrow(/not valid JSON/);
  });
});

describe('parseTokenKeys', () => {
  it('requires a current key of at least 16 characters and never echoes secrets', () => {
    expect(() => parseTokenKeys('{"current":"k","keys":{"k":"short"}}', 'x')).toThrow(/missing or shorter/);
    expect(() => parseTokenKeys('{"keys":{}}', 'x')).toThrow(/expected/);
    let thrown: unknown;
    try {
      parseTokenKeys('{"current":"k2","keys":{"k1":"super-secret-value-1234"}}', 'x');
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(Error);
    expect((thrown as Error).message).not.toContain('super-secret');
  });
});

describe('parseTokenKeys accepts both secret shapes', () => {
  it('reads the nested shape {"current","keys":{...}} (the local key file)', () => {
    const keys = parseTokenKeys('{"current":"k2","keys":{"k1":"first-secret-0123456789","k2":"second-secret-012345678"}}', 'x');
    expect(keys).toEqual({ current: 'k2', keys: { k1: 'first-secret-0123456789', k2: 'second-secret-012345678' } });
  });

  it('reads the flat shape {"current","<kid>":"<key>"} that the CDK stack generates, every other string being a key', () => {
    const keys = parseTokenKeys('{"current":"k2","k1":"first-secret-0123456789","k2":"second-secret-012345678"}', 'x');
    expect(keys).toEqual({ current: 'k2', keys: { k1: 'first-secret-0123456789', k2: 'second-secret-012345678' } });
  });

  it('ignores non-string and short entries of the flat shape and rejects a current id that is not a key', () => {
    expect(parseTokenKeys('{"current":"k1","k1":"first-secret-0123456789","n":7,"s":"short"}', 'x').keys).toEqual({
      k1: 'first-secret-0123456789',
    });
    expect(() => parseTokenKeys('{"current":"k2","k1":"first-secret-0123456789"}', 'x')).toThrow(/"k2" is missing/);
    expect(() => parseTokenKeys('{"current":"k1","keys":"first-secret-0123456789"}', 'x')).toThrow(/expected/);
    expect(() => parseTokenKeys('["current"]', 'x')).toThrow(/expected/);
  });
});

describe('Secrets Manager token keys (fake Secrets Manager: no local emulator exists)', () => {
  it('fetches the secret once per container and retries after a failure', async () => {
    const client = new SecretsManagerClient({ region: 'us-east-1' });
    const mock = mockClient(client);
    mock.on(GetSecretValueCommand).rejectsOnce(Object.assign(new Error('boom'), { name: 'InternalServiceError' })).resolves({
      SecretString: JSON.stringify({ current: 'k2', keys: { k1: 'first-secret-0123456789', k2: 'second-secret-012345678' } }),
    });
    const load = secretsManagerTokenKeys(client, 'arn:secret');
    await expect(load()).rejects.toThrow('boom');
    const keys = await load();
    expect(keys.current).toBe('k2');
    expect(await load()).toBe(keys);
    expect(mock.commandCalls(GetSecretValueCommand)).toHaveLength(2);
    mock.restore();
  });

  it('loads a secret in the flat shape the stack creates', async () => {
    const client = new SecretsManagerClient({ region: 'us-east-1' });
    const mock = mockClient(client);
    mock.on(GetSecretValueCommand).resolves({ SecretString: '{"current":"k1","k1":"Gx7pQ2mZ9rT4vW8yB3nK6cF1hJ5sL0dA"}' });
    expect(await secretsManagerTokenKeys(client, 'arn:secret')()).toEqual({
      current: 'k1',
      keys: { k1: 'Gx7pQ2mZ9rT4vW8yB3nK6cF1hJ5sL0dA' },
    });
    mock.restore();
  });
});
