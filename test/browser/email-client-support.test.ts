/**
 * The seed issue's HTML against caniemail's data (@jsx-email/doiuse-email) for Gmail, Outlook and Apple Mail.
 *
 * MJML's own output trips some rules on purpose (its responsive CSS is a progressive enhancement clients ignore
 * safely), so a minimal MJML document compiled the same way (compileMjml, the renderer's options) is linted in
 * the same test as the baseline. The baseline has the head every email of ours has — `<mj-title>` (MJML puts it in
 * an `aria-label` on the wrapper) and `<mj-preview>` (MJML's hidden preheader: display:none, opacity, overflow) —
 * and one section of text. Our email must add no error kind (rule and client) beyond it; added warnings are
 * printed for a person to read.
 */
import { readFileSync } from 'node:fs';
import { doIUseEmail } from '@jsx-email/doiuse-email';
import { describe, expect, it } from 'vitest';
import { compileMjml, renderIssue } from '../../lambdas/core/issue/render.ts';
import { SEED_ISSUE, fixturePath } from '../support/fixtures.ts';

const CLIENTS = ['gmail.*', 'outlook.*', 'apple-mail.*'];

const BARE_MJML = '<mjml><mj-body><mj-section><mj-column><mj-text>Hello</mj-text></mj-column></mj-section></mj-body></mjml>';
const BASELINE_MJML = `<mjml lang="en"><mj-head><mj-title>Baseline</mj-title><mj-preview>Baseline preheader</mj-preview></mj-head>
<mj-body><mj-section><mj-column><mj-text>Hello</mj-text></mj-column></mj-section></mj-body></mjml>`;

interface Lint {
  errors: string[];
  warnings: string[];
}

function lint(html: string): Lint {
  const out = doIUseEmail(html, { emailClients: CLIENTS });
  return { errors: 'errors' in out ? out.errors : [], warnings: out.warnings };
}

/** Messages per client family (gmail, outlook, apple-mail), e.g. for the README's numbers. */
function perFamily(messages: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const m of messages) {
    const family = /by `([a-z-]+)\./.exec(m)?.[1] ?? 'other';
    counts[family] = (counts[family] ?? 0) + 1;
  }
  return counts;
}

const kinds = (messages: string[]) => new Set(messages);

describe('email-client support of the seed issue (caniemail data via doiuse-email)', () => {
  it('adds no error kind (rule and client) beyond a minimal MJML document compiled the same way; prints added warnings', async () => {
    // Prepare
    const seed = await renderIssue(readFileSync(SEED_ISSUE, 'utf8'), {
      postalAddress: 'Newsletter, 1 Example Street, 00000 Example City',
      assetBaseUrl: 'https://images.example.com/031/',
    });
    const [bareHtml, baselineHtml] = await Promise.all([compileMjml(BARE_MJML), compileMjml(BASELINE_MJML)]);

    // Act
    const bare = lint(bareHtml);
    const baseline = lint(baselineHtml);
    const ours = lint(seed.html);

    // Assess
    console.log(
      `doiuse-email errors/warnings — bare one-section MJML: ${bare.errors.length}/${bare.warnings.length} ${JSON.stringify(perFamily(bare.errors))}; ` +
        `baseline (+ title, preview): ${baseline.errors.length}/${baseline.warnings.length} ${JSON.stringify(perFamily(baseline.errors))}; ` +
        `seed issue: ${ours.errors.length}/${ours.warnings.length} ${JSON.stringify(perFamily(ours.errors))}`,
    );
    // The linter must see something, or "nothing added" would be vacuous.
    expect(baseline.errors.length).toBeGreaterThan(0);
    expect(ours.errors.length).toBeGreaterThan(0);
    expect(seed.html).toContain('<img');

    const baselineErrors = kinds(baseline.errors);
    const addedErrors = [...kinds(ours.errors)].filter((e) => !baselineErrors.has(e));
    const baselineWarnings = kinds(baseline.warnings);
    const addedWarnings = [...kinds(ours.warnings)].filter((w) => !baselineWarnings.has(w));
    if (addedWarnings.length) console.log(`warnings the seed issue adds to the baseline (${addedWarnings.length}):\n  ${addedWarnings.join('\n  ')}`);
    expect(addedErrors).toEqual([]);
  });

  it('a technical issue (code blocks, an aligned table, placeholders) adds no error kind beyond the baseline either', async () => {
    // Prepare
    const technical = await renderIssue(readFileSync(fixturePath('issues-extra', 'technical-weekly-12.md'), 'utf8'), {
      postalAddress: 'Newsletter, 1 Example Street, 00000 Example City',
    });
    const baselineErrors = kinds(lint(await compileMjml(BASELINE_MJML)).errors);
    // Act
    const ours = lint(technical.html);
    // Assess: what makes it technical is really in the HTML the linter reads.
    expect(technical.html).toContain('<pre');
    expect(technical.html).toContain('align="right"');
    expect(technical.html).toContain('overflow-x:auto');
    expect([...kinds(ours.errors)].filter((e) => !baselineErrors.has(e))).toEqual([]);
  });

  it('the check can fail: an unsupported rule in the email is an added error kind', async () => {
    // Prepare: the baseline plus a :last-child rule, which Gmail and Outlook do not support
    const withLastChild = BASELINE_MJML.replace('</mj-head>', '<mj-style>p:last-child { margin-bottom: 0; }</mj-style></mj-head>');
    const [baselineHtml, html] = await Promise.all([compileMjml(BASELINE_MJML), compileMjml(withLastChild)]);

    // Act
    const baselineErrors = kinds(lint(baselineHtml).errors);
    const added = [...kinds(lint(html).errors)].filter((e) => !baselineErrors.has(e));

    // Assess
    expect(added).toContain('`:last-child` is not supported by `gmail.desktop-webmail`');
    expect(added.some((e) => e.includes('outlook.windows'))).toBe(true);
  });
});
