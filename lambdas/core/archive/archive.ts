/**
 * The web archive: which issues are public, and each issue's web version. Pure: campaigns and rendered issues
 * come in through the CampaignRepository and IssueStore ports, HTML goes out as strings.
 *
 * An issue is public once someone may have it in their inbox: its campaign has left DRAFT (SENDING, PAUSED or
 * SENT), so every "view in browser" link a recipient holds works. The list shows the campaigns whose fan-out is
 * done (SENT, or SENDING with the fan-out complete): the issues that went out to the whole audience.
 */
import type { CampaignRecord, CampaignRepository, IssueStore, StoredIssue } from '../ports.ts';
import { compilePersonalizer, placeholder } from '../issue/personalize.ts';
import { validIssueSlug } from '../sending/stored-issue.ts';

export interface ArchiveDeps {
  campaigns: Pick<CampaignRepository, 'list' | 'get'>;
  issues: Pick<IssueStore, 'get'>;
}

/** One sent issue, as the archive list and the Atom feed show it. No subscriber data. */
export interface ArchiveEntry {
  slug: string;
  title: string;
  subject: string;
  preheader: string;
  lang: string;
  /** ISO time the issue went out (the campaign's sentAt, else its start). */
  sentAt: string;
  /** ISO date of the issue from its front matter, when it has one. */
  date?: string;
}

/** Issues read from the store at the same time while building the list. */
const READ_CONCURRENCY = 8;

/** Slugs the IssueStore accepts (stored-issue.ts `validIssueSlug`). */
export function isArchiveSlug(slug: string): boolean {
  try {
    validIssueSlug(slug);
    return true;
  } catch {
    return false;
  }
}

function isListed(c: CampaignRecord): boolean {
  return c.status === 'SENT' || (c.status === 'SENDING' && c.fanoutComplete === true);
}

function isPublic(c: CampaignRecord): boolean {
  return c.status !== 'DRAFT';
}

/** What the list needs of a stored issue: everything but its (large) HTML and text. */
export type IssueSummary = Omit<StoredIssue, 'html' | 'text'>;

/**
 * The sent issues, newest first. A campaign whose rendered issue is missing from the store is left out (its page
 * would be a 404 too). Costs one campaign list plus one IssueStore read per listed campaign not yet in `summaries`:
 * an issue is stored before its campaign exists and never changes after, so a container can keep what it read.
 */
export async function listArchive(deps: ArchiveDeps, summaries: Map<string, IssueSummary> = new Map()): Promise<ArchiveEntry[]> {
  const campaigns = (await deps.campaigns.list()).filter(isListed);
  const entries: Array<ArchiveEntry | undefined> = new Array(campaigns.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(READ_CONCURRENCY, campaigns.length) }, async () => {
      for (let i = next++; i < campaigns.length; i = next++) {
        const c = campaigns[i]!;
        let summary = summaries.get(c.slug);
        if (!summary && isArchiveSlug(c.slug)) {
          const issue = await deps.issues.get(c.slug);
          if (issue) {
            const { html: _html, text: _text, ...rest } = issue;
            summaries.set(c.slug, (summary = rest));
          }
        }
        entries[i] = summary && toEntry(c, summary);
      }
    }),
  );
  return entries
    .filter((e): e is ArchiveEntry => e !== undefined)
    .sort((a, b) => b.sentAt.localeCompare(a.sentAt) || a.slug.localeCompare(b.slug));
}

/** Values that stand for no one: names and attributes empty (fallbacks apply), no links. */
const NO_ONE = { unsubscribeUrl: '', viewInBrowserUrl: '', name: '', email: '' };

/** A subject or preheader with its placeholders filled for no one (`Hi {{name|reader}}` → `Hi reader`). */
export function impersonal(text: string): string {
  return text.includes('{{') ? compilePersonalizer({ html: '', text, subject: '' })(NO_ONE).text : text;
}

function toEntry(c: CampaignRecord, issue: IssueSummary): ArchiveEntry {
  return {
    slug: issue.slug,
    title: impersonal(issue.title || issue.subject),
    subject: impersonal(issue.subject),
    preheader: impersonal(issue.preheader ?? ''),
    lang: issue.lang || 'en',
    sentAt: c.sentAt ?? c.createdAt,
    ...(issue.date ? { date: issue.date } : {}),
  };
}

/** The stored issue behind a public archive page, or undefined (unknown slug, DRAFT campaign, missing issue). */
export async function findArchivedIssue(deps: ArchiveDeps, slug: string): Promise<{ entry: ArchiveEntry; issue: StoredIssue } | undefined> {
  if (!isArchiveSlug(slug)) return undefined;
  const campaign = await deps.campaigns.get(slug);
  if (!campaign || !isPublic(campaign)) return undefined;
  const issue = await deps.issues.get(slug);
  return issue ? { entry: toEntry(campaign, issue), issue } : undefined;
}

export interface WebVersionLinks {
  /** Absolute URL of this page (`/archive/<slug>`): fills any remaining `{{viewInBrowserUrl}}`. */
  pageUrl: string;
  /** Where a reader can subscribe: fills any `{{unsubscribeUrl}}` left outside a removed link. */
  subscribeUrl: string;
  /** HTML put right after `<body>` (links to the archive and the subscribe form), already escaped. */
  bannerHtml: string;
}

/** `<a href="{{unsubscribeUrl}}">…</a>` and `<a href="{{viewInBrowserUrl}}">…</a>`, with one ` · ` separator. */
const RECIPIENT_LINKS = new RegExp(
  `(?:\\s*·\\s*)?<a\\b[^>]*\\bhref="(?:${[placeholder('unsubscribeUrl'), placeholder('viewInBrowserUrl')]
    .map((p) => p.replace(/[{}]/g, '\\$&'))
    .join('|')})"[^>]*>[\\s\\S]*?</a>(?:[ \\t]*·[ \\t]*)?`,
  'g',
);

/**
 * The web version of a stored issue, with no personal data: the unsubscribe and "view in browser" links are
 * removed (neither means anything on the web page itself), every other per-recipient placeholder gets a neutral
 * value (name and email empty, URLs as in {@link WebVersionLinks}), and the banner goes at the top of the body.
 */
export function webVersionHtml(issue: Pick<StoredIssue, 'html' | 'text' | 'subject'>, links: WebVersionLinks): string {
  const stripped = issue.html.replace(RECIPIENT_LINKS, '');
  const filled = compilePersonalizer({ html: stripped, text: '', subject: '' })({
    unsubscribeUrl: links.subscribeUrl,
    viewInBrowserUrl: links.pageUrl,
    name: '',
    email: '',
  }).html;
  const body = /<body\b[^>]*>/i.exec(filled);
  if (!body) return links.bannerHtml + filled;
  const at = body.index + body[0].length;
  return filled.slice(0, at) + links.bannerHtml + filled.slice(at);
}

/**
 * The issue as a feed entry's content: the web version's body (no personal data, no unsubscribe or "view in
 * browser" link), without the hidden preheader or comments (Outlook-only markup). Feed readers drop styles, so
 * the preheader would otherwise show as a stray first line.
 */
export function feedContentHtml(issue: Pick<StoredIssue, 'html' | 'text' | 'subject'>, links: Omit<WebVersionLinks, 'bannerHtml'>): string {
  const page = webVersionHtml(issue, { ...links, bannerHtml: '' });
  const open = /<body\b[^>]*>/i.exec(page);
  const close = page.lastIndexOf('</body>');
  const body = open ? page.slice(open.index + open[0].length, close > open.index ? close : undefined) : page;
  return body
    .replace(/<!--[\s\S]*?-->/g, '')
    .replace(/<div\b[^>]*style="[^"]*display:\s*none[^"]*"[^>]*>[^<]*(?:<(?!\/div>)[^<]*)*<\/div>/i, '')
    .trim();
}

/**
 * Feed entries with their content, newest first, at most `limit`. Each issue is read once per container: `cache`
 * keeps the content by slug (a stored issue never changes once it went out).
 */
export async function withFeedContent(
  deps: Pick<ArchiveDeps, 'issues'>,
  entries: ArchiveEntry[],
  links: (slug: string) => Omit<WebVersionLinks, 'bannerHtml'>,
  limit: number,
  cache: Map<string, string> = new Map(),
): Promise<Array<ArchiveEntry & { contentHtml?: string }>> {
  return Promise.all(
    entries.slice(0, limit).map(async (e) => {
      let content = cache.get(e.slug);
      if (content === undefined) {
        const issue = await deps.issues.get(e.slug);
        if (!issue) return e;
        cache.set(e.slug, (content = feedContentHtml(issue, links(e.slug))));
      }
      return { ...e, contentHtml: content };
    }),
  );
}
