/**
 * The markdown-it setup shared by the parser and the tests, plus token-level helpers:
 * clean-up of Medium's stray emphasis, link and image resolution, and safe rendering of token slices
 * to email HTML (inline styles, no raw HTML) and to plain text.
 */
import MarkdownIt, { type Token } from 'markdown-it';

export type { Token };

/** html:false: any HTML in the source is text, escaped on output. */
export function createMarkdown() {
  return new MarkdownIt({ html: false, linkify: false, typographer: false });
}

export const md = createMarkdown();

const LINK_STYLE = 'color:#2454c5;text-decoration:underline;';
const STYLES: Record<string, string> = {
  paragraph_open: 'margin:0 0 12px 0;',
  bullet_list_open: 'margin:0 0 12px 0;padding-left:22px;',
  ordered_list_open: 'margin:0 0 12px 0;padding-left:22px;',
  list_item_open: 'margin:0 0 6px 0;',
  blockquote_open: 'margin:0 0 12px 0;padding:4px 0 4px 12px;border-left:3px solid #d0d7e2;color:#4a5568;',
  heading_open: 'margin:4px 0 10px 0;font-size:17px;line-height:24px;color:#1a202c;',
  code_inline: 'font-family:Menlo,Consolas,monospace;font-size:13px;background:#f1f3f7;padding:1px 4px;border-radius:3px;',
  code_block: 'font-family:Menlo,Consolas,monospace;font-size:13px;background:#f1f3f7;padding:10px;border-radius:6px;white-space:pre-wrap;',
  fence: 'font-family:Menlo,Consolas,monospace;font-size:13px;background:#f1f3f7;padding:10px;border-radius:6px;white-space:pre-wrap;',
  table_open: 'border-collapse:collapse;margin:0 0 12px 0;',
  th_open: 'border:1px solid #d0d7e2;padding:4px 8px;text-align:left;',
  td_open: 'border:1px solid #d0d7e2;padding:4px 8px;',
  link_open: LINK_STYLE,
  image: 'display:block;max-width:100%;height:auto;border:0;margin:0 0 12px 0;',
};

/** A token attribute as a string (markdown-it types allow numbers). */
export function attr(t: Token, name: string): string | undefined {
  const v = t.attrGet(name);
  return v === null || v === undefined ? undefined : String(v);
}

/** Runs of two or more asterisks left as text are export debris, never content. */
const ASTERISK_RUN = /\*{2,}/g;

export interface FixContext {
  linkBaseUrl: string;
  assetBaseUrl?: string;
  warnings: string[];
}

/** Resolve a link target: absolute http(s)/mailto stay as they are; relative ones resolve against the link base. */
export function resolveLink(href: string, ctx: FixContext): string | undefined {
  if (/^[a-z][a-z0-9+.-]*:/i.test(href)) return href;
  if (href.startsWith('#')) return undefined;
  try {
    return new URL(href, ctx.linkBaseUrl).href;
  } catch {
    ctx.warnings.push(`link "${href}" could not be resolved against ${ctx.linkBaseUrl}; shown as text`);
    return undefined;
  }
}

function resolveImage(src: string, ctx: FixContext): string | undefined {
  if (/^https?:\/\//i.test(src)) return src;
  if (/^[a-z][a-z0-9+.-]*:/i.test(src) || src.startsWith('//')) {
    ctx.warnings.push(`image "${src.slice(0, 80)}" left out: only http(s) images are allowed`);
    return undefined;
  }
  if (!ctx.assetBaseUrl) {
    ctx.warnings.push(`image "${src}" left out: relative path and no assetBaseUrl (front matter or --asset-base-url)`);
    return undefined;
  }
  try {
    const base = ctx.assetBaseUrl.endsWith('/') ? ctx.assetBaseUrl : `${ctx.assetBaseUrl}/`;
    return new URL(src, base).href;
  } catch {
    ctx.warnings.push(`image "${src}" left out: cannot resolve against ${ctx.assetBaseUrl}`);
    return undefined;
  }
}

/**
 * Clean one inline token list in place: drop asterisk debris and empty emphasis, unwrap emphasis that wraps the
 * whole line (Medium's `****…****`), resolve links and images (dropping what cannot be resolved), style tags.
 */
export function fixInline(children: Token[], ctx: FixContext): Token[] {
  let out: Token[] = [];
  let droppedLinkDepth = 0;
  for (const t of children) {
    if (t.type === 'text') {
      const content = t.content.replace(ASTERISK_RUN, '');
      if (!content) continue;
      t.content = content;
    } else if (t.type === 'link_open') {
      const href = resolveLink(attr(t, 'href') ?? '', ctx);
      if (!href) {
        droppedLinkDepth++;
        continue;
      }
      t.attrSet('href', href);
      t.attrSet('style', LINK_STYLE);
    } else if (t.type === 'link_close' && droppedLinkDepth > 0) {
      droppedLinkDepth--;
      continue;
    } else if (t.type === 'image') {
      const src = resolveImage(attr(t, 'src') ?? '', ctx);
      if (!src) continue;
      t.attrSet('src', src);
      t.attrSet('style', STYLES.image ?? '');
    } else if (t.type === 'code_inline') {
      t.attrSet('style', STYLES.code_inline ?? '');
    }
    out.push(t);
  }
  out = dropEmptyPairs(out);
  return unwrapWholeLine(out);
}

function dropEmptyPairs(tokens: Token[]): Token[] {
  let changed = true;
  let list = tokens;
  while (changed) {
    changed = false;
    const next: Token[] = [];
    for (const t of list) {
      const prev = next[next.length - 1];
      if (prev && prev.nesting === 1 && t.nesting === -1 && prev.type !== 'link_open' && prev.tag === t.tag) {
        next.pop();
        changed = true;
        continue;
      }
      next.push(t);
    }
    list = next;
  }
  return list;
}

function unwrapWholeLine(tokens: Token[]): Token[] {
  let list = tokens;
  for (;;) {
    const first = list[0];
    const last = list[list.length - 1];
    if (!first || !last || list.length < 2) return list;
    if (!((first.type === 'strong_open' && last.type === 'strong_close') || (first.type === 'em_open' && last.type === 'em_close'))) {
      return list;
    }
    // Only unwrap when the first opener closes at the very end (not `**a** b **c**`).
    let depth = 0;
    let closesAtEnd = false;
    for (let i = 0; i < list.length; i++) {
      const t = list[i]!;
      if (t.type === first.type) depth++;
      else if (t.type === last.type) depth--;
      if (depth === 0) {
        closesAtEnd = i === list.length - 1;
        break;
      }
    }
    if (!closesAtEnd) return list;
    list = list.slice(1, -1);
  }
}

/** Apply fixInline to every inline token of a block token list. */
export function fixBlocks(tokens: Token[], ctx: FixContext): void {
  for (const t of tokens) {
    if (t.type === 'inline') t.children = fixInline(t.children ?? [], ctx);
  }
}

/** Plain text of inline tokens (link text, image alt), whitespace collapsed. */
export function inlineText(children: readonly Token[]): string {
  let s = '';
  for (const t of children) {
    if (t.type === 'text' || t.type === 'code_inline') s += t.content;
    else if (t.type === 'softbreak' || t.type === 'hardbreak') s += ' ';
    else if (t.type === 'image') s += t.content;
  }
  return s.replace(/\s+/g, ' ').trim();
}

/** Content from the source must never form a `{{placeholder}}` for the personalization pass. */
export function neutralizeBraces(text: string): string {
  return text.replace(/\{\{/g, '{\u200B{');
}

/** Render block tokens to safe email HTML. Braces are entity-encoded so content never forms a placeholder. */
export function renderHtml(tokens: Token[]): string {
  for (const t of tokens) {
    const style = STYLES[t.type];
    if (style && t.nesting !== -1) t.attrSet('style', style);
  }
  return md.renderer.render(tokens, md.options, {}).replace(/\{/g, '&#123;').trim();
}

/** Inline tokens to safe HTML (no paragraph wrapper). */
export function renderInlineHtml(children: Token[]): string {
  return md.renderer.renderInline(children, md.options, {}).replace(/\{/g, '&#123;').trim();
}

/** Inline tokens to text, with each link's target after its text when they differ. */
export function inlineToText(children: readonly Token[]): string {
  let s = '';
  let href: string | undefined;
  let linkText = '';
  for (const t of children) {
    if (t.type === 'link_open') {
      href = attr(t, 'href');
      linkText = '';
    } else if (t.type === 'link_close') {
      const text = linkText.trim();
      s += href && text !== href ? (text ? `${linkText} (${href})` : href) : linkText;
      href = undefined;
    } else {
      let piece = '';
      if (t.type === 'text' || t.type === 'code_inline') piece = t.content;
      else if (t.type === 'softbreak' || t.type === 'hardbreak') piece = '\n';
      if (href !== undefined) linkText += piece;
      else s += piece;
    }
  }
  return neutralizeBraces(s.replace(/[ \t]+/g, ' ').replace(/ *\n */g, '\n').trim());
}

/** Block tokens to plain text: paragraphs separated by blank lines, list items prefixed. */
export function renderText(tokens: Token[]): string {
  const out: string[] = [];
  const lists: Array<{ ordered: boolean; n: number }> = [];
  let prefix = '';
  for (const t of tokens) {
    if (t.type === 'bullet_list_open' || t.type === 'ordered_list_open') {
      lists.push({ ordered: t.type === 'ordered_list_open', n: Number(attr(t, 'start') ?? 1) });
    } else if (t.type === 'bullet_list_close' || t.type === 'ordered_list_close') {
      lists.pop();
    } else if (t.type === 'list_item_open') {
      const list = lists[lists.length - 1];
      const indent = '  '.repeat(Math.max(0, lists.length - 1));
      prefix = list?.ordered ? `${indent}${list.n++}. ` : `${indent}- `;
    } else if (t.type === 'inline') {
      const text = inlineToText(t.children ?? []);
      if (!text) continue;
      out.push(prefix ? prefix + text.replace(/\n/g, '\n   ') : text);
      prefix = '';
    } else if (t.type === 'code_block' || t.type === 'fence') {
      out.push(neutralizeBraces(t.content.trimEnd()));
    }
  }
  return out.join('\n');
}
