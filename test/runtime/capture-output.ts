/**
 * Captures what the functions write to stdout and stderr (Powertools Logger writes warnings and errors to stderr,
 * the rest and the EMF metrics to stdout; Lambda sends both to CloudWatch Logs), parsed as JSON lines.
 */
import { vi } from 'vitest';

export type Entry = Record<string, unknown>;

/** Run `fn` with stdout and stderr captured; returns its result and every JSON line written meanwhile, in order. */
export async function captureOutput<T>(fn: () => T | Promise<T>): Promise<{ result: T; entries: Entry[]; raw: string }> {
  const chunks: string[] = [];
  const capture = (chunk: string | Uint8Array) => (chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8')), true);
  const spies = [vi.spyOn(process.stdout, 'write').mockImplementation(capture), vi.spyOn(process.stderr, 'write').mockImplementation(capture)];
  let result: T;
  try {
    result = await fn();
  } finally {
    for (const spy of spies) spy.mockRestore();
  }
  const raw = chunks.join('');
  const entries = raw.split('\n').filter((l) => l.trim().startsWith('{')).map((l) => JSON.parse(l) as Entry);
  return { result, entries, raw };
}

/** The EMF documents among `entries` (Powertools Metrics' lines). */
export const metricDocuments = (entries: Entry[]) => entries.filter((e) => e._aws !== undefined);
/** The log entries among `entries` (everything but metrics). */
export const logEntries = (entries: Entry[]) => entries.filter((e) => e._aws === undefined);
