/**
 * `newsletter render <issue.md> --out <dir>`: the email as a subscriber sees it (preview values where
 * per-recipient data goes): index.html, index.txt, meta.json. Bad input: one line, non-zero exit, no files.
 */
import { mkdir, mkdtemp, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { RenderedIssue } from '../../lambdas/core/issue/render.ts';
import { compilePersonalizer, previewRecipient } from '../../lambdas/core/issue/personalize.ts';
import { CliError, EXIT } from './common.ts';

export interface RenderCliOptions {
  assetBaseUrl?: string;
  linkBaseUrl?: string;
  postalAddress?: string;
  senderName?: string;
  force?: boolean;
}

export const POSTAL_ADDRESS_PLACEHOLDER = 'Set POSTAL_ADDRESS (your postal address) before sending';

/** Read an issue file as strict UTF-8; every problem becomes a one-line CliError. */
export async function readIssueFile(path: string): Promise<string> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : code === 'EACCES' ? 'permission denied' : code;
    throw new CliError(`cannot read ${path}: ${why}`);
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new CliError(`${path} is not valid UTF-8 text`);
  }
  if (!text.trim()) throw new CliError(`${path} is empty`);
  return text;
}

/** Render with the CLI's defaults (postal address from the flag, then POSTAL_ADDRESS, then a placeholder). */
export async function renderFile(path: string, opts: RenderCliOptions): Promise<RenderedIssue> {
  const markdown = await readIssueFile(path);
  // Loaded on use: MJML is heavy, and the other commands of the CLI never need it.
  const { RenderError, renderIssue } = await import('../../lambdas/core/issue/render.ts');
  try {
    return await renderIssue(markdown, {
      postalAddress: opts.postalAddress ?? process.env.POSTAL_ADDRESS ?? POSTAL_ADDRESS_PLACEHOLDER,
      senderName: opts.senderName ?? process.env.SENDER_NAME,
      assetBaseUrl: opts.assetBaseUrl,
      linkBaseUrl: opts.linkBaseUrl,
      force: opts.force,
    });
  } catch (err) {
    if (err instanceof RenderError) throw new CliError(`${basename(path)}: ${err.message}`, EXIT.BAD_INPUT);
    throw err;
  }
}

/** The files of a rendered issue, personalized with preview values. */
export function previewFiles(r: RenderedIssue): Record<string, string> {
  const email = compilePersonalizer(r)(previewRecipient(r.slug));
  return {
    'index.html': email.html,
    'index.txt': email.text,
    'meta.json': `${JSON.stringify({ ...r.meta, subject: email.subject }, null, 2)}\n`,
  };
}

/**
 * Write files into `dir` all or nothing: everything goes to a temporary sibling directory first, then moves
 * into place (a new directory is renamed whole; an existing one receives each file by rename).
 */
export async function writeAll(dir: string, files: Record<string, Uint8Array | string>): Promise<void> {
  const target = resolve(dir);
  const parent = dirname(target);
  try {
    await mkdir(parent, { recursive: true });
  } catch {
    throw new CliError(`cannot create ${parent}`);
  }
  const existing = await stat(target).catch(() => undefined);
  if (existing && !existing.isDirectory()) throw new CliError(`${dir} exists and is not a directory`);
  const tmp = await mkdtemp(join(parent, `.${basename(target)}.tmp-`));
  try {
    for (const [name, content] of Object.entries(files)) await writeFile(join(tmp, name), content);
    if (existing) {
      for (const name of Object.keys(files)) await rename(join(tmp, name), join(target, name));
      await rm(tmp, { recursive: true, force: true });
    } else {
      await rename(tmp, target);
    }
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw new CliError(`cannot write ${dir}: ${(err as Error).message}`);
  }
}

export function printWarnings(warnings: string[]): void {
  for (const w of warnings) process.stderr.write(`warning: ${w}\n`);
}

/** `newsletter render <issue.md> --out <dir>`. */
export async function renderCommand(file: string, opts: RenderCliOptions & { out: string }): Promise<void> {
  const rendered = await renderFile(file, opts);
  await writeAll(opts.out, previewFiles(rendered));
  printWarnings(rendered.warnings);
  process.stdout.write(
    `Rendered "${rendered.subject}" (${(rendered.meta.bytes / 1024).toFixed(1)} KB, ${rendered.warnings.length} warnings) to ${join(opts.out, 'index.html')}\n`,
  );
}
