/**
 * `npm start` end to end: spawns lambdas/local/main.ts (what `npm start` runs) on fresh temporary data directories
 * and free ports, and checks what it did through the SES emulator's store, DynamoDB and its own output.
 * The SES emulator keeps its store in memory, inside the main process: the store is read while a serving run is
 * up, and a second run's empty store is what "sends nothing new" means.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

/** Each test spawns one to three `npm start` processes; on two shared cores a start can take several seconds. */
const SLOW = { timeout: 180_000 };
import { STACK_FILE, type StackInfo } from '../../lambdas/local/stack-info.ts';
import { localDeps } from '../../lambdas/runtime/local.ts';
import type { StoredEmail } from '../support/emulators.ts';
import { REPO_ROOT } from '../support/fixtures.ts';

const MAIN = join(REPO_ROOT, 'lambdas/local/main.ts');
/**
 * `node --import tsx main.ts` runs the same code as `npm start` (`tsx main.ts`) in one process. The tsx CLI is a
 * parent process that relays SIGTERM and SIGKILLs its child when the child does not acknowledge within 60 ms, which
 * a loaded machine misses: with it the clean-stop assertions would test tsx, not main.ts.
 */
const NODE_ARGS = ['--import', 'tsx', MAIN];

/** The demo addresses, read straight from the CSV (first column, header skipped): what the run must import. */
const DEMO_EMAILS = readFileSync(join(REPO_ROOT, 'content/demo-subscribers.csv'), 'utf8')
  .split(/\r?\n/)
  .slice(1)
  .filter((l) => l.trim())
  .map((l) => l.split(',')[0]!.trim().toLowerCase())
  .sort();
const ACCOUNTING_LINE = new RegExp(`audience ${DEMO_EMAILS.length} · sent ${DEMO_EMAILS.length} · skipped 0 · failed 0`);

const dirs: string[] = [];
const running = new Set<ChildProcess>();

function freshDataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'npm-start-'));
  dirs.push(dir);
  return dir;
}

function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };
  for (const name of ['PORT', 'SES_PORT', 'DYNAMODB_PORT', 'DATA_DIR', 'SENDER', 'PUBLIC_BASE_URL', 'POSTAL_ADDRESS']) delete env[name];
  return { ...env, PORT: '0', SES_PORT: '0', DYNAMODB_PORT: '0', ...extra };
}

interface Run {
  proc: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exit: Promise<number | null>;
}

function start(args: string[], env: Record<string, string>): Run {
  const proc = spawn(process.execPath, [...NODE_ARGS, ...args], { cwd: REPO_ROOT, env: childEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(proc);
  let out = '';
  let err = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exit = new Promise<number | null>((resolve) =>
    proc.once('close', (code) => {
      running.delete(proc);
      resolve(code);
    }),
  );
  return { proc, stdout: () => out, stderr: () => err, exit };
}

async function runToEnd(args: string[], env: Record<string, string>) {
  const run = start(args, env);
  const code = await run.exit;
  return { code, stdout: run.stdout(), stderr: run.stderr() };
}

/** Start a serving run and wait for its `Ready:` line (or fail with its output if it exits first). */
async function serve(dataDir: string, args: string[] = []): Promise<Run & { info: StackInfo }> {
  const run = start(args, { DATA_DIR: dataDir });
  const ready = new Promise<void>((resolve) => {
    const check = () => (/^Ready:/m.test(run.stdout()) ? resolve() : undefined);
    run.proc.stdout!.on('data', check);
  });
  const exited = run.exit.then((code) => {
    throw new Error(`npm start exited (${code}) before it was ready:\n${run.stdout()}\n${run.stderr()}`);
  });
  await Promise.race([ready, exited]);
  exited.catch(() => undefined);
  const info = JSON.parse(readFileSync(join(dataDir, STACK_FILE), 'utf8')) as StackInfo;
  return { ...run, info };
}

async function sesStore(info: StackInfo): Promise<StoredEmail[]> {
  const res = await fetch(`${info.sesEndpoint}/store`);
  return ((await res.json()) as { emails: StoredEmail[] }).emails;
}

afterAll(async () => {
  for (const proc of running) proc.kill('SIGKILL');
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('npm start -- --once', () => {
  const dataDir = freshDataDir();

  it('sends the seed issue to the demo subscribers on a fresh data directory and exits 0 with the accounting', SLOW, async () => {
    // Act
    const first = await runToEnd(['--once'], { DATA_DIR: dataDir });
    // Assess
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(new RegExp(`${DEMO_EMAILS.length} demo subscribers: ${DEMO_EMAILS.length} imported, 0 already present`));
    expect(first.stdout).toMatch(/Seed issue\s+issue-31 · /);
    expect(first.stdout).toMatch(ACCOUNTING_LINE);
    expect(first.stdout).toMatch(/Inbox \(SES\)\s+http:\/\/127\.0\.0\.1:\d+\//);
    expect(first.stdout).toMatch(/Subscribe\s+http:\/\/127\.0\.0\.1:\d+\/subscribe/);
    expect(first.stdout).toMatch(/Archive\s+http:\/\/127\.0\.0\.1:\d+\/archive/);
    expect(first.stdout).toMatch(/accounting adds up/);
    expect(first.stderr).toBe('');
    // stack.json is removed on the way out.
    expect(existsSync(join(dataDir, STACK_FILE))).toBe(false);
  });

  it('sends nothing new on a second run over the same data directory, and still exits 0', SLOW, async () => {
    // Act: a serving run, so that its SES store can be read.
    const again = await serve(dataDir);
    try {
      // Assess
      expect(again.stdout()).toMatch(/already sent, nothing new/);
      expect(again.stdout()).toMatch(ACCOUNTING_LINE);
      expect(again.stdout()).toMatch(new RegExp(`0 imported, ${DEMO_EMAILS.length} already present`));
      expect(await sesStore(again.info)).toEqual([]);
    } finally {
      again.proc.kill('SIGTERM');
    }
    expect(await again.exit).toBe(0);
    const once = await runToEnd(['--once'], { DATA_DIR: dataDir });
    expect(once.code, once.stderr).toBe(0);
    expect(once.stdout).toMatch(/already sent, nothing new/);
  });
});

describe('npm start (serving)', () => {
  it('puts exactly one email per demo subscriber in the SES inbox, serves the archive, and stops cleanly on SIGTERM', SLOW, async () => {
    // Prepare
    const dataDir = freshDataDir();
    // Act
    const run = await serve(dataDir);
    try {
      // Assess: the inbox.
      const emails = await sesStore(run.info);
      expect(emails.flatMap((e) => e.destination.to).map((t) => t.toLowerCase()).sort()).toEqual(DEMO_EMAILS);
      expect(new Set(emails.map((e) => e.subject)).size).toBe(1);
      expect(run.stdout()).toMatch(ACCOUNTING_LINE);
      // The subscribers: confirmed, consent source `demo`.
      const deps = localDeps(run.info);
      try {
        for (const email of DEMO_EMAILS) {
          expect(await deps.subscribers.get(email)).toMatchObject({ status: 'confirmed', consent: { method: 'import', source: 'demo' } });
        }
      } finally {
        deps.destroy();
      }
      // The archive lists the seed issue, and the subscribe form is live.
      const archive = await fetch(`${run.info.baseUrl}/archive`);
      expect(archive.status).toBe(200);
      expect(await archive.text()).toContain('href="/archive/issue-31"');
      expect((await fetch(`${run.info.baseUrl}/subscribe`)).status).toBe(200);
    } finally {
      run.proc.kill('SIGTERM');
    }
    expect(await run.exit).toBe(0);
    expect(existsSync(join(dataDir, STACK_FILE))).toBe(false);
  });
});

describe('npm start -- --empty', () => {
  it('imports no demo subscribers and sends nothing; --once exits 0', SLOW, async () => {
    // Act
    const once = await runToEnd(['--empty', '--once'], { DATA_DIR: freshDataDir() });
    // Assess
    expect(once.code, once.stderr).toBe(0);
    expect(once.stdout).toMatch(/Subscribers\s+no demo subscribers \(--empty\)/);
    expect(once.stdout).toMatch(/Seed issue\s+none \(--empty\)/);
    expect(once.stdout).not.toMatch(/Send\s+audience/);
    expect(once.stdout).toMatch(/nothing was sent \(--empty --once\)/);
    expect(once.stderr).toBe('');
  });

  it('serves an empty stack: no subscriber, no campaign, an empty inbox', SLOW, async () => {
    const run = await serve(freshDataDir(), ['--empty']);
    try {
      expect(await sesStore(run.info)).toEqual([]);
      const deps = localDeps(run.info);
      try {
        expect(await deps.subscribers.get(DEMO_EMAILS[0]!)).toBeUndefined();
        expect(await deps.subscribers.countConfirmed()).toBe(0);
      } finally {
        deps.destroy();
      }
      const archive = await fetch(`${run.info.baseUrl}/archive`);
      expect(await archive.text()).not.toContain('href="/archive/issue-31"');
    } finally {
      run.proc.kill('SIGTERM');
    }
    expect(await run.exit).toBe(0);
  });
});

describe('npm start: usage', () => {
  it('prints usage for --help and exits 0', SLOW, async () => {
    const r = await runToEnd(['--help'], { DATA_DIR: freshDataDir() });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: npm start/);
    expect(r.stdout).toMatch(/--once/);
    expect(r.stdout).toMatch(/--empty/);
    expect(r.stdout).toMatch(/DATA_DIR/);
  });

  it('refuses a bad port, an unusable DATA_DIR or an unknown argument with one line and exit 2', SLOW, async () => {
    const badPort = await runToEnd(['--once'], { DATA_DIR: freshDataDir(), PORT: 'eighty' });
    expect(badPort.code).toBe(2);
    expect(badPort.stderr).toBe('npm start: PORT=eighty is not a port number (0-65535)\n');
    expect(badPort.stdout).toBe('');
    const file = join(freshDataDir(), 'not-a-dir');
    writeFileSync(file, '');
    const badDir = await runToEnd(['--once'], { DATA_DIR: file });
    expect(badDir.code).toBe(2);
    expect(badDir.stderr).toMatch(/^npm start: DATA_DIR=.*not-a-dir is not a writable directory \(\w+\)\n$/);
    const badArg = await runToEnd(['--twice'], { DATA_DIR: freshDataDir() });
    expect(badArg.code).toBe(2);
    expect(badArg.stderr.trim().split('\n')).toHaveLength(1);
    expect(badArg.stderr).toMatch(/unknown argument "--twice"/);
  });
});
