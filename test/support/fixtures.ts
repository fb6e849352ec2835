/**
 * Fixtures in test/fixtures: verbatim copies of the project's shared fixtures (real Medium exports and the isemail
 * test set; see test/fixtures/README.md), kept in the repository so a fresh clone tests on its own. Never edited.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const FIXTURES_DIR = join(REPO_ROOT, 'test/fixtures');
export const ISSUE_FIXTURES_DIR = join(FIXTURES_DIR, 'issues');
/** The seed issue the project ships (a copy of fixture 031). */
export const SEED_ISSUE = join(REPO_ROOT, 'content/issues/031-akira-ml-news.md');

/** File names of the issue fixtures, e.g. `akira-ml-news-031.md`. */
export function issueFixtureNames(): string[] {
  return readdirSync(ISSUE_FIXTURES_DIR)
    .filter((f) => f.endsWith('.md'))
    .sort();
}

export function readIssueFixture(name: string): string {
  return readFileSync(join(ISSUE_FIXTURES_DIR, name), 'utf8');
}

export function fixturePath(...parts: string[]): string {
  return join(FIXTURES_DIR, ...parts);
}
