/**
 * `newsletter send` follows a campaign by polling the table; when the local stack goes away meanwhile (killed,
 * Ctrl+C), the CLI exits 3 (unreachable) with one line saying how to continue, not 1 (failed): the campaign is
 * intact. The stack runs in this process at 2 emails/s so the send is still going when it stops.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../bin/commands/common.ts';
import { attachSendingToStack, type AttachedSending } from '../../lambdas/local/sending.ts';
import { startLocalStack, type LocalStack } from '../../lambdas/local/stack.ts';

const REPO = resolve(import.meta.dirname, '../..');
let dir: string;
let stack: LocalStack | undefined;
let sending: AttachedSending | undefined;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'newsletter-lost-'));
  stack = await startLocalStack({ port: 0, sesPort: 0, dynamoPort: 0, dataDir: join(dir, 'data'), persist: false });
  sending = attachSendingToStack(stack, { maxSendRate: 2 });
  const now = new Date();
  const consent = { at: now.toISOString(), method: 'import' as const, source: 'test' };
  for (let i = 0; i < 16; i++) await stack.deps.subscribers.importSubscriber({ email: `r${i}@lost.test`, status: 'confirmed', consent, now });
  writeFileSync(join(dir, 'issue.md'), '---\nslug: lost-1\ntitle: Lost 1\n---\n# Lost 1\n\n## News\n\n* [Link](https://example.com) text.\n');
});

afterAll(async () => {
  await sending?.stop();
  await stack?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('newsletter send when the stack goes away mid-send', { timeout: 120_000 }, () => {
  it('exits 3 with one line naming the campaign and `resume`, not 1', async () => {
    const run = new Promise<{ code: number | null; stdout: string; stderr: string }>((done) => {
      execFile(process.execPath, [join(REPO, 'bin/newsletter.mjs'), 'send', 'issue.md', '--json'], { cwd: dir, env: { ...process.env, DATA_DIR: join(dir, 'data') }, timeout: 90_000 }, (err, stdout, stderr) => {
        done({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
      });
    });
    // Stop the stack once the CLI is following a campaign that is sending (at 2/s, 16 recipients take 10 s).
    const deadline = Date.now() + 60_000;
    for (;;) {
      const c = await sending!.campaigns.get('lost-1');
      if (c?.status === 'SENDING' && c.fanoutComplete) break;
      if (Date.now() > deadline) throw new Error('the send never started');
      await new Promise((r) => setTimeout(r, 100));
    }
    const before = await sending!.campaigns.accounting('lost-1');
    expect(before!.queued).toBeGreaterThan(0);
    await sending!.stop();
    await stack!.stop();
    sending = undefined;
    stack = undefined;

    const r = await run;
    expect(r.code).toBe(EXIT.UNREACHABLE);
    expect(r.stdout).toBe('');
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^newsletter: lost the local stack while following lost-1 \(.+\): start it again with `npm start`, then `newsletter resume lost-1`$/);
  });
});
