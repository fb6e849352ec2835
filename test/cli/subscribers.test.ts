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
import { PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { ensureTable } from '../../lambdas/local/emulators.ts';
import { DynamoDbCampaignRepository } from '../../lambdas/adapters/dynamodb/dynamodb-campaign-repository.ts';
import { identityKey } from '../../lambdas/core/subscribers/email.ts';
import type { StoredEmail } from '../support/emulators.ts';

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

describe('one subscriber per mailbox, attributes and confirmation emails', { timeout: 120_000 }, () => {
  async function emailsTo(email: string): Promise<StoredEmail[]> {
    const res = await fetch(`${stack.urls.sesEndpoint}/store`);
    return ((await res.json()) as { emails: StoredEmail[] }).emails.filter((e) => e.destination.to.some((to) => identityKey(to) === identityKey(email)));
  }
  beforeEach(async () => {
    await fetch(`${stack.urls.sesEndpoint}/clear-store`, { method: 'POST' });
  });

  it('a CSV with case variants and mixed CRLF/LF line endings imports one subscriber per mailbox, with attributes in the confirmed index', async () => {
    const file = csv('variants.csv', 'email,name,tier\r\na@example.com,A,gold\nA@example.com,A2,free\r\nA@EXAMPLE.COM,A3,\nb@example.com,B,silver\r\nc@example.com,C,\n');
    const res = await run(['import', file, '--confirmed', '--consent-source', 'fair', '--json']);
    expect(res.stderr).toMatch(/variants\.csv:3: skipped: duplicate of line 2 \(A@example\.com\)/);
    expect(res.stderr).toMatch(/variants\.csv:4: skipped: duplicate of line 2/);
    expect(JSON.parse(res.stdout)).toMatchObject({ created: 3, existing: 0, invalid: 0, duplicates: 2, rows: 5 });
    expect(res.code).toBe(0);
    // The rows the fan-out pages: the confirmed index projects the attributes.
    const page = await stack.deps.doc.send(new QueryCommand({
      TableName: stack.info.tableName, IndexName: 'confirmed', KeyConditionExpression: 'gsi1pk = :pk', ExpressionAttributeValues: { ':pk': 'CONFIRMED' },
    }));
    expect(page.Items!.map((i) => [i.email, i.name, i.attributes])).toEqual([
      ['a@example.com', 'A', { tier: 'gold' }],
      ['b@example.com', 'B', { tier: 'silver' }],
      ['c@example.com', 'C', undefined],
    ]);
    // A later import in another casing changes nothing, also for an address that has left since.
    await stack.deps.subscribers.unsubscribe('b@example.com', new Date());
    const again = await run(['import', csv('later.csv', 'email\nA@Example.com\nB@EXAMPLE.com\n'), '--confirmed', '--consent-source', 'fair', '--json']);
    expect(JSON.parse(again.stdout)).toMatchObject({ created: 0, existing: 2 });
    expect(await stack.deps.subscribers.getStatus('b@example.com')).toBe('unsubscribed');
    expect(await stack.deps.subscribers.countConfirmed()).toBe(2);
  });

  it('without --confirmed, each new pending address gets one confirmation email; a rerun none; --no-confirmation-email none', async () => {
    const file = csv('pending.csv', 'email,name\nPat@example.com,Pat\npat@example.com,Pat again\nquinn@example.com,Quinn\n');
    const first = await run(['import', file, '--json']);
    expect(first.code).toBe(0);
    expect(JSON.parse(first.stdout)).toMatchObject({ created: 2, status: 'pending', confirmationEmails: { sent: 2, skipped: 0, failed: 0 } });
    const [pat] = await emailsTo('pat@example.com');
    expect(pat).toBeDefined();
    expect(pat!.destination.to).toEqual(['Pat@example.com']);
    expect(pat!.body.text).toContain(`${stack.urls.baseUrl}/confirm?token=`);
    expect(await emailsTo('quinn@example.com')).toHaveLength(1);

    const rerun = await run(['import', file]);
    expect(rerun.code).toBe(0);
    expect(rerun.stdout).toMatch(/Sent 0 confirmation emails \(2 already sent one or no longer pending\)/);
    expect(await emailsTo('pat@example.com')).toHaveLength(1);

    const quiet = await run(['import', csv('quiet.csv', 'email\nrae@example.com\n'), '--no-confirmation-email', '--json']);
    expect(quiet.code).toBe(0);
    const summary = JSON.parse(quiet.stdout);
    expect(summary).toMatchObject({ created: 1 });
    expect(summary.confirmationEmails).toBeUndefined();
    expect(await stack.deps.subscribers.getStatus('rae@example.com')).toBe('pending');
    expect(await emailsTo('rae@example.com')).toHaveLength(0);

    // The confirm link in the imported address's email works.
    const token = decodeURIComponent(/token=([^\s"<&]+)/.exec(pat!.body.text!)![1]!);
    const confirmed = await fetch(`${stack.urls.baseUrl}/confirm`, { method: 'POST', body: new URLSearchParams({ token }) });
    expect(confirmed.status).toBe(200);
    expect(await stack.deps.subscribers.getStatus('pat@example.com')).toBe('confirmed');
  });

  it('--aws: a pending import that would send confirmation emails without SENDER or TOKEN_SECRET_ARN stops before writing', async () => {
    const file = csv('aws.csv', 'email\nzed@example.com\n');
    const env = {
      AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'x', SENDER: '', TOKEN_SECRET_ARN: '', PUBLIC_BASE_URL: '',
      CDK_OUTPUTS_FILE: '', AWS_CONFIG_FILE: join(work, 'none'), AWS_SHARED_CREDENTIALS_FILE: join(work, 'none'),
    };
    const res = await run(['import', file, '--aws', '--table', 'newsletter'], env);
    expect(res).toEqual({
      code: 2,
      stdout: '',
      stderr: 'newsletter: --aws import sends confirmation emails and needs SENDER, TOKEN_SECRET_ARN, PUBLIC_BASE_URL (or the PublicBaseUrl stack output); or pass --no-confirmation-email\n',
    });
  });

  it('delete in another casing erases the subscriber and their delivery records, also an old exact-spelling record', async () => {
    const consent = { at: new Date().toISOString(), method: 'import' as const, source: 'test' };
    await stack.deps.subscribers.importSubscriber({ email: 'Sam@example.com', status: 'confirmed', consent, now: new Date() });
    const campaigns = new DynamoDbCampaignRepository(stack.deps.doc, stack.info.tableName);
    await campaigns.start({ campaignId: 'erase-1', slug: 'erase-1', subject: 'S', audience: 1, now: new Date() });
    expect(await campaigns.claim('erase-1', 'Sam@example.com', new Date())).toEqual({ claimed: true });
    await campaigns.recordDelivery('erase-1', 'Sam@example.com', 'SENT', { messageId: 'm-1' });
    const before = await campaigns.accounting('erase-1', { consistent: true });

    const res = await run(['delete', 'SAM@EXAMPLE.COM', '--json']);
    expect(res.code).toBe(0);
    expect(JSON.parse(res.stdout)).toMatchObject({ deleted: true, deliveryRecords: 1 });
    expect(await stack.deps.subscribers.get('sam@example.com')).toBeUndefined();
    expect(await campaigns.deliveryStatus('erase-1', 'Sam@example.com')).toBeUndefined();
    expect(await campaigns.accounting('erase-1', { consistent: true })).toEqual(before);

    const now = new Date().toISOString();
    await stack.deps.doc.send(new PutCommand({
      TableName: stack.info.tableName,
      Item: { pk: 'SUB#Tia@example.com', sk: 'SUB', email: 'Tia@example.com', status: 'confirmed', createdAt: now, updatedAt: now },
    }));
    const old = await run(['delete', 'Tia@example.com', '--json']);
    expect(JSON.parse(old.stdout)).toMatchObject({ deleted: true });
    expect(await stack.deps.subscribers.get('Tia@example.com')).toBeUndefined();
  });

  it('migrate-identities merges records older versions stored per spelling, and a rerun finds nothing to do', async () => {
    const item = (email: string, status: string, createdAt: string) => ({
      pk: `SUB#${email}`, sk: 'SUB', email, status, createdAt, updatedAt: createdAt,
      ...(status === 'confirmed' ? { gsi1pk: 'CONFIRMED', gsi1sk: email } : {}),
    });
    for (const i of [item('Uma@example.com', 'confirmed', '2026-01-01T00:00:00.000Z'), item('UMA@example.com', 'complained', '2026-02-01T00:00:00.000Z'), item('Vic@example.com', 'confirmed', '2026-01-01T00:00:00.000Z')]) {
      await stack.deps.doc.send(new PutCommand({ TableName: stack.info.tableName, Item: i }));
    }
    // A campaign an older version sent, its pair keyed by the exact spelling.
    const campaigns = new DynamoDbCampaignRepository(stack.deps.doc, stack.info.tableName);
    await campaigns.start({ campaignId: 'old-1', slug: 'old-1', subject: 'S', audience: 1, now: new Date() });
    await stack.deps.doc.send(new PutCommand({
      TableName: stack.info.tableName,
      Item: { pk: 'CAMPAIGN#old-1', sk: 'D#Vic@example.com', status: 'SENT', email: 'Vic@example.com', at: new Date().toISOString(), messageId: 'm-1' },
    }));
    const refused = await run(['migrate-identities']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/campaign old-1 is sending/);
    expect(await stack.deps.subscribers.get('vic@example.com')).toBeUndefined();
    await campaigns.setStatus('old-1', ['SENDING'], 'SENT');

    const first = await run(['migrate-identities', '--json']);
    expect(first.code).toBe(0);
    expect(JSON.parse(first.stdout)).toEqual({ scanned: 3, migrated: 3, merged: 1, expiredRemoved: 0, deliveryPairs: 1 });
    expect(await stack.deps.subscribers.get('uma@example.com')).toMatchObject({ email: 'Uma@example.com', status: 'complained' });
    expect((await stack.deps.subscribers.listConfirmed(undefined, 10)).items).toEqual([{ email: 'Vic@example.com' }]);
    // The worker, SES events, resume's repair pass and erasure now find the pair under any spelling.
    expect(await campaigns.deliveryStatus('old-1', 'VIC@example.com')).toBe('SENT');
    expect(await campaigns.accounting('old-1', { consistent: true })).toMatchObject({ sent: 1 });
    const second = await run(['migrate-identities']);
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(/Checked 2 subscribers: 0 moved .*; 0 delivery records moved/);
  });
});
