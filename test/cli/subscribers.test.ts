/**
 * `newsletter subscribers get|import|export|delete` as an operator runs them: a child process that finds the
 * local stack this test starts (real emulators) through DATA_DIR/stack.json.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startLocalStack, type LocalStack } from '../../lambdas/local/stack.ts';
import { REPO_ROOT } from '../support/fixtures.ts';
import { DeleteTableCommand } from '@aws-sdk/client-dynamodb';
import { ensureTable } from '../../lambdas/local/emulators.ts';

let stack: LocalStack;
let dataDir: string;
let work: string;

function run(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const { PORT: _p, SES_PORT: _s, DYNAMODB_PORT: _d, TABLE_NAME: _t, ...base } = process.env;
    const child = spawn(process.execPath, [join(REPO_ROOT, 'bin/newsletter.mjs'), 'subscribers', ...args], {
      cwd: work,
      env: { ...base, DATA_DIR: dataDir, ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

function csv(name: string, text: string): string {
  const file = join(work, name);
  writeFileSync(file, text);
  return file;
}

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'newsletter-cli-'));
  work = mkdtempSync(join(tmpdir(), 'newsletter-cli-work-'));
  stack = await startLocalStack({ port: 0, sesPort: 0, dynamoPort: 0, dataDir, persist: false });
});
beforeEach(async () => {
  await stack.deps.dynamo.send(new DeleteTableCommand({ TableName: stack.info.tableName }));
  await ensureTable(stack.deps.dynamo, stack.info.tableName);
});
afterAll(async () => {
  await stack?.stop();
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(work, { recursive: true, force: true });
});

describe('subscribers import', { timeout: 120_000 }, () => {
  it('imports valid rows, reports invalid rows with line numbers and duplicates, and is idempotent', async () => {
    const file = csv(
      'list.csv',
      'email,name,plan\n' +
        'ann@example.com,Ann,pro\n' +
        'not-an-address,Bob,free\n' +
        '"cy@Example.COM","Cy, Jr.",\n' +
        'ann@example.com,Ann again,pro\n' +
        'dee@example.com,Dee\n',
    );
    const first = await run(['import', file, '--confirmed', '--consent-source', 'conference 2026', '--json']);
    expect(first.stderr).toMatch(/list\.csv:3: skipped: .*like name@example\.com/);
    expect(first.stderr).toMatch(/list\.csv:5: skipped: duplicate of line 2 \(ann@example\.com\)/);
    expect(first.stderr).toMatch(/list\.csv:6: skipped: expected 3 fields, found 2/);
    expect(first.code).toBe(1);
    expect(JSON.parse(first.stdout)).toMatchObject({ created: 2, existing: 0, invalid: 2, duplicates: 1, status: 'confirmed' });

    const cy = await stack.deps.subscribers.get('cy@example.com');
    expect(cy).toMatchObject({ status: 'confirmed', name: 'Cy, Jr.', consent: { method: 'import', source: 'conference 2026' } });
    expect((await stack.deps.subscribers.get('ann@example.com'))?.attributes).toEqual({ plan: 'pro' });
    expect(await stack.deps.subscribers.countConfirmed()).toBe(2);

    const again = await run(['import', file, '--confirmed', '--consent-source', 'conference 2026', '--json']);
    expect(JSON.parse(again.stdout)).toMatchObject({ created: 0, existing: 2 });
    expect(await stack.deps.subscribers.countConfirmed()).toBe(2);
  });

  it('refuses --confirmed without --consent-source, and malformed CSV, changing nothing', async () => {
    const good = csv('good.csv', 'email\nx@example.com\n');
    const noSource = await run(['import', good, '--confirmed']);
    expect(noSource.code).toBe(2);
    expect(noSource.stderr.trim().split('\n')).toHaveLength(1);
    expect(noSource.stderr).toMatch(/--consent-source/);

    const broken = csv('broken.csv', 'email,name\n"x@example.com,Unclosed\n');
    const bad = await run(['import', broken]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/not valid CSV/);
    expect(bad.stdout).toBe('');

    const noEmail = await run(['import', csv('noemail.csv', 'address\nx@example.com\n')]);
    expect(noEmail.code).toBe(2);
    expect(noEmail.stderr).toMatch(/no "email" column/);

    const missing = await run(['import', join(work, 'nope.csv')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/no such file/);
    const all = [];
    for await (const s of stack.deps.subscribers.scan()) all.push(s);
    expect(all).toEqual([]);
  });
});

// Each CLI run is a fresh Node process (about 2-3 s on a busy machine): allow for several per test.
describe('subscribers get, export, delete', { timeout: 120_000 }, () => {
  beforeEach(async () => {
    const consent = { at: new Date().toISOString(), method: 'import' as const, source: 'test' };
    for (const [email, name] of [['ann@example.com', 'Ann "A"'], ['bo@example.com', undefined]] as const) {
      await stack.deps.subscribers.importSubscriber({ email, ...(name ? { name } : {}), status: 'confirmed', consent, now: new Date() });
    }
  });

  it('gets one subscriber as JSON; unknown → exit 4; invalid address → exit 2', async () => {
    const [got, unknown, invalid] = await Promise.all([
      run(['get', 'ann@example.com', '--json']),
      run(['get', 'who@example.com', '--json']),
      run(['get', 'not an address']),
    ]);
    expect(got.code).toBe(0);
    expect(JSON.parse(got.stdout)).toMatchObject({ email: 'ann@example.com', status: 'confirmed', name: 'Ann "A"' });
    expect(unknown.code).toBe(4);
    expect(unknown.stderr).toMatch(/no subscriber who@example\.com/);
    expect(invalid.code).toBe(2);
  });

  it('exports CSV and JSON to stdout, and refuses both formats at once', async () => {
    const [asCsv, asJsonRun, both] = await Promise.all([run(['export', '--csv']), run(['export', '--json']), run(['export', '--csv', '--json'])]);
    const lines = asCsv.stdout.trim().split('\n').sort();
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^ann@example\.com,confirmed,"Ann ""A""",/);
    expect(lines[2]).toMatch(/^email,status,name,/);
    const asJson = JSON.parse(asJsonRun.stdout) as Array<{ email: string }>;
    expect(asJson.map((s) => s.email).sort()).toEqual(['ann@example.com', 'bo@example.com']);
    expect(both.code).toBe(2);
    expect(both.stdout).toBe('');
  });

  it('deletes a subscriber (erasure), then exits 4 for the same address', async () => {
    const deleted = await run(['delete', 'ann@example.com', '--json']);
    expect(deleted.code).toBe(0);
    expect(JSON.parse(deleted.stdout)).toMatchObject({ email: 'ann@example.com', deleted: true, deliveryRecords: 0 });
    expect(await stack.deps.subscribers.get('ann@example.com')).toBeUndefined();
    expect(await stack.deps.subscribers.get('bo@example.com')).toBeDefined();
    expect((await run(['delete', 'ann@example.com'])).code).toBe(4);
  });

  it('says how to start the stack when none is running (exit 3)', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'newsletter-nostack-'));
    try {
      const res = await run(['get', 'ann@example.com', '--json'], { DATA_DIR: empty, PORT: '1', DYNAMODB_PORT: '2' });
      expect(res.code).toBe(3);
      expect(res.stderr.trim().split('\n')).toHaveLength(1);
      expect(res.stderr).toMatch(/No local stack is running on http:\/\/127\.0\.0\.1:1 .*start it with `npm start`/);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });

  it('--aws without a table name is a usage error', async () => {
    const res = await run(['export', '--aws']);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/--table NAME or set TABLE_NAME/);
  });
});
