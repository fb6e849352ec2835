/**
 * The cheap per-recipient pass over an already compiled issue. Runs in the send worker Lambda for every
 * recipient, so it must stay tiny: no MJML, no Handlebars, nothing that imports them.
 */
import type { RecipientData } from '../model.ts';

/** Placeholder names the templates leave in the compiled HTML and text: `{{unsubscribeUrl}}` etc. */
export const PLACEHOLDERS = ['unsubscribeUrl', 'viewInBrowserUrl', 'name', 'email'] as const;
export type PlaceholderName = (typeof PLACEHOLDERS)[number];

/** The literal placeholder text for a name, e.g. `{{unsubscribeUrl}}`. */
export function placeholder(name: PlaceholderName): string {
  return `{{${name}}}`;
}

const PATTERN = new RegExp(`\\{\\{(${PLACEHOLDERS.join('|')})\\}\\}`, 'g');

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!);
}

type Part = string | PlaceholderName;

/** Split once at the placeholders: even indexes are literal text, odd indexes placeholder names. */
function split(template: string): Part[] {
  const parts: Part[] = [];
  let last = 0;
  for (const m of template.matchAll(PATTERN)) {
    parts.push(template.slice(last, m.index), m[1] as PlaceholderName);
    last = m.index + m[0].length;
  }
  parts.push(template.slice(last));
  return parts;
}

function join(parts: Part[], values: Record<PlaceholderName, string>): string {
  let out = parts[0] as string;
  for (let i = 1; i < parts.length; i += 2) out += values[parts[i] as PlaceholderName] + (parts[i + 1] as string);
  return out;
}

/**
 * Precompile a rendered issue into a function that fills the per-recipient placeholders.
 * Values are HTML-escaped in the HTML part and inserted as they are in the text part and the subject.
 * A missing `name` or `email` becomes the empty string. Cost per call: one string join per part.
 */
export function compilePersonalizer(issue: { html: string; text: string; subject: string }): (
  r: RecipientData,
) => { html: string; text: string; subject: string } {
  const html = split(issue.html);
  const text = split(issue.text);
  const subject = split(issue.subject);
  const subjectStatic = subject.length === 1 ? issue.subject : undefined;
  return (r) => {
    const raw = { unsubscribeUrl: r.unsubscribeUrl, viewInBrowserUrl: r.viewInBrowserUrl, name: r.name ?? '', email: r.email ?? '' };
    const escaped = {
      unsubscribeUrl: escapeHtml(raw.unsubscribeUrl),
      viewInBrowserUrl: escapeHtml(raw.viewInBrowserUrl),
      name: escapeHtml(raw.name),
      email: escapeHtml(raw.email),
    };
    return { html: join(html, escaped), text: join(text, raw), subject: subjectStatic ?? join(subject, raw) };
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
