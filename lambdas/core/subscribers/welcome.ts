/**
 * The welcome email, sent once when a subscriber is confirmed. The template (content/welcome.md, rendered by
 * lambdas/handlers/http/welcome-email.ts) carries the literal placeholders `{{unsubscribeUrl}}` and `{{name}}`
 * (`{{name|there}}` with a fallback, as the issue renderer writes it); this fills them per subscriber with the
 * issue's own personalization pass: HTML-escaped in the HTML part, as is in the text part and the subject.
 * Like an issue, it carries an unsubscribe link and RFC 8058 List-Unsubscribe headers.
 */
import type { OutboundEmail } from '../model.ts';
import { compilePersonalizer } from '../issue/personalize.ts';
import { unsubscribeUrl } from '../sending/compose.ts';

/** Same shape as `WelcomeEmailTemplate` in lambdas/handlers/http/welcome-email.ts (the core cannot import handlers). */
export interface WelcomeEmailTemplate {
  subject: string;
  html: string;
  text: string;
}

/** Loads the template; undefined when there is no welcome email (no content/welcome.md). */
export type WelcomeEmailLoader = () => Promise<WelcomeEmailTemplate | undefined>;

/** Split once per template (the loader returns the same object while its file is unchanged). */
const personalizers = new WeakMap<WelcomeEmailTemplate, ReturnType<typeof compilePersonalizer>>();

/** The welcome email for one subscriber, ready for the mailer. */
export function composeWelcomeEmail(
  template: WelcomeEmailTemplate,
  input: { email: string; name?: string; unsubscribeToken: string; sender: string; publicBaseUrl: string; configurationSet?: string },
): OutboundEmail {
  const url = unsubscribeUrl(input.publicBaseUrl, input.unsubscribeToken);
  let personalize = personalizers.get(template);
  if (!personalize) personalizers.set(template, (personalize = compilePersonalizer(template)));
  const filled = personalize({
    unsubscribeUrl: url,
    viewInBrowserUrl: `${input.publicBaseUrl}/archive`,
    email: input.email,
    ...(input.name ? { name: input.name } : {}),
  });
  return {
    from: input.sender,
    to: input.email,
    subject: filled.subject,
    html: filled.html,
    text: filled.text,
    headers: {
      'List-Unsubscribe': `<${url}>`,
      'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
    },
    tags: { type: 'welcome' },
    ...(input.configurationSet ? { configurationSet: input.configurationSet } : {}),
  };
}
