/** Small helpers to inspect rendered email HTML in tests. */
import { createMarkdown } from '../../../lambdas/core/issue/markdown.ts';
import { decodeEntities } from '../../../lambdas/core/issue/render.ts';
import type { Token } from 'markdown-it';

/** What a reader sees: body text without tags, comments, styles or the hidden preheader's markup. */
export function visibleText(html: string): string {
  const body = html.slice(html.indexOf('<body'));
  return decodeEntities(
    body
      .replace(/<style[\s\S]*?<\/style>/gi, '')
      .replace(/<!--[\s\S]*?-->/g, '')
      .replace(/<[^>]+>/g, ' '),
  );
}

/** Every href of the HTML, entity-decoded. */
export function hrefs(html: string): Set<string> {
  return new Set([...html.matchAll(/\shref="([^"]*)"/g)].map((m) => decodeEntities(m[1]!)));
}

export function imgSrcs(html: string): string[] {
  return [...html.matchAll(/<img\b[^>]*?\ssrc="([^"]*)"/g)].map((m) => decodeEntities(m[1]!));
}

function walk(tokens: Token[], visit: (t: Token) => void): void {
  for (const t of tokens) {
    visit(t);
    if (t.children) walk(t.children, visit);
  }
}

/** Absolute http(s) link targets of a Markdown source, as markdown-it (our parser) reads them. */
export function sourceLinks(markdown: string): string[] {
  const out: string[] = [];
  walk(createMarkdown().parse(markdown, {}), (t) => {
    const href = t.type === 'link_open' ? t.attrGet('href') : null;
    if (typeof href === 'string' && /^https?:\/\//i.test(href)) out.push(href);
  });
  return out;
}

/** Relative link targets of a Markdown source. */
export function relativeLinks(markdown: string): string[] {
  const out: string[] = [];
  walk(createMarkdown().parse(markdown, {}), (t) => {
    const href = t.type === 'link_open' ? t.attrGet('href') : null;
    if (typeof href === 'string' && href.startsWith('/')) out.push(href);
  });
  return out;
}

/** Number of level-1 headings that are not mere separators, the title excluded. */
export function topLevelSectionCount(markdown: string): number {
  const tokens = createMarkdown().parse(markdown, {});
  let count = 0;
  for (let i = 0; i < tokens.length; i++) {
    if (tokens[i]!.type === 'heading_open' && tokens[i]!.tag === 'h1') {
      const text = tokens[i + 1]!.content.replace(/[\s*—–-]/g, '');
      if (text) count++;
    }
  }
  return count - 1;
}
