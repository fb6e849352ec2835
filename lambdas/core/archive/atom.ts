/**
 * The archive's Atom feed (RFC 4287), built as a string: every text and attribute is XML-escaped, and characters
 * XML 1.0 forbids are dropped, so any issue title gives a well-formed document.
 */
import type { ArchiveEntry } from './archive.ts';

export interface AtomFeedOptions {
  /** Feed title, also the author name (Atom requires an author for entries that have none). */
  title: string;
  /** Absolute URL of the archive index (`…/archive`): the feed id and its alternate link. */
  archiveUrl: string;
  /** Absolute URL of the feed itself (`…/archive/feed.xml`). */
  feedUrl: string;
  /** Absolute URL of an issue page. */
  entryUrl(slug: string): string;
  /** Used as `<updated>` when there is no entry (Atom requires one). */
  now: Date;
}

/** Entries in the feed at most: readers poll it, and the archive page lists the rest. */
export const FEED_ENTRIES = 20;

// Anything outside XML 1.0's Char production (C0 controls other than tab/LF/CR, lone surrogates, U+FFFE/U+FFFF).
const NOT_XML_CHAR = /[^\u0009\u000A\u000D\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;
const XML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };

/** Escape text for XML content and attribute values. */
export function escapeXml(value: string): string {
  return value.replace(NOT_XML_CHAR, '').replace(/[&<>"']/g, (c) => XML_ESCAPES[c]!);
}

function rfc3339(iso: string, fallback: Date): string {
  const t = Date.parse(iso);
  return (Number.isNaN(t) ? fallback : new Date(t)).toISOString();
}

/**
 * The newest {@link FEED_ENTRIES} entries (already sorted newest first) as an Atom document. An entry with
 * `contentHtml` carries the whole issue as `<content type="html">` (escaped once, as RFC 4287 §3.1.1.2 wants).
 */
export function atomFeed(entries: Array<ArchiveEntry & { contentHtml?: string }>, options: AtomFeedOptions): string {
  const shown = entries.slice(0, FEED_ENTRIES);
  const updated = shown.length ? rfc3339(shown[0]!.sentAt, options.now) : options.now.toISOString();
  const lines = [
    '<?xml version="1.0" encoding="utf-8"?>',
    '<feed xmlns="http://www.w3.org/2005/Atom">',
    `  <id>${escapeXml(options.archiveUrl)}</id>`,
    `  <title>${escapeXml(options.title)}</title>`,
    `  <updated>${updated}</updated>`,
    `  <author><name>${escapeXml(options.title)}</name></author>`,
    `  <link rel="self" type="application/atom+xml" href="${escapeXml(options.feedUrl)}"/>`,
    `  <link rel="alternate" type="text/html" href="${escapeXml(options.archiveUrl)}"/>`,
  ];
  for (const e of shown) {
    const url = options.entryUrl(e.slug);
    const at = rfc3339(e.sentAt, options.now);
    lines.push(
      `  <entry xml:lang="${escapeXml(e.lang)}">`,
      `    <id>${escapeXml(url)}</id>`,
      `    <title>${escapeXml(e.title)}</title>`,
      `    <updated>${at}</updated>`,
      `    <published>${at}</published>`,
      `    <link rel="alternate" type="text/html" href="${escapeXml(url)}"/>`,
      `    <summary>${escapeXml(e.preheader || e.subject)}</summary>`,
      ...(e.contentHtml ? [`    <content type="html">${escapeXml(e.contentHtml)}</content>`] : []),
      '  </entry>',
    );
  }
  lines.push('</feed>', '');
  return lines.join('\n');
}
