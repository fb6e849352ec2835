import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../bin/commands/common.ts';
import { REPO_ROOT, SEED_ISSUE } from '../support/fixtures.ts';

let dir: string;

function newsletter(...args: string[]) {
  const r = spawnSync(process.execPath, [join(REPO_ROOT, 'bin/newsletter.mjs'), ...args], {
    cwd: dir,
    encoding: 'utf8',
    env: { ...process.env, POSTAL_ADDRESS: '1 Test Street, Testville' },
    timeout: 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function expectOneLineFailure(r: ReturnType<typeof newsletter>, pattern: RegExp) {
  expect(r.code).toBe(EXIT.BAD_INPUT);
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
  expect(r.stderr).toMatch(pattern);
  expect(r.stderr).not.toMatch(/\s+at\s.+:\d+/);
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'newsletter-render-'));
  writeFileSync(join(dir, 'empty.md'), '  \n\n');
  writeFileSync(join(dir, 'latin1.md'), Buffer.from([0x23, 0x20, 0x43, 0x61, 0x66, 0xe9, 0x0a])); // "# Café" in Latin-1
  writeFileSync(join(dir, 'untitled.md'), 'Just a paragraph without any heading.\n');
  writeFileSync(join(dir, 'huge.md'), `# Huge\n\n${'word '.repeat(30_000)}\n`);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('newsletter render', { timeout: 120_000 }, () => {
  it('writes index.html, index.txt and meta.json with preview values, prints warnings, exits 0', () => {
    const r = newsletter('render', SEED_ISSUE, '--out', 'out/031');
    expect(r.code).toBe(EXIT.OK);
    const out = join(dir, 'out/031');
    expect(readdirSync(out).sort()).toEqual(['index.html', 'index.txt', 'meta.json']);
    const html = readFileSync(join(out, 'index.html'), 'utf8');
    const text = readFileSync(join(out, 'index.txt'), 'utf8');
    const meta = JSON.parse(readFileSync(join(out, 'meta.json'), 'utf8'));
    for (const part of [html, text, JSON.stringify(meta)]) expect(part).not.toContain('{{');
    expect(html).toContain('1 Test Street, Testville');
    expect(meta).toMatchObject({ subject: 'Akira 的机器学习新闻—#第 31 期', bytes: expect.any(Number), warnings: expect.any(Array) });
    expect(meta.warnings.length).toBeGreaterThan(0);
    expect(r.stderr).toContain('warning: image "img/');
    expect(r.stdout).toContain('index.html');
  });

  it('resolves images with --asset-base-url and takes --postal-address', () => {
    const r = newsletter('render', SEED_ISSUE, '--out', 'out/assets', '--asset-base-url', 'https://cdn.example.com/031/', '--postal-address', 'PO Box 9');
    expect(r.code).toBe(EXIT.OK);
    const html = readFileSync(join(dir, 'out/assets/index.html'), 'utf8');
    expect(html).toContain('src="https://cdn.example.com/031/img/');
    expect(html).toContain('PO Box 9');
    expect(r.stderr).toBe('');
  });

  it.each([
    ['a missing file', 'missing.md', /cannot read missing\.md: no such file/],
    ['an empty file', 'empty.md', /empty\.md is empty/],
    ['a non-UTF-8 file', 'latin1.md', /latin1\.md is not valid UTF-8/],
    ['an issue without a title', 'untitled.md', /untitled\.md: no title/],
    ['an issue above 102 KB', 'huge.md', /above Gmail's 102 KB clipping limit/],
  ])('fails on %s with one line, a non-zero exit and no output', (_, file, pattern) => {
    const out = `bad-${file}`;
    const r = newsletter('render', file, '--out', out);
    expectOneLineFailure(r, pattern);
    expect(existsSync(join(dir, out))).toBe(false);
    expect(readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });

  it('leaves an existing output directory untouched on failure', () => {
    mkdirSync(join(dir, 'kept'));
    writeFileSync(join(dir, 'kept/index.html'), 'previous');
    expectOneLineFailure(newsletter('render', 'untitled.md', '--out', 'kept'), /no title/);
    expect(readdirSync(join(dir, 'kept'))).toEqual(['index.html']);
    expect(readFileSync(join(dir, 'kept/index.html'), 'utf8')).toBe('previous');
  });

  it('renders above 102 KB with --force, warning about it', () => {
    const r = newsletter('render', 'huge.md', '--out', 'forced', '--force');
    expect(r.code).toBe(EXIT.OK);
    expect(r.stderr).toMatch(/warning: .*\(forced\)/);
    expect(existsSync(join(dir, 'forced/index.html'))).toBe(true);
  });

  it('rejects a missing --out as a usage error', () => {
    const r = newsletter('render', SEED_ISSUE);
    expect(r.code).toBe(EXIT.BAD_INPUT);
    expect(r.stderr).toBe("newsletter: required option '--out <dir>' not specified (see --help)\n");
  });

  it('is listed by --help', () => {
    const r = newsletter('--help');
    expect(r.code).toBe(EXIT.OK);
    expect(r.stdout).toMatch(/render \[options\] <issue>/);
    expect(r.stdout).toMatch(/preview \[options\] <issue>/);
  });
});
