/**
 * The web archive HTTP API (API Gateway HTTP API, payload v2), read-only and public:
 *   GET /archive            the sent issues, newest first (templates/archive/index.hbs in the pages layout)
 *   GET /archive/feed.xml   Atom feed of the latest issues
 *   GET /archive/<slug>     an issue's web version: the "view in browser" link of every email, no personal data
 * Thin: parse the path, call the core (lambdas/core/archive), map the result. Unknown slug → 404 page,
 * malformed slug → 400 page, other methods → 405; only an upstream fault is a 502, never bad input.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { atomFeed, FEED_ENTRIES } from '../core/archive/atom.ts';
import {
  findArchivedIssue,
  isArchiveSlug,
  listArchive,
  webVersionHtml,
  withFeedContent,
  type ArchiveDeps,
  type IssueSummary,
} from '../core/archive/archive.ts';
import { systemClock, type Clock } from '../core/ports.ts';
import { archiveUrl } from '../core/sending/compose.ts';
import { DEFAULT_TEMPLATES_DIR, pagesHandlebars } from './http/pages.ts';
import { html, type HttpResult } from './http/responses.ts';
import { requestPath } from './http/router.ts';

export type HttpHandler = (event: APIGatewayProxyEventV2) => Promise<HttpResult>;

export interface ArchiveHandlerOptions extends ArchiveDeps {
  /** Public base URL of the HTTP API (no trailing slash): absolute links in the feed; its path prefixes links. */
  publicBaseUrl: string;
  /** Shown on the pages and as the feed's title (default "Newsletter"). */
  newsletterName?: string;
  templatesDir?: string;
  clock?: Clock;
  /**
   * Where unexpected faults (answered 502) are reported, once each, with what was thrown and the request's method
   * and path (console by default; Powertools in Lambda, see runtime/observability.ts `logError`).
   */
  logError?: (message: string, err: unknown, detail?: Record<string, unknown>) => void;
}

type ArchiveTemplate = 'index' | 'message' | 'banner';

/** Archive templates compiled once per container, with the subscribe pages' layout as the `layout` partial. */
function compileTemplates(templatesDir: string): Record<ArchiveTemplate, HandlebarsTemplateDelegate> {
  const hbs = pagesHandlebars(templatesDir);
  const compile = (name: ArchiveTemplate) => hbs.compile(readFileSync(join(templatesDir, 'archive', `${name}.hbs`), 'utf8'));
  return { index: compile('index'), message: compile('message'), banner: compile('banner') };
}

/** Issue pages embed remote images (the email's own); everything else stays as locked down as the other pages. */
const ISSUE_PAGE_CSP =
  "default-src 'none'; style-src 'unsafe-inline'; img-src https: http: data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";
/** An issue page is public and the same for everyone: short caching is safe and spares DynamoDB. */
const CACHEABLE = { 'cache-control': 'public, max-age=300' };
/** The list and the feed change with every send: caches must ask again. */
const REVALIDATE = { 'cache-control': 'no-cache' };

export function createArchiveHandler(options: ArchiveHandlerOptions): HttpHandler {
  const base = options.publicBaseUrl.replace(/\/+$/, '');
  const basePath = new URL(base).pathname.replace(/\/+$/, '');
  const newsletterName = options.newsletterName ?? 'Newsletter';
  const clock = options.clock ?? systemClock;
  const logError = options.logError ?? ((message, err) => console.error(message, err));
  const t = compileTemplates(options.templatesDir ?? DEFAULT_TEMPLATES_DIR);
  const common = { newsletterName, basePath, lang: 'en' };
  const bannerHtml = t.banner(common);
  /** Stored issues never change once listed: read each once per container (see listArchive). */
  const summaries = new Map<string, IssueSummary>();
  /** The feed's entry contents by slug, for the same reason. */
  const contents = new Map<string, string>();

  const message = (statusCode: number, title: string, text: string, headers: Record<string, string> = {}) =>
    html(statusCode, t.message({ ...common, title, message: text }), headers);

  const index = async (): Promise<HttpResult> => {
    const entries = (await listArchive(options, summaries)).map((e) => ({ ...e, day: (e.date ?? e.sentAt).slice(0, 10) }));
    return html(200, t.index({ ...common, entries }), REVALIDATE);
  };

  const feed = async (): Promise<HttpResult> => {
    const entries = await withFeedContent(
      options,
      await listArchive(options, summaries),
      (slug) => ({ pageUrl: archiveUrl(base, slug), subscribeUrl: `${base}/subscribe` }),
      FEED_ENTRIES,
      contents,
    );
    const body = atomFeed(entries, {
      title: newsletterName,
      archiveUrl: `${base}/archive`,
      feedUrl: `${base}/archive/feed.xml`,
      entryUrl: (slug) => archiveUrl(base, slug),
      now: clock.now(),
    });
    return {
      statusCode: 200,
      headers: { ...REVALIDATE, 'content-type': 'application/atom+xml; charset=utf-8', 'x-content-type-options': 'nosniff' },
      body,
    };
  };

  const issuePage = async (rawSlug: string): Promise<HttpResult> => {
    let slug: string;
    try {
      slug = decodeURIComponent(rawSlug);
    } catch {
      return message(400, 'Address not valid', 'This archive address is not valid.');
    }
    if (slug.includes('/') || !isArchiveSlug(slug)) return message(400, 'Address not valid', 'This archive address is not valid.');
    const found = await findArchivedIssue(options, slug);
    if (!found) return message(404, 'Issue not found', 'There is no issue at this address. It may not have been sent yet.');
    const page = webVersionHtml(found.issue, {
      pageUrl: archiveUrl(base, slug),
      subscribeUrl: `${base}/subscribe`,
      bannerHtml,
    });
    return html(200, page, { ...CACHEABLE, 'content-security-policy': ISSUE_PAGE_CSP });
  };

  return async (event) => {
    const path = requestPath(event);
    const method = (event.requestContext?.http?.method ?? 'GET').toUpperCase();
    const head = method === 'HEAD';
    let result: HttpResult;
    try {
      if (path !== '/archive' && !path.startsWith('/archive/')) result = message(404, 'Page not found', `Not found: ${path}`);
      else if (method !== 'GET' && !head) {
        result = message(405, 'Method not allowed', `Method ${method} is not allowed here.`, { allow: 'GET, HEAD' });
      } else if (path === '/archive') result = await index();
      else if (path === '/archive/feed.xml') result = await feed();
      else result = await issuePage(path.slice('/archive/'.length));
    } catch (err) {
      logError('archive handler fault', err, { statusCode: 502, method, path });
      result = message(502, 'Temporarily unavailable', 'The archive is temporarily unavailable. Please try again in a few minutes.');
    }
    return head ? { ...result, body: '' } : result;
  };
}
