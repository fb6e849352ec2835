/** Authoring checks (issue 15): mistakes readers would see are reported as authoringErrors, and also as warnings. */
import { describe, expect, it } from 'vitest';
import { compilePersonalizer } from '../../../lambdas/core/issue/personalize.ts';
import { renderIssue } from '../../../lambdas/core/issue/render.ts';
import { issueFixtureNames, readIssueFixture } from '../../support/fixtures.ts';

const options = { postalAddress: '1 Example Street' };
const reader = { unsubscribeUrl: 'https://n.example/u', viewInBrowserUrl: 'https://n.example/a', name: 'Ada', email: 'ada@example.com' };

describe('authoring errors', () => {
  it('names an unknown front-matter key, with the key it probably meant', async () => {
    const r = await renderIssue('---\ntittle: Hello\nsubjct: x\nfavouriteColour: blue\n---\n# Real title\n\nBody text here.', options);
    expect(r.authoringErrors).toEqual([
      'front matter key "tittle" is not known (did you mean "title"?); it is ignored',
      'front matter key "subjct" is not known (did you mean "subject"?); it is ignored',
      expect.stringMatching(/^front matter key "favouriteColour" is not known \(known keys: title, subject, .*\); it is ignored$/),
    ]);
    expect(r.title).toBe('Real title');
  });

  it('refuses placeholders it will not fill, leaves them as literal text that never fills, and names the fix', async () => {
    // Act
    const r = await renderIssue('# T\n\nHi {{nmae}}, {{email}} {{{email}}} {{unsubscribeUrl}} {{name default=reader}} {{Name}}.', options);
    const email = compilePersonalizer(r)(reader);
    // Assess
    expect(r.authoringErrors).toEqual([
      'placeholder "{{nmae}}" in the body will not be filled: only {{name}} and {{attributes.<column>}} are filled in an issue; did you mean {{name}}? (put template code in backticks)',
      'placeholder "{{email}}" in the body will not be filled: the address is never put in the body; use {{name}}',
      'placeholder "{{{email}}}" in the body will not be filled: write it with two braces, {{name}} (values are always HTML-escaped)',
      'placeholder "{{unsubscribeUrl}}" in the body will not be filled: {{unsubscribeUrl}} is filled only by the template (header and footer)',
      'placeholder "{{name default=reader}}" in the body will not be filled: write a fallback as default="text" (double quotes)',
      'placeholder "{{Name}}" in the body will not be filled: only {{name}} and {{attributes.<column>}} are filled in an issue; did you mean {{name}}? (put template code in backticks)',
    ]);
    for (const e of r.authoringErrors) expect(r.warnings).toContain(e);
    expect(email.html).not.toContain('ada@example.com');
    expect(email.text).not.toContain('ada@example.com');
    expect(email.text).not.toContain('Ada');
    // The literal text stays readable (a zero-width space keeps it from ever forming a placeholder).
    expect(email.text.replace(/\u200B/g, '')).toContain('Hi {{nmae}}, {{email}} {{{email}}}');
    expect(email.html.match(/href="https:\/\/n\.example\/u"/g)).toHaveLength(1);
  });

  it('reports a placeholder in the title (it names the archive page) and in the subject where it cannot fill', async () => {
    const r = await renderIssue('---\nsubject: "Hi {{email}}"\n---\n# News for {{name}}\n\nBody text here.', options);
    expect(r.authoringErrors).toEqual([
      'placeholder "{{email}}" in the subject will not be filled: the address is never put in the body; use {{name}}',
      expect.stringMatching(/^placeholders in the title "News for \{\{name\}\}" will not be filled/),
    ]);
    const email = compilePersonalizer(r)(reader);
    expect(email.subject.replace(/\u200B/g, '')).toBe('Hi {{email}}');
    expect(email.html).not.toContain('News for Ada');
    expect(r.slug).toBe('news-for-name');
  });

  it('leaves template code alone: in code spans and blocks, and prose that is not a placeholder attempt', async () => {
    const r = await renderIssue('# T\n\nUse `{{name}}` or `{{email}}` in templates; Go writes {{ .Name }} and {{#each}}.\n\n```\n{{email}}\n```', options);
    expect(r.authoringErrors).toEqual([]);
    const email = compilePersonalizer(r)(reader);
    expect(email.html).not.toContain('Ada');
    expect(email.html).toContain('&#123;&#123;email}}');
    expect(email.html).toContain('&#123;&#123; .Name }}');
  });

  it('reports images without an absolute URL and links without https, once each', async () => {
    const md = '# T\n\n![a](img/a.png) ![b](data:image/png;base64,AAAA) [plain](http://example.com/x) [again](http://example.com/x) [ok](https://example.com) [mail](mailto:a@example.com) [rel](/page)';
    const r = await renderIssue(md, options);
    expect(r.authoringErrors).toEqual([
      'image "img/a.png" left out: relative path and no assetBaseUrl (front matter or --asset-base-url)',
      'image "data:image/png;base64,AAAA" left out: only http(s) images are allowed',
      'link "http://example.com/x" is not https: use an https:// address',
    ]);
    expect(r.meta.authoringErrors).toBe(r.authoringErrors);
    // With a base for the images, and https links, nothing is left to report.
    const fixed = await renderIssue('---\nassetBaseUrl: https://cdn.example.com/\n---\n# T\n\n![a](img/a.png) [ok](https://example.com) [rel](/page)', options);
    expect(fixed.authoringErrors).toEqual([]);
  });

  it.each(issueFixtureNames())('the Medium export %s has none once its images have a base URL', async (name) => {
    const r = await renderIssue(readIssueFixture(name), { ...options, assetBaseUrl: 'https://cdn.example.com/' });
    expect(r.authoringErrors).toEqual([]);
    const bare = await renderIssue(readIssueFixture(name), options);
    expect(bare.authoringErrors.length).toBeGreaterThan(0);
    expect(bare.authoringErrors.every((e) => e.startsWith('image "img/'))).toBe(true);
  });
});
