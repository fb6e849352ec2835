/**
 * The reader-facing pages (subscribe, check inbox, confirm, confirmed, unsubscribe, unsubscribed, error) in
 * Chromium, checked with axe-core injected into the page (labels, contrast, title, names) and for a visible
 * keyboard focus: Tab to each control and compare its outline and box-shadow with the unfocused state.
 * The pages come from a local stack started in this process on free ports (the HTTP server and handlers
 * `npm start` serves); the tokens are real ones.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { systemClock } from '../../lambdas/core/ports.ts';
import { unsubscribeTokenSigner } from '../../lambdas/core/sending/unsubscribe-token.ts';
import { startLocalStack, type LocalStack } from '../../lambdas/local/stack.ts';
import { axeViolations, focusIsVisible, focusRingByKeyboard, launchChromium } from '../support/browser.ts';
import { tokenFromEmail, type StoredEmail } from '../support/emulators.ts';

const RULES = ['label', 'color-contrast', 'document-title', 'html-has-lang', 'button-name', 'link-name', 'page-has-heading-one'];
const READER = `a11y-${process.pid}@example.com`;

let browser: Browser;
/** bypassCSP: the pages forbid every script (default-src 'none'); axe is injected by the test, not the page. */
let context: BrowserContext;
let stack: LocalStack;
let dataDir: string;
/** Page name → its title, to check that titles differ. */
const titles = new Map<string, string>();

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'newsletter-a11y-'));
  [browser, stack] = await Promise.all([
    launchChromium(),
    startLocalStack({ port: 0, sesPort: 0, dynamoPort: 0, dataDir, persist: false, writeStackFile: false }),
  ]);
  context = await browser.newContext({ bypassCSP: true });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

async function confirmationEmail(to: string): Promise<StoredEmail> {
  for (let i = 0; i < 100; i++) {
    const { emails } = (await (await fetch(`${stack.urls.sesEndpoint}/store`)).json()) as { emails: StoredEmail[] };
    const found = emails.find((e) => e.destination.to.includes(to));
    if (found) return found;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no confirmation email to ${to}`);
}

/** Run the checks every page must pass; `controls` are the selectors a keyboard user must see focused. */
async function checkPage(page: Page, name: string, titleWord: RegExp, controls: string[]): Promise<void> {
  // Meaningful title: says what the page is, and whose
  const title = await page.title();
  expect(title, `${name} title`).toMatch(titleWord);
  expect(title, `${name} title`).toContain("Akira's ML News");
  titles.set(name, title);

  // axe: labels, contrast, title, names
  expect(await axeViolations(page, RULES), `${name}: axe violations`).toEqual([]);

  // Visible focus, reached by keyboard
  for (const selector of controls) {
    const ring = await focusRingByKeyboard(page, selector);
    expect(focusIsVisible(ring), `${name}: ${selector} shows focus (${JSON.stringify(ring)})`).toBe(true);
  }
}

async function submit(page: Page, button: string | RegExp): Promise<number> {
  const [res] = await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: button }).click()]);
  return res?.status() ?? 0;
}

describe('reader pages: labels, contrast, title and visible focus (axe-core in Chromium)', { timeout: 90_000 }, () => {
  it('subscribe form, its error state and "check your inbox"', async () => {
    const page = await context.newPage();
    expect((await page.goto(`${stack.urls.baseUrl}/subscribe`))?.status()).toBe(200);
    await checkPage(page, 'subscribe', /subscribe/i, ['#email', '#name', 'button[type=submit]']);

    // A refused address: the page comes back with the error, still labelled and readable
    await page.fill('#email', 'not an address');
    await page.$eval('form', (f: { noValidate: boolean }) => (f.noValidate = true)); // let the server judge it
    expect(await submit(page, 'Subscribe')).toBe(400);
    expect(await page.getAttribute('#email', 'aria-invalid')).toBe('true');
    await checkPage(page, 'subscribe-error', /subscribe/i, ['#email']);

    await page.fill('#email', READER);
    expect(await submit(page, 'Subscribe')).toBe(200);
    await checkPage(page, 'check-inbox', /inbox/i, []);
    await page.close();
  });

  it('confirm page and "confirmed"', async () => {
    const token = tokenFromEmail((await confirmationEmail(READER)).body.html ?? '', '/confirm');
    const page = await context.newPage();
    expect((await page.goto(`${stack.urls.baseUrl}/confirm?token=${encodeURIComponent(token)}`))?.status()).toBe(200);
    await checkPage(page, 'confirm', /confirm/i, ['button[type=submit]']);
    expect(await submit(page, /confirm/i)).toBe(200);
    await checkPage(page, 'confirmed', /confirmed/i, []);
    await page.close();
  });

  it('unsubscribe page, "unsubscribed" and the invalid-link error page', async () => {
    const token = await unsubscribeTokenSigner(stack.deps.tokenKeys, systemClock)(READER);
    const page = await context.newPage();
    expect((await page.goto(`${stack.urls.baseUrl}/unsubscribe?token=${encodeURIComponent(token)}`))?.status()).toBe(200);
    await checkPage(page, 'unsubscribe', /unsubscribe/i, ['button[type=submit]']);
    expect(await submit(page, 'Unsubscribe')).toBe(200);
    await checkPage(page, 'unsubscribed', /unsubscribed/i, ['a[href$="/subscribe"]']);

    expect((await page.goto(`${stack.urls.baseUrl}/confirm?token=broken`))?.status()).toBe(400);
    await checkPage(page, 'error', /not valid/i, ['a[href$="/subscribe"]']);
    await page.close();
  });

  it('each page has its own title', () => {
    expect(titles.size).toBe(8);
    const distinct = new Set([...titles].filter(([name]) => name !== 'subscribe-error').map(([, t]) => t));
    expect(distinct.size).toBe(titles.size - 1);
  });

  it('the checks can fail: an unlabelled input, grey-on-white text and a focus ring removed are all caught', async () => {
    const page = await context.newPage();
    await page.setContent(
      '<!doctype html><html lang="en"><head><title>Bad page</title><style>button:focus{outline:none}</style></head>' +
        '<body><main><h1>Bad</h1><p style="color:#bbb">faint</p><input id="x" type="email"><button>Go</button></main></body></html>',
    );
    const ids = (await axeViolations(page, RULES)).map((v) => v.id).sort();
    expect(ids).toEqual(['color-contrast', 'label']);
    expect(focusIsVisible(await focusRingByKeyboard(page, 'button'))).toBe(false);
    await page.close();
  });
});
