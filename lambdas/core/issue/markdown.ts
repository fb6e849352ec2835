/**
 * The markdown-it setup shared by the parser and the tests, plus token-level helpers:
 * clean-up of Medium's stray emphasis, link and image resolution, and safe rendering of token slices
 * to email HTML (inline styles, no raw HTML) and to plain text.
 */
import MarkdownIt, { type Token } from 'markdown-it';
import { neutralizePlaceholders } from './personalize.ts';
import { authoringError, translatePlaceholders, type AuthoringReport } from './placeholders.ts';

export type { Token };

/** html:false: any HTML in the source is text, escaped on output. */
export function createMarkdown() {
  return new MarkdownIt({ html: false, linkify: false, typographer: false });
}

export const md = createMarkdown();
md.renderer.rules.fence = (tokens, idx) => codeBlockHtml(tokens[idx]!.content);
md.renderer.rules.code_block = (tokens, idx) => codeBlockHtml(tokens[idx]!.content);
md.renderer.rules.table_open = (tokens, idx, options, _env, self) => `<div style="${TABLE_WRAP_STYLE}">${self.renderToken(tokens, idx, options)}`;
md.renderer.rules.table_close = (tokens, idx, options, _env, self) => `${self.renderToken(tokens, idx, options)}</div>\n`;

/**
 * A box that scrolls sideways instead of widening the email: `width:1px` keeps its content out of the width the
 * enclosing tables compute (they are `width:100%` with automatic layout, so one wide line would otherwise widen
 * the whole email on a phone), `min-width:100%` gives it the column's width back.
 */
const SCROLL_BOX = 'display:block;width:1px;min-width:100%;overflow-x:auto;';

const MONO = "Menlo,Consolas,'Liberation Mono','Courier New',monospace";
/**
 * A table scrolls sideways inside its box when it is wider than the column, rather than breaking words inside
 * cells (`word-break:normal` on the table undoes mj-text's `break-word`). `overflow` is in every MJML email's
 * caniemail baseline (its hidden preheader), see test/browser/email-client-support.test.ts.
 */
const TABLE_WRAP_STYLE = `${SCROLL_BOX}margin:0 0 12px 0;`;

/**
 * A code block: one cell with the background (Outlook paints backgrounds on cells, not on inline elements), and a
 * `<pre>` that keeps every line whole and scrolls sideways when a line is longer than the column. No `white-space`
 * style: the `<pre>` element already has it, and Outlook for Windows and the Gmail apps ignore the property.
 */
function codeBlockHtml(content: string): string {
  const code = md.utils.escapeHtml(content.replace(/\n$/, ''));
  return (
    '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" style="width:100%;border-collapse:separate;margin:0 0 12px 0;">' +
    '<tr><td bgcolor="#f4f6fa" style="background-color:#f4f6fa;border:1px solid #dfe4ec;padding:12px 14px;">' +
    `<pre style="${CODE_STYLE}"><code style="font-family:${MONO};">${code}</code></pre></td></tr></table>\n`
  );
}

const CODE_STYLE = `${SCROLL_BOX}margin:0;font-family:${MONO};font-size:13px;line-height:1.55;color:#1f2937;`;

const LINK_STYLE = 'color:#2454c5;text-decoration:underline;';
const STYLES: Record<string, string> = {
  paragraph_open: 'margin:0 0 12px 0;',
  bullet_list_open: 'margin:0 0 12px 0;padding-left:22px;',
  ordered_list_open: 'margin:0 0 12px 0;padding-left:22px;',
  list_item_open: 'margin:0 0 6px 0;',
  blockquote_open: 'margin:0 0 12px 0;padding:4px 0 4px 12px;border-left:3px solid #d0d7e2;color:#4a5568;',
  heading_open: 'margin:4px 0 10px 0;font-size:17px;line-height:24px;color:#1a202c;',
  code_inline: `font-family:${MONO};font-size:13px;background-color:#f1f3f7;padding:1px 4px;`,
  table_open: 'border-collapse:collapse;word-break:normal;font-size:14px;line-height:1.5;',
  th_open: 'border:1px solid #d0d7e2;padding:6px 10px;background-color:#f4f6fa;font-weight:700;vertical-align:bottom;',
  td_open: 'border:1px solid #d0d7e2;padding:6px 10px;vertical-align:top;',
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

/** Where parsing reports: `warnings` for the operator, `errors` for authoring errors (also in `warnings`). */
export interface FixContext extends AuthoringReport {
  linkBaseUrl: string;
  assetBaseUrl?: string;
}

/** Link targets that need no https: mail and phone links. */
const NOT_WEB = /^(mailto|tel):/i;

/**
 * Resolve a link target: absolute ones stay as they are; relative ones resolve against the link base.
 * A target that is not https (nor mailto/tel) is an authoring error: readers' clients flag plain http links.
 */
export function resolveLink(href: string, ctx: FixContext): string | undefined {
  let resolved: string | undefined;
  if (/^[a-z][a-z0-9+.-]*:/i.test(href)) resolved = href;
  else if (href.startsWith('#')) return undefined;
  else {
    try {
      resolved = new URL(href, ctx.linkBaseUrl).href;
    } catch {
      ctx.warnings.push(`link "${href}" could not be resolved against ${ctx.linkBaseUrl}; shown as text`);
      return undefined;
    }
  }
  if (!/^https:/i.test(resolved) && !NOT_WEB.test(resolved)) authoringError(ctx, `link "${resolved.slice(0, 100)}" is not https: use an https:// address`);
  return resolved;
}

function resolveImage(src: string, ctx: FixContext): string | undefined {
  if (/^https?:\/\//i.test(src)) return src;
  if (/^[a-z][a-z0-9+.-]*:/i.test(src) || src.startsWith('//')) {
    authoringError(ctx, `image "${src.slice(0, 80)}" left out: only http(s) images are allowed`);
    return undefined;
  }
  if (!ctx.assetBaseUrl) {
    authoringError(ctx, `image "${src}" left out: relative path and no assetBaseUrl (front matter or --asset-base-url)`);
    return undefined;
  }
  try {
    const base = ctx.assetBaseUrl.endsWith('/') ? ctx.assetBaseUrl : `${ctx.assetBaseUrl}/`;
    return new URL(src, base).href;
  } catch {
    authoringError(ctx, `image "${src}" left out: cannot resolve against ${ctx.assetBaseUrl}`);
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
      t.content = translatePlaceholders(content, ctx, 'body');
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
export const neutralizeBraces = neutralizePlaceholders;

/** Render block tokens to safe email HTML. Braces are entity-encoded so content never forms a placeholder. */
export function renderHtml(tokens: Token[]): string {
  for (const t of tokens) {
    const style = STYLES[t.type];
    if (!style || t.nesting === -1) continue;
    if (t.type === 'th_open' || t.type === 'td_open') {
      // markdown-it writes a column's `---:` alignment as a style; keep it, and as `align` for Outlook.
      const align = cellAlign(t);
      t.attrSet('style', `${style}text-align:${align ?? 'left'};`);
      if (align) t.attrSet('align', align);
      if (align === 'right' || align === 'center') keepShortCellTogether(tokens[tokens.indexOf(t) + 1]);
    } else {
      t.attrSet('style', style);
    }
  }
  return md.renderer.render(tokens, md.options, {}).replace(/\{/g, '&#123;').trim();
}

/** Most characters of an aligned (usually numeric) cell kept on one line: `512 MB`, `1.9 GB`. */
const SHORT_CELL = 16;

/**
 * Right- and center-aligned columns hold numbers with units; a phone's narrow table would wrap `512 MB` after the
 * number. Short cells get no-break spaces instead (no `white-space` style: Outlook for Windows ignores it).
 */
function keepShortCellTogether(inline: Token | undefined): void {
  if (inline?.type !== 'inline' || inlineText(inline.children ?? []).length > SHORT_CELL) return;
  for (const c of inline.children ?? []) if (c.type === 'text') c.content = c.content.replace(/ /g, '\u00A0');
}

/** The `text-align` markdown-it gave a table cell (`:--`, `:-:`, `--:`), if any. */
function cellAlign(t: Token): 'left' | 'center' | 'right' | undefined {
  const m = /^(left|center|right)$/.exec(attr(t, 'align') ?? '') ?? /text-align:\s*(left|center|right)/.exec(attr(t, 'style') ?? '');
  return m ? (m[1] as 'left' | 'center' | 'right') : undefined;
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
  let table: TextTable | undefined;
  for (const t of tokens) {
    if (t.type === 'table_open') {
      table = { rows: [], align: [] };
    } else if (t.type === 'table_close' && table) {
      out.push(tableText(table));
      table = undefined;
    } else if (table) {
      if (t.type === 'tr_open') table.rows.push([]);
      else if (t.type === 'th_open' || t.type === 'td_open') {
        table.align[table.rows.at(-1)!.length] ??= cellAlign(t);
        table.rows.at(-1)!.push('');
      } else if (t.type === 'inline') {
        const row = table.rows.at(-1)!;
        row[row.length - 1] = inlineToText(t.children ?? []).replace(/\s*\n\s*/g, ' ').replace(/\u00A0/g, ' ');
      }
      if (t.type === 'thead_close') table.headerRows = table.rows.length;
    } else if (t.type === 'bullet_list_open' || t.type === 'ordered_list_open') {
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
      // Verbatim, indented by four spaces so it stands apart from the prose around it.
      const code = neutralizeBraces(t.content.replace(/\s+$/, '')).split('\n');
      out.push(code.map((line) => (line.trim() ? `    ${line}` : '')).join('\n'));
    }
  }
  return out.join('\n');
}

interface TextTable {
  rows: string[][];
  align: Array<'left' | 'center' | 'right' | undefined>;
  headerRows?: number;
}

/** A table as aligned text rows: columns padded to their widest cell (wide CJK characters count twice). */
function tableText(table: TextTable): string {
  const columns = Math.max(0, ...table.rows.map((r) => r.length));
  const widths = Array.from({ length: columns }, (_, c) => Math.max(3, ...table.rows.map((r) => textWidth(r[c] ?? ''))));
  const line = (cells: string[]) =>
    widths
      .map((w, c) => pad(cells[c] ?? '', w, table.align[c]))
      .join(' | ')
      .trimEnd();
  const rule = widths
    .map((w, c) => {
      const a = table.align[c];
      return `${a === 'center' ? ':' : '-'}${'-'.repeat(w - 2)}${a === 'center' || a === 'right' ? ':' : '-'}`;
    })
    .join(' | ');
  const head = table.headerRows ?? 0;
  return [...table.rows.slice(0, head).map(line), ...(head ? [rule] : []), ...table.rows.slice(head).map(line)].join('\n');
}

function pad(text: string, width: number, align: 'left' | 'center' | 'right' | undefined): string {
  const space = width - textWidth(text);
  if (align === 'right') return ' '.repeat(space) + text;
  if (align === 'center') return ' '.repeat(Math.floor(space / 2)) + text + ' '.repeat(Math.ceil(space / 2));
  return text + ' '.repeat(space);
}

/** Columns a string takes in a monospace font: East Asian wide and fullwidth characters take two. */
export function textWidth(text: string): number {
  let n = 0;
  for (const ch of text) {
    const c = ch.codePointAt(0)!;
    if (c === 0x200b) continue;
    n += (c >= 0x1100 && c <= 0x115f) || (c >= 0x2e80 && c <= 0xa4cf) || (c >= 0xac00 && c <= 0xd7a3) || (c >= 0xf900 && c <= 0xfaff) || (c >= 0xfe30 && c <= 0xfe4f) || (c >= 0xff00 && c <= 0xff60) || (c >= 0xffe0 && c <= 0xffe6) || (c >= 0x20000 && c <= 0x3fffd) ? 2 : 1;
  }
  return n;
}
