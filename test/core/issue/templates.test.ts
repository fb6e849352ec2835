import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../support/fixtures.ts';

const TEMPLATE_DIR = join(REPO_ROOT, 'templates/email');
const templates = readdirSync(TEMPLATE_DIR)
  .filter((f) => f.endsWith('.mjml.ts'))
  .map((f) => ({ file: f, source: readFileSync(join(TEMPLATE_DIR, f), 'utf8') }));

/** Subscriber data: the `recipient` object and the personalization placeholder names. */
const SUBSCRIBER_FIELDS = /\b(recipient|unsubscribeUrl|viewInBrowserUrl|name|email|subscriber)\b/;
/** The only values allowed through `{{{ }}}`: HTML produced by our escaping Markdown renderer. */
const SAFE_RAW = new Set(['this', 'html']);

export function rawExpressions(source: string): string[] {
  return [...source.matchAll(/\{\{\{\s*([^}]*?)\s*\}\}\}|\{\{&\s*([^}]*?)\s*\}\}/g)].map((m) => (m[1] ?? m[2])!)
    .filter((e) => e !== ''); // `{{{ }}}` as prose in a comment
}

describe('email templates', () => {
  it('exist: layout and the header, section, card, prose and footer partials', () => {
    expect(templates.map((t) => t.file).sort()).toEqual(
      ['card', 'footer', 'header', 'layout', 'prose', 'section'].map((n) => `${n}.mjml.ts`),
    );
  });

  it.each(templates)('$file never puts subscriber data through {{{ }}} or {{& }}', ({ source }) => {
    const raw = rawExpressions(source);
    expect(raw.filter((e) => SUBSCRIBER_FIELDS.test(e))).toEqual([]);
    expect(raw.filter((e) => !SAFE_RAW.has(e))).toEqual([]);
  });

  it('the guard catches a violation', () => {
    expect(rawExpressions('<a href="{{{recipient.unsubscribeUrl}}}">').filter((e) => SUBSCRIBER_FIELDS.test(e))).toHaveLength(1);
    expect(rawExpressions('{{& recipient.name}}')).toEqual(['recipient.name']);
  });

  it('the footer carries the unsubscribe and view-in-browser links and the postal address', () => {
    const footer = templates.find((t) => t.file === 'footer.mjml.ts')!.source;
    expect(footer).toContain('href="{{recipient.unsubscribeUrl}}"');
    expect(footer).toContain('href="{{recipient.viewInBrowserUrl}}"');
    expect(footer).toContain('{{postalAddress}}');
  });
});
