/**
 * The HTML pages (templates/pages/*.hbs), compiled once per container. Subscriber data only ever goes through
 * `{{ }}`, so Handlebars escapes it. Handlebars only, no MJML: the archive function imports this module too, and
 * its bundle must stay small (the confirmation email, which needs MJML, is in confirmation-email.ts).
 *
 * The templates directory defaults to the repository's `templates/`; a Lambda bundle sets TEMPLATES_DIR
 * (the wiring passes it in) to wherever the deployment copied them.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Handlebars from 'handlebars';

export const DEFAULT_TEMPLATES_DIR = fileURLToPath(new URL('../../../templates/', import.meta.url));

export type PageName = 'subscribe' | 'check-inbox' | 'confirm' | 'confirmed' | 'unsubscribe' | 'unsubscribed' | 'error';

export interface PageSettings {
  newsletterName: string;
  /** Path prefix of the routes in links and form actions ('' when the API is served at the root). */
  basePath?: string;
  lang?: string;
}

/**
 * A Handlebars environment of its own with templates/pages/layout.hbs registered as the `layout` partial, for
 * every page that shares the pages' look (the subscribe pages and the archive's). Reads the file synchronously.
 */
export function pagesHandlebars(templatesDir: string = DEFAULT_TEMPLATES_DIR): typeof Handlebars {
  const hbs = Handlebars.create();
  hbs.registerPartial('layout', readFileSync(join(templatesDir, 'pages', 'layout.hbs'), 'utf8'));
  return hbs;
}

/** Returns `render(page, data)`: an HTML document built from layout.hbs and the page's partial block. */
export function createPageRenderer(settings: PageSettings, templatesDir: string = DEFAULT_TEMPLATES_DIR) {
  const hbs = pagesHandlebars(templatesDir);
  const dir = join(templatesDir, 'pages');
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
