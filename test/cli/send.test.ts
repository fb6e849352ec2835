/**
 * `newsletter send|status|resume` as a separate process against a local stack started here (real emulators, the
 * real send pipeline attached, Lambda Invoke API on the stack's HTTP server).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../bin/commands/common.ts';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { attachSendingToStack, type AttachedSending } from '../../lambdas/local/sending.ts';
import { startLocalStack, type LocalStack } from '../../lambdas/local/stack.ts';

const REPO = resolve(import.meta.dirname, '../..');
let dir: string;
let stack: LocalStack;
let sending: AttachedSending;

/** Async spawn: the stack runs in this process, so the event loop must stay free while the CLI talks to it. */
function newsletter(env: Record<string, string>, ...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(process.execPath, [join(REPO, 'bin/newsletter.mjs'), ...args], { cwd: dir, env: { ...process.env, ...env }, timeout: 120_000 }, (err, stdout, stderr) => {
      done({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'newsletter-send-cli-'));
  stack = await startLocalStack({ port: 0, sesPort: 0, dynamoPort: 0, dataDir: join(dir, 'data'), persist: false, maxSendRate: 500 });
  sending = attachSendingToStack(stack, { queue: { visibilityTimeoutMs: 50 } });
  const now = new Date();
  const consent = { at: now.toISOString(), method: 'import' as const, source: 'test' };
  for (const email of ['a@example.com', 'b@example.com', 'c@example.com']) {
    await stack.deps.subscribers.importSubscriber({ email, status: 'confirmed', consent, now });
  }
  await stack.deps.subscribers.importSubscriber({ email: 'p@example.com', status: 'pending', consent, now });
  writeFileSync(join(dir, 'issue.md'), '---\nslug: cli-issue-1\ntitle: CLI Issue 1\n---\n# CLI Issue 1\n\n## News\n\n* [Link](https://example.com) text.\n');
});

afterAll(async () => {
  await sending?.stop();
  await stack?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const env = () => ({ DATA_DIR: join(dir, 'data') });

describe('newsletter send / status / resume', { timeout: 120_000 }, () => {
  it('send --dry-run --json prints the plan and records nothing', async () => {
    const r = await newsletter(env(), 'send', 'issue.md', '--dry-run', '--json');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(EXIT.OK);
    const plan = JSON.parse(r.stdout);
    expect(plan).toMatchObject({ status: 'dry-run', campaignId: 'cli-issue-1', audience: 3 });
    expect(await sending.campaigns.get('cli-issue-1')).toBeUndefined();
  });

  it('send --json sends and prints exactly one JSON object with the accounting', async () => {
    const r = await newsletter(env(), 'send', 'issue.md', '--json');
    expect(r.code).toBe(EXIT.OK);
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
    const a = JSON.parse(r.stdout);
    expect(Object.keys(a)).toEqual(['campaignId', 'audience', 'sent', 'skipped', 'failed', 'unknown', 'queued', 'bounced', 'complained']);
    expect(a).toMatchObject({ campaignId: 'cli-issue-1', audience: 3, sent: 3, queued: 0, failed: 0 });
  });

  it('a second send reports the existing campaign and sends nothing new', async () => {
    const before = ((await (await fetch(`${stack.urls.sesEndpoint}/store`)).json()) as { emails: unknown[] }).emails.length;
    const r = await newsletter(env(), 'send', 'issue.md', '--json');
    expect(r.code).toBe(EXIT.OK);
    expect(JSON.parse(r.stdout)).toMatchObject({ sent: 3, queued: 0 });
    const after = ((await (await fetch(`${stack.urls.sesEndpoint}/store`)).json()) as { emails: unknown[] }).emails.length;
    expect(after).toBe(before);
  });

  it('status --json prints the same fields; an unknown campaign exits 4 with one line', async () => {
    const [ok, missing, resume] = await Promise.all([
      newsletter(env(), 'status', 'cli-issue-1', '--json'),
      newsletter(env(), 'status', 'no-such-campaign', '--json'),
      newsletter(env(), 'resume', 'no-such-campaign', '--json'),
    ]);
    expect(ok.code).toBe(EXIT.OK);
    expect(JSON.parse(ok.stdout)).toMatchObject({ campaignId: 'cli-issue-1', sent: 3, audience: 3 });
    for (const r of [missing, resume]) {
      expect(r.code).toBe(EXIT.NOT_FOUND);
      expect(r.stdout).toBe('');
      expect(r.stderr.trim().split('\n')).toEqual(['newsletter: unknown campaign: no-such-campaign (list them with `newsletter status`)']);
    }
  });

  it('bad input: a missing file and an invalid --test address exit 2 with one line and change nothing', async () => {
    const [missing, badTest, both] = await Promise.all([
      newsletter(env(), 'send', 'nope.md'),
      newsletter(env(), 'send', 'issue.md', '--test', 'not-an-address'),
      newsletter(env(), 'send', 'issue.md', '--test', 'qa@example.org', '--dry-run'),
    ]);
    expect(missing.code).toBe(EXIT.BAD_INPUT);
    expect(missing.stderr.trim().split('\n')).toEqual(['newsletter: cannot read nope.md: no such file']);
    expect(both.code).toBe(EXIT.BAD_INPUT);
    expect(both.stderr).toMatch(/either --dry-run or --test/);
    expect(badTest.code).toBe(EXIT.BAD_INPUT);
    expect(badTest.stdout).toBe('');
  });

  it('--asset-base-url and --link-base-url resolve the issue\'s relative images and links; a non-URL is bad input', async () => {
    writeFileSync(join(dir, 'relative.md'), '# Relative 1\n\n## News\n\n![Chart](img/chart.png)\n\n* [Story](/story) text.\n');
    await fetch(`${stack.urls.sesEndpoint}/clear-store`, { method: 'POST' });
    const [ok, bad] = await Promise.all([
      newsletter(env(), 'send', 'relative.md', '--test', 'qa@example.org', '--asset-base-url', 'https://cdn.example/n/', '--link-base-url', 'https://blog.example'),
      newsletter(env(), 'send', 'relative.md', '--dry-run', '--asset-base-url', 'cdn.example'),
    ]);
    expect(ok.code).toBe(EXIT.OK);
    const emails = ((await (await fetch(`${stack.urls.sesEndpoint}/store`)).json()) as { emails: Array<{ body: { html: string } }> }).emails;
    expect(emails).toHaveLength(1);
    expect(emails[0]!.body.html).toContain('src="https://cdn.example/n/img/chart.png"');
    expect(emails[0]!.body.html).toContain('href="https://blog.example/story"');
    expect(bad.code).toBe(EXIT.BAD_INPUT);
    expect(bad.stderr).toBe('newsletter: issue.assetBaseUrl must be an http(s) URL\n');
  });

  it('--test sends only to the given address with a [TEST] subject', async () => {
    await fetch(`${stack.urls.sesEndpoint}/clear-store`, { method: 'POST' });
    const r = await newsletter(env(), 'send', 'issue.md', '--test', 'qa@example.org', '--json');
    expect(r.code).toBe(EXIT.OK);
    const emails = ((await (await fetch(`${stack.urls.sesEndpoint}/store`)).json()) as { emails: Array<{ subject: string; destination: { to: string[] } }> }).emails;
    expect(emails.map((e) => e.destination.to[0])).toEqual(['qa@example.org']);
    expect(emails[0]!.subject).toMatch(/^\[TEST\] /);
  });

  it('without --json: the accounting on stdout, no progress bar or control codes when not a terminal; status lists campaigns', async () => {
    writeFileSync(join(dir, 'issue2.md'), '---\nslug: cli-issue-2\ntitle: CLI Issue 2\n---\n# CLI Issue 2\n\n## News\n\n* [Link](https://example.com) text.\n');
    const r = await newsletter(env(), 'send', 'issue2.md');
    expect(r.code).toBe(EXIT.OK);
    expect(r.stdout).toMatch(/^Campaign cli-issue-2 \(SENT\)\n {2}audience {3}3\n {2}sent {7}3\n/);
    expect(r.stdout).toMatch(/= 3 of 3/);
    expect(`${r.stdout}${r.stderr}`).not.toMatch(/\x1b|\r/);
    const [list, listJson] = await Promise.all([newsletter(env(), 'status'), newsletter(env(), 'status', '--json')]);
    expect(list.code).toBe(EXIT.OK);
    expect(list.stdout).toMatch(/^cli-issue-2\tSENT\t3\t/m);
    expect(list.stdout).toMatch(/^cli-issue-1\tSENT\t3\t/m);
    expect((JSON.parse(listJson.stdout) as Array<{ campaignId: string }>).map((c) => c.campaignId).sort()).toEqual(['cli-issue-1', 'cli-issue-2']);
  });

  it('subscribers delete erases the subscriber and every delivery record; the campaign counts stay', async () => {
    await sending.campaigns.recordEvent('cli-issue-1', 'delivered', 'a@example.com', 'ses-message-a');
    const tableText = async () => {
      const items: unknown[] = [];
      let start: Record<string, unknown> | undefined;
      do {
        const page = await stack.deps.dynamo.send(new ScanCommand({ TableName: stack.info.tableName, ExclusiveStartKey: start as never }));
        items.push(...(page.Items ?? []));
        start = page.LastEvaluatedKey;
      } while (start);
      return JSON.stringify(items);
    };
    const before = await tableText();
    expect(before).toContain('a@example.com');
    const statusBefore = JSON.parse((await newsletter(env(), 'status', 'cli-issue-1', '--json')).stdout);

    const r = await newsletter(env(), 'subscribers', 'delete', 'a@Example.COM', '--json');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(EXIT.OK);
    // Two campaigns sent to a@ (one pair each) and one delivery event.
    expect(JSON.parse(r.stdout)).toEqual({ email: 'a@example.com', deleted: true, deliveryRecords: 3, sending: [] });

    const after = await tableText();
    expect(after).not.toContain('a@example.com');
    expect(after).toContain('b@example.com');
    const status = await newsletter(env(), 'status', 'cli-issue-1', '--json');
    expect(status.code).toBe(EXIT.OK);
    expect(JSON.parse(status.stdout)).toEqual(statusBefore);
    expect(await sending.campaigns.accounting('cli-issue-1')).toMatchObject({ sent: 3, delivered: 1 });

    const again = await newsletter(env(), 'subscribers', 'delete', 'a@example.com');
    expect(again.code).toBe(EXIT.NOT_FOUND);
    expect(again.stderr.trim().split('\n')).toEqual(['newsletter: no subscriber a@example.com']);

    // A campaign still sending may hold the address in a queued batch: the command says to run it again later.
    await sending.campaigns.start({ campaignId: 'in-flight', slug: 'in-flight', subject: 'In flight', audience: 2, now: new Date() });
    const inFlight = await newsletter(env(), 'subscribers', 'delete', 'b@example.com', '--json');
    expect(inFlight.code).toBe(EXIT.OK);
    expect(JSON.parse(inFlight.stdout)).toMatchObject({ email: 'b@example.com', deleted: true, sending: ['in-flight'] });
    expect(inFlight.stderr).toMatch(/^newsletter: campaign in-flight is still sending: run `newsletter subscribers delete b@example\.com` again once it has finished$/m);
  });
});
