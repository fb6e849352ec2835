/**
 * Browser-test support: Debian's Chromium driven by playwright-core (never a browser download), the local stack
 * started the way `npm start` starts it (a child process on a temporary DATA_DIR and free ports), and the page
 * checks the browser tests share (axe-core, visible focus).
 *
 *   const browser = await launchChromium();        // fails, never skips, when /usr/bin/chromium is missing
 *   const stack = await startNpmStack();           // reads DATA_DIR/stack.json, waits for GET /health
 *   ...
 *   await stack.stop(); await browser.close();
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { STACK_FILE, type StackInfo } from '../../lambdas/local/stack-info.ts';
import type { StoredEmail } from './emulators.ts';
import { REPO_ROOT } from './fixtures.ts';

// Page functions run in Chromium. The tsconfig has no DOM lib on purpose (the core must not use it), so the few
// globals they touch are declared here, for this module only.
declare const window: object;
declare const document: { activeElement: unknown };
declare function getComputedStyle(el: unknown): { outlineStyle: string; outlineWidth: string; outlineColor: string; boxShadow: string };

export const CHROMIUM_PATH = '/usr/bin/chromium';
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'];
/** Screenshots and other files a person may want to look at after a run (gitignored). */
export const ARTIFACTS_DIR = join(REPO_ROOT, 'test-artifacts');

/**
 * Launch headless Chromium from /usr/bin/chromium. Throws (the test fails) with the install command when it is
 * missing: a browser test that skips would pass without testing anything.
 */
export async function launchChromium(executablePath = CHROMIUM_PATH): Promise<Browser> {
  if (!existsSync(executablePath)) {
    throw new Error(`Chromium is missing at ${executablePath}: install it with \`apt-get install -y chromium fonts-noto-cjk\` (as root), or run .ci/run`);
  }
  // playwright-core creates (and removes) a fresh profile directory for each launch.
  return chromium.launch({ executablePath, headless: true, args: CHROMIUM_ARGS });
}

export interface NpmStack {
  info: StackInfo;
  dataDir: string;
  /** Environment for a CLI run against this stack (`DATA_DIR`). */
  env: Record<string, string>;
  /** What the child wrote so far (for failure messages). */
  output(): string;
  emails(): Promise<StoredEmail[]>;
  emailsTo(address: string): Promise<StoredEmail[]>;
  /** Poll the SES store until an email to `address` matches (throws with what arrived after `timeoutMs`). */
  waitForEmail(address: string, match: (e: StoredEmail) => boolean, timeoutMs?: number): Promise<StoredEmail>;
  /** Stop the child's whole process group and remove the temporary DATA_DIR. Safe to call twice. */
  stop(): Promise<void>;
}

/**
 * Start the local stack as `npm start` does (`node --import tsx lambdas/local/main.ts`) in its own process group, with
 * DATA_DIR a fresh temporary directory and PORT, SES_PORT, DYNAMODB_PORT 0 (free ports). Resolves once
 * DATA_DIR/stack.json names this child and GET /health answers.
 */
export async function startNpmStack(extraEnv: Record<string, string> = {}, timeoutMs = 90_000): Promise<NpmStack> {
  const dataDir = mkdtempSync(join(tmpdir(), 'newsletter-browser-'));
  const env = {
    ...process.env,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    DATA_DIR: dataDir,
    PORT: '0',
    SES_PORT: '0',
    DYNAMODB_PORT: '0',
    ...extraEnv,
  };
  const child = spawn(process.execPath, ['--import', 'tsx', 'lambdas/local/main.ts'], {
    cwd: REPO_ROOT,
    env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-20_000)));
  child.stderr?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-20_000)));
  const exited = new Promise<void>((done) => child.once('exit', () => done()));

  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      await killGroup(child, exited);
      rmSync(dataDir, { recursive: true, force: true });
    })());

  let info: StackInfo;
  try {
    info = await waitForStack(child, dataDir, timeoutMs, () => output);
  } catch (err) {
    await stop();
    throw err;
  }

  const emails = async () => {
    const res = await fetch(`${info.sesEndpoint}/store`);
    if (!res.ok) throw new Error(`SES emulator /store answered ${res.status}`);
    return ((await res.json()) as { emails: StoredEmail[] }).emails;
  };
  const emailsTo = async (address: string) => (await emails()).filter((e) => e.destination.to.some((to) => to.toLowerCase().includes(address.toLowerCase())));
  return {
    info,
    dataDir,
    env: { DATA_DIR: dataDir },
    output: () => output,
    emails,
    emailsTo,
    async waitForEmail(address, match, wait = 60_000) {
      const deadline = Date.now() + wait;
      for (;;) {
        const found = (await emailsTo(address)).find(match);
        if (found) return found;
        if (Date.now() > deadline) {
          const subjects = (await emailsTo(address)).map((e) => e.subject);
          throw new Error(`no matching email to ${address} after ${wait} ms; got: ${JSON.stringify(subjects)}`);
        }
        await sleep(200);
      }
    },
    stop,
  };
}

async function waitForStack(child: ChildProcess, dataDir: string, timeoutMs: number, output: () => string): Promise<StackInfo> {
  const file = join(dataDir, STACK_FILE);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`the local stack exited (${child.exitCode ?? child.signalCode}) before serving:\n${output().slice(-2000)}`);
    }
    if (existsSync(file)) {
      try {
        const info = JSON.parse(readFileSync(file, 'utf8')) as StackInfo;
        if (info.pid === child.pid) {
          const res = await fetch(`${info.baseUrl}/health`, { signal: AbortSignal.timeout(2000) });
          await res.arrayBuffer();
          if (res.ok) return info;
        }
      } catch {
        // Half-written file or server not listening yet: try again.
      }
    }
    if (Date.now() > deadline) throw new Error(`the local stack did not answer GET /health within ${timeoutMs} ms:\n${output().slice(-2000)}`);
    await sleep(100);
  }
}

/** SIGTERM the child's process group (it stops its emulators), SIGKILL after 10 s. */
async function killGroup(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.pid === undefined) return;
  const signal = (s: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, s);
    } catch {
      // The group is already gone.
    }
  };
  if (child.exitCode === null && child.signalCode === null) {
    signal('SIGTERM');
    const killed = await Promise.race([exited.then(() => true), sleep(10_000).then(() => false)]);
    if (!killed) {
      signal('SIGKILL');
      await exited;
    }
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

const AXE_PATH = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: Array<{ target: unknown[]; failureSummary?: string }>;
}

/**
 * Run axe-core in the page, limited to `rules`; returns the violations in a readable shape. Pages with a strict
 * Content-Security-Policy (ours) need a context created with `bypassCSP: true` for the injection.
 */
export async function axeViolations(page: Page, rules: string[]): Promise<AxeViolation[]> {
  if (!(await page.evaluate(() => 'axe' in window))) await page.addScriptTag({ path: AXE_PATH });
  const result = await page.evaluate(async (ids) => {
    const axe = (window as unknown as { axe: { run(ctx: unknown, opts: unknown): Promise<{ violations: unknown[]; passes: unknown[] }> } }).axe;
    return axe.run(document, { runOnly: { type: 'rule', values: ids }, resultTypes: ['violations', 'passes'] });
  }, rules);
  return (result.violations as AxeViolation[]).map((v) => ({
    id: v.id,
    impact: v.impact,
    help: v.help,
    nodes: v.nodes.map((n) => ({ target: n.target, failureSummary: n.failureSummary })),
  }));
}

/** The focus ring of an element as computed styles: outline and box-shadow. */
export interface FocusStyle {
  outlineStyle: string;
  outlineWidth: string;
  outlineColor: string;
  boxShadow: string;
}

/**
 * Press Tab from the top of the page until `selector` has focus, and return its ring style focused and unfocused.
 * Throws when Tab never reaches it (not keyboard reachable).
 */
export async function focusRingByKeyboard(page: Page, selector: string, maxTabs = 20): Promise<{ focused: FocusStyle; unfocused: FocusStyle }> {
  const read = () =>
    page.$eval(selector, (el) => {
      const s = getComputedStyle(el);
      return { outlineStyle: s.outlineStyle, outlineWidth: s.outlineWidth, outlineColor: s.outlineColor, boxShadow: s.boxShadow };
    });
  await page.evaluate(() => (document.activeElement as { blur?: () => void } | null)?.blur?.());
  const unfocused = await read();
  for (let i = 0; i < maxTabs; i++) {
    await page.keyboard.press('Tab');
    if (await page.$eval(selector, (el) => el === document.activeElement)) return { focused: await read(), unfocused };
  }
  throw new Error(`${selector} never received focus after ${maxTabs} Tab presses`);
}

/** True when the focus ring differs visibly from the unfocused state (an outline of some width, or a new shadow). */
export function focusIsVisible(s: { focused: FocusStyle; unfocused: FocusStyle }): boolean {
  const outline = s.focused.outlineStyle !== 'none' && parseFloat(s.focused.outlineWidth) >= 1;
  const outlineChanged = outline && (s.focused.outlineStyle !== s.unfocused.outlineStyle || s.focused.outlineWidth !== s.unfocused.outlineWidth || s.focused.outlineColor !== s.unfocused.outlineColor);
  const shadowChanged = s.focused.boxShadow !== 'none' && s.focused.boxShadow !== s.unfocused.boxShadow;
  return outlineChanged || shadowChanged;
}
