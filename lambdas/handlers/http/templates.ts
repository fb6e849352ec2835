/**
 * The HTML pages (templates/pages/*.hbs) and the confirmation email (templates/confirmation/), compiled once
 * per container and cached. Subscriber data only ever goes through `{{ }}`, so Handlebars escapes it.
 *
 * The templates directory defaults to the repository's `templates/`; a Lambda bundle sets TEMPLATES_DIR
 * (the wiring passes it in) to wherever the deployment copied them.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Handlebars from 'handlebars';
import mjml2html from 'mjml';
import type { ConfirmationEmailRenderer } from '../../core/subscribers/subscriber-service.ts';

export const DEFAULT_TEMPLATES_DIR = fileURLToPath(new URL('../../../templates/', import.meta.url));

export type PageName = 'subscribe' | 'check-inbox' | 'confirm' | 'confirmed' | 'unsubscribe' | 'unsubscribed' | 'error';

export interface PageSettings {
  newsletterName: string;
  /** Path prefix of the routes in links and form actions ('' when the API is served at the root). */
  basePath?: string;
  lang?: string;
}

/** Returns `render(page, data)`: an HTML document built from layout.hbs and the page's partial block. */
export function createPageRenderer(settings: PageSettings, templatesDir: string = DEFAULT_TEMPLATES_DIR) {
  const hbs = Handlebars.create();
  const dir = join(templatesDir, 'pages');
  hbs.registerPartial('layout', readFileSync(join(dir, 'layout.hbs'), 'utf8'));
  const pages = new Map<string, HandlebarsTemplateDelegate>();
  for (const file of readdirSync(dir)) {
    if (file.endsWith('.hbs') && file !== 'layout.hbs') {
      pages.set(file.slice(0, -4), hbs.compile(readFileSync(join(dir, file), 'utf8'), { strict: false }));
    }
  }
  return (page: PageName, data: Record<string, unknown> = {}): string => {
    const template = pages.get(page);
    if (!template) throw new Error(`No page template ${page}.hbs in ${dir}`);
    return template({ lang: settings.lang ?? 'en', basePath: settings.basePath ?? '', newsletterName: settings.newsletterName, ...data });
  };
}

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
