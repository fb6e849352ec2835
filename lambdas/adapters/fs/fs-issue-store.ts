/**
 * IssueStore in the local data directory: `<dataDir>/issues/<slug>.json`, written atomically (temp file + rename)
 * so a worker never reads half a file.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { IssueStore, StoredIssue } from '../../core/ports.ts';
import { issueKey, parseStoredIssue } from '../../core/sending/stored-issue.ts';

export class FsIssueStore implements IssueStore {
  constructor(private readonly dataDir: string) {}

  private path(slug: string): string {
    return join(this.dataDir, issueKey(slug));
  }

  async put(issue: StoredIssue): Promise<void> {
    const file = this.path(issue.slug);
    await mkdir(join(this.dataDir, 'issues'), { recursive: true });
    const tmp = `${file}.${process.pid}.${randomUUID()}.tmp`;
    await writeFile(tmp, JSON.stringify(issue), 'utf8');
    await rename(tmp, file);
  }

  async get(slug: string): Promise<StoredIssue | undefined> {
    try {
      return parseStoredIssue(await readFile(this.path(slug), 'utf8'));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }
}
