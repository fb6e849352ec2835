import { describe, expect, it } from 'vitest';
import {
  RenderError,
  SIZE_LIMIT_BYTES,
  SIZE_WARN_BYTES,
  compileMjml,
  renderIssue,
  toStoredIssue,
} from '../../../lambdas/core/issue/render.ts';
import { visibleText } from './html-helpers.ts';

const options = { postalAddress: '742 Evergreen Terrace, Springfield' };

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a rejection');
}

describe('renderIssue', () => {
  it('renders an English issue with header, footer, placeholders and a hidden preheader', async () => {
    const md = '# Weekly Notes — Issue 7\n\nThe week in review, in a few links.\n\n## Links\n\n[**A post**](https://a.example/post)**—**[**a.example**](https://a.example/post)\n\nWhy it matters.';
    const r = await renderIssue(md, { ...options, senderName: 'Weekly Notes' });
    expect(r).toMatchObject({ slug: 'weekly-notes-issue-7', number: 7, lang: 'en', subject: 'Weekly Notes — Issue 7' });
    expect(r.html).toMatch(/<html[^>]*lang="en"/);
    expect(r.html).toContain('href="{{unsubscribeUrl}}"');
    expect(r.html).toContain('href="{{viewInBrowserUrl}}"');
    expect(r.text).toContain('{{unsubscribeUrl}}');
    expect(r.text).toMatch(/▸ A post\n {2}https:\/\/a\.example\/post/);
    expect(r.html).toMatch(/display:none[^>]*>The week in review, in a few links\./);
    const visible = visibleText(r.html);
    expect(visible).toContain('742 Evergreen Terrace, Springfield');
    expect(visible).toContain('Unsubscribe');
    expect(visible).toContain('Issue #7');
  });

  it('escapes HTML from content: no <script>, no raw tags, no javascript: links', async () => {
    const md = '# <script>alert(1)</script> title\n\n<script>alert(2)</script> <img src=x onerror=alert(3)> [x](javascript:alert(4)) {{unsubscribeUrl}}';
    const r = await renderIssue(md, options);
    expect(r.html.toLowerCase()).not.toContain('<script');
    expect(r.html).not.toMatch(/<img[^>]*onerror/i);
    expect(r.html).not.toMatch(/href="\s*javascript:/i);
    expect(r.html).toContain('&lt;script&gt;');
    // Content never forms a placeholder the personalization pass would fill.
    expect(r.html.match(/\{\{unsubscribeUrl\}\}/g)).toHaveLength(1);
    expect(r.text.match(/\{\{unsubscribeUrl\}\}/g)).toHaveLength(1);
  });

  it('throws RenderError for empty input and for no title', async () => {
    const empty = await rejection(renderIssue('', options));
    expect(empty).toBeInstanceOf(RenderError);
    expect(empty.name).toBe('RenderError');
    const untitled = await rejection(renderIssue('no heading at all', options));
    expect(untitled.message).toMatch(/no title/);
  });

  it('turns MJML errors into a one-line RenderError (strict validation)', async () => {
    const err = await rejection(compileMjml('<mjml><mj-body><mj-section><mj-text>not in a column</mj-text></mj-section></mj-body></mjml>'));
    expect(err).toBeInstanceOf(RenderError);
    expect(err.message).toMatch(/^MJML error: /);
    expect(err.message).not.toContain('\n');
    const attr = await rejection(compileMjml('<mjml><mj-body><mj-section><mj-column><mj-text bogus="1">x</mj-text></mj-column></mj-section></mj-body></mjml>'));
    expect(attr).toBeInstanceOf(RenderError);
  });

  describe('size limits', () => {
    // One long paragraph grows the HTML byte for byte; measure the chrome first.
    const issueWith = (n: number) => `# Big issue\n\n${'word '.repeat(Math.max(0, Math.floor(n / 5)))}`;
    async function sized(target: number, force = false) {
      const base = (await renderIssue(issueWith(0), options)).meta.bytes;
      return renderIssue(issueWith(target - base), { ...options, force });
    }

    it('warns between 90 KB and 102 KB', async () => {
      const r = await sized(96 * 1024);
      expect(r.meta.bytes).toBeGreaterThan(SIZE_WARN_BYTES);
      expect(r.meta.bytes).toBeLessThanOrEqual(SIZE_LIMIT_BYTES);
      expect(r.warnings).toEqual([expect.stringMatching(/close to Gmail's 102 KB clipping limit/)]);
      expect(r.meta.warnings).toBe(r.warnings);
    });

    it('fails above 102 KB, unless forced', async () => {
      const err = await rejection(sized(110 * 1024));
      expect(err).toBeInstanceOf(RenderError);
      expect(err.message).toMatch(/above Gmail's 102 KB clipping limit/);
      const forced = await sized(110 * 1024, true);
      expect(forced.meta.bytes).toBeGreaterThan(SIZE_LIMIT_BYTES);
      expect(forced.warnings).toEqual([expect.stringMatching(/\(forced\)/)]);
    });

    it('stays silent under 90 KB', async () => {
      const r = await renderIssue(issueWith(1000), options);
      expect(r.warnings).toEqual([]);
    });
  });

  it('maps to the StoredIssue port shape', async () => {
    const r = await renderIssue('---\ndate: 2021-10-12\n---\n# Weekly Notes 3\n\nHello there, readers.', options);
    expect(toStoredIssue(r)).toEqual({
      slug: 'weekly-notes-3',
      subject: 'Weekly Notes 3',
      preheader: 'Hello there, readers.',
      title: 'Weekly Notes 3',
      date: '2021-10-12',
      lang: 'en',
      html: r.html,
      text: r.text,
    });
  });
});
