/** The archive core (lambdas/core/archive) with in-memory adapters: which issues are public, web version, Atom. */
import { describe, expect, it } from 'vitest';
import { MemoryCampaignRepository } from '../../lambdas/adapters/memory/memory-campaign-repository.ts';
import { atomFeed, escapeXml, FEED_ENTRIES } from '../../lambdas/core/archive/atom.ts';
import {
  feedContentHtml,
  findArchivedIssue,
  impersonal,
  isArchiveSlug,
  listArchive,
  webVersionHtml,
  withFeedContent,
  type ArchiveEntry,
} from '../../lambdas/core/archive/archive.ts';
import type { CampaignStatus } from '../../lambdas/core/model.ts';
import type { IssueStore, StoredIssue } from '../../lambdas/core/ports.ts';
import { child, children, parseXml } from './xml.ts';

function issue(slug: string, extra: Partial<StoredIssue> = {}): StoredIssue {
  return {
    slug,
    subject: `Subject ${slug}`,
    preheader: `Preheader ${slug}`,
    title: `Title ${slug}`,
    lang: 'en',
    html:
      '<!doctype html><html><head><title>x</title></head><body style="margin:0"><div>' +
      '<a href="{{viewInBrowserUrl}}" style="color:#6b7280">View in browser</a></div><p>Hello {{name}} ({{email}})</p>' +
      '<p>Why you get this<br /><a href="{{viewInBrowserUrl}}">View in browser</a> · <a href="{{unsubscribeUrl}}" style="x">Unsubscribe</a><br />1 Street</p>' +
      '<p>Other link: {{unsubscribeUrl}}</p></body></html>',
    text: 'Unsubscribe: {{unsubscribeUrl}}',
    ...extra,
  };
}

class MapIssueStore implements IssueStore {
  readonly issues = new Map<string, StoredIssue>();
  async put(i: StoredIssue) {
    this.issues.set(i.slug, i);
  }
  async get(slug: string) {
    return this.issues.get(slug);
  }
}

async function setup(campaigns: Array<{ slug: string; status: CampaignStatus; fanoutComplete?: boolean; sentAt?: string; stored?: boolean }>) {
  const repo = new MemoryCampaignRepository();
  const issues = new MapIssueStore();
  for (const c of campaigns) {
    await repo.start({ campaignId: c.slug, slug: c.slug, subject: `Subject ${c.slug}`, audience: 1, now: new Date('2026-01-01T00:00:00Z') });
    const record = repo.campaigns.get(c.slug)!;
    record.status = c.status;
    record.fanoutComplete = c.fanoutComplete ?? c.status === 'SENT';
    if (c.sentAt) record.sentAt = c.sentAt;
    if (c.stored !== false) await issues.put(issue(c.slug));
  }
  return { campaigns: repo, issues };
}

describe('listArchive', () => {
  it('lists SENT campaigns and SENDING ones whose fan-out is complete, newest first; leaves out the rest', async () => {
    // Prepare
    const deps = await setup([
      { slug: 'old', status: 'SENT', sentAt: '2026-01-02T00:00:00.000Z' },
      { slug: 'new', status: 'SENT', sentAt: '2026-03-02T00:00:00.000Z' },
      { slug: 'going-out', status: 'SENDING', fanoutComplete: true },
      { slug: 'fanning-out', status: 'SENDING', fanoutComplete: false },
      { slug: 'draft', status: 'DRAFT' },
      { slug: 'paused', status: 'PAUSED' },
      { slug: 'lost', status: 'SENT', sentAt: '2026-04-01T00:00:00.000Z', stored: false },
    ]);
    // Act
    const entries = await listArchive(deps);
    // Assess
    expect(entries.map((e) => e.slug)).toEqual(['new', 'old', 'going-out']);
    expect(entries[0]).toMatchObject({ title: 'Title new', subject: 'Subject new', preheader: 'Preheader new', sentAt: '2026-03-02T00:00:00.000Z', lang: 'en' });
    // No sentAt yet: the campaign's start time stands in.
    expect(entries[2]!.sentAt).toBe('2026-01-01T00:00:00.000Z');
  });
});

describe('findArchivedIssue', () => {
  it('finds every campaign that may be in someone\'s inbox, and nothing else', async () => {
    const deps = await setup([
      { slug: 'sent', status: 'SENT' },
      { slug: 'paused', status: 'PAUSED' },
      { slug: 'sending', status: 'SENDING' },
      { slug: 'draft', status: 'DRAFT' },
      { slug: 'lost', status: 'SENT', stored: false },
    ]);
    for (const slug of ['sent', 'paused', 'sending']) expect((await findArchivedIssue(deps, slug))?.issue.slug).toBe(slug);
    for (const slug of ['draft', 'lost', 'unknown', '../sent', '']) expect(await findArchivedIssue(deps, slug)).toBeUndefined();
  });

  it('accepts only slugs that stay inside the issue store', () => {
    expect(isArchiveSlug('issue-31')).toBe(true);
    expect(isArchiveSlug('weekly.notes_2')).toBe(true);
    for (const bad of ['', '..', 'a/b', '-x', 'a..b', 'a b', 'x'.repeat(201), 'é']) expect(isArchiveSlug(bad)).toBe(false);
  });
});

describe('webVersionHtml', () => {
  it('removes the unsubscribe and view-in-browser links, blanks name and email, and puts the banner after <body>', () => {
    // Act
    const html = webVersionHtml(issue('a'), { pageUrl: 'https://n.example/archive/a', subscribeUrl: 'https://n.example/subscribe', bannerHtml: '<nav>BANNER</nav>' });
    // Assess
    expect(html).not.toContain('{{');
    expect(html).not.toMatch(/Unsubscribe|View in browser/);
    expect(html).toContain('<body style="margin:0"><nav>BANNER</nav><div></div>');
    expect(html).toContain('<p>Hello  ()</p>');
    expect(html).toContain('<p>Why you get this<br /><br />1 Street</p>');
    // A placeholder outside a link gets the neutral URL, HTML-escaped like every value.
    expect(html).toContain('<p>Other link: https://n.example/subscribe</p>');
  });

  it('escapes the neutral values it fills in', () => {
    const html = webVersionHtml(issue('a'), { pageUrl: 'p', subscribeUrl: 'https://n.example/subscribe?a=1&b="2"', bannerHtml: '' });
    expect(html).toContain('Other link: https://n.example/subscribe?a=1&amp;b=&quot;2&quot;');
  });
});

describe('placeholders written in an issue, on the archive', () => {
  it('fill for no one: fallbacks stay, names and attributes are empty', async () => {
    expect(impersonal('Hi {{name|dear%20reader}}, {{attributes.tier}} plan {{name}}')).toBe('Hi dear reader,  plan ');
    expect(impersonal('No placeholder')).toBe('No placeholder');
    // Prepare: a stored issue whose subject and preheader carry placeholders
    const deps = await setup([{ slug: 'p', status: 'SENT' }]);
    await deps.issues.put(issue('p', { subject: 'For {{name|you}}', preheader: 'Hello {{name}}!' }));
    // Act
    const [entry] = await listArchive(deps);
    // Assess
    expect(entry).toMatchObject({ subject: 'For you', preheader: 'Hello !' });
  });
});

describe('feedContentHtml', () => {
  const links = { pageUrl: 'https://n.example/archive/a', subscribeUrl: 'https://n.example/subscribe' };

  it('is the body of the web version without the hidden preheader, comments, or anyone\'s links and values', () => {
    // Prepare: the shape MJML gives (hidden preheader first, Outlook-only markup in comments)
    const html = issue('a', {
      html:
        '<!doctype html><html><head><style>p{}</style></head><body style="margin:0"><div style="display:none;font-size:1px;opacity:0;">The preheader</div>' +
        '<!--[if mso]><table><tr><td><![endif]--><div><a href="{{viewInBrowserUrl}}">View in browser</a></div><p>Hi {{name|reader}} {{email}}</p>' +
        '<p><a href="{{unsubscribeUrl}}">Unsubscribe</a></p><!--[if mso]></td></tr></table><![endif]--></body></html>',
    });
    // Act
    const content = feedContentHtml(html, links);
    // Assess
    expect(content).toBe('<div></div><p>Hi reader </p><p></p>');
  });
});

describe('withFeedContent', () => {
  it('adds each entry\'s content, reading each issue once per cache, and leaves out what the store lost', async () => {
    // Prepare
    const deps = await setup([
      { slug: 'a', status: 'SENT', sentAt: '2026-01-03T00:00:00.000Z' },
      { slug: 'b', status: 'SENT', sentAt: '2026-01-02T00:00:00.000Z' },
      { slug: 'c', status: 'SENT', sentAt: '2026-01-01T00:00:00.000Z' },
    ]);
    const entries = await listArchive(deps);
    let reads = 0;
    const counting = { get: async (slug: string) => (reads++, deps.issues.get(slug)) };
    const cache = new Map<string, string>();
    const links = (slug: string) => ({ pageUrl: `https://n.example/archive/${slug}`, subscribeUrl: 'https://n.example/subscribe' });
    // Act
    const first = await withFeedContent({ issues: counting }, entries, links, 2, cache);
    const again = await withFeedContent({ issues: counting }, entries, links, 2, cache);
    deps.issues.issues.delete('c');
    const lost = await withFeedContent({ issues: counting }, entries, links, 3, new Map());
    // Assess
    expect(first.map((e) => e.slug)).toEqual(['a', 'b']);
    expect(first[0]!.contentHtml).toContain('<p>Hello  ()</p>');
    expect(first[0]!.contentHtml).not.toMatch(/\{\{|Unsubscribe/);
    expect(again).toEqual(first);
    expect(reads).toBe(2 + 3);
    expect(lost[2]).toEqual(entries[2]);
  });
});

describe('atomFeed', () => {
  const options = {
    title: 'Tips & <Tricks> "News"',
    archiveUrl: 'https://n.example/archive',
    feedUrl: 'https://n.example/archive/feed.xml',
    entryUrl: (slug: string) => `https://n.example/archive/${slug}`,
    now: new Date('2026-05-01T00:00:00Z'),
  };
  const entry = (slug: string, sentAt: string, extra: Partial<ArchiveEntry> = {}): ArchiveEntry => ({
    slug, title: `T ${slug}`, subject: `S ${slug}`, preheader: `P ${slug}`, lang: 'en', sentAt, ...extra,
  });

  it('is well-formed Atom with the required feed and entry elements, text escaped and forbidden characters dropped', () => {
    // Act
    const xml = atomFeed(
      [
        entry('b', '2026-04-02T10:00:00.000Z', { title: 'A < B & "C" \u0001\u001f end', preheader: "it's <script>alert(1)</script>", lang: 'zh' }),
        entry('a', '2026-04-01T10:00:00.000Z', { preheader: '' }),
      ],
      options,
    );
    // Assess
    const feed = parseXml(xml);
    expect(feed.name).toBe('feed');
    expect(feed.attributes.xmlns).toBe('http://www.w3.org/2005/Atom');
    expect(child(feed, 'id').text).toBe('https://n.example/archive');
    expect(child(feed, 'title').text).toBe('Tips & <Tricks> "News"');
    expect(child(feed, 'updated').text).toBe('2026-04-02T10:00:00.000Z');
    expect(child(child(feed, 'author'), 'name').text).toBe('Tips & <Tricks> "News"');
    expect(children(feed, 'link').find((l) => l.attributes.rel === 'self')?.attributes.href).toBe('https://n.example/archive/feed.xml');
    const entries = children(feed, 'entry');
    expect(entries).toHaveLength(2);
    const [b, a] = entries as [typeof feed, typeof feed];
    expect(child(b, 'id').text).toBe('https://n.example/archive/b');
    expect(child(b, 'title').text).toBe('A < B & "C"  end');
    expect(child(b, 'updated').text).toBe('2026-04-02T10:00:00.000Z');
    expect(child(b, 'link').attributes).toMatchObject({ rel: 'alternate', href: 'https://n.example/archive/b' });
    expect(child(b, 'summary').text).toBe("it's <script>alert(1)</script>");
    expect(b.attributes['xml:lang']).toBe('zh');
    // No preheader: the subject summarises the entry.
    expect(child(a, 'summary').text).toBe('S a');
    expect(xml).not.toContain('<script>');
  });

  it('carries an entry\'s content as escaped HTML (type="html") that reads back exactly', () => {
    // Prepare: markup, entities, quotes, and a character XML forbids
    const contentHtml = '<table role="presentation"><tr><td style="font-family:\'Menlo\'">a &amp; b &lt;c&gt; "q"\u0001</td></tr></table><pre><code>x &lt; 1</code></pre>';
    // Act
    const xml = atomFeed([{ ...entry('a', '2026-04-01T10:00:00.000Z'), contentHtml }, entry('b', '2026-03-01T10:00:00.000Z')], options);
    // Assess
    const [a, b] = children(parseXml(xml), 'entry') as [ReturnType<typeof parseXml>, ReturnType<typeof parseXml>];
    expect(child(a, 'content').attributes.type).toBe('html');
    expect(child(a, 'content').text).toBe(contentHtml.replace('\u0001', ''));
    expect(children(b, 'content')).toHaveLength(0);
    expect(xml).not.toContain('<table');
  });

  it('keeps only the newest entries, and has an <updated> even when empty', () => {
    const many = Array.from({ length: FEED_ENTRIES + 5 }, (_, i) => entry(`e${i}`, new Date(Date.UTC(2026, 0, 30 - i)).toISOString()));
    expect(children(parseXml(atomFeed(many, options)), 'entry')).toHaveLength(FEED_ENTRIES);
    const empty = parseXml(atomFeed([], options));
    expect(children(empty, 'entry')).toHaveLength(0);
    expect(child(empty, 'updated').text).toBe('2026-05-01T00:00:00.000Z');
  });

  it('escapes the five XML specials', () => {
    expect(escapeXml(`<a href="x">&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&amp;&apos;&lt;/a&gt;');
  });
});

describe('the test XML parser', () => {
  it('rejects what is not well-formed, so the feed checks can fail', () => {
    for (const bad of ['<a><b></a></b>', '<a>x & y</a>', '<a b=1/>', '<a b="1" b="2"/>', '<a>&nbsp;</a>', '<a/><b/>', '<a>', 'text<a/>', '<a>\u0001</a>']) {
      expect(() => parseXml(bad), bad).toThrow();
    }
    expect(parseXml('<?xml version="1.0" encoding="utf-8"?>\n<a x=\'1\'><b>&lt;&#x41;&#66;</b><!-- c --></a>').children[0]!.text).toBe('<AB');
  });
});
