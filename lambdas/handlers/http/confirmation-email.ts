/**
 * The confirmation email (templates/confirmation/), compiled once per container and cached. Subscriber data only
 * ever goes through `{{ }}`, so Handlebars escapes it.
 *
 * MJML runs where the template is compiled: in the Lambda bundle that was at synth time (infra/precompile-emails.ts
 * defines the result into the bundle, so the public /subscribe path loads no MJML and its first POST compiles
 * nothing); locally (tsx, no bundling) on first use.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Handlebars from 'handlebars';
import type mjml2html from 'mjml';
import type { ConfirmationEmailRenderer } from '../../core/subscribers/subscriber-service.ts';
import { DEFAULT_TEMPLATES_DIR } from './pages.ts';

/** Defined by esbuild in the subscribers bundle (infra/bundling.ts); undeclared, so `typeof` is 'undefined', elsewhere. */
declare const __NEWSLETTER_CONFIRMATION_EMAIL__: string | undefined;

/** The email's two Handlebars sources: MJML's HTML output, and the plain-text template. */
export interface ConfirmationEmailSources {
  html: string;
  text: string;
}

/** MJML-compile the template (strict validation), leaving the Handlebars placeholders in. */
export async function compileConfirmationSources(
  mjml: typeof mjml2html,
  templatesDir: string = DEFAULT_TEMPLATES_DIR,
): Promise<ConfirmationEmailSources> {
  const dir = join(templatesDir, 'confirmation');
  const result = await mjml(readFileSync(join(dir, 'confirmation.mjml'), 'utf8'), { validationLevel: 'strict' });
  return { html: result.html, text: readFileSync(join(dir, 'confirmation.txt.hbs'), 'utf8') };
}

/**
 * The precompiled sources when bundled, else compiled now. The `typeof` test must stay in this one expression:
 * esbuild folds it at parse time, so the `import('mjml')` branch is dropped from the bundle, not just never run.
 */
function confirmationSources(templatesDir: string | undefined): Promise<ConfirmationEmailSources> {
  return typeof __NEWSLETTER_CONFIRMATION_EMAIL__ === 'string'
    ? Promise.resolve(JSON.parse(__NEWSLETTER_CONFIRMATION_EMAIL__) as ConfirmationEmailSources)
    : import('mjml').then(({ default: mjml }) => compileConfirmationSources(mjml, templatesDir));
}

/**
 * The confirmation email renderer. The sources are compiled once, on first use (or come precompiled); each email
 * then only fills the placeholders, escaping every value.
 */
export function createConfirmationRenderer(
  settings: { newsletterName: string },
  templatesDir?: string,
): ConfirmationEmailRenderer {
  let compiled: Promise<{ html: HandlebarsTemplateDelegate; text: HandlebarsTemplateDelegate }> | undefined;
  const compile = async () => {
    const sources = await confirmationSources(templatesDir);
    const hbs = Handlebars.create();
    return {
      html: hbs.compile(sources.html, { strict: true }),
      // Plain text is not HTML: no entity escaping there (values carry no control characters).
      text: hbs.compile(sources.text, { strict: true, noEscape: true }),
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
