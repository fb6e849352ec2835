import { beforeAll, describe, expect, it } from 'vitest';
import { renderIssue, type RenderedIssue } from '../../../lambdas/core/issue/render.ts';
import { compilePersonalizer, previewRecipient } from '../../../lambdas/core/issue/personalize.ts';
import { issueFixtureNames, readIssueFixture } from '../../support/fixtures.ts';
import { hrefs, imgSrcs, relativeLinks, sourceLinks, topLevelSectionCount, visibleText } from './html-helpers.ts';

const names = issueFixtureNames();

describe('fixtures exist', () => {
  it('finds the three issue fixtures', () => {
    expect(names.length).toBeGreaterThanOrEqual(3);
  });
});

describe.each(names)('fixture %s', (name) => {
  const markdown = readIssueFixture(name);
  let plain: RenderedIssue;
  let withAssets: RenderedIssue;

  beforeAll(async () => {
    // Prepare / Act: render once without and once with an asset base.
    plain = await renderIssue(markdown, { postalAddress: '1 Example Street, Tokyo' });
    withAssets = await renderIssue(markdown, { postalAddress: '1 Example Street, Tokyo', assetBaseUrl: 'https://cdn.example.com/issues/' });
  });

  it('renders with zero MJML errors and a title, subject and preheader', () => {
    expect(plain.html).toMatch(/^<!doctype html>/i);
    expect(plain.title).toMatch(/Akira/);
    expect(plain.subject).toBe(plain.title);
    expect(plain.preheader.length).toBeGreaterThan(10);
    expect(plain.number).toBe(Number(/(\d+)\.md$/.exec(name)![1]));
  });

  it('keeps every absolute source link with the same target', () => {
    const links = sourceLinks(markdown);
    expect(links.length).toBeGreaterThan(10);
    const present = hrefs(plain.html);
    const missing = links.filter((l) => !present.has(l));
    expect(missing).toEqual([]);
  });

  it('resolves relative links against medium.com', () => {
    const present = hrefs(plain.html);
    for (const rel of relativeLinks(markdown)) expect(present.has(new URL(rel, 'https://medium.com').href)).toBe(true);
    expect([...present].filter((h) => !/^(https?:|mailto:|\{\{)/.test(h))).toEqual([]);
  });

  it('shows no Markdown debris (**, ##, ](), in HTML or text', () => {
    for (const text of [visibleText(plain.html), plain.text]) {
      expect(text).not.toContain('**');
      expect(text).not.toContain('##');
      expect(text).not.toContain('](');
    }
  });

  it('leaves no {{ after preview personalization', () => {
    const email = compilePersonalizer(plain)(previewRecipient(plain.slug));
    expect(email.html).not.toContain('{{');
    expect(email.text).not.toContain('{{');
    expect(email.subject).not.toContain('{{');
    expect(email.html).toContain(previewRecipient(plain.slug).unsubscribeUrl);
  });

  it('has one section per top-level heading, each heading shown', () => {
    const expected = topLevelSectionCount(markdown);
    expect(expected).toBeGreaterThan(3);
    expect(plain.issue.sections).toHaveLength(expected);
    const visible = visibleText(plain.html);
    for (const s of plain.issue.sections) expect(visible).toContain(s.title);
  });

  it('puts every item title, followed by its URL, in the text part', () => {
    const items = plain.issue.sections.flatMap((s) => s.items);
    expect(items.length).toBeGreaterThan(5);
    for (const item of items) {
      expect(item.title).not.toBe('');
      const at = plain.text.indexOf(item.title);
      expect(at, item.title).toBeGreaterThanOrEqual(0);
      if (item.url) expect(plain.text.indexOf(item.url, at)).toBeGreaterThan(at);
    }
  });

  it('never emits a relative <img src>; drops them with a warning without a base', () => {
    expect(imgSrcs(plain.html).filter((s) => !/^https:\/\//.test(s))).toEqual([]);
    const relativeImages = (markdown.match(/!\[[^\]]*\]\(img\//g) ?? []).length;
    expect(plain.warnings.filter((w) => w.includes('assetBaseUrl'))).toHaveLength(relativeImages);
    expect(plain.html).not.toMatch(/src="img\//);
  });

  it('resolves relative images against assetBaseUrl', () => {
    const srcs = imgSrcs(withAssets.html);
    expect(srcs.length).toBeGreaterThan(0);
    for (const s of srcs) expect(s).toMatch(/^https:\/\/cdn\.example\.com\/issues\/img\/[0-9a-f]+\.png$/);
    expect(withAssets.warnings).toEqual([]);
  });

  it('declares UTF-8 and the Chinese language', () => {
    expect(plain.lang).toBe('zh');
    expect(plain.html).toMatch(/<html[^>]*\slang="zh"/);
    expect(plain.html.toLowerCase()).toContain('charset=utf-8');
  });

  it('stays under the clipping limit and reports its size in meta', () => {
    expect(plain.meta.bytes).toBe(Buffer.byteLength(plain.html));
    expect(plain.meta.bytes).toBeLessThan(90 * 1024);
    expect(plain.meta.links.length).toBeGreaterThan(10);
    expect(plain.meta.subject).toBe(plain.subject);
  });
});
