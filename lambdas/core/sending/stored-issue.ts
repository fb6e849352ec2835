/** Rules every IssueStore applies to a rendered issue: its slug, its shape, its size. */
import type { StoredIssue } from '../ports.ts';

const SLUG = /^[a-z0-9][a-z0-9._-]{0,199}$/i;

/** Returns the slug if it is one an IssueStore accepts (letters, digits, `.`, `_`, `-`; no `..`); throws otherwise. */
export function validIssueSlug(slug: string): string {
  if (!SLUG.test(slug) || slug.includes('..')) throw new Error(`invalid issue slug: ${slug.slice(0, 80)}`);
  return slug;
}

/** Parse a stored issue, checking the fields the worker relies on. */
export function parseStoredIssue(text: string): StoredIssue {
  const v = JSON.parse(text) as Partial<StoredIssue>;
  for (const f of ['slug', 'subject', 'html', 'text'] as const) {
    if (typeof v[f] !== 'string') throw new Error(`stored issue is missing "${f}"`);
  }
  return v as StoredIssue;
}

/** The rendered issue is too large for the store; the send is refused before anything is written. */
export class StoredIssueTooLargeError extends Error {
  override name = 'StoredIssueTooLargeError';
  constructor(slug: string, jsonBytes: number, storedBytes: number, limitBytes: number) {
    super(
      `the rendered issue ${slug} is too large to store: ${Math.round(jsonBytes / 1024)} KB of HTML and text ` +
        `(${Math.round(storedBytes / 1024)} KB compressed, limit ${Math.round(limitBytes / 1024)} KB); ` +
        'mail clients clip far smaller emails (Gmail at 102 KB), so shorten the issue or link to the rest',
    );
  }
}
