/**
 * Compiles, at synth time, the emails the subscribers function sends, so that its bundle needs no MJML (issue 14):
 * the confirmation email (templates/confirmation/, placeholders kept) and the welcome email (content/welcome.md,
 * `null` without one). infra/bundling.ts runs this file in a child process (construct code is synchronous, MJML is
 * not) and defines the result into the bundle; the handlers use it instead of compiling.
 *
 * `node --import tsx infra/precompile-emails.ts [--welcome <file>]` prints the JSON on stdout.
 */
import { pathToFileURL } from 'node:url';
import mjml2html from 'mjml';
import { renderIssue } from '../lambdas/core/issue/render.ts';
import { compileConfirmationSources, type ConfirmationEmailSources } from '../lambdas/handlers/http/confirmation-email.ts';
import { DEFAULT_WELCOME_FILE, renderWelcomeSources, type WelcomeEmailTemplate } from '../lambdas/handlers/http/welcome-email.ts';

export interface PrecompiledEmails {
  confirmation: ConfirmationEmailSources;
  /** With every placeholder kept, deployment values included (filled by loadWelcomeEmail); null: no welcome file. */
  welcome: WelcomeEmailTemplate | null;
}

export async function precompileEmails(opts: { templatesDir?: string; welcomeFile?: string } = {}): Promise<PrecompiledEmails> {
  return {
    confirmation: await compileConfirmationSources(mjml2html, opts.templatesDir),
    welcome: await renderWelcomeSources(renderIssue, opts.welcomeFile ?? DEFAULT_WELCOME_FILE),
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const i = process.argv.indexOf('--welcome');
  try {
    const emails = await precompileEmails(i > 0 ? { welcomeFile: process.argv[i + 1] } : {});
    process.stdout.write(JSON.stringify(emails));
  } catch (err) {
    process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  }
}
