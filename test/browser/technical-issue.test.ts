/**
 * A technical issue as a reader sees it (issue 15): code blocks and a table in Chromium at a phone's width (375 px)
 * and a desktop mail pane's (800 px), personalized for a reader with a name and a custom attribute. Code blocks must
 * be one monospace box whose lines stay whole (a long line scrolls inside the box); table cells must never break a
 * word, and `---:` columns must stay right-aligned; the email itself must never scroll sideways.
 * Screenshots go to test-artifacts/ (content/screenshots/technical-12-*.png are copies of them).
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { compilePersonalizer } from '../../lambdas/core/issue/personalize.ts';
import { renderIssue, type RenderedIssue } from '../../lambdas/core/issue/render.ts';
import { ARTIFACTS_DIR, axeViolations, launchChromium } from '../support/browser.ts';
import { fixturePath } from '../support/fixtures.ts';

// Page functions run in Chromium; see test/support/browser.ts for why these are declared here.
declare const document: any; // eslint-disable-line @typescript-eslint/no-explicit-any
declare function getComputedStyle(el: unknown): any; // eslint-disable-line @typescript-eslint/no-explicit-any

const ISSUE = fixturePath('issues-extra', 'technical-weekly-12.md');
const RECIPIENT = {
  unsubscribeUrl: 'https://newsletter.example.com/unsubscribe?token=sample',
  viewInBrowserUrl: 'https://newsletter.example.com/archive/systems-notes-12',
  name: 'Ada',
  email: 'ada@example.com',
  attributes: { tier: 'pro' },
};

let browser: Browser;
let rendered: RenderedIssue;
let source: string;
let html: string;

beforeAll(async () => {
  source = readFileSync(ISSUE, 'utf8');
  [browser, rendered] = await Promise.all([launchChromium(), renderIssue(source, { postalAddress: 'Systems Notes, 1 Example Street, 00000 Example City' })]);
  html = compilePersonalizer(rendered)(RECIPIENT).html;
  mkdirSync(ARTIFACTS_DIR, { recursive: true });
}, 60_000);

afterAll(async () => {
  await browser?.close();
});

async function openEmail(width: number): Promise<Page> {
  const page = await browser.newPage({ viewport: { width, height: 900 } });
  await page.route('**/*', (route) => route.abort());
  await page.setContent(html, { waitUntil: 'load' });
  return page;
}

/** The fenced blocks of the source, each as its lines. */
function sourceCodeBlocks(markdown: string): string[][] {
  return [...markdown.matchAll(/^```[^\n]*\n([\s\S]*?)\n```$/gm)].map((m) => m[1]!.split('\n'));
}

interface CodeBox {
  text: string;
  fontFamily: string;
  /** Rendered height of the code in line heights: the number of visual lines. */
  visualLines: number;
  overflowX: string;
  clientWidth: number;
  scrollWidth: number;
  right: number;
  /** Elements between the `<pre>` and the card that paint a background: the box. */
  backgrounds: string[];
  /** The code element paints nothing of its own (no chip per line). */
  codeBackground: string;
  preInsideBox: boolean;
}

const codeBoxes = (page: Page): Promise<CodeBox[]> =>
  page.$$eval('pre', (pres) =>
    pres.map((pre: any) => {
      const code = pre.querySelector('code') ?? pre;
      const cs = getComputedStyle(pre);
      const backgrounds: string[] = [];
      let box: any;
      for (let el = pre; el && !el.classList.contains('card'); el = el.parentElement) {
        const bg = getComputedStyle(el).backgroundColor;
        if (bg !== 'rgba(0, 0, 0, 0)') {
          backgrounds.push(`${el.tagName.toLowerCase()} ${bg}`);
          box ??= el.getBoundingClientRect();
        }
      }
      const r = pre.getBoundingClientRect();
      return {
        text: pre.textContent,
        fontFamily: cs.fontFamily,
        visualLines: code.getBoundingClientRect().height / parseFloat(cs.lineHeight),
        overflowX: cs.overflowX,
        clientWidth: pre.clientWidth,
        scrollWidth: pre.scrollWidth,
        right: r.right,
        backgrounds,
        codeBackground: getComputedStyle(code).backgroundColor,
        preInsideBox: !!box && r.left >= box.left && r.right <= box.right && r.top >= box.top && r.bottom <= box.bottom,
      };
    }),
  );

interface Cell {
  column: number;
  text: string;
  align: string | null;
  textAlign: string;
  /** Words of the cell that the layout split over two lines or more. */
  brokenWords: string[];
  /** Distance of the text from the cell's content edge it is aligned to (left or right), px. */
  gapLeft: number;
  gapRight: number;
}

const tableCells = (page: Page): Promise<Cell[]> =>
  page.$$eval('th, td', (cells) =>
    cells
      .filter((c: any) => c.closest('table[style*="word-break"]'))
      .map((c: any) => {
        const cs = getComputedStyle(c);
        const broken: string[] = [];
        let textLeft = Infinity;
        let textRight = -Infinity;
        const walker = document.createTreeWalker(c, 4);
        for (let node = walker.nextNode(); node; node = walker.nextNode()) {
          for (const m of node.textContent.matchAll(/\S+/g)) {
            const range = document.createRange();
            range.setStart(node, m.index);
            range.setEnd(node, m.index + m[0].length);
            const rects = [...range.getClientRects()].filter((r: any) => r.width > 0);
            if (new Set(rects.map((r: any) => Math.round(r.top))).size > 1) broken.push(m[0]);
            for (const r of rects) {
              textLeft = Math.min(textLeft, r.left);
              textRight = Math.max(textRight, r.right);
            }
          }
        }
        const box = c.getBoundingClientRect();
        return {
          column: c.cellIndex,
          text: c.textContent.trim().replace(/\s+/g, ' '),
          align: c.getAttribute('align'),
          textAlign: cs.textAlign,
          brokenWords: broken,
          gapLeft: textLeft - (box.left + parseFloat(cs.borderLeftWidth) + parseFloat(cs.paddingLeft)),
          gapRight: box.right - parseFloat(cs.borderRightWidth) - parseFloat(cs.paddingRight) - textRight,
        };
      }),
  );

const pageScroll = (page: Page) =>
  page.evaluate(() => ({ scrollWidth: document.documentElement.scrollWidth, clientWidth: document.documentElement.clientWidth }));

describe('a technical issue in Chromium: code blocks and tables', () => {
  it('renders without authoring errors and personalizes name and attribute in the body and subject', () => {
    expect(rendered.authoringErrors).toEqual([]);
    const email = compilePersonalizer(rendered)(RECIPIENT);
    expect(email.subject).toBe('Issue 12 for Ada: faster JSON, smaller images');
    expect(email.html).toContain('Hi Ada, this issue is for readers on the pro plan.');
    expect(email.text).toContain('Hi Ada, this issue is for readers on the pro plan.');
    expect(email.html).not.toMatch(/\{\{/);
  });

  for (const width of [375, 800]) {
    it(`at ${width} px: every code block is one monospace box whose lines stay whole; the email does not scroll sideways`, async () => {
      // Act
      const page = await openEmail(width);
      const boxes = await codeBoxes(page);
      const scroll = await pageScroll(page);
      await page.screenshot({ path: join(ARTIFACTS_DIR, `technical-12-${width}.png`), fullPage: true });

      // Assess
      const expected = sourceCodeBlocks(source);
      expect(boxes).toHaveLength(expected.length);
      expect(expected.length).toBeGreaterThan(1);
      boxes.forEach((box, i) => {
        const lines = expected[i]!;
        // Verbatim, blank lines included, and each source line on exactly one visual line.
        expect(box.text.replace(/\n$/, '')).toBe(lines.join('\n'));
        expect(Math.round(box.visualLines), `code block ${i + 1}: visual lines`).toBe(lines.length);
        expect(box.fontFamily).toMatch(/monospace/);
        // One box: a single painted background around the whole block, none on the code itself.
        expect(box.backgrounds, `code block ${i + 1}`).toHaveLength(1);
        expect(box.codeBackground).toBe('rgba(0, 0, 0, 0)');
        expect(box.preInsideBox).toBe(true);
        expect(box.right).toBeLessThanOrEqual(width + 0.5);
        expect(box.overflowX).toBe('auto');
      });
      // The first block has a line longer than a phone's column: it scrolls inside its box.
      if (width === 375) expect(boxes[0]!.scrollWidth).toBeGreaterThan(boxes[0]!.clientWidth);
      expect(scroll.scrollWidth).toBeLessThanOrEqual(scroll.clientWidth);
      await page.close();
    });

    it(`at ${width} px: table cells never break a word, and right-aligned columns stay right-aligned`, async () => {
      // Act
      const page = await openEmail(width);
      const cells = await tableCells(page);
      const scroll = await pageScroll(page);

      // Assess
      expect(cells.length).toBe(5 * 5);
      expect(cells.filter((c) => c.brokenWords.length)).toEqual([]);
      // `:---` for columns 0-1, `---:` for 2-4 (the source's alignment row).
      for (const c of cells) {
        const side = c.column >= 2 ? 'right' : 'left';
        expect(c.align, c.text).toBe(side);
        expect(c.textAlign, c.text).toBe(side);
        expect(Math.abs(side === 'right' ? c.gapRight : c.gapLeft), `${c.text} touches its ${side} edge`).toBeLessThanOrEqual(1);
      }
      expect(cells.map((c) => c.text)).toEqual(expect.arrayContaining(['Code', '770M', 'Heap peak', 'Time (s)']));
      expect(scroll.scrollWidth).toBeLessThanOrEqual(scroll.clientWidth);
      await page.close();
    });
  }

  it('the word check can fail: the same table with words allowed to break anywhere breaks some at 375 px', async () => {
    // Prepare: what mj-text's `word-break:break-word` did to tables before (words cut as "Cod/e", "770/M")
    const page = await openEmail(375);
    await page.addStyleTag({ content: 'table { word-break: break-all !important; } div { width: auto !important; }' });
    // Act
    const cells = await tableCells(page);
    // Assess
    expect(cells.some((c) => c.brokenWords.length > 0)).toBe(true);
    await page.close();
  });

  it('the line check can fail: code with the old pre-wrap style and background on <code> wraps and paints per line at 375 px', async () => {
    // Prepare: the style code blocks had before (one grey chip per line, wrapping mid-expression)
    const page = await openEmail(375);
    await page.addStyleTag({ content: 'pre { white-space: pre-wrap !important; } pre code { background: #f1f3f7; padding: 10px; }' });
    // Act
    const [first] = await codeBoxes(page);
    // Assess
    expect(Math.round(first!.visualLines)).toBeGreaterThan(sourceCodeBlocks(source)[0]!.length);
    expect(first!.codeBackground).not.toBe('rgba(0, 0, 0, 0)');
    await page.close();
  });

  it('code and table text has enough contrast (axe-core)', async () => {
    const page = await openEmail(800);
    expect(await axeViolations(page, ['color-contrast'])).toEqual([]);
    await page.close();
  });
});
