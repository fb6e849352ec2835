/**
 * The cheap per-recipient pass over an already compiled issue. Runs in the send worker Lambda for every
 * recipient, so it must stay tiny: no MJML, no Handlebars, nothing that imports them.
 *
 * Compiled placeholders (what the renderer leaves in the HTML, text and subject):
 *   {{unsubscribeUrl}} {{viewInBrowserUrl}} {{name}} {{email}}   the templates' and the recipient's values
 *   {{attributes.tier}}                                         a custom attribute from the import
 *   {{name|reader}} {{attributes.tier|free%20plan}}             the same with a fallback, percent-encoded
 * The fallback is encoded so that it holds no character any escaper (Markdown, Handlebars, MJML) would change;
 * authors write `{{name default="reader"}}` and the renderer translates it (placeholders.ts).
 */
import type { RecipientData } from '../model.ts';

/** Placeholder names the templates leave in the compiled HTML and text: `{{unsubscribeUrl}}` etc. */
export const PLACEHOLDERS = ['unsubscribeUrl', 'viewInBrowserUrl', 'name', 'email'] as const;
export type PlaceholderName = (typeof PLACEHOLDERS)[number];

/** The literal placeholder text for a name, e.g. `{{unsubscribeUrl}}`. */
export function placeholder(name: PlaceholderName): string {
  return `{{${name}}}`;
}

/** An attribute key as a placeholder may name it: letters, digits, `_` and `-` (CSV column names as written). */
export const ATTRIBUTE_KEY = String.raw`[\p{L}\p{N}_-]+`;

/** Every compiled placeholder; group 1 the field, group 2 the encoded fallback. */
const PATTERN_SOURCE = String.raw`\{\{(unsubscribeUrl|viewInBrowserUrl|name|email|attributes\.${ATTRIBUTE_KEY})(?:\|([A-Za-z0-9%._-]*))?\}\}`;
const PATTERN = new RegExp(PATTERN_SOURCE, 'gu');

/**
 * The compiled form of a body placeholder: `{{name}}`, `{{name|reader}}`, `{{attributes.tier|free%20plan}}`.
 * `field` is `name` or `attributes.<key>`.
 */
export function compiledPlaceholder(field: string, fallback?: string): string {
  return fallback === undefined || fallback === '' ? `{{${field}}}` : `{{${field}|${encodeFallback(fallback)}}}`;
}

function encodeFallback(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*~]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function decodeFallback(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/**
 * Break every sequence the personalization pass would fill (a zero-width space after the first brace), so text
 * from the source never becomes a placeholder. Anything else (`{{ range .Items }}` in a code sample) is untouched.
 */
export function neutralizePlaceholders(text: string): string {
  return text.includes('{{') ? text.replace(PATTERN, (m) => `{\u200B${m.slice(1)}`) : text;
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!);
}

/** One placeholder of a compiled part: which value, and what to use when the recipient has none. */
interface Slot {
  field: PlaceholderName | 'attribute';
  /** The attribute's key, for `attribute` slots. */
  key: string;
  /** The fallback as inserted: HTML-escaped in the HTML part, as written elsewhere. */
  fallback: string;
}

/** A part split once at its placeholders: `literals.length === slots.length + 1`. */
interface Compiled {
  literals: string[];
  slots: Slot[];
}

function split(template: string, html: boolean): Compiled {
  const literals: string[] = [];
  const slots: Slot[] = [];
  let last = 0;
  for (const m of template.matchAll(PATTERN)) {
    literals.push(template.slice(last, m.index));
    const field = m[1]!;
    const fallback = m[2] ? decodeFallback(m[2]) : '';
    const attribute = field.startsWith('attributes.');
    slots.push({
      field: attribute ? 'attribute' : (field as PlaceholderName),
      key: attribute ? field.slice('attributes.'.length) : '',
      fallback: html ? escapeHtml(fallback) : fallback,
    });
    last = m.index + m[0].length;
  }
  literals.push(template.slice(last));
  return { literals, slots };
}

/** An attribute by exact key, else by key ignoring case (CSV headers are written by hand). */
function attributeOf(attributes: Readonly<Record<string, string>> | undefined, key: string): string {
  if (!attributes) return '';
  const exact = attributes[key];
  if (exact !== undefined) return exact;
  const lower = key.toLowerCase();
  for (const k in attributes) if (k.toLowerCase() === lower) return attributes[k]!;
  return '';
}

type Values = Record<PlaceholderName, string>;

function join(part: Compiled, values: Values, r: RecipientData, escape: boolean): string {
  const { literals, slots } = part;
  let out = literals[0]!;
  for (let i = 0; i < slots.length; i++) {
    const slot = slots[i]!;
    let value: string;
    if (slot.field === 'attribute') {
      const raw = attributeOf(r.attributes, slot.key);
      value = raw ? (escape ? escapeHtml(raw) : raw) : slot.fallback;
    } else {
      value = values[slot.field] || slot.fallback;
    }
    out += value + literals[i + 1]!;
  }
  return out;
}

/**
 * Precompile a rendered issue into a function that fills the per-recipient placeholders.
 * Values are HTML-escaped in the HTML part and inserted as they are in the text part and the subject.
 * A missing value becomes its fallback, else the empty string. Cost per call: one string join per part.
 */
export function compilePersonalizer(issue: { html: string; text: string; subject: string }): (
  r: RecipientData,
) => { html: string; text: string; subject: string } {
  const html = split(issue.html, true);
  const text = split(issue.text, false);
  const subject = split(issue.subject, false);
  const subjectStatic = subject.slots.length === 0 ? issue.subject : undefined;
  return (r) => {
    const raw: Values = { unsubscribeUrl: r.unsubscribeUrl, viewInBrowserUrl: r.viewInBrowserUrl, name: r.name ?? '', email: r.email ?? '' };
    const escaped: Values = {
      unsubscribeUrl: escapeHtml(raw.unsubscribeUrl),
      viewInBrowserUrl: escapeHtml(raw.viewInBrowserUrl),
      name: escapeHtml(raw.name),
      email: escapeHtml(raw.email),
    };
    return { html: join(html, escaped, r, true), text: join(text, raw, r, false), subject: subjectStatic ?? join(subject, raw, r, false) };
  };
}

/** Values used by `newsletter render` and `newsletter preview` so the files look like a real email. */
export function previewRecipient(slug = 'preview'): RecipientData {
  return {
    unsubscribeUrl: `https://newsletter.example.com/unsubscribe?token=preview-${encodeURIComponent(slug)}`,
    viewInBrowserUrl: `https://newsletter.example.com/archive/${encodeURIComponent(slug)}`,
    name: 'Preview Reader',
    email: 'reader@example.com',
  };
}
