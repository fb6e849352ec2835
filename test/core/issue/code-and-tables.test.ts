/** Code blocks and tables (issue 15): one box per code block, tables that keep their alignment, and the text part. */
import { describe, expect, it } from 'vitest';
import { renderIssue } from '../../../lambdas/core/issue/render.ts';
import { textWidth } from '../../../lambdas/core/issue/markdown.ts';

const options = { postalAddress: '1 Example Street' };

const CODE = ['function greet(name) {', '  return `Hi ${name} <b>&</b>`;', '', '\tconsole.log(greet("{{name}}"));', '}'];
const ISSUE = [
  '# Code and tables 1',
  '',
  'Some prose first.',
  '',
  '```js',
  ...CODE,
  '```',
  '',
  '    indented code',
  '    second line',
  '',
  '| Code | Model | Price |',
  '|:-----|:-----:|------:|',
  '| A1 | 770M | 1.20 USD |',
  '| 中文字 | a *b* | 10 |',
].join('\n');

describe('code blocks', () => {
  it('render as one table cell holding one <pre>, verbatim (escaped), with no background on <code>', async () => {
    const r = await renderIssue(ISSUE, options);
    const blocks = [...r.html.matchAll(/<td bgcolor="#f4f6fa"[^>]*><pre style="([^"]*)"><code[^>]*>([\s\S]*?)<\/code><\/pre><\/td>/g)];
    expect(blocks).toHaveLength(2);
    const [style, code] = [blocks[0]![1]!, blocks[0]![2]!];
    expect(style).toContain('overflow-x:auto');
    expect(style).toContain('monospace');
    expect(style).not.toContain('white-space');
    const escaped = CODE.join('\n').replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/\{/g, '&#123;');
    expect(code).toBe(escaped);
    expect(blocks[1]![2]).toBe('indented code\nsecond line');
    expect(r.html).not.toMatch(/<code style="[^"]*background/);
  });

  it('stay verbatim in the text part, indented by four spaces, blank lines kept', async () => {
    const r = await renderIssue(ISSUE, options);
    const expected = CODE.map((l) => (l ? `    ${l}` : ''))
      .join('\n')
      .replace('{{name}}', '{\u200B{name}}');
    expect(r.text).toContain(`Some prose first.\n\n${expected}\n\n    indented code\n    second line\n`);
  });
});

describe('tables', () => {
  it('keep each column\'s alignment as align and text-align, and scroll in a box instead of breaking words', async () => {
    const r = await renderIssue(ISSUE, options);
    const cells = [...r.html.matchAll(/<(t[hd]) style="([^"]*)" align="(\w+)">([^<]*(?:<(?!\/t[hd]>)[^<]*)*)<\/t[hd]>/g)].map((m) => ({
      tag: m[1],
      style: m[2]!,
      align: m[3],
      text: m[4],
    }));
    expect(cells.map((c) => c.align)).toEqual(['left', 'center', 'right', 'left', 'center', 'right', 'left', 'center', 'right']);
    for (const c of cells) expect(c.style).toContain(`text-align:${c.align};`);
    // A short right-aligned cell keeps its number and unit together.
    expect(cells[5]!.text).toBe('1.20\u00A0USD');
    expect(r.html).toMatch(/<div style="[^"]*overflow-x:auto[^"]*"><table style="[^"]*word-break:normal/);
  });

  it('are aligned text rows in the text part, wide characters counted twice', async () => {
    const r = await renderIssue(ISSUE, options);
    expect(r.text).toContain(
      ['Code   | Model |    Price', '------ | :---: | -------:', 'A1     | 770M  | 1.20 USD', '中文字 |  a b  |       10'].join('\n'),
    );
    expect(textWidth('中文字')).toBe(6);
    expect(textWidth('abc')).toBe(3);
  });
});
