/**
 * Planning a subscriber import from CSV: parse, validate and de-duplicate, without writing anything.
 * Shared by `newsletter subscribers import` (bin/commands/subscribers.ts) and `npm start`'s demo subscribers
 * (lambdas/local/main.ts), so both accept exactly the same files.
 */
import { parse } from 'csv-parse/sync';
import { parseSubscribeForm } from './subscribe-form.ts';

export interface ImportRow {
  line: number;
  email: string;
  name?: string;
  attributes: Record<string, string>;
}

export interface ImportPlan {
  rows: ImportRow[];
  invalid: Array<{ line: number; reason: string }>;
  duplicates: Array<{ line: number; email: string; firstLine: number }>;
}

/** The file is not a usable subscriber CSV at all (not CSV, empty, no `email` column). */
export class SubscriberCsvError extends Error {
  override name = 'SubscriberCsvError';
}

/** A cell that the CLI's `export` protected against formula injection (a leading `'`) gets its value back. */
function unguardFormula(cell: string): string {
  return /^'[=+\-@\t\r]/.test(cell) ? cell.slice(1) : cell;
}

/**
 * Parse and validate a subscriber CSV (header row with `email`, optional `name`, any other columns become
 * attributes). Pure: nothing is written. A file that is not CSV at all, is empty, has no `email` column, names a
 * column twice or has no rows throws a SubscriberCsvError whose message names `file`; row-level problems (invalid
 * address, wrong field count, duplicate) are collected with their line numbers.
 */
export function planImport(text: string, file: string): ImportPlan {
  let records: Array<{ record: string[]; info: { lines: number } }>;
  try {
    records = parse(text, { bom: true, info: true, relax_column_count: true, skip_empty_lines: true, trim: true }) as never;
  } catch (err) {
    throw new SubscriberCsvError(`${file} is not valid CSV, nothing imported: ${(err as Error).message.split('\n')[0]}`);
  }
  const [head, ...body] = records;
  if (!head) throw new SubscriberCsvError(`${file} is empty: expected a header row with an "email" column`);
  const columns = head.record.map((c) => c.toLowerCase());
  const emailCol = columns.indexOf('email');
  if (emailCol < 0) throw new SubscriberCsvError(`${file}: the header row has no "email" column (found: ${head.record.join(', ').slice(0, 200)})`);
  const repeated = columns.find((c, i) => c && columns.indexOf(c) !== i);
  if (repeated) throw new SubscriberCsvError(`${file}: the header row names the column "${repeated}" twice`);
  if (body.length === 0) throw new SubscriberCsvError(`${file} has a header row but no subscribers`);
  const nameCol = columns.indexOf('name');
  const plan: ImportPlan = { rows: [], invalid: [], duplicates: [] };
  const seen = new Map<string, number>();
  for (const { record: raw, info } of body) {
    const line = info.lines;
    if (raw.length !== columns.length) {
      plan.invalid.push({ line, reason: `expected ${columns.length} fields, found ${raw.length}` });
      continue;
    }
    const record = raw.map(unguardFormula);
    const check = parseSubscribeForm({ email: record[emailCol], ...(nameCol >= 0 ? { name: record[nameCol] } : {}) });
    if (!check.ok) {
      plan.invalid.push({ line, reason: check.message });
      continue;
    }
    const { email, name } = check.request;
    const firstLine = seen.get(email);
    if (firstLine !== undefined) {
      plan.duplicates.push({ line, email, firstLine });
      continue;
    }
    seen.set(email, line);
    const attributes: Record<string, string> = {};
    head.record.forEach((column, i) => {
      if (i !== emailCol && i !== nameCol && record[i]) attributes[column] = record[i]!;
    });
    plan.rows.push({ line, email, ...(name ? { name } : {}), attributes });
  }
  return plan;
}
