/**
 * The issue email templates, as modules so the send Lambda bundles them (no file reads at run time).
 * layout = the document; partials are used as `{{> name}}`.
 */
import layout from './layout.mjml.ts';
import header from './header.mjml.ts';
import section from './section.mjml.ts';
import card from './card.mjml.ts';
import prose from './prose.mjml.ts';
import footer from './footer.mjml.ts';

export const emailLayout = layout;
export const emailPartials: Record<string, string> = { header, section, card, prose, footer };
