/**
 * Markdown (with optional YAML front matter) → Issue model.
 *
 * markdown-it produces the token stream; everything here works on tokens. The only string-level work is
 * targeted, inside single inline runs: reassembling Medium's link-preview cards, which the export splits
 * over three blocks (`[](url) [## Title` / `### description` / `domain](url)`).
 */
import { splitFrontMatter } from './front-matter.ts';
import { authoringError, literalPlaceholders, mapStrings, restorePlaceholders, translatePlaceholders, withoutBrokenSentinel } from './placeholders.ts';
import { RenderError } from './errors.ts';
import type { FrontMatter, Issue, IssueItem, IssueSection, SectionBlock } from './model.ts';
import {
  type FixContext,
  type Token,
  fixBlocks,
  fixInline,
  inlineText,
  md,
  neutralizeBraces,
  renderHtml,
  renderInlineHtml,
  renderText,
  resolveLink,
  attr,
  inlineToText,
} from './markdown.ts';

export const DEFAULT_LINK_BASE_URL = 'https://medium.com';

export interface ParseOptions {
  /** Overrides the front matter's `assetBaseUrl`. */
  assetBaseUrl?: string;
  /** Overrides the front matter's `linkBaseUrl`; default https://medium.com. */
  linkBaseUrl?: string;
}

/** A markdown-it block as the segmenter sees it. */
type Block =
  | { kind: 'heading'; level: number; inline: Token; open: Token; close: Token }
  | { kind: 'paragraph'; inline: Token; open: Token; close: Token }
  | { kind: 'card'; url: string; title: string; description?: string }
  | { kind: 'other'; tokens: Token[] }
  | { kind: 'separator' };

export interface ParsedIssue {
  issue: Issue;
  /** Everything the operator should read, authoring errors included. */
  warnings: string[];
  /**
   * Mistakes that would show in readers' inboxes: unknown front-matter keys, placeholders that will not be filled,
   * images without an absolute URL, links without https. `send` refuses an issue with any unless forced.
   */
  authoringErrors: string[];
}

/**
 * Parse an issue. Throws RenderError for empty input or when no title can be found.
 * Warnings (dropped images, unresolvable links) and authoring errors are returned, never thrown.
 */
export function parseIssue(source: string, options: ParseOptions = {}): ParsedIssue {
  if (!source.trim()) throw new RenderError('the issue is empty');
  const { frontMatter: fm, body, unknownKeys } = splitFrontMatter(source);
  const warnings: string[] = [];
  const errors: string[] = [];
  const linkBaseUrl = validBase(options.linkBaseUrl ?? fm.linkBaseUrl ?? DEFAULT_LINK_BASE_URL, 'linkBaseUrl');
  const assetBaseUrl = options.assetBaseUrl ?? fm.assetBaseUrl;
  const ctx: FixContext = { linkBaseUrl, assetBaseUrl: assetBaseUrl && validBase(assetBaseUrl, 'assetBaseUrl'), warnings, errors };
  for (const unknown of unknownKeys) authoringError(ctx, unknown);
  const fmText = (key: 'subject' | 'preheader') => {
    const value = fm[key];
    return value === undefined ? undefined : neutralizeBraces(translatePlaceholders(value, ctx, key));
  };
  const subject = fmText('subject');
  const preheader = fmText('preheader');
  if (fm.title) translatePlaceholders(fm.title, ctx, 'title');

  const tokens = md.parse(body, {});
  let blocks = toBlocks(tokens);
  blocks = assembleCards(blocks, ctx).map((b) => (isSeparator(b) ? { kind: 'separator' } : b));
  for (const b of blocks) {
    if (b.kind === 'heading' || b.kind === 'paragraph') b.inline.children = fixInline(b.inline.children ?? [], ctx);
    else if (b.kind === 'other') fixBlocks(b.tokens, ctx);
  }

  const taken = takeTitle(blocks, fm);
  const rest = taken.rest;
  if (!taken.title) throw new RenderError('no title: add a "# Title" heading or a front matter "title"');
  const title = literalPlaceholders(taken.title);
  if (title !== taken.title) {
    authoringError(ctx, `placeholders in the title "${title.replace(/\u200B/g, '').slice(0, 60)}" will not be filled: the title names the archive page; put them in the front-matter "subject"`);
  }
  blocks = rest;
  const source_ = takeSource(blocks);
  if (source_) blocks = source_.rest;

  const sectionLevel = Math.min(
    ...blocks.filter((b): b is Extract<Block, { kind: 'heading' }> => b.kind === 'heading').map((b) => b.level),
  );
  const lead = newSection('');
  const sections: IssueSection[] = [];
  let current = lead;
  const builder = new SectionBuilder(ctx);
  builder.start(current);
  for (const b of blocks) {
    if (b.kind === 'heading' && b.level === sectionLevel) {
      const text = neutralizeBraces(inlineText(b.inline.children ?? []));
      const m = /^(\d{1,3})\s*[.．、)]\s*(.+)$/.exec(text);
      current = newSection(m ? m[2]! : text, m ? m[1] : undefined);
      sections.push(current);
      builder.start(current);
      continue;
    }
    builder.add(b);
  }
  builder.finish();
  for (const s of [lead, ...sections]) s.items = s.blocks.flatMap((b) => (b.kind === 'item' ? [b.item] : []));

  const number = fm.number ?? numberFromTitle(title);
  const allText = [title, ...collectText(lead), ...sections.flatMap((s) => [s.title, ...collectText(s)])].join('\n');
  const lang = fm.lang ?? detectLang(allText);
  const issue: Issue = {
    title,
    subject: subject ?? title,
    preheader: preheader ?? derivePreheader(tokens, source_?.skip),
    date: fm.date,
    number,
    slug: fm.slug ? slugify(fm.slug) || fallbackSlug(title, number) : deriveSlug(title, number),
    lang,
    assetBaseUrl: ctx.assetBaseUrl,
    linkBaseUrl,
    source: source_?.source,
    lead,
    sections,
  };
  return { issue: mapStrings(issue, restorePlaceholders), warnings, authoringErrors: errors };
}

function validBase(url: string, name: string): string {
  try {
    const u = new URL(url);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('not http');
    return u.href;
  } catch {
    throw new RenderError(`${name} "${url}" is not an absolute http(s) URL`);
  }
}

function newSection(title: string, number?: string): IssueSection {
  return { title, number, blocks: [], items: [] };
}

/** Group the top-level token stream into blocks (a list, a quote or a table stays one block). */
function toBlocks(tokens: Token[]): Block[] {
  const blocks: Block[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t.type === 'hr') {
      blocks.push({ kind: 'separator' });
    } else if (t.type === 'heading_open' || t.type === 'paragraph_open') {
      const inline = tokens[i + 1]!;
      const close = tokens[i + 2]!;
      blocks.push(
        t.type === 'heading_open'
          ? { kind: 'heading', level: Number(t.tag.slice(1)), inline, open: t, close }
          : { kind: 'paragraph', inline, open: t, close },
      );
      i += 2;
    } else if (t.nesting === 1) {
      let depth = 0;
      let j = i;
      for (; j < tokens.length; j++) {
        depth += tokens[j]!.nesting;
        if (depth === 0) break;
      }
      blocks.push({ kind: 'other', tokens: tokens.slice(i, j + 1) });
      i = j;
    } else if (t.nesting === 0) {
      blocks.push({ kind: 'other', tokens: [t] });
    }
  }
  return blocks;
}

/** A fragment of inline Markdown as one paragraph, whatever block syntax it starts with. */
function paragraphOf(markdown: string): Block | undefined {
  if (!markdown.trim()) return undefined;
  const inline = md.parseInline(markdown.trim(), {})[0];
  const [open, , close] = md.parse('p', {});
  if (!inline || !open || !close) return undefined;
  return { kind: 'paragraph', inline, open, close };
}

/** A link target, allowing one level of balanced parentheses (`/wiki/Foo_(bar)`). */
const URL_IN_PARENS = String.raw`((?:[^\s()<>]|\([^\s()<>]*\))+)`;
const CARD_START = new RegExp(String.raw`^([\s\S]*?)(?:\[\]\(\s*<?${URL_IN_PARENS}>?\s*\)\s*)?\[#{1,6}\s+([^\n]*)$`);
const CARD_END = new RegExp(String.raw`^([^[\]\n]*)\]\(\s*<?${URL_IN_PARENS}>?\s*\)([\s\S]*)$`);

/**
 * Reassemble Medium link-preview cards split over blocks: `[](url) [## Title`, then an optional
 * `### description` heading, then `domain](url)` (which may be followed by the next card's start).
 */
function assembleCards(blocks: Block[], ctx: FixContext): Block[] {
  const out: Block[] = [];
  let pending: { url?: string; title: string; description?: string } | undefined;
  /** Close the pending card; `endUrl` is the target of its closing `domain](url)`, when seen. */
  const finish = (endUrl?: string) => {
    if (!pending) return;
    const raw = pending.url ?? endUrl;
    const url = raw ? resolveLink(md.normalizeLink(raw), ctx) : undefined;
    if (url) out.push({ kind: 'card', url, title: pending.title, description: pending.description });
    else {
      // Not a card after all: keep its words rather than lose them.
      const words = [pending.title, pending.description].filter(Boolean).join(' — ');
      const p = words ? paragraphOf(words) : undefined;
      if (p) out.push(p);
    }
    pending = undefined;
  };
  for (const block of blocks) {
    let b: Block | undefined = block;
    if (pending) {
      if (b.kind === 'heading' && b.level >= 3 && pending.description === undefined) {
        pending.description = cleanText(b.inline.content);
        continue;
      }
      if (b.kind === 'paragraph') {
        const end = CARD_END.exec(b.inline.content);
        if (end) {
          finish(end[2]);
          b = paragraphOf(end[3]!);
        } else finish();
      } else finish();
    }
    // A paragraph may start a card at its end, possibly after some text or a finished card.
    if (b?.kind === 'paragraph') {
      const start = CARD_START.exec(b.inline.content);
      if (start) {
        // The prefix is often only emphasis debris (`****`); keep it only when it says something.
        const prefix = start[1]!.replace(/[\s*]/g, '') ? paragraphOf(start[1]!) : undefined;
        if (prefix) out.push(prefix);
        pending = { url: start[2], title: cleanText(start[3]!) };
        continue;
      }
    }
    if (b) out.push(b);
  }
  finish();
  return out;
}

/** Markdown fragment → plain text (emphasis debris removed, links reduced to their text). */
function cleanText(markdown: string): string {
  const children = md.parseInline(markdown, {})[0]?.children ?? [];
  return neutralizeBraces(inlineText(fixInline(children, { linkBaseUrl: DEFAULT_LINK_BASE_URL, warnings: [], errors: [] })));
}

/** `— — — —`, `## — — –`, a lone `****` and the like: visual separators and debris from the export. */
function isSeparator(b: Block): boolean {
  if (b.kind !== 'paragraph' && b.kind !== 'heading') return false;
  const raw = b.inline.content.replace(/[\s*]/g, '');
  return /^[—–\-_=~·•.]*$/.test(raw) && (raw.length >= 3 || raw.length === 0);
}

function takeTitle(blocks: Block[], fm: FrontMatter): { title: string | undefined; rest: Block[] } {
  const headingText = (b: Block | undefined) =>
    b?.kind === 'heading' ? neutralizeBraces(inlineText(b.inline.children ?? [])) : undefined;
  if (fm.title) {
    const firstIndex = blocks.findIndex((b) => b.kind !== 'separator');
    const first = headingText(blocks[firstIndex]);
    const rest = first !== undefined && (first === fm.title || first === fm.subject) ? blocks.filter((_, i) => i !== firstIndex) : blocks;
    return { title: neutralizeBraces(fm.title), rest };
  }
  let index = blocks.findIndex((b) => b.kind === 'heading' && b.level === 1 && headingText(b));
  if (index === -1) index = blocks.findIndex((b) => b.kind === 'heading' && headingText(b));
  if (index === -1) return { title: undefined, rest: blocks };
  return { title: headingText(blocks[index]), rest: blocks.filter((_, i) => i !== index) };
}

/** The `> 原文：<url>` line: a short quote before the first heading holding exactly one link. */
function takeSource(blocks: Block[]): { source: { label: string; url: string }; rest: Block[]; skip: Token } | undefined {
  for (let i = 0; i < blocks.length; i++) {
    const b = blocks[i]!;
    if (b.kind === 'heading') return undefined;
    if (b.kind !== 'other' || b.tokens[0]?.type !== 'blockquote_open') continue;
    const inlines = b.tokens.filter((t) => t.type === 'inline');
    const children = inlines.flatMap((t) => t.children ?? []);
    const links = children.filter((t) => t.type === 'link_open');
    if (inlines.length !== 1 || links.length !== 1 || inlineText(children).length > 300) continue;
    const linkIndex = children.indexOf(links[0]!);
    const label = inlineText(children.slice(0, linkIndex)).replace(/[:：\s]+$/, '');
    return {
      source: { label: neutralizeBraces(label), url: attr(links[0]!, 'href') ?? '' },
      rest: blocks.filter((_, j) => j !== i),
      skip: inlines[0]!,
    };
  }
  return undefined;
}

/** Collects one section's blocks into prose and item cards. */
class SectionBuilder {
  private section: IssueSection | undefined;
  private item: IssueItem | undefined;
  /** The current item still expects its image (nothing but the header seen yet). */
  private itemFresh = false;

  constructor(private readonly ctx: FixContext) {}

  start(section: IssueSection): void {
    this.section = section;
    this.item = undefined;
  }

  finish(): void {
    this.closeItem();
  }

  add(b: Block): void {
    switch (b.kind) {
      case 'separator':
        this.closeItem();
        return;
      case 'heading':
        this.closeItem();
        this.prose([b.open, b.inline, b.close]);
        return;
      case 'card':
        return this.card(b);
      case 'other':
        if (this.item) this.body([...b.tokens]);
        else this.prose(b.tokens);
        return;
      case 'paragraph':
        return this.paragraph(b);
    }
  }

  private paragraph(b: Extract<Block, { kind: 'paragraph' }>): void {
    const children = b.inline.children ?? [];
    if (!children.length) return;
    const header = parseItemHeader(children);
    if (header) {
      this.closeItem();
      this.item = header;
      this.itemFresh = true;
      this.section!.blocks.push({ kind: 'item', item: header });
      return;
    }
    const item = this.item;
    if (item) {
      const images = children.filter((t) => t.type === 'image');
      const onlyImages = images.length > 0 && children.every((t) => t.type === 'image' || (t.type === 'text' && !t.content.trim()) || t.type === 'softbreak');
      if (onlyImages && this.itemFresh && !item.image) {
        item.image = attr(images[0]!, 'src') ?? undefined;
        item.imageAlt = neutralizeBraces(images[0]!.content || item.title);
        if (images.length > 1) this.body([b.open, { ...b.inline, children: images.slice(1) } as Token, b.close]);
        return;
      }
      const rest = this.takeFirstLine(item, children);
      if (!rest.length) return;
      b.inline.children = rest;
      this.body([b.open, b.inline, b.close]);
      return;
    }
    this.prose([b.open, b.inline, b.close]);
  }

  /**
   * The commentary's first line often names the paper (`[2110.00476] ResNet strikes back`): it becomes the
   * card's title when the header had none, else its subtitle. Lines holding links stay in the body.
   */
  private takeFirstLine(item: IssueItem, children: Token[]): Token[] {
    if (item.bodyHtml.length) return children;
    const br = children.findIndex((t) => t.type === 'softbreak' || t.type === 'hardbreak');
    const line = br === -1 ? children : children.slice(0, br);
    const rest = br === -1 ? [] : children.slice(br + 1);
    if (line.some((t) => t.type === 'link_open' || t.type === 'image')) return children;
    const text = neutralizeBraces(inlineText(line));
    if (!text) return rest;
    if (!item.title) {
      item.title = text;
      return rest;
    }
    if (!item.subtitle && rest.length && /^[[【［(（]/.test(text)) {
      item.subtitle = text;
      return rest;
    }
    return children;
  }

  private card(b: Extract<Block, { kind: 'card' }>): void {
    const item = this.item;
    const sameTarget = item && (item.url === b.url || item.domainUrl === b.url);
    // `[**Title**](url?utm…)` followed by the preview of the same page without tracking parameters.
    const samePage = item && !item.bodyHtml.length && item.domainUrl === item.url && item.url && withoutQuery(item.url) === withoutQuery(b.url);
    if (item && (sameTarget || samePage) && item.description === undefined) {
      if (!sameTarget) {
        item.domainUrl = b.url;
        item.domain = hostOf(b.url);
      }
      if (!item.subtitle && b.title && b.title !== item.title) item.subtitle = b.title;
      item.description = b.description;
      return;
    }
    this.closeItem();
    const card: IssueItem = {
      title: b.title || hostOf(b.url) || b.url,
      url: b.url,
      domainUrl: b.url,
      domain: hostOf(b.url),
      description: b.description,
      bodyHtml: [],
      bodyText: [],
    };
    this.item = card;
    this.itemFresh = false;
    this.section!.blocks.push({ kind: 'item', item: card });
  }

  private body(tokens: Token[]): void {
    const html = renderHtml(tokens);
    if (!html) return;
    this.item!.bodyHtml.push(html);
    this.item!.bodyText.push(renderText(tokens));
    this.itemFresh = false;
  }

  private prose(tokens: Token[]): void {
    const html = renderHtml(tokens);
    if (!html) return;
    const text = renderText(tokens);
    const last = this.section!.blocks[this.section!.blocks.length - 1];
    // Consecutive prose shares one block: fewer MJML elements, smaller HTML.
    if (last?.kind === 'prose') {
      last.prose.html += html;
      last.prose.text += text ? `\n\n${text}` : '';
    } else {
      this.section!.blocks.push({ kind: 'prose', prose: { html, text } });
    }
  }

  private closeItem(): void {
    const item = this.item;
    if (item && !item.title) item.title = item.domain ?? item.url ?? '';
    this.item = undefined;
    this.itemFresh = false;
  }
}

interface Piece {
  text: string;
  href?: string;
}

/** Flatten inline tokens into outside-link text pieces and link pieces. */
function pieces(children: Token[]): Piece[] | undefined {
  const out: Piece[] = [];
  let link: Piece | undefined;
  let outside: Piece | undefined;
  for (const t of children) {
    if (t.type === 'link_open') {
      if (link) return undefined;
      outside = undefined;
      link = { text: '', href: attr(t, 'href') ?? '' };
      out.push(link);
    } else if (t.type === 'link_close') {
      link = undefined;
    } else if (t.type === 'softbreak' || t.type === 'hardbreak' || t.type === 'image') {
      return undefined;
    } else if (t.type === 'text' || t.type === 'code_inline') {
      if (link) link.text += t.content;
      else {
        if (!outside) {
          outside = { text: '' };
          out.push(outside);
        }
        outside.text += t.content;
      }
    }
  }
  return out;
}

const DASH = /\s*(?:—+|–+|-{2,}|―+)\s*/g;
const BRACKETED = /【[^】]*】/g;

/**
 * Recognise an item header: `[**Title**](url)**——**[**domain**](url)` and the export's damaged variants
 * (title outside the link, `【domain】` instead of a link, empty link text, trailing title text), or a
 * paragraph that is nothing but one link.
 */
function parseItemHeader(children: Token[]): IssueItem | undefined {
  const list = pieces(children);
  if (!list || !list.some((p) => p.href)) return undefined;
  const total = list.map((p) => p.text).join('');
  if (total.length > 240) return undefined;

  const links = list.filter((p) => p.href !== undefined);
  const outsideText = list.filter((p) => p.href === undefined).map((p) => p.text).join('').trim();
  if (links.length === 1 && !outsideText && links[0]!.text.trim()) {
    const url = links[0]!.href!;
    return newItem(clean(links[0]!.text), url, url);
  }

  // Find the last outside piece with a dash run followed by nothing but the domain (a link or 【domain】).
  for (let i = list.length - 1; i >= 0; i--) {
    const p = list[i]!;
    if (p.href !== undefined) continue;
    const matches = [...p.text.matchAll(DASH)];
    const m = matches[matches.length - 1];
    if (!m) continue;
    const after = p.text.slice(m.index + m[0].length);
    const next = list[i + 1];
    const domainFollows = /^【[^】]+】/.test(after) || (!after.trim() && next?.href !== undefined);
    if (!domainFollows) continue;
    const before = p.text.slice(0, m.index);
    const left: Piece[] = [...list.slice(0, i), { text: before }];
    const right: Piece[] = [{ text: after }, ...list.slice(i + 1)];
    const titleLeft = left.map((q) => q.text).join('').replace(BRACKETED, '');
    const titleRight = right
      .filter((q) => q.href === undefined)
      .map((q) => q.text)
      .join('')
      .replace(BRACKETED, '');
    const url = left.find((q) => q.href)?.href ?? right.find((q) => q.href)?.href;
    const domainUrl = right.find((q) => q.href)?.href ?? url;
    return newItem(clean(titleLeft + titleRight), url, domainUrl);
  }
  return undefined;
}

function clean(text: string): string {
  return neutralizeBraces(text.replace(/\*{2,}/g, '').replace(/\s+/g, ' ').trim());
}

function newItem(title: string, url: string | undefined, domainUrl: string | undefined): IssueItem {
  return { title, url, domainUrl, domain: domainUrl ? hostOf(domainUrl) : undefined, bodyHtml: [], bodyText: [] };
}

function withoutQuery(url: string): string {
  return url.replace(/[?#].*$/, '').replace(/\/$/, '');
}

function hostOf(url: string): string | undefined {
  try {
    const host = new URL(url).hostname;
    return host ? host.replace(/^www\./, '') : undefined;
  } catch {
    return undefined;
  }
}

function collectText(section: IssueSection): string[] {
  return section.blocks.map((b) =>
    b.kind === 'prose' ? b.prose.text : [b.item.title, b.item.subtitle ?? '', b.item.description ?? '', ...b.item.bodyText].join('\n'),
  );
}

/** `#第 31 期`, `Issue 31`, `No. 31`, `#31`, `第31号`. */
export function numberFromTitle(title: string): number | undefined {
  const patterns = [/第\s*(\d{1,6})\s*[期号號回]/, /\b(?:issue|no\.?|number|vol\.?|edition|ep\.?)\s*#?\s*(\d{1,6})\b/i, /#\s*(\d{1,6})\b/];
  for (const p of patterns) {
    const m = p.exec(title);
    if (m) return Number(m[1]);
  }
  return undefined;
}

/**
 * Language from the text: kana → ja, hangul → ko, Han → zh (when CJK is a real share of the letters), else en.
 */
export function detectLang(text: string): string {
  const count = (re: RegExp) => text.match(re)?.length ?? 0;
  const letters = count(/\p{L}/gu);
  const han = count(/\p{Script=Han}/gu);
  const kana = count(/[\p{Script=Hiragana}\p{Script=Katakana}]/gu);
  const hangul = count(/\p{Script=Hangul}/gu);
  const cjk = han + kana + hangul;
  if (!letters || cjk / letters < 0.2) return 'en';
  if (kana > cjk * 0.05) return 'ja';
  if (hangul > han) return 'ko';
  return 'zh';
}

/** ASCII, lower-case, hyphen-separated; empty when nothing ASCII remains. */
export function slugify(text: string): string {
  return text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 80)
    .replace(/-+$/, '');
}

/**
 * Stable, URL-safe slug. Mostly-ASCII titles slugify (`weekly-ml-notes-31`); titles in other scripts give
 * `issue-31`, or `issue-<hash>` when there is no number.
 */
export function deriveSlug(title: string, number: number | undefined): string {
  const letters = [...title].filter((c) => /\p{L}/u.test(c));
  const ascii = letters.filter((c) => /[a-z]/i.test(c)).length;
  if (letters.length && ascii / letters.length >= 0.5) {
    const base = slugify(title);
    if (base) return number === undefined || new RegExp(`(^|-)${number}($|-)`).test(base) ? base : `${base}-${number}`;
  }
  return fallbackSlug(title, number);
}

function fallbackSlug(title: string, number: number | undefined): string {
  if (number !== undefined) return `issue-${number}`;
  let h = 0x811c9dc5;
  for (const ch of title) h = Math.imul(h ^ ch.codePointAt(0)!, 0x01000193) >>> 0;
  return `issue-${h.toString(36)}`;
}

/** First real paragraph of the body (not the title, not the source quote), cut to about 140 characters. */
function derivePreheader(tokens: Token[], skip: Token | undefined): string {
  let short = '';
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t.type !== 'inline' || t === skip || tokens[i - 1]?.type !== 'paragraph_open') continue;
    const text = inlineText(t.children ?? []).replace(/\*{2,}/g, '');
    const letters = text.replace(/[\s—–\-_*]/g, '').length;
    if (letters < 2) continue;
    // A label such as `本周特稿/新闻。` makes a poor preheader when a real sentence follows.
    if (letters < 20) {
      short ||= text;
      continue;
    }
    return truncate(neutralizeBraces(text), 140);
  }
  return truncate(neutralizeBraces(short), 140);
}

function truncate(text: string, max: number): string {
  const chars = [...text];
  if (chars.length <= max) return text;
  const cut = chars.slice(0, max).join('');
  const space = cut.lastIndexOf(' ');
  return `${withoutBrokenSentinel((space > max * 0.6 ? cut.slice(0, space) : cut).trimEnd())}…`;
}

export { renderInlineHtml, inlineToText };
