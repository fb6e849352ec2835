import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RenderError, renderIssue } from '../../../lambdas/core/issue/render.ts';

const pieces = [
  '# ', '## ', '### ', '**', '*', '_', '[', ']', '(', ')', '![](img/a.png)', '\n', '\n\n', '> ', '- ', '1. ', '`', '```\n',
  '{{name}}', '{{{unsubscribeUrl}}}', 'text', '中文', 'https://e.example/p?a=1&b=2', '— — — –', '****', '**——**',
  '[](https://x.example) [## T\n\n### d\n\nx.example](https://x.example) ', '<script>alert(1)</script>',
  '<SCRIPT src=//e.example/x.js>', '<img src=x onerror=alert(1)>', '[x](javascript:alert(1))', '[y](/rel/path)',
  '---\n', 'title: t\n', '<!-- c -->', '&lt;script&gt;', '\u0000', '【arxiv.org】',
];
const markdown = fc.oneof(
  { arbitrary: fc.tuple(fc.string({ maxLength: 40 }), fc.array(fc.constantFrom(...pieces), { maxLength: 30 })).map(([t, a]) => `# ${t}\n\n${a.join('')}`), weight: 3 },
  fc.array(fc.constantFrom(...pieces), { maxLength: 40 }).map((a) => a.join('')),
  fc.string({ maxLength: 200 }),
  fc.tuple(fc.string({ maxLength: 40 }), fc.array(fc.constantFrom(...pieces), { maxLength: 20 })).map(([t, a]) => `# ${t}\n\n${a.join('')}`),
);

describe('renderIssue on arbitrary Markdown', () => {
  it('never crashes with anything but RenderError, and never lets a <script> or handler through', async () => {
    let rendered = 0;
    await fc.assert(
      fc.asyncProperty(markdown, async (md) => {
        try {
          const r = await renderIssue(md, { postalAddress: 'P', assetBaseUrl: 'https://cdn.example/' });
          expect(r.html.toLowerCase()).not.toContain('<script');
          expect(r.html).not.toMatch(/<[a-z][^>]*\son[a-z]+\s*=/i);
          expect(r.html).not.toMatch(/href="\s*javascript:/i);
          expect(r.html).not.toMatch(/src="img\//);
          rendered += 1;
        } catch (err) {
          if (!(err instanceof RenderError)) throw err;
        }
      }),
      { numRuns: 50 },
    );
    // The titled arm of the generator always renders, so the assertions above really ran.
    expect(rendered).toBeGreaterThan(0);
  });
});
