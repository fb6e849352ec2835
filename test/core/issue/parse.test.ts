import { describe, expect, it } from 'vitest';
import { deriveSlug, detectLang, numberFromTitle, parseIssue } from '../../../lambdas/core/issue/parse.ts';
import { RenderError } from '../../../lambdas/core/issue/errors.ts';

const card = (url: string, title: string, description: string, domain: string) =>
  `[](${url}) [## ${title}\n\n### ${description}\n\n${domain}](${url}) `;

describe('parseIssue: derived fields', () => {
  it('derives subject, number, preheader, lang and slug from an issue without front matter', () => {
    const { issue } = parseIssue('# Akira 的机器学习新闻—#第 31 期\n\n这是第一段，介绍本期的内容和一些新闻。还有更多的文字在这里。\n\n# 1.新闻\n\n正文。');
    expect(issue.subject).toBe('Akira 的机器学习新闻—#第 31 期');
    expect(issue.number).toBe(31);
    expect(issue.preheader).toBe('这是第一段，介绍本期的内容和一些新闻。还有更多的文字在这里。');
    expect(issue.lang).toBe('zh');
    expect(issue.slug).toBe('issue-31');
    expect(issue.sections.map((s) => [s.number, s.title])).toEqual([['1', '新闻']]);
  });

  it('slugifies mostly-ASCII titles and appends the number', () => {
    expect(deriveSlug('Weekly ML Notes — Issue 7', 7)).toBe('weekly-ml-notes-issue-7');
    expect(deriveSlug('Weekly ML Notes', 12)).toBe('weekly-ml-notes-12');
    expect(deriveSlug('机器学习新闻', undefined)).toMatch(/^issue-[0-9a-z]+$/);
    expect(deriveSlug('机器学习新闻', undefined)).toBe(deriveSlug('机器学习新闻', undefined));
  });

  it('reads numbers from common title shapes', () => {
    expect(numberFromTitle('Akira 的机器学习新闻——第 30 期')).toBe(30);
    expect(numberFromTitle('Weekly — Issue #12')).toBe(12);
    expect(numberFromTitle('No. 5: spring')).toBe(5);
    expect(numberFromTitle('Just a title')).toBeUndefined();
  });

  it('detects languages from the script', () => {
    expect(detectLang('Hello world, plain English text')).toBe('en');
    expect(detectLang('机器学习新闻和一些 English words')).toBe('zh');
    expect(detectLang('機械学習のニュースレターです')).toBe('ja');
    expect(detectLang('기계 학습 뉴스')).toBe('ko');
  });

  it('takes the source link from the `> 原文：<url>` quote', () => {
    const { issue } = parseIssue('# T\n\n> 原文：<https://medium.com/x/y?source=a>\n\ntext here');
    expect(issue.source).toEqual({ label: '原文', url: 'https://medium.com/x/y?source=a' });
  });
});

describe('parseIssue: front matter', () => {
  it('lets every front matter field override what would be derived', () => {
    const md = [
      '---',
      'title: Custom title',
      'subject: "Subject line {{name}}"',
      'preheader: Short teaser',
      'date: 2021-10-12',
      'number: 99',
      'slug: My Slug!',
      'lang: ja',
      'assetBaseUrl: https://cdn.example.com/a/',
      'linkBaseUrl: https://example.org/base/',
      '---',
      '# Heading in body',
      '',
      '![](img/x.png) [rel](/path/page)',
    ].join('\n');
    const { issue, warnings } = parseIssue(md);
    expect(issue).toMatchObject({
      title: 'Custom title',
      subject: 'Subject line {{name}}',
      preheader: 'Short teaser',
      date: '2021-10-12',
      number: 99,
      slug: 'my-slug',
      lang: 'ja',
      assetBaseUrl: 'https://cdn.example.com/a/',
      linkBaseUrl: 'https://example.org/base/',
    });
    expect(warnings).toEqual([]);
    const html = JSON.stringify(issue.sections);
    expect(html).toContain('https://cdn.example.com/a/img/x.png');
    expect(html).toContain('https://example.org/path/page');
  });

  it('lets render options override front matter bases', () => {
    const md = '---\nassetBaseUrl: https://a.example/\n---\n# T\n\n![](img/x.png)';
    const { issue } = parseIssue(md, { assetBaseUrl: 'https://b.example/assets' });
    expect(JSON.stringify(issue)).toContain('https://b.example/assets/img/x.png');
  });

  it('rejects invalid front matter with a one-line RenderError', () => {
    expect(() => parseIssue('---\nnumber: many\n---\n# T')).toThrow(RenderError);
    expect(() => parseIssue('---\ntitle: [unclosed\n---\n# T')).toThrow(/front matter/);
    expect(() => parseIssue('# T', { linkBaseUrl: 'not a url' })).toThrow(/linkBaseUrl/);
  });
});

describe('parseIssue: errors', () => {
  it('throws RenderError for empty input and for no title', () => {
    expect(() => parseIssue('   \n')).toThrow(RenderError);
    const err = (() => {
      try {
        parseIssue('just a paragraph, no heading');
      } catch (e) {
        return e;
      }
    })() as Error;
    expect(err.name).toBe('RenderError');
    expect(err.message).toMatch(/no title/);
    expect(err.message).not.toContain('\n');
  });
});

describe('parseIssue: Medium quirks', () => {
  it('turns a link-preview card into an item with title, description, domain and link', () => {
    const md = `# T\n\n# Blogs\n\n${card('https://towardsdatascience.com/a-1', 'Card title', 'The description…', 'towardsdatascience.com')}`;
    const [item] = parseIssue(md).issue.sections[0]!.items;
    expect(item).toMatchObject({
      title: 'Card title',
      description: 'The description…',
      domain: 'towardsdatascience.com',
      url: 'https://towardsdatascience.com/a-1',
    });
  });

  it('reads a card without the leading empty link, and keeps the words of an unfinished one', () => {
    const md = '# T\n\n# Blogs\n\n[## Lone card\n\n### Its description\n\nc.example](https://c.example/x)\n\n# Other\n\n[## Not closed\n\nplain text';
    const { sections } = parseIssue(md).issue;
    expect(sections[0]!.items).toEqual([expect.objectContaining({ title: 'Lone card', url: 'https://c.example/x', description: 'Its description' })]);
    expect(sections[1]!.items).toEqual([]);
    expect(JSON.stringify(sections[1])).toContain('Not closed');
  });

  it('splits chained cards and resolves a relative card link', () => {
    const md = `# T\n\n# Blogs\n\n${card('https://a.example/1', 'One', 'd1', 'a.example')}${card('/pub/two', 'Two', 'd2', 'medium.com')}`;
    const items = parseIssue(md).issue.sections[0]!.items;
    expect(items.map((i) => [i.title, i.url])).toEqual([
      ['One', 'https://a.example/1'],
      ['Two', 'https://medium.com/pub/two'],
    ]);
  });

  it('reads an item header with its image and commentary, merging the matching preview card', () => {
    const md = [
      '# T',
      '',
      '# 1.News',
      '',
      '[**Paper title**](https://arxiv.org/abs/1?utm_source=x)**——**[**arxiv.org**](https://arxiv.org/abs/1)',
      '',
      '****![](img/a.png)****',
      '',
      '****[2110.00001] The paper\nWhat it does.****',
      '',
      '— — — — –',
      '',
      '[**Second**](https://b.example/p?utm=1)**—**[**b.example**](https://b.example/p)',
      '',
      card('https://b.example/p', 'Preview title', 'Preview description', 'b.example'),
      '',
      'Comment on second.',
    ].join('\n');
    const { issue } = parseIssue(md, { assetBaseUrl: 'https://cdn.example/' });
    const [first, second] = issue.sections[0]!.items;
    expect(first).toMatchObject({
      title: 'Paper title',
      url: 'https://arxiv.org/abs/1?utm_source=x',
      domainUrl: 'https://arxiv.org/abs/1',
      domain: 'arxiv.org',
      image: 'https://cdn.example/img/a.png',
      subtitle: '[2110.00001] The paper',
    });
    expect(first!.bodyText).toEqual(['What it does.']);
    expect(second).toMatchObject({ title: 'Second', subtitle: 'Preview title', description: 'Preview description' });
    expect(second!.bodyText).toEqual(['Comment on second.']);
  });

  it('handles damaged headers: title outside the link, 【domain】, empty titles', () => {
    const md = [
      '# T',
      '',
      '# Papers',
      '',
      '【arxiv.org】**Tuning GANs****——**[](https://arxiv.org/abs/2)',
      '',
      '****text before[](https://arxiv.org/abs/3)****——**[**arxiv.org**](https://arxiv.org/abs/3b)******',
      '',
      '[](https://arxiv.org/abs/4)****——**[**arxiv.org**](https://arxiv.org/abs/4b)',
      '',
      '[2109.00024] Title from the body\nBody text.',
    ].join('\n');
    const items = parseIssue(md).issue.sections[0]!.items;
    expect(items.map((i) => [i.title, i.url])).toEqual([
      ['Tuning GANs', 'https://arxiv.org/abs/2'],
      ['text before', 'https://arxiv.org/abs/3'],
      ['[2109.00024] Title from the body', 'https://arxiv.org/abs/4'],
    ]);
  });

  it('treats `— — —` paragraphs and `## — — —` headings as separators, not content or sections', () => {
    const { issue } = parseIssue('# T\n\n# A\n\ntext\n\n## — — — — –\n\n— — — — –\n\n# B\n\nmore');
    expect(issue.sections.map((s) => s.title)).toEqual(['A', 'B']);
    expect(JSON.stringify(issue)).not.toContain('— —');
  });

  it('removes stray emphasis markers but keeps real emphasis', () => {
    const { issue } = parseIssue('# T\n\n****a**——**b**** and **bold** text *and* ****');
    const html = issue.lead.blocks.map((b) => (b.kind === 'prose' ? b.prose.html : '')).join('');
    expect(html).not.toContain('**');
    expect(html).toContain('<strong>bold</strong>');
  });

  it('warns and drops relative images without a base, never emitting their path', () => {
    const { issue, warnings } = parseIssue('# T\n\ntext ![](img/abc.png) more');
    expect(warnings).toEqual([expect.stringContaining('img/abc.png')]);
    expect(JSON.stringify(issue)).not.toContain('src=\\"img/');
  });
});
