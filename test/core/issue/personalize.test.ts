import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PLACEHOLDERS, compilePersonalizer, compiledPlaceholder, neutralizePlaceholders, previewRecipient } from '../../../lambdas/core/issue/personalize.ts';
import { renderIssue } from '../../../lambdas/core/issue/render.ts';
import { SEED_ISSUE, REPO_ROOT } from '../../support/fixtures.ts';

describe('compilePersonalizer', () => {
  const issue = {
    subject: 'Hello {{name}}',
    html: '<a href="{{unsubscribeUrl}}">u</a><a href="{{viewInBrowserUrl}}">v</a><p>{{name}} / {{email}}</p>',
    text: 'Unsubscribe: {{unsubscribeUrl}}\n{{name}} <{{email}}> {{viewInBrowserUrl}}',
  };

  it('fills every placeholder, HTML-escaping values in the HTML part only', () => {
    const fill = compilePersonalizer(issue);
    const r = fill({
      unsubscribeUrl: 'https://x.example/u?t=a&b=1',
      viewInBrowserUrl: 'https://x.example/archive/s',
      name: '<script>alert("x")</script>',
      email: "o'neil@example.com",
    });
    expect(r.html).toBe(
      '<a href="https://x.example/u?t=a&amp;b=1">u</a><a href="https://x.example/archive/s">v</a><p>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; / o&#39;neil@example.com</p>',
    );
    expect(r.text).toBe('Unsubscribe: https://x.example/u?t=a&b=1\n<script>alert("x")</script> <o\'neil@example.com> https://x.example/archive/s');
    expect(r.subject).toBe('Hello <script>alert("x")</script>');
  });

  it('fills missing optional fields with nothing, and is reusable across recipients', () => {
    const fill = compilePersonalizer(issue);
    const a = fill({ unsubscribeUrl: 'https://u/1', viewInBrowserUrl: 'https://v/1' });
    const b = fill({ unsubscribeUrl: 'https://u/2', viewInBrowserUrl: 'https://v/2', name: 'Bo' });
    expect(a.html).toContain('<p> / </p>');
    expect(b.html).toContain('<p>Bo / </p>');
    expect(a.html).toContain('https://u/1');
    expect(b.html).not.toContain('https://u/1');
  });

  it('personalizes a real rendered issue completely with the preview values', async () => {
    const rendered = await renderIssue(readFileSync(SEED_ISSUE, 'utf8'), { postalAddress: 'P' });
    for (const p of ['unsubscribeUrl', 'viewInBrowserUrl']) expect(rendered.html).toContain(`{{${p}}}`);
    const preview = previewRecipient(rendered.slug);
    const email = compilePersonalizer(rendered)(preview);
    for (const part of [email.html, email.text, email.subject]) expect(part).not.toContain('{{');
    expect(email.html).toContain(`href="${preview.unsubscribeUrl}"`);
    expect(email.text).toContain(preview.viewInBrowserUrl);
    for (const value of Object.values(preview)) expect(value).not.toContain('{{');
  });

  it('fills custom attributes and fallbacks: escaped in HTML, as written in text and subject', () => {
    // Prepare: what the renderer leaves for `{{name default="dear reader"}}` and `{{attributes.tier default="<free>"}}`
    const name = compiledPlaceholder('name', 'dear "reader"');
    const tier = compiledPlaceholder('attributes.tier', '<free> & co');
    expect(name).toBe('{{name|dear%20%22reader%22}}');
    const fill = compilePersonalizer({ subject: `For ${name}`, html: `<p>${name}: ${tier} / {{attributes.plan_2}}</p>`, text: `${name}: ${tier}` });
    const base = { unsubscribeUrl: 'https://u', viewInBrowserUrl: 'https://v' };
    // Act
    const none = fill(base);
    const some = fill({ ...base, name: 'Bo & "Al"', attributes: { TIER: '<pro>', plan_2: 'x' } });
    // Assess
    expect(none.html).toBe('<p>dear &quot;reader&quot;: &lt;free&gt; &amp; co / </p>');
    expect(none.text).toBe('dear "reader": <free> & co');
    expect(none.subject).toBe('For dear "reader"');
    // An attribute key matches exactly, else ignoring case (CSV headers are written by hand).
    expect(some.html).toBe('<p>Bo &amp; &quot;Al&quot;: &lt;pro&gt; / x</p>');
    expect(some.text).toBe('Bo & "Al": <pro>');
    expect(some.subject).toBe('For Bo & "Al"');
  });

  it('neutralizes exactly what it would fill, and nothing else', () => {
    const text = '{{name}} {{attributes.tier|x}} {{email}} {{ .Name }} {{range}} {{{name}}}';
    const safe = neutralizePlaceholders(text);
    expect(safe.replace(/\u200B/g, '')).toBe(text);
    expect(safe).toContain('{{ .Name }} {{range}}');
    const filled = compilePersonalizer({ html: safe, text: safe, subject: safe })({ unsubscribeUrl: 'u', viewInBrowserUrl: 'v', name: 'N', email: 'E', attributes: { tier: 'T' } });
    expect(filled.text).toBe(safe);
  });

  it('names the placeholders the templates use', () => {
    expect(PLACEHOLDERS).toEqual(['unsubscribeUrl', 'viewInBrowserUrl', 'name', 'email']);
  });

  it('imports nothing but the domain model (no mjml, no handlebars) so the worker bundle stays small', () => {
    const seen = new Set<string>();
    const visit = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      const source = readFileSync(file, 'utf8');
      for (const m of source.matchAll(/^\s*import\s[^'"]*['"]([^'"]+)['"]/gm)) {
        const spec = m[1]!;
        expect(spec.startsWith('.'), `${file} imports package ${spec}`).toBe(true);
        visit(resolve(dirname(file), spec));
      }
    };
    visit(resolve(REPO_ROOT, 'lambdas/core/issue/personalize.ts'));
    expect([...seen].map((f) => f.slice(REPO_ROOT.length + 1)).sort()).toEqual([
      'lambdas/core/issue/personalize.ts',
      'lambdas/core/model.ts',
    ]);
  });
});
