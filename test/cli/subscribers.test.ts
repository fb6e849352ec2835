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

function run(args: string[], env: Record<string, string> = {}, closeStdout: boolean | 'both' = false): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const { PORT: _p, SES_PORT: _s, DYNAMODB_PORT: _d, TABLE_NAME: _t, ...base } = process.env;
    const child = spawn(process.execPath, [join(REPO_ROOT, 'bin/newsletter.mjs'), 'subscribers', ...args], {
      cwd: work,
      env: { ...base, DATA_DIR: dataDir, ...env },
    });
    let stdout = '';
    let stderr = '';
    // Like `newsletter … 2>&1 | head -0`: the reader is gone before the first write (stderr is still captured
    // when only stdout is closed).
    if (closeStdout) child.stdout.destroy();
    else child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    if (closeStdout === 'both') child.stderr.destroy();
    else child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
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
  it('into closed pipes (| head) still imports every valid row and exits with its own code', async () => {
    const file = csv('piped.csv', 'email\np1@example.com\nnot-an-address\np2@example.com\n');
    const res = await run(['import', file, '--confirmed', '--consent-source', 'pipe test'], {}, 'both');
    expect(res.code).toBe(1); // one row skipped, as without the pipe
    expect((await stack.deps.subscribers.get('p1@example.com'))?.status).toBe('confirmed');
    expect((await stack.deps.subscribers.get('p2@example.com'))?.status).toBe('confirmed');
  });

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

    // Validated before anything is written: a broken quote late in the file leaves the good rows above unwritten.
    const [lateQuote, strayQuote, empty, headerOnly, strict, twice] = await Promise.all([
      run(['import', csv('late.csv', 'email,name\nok1@example.com,One\nok2@example.com,Two\n"bad@example.com,Three\n')]),
      run(['import', csv('stray.csv', 'email,name\nok@example.com,O"Brien\n')]),
      run(['import', csv('empty.csv', '')]),
      run(['import', csv('header.csv', 'email,name\n\n')]),
      run(['import', csv('strict.csv', 'email\nok@example.com\nnope\nok@example.com\n'), '--strict']),
      run(['import', csv('twice.csv', 'email,Email\nok@example.com,ok@example.com\n')]),
    ]);
    for (const r of [lateQuote, strayQuote, empty, headerOnly, strict, twice]) {
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).not.toMatch(/\s+at\s.+:\d+/);
    }
    expect(lateQuote.stderr).toMatch(/^newsletter: .*late\.csv is not valid CSV, nothing imported: .*line 4/);
    expect(strayQuote.stderr).toMatch(/stray\.csv is not valid CSV, nothing imported/);
    expect(empty.stderr).toMatch(/empty\.csv is empty: expected a header row with an "email" column/);
    expect(headerOnly.stderr).toMatch(/header\.csv has a header row but no subscribers/);
    expect(strict.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/strict\.csv:3: skipped: /),
      expect.stringMatching(/strict\.csv:4: skipped: duplicate of line 2 \(ok@example\.com\)/),
      expect.stringMatching(/2 rows invalid or duplicated, nothing imported \(--strict\)/),
    ]);
    expect(twice.stderr).toMatch(/names the column "email" twice/);
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

  it('export into a pipe whose reader has gone (| head) ends quietly with exit 0, no stack trace', async () => {
    const res = await run(['export', '--csv'], {}, true);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
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

  it('export guards against CSV formula injection, and import takes the guarded cells back unchanged', async () => {
    const names = ['=HYPERLINK("http://evil.example","x")', '+1+2', '-2+3', '@SUM(A1)', 'Plain'];
    const file = csv('formulas.csv', `email,name,note\n${names.map((n, i) => `f${i}@example.com,"${n.replace(/"/g, '""')}",=cmd|' /C calc'!A0`).join('\n')}\n`);
    const imported = await run(['import', file]);
    expect(imported.code).toBe(0);
    // Not a terminal: no progress bar, no control codes.
    expect(`${imported.stdout}${imported.stderr}`).not.toMatch(/\x1b|\r/);
    const exported = await run(['export', '--csv']);
    expect(exported.code).toBe(0);
    const rows = exported.stdout.trim().split('\n').filter((l) => l.startsWith('f'));
    expect(rows).toHaveLength(names.length);
    for (const row of rows) {
      // No cell may start with = + - @ (after an optional opening quote): each such cell starts with ' instead.
      for (const cell of row.match(/("([^"]|"")*"|[^,]*)/g)!.filter(Boolean)) expect(cell).not.toMatch(/^"?[=+\-@\t\r]/);
    }
    expect(exported.stdout).toContain(`"'=HYPERLINK(""http://evil.example"",""x"")"`);
    expect(exported.stdout).toMatch(/,'\+1\+2,/);
    expect(exported.stdout).toContain(`"{""note"":""=cmd|' /C calc'!A0""}"`);

    // Round trip: the exported file imports back to the same names.
    await stack.deps.dynamo.send(new DeleteTableCommand({ TableName: stack.info.tableName }));
    await ensureTable(stack.deps.dynamo, stack.info.tableName);
    const again = await run(['import', csv('exported.csv', exported.stdout), '--json']);
    expect(JSON.parse(again.stdout)).toMatchObject({ invalid: 0, duplicates: 0 });
    for (const [i, name] of names.entries()) expect((await stack.deps.subscribers.get(`f${i}@example.com`))?.name).toBe(name);
  });

  it('deletes a subscriber (erasure), then exits 4 for the same address', async () => {
    const deleted = await run(['delete', 'ann@example.com', '--json']);
    expect(deleted.code).toBe(0);
    expect(JSON.parse(deleted.stdout)).toMatchObject({ email: 'ann@example.com', deleted: true, deliveryRecords: 0, sending: [] });
    expect(await stack.deps.subscribers.get('ann@example.com')).toBeUndefined();
    expect(await stack.deps.subscribers.get('bo@example.com')).toBeDefined();
    expect((await run(['delete', 'ann@example.com'])).code).toBe(4);
  });

  it('--aws without a table name or a region is a usage error, before any output', async () => {
    const noRegion = { AWS_REGION: '', AWS_DEFAULT_REGION: '', AWS_PROFILE: '', AWS_CONFIG_FILE: join(work, 'none'), AWS_SHARED_CREDENTIALS_FILE: join(work, 'none') };
    const [noTable, regionless] = await Promise.all([
      run(['export', '--aws']),
      run(['export', '--aws', '--table', 'newsletter'], noRegion),
    ]);
    expect(noTable.code).toBe(2);
    expect(noTable.stderr).toMatch(/--table NAME or set TABLE_NAME/);
    expect(regionless).toEqual({ code: 2, stdout: '', stderr: 'newsletter: --aws needs an AWS region: set AWS_REGION (or a region in your AWS profile)\n' });
  });
});
