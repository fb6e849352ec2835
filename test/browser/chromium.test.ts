/**
 * The browser tests need Debian's Chromium at /usr/bin/chromium and never download one. Without it they must
 * fail, saying how to install it, rather than skip (a skipped browser test passes without testing anything).
 */
import { describe, expect, it } from 'vitest';
import { CHROMIUM_ARGS, CHROMIUM_PATH, launchChromium } from '../support/browser.ts';

describe('Chromium for the browser tests', () => {
  it('launches /usr/bin/chromium headless with the agreed flags', async () => {
    expect(CHROMIUM_PATH).toBe('/usr/bin/chromium');
    expect(CHROMIUM_ARGS).toEqual(['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking']);
    const browser = await launchChromium();
    try {
      expect(browser.version()).toMatch(/^\d+\./);
      const page = await browser.newPage();
      await page.setContent('<p>ok</p>');
      expect(await page.textContent('p')).toBe('ok');
    } finally {
      await browser.close();
    }
  });

  it('a missing Chromium is an error that says how to install it, not a skip', async () => {
    await expect(launchChromium('/nonexistent/chromium')).rejects.toThrow(/apt-get install -y chromium.*\.ci\/run/);
  });
});
