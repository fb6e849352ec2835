/**
 * `newsletter preview <issue.md> [--out dir]`: render, then screenshot the email at phone (375 px) and desktop
 * (800 px) widths with the system Chromium. Without Chromium it still writes the HTML and says what to install.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type RenderCliOptions, previewFiles, printWarnings, renderFile, writeAll } from './render.ts';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const SCREEN_WIDTHS = { phone: 375, desktop: 800 } as const;

/** Full-page PNG screenshots of `html` at each width. Image loads are given a few seconds, then we shoot anyway. */
export async function screenshots(html: string, widths: Record<string, number>): Promise<Record<string, Buffer>> {
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  try {
    const shots: Record<string, Buffer> = {};
    for (const [name, width] of Object.entries(widths)) {
      const page = await browser.newPage({ viewport: { width, height: 800 }, deviceScaleFactor: 1 });
      await page.setContent(html, { waitUntil: 'load', timeout: 10_000 }).catch(() => undefined);
      shots[name] = await page.screenshot({ fullPage: true, type: 'png' });
      await page.close();
    }
    return shots;
  } finally {
    await browser.close();
  }
}

/** `newsletter preview <issue.md> [--out dir]`: the HTML, plus screenshots when Chromium is installed. */
export async function previewCommand(file: string, opts: RenderCliOptions & { out?: string }): Promise<void> {
  const rendered = await renderFile(file, opts);
  const out = opts.out ?? join('out', 'preview', rendered.slug);
  const files: Record<string, Uint8Array | string> = previewFiles(rendered);
  const haveChromium = existsSync(CHROMIUM_PATH);
  if (haveChromium) {
    const shots = await screenshots(files['index.html'] as string, SCREEN_WIDTHS);
    for (const [name, png] of Object.entries(shots)) files[`${name}-${SCREEN_WIDTHS[name as keyof typeof SCREEN_WIDTHS]}.png`] = png;
  }
  await writeAll(out, files);
  printWarnings(rendered.warnings);
  process.stdout.write(`Wrote ${join(out, 'index.html')}\n`);
  if (haveChromium) {
    process.stdout.write(`Screenshots: ${join(out, 'phone-375.png')}, ${join(out, 'desktop-800.png')}\n`);
  } else {
    process.stderr.write(
      `newsletter: no screenshots: Chromium not found at ${CHROMIUM_PATH} (install it with \`apt-get install chromium\`, or set CHROMIUM_PATH)\n`,
    );
  }
}
