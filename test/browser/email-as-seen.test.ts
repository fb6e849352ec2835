/**
 * The seed issue as a reader sees it: the renderer's HTML, personalized for a sample recipient, in Chromium at a
 * phone's width (375 px) and a desktop mail pane's (800 px). Images are served from the test (a 1400 × 700
 * picture, wider than any column) so that "every image fits" is measured on real, oversized images; nothing else
 * leaves the machine. Screenshots go to test-artifacts/ (gitignored).
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { compilePersonalizer } from '../../lambdas/core/issue/personalize.ts';
import { renderIssue, type RenderedIssue } from '../../lambdas/core/issue/render.ts';
import { ARTIFACTS_DIR, axeViolations, launchChromium } from '../support/browser.ts';
import { SEED_ISSUE } from '../support/fixtures.ts';

// Page functions run in Chromium; see test/support/browser.ts for why these are declared here.
declare const document: any; // eslint-disable-line @typescript-eslint/no-explicit-any
declare const window: any; // eslint-disable-line @typescript-eslint/no-explicit-any
declare function getComputedStyle(el: unknown): any; // eslint-disable-line @typescript-eslint/no-explicit-any

const ASSET_BASE = 'https://images.example.com/031/';
const BIG_IMAGE = '<svg xmlns="http://www.w3.org/2000/svg" width="1400" height="700"><rect width="1400" height="700" fill="#8fa3c7"/></svg>';
const RECIPIENT = {
  unsubscribeUrl: 'https://newsletter.example.com/unsubscribe?token=sample',
  viewInBrowserUrl: 'https://newsletter.example.com/archive/031',
  name: 'Sample Reader',
  email: 'sample.reader@example.com',
};

let browser: Browser;
let rendered: RenderedIssue;
let html: string;

beforeAll(async () => {
  [browser, rendered] = await Promise.all([
    launchChromium(),
    renderIssue(readFileSync(SEED_ISSUE, 'utf8'), { postalAddress: 'Newsletter, 1 Example Street, 00000 Example City', assetBaseUrl: ASSET_BASE }),
  ]);
  html = compilePersonalizer(rendered)(RECIPIENT).html;
  mkdirSync(ARTIFACTS_DIR, { recursive: true });
}, 60_000);

afterAll(async () => {
  await browser?.close();
});

async function openEmail(width: number): Promise<Page> {
  const page = await browser.newPage({ viewport: { width, height: 900 } });
  await page.route('**/*', (route) =>
    route.request().url().startsWith(ASSET_BASE) ? route.fulfill({ status: 200, contentType: 'image/svg+xml', body: BIG_IMAGE }) : route.abort(),
  );
  await page.setContent(html, { waitUntil: 'load' });
  return page;
}

interface ImageBox {
  src: string;
  loaded: boolean;
  naturalWidth: number;
  width: number;
  right: number;
  containerWidth: number;
}

const imageBoxes = (page: Page): Promise<ImageBox[]> =>
  page.$$eval('img', (imgs) =>
    imgs.map((img: any) => {
      const box = img.getBoundingClientRect();
      // The container: the nearest ancestor that is not an inline wrapper (the card's link is one).
      let parent = img.parentElement;
      while (parent && getComputedStyle(parent).display === 'inline') parent = parent.parentElement;
      const cs = getComputedStyle(parent);
      const inner = parent.getBoundingClientRect().width - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight);
      return { src: img.src, loaded: img.complete && img.naturalWidth > 0, naturalWidth: img.naturalWidth, width: box.width, right: box.right, containerWidth: inner };
    }),
  );

describe('the seed issue in Chromium, as a reader sees it', () => {
  for (const width of [375, 800]) {
    it(`at ${width} px: images load and fit their containers and the viewport; screenshot saved`, async () => {
      // Act
      const page = await openEmail(width);
      const boxes = await imageBoxes(page);
      await page.screenshot({ path: join(ARTIFACTS_DIR, `email-031-${width}.png`), fullPage: true });

      // Assess
      expect(boxes.length).toBe(rendered.meta.images.length);
      expect(boxes.length).toBeGreaterThan(0);
      for (const b of boxes) {
        expect(b.loaded, `${b.src} loaded`).toBe(true);
        expect(b.naturalWidth).toBe(1400); // wider than any column: the layout must scale it down
        expect(b.width, `${b.src} fits its container`).toBeLessThanOrEqual(b.containerWidth + 0.5);
        expect(b.right, `${b.src} inside the viewport`).toBeLessThanOrEqual(width + 0.5);
      }
      await page.close();
    });
  }

  it('at 375 px there is no horizontal scrolling', async () => {
    const page = await openEmail(375);
    const { scrollWidth, clientWidth, bodyScrollWidth } = await page.evaluate(() => ({
      scrollWidth: document.documentElement.scrollWidth,
      clientWidth: document.documentElement.clientWidth,
      bodyScrollWidth: document.body.scrollWidth,
    }));
    expect(clientWidth).toBe(375);
    expect(scrollWidth).toBeLessThanOrEqual(clientWidth);
    expect(bodyScrollWidth).toBeLessThanOrEqual(clientWidth);
    await page.close();
  });

  it('body text is at least 14 px at 375 px (every paragraph and list item, and four fifths of the visible text)', async () => {
    const page = await openEmail(375);
    // Every visible element with its own text, its computed font size and how many characters it holds.
    const runs: Array<{ tag: string; size: number; chars: number; text: string }> = await page.evaluate(() => {
      const out: Array<{ tag: string; size: number; chars: number; text: string }> = [];
      for (const el of document.body.querySelectorAll('*')) {
        const own = [...el.childNodes].filter((n: any) => n.nodeType === 3).map((n: any) => n.textContent.trim()).join('');
        const box = el.getBoundingClientRect();
        if (!own || box.width === 0 || box.height === 0 || getComputedStyle(el).visibility === 'hidden') continue;
        out.push({ tag: el.tagName.toLowerCase(), size: parseFloat(getComputedStyle(el).fontSize), chars: own.length, text: own.slice(0, 40) });
      }
      return out;
    });
    const paragraphs = runs.filter((r) => r.tag === 'p' || r.tag === 'li');
    expect(paragraphs.length).toBeGreaterThan(10);
    expect(paragraphs.filter((r) => r.size < 14)).toEqual([]);
    // Labels and small print (kicker, section numbers, domains, footer) may be smaller; the reading text may not.
    const total = runs.reduce((n, r) => n + r.chars, 0);
    const atLeast14 = runs.filter((r) => r.size >= 14).reduce((n, r) => n + r.chars, 0);
    expect(atLeast14 / total).toBeGreaterThan(0.8);
    const small = runs.filter((r) => r.size < 14);
    console.log(`text below 14 px (labels and small print), ${Math.round((100 * (total - atLeast14)) / total)}% of the characters:\n  ${small.map((r) => `${r.size}px <${r.tag}> ${r.text}`).join('\n  ')}`);
    await page.close();
  });

  it('has <html lang> and alt text on every image', async () => {
    const page = await openEmail(800);
    const lang = await page.getAttribute('html', 'lang');
    expect(lang).toBe(rendered.lang);
    const images: Array<{ src: string; alt: string | null; decorative: boolean }> = await page.$$eval('img', (imgs) =>
      imgs.map((i: any) => ({ src: i.src, alt: i.getAttribute('alt'), decorative: i.getAttribute('role') === 'presentation' || i.getAttribute('aria-hidden') === 'true' })),
    );
    expect(images.length).toBeGreaterThan(0);
    for (const img of images) {
      expect(img.alt, `${img.src} has an alt attribute`).not.toBeNull();
      if (!img.decorative) expect(img.alt!.trim(), `${img.src} has alt text`).not.toBe('');
    }
    // The same in axe's words, plus a name for every link (an image link's name is its alt).
    expect(await axeViolations(page, ['html-has-lang', 'html-lang-valid', 'image-alt', 'link-name'])).toEqual([]);
    await page.close();
  });

  it('links are visibly distinguishable: underlined, or 3:1 against the text around them; text contrast suffices', async () => {
    const page = await openEmail(800);
    const links: Array<{ text: string; underlined: boolean; inText: boolean; color: string; around: string }> = await page.$$eval('a', (as) =>
      as
        .filter((a: any) => a.getBoundingClientRect().width > 0 && a.textContent.trim())
        .map((a: any) => {
          let block = a.parentElement;
          while (block && getComputedStyle(block).display === 'inline') block = block.parentElement;
          return {
            text: a.textContent.trim().slice(0, 40),
            underlined: getComputedStyle(a).textDecorationLine.includes('underline'),
            // Link inside running text: its block holds more than the link itself.
            inText: block.textContent.trim() !== a.textContent.trim(),
            color: getComputedStyle(a).color,
            around: getComputedStyle(block).color,
          };
        }),
    );
    expect(links.length).toBeGreaterThan(10);
    const indistinct = links.filter((l) => l.inText && !l.underlined && contrast(l.color, l.around) < 3);
    expect(indistinct).toEqual([]);
    expect(links.some((l) => l.inText)).toBe(true);
    expect(await axeViolations(page, ['link-in-text-block', 'color-contrast'])).toEqual([]);
    await page.close();
  });
});

/** WCAG contrast ratio of two CSS `rgb()`/`rgba()` colors. */
function contrast(a: string, b: string): number {
  const lum = (c: string) => {
    const [r, g, bl] = (c.match(/[\d.]+/g) ?? ['0', '0', '0']).slice(0, 3).map((v) => {
      const s = Number(v) / 255;
      return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r! + 0.7152 * g! + 0.0722 * bl!;
  };
  const [hi, lo] = [lum(a), lum(b)].sort((x, y) => y - x);
  return (hi! + 0.05) / (lo! + 0.05);
}
