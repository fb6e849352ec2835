/**
 * A person subscribes, confirms, receives an issue and leaves, in Chromium, against the local stack started the
 * way `npm start` starts it (child process, temporary DATA_DIR, free ports). Once with JavaScript and once
 * without: the pages are plain forms and must work either way.
 *
 * Emails are found in the SES emulator's store by recipient address (unique per run), so whatever else the stack
 * sends at start (demo subscribers, a seed issue) does not matter.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { EXIT } from '../../bin/commands/common.ts';
import { decodeEntities } from '../../lambdas/core/issue/render.ts';
import { parseIssue } from '../../lambdas/core/issue/parse.ts';
import { localDeps, type LocalDeps } from '../../lambdas/runtime/local.ts';
import { launchChromium, startNpmStack, type NpmStack } from '../support/browser.ts';
import type { StoredEmail } from '../support/emulators.ts';
import { REPO_ROOT, fixturePath } from '../support/fixtures.ts';

/** Not the seed issue (031), so the send is new even if the stack sends the seed at start. */
const ISSUE_FILE = fixturePath('issues', 'akira-ml-news-033.md');
const RUN = `${process.pid}-${Date.now().toString(36)}`;
const READER_JS = `reader-js-${RUN}@example.com`;
const READER_NOJS = `reader-nojs-${RUN}@example.com`;

let browser: Browser;
let stack: NpmStack;
let deps: LocalDeps;
let withJs: BrowserContext;
let withoutJs: BrowserContext;
let issueSubject: string;
const issueEmails = new Map<string, StoredEmail>();

beforeAll(async () => {
  [browser, stack] = await Promise.all([launchChromium(), startNpmStack()]);
  deps = localDeps(stack.info);
  withJs = await browser.newContext();
  withoutJs = await browser.newContext({ javaScriptEnabled: false });
  issueSubject = parseIssue(readFileSync(ISSUE_FILE, 'utf8')).issue.subject;
}, 120_000);

afterAll(async () => {
  await withJs?.close();
  await withoutJs?.close();
  await browser?.close();
  deps?.destroy();
  await stack?.stop();
});

/** The first link to `path` (`/confirm` or `/unsubscribe`) in an email's HTML, entities decoded. */
function linkIn(email: StoredEmail, path: string): string {
  const html = email.body.html ?? '';
  const hrefs = [...html.matchAll(/\shref="([^"]*)"/g)].map((m) => decodeEntities(m[1]!));
  const link = hrefs.find((h) => new URL(h, 'http://x').pathname === path && h.includes('token='));
  if (!link) throw new Error(`no ${path}?token= link in "${email.subject}"`);
  return link;
}

function header(email: StoredEmail, name: string): string | undefined {
  return email.headers?.find((h) => h.name.toLowerCase() === name.toLowerCase())?.value;
}

async function openPage(context: BrowserContext, url: string): Promise<{ page: Page; status: number }> {
  const page = await context.newPage();
  const res = await page.goto(url);
  return { page, status: res?.status() ?? 0 };
}

/** Submit a form by clicking its button, as a person would, and wait for the page it leads to. */
async function clickAndWait(page: Page, name: string | RegExp): Promise<number> {
  const [res] = await Promise.all([page.waitForNavigation(), page.getByRole('button', { name }).click()]);
  return res?.status() ?? 0;
}

async function subscribeAndConfirm(context: BrowserContext, address: string): Promise<void> {
  // Prepare: the form
  const { page, status } = await openPage(context, `${stack.info.baseUrl}/subscribe`);
  expect(status).toBe(200);
  await page.getByLabel('Email address').fill(address);
  await page.getByLabel(/Name/).fill('Browser Reader');

  // Act: submit
  expect(await clickAndWait(page, 'Subscribe')).toBe(200);

  // Assess: the page says to check the inbox, and the subscriber waits for confirmation
  await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toMatch(/check your inbox/i);
  expect(await deps.subscribers.getStatus(address)).toBe('pending');

  // Act: open the emailed link and press the button
  const confirmation = await stack.waitForEmail(address, (e) => (e.body.html ?? '').includes('/confirm?token'));
  const link = linkIn(confirmation, '/confirm');
  expect(link.startsWith(stack.info.baseUrl)).toBe(true);
  const confirm = await openPage(context, link);
  expect(confirm.status).toBe(200);
  expect(await deps.subscribers.getStatus(address)).toBe('pending'); // GET never changes state (mail scanners)
  expect(await clickAndWait(confirm.page, /confirm/i)).toBe(200);

  // Assess
  await expect(confirm.page.getByRole('heading', { level: 1 }).textContent()).resolves.toMatch(/subscribed/i);
  expect(await confirm.page.textContent('main')).toContain(address);
  expect(await deps.subscribers.getStatus(address)).toBe('confirmed');
  await page.close();
  await confirm.page.close();
}

/**
 * `newsletter send <issue> --json --force` against the running stack (found through DATA_DIR), as the operator
 * would. `--force`: the fixture is a Medium export whose relative images are authoring errors (left out of the email).
 */
function newsletterSend(file: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(process.execPath, ['bin/newsletter.mjs', 'send', file, '--json', '--force'], { cwd: REPO_ROOT, env: { ...process.env, ...stack.env }, timeout: 180_000 }, (err, stdout, stderr) => {
      done({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

// Each step waits on real emails and a real send on two shared cores: more room than the 30 s default.
describe('a reader in Chromium, against the stack `npm start` runs', { timeout: 120_000 }, () => {
  it('subscribes with the form, sees "check your inbox", confirms from the email and is confirmed', async () => {
    await subscribeAndConfirm(withJs, READER_JS);
  });

  it('does the same with JavaScript disabled', async () => {
    // Prepare: the context really runs no script
    const probe = await withoutJs.newPage();
    await probe.setContent('<title>off</title><script>document.title = "on"</script>');
    expect(await probe.title()).toBe('off');
    await probe.close();

    await subscribeAndConfirm(withoutJs, READER_NOJS);
  });

  it('receives the next issue, with List-Unsubscribe and List-Unsubscribe-Post headers', async () => {
    // Act: the operator sends the next issue to the running stack
    const sent = await newsletterSend(ISSUE_FILE);
    expect(sent.stderr).toBe('');
    expect(sent.code).toBe(EXIT.OK);
    expect(JSON.parse(sent.stdout)).toMatchObject({ queued: 0, failed: 0 });

    // Assess: each confirmed reader got exactly one copy, with the RFC 8058 headers
    for (const address of [READER_JS, READER_NOJS]) {
      const email = await stack.waitForEmail(address, (e) => e.subject === issueSubject);
      expect((await stack.emailsTo(address)).filter((e) => e.subject === issueSubject)).toHaveLength(1);
      const listUnsubscribe = header(email, 'List-Unsubscribe');
      expect(listUnsubscribe).toMatch(/^<https?:\/\/[^>]*\/unsubscribe\?token=[^>]+>/);
      expect(header(email, 'List-Unsubscribe-Post')).toBe('List-Unsubscribe=One-Click');
      expect(linkIn(email, '/unsubscribe').startsWith(stack.info.baseUrl)).toBe(true);
      issueEmails.set(address, email);
    }
  });

  for (const [label, address, context] of [
    ['with JavaScript', READER_JS, () => withJs],
    ['with JavaScript disabled', READER_NOJS, () => withoutJs],
  ] as const) {
    it(`unsubscribes from the email's link ${label}; opening the link again changes nothing`, async () => {
      // Prepare
      const email = issueEmails.get(address);
      expect(email, 'the issue email arrived (previous test)').toBeDefined();
      const link = linkIn(email!, '/unsubscribe');

      // Act: open the link, press the button
      const first = await openPage(context(), link);
      expect(first.status).toBe(200);
      expect(await first.page.textContent('main')).toContain(address);
      expect(await deps.subscribers.getStatus(address)).toBe('confirmed'); // GET never changes state
      expect(await clickAndWait(first.page, 'Unsubscribe')).toBe(200);

      // Assess
      await expect(first.page.getByRole('heading', { level: 1 }).textContent()).resolves.toMatch(/unsubscribed/i);
      expect(await deps.subscribers.getStatus(address)).toBe('unsubscribed');
      const emailsBefore = (await stack.emailsTo(address)).length;

      // Act: reload the result, then open the link and press the button again
      const reloaded = await first.page.reload();
      expect(reloaded?.status() ?? 0).toBeLessThan(500);
      const again = await openPage(context(), link);
      expect(again.status).toBe(200);
      expect(await clickAndWait(again.page, 'Unsubscribe')).toBe(200);

      // Assess: same page, same status, nothing sent
      await expect(again.page.getByRole('heading', { level: 1 }).textContent()).resolves.toMatch(/unsubscribed/i);
      expect(await deps.subscribers.getStatus(address)).toBe('unsubscribed');
      expect(await stack.emailsTo(address)).toHaveLength(emailsBefore);
      await first.page.close();
      await again.page.close();
    });
  }

  it('stopping the stack leaves no process and no data directory behind', async () => {
    const { pid } = stack.info;
    await stack.stop();
    expect(() => process.kill(-pid, 0)).toThrow(expect.objectContaining({ code: 'ESRCH' }));
    expect(existsSync(stack.dataDir)).toBe(false);
  });
});
