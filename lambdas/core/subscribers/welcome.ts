/**
 * The welcome email, sent once when a subscriber is confirmed. The template (content/welcome.md, rendered by
 * lambdas/handlers/http/welcome-email.ts) carries the literal placeholders `{{unsubscribeUrl}}` and `{{name}}`;
 * this fills them per subscriber: HTML-escaped in the HTML part, as is in the text part and the subject.
 * Like an issue, it carries an unsubscribe link and RFC 8058 List-Unsubscribe headers.
 */
import type { OutboundEmail } from '../model.ts';
import { unsubscribeUrl } from '../sending/compose.ts';

/** Same shape as `WelcomeEmailTemplate` in lambdas/handlers/http/welcome-email.ts (the core cannot import handlers). */
export interface WelcomeEmailTemplate {
  subject: string;
  html: string;
  text: string;
}

/** Loads the template; undefined when there is no welcome email (no content/welcome.md). */
export type WelcomeEmailLoader = () => Promise<WelcomeEmailTemplate | undefined>;

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const escapeHtml = (value: string) => value.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!);

function fill(template: string, values: Record<string, string>): string {
  return template.replace(/\{\{(unsubscribeUrl|name)\}\}/g, (_, key: string) => values[key] ?? '');
}

/** The welcome email for one subscriber, ready for the mailer. */
export function composeWelcomeEmail(
  template: WelcomeEmailTemplate,
  input: { email: string; name?: string; unsubscribeToken: string; sender: string; publicBaseUrl: string; configurationSet?: string },
): OutboundEmail {
  const url = unsubscribeUrl(input.publicBaseUrl, input.unsubscribeToken);
  const plain = { unsubscribeUrl: url, name: input.name ?? '' };
  const escaped = { unsubscribeUrl: escapeHtml(url), name: escapeHtml(input.name ?? '') };
  return {
    from: input.sender,
    to: input.email,
    subject: fill(template.subject, plain),
    html: fill(template.html, escaped),
    text: fill(template.text, plain),
    headers: {
      'List-Unsubscribe': `<${url}>`,
      'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
    },
    tags: { type: 'welcome' },
    ...(input.configurationSet ? { configurationSet: input.configurationSet } : {}),
  };
}
