/** Where and how a rendered issue is stored, shared by the S3 and data-directory IssueStores. */
import type { StoredIssue } from '../ports.ts';

const SLUG = /^[a-z0-9][a-z0-9._-]{0,199}$/i;

/** Object key / relative path of a rendered issue. Refuses slugs that could escape the `issues/` prefix. */
export function issueKey(slug: string): string {
  if (!SLUG.test(slug) || slug.includes('..')) throw new Error(`invalid issue slug: ${slug.slice(0, 80)}`);
  return `issues/${slug}.json`;
}

/** Parse a stored issue, checking the fields the worker relies on. */
export function parseStoredIssue(text: string): StoredIssue {
  const v = JSON.parse(text) as Partial<StoredIssue>;
  for (const f of ['slug', 'subject', 'html', 'text'] as const) {
    if (typeof v[f] !== 'string') throw new Error(`stored issue is missing "${f}"`);
  }
  return v as StoredIssue;
}
