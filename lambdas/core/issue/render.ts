/**
 * renderIssue: Markdown → the compiled email (HTML + text), once per issue. Per-recipient values stay as
 * placeholders (`{{unsubscribeUrl}}`, `{{viewInBrowserUrl}}`, `{{name}}`, `{{attributes.tier|fallback}}` …) for
 * compilePersonalizer.
 */
import Handlebars from 'handlebars';
import mjml2html from 'mjml';
import { emailLayout, emailPartials } from '../../../templates/email/index.ts';
import type { StoredIssue } from '../ports.ts';
import type { RecipientData } from '../model.ts';
import { RenderError } from './errors.ts';
import { labelsFor } from './i18n.ts';
import type { Issue, IssueSection, SectionBlock } from './model.ts';
import { parseIssue } from './parse.ts';
import { placeholder } from './personalize.ts';
import { renderTextPart } from './text.ts';

export { RenderError } from './errors.ts';

/** Gmail clips messages above 102 KB; warn a little before. */
export const SIZE_WARN_BYTES = 90 * 1024;
export const SIZE_LIMIT_BYTES = 102 * 1024;

export interface RenderOptions {
  /** Sender's postal address, printed in the footer (CAN-SPAM). Required. */
  postalAddress: string;
  /** Base for relative image paths; overrides the front matter. Without one, relative images are left out. */
  assetBaseUrl?: string;
  /** Base for relative links; overrides the front matter. Default https://medium.com. */
  linkBaseUrl?: string;
  /** Render even above the 102 KB size limit (the overage becomes a warning). */
  force?: boolean;
  /** Shown next to the postal address in the footer. */
  senderName?: string;
}

export interface RenderMeta {
  slug: string;
  subject: string;
  preheader: string;
  /** UTF-8 size of the HTML with placeholders. */
  bytes: number;
  /** Image URLs, in order. */
  images: string[];
  /** Distinct link targets (placeholders excluded), in order. */
  links: string[];
  warnings: string[];
  /** The authoring errors among `warnings`. */
  authoringErrors: string[];
}

export interface RenderedIssue {
  slug: string;
  subject: string;
  preheader: string;
  title: string;
  number?: number;
  date?: string;
  lang: string;
  /** Compiled HTML with the per-recipient placeholders still in it. */
  html: string;
  /** Plain-text part, same placeholders. */
  text: string;
  meta: RenderMeta;
  /** What the operator should read: authoring errors, dropped content, size. */
  warnings: string[];
  /**
   * Mistakes readers would see (unknown front-matter keys, placeholders that will not be filled, images without
   * an absolute URL, links without https), one line each; also in `warnings`. `send` refuses unless forced.
   */
  authoringErrors: string[];
  /** The parsed model, for callers that want more than the email (archive pages, tests). */
  issue: Issue;
}

const hb = Handlebars.create();
for (const [name, source] of Object.entries(emailPartials)) hb.registerPartial(name, source);
const layout = hb.compile(emailLayout, { strict: false, noEscape: false });

/** Placeholders handed to the templates as `recipient.*`, so they pass Handlebars escaping like real data. */
const PLACEHOLDER_RECIPIENT: RecipientData = {
  unsubscribeUrl: placeholder('unsubscribeUrl'),
  viewInBrowserUrl: placeholder('viewInBrowserUrl'),
  name: placeholder('name'),
  email: placeholder('email'),
};

/**
 * Fill the MJML templates for an issue. With `recipient`, real values are filled (only the benchmark does that,
 * to measure what per-recipient MJML would cost); without, the placeholders.
 */
export function fillTemplate(issue: Issue, options: RenderOptions, recipient: RecipientData = PLACEHOLDER_RECIPIENT): string {
  const labels = labelsFor(issue.lang);
  const kicker = [issue.number !== undefined ? labels.issue(issue.number) : '', issue.date ?? ''].filter(Boolean).join('  ·  ');
  const section = (s: IssueSection) => ({
    ...s,
    numberLabel: s.number ? s.number.padStart(2, '0') : undefined,
    blocks: s.blocks.map(withoutTrailingMargin),
  });
  return layout({
    lang: issue.lang,
    subject: issue.subject,
    preheader: issue.preheader,
    title: issue.title,
    kicker,
    source: issue.source ? { url: issue.source.url, label: issue.source.label || labels.source } : undefined,
    labels,
    lead: section(issue.lead),
    sections: issue.sections.map(section),
    postalAddress: options.postalAddress,
    senderName: options.senderName,
    recipient,
  });
}

/**
 * A card's last block keeps no bottom margin, so the card's padding alone sets the space below it. Done here in
 * inline styles rather than with a `:last-child` rule in `<mj-style>`, which Gmail and Outlook do not support.
 */
function withoutTrailingMargin(block: SectionBlock): SectionBlock {
  if (block.kind === 'prose') return { ...block, prose: { ...block.prose, html: dropLastBottomMargin(block.prose.html) } };
  const body = block.item.bodyHtml;
  if (!body.length) return block;
  return { ...block, item: { ...block.item, bodyHtml: [...body.slice(0, -1), dropLastBottomMargin(body.at(-1)!)] } };
}

const VOID_ELEMENTS = new Set(['area', 'br', 'col', 'hr', 'img', 'input', 'wbr']);

/**
 * Set the bottom margin of the last top-level element of `html` (our Markdown renderer's output: attribute values
 * are escaped, so `>` only ends tags) to 0, when its inline style has a `margin`.
 */
function dropLastBottomMargin(html: string): string {
  let depth = 0;
  let lastTop = -1;
  for (const m of html.matchAll(/<(\/?)([a-z][a-z0-9]*)\b[^>]*>/gi)) {
    if (m[1]) {
      depth = Math.max(0, depth - 1);
      continue;
    }
    if (depth === 0) lastTop = m.index;
    if (!VOID_ELEMENTS.has(m[2]!.toLowerCase()) && !m[0].endsWith('/>')) depth++;
  }
  if (lastTop < 0) return html;
  const end = html.indexOf('>', lastTop) + 1;
  const open = html.slice(lastTop, end).replace(/(style="(?:[^"]*;)?\s*margin:)([^;"]*)/, (_, head: string, value: string) => {
    const [top, right = top, , left = right] = value.trim().split(/\s+/);
    return `${head}${top} ${right} 0 ${left}`;
  });
  return html.slice(0, lastTop) + open + html.slice(end);
}

/** Compile MJML strictly: any validation error is a RenderError. */
export async function compileMjml(mjml: string): Promise<string> {
  let result: Awaited<ReturnType<typeof mjml2html>>;
  try {
    result = await mjml2html(mjml, {
      validationLevel: 'strict',
      // No web fonts: the font stack is system fonts; mjml would otherwise add Google Fonts links for some names.
      fonts: {},
      keepComments: false,
      minify: false,
      beautify: false,
    });
  } catch (err) {
    throw new RenderError(`MJML error: ${mjmlMessage(err)}`, { cause: err });
  }
  if (result.errors?.length) {
    throw new RenderError(`MJML error: ${result.errors[0]?.formattedMessage ?? result.errors[0]?.message}`);
  }
  return collapseWhitespace(result.html);
}

/**
 * MJML's output is indented for reading; about a fifth of the bytes are indentation, which counts against
 * Gmail's 102 KB clip. Strip leading whitespace on each line, except inside `<pre>` (code keeps its layout).
 * Cheaper than MJML's `minify` (htmlnano), which would dominate the render time.
 */
export function collapseWhitespace(html: string): string {
  return html
    .split(/(<pre\b[\s\S]*?<\/pre>)/)
    .map((part) => (part.startsWith('<pre') ? part : part.replace(/\n\s+/g, '\n')))
    .join('');
}

function mjmlMessage(err: unknown): string {
  const e = err as { errors?: Array<{ formattedMessage?: string; message?: string }>; message?: string };
  const first = e.errors?.[0];
  return (first?.formattedMessage ?? first?.message ?? e.message ?? String(err)).split('\n').find((l) => l.trim()) ?? 'unknown';
}

/**
 * Render an issue from Markdown (optionally with YAML front matter).
 * Throws RenderError for empty input, no title, an MJML error, or HTML above 102 KB without `force`.
 */
export async function renderIssue(markdown: string, options: RenderOptions): Promise<RenderedIssue> {
  if (typeof markdown !== 'string' || !markdown.trim()) throw new RenderError('the issue is empty');
  const { issue, warnings, authoringErrors } = parseIssue(markdown, options);
  const html = await compileMjml(fillTemplate(issue, options));
  const text = renderTextPart(issue, options);

  const bytes = new TextEncoder().encode(html).length;
  const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;
  if (bytes > SIZE_LIMIT_BYTES) {
    const message = `HTML is ${kb(bytes)}, above Gmail's 102 KB clipping limit`;
    if (!options.force) throw new RenderError(`${message} (shorten the issue or use --force)`);
    warnings.push(`${message} (forced)`);
  } else if (bytes > SIZE_WARN_BYTES) {
    warnings.push(`HTML is ${kb(bytes)}, close to Gmail's 102 KB clipping limit`);
  }

  const meta: RenderMeta = {
    slug: issue.slug,
    subject: issue.subject,
    preheader: issue.preheader,
    bytes,
    images: [...html.matchAll(/<img\b[^>]*?\ssrc="([^"]*)"/g)].map((m) => decodeEntities(m[1]!)),
    links: [...new Set([...html.matchAll(/\shref="([^"]*)"/g)].map((m) => decodeEntities(m[1]!)))].filter((h) => !h.includes('{{')),
    warnings,
    authoringErrors,
  };
  return {
    slug: issue.slug,
    subject: issue.subject,
    preheader: issue.preheader,
    title: issue.title,
    number: issue.number,
    date: issue.date,
    lang: issue.lang,
    html,
    text,
    meta,
    warnings,
    authoringErrors,
    issue,
  };
}

/** Decode the few entities attribute values contain (Handlebars writes `=` as `&#x3D;`). */
export function decodeEntities(value: string): string {
  return value.replace(/&(#x[0-9a-f]+|#\d+|amp|lt|gt|quot|apos);/gi, (_, e: string) => {
    const lower = e.toLowerCase();
    if (lower.startsWith('#x')) return String.fromCodePoint(parseInt(lower.slice(2), 16));
    if (lower.startsWith('#')) return String.fromCodePoint(Number(lower.slice(1)));
    return ({ amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" } as Record<string, string>)[lower]!;
  });
}

/** What the IssueStore keeps: the compiled issue, placeholders included. */
export function toStoredIssue(r: RenderedIssue): StoredIssue {
  return {
    slug: r.slug,
    subject: r.subject,
    preheader: r.preheader,
    title: r.title,
    date: r.date,
    lang: r.lang,
    html: r.html,
    text: r.text,
  };
}
