/**
 * Placeholders as authors write them in an issue: `{{name}}`, `{{name default="reader"}}`,
 * `{{attributes.tier}}`, `{{attributes.tier default="free"}}`, in body text (never in code), in the front-matter
 * `subject` and `preheader`, and in section headings. Anything else between double braces that looks like a
 * placeholder (`{{nmae}}`, `{{email}}`, `{{{name}}}`, `{{unsubscribeUrl}}`) is not filled: it stays literal text
 * and becomes an authoring error, so `send` refuses the issue unless forced.
 *
 * During parsing a valid placeholder travels as a sentinel (private-use characters around its compiled form),
 * which no escaping step touches and no source text can forge; parseIssue turns sentinels into the compiled
 * `{{…}}` form (personalize.ts) at the end.
 */
import { ATTRIBUTE_KEY, compiledPlaceholder, neutralizePlaceholders } from './personalize.ts';

const OPEN = '\uE000';
const CLOSE = '\uE001';
const SENTINEL = /\uE000([^\uE000\uE001]*)\uE001/g;

/** Anything written between double (or triple) braces on one line, short enough to be meant as a placeholder. */
const AUTHORED = /(\{{2,3})\s*([^{}\n]{0,120}?)\s*(\}{2,3})/g;
const VALID = new RegExp(String.raw`^(name|attributes\.${ATTRIBUTE_KEY})(?:\s+default\s*=\s*(?:"([^"]*)"|'([^']*)'))?$`, 'u');
/** What looks like an attempt at a placeholder (a word first), as opposed to `{{ }}` in prose about templates. */
const LOOKS_MEANT = /^[A-Za-z_][\w.-]*(\s|$)/;

/** Where the parser reports. An authoring error goes to both lists: `render` prints warnings, `send` refuses errors. */
export interface AuthoringReport {
  warnings: string[];
  /** Authoring errors, one line each (unfillable placeholders, images without absolute URL, links without https). */
  errors: string[];
}

/** Record an authoring error once (the same mistake written twice is one line). */
export function authoringError(report: AuthoringReport, message: string): void {
  if (report.errors.includes(message)) return;
  report.errors.push(message);
  report.warnings.push(message);
}

/** Where a placeholder was written, for messages. */
export type Where = 'body' | 'subject' | 'preheader' | 'title';

/**
 * Replace valid placeholders in source text by sentinels (or, where placeholders are not filled, leave them
 * literal); record an authoring error for each one that will not be filled. Private-use sentinel characters
 * already in the text are dropped so the source cannot forge one.
 */
export function translatePlaceholders(text: string, ctx: AuthoringReport, where: Where): string {
  const clean = text.includes(OPEN) || text.includes(CLOSE) ? text.replace(/[\uE000\uE001]/g, '') : text;
  if (!clean.includes('{{')) return clean;
  return clean.replace(AUTHORED, (whole, open: string, inner: string, close: string) => {
    if (!LOOKS_MEANT.test(inner)) return whole;
    const valid = VALID.exec(inner);
    if (open.length !== 2 || close.length !== 2) {
      authoringError(ctx, `placeholder ${quote(whole)} in the ${where} will not be filled: write it with two braces, ${valid ? `{{${inner}}}` : '{{name}}'} (values are always HTML-escaped)`);
      return whole;
    }
    if (!valid) {
      authoringError(ctx, `placeholder ${quote(whole)} in the ${where} will not be filled: ${whyNot(inner)}`);
      return whole;
    }
    if (where === 'title') {
      authoringError(ctx, `placeholder ${quote(whole)} in the title will not be filled: the title names the archive page; put it in the front-matter "subject"`);
      return whole;
    }
    return OPEN + compiledPlaceholder(valid[1]!, valid[2] ?? valid[3]).slice(2, -2) + CLOSE;
  });
}

function quote(text: string): string {
  return `"${text.length > 60 ? `${text.slice(0, 57)}…` : text}"`;
}

const FIELDS = ['name', 'email', 'unsubscribeUrl', 'viewInBrowserUrl', 'attributes'];

function whyNot(inner: string): string {
  const word = /^[\w.-]+/.exec(inner)?.[0] ?? inner;
  if (word === 'email') return 'the address is never put in the body; use {{name}}';
  if (word === 'unsubscribeUrl' || word === 'viewInBrowserUrl') return `{{${word}}} is filled only by the template (header and footer)`;
  if (word === 'name' || word.startsWith('attributes.')) return 'write a fallback as default="text" (double quotes)';
  if (word === 'attributes') return 'name the attribute, e.g. {{attributes.tier}}';
  const close = FIELDS.find((f) => distance(f.toLowerCase(), word.toLowerCase()) <= 2);
  const hint = close === 'name' || close === 'attributes' ? `; did you mean {{${close === 'name' ? 'name' : 'attributes.<column>'}}}?` : '';
  return `only {{name}} and {{attributes.<column>}} are filled in an issue${hint} (put template code in backticks)`;
}

/** Levenshtein distance, for "did you mean" hints on short words. */
export function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = row[j]!;
      row[j] = Math.min(up + 1, row[j - 1]! + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = up;
    }
  }
  return row[b.length]!;
}

/** Sentinels back to compiled placeholders (`{{name|reader}}`), once parsing is done. */
export function restorePlaceholders(text: string): string {
  return text.includes(OPEN) ? text.replace(SENTINEL, '{{$1}}').replace(/[\uE000\uE001]/g, '') : text;
}

/** Sentinels back to the literal, neutralized text (where a placeholder may not be filled). */
export function literalPlaceholders(text: string): string {
  return text.includes(OPEN) ? neutralizePlaceholders(restorePlaceholders(text)) : text;
}

/** Cut before a sentinel the truncation split in two. */
export function withoutBrokenSentinel(text: string): string {
  const open = text.lastIndexOf(OPEN);
  return open > text.lastIndexOf(CLOSE) ? text.slice(0, open).trimEnd() : text;
}

/** Every string of a plain JSON value with `fn` applied (the parsed Issue model). */
export function mapStrings<T>(value: T, fn: (s: string) => string): T {
  if (typeof value === 'string') return fn(value) as T;
  if (Array.isArray(value)) return value.map((v) => mapStrings(v, fn)) as T;
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = mapStrings(v, fn);
    return out as T;
  }
  return value;
}
