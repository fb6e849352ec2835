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
import { attachSchedulerToStack, type LocalScheduler } from '../../lambdas/local/schedules.ts';
import { startLocalStack, type LocalStack } from '../../lambdas/local/stack.ts';
import { PassThrough } from 'node:stream';
import { runSend, type CommandIo } from '../../bin/commands/send.ts';

const REPO = resolve(import.meta.dirname, '../..');
let dir: string;
let stack: LocalStack;
let sending: AttachedSending;
let scheduler: LocalScheduler;

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
  scheduler = attachSchedulerToStack(stack, sending);
  const now = new Date();
  const consent = { at: now.toISOString(), method: 'import' as const, source: 'test' };
  for (const email of ['a@example.com', 'b@example.com', 'c@example.com']) {
    await stack.deps.subscribers.importSubscriber({ email, status: 'confirmed', consent, now });
  }
  await stack.deps.subscribers.importSubscriber({ email: 'p@example.com', status: 'pending', consent, now });
  writeFileSync(join(dir, 'issue.md'), '---\nslug: cli-issue-1\ntitle: CLI Issue 1\n---\n# CLI Issue 1\n\n## News\n\n* [Link](https://example.com) text.\n');
});

afterAll(async () => {
  await scheduler?.stop();
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

/** A time `ms` from now in ISO 8601 with a +01:00 offset (not UTC), as an operator in Paris would write it. */
function inParis(ms: number): string {
  const local = new Date(Date.now() + ms + 3_600_000).toISOString().slice(0, 19);
  return `${local}+01:00`;
}

async function waitFor<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function issueFile(name: string, slug: string): string {
  writeFileSync(join(dir, name), `---\nslug: ${slug}\ntitle: ${slug}\n---\n# ${slug}\n\n## News\n\n* [Link](https://example.com) text.\n`);
  return name;
}

describe('newsletter send --at / status / cancel (local scheduled sends)', { timeout: 120_000 }, () => {
  beforeAll(async () => {
    const now = new Date();
    const consent = { at: now.toISOString(), method: 'import' as const, source: 'test' };
    for (const email of ['s1@example.com', 's2@example.com']) await stack.deps.subscribers.importSubscriber({ email, status: 'confirmed', consent, now });
  });

  it('schedules a send, lists it as SCHEDULED, and the local stack fires it when due', async () => {
    const file = issueFile('sched.md', 'cli-sched-1');
    // Far enough ahead for the CLI to start and the checks below to run on a loaded machine.
    const r = await newsletter(env(), 'send', file, '--at', inParis(15_000));
    expect(r.stderr).toBe('');
    expect(r.code).toBe(EXIT.OK);
    expect(r.stdout).toMatch(/^Scheduled cli-sched-1 \("cli-sched-1"\) for \d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d)?Z on the local stack; cancel with `newsletter cancel cli-sched-1`\n$/);
    // Nothing is sent yet, and the schedule is listed.
    expect(await sending.campaigns.get('cli-sched-1')).toBeUndefined();
    const [list, one] = await Promise.all([newsletter(env(), 'status'), newsletter(env(), 'status', 'cli-sched-1', '--json')]);
    expect(list.stdout).toMatch(/^cli-sched-1\tSCHEDULED\t-\t\d{4}-.*Z\tcli-sched-1$/m);
    expect(JSON.parse(one.stdout)).toMatchObject({ campaignId: 'cli-sched-1', status: 'SCHEDULED' });
    expect(one.code).toBe(EXIT.OK);

    // Fired by the stack's timer: the campaign goes out to every confirmed subscriber, and the schedule is gone.
    const sent = await waitFor('the scheduled campaign to be sent', async () => {
      const c = await sending.campaigns.get('cli-sched-1');
      return c?.status === 'SENT' ? c : undefined;
    });
    expect(sent.audience).toBe(await stack.deps.subscribers.countConfirmed());
    const after = await newsletter(env(), 'status');
    expect(after.stdout).toMatch(/^cli-sched-1\tSENT\t/m);
    expect(after.stdout).not.toMatch(/SCHEDULED/);
    expect(scheduler.pending()).toEqual([]);
  });

  it('cancel removes a pending schedule; a second cancel and an unknown campaign exit 4', async () => {
    const file = issueFile('later.md', 'cli-sched-2');
    const r = await newsletter(env(), 'send', file, '--at', inParis(86_400_000), '--json');
    expect(r.code).toBe(EXIT.OK);
    expect(JSON.parse(r.stdout)).toMatchObject({ campaignId: 'cli-sched-2', status: 'SCHEDULED' });
    // Scheduling it again is refused: one schedule per campaign.
    const again = await newsletter(env(), 'send', file, '--at', inParis(7_200_000));
    expect(again.code).toBe(EXIT.BAD_INPUT);
    expect(again.stderr).toMatch(/^newsletter: cli-sched-2 is already scheduled for .*: cancel it first with `newsletter cancel cli-sched-2`\n$/);

    const cancel = await newsletter(env(), 'cancel', 'cli-sched-2');
    expect(cancel.code).toBe(EXIT.OK);
    expect(cancel.stdout).toMatch(/^Cancelled the scheduled send of cli-sched-2 \(was due .*Z\)\n$/);
    expect(scheduler.pending().map((s) => s.Name)).not.toContain('cli-sched-2');
    const [twice, unknown, status] = await Promise.all([
      newsletter(env(), 'cancel', 'cli-sched-2'),
      newsletter(env(), 'cancel', 'never-scheduled'),
      newsletter(env(), 'status', 'cli-sched-2'),
    ]);
    for (const x of [twice, unknown, status]) expect(x.code).toBe(EXIT.NOT_FOUND);
    expect(twice.stderr).toBe('newsletter: no scheduled send for cli-sched-2 (list them with `newsletter status`)\n');
    expect(await sending.campaigns.get('cli-sched-2')).toBeUndefined();
  });

  it('refuses a time without an offset, in the past, or with --dry-run, and a campaign that exists, with one line and exit 2', async () => {
    const file = issueFile('bad-at.md', 'cli-sched-3');
    const [noOffset, past, withDryRun, exists] = await Promise.all([
      newsletter(env(), 'send', file, '--at', '2099-12-24T09:00'),
      newsletter(env(), 'send', file, '--at', '2020-12-24T09:00+01:00'),
      newsletter(env(), 'send', file, '--at', inParis(60_000), '--dry-run'),
      newsletter(env(), 'send', 'issue.md', '--at', inParis(60_000)),
    ]);
    for (const x of [noOffset, past, withDryRun, exists]) {
      expect(x.code).toBe(EXIT.BAD_INPUT);
      expect(x.stdout).toBe('');
      expect(x.stderr.trim().split('\n')).toHaveLength(1);
    }
    expect(noOffset.stderr).toMatch(/^newsletter: --at 2099-12-24T09:00: it has no time zone offset; give an ISO 8601 time with an offset/);
    expect(past.stderr).toMatch(/^newsletter: --at 2020-12-24T09:00\+01:00 is in the past \(it is 20\d\d-/);
    expect(withDryRun.stderr).toMatch(/cannot be combined with --dry-run/);
    expect(exists.stderr).toMatch(/^newsletter: cli-issue-1 already exists \(SENT\): there is nothing to schedule\n$/);
    expect(scheduler.pending()).toEqual([]);
  });
});

/** A fake terminal: stdin and stderr claim to be TTYs; what is written is collected. */
function terminalIo(answer: string | undefined): CommandIo & { out: () => string; err: () => string; code: () => number | undefined } {
  const stdin = Object.assign(new PassThrough(), { isTTY: true });
  let out = '';
  let err = '';
  let code: number | undefined;
  const stderr = Object.assign(new PassThrough(), { isTTY: true });
  stderr.on('data', (d: Buffer) => {
    err += d.toString();
    // Answer once the question is on the screen, as a person would.
    if (answer !== undefined && /\[y\/N\] $/.test(err)) {
      stdin.end(`${answer}\n`);
      answer = undefined;
    }
  });
  const stdout = new PassThrough();
  stdout.on('data', (d: Buffer) => (out += d.toString()));
  return { stdin, stdout, stderr, env: env(), now: () => new Date(), exit: (c) => void (code = c), out: () => out, err: () => err, code: () => code };
}

describe('newsletter send on a terminal (fake TTY streams, in process)', { timeout: 120_000 }, () => {
  it('shows the plan and asks; "n" sends nothing and exits 1', async () => {
    const io = terminalIo('n');
    await runSend(join(dir, issueFile('tty-1.md', 'cli-tty-1')), {}, io);
    expect(io.err()).toMatch(/^Send plan for cli-tty-1: "cli-tty-1"\n {2}audience {5}\d+ confirmed subscribers\n {2}suppressed/);
    expect(io.err()).toMatch(/ETA .*\n {2}SES cost {5}\$\d/);
    expect(io.err()).toMatch(/Send it to \d+ subscribers now\? \[y\/N\] newsletter: nothing sent\n$/);
    expect(io.code()).toBe(EXIT.FAILED);
    expect(io.out()).toBe('');
    expect(await sending.campaigns.get('cli-tty-1')).toBeUndefined();
  });

  it('"y" sends, then follows the campaign to the accounting', async () => {
    const io = terminalIo('y');
    await runSend(join(dir, issueFile('tty-2.md', 'cli-tty-2')), { json: true }, io);
    expect(io.err()).toMatch(/\[y\/N\] $/);
    expect(io.code()).toBe(EXIT.OK);
    expect(JSON.parse(io.out())).toMatchObject({ campaignId: 'cli-tty-2', queued: 0 });
    expect((await sending.campaigns.get('cli-tty-2'))?.status).toBe('SENT');
  });

  it('--at: a time that passes while the question waits is refused when answered, and nothing is scheduled', async () => {
    const io = terminalIo('y');
    // The clock reads now for --at, then an hour later when the answer comes.
    const start = Date.now();
    let reads = 0;
    io.now = () => new Date(start + (reads++ === 0 ? 0 : 3_600_000));
    const at = new Date(start + 600_000).toISOString();
    await expect(runSend(join(dir, issueFile('tty-5.md', 'cli-tty-5')), { at }, io)).rejects.toThrow(/has passed meanwhile: nothing was scheduled/);
    expect(io.err()).toMatch(/\[y\/N\] $/);
    const status = await newsletter(env(), 'status', 'cli-tty-5');
    expect(status.code).toBe(EXIT.NOT_FOUND);
  });

  it('--yes skips the question; a closed input (Ctrl+D) counts as no', async () => {
    const yes = terminalIo(undefined);
    await runSend(join(dir, issueFile('tty-3.md', 'cli-tty-3')), { yes: true, json: true }, yes);
    expect(yes.err()).toBe('');
    expect(yes.code()).toBe(EXIT.OK);
    expect(JSON.parse(yes.out())).toMatchObject({ campaignId: 'cli-tty-3', queued: 0 });

    const eof = terminalIo(undefined);
    (eof.stdin as PassThrough).end();
    await runSend(join(dir, issueFile('tty-4.md', 'cli-tty-4')), {}, eof);
    expect(eof.code()).toBe(EXIT.FAILED);
    expect(await sending.campaigns.get('cli-tty-4')).toBeUndefined();
  });
});
