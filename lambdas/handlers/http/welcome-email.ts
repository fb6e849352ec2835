/**
 * The welcome email: content/welcome.md, sent once when a subscriber is confirmed. Optional: without the file there
 * is no welcome email.
 *
 * It is written like an issue and rendered by the issue renderer (Markdown → Handlebars → MJML → HTML + text), so
 * it looks like the newsletter. The per-recipient values stay placeholders for the sender to fill (with HTML
 * escaping in the HTML): `{{unsubscribeUrl}}` and `{{name}}` (empty when the subscriber gave none). The
 * deployment's values (postal address, sender name, and the archive as the "view in browser" link) are filled here.
 *
 * MJML runs where the file is rendered: for the Lambda bundle at synth time (infra/precompile-emails.ts defines the
 * result into the subscribers bundle, which then carries neither MJML nor the renderer); locally on first use.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import Handlebars from 'handlebars';
import type { renderIssue } from '../../core/issue/render.ts';
import { displayName } from '../../core/subscribers/email.ts';

/** Defined by esbuild in the subscribers bundle (infra/bundling.ts): the rendered sources as JSON, or `null`. */
declare const __NEWSLETTER_WELCOME_EMAIL__: string | undefined;

export interface WelcomeEmailTemplate {
  subject: string;
  html: string;
  text: string;
}

export const DEFAULT_WELCOME_FILE = fileURLToPath(new URL('../../../content/welcome.md', import.meta.url));

/**
 * Stand-ins for the deployment's values while rendering: the renderer needs a postal address, and the synth-time
 * render knows none of them. loadWelcomeEmail replaces them. (`{{viewInBrowserUrl}}` is the renderer's own.)
 */
const DEPLOYMENT_PLACEHOLDERS = {
  postalAddress: '{{postalAddress}}',
  senderName: '{{senderName}}',
  viewInBrowserUrl: '{{viewInBrowserUrl}}',
} as const;

/**
 * Render the welcome file with every placeholder kept, or `null` when there is no file. The renderer is passed in
 * so that only the caller that renders imports it (and with it MJML).
 */
export async function renderWelcomeSources(
  render: typeof renderIssue,
  file: string = DEFAULT_WELCOME_FILE,
): Promise<WelcomeEmailTemplate | null> {
  let markdown: string;
  try {
    markdown = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  const rendered = await render(markdown, {
    postalAddress: DEPLOYMENT_PLACEHOLDERS.postalAddress,
    senderName: DEPLOYMENT_PLACEHOLDERS.senderName,
  });
  return { subject: rendered.subject, html: rendered.html, text: rendered.text };
}

/**
 * The precompiled sources when bundled, else rendered now. The `typeof` test must stay in this one expression:
 * esbuild folds it at parse time, so the renderer (and MJML) are dropped from the bundle, not just never loaded.
 */
function welcomeSources(file: string): Promise<WelcomeEmailTemplate | null> {
  return typeof __NEWSLETTER_WELCOME_EMAIL__ === 'string'
    ? Promise.resolve(JSON.parse(__NEWSLETTER_WELCOME_EMAIL__) as WelcomeEmailTemplate | null)
    : import('../../core/issue/render.ts').then(({ renderIssue }) => renderWelcomeSources(renderIssue, file));
}

export interface WelcomeEmailOptions {
  /** Default content/welcome.md. Ignored in the Lambda bundle, which carries the file as it was at synth. */
  file?: string;
  /** Printed in the footer (CAN-SPAM); default env POSTAL_ADDRESS. */
  postalAddress?: string;
  /** Shown next to it; default the display name of env SENDER. */
  senderName?: string;
  /** Where "view in browser" leads: the archive; default env PUBLIC_BASE_URL + `/archive`. */
  archiveUrl?: string;
}

const sources = new Map<string, Promise<WelcomeEmailTemplate | null>>();

/**
 * The welcome email with the deployment's values filled in and `{{unsubscribeUrl}}` / `{{name}}` left for each
 * recipient, or undefined when there is no content/welcome.md. Rendered once per file and process.
 * Throws when the file does not render (a RenderError naming the problem) or a deployment value is missing.
 */
export async function loadWelcomeEmail(options: WelcomeEmailOptions = {}): Promise<WelcomeEmailTemplate | undefined> {
  const file = options.file ?? DEFAULT_WELCOME_FILE;
  let pending = sources.get(file);
  if (!pending) {
    pending = welcomeSources(file);
    sources.set(file, pending);
    pending.catch(() => sources.delete(file));
  }
  const template = await pending;
  if (!template) return undefined;
  return fillDeploymentValues(template, deploymentValues(options));
}

function deploymentValues(options: WelcomeEmailOptions): Record<keyof typeof DEPLOYMENT_PLACEHOLDERS, string> {
  const postalAddress = options.postalAddress ?? process.env.POSTAL_ADDRESS;
  const sender = process.env.SENDER;
  const senderName = options.senderName ?? (sender ? displayName(sender) : undefined);
  const base = process.env.PUBLIC_BASE_URL?.replace(/\/+$/, '');
  const viewInBrowserUrl = options.archiveUrl ?? (base ? `${base}/archive` : undefined);
  const missing = [
    postalAddress ? '' : 'POSTAL_ADDRESS',
    senderName ? '' : 'SENDER',
    viewInBrowserUrl ? '' : 'PUBLIC_BASE_URL',
  ].filter(Boolean);
  if (missing.length) throw new Error(`the welcome email needs ${missing.join(', ')}`);
  return { postalAddress: postalAddress!, senderName: senderName!, viewInBrowserUrl: viewInBrowserUrl! };
}

/** Replace the deployment placeholders: HTML-escaped in the HTML, as written in the text and subject. */
function fillDeploymentValues(
  template: WelcomeEmailTemplate,
  values: Record<keyof typeof DEPLOYMENT_PLACEHOLDERS, string>,
): WelcomeEmailTemplate {
  const fill = (s: string, escape: (v: string) => string) =>
    Object.entries(DEPLOYMENT_PLACEHOLDERS).reduce(
      // A function, not a string: `$&`, `$$`… in a sender name or postal address are text, not replacement patterns.
      (out, [key, placeholder]) => out.replaceAll(placeholder, () => escape(values[key as keyof typeof values])),
      s,
    );
  const asIs = (v: string) => v;
  return {
    subject: fill(template.subject, asIs),
    html: fill(template.html, Handlebars.escapeExpression),
    text: fill(template.text, asIs),
  };
}
