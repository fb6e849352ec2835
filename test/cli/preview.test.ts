import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../bin/commands/common.ts';
import { REPO_ROOT, SEED_ISSUE } from '../support/fixtures.ts';

let dir: string;

function newsletter(env: Record<string, string>, ...args: string[]) {
  const r = spawnSync(process.execPath, [join(REPO_ROOT, 'bin/newsletter.mjs'), ...args], {
    cwd: dir,
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 120_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** PNG width and height from the IHDR chunk. */
function pngSize(file: string): { width: number; height: number } {
  const b = readFileSync(file);
  expect(b.subarray(1, 4).toString('latin1')).toBe('PNG');
  return { width: b.readUInt32BE(16), height: b.readUInt32BE(20) };
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'newsletter-preview-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// Each run is a fresh Node process plus Chromium: slow on a busy machine, so allow for it.
describe('newsletter preview', { timeout: 120_000 }, () => {
  it('writes the HTML and 375 px and 800 px screenshots', () => {
    const r = newsletter({}, 'preview', SEED_ISSUE, '--out', 'shots');
    expect(r.code).toBe(EXIT.OK);
    const out = join(dir, 'shots');
    expect(readdirSync(out).sort()).toEqual(['desktop-800.png', 'index.html', 'index.txt', 'meta.json', 'phone-375.png']);
    const phone = pngSize(join(out, 'phone-375.png'));
    const desktop = pngSize(join(out, 'desktop-800.png'));
    expect(phone.width).toBe(375);
    expect(desktop.width).toBe(800);
    // Full-page shots: the long issue is taller than a screen, and taller on the narrow phone.
    expect(phone.height).toBeGreaterThan(desktop.height);
    expect(desktop.height).toBeGreaterThan(2000);
  });

  it('without Chromium, writes the HTML and says how to get screenshots', () => {
    const r = newsletter({ CHROMIUM_PATH: join(dir, 'no-chromium-here') }, 'preview', SEED_ISSUE, '--out', 'html-only');
    expect(r.code).toBe(EXIT.OK);
    expect(readdirSync(join(dir, 'html-only')).sort()).toEqual(['index.html', 'index.txt', 'meta.json']);
    expect(r.stderr).toMatch(/apt-get install chromium/);
  });

  it('fails on bad input like render does, writing nothing', () => {
    const r = newsletter({}, 'preview', 'missing.md', '--out', 'none');
    expect(r.code).toBe(EXIT.BAD_INPUT);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(existsSync(join(dir, 'none'))).toBe(false);
  });
});
