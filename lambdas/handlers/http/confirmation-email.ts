/**
 * The confirmation email (templates/confirmation/), compiled once per container and cached. Subscriber data only
 * ever goes through `{{ }}`, so Handlebars escapes it. Loads MJML, so only the subscribers function imports it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Handlebars from 'handlebars';
import mjml2html from 'mjml';
import type { ConfirmationEmailRenderer } from '../../core/subscribers/subscriber-service.ts';
import { DEFAULT_TEMPLATES_DIR } from './pages.ts';

/**
 * The confirmation email renderer. MJML is compiled (strict validation) once, on first use, with the
 * Handlebars placeholders left in; each email then only fills the placeholders, escaping every value.
 */
export function createConfirmationRenderer(
  settings: { newsletterName: string },
  templatesDir: string = DEFAULT_TEMPLATES_DIR,
): ConfirmationEmailRenderer {
  let compiled: Promise<{ html: HandlebarsTemplateDelegate; text: HandlebarsTemplateDelegate }> | undefined;
  const compile = async () => {
    const dir = join(templatesDir, 'confirmation');
    const result = await mjml2html(readFileSync(join(dir, 'confirmation.mjml'), 'utf8'), { validationLevel: 'strict' });
    const hbs = Handlebars.create();
    return {
      html: hbs.compile(result.html, { strict: true }),
      // Plain text is not HTML: no entity escaping there (values carry no control characters).
      text: hbs.compile(readFileSync(join(dir, 'confirmation.txt.hbs'), 'utf8'), { strict: true, noEscape: true }),
    };
  };
  return async ({ email, name, confirmUrl }) => {
    compiled ??= compile().catch((err: unknown) => {
      compiled = undefined;
      throw err;
    });
    const t = await compiled;
    const data = {
      newsletterName: settings.newsletterName,
      email,
      confirmUrl,
      greeting: name ? `Hi ${name},` : 'Hello,',
    };
    return { subject: `Confirm your subscription to ${settings.newsletterName}`, html: t.html(data), text: t.text(data) };
  };
}
