/**
 * The Issue model: what a Markdown issue means, independent of how it is rendered.
 * Every string here is plain text (no Markdown, no HTML) except the fields named `*Html`, which hold
 * HTML produced by our own escaping renderer (never raw HTML from the source).
 */

/** One entry of a section, rendered as a card. */
export interface IssueItem {
  /** Plain-text title (never empty: falls back to the body's first line or the domain). */
  title: string;
  /** Absolute link target of the title (the source's first link for the item), when there is one. */
  url?: string;
  /** Host name shown under the title, e.g. `arxiv.org` (derived from `domainUrl`, `www.` dropped). */
  domain?: string;
  /** Target of the domain link in the source (often the same page without tracking parameters). */
  domainUrl?: string;
  /** Secondary line: a link preview's title or the `[2110.00476] Paper title` line of the commentary. */
  subtitle?: string;
  /** Short description: the link preview's description. */
  description?: string;
  /** Absolute image URL (relative paths are resolved against `assetBaseUrl` or dropped). */
  image?: string;
  imageAlt?: string;
  /** Commentary paragraphs and other blocks as safe HTML, in source order. */
  bodyHtml: string[];
  /** The same blocks as plain text, for the text part. */
  bodyText: string[];
}

/** Free content (paragraphs, lists, sub-headings) between items, kept in source order. */
export interface ProseBlock {
  html: string;
  text: string;
}

/** What a section holds, in source order. */
export type SectionBlock = { kind: 'prose'; prose: ProseBlock } | { kind: 'item'; item: IssueItem };

/** One top-level heading of the issue and what follows it (the lead has an empty title). */
export interface IssueSection {
  /** Heading text without its leading `1.` numbering; empty for the lead. */
  title: string;
  /** The `1.` numbering of the heading, when present. */
  number?: string;
  blocks: SectionBlock[];
  /** The cards of `blocks`, for consumers that only want the items. */
  items: IssueItem[];
}

export interface Issue {
  title: string;
  subject: string;
  preheader: string;
  /** ISO date (YYYY-MM-DD) when known. */
  date?: string;
  number?: number;
  slug: string;
  /** BCP 47 language tag for `<html lang>`. */
  lang: string;
  assetBaseUrl?: string;
  linkBaseUrl: string;
  /** The "originally published at" link (`> 原文：<url>`), when present. */
  source?: { label: string; url: string };
  /** What comes between the title and the first section (lead news, table of contents); may be empty. */
  lead: IssueSection;
  sections: IssueSection[];
}

/** The front matter keys an issue may set; all optional. */
export interface FrontMatter {
  title?: string;
  subject?: string;
  preheader?: string;
  date?: string;
  number?: number;
  slug?: string;
  lang?: string;
  assetBaseUrl?: string;
  linkBaseUrl?: string;
}
