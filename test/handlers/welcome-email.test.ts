/**
 * loadWelcomeEmail unbundled (local stack, tests): renders the welcome file with the issue renderer on first use.
 * The bundled path (precompiled at synth) is checked against this one in test/infra/bundles.test.ts.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { loadWelcomeEmail } from '../../lambdas/handlers/http/welcome-email.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'welcome-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => vi.unstubAllEnvs());

function welcomeFile(name: string, markdown: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, markdown);
  return file;
}

const WELCOME = '---\nsubject: Welcome to ML News\n---\n# Welcome\n\nOne issue a week about machine learning.\n';

describe('loadWelcomeEmail', () => {
  it('is undefined without a welcome file, whatever the environment', async () => {
    expect(await loadWelcomeEmail({ file: path.join(dir, 'missing.md') })).toBeUndefined();
  });

  it('fills the deployment values from the environment, escaped in the HTML, and keeps the recipient placeholders', async () => {
    vi.stubEnv('POSTAL_ADDRESS', '1 Main St <Suite 2>, Springfield');
    vi.stubEnv('SENDER', 'ML News <news@example.com>');
    vi.stubEnv('PUBLIC_BASE_URL', 'https://news.example.com/');
    const email = await loadWelcomeEmail({ file: welcomeFile('env.md', WELCOME) });

    expect(email?.subject).toBe('Welcome to ML News');
    expect(email!.html).toContain('1 Main St &lt;Suite 2&gt;, Springfield');
    expect(email!.html).toContain('<strong>ML News</strong>');
    expect(email!.html).toContain('href="https://news.example.com/archive"');
    expect(email!.text).toContain('ML News · 1 Main St <Suite 2>, Springfield');
    for (const part of [email!.html, email!.text]) {
      expect(part).toContain('{{unsubscribeUrl}}');
      expect(part).not.toMatch(/\{\{(postalAddress|senderName|viewInBrowserUrl)\}\}/);
    }
  });

  it('explicit options win over the environment', async () => {
    vi.stubEnv('POSTAL_ADDRESS', 'from the environment');
    const email = await loadWelcomeEmail({
      file: welcomeFile('options.md', WELCOME),
      postalAddress: 'PO Box 7, Springfield',
      senderName: 'Akira',
      archiveUrl: 'https://example.org/past-issues',
    });
    expect(email!.text).toContain('Akira · PO Box 7, Springfield');
    expect(email!.html).toContain('href="https://example.org/past-issues"');
    expect(email!.html).not.toContain('from the environment');
  });

  it('a $ in a value is text, never a replacement pattern ($&, $$)', async () => {
    const email = await loadWelcomeEmail({
      file: welcomeFile('dollars.md', WELCOME),
      postalAddress: 'Save $$ & $& Co, 1 Main St',
      senderName: "Akira's $' News",
      archiveUrl: 'https://example.org/archive',
    });
    expect(email!.text).toContain("Akira's $' News · Save $$ & $& Co, 1 Main St");
    expect(email!.html).toContain('Save $$ &amp; $&amp; Co, 1 Main St');
    expect(email!.html).not.toMatch(/\{\{(postalAddress|senderName)\}\}/);
  });

  it('names every missing deployment value', async () => {
    vi.stubEnv('POSTAL_ADDRESS', '');
    vi.stubEnv('SENDER', '');
    vi.stubEnv('PUBLIC_BASE_URL', '');
    await expect(loadWelcomeEmail({ file: welcomeFile('no-env.md', WELCOME) })).rejects.toThrow(
      'the welcome email needs POSTAL_ADDRESS, SENDER, PUBLIC_BASE_URL',
    );
  });

  it('a file that does not render fails, and is rendered again once fixed (failures are not cached)', async () => {
    const file = welcomeFile('broken.md', '   \n');
    const values = { postalAddress: 'PO Box 7', senderName: 'Akira', archiveUrl: 'https://example.org/archive' };
    await expect(loadWelcomeEmail({ file, ...values })).rejects.toThrow(/empty/);
    writeFileSync(file, WELCOME);
    expect((await loadWelcomeEmail({ file, ...values }))?.subject).toBe('Welcome to ML News');
  });
});
