/**
 * Planning a subscriber import from CSV: parse, validate and de-duplicate, without writing anything.
 * Shared by `newsletter subscribers import` (bin/commands/subscribers.ts) and `npm start`'s demo subscribers
 * (lambdas/local/main.ts), so both accept exactly the same files.
 */
import { parse } from 'csv-parse/sync';
import { identityKey } from './email.ts';
import { parseSubscribeForm } from './subscribe-form.ts';

/**
 * Custom attributes (the columns other than `email` and `name`): names of letters, digits, `_` and `-` (they are
 * used as `{{attributes.<name>}}` in an issue), bounded so a subscriber item stays small and the confirmed index
 * that projects them stays cheap to page.
 */
export const ATTRIBUTE_NAME = /^[A-Za-z0-9_-]{1,64}$/;
export const MAX_ATTRIBUTES = 50;
export const MAX_ATTRIBUTE_VALUE_LENGTH = 1000;
/** Bytes of a subscriber's attributes as JSON. */
export const MAX_ATTRIBUTES_BYTES = 4096;
/**
 * Columns `subscribers export` writes that are bookkeeping, not attributes: re-importing an export ignores them
 * (an import never sets status or timestamps), and its `attributes` column (a JSON object) gives the attributes back.
 */
const EXPORT_BOOKKEEPING = new Set([
  'status', 'createdat', 'updatedat', 'confirmedat', 'unsubscribedat', 'consentat', 'consentmethod', 'consentsource',
]);
const ATTRIBUTES_COLUMN = 'attributes';
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

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

/** A row's attributes from its cells, or why they cannot be stored. */
function rowAttributes(
  record: string[],
  attributeColumns: Array<{ index: number; name: string }>,
  jsonColumn: number,
): { ok: true; attributes: Record<string, string> } | { ok: false; reason: string } {
  const attributes: Record<string, string> = {};
  if (jsonColumn >= 0 && record[jsonColumn]) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(record[jsonColumn]!);
    } catch {
      return { ok: false, reason: 'the "attributes" column is not a JSON object' };
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return { ok: false, reason: 'the "attributes" column is not a JSON object' };
    for (const [name, value] of Object.entries(parsed)) {
      if (!ATTRIBUTE_NAME.test(name)) return { ok: false, reason: `attribute name ${JSON.stringify(name.slice(0, 80))} is not letters, digits, _ or -` };
      if (typeof value !== 'string') return { ok: false, reason: `attribute "${name}" is not text` };
      attributes[name] = value;
    }
  }
  for (const { index, name } of attributeColumns) if (record[index]) attributes[name] = record[index]!;
  if (Object.keys(attributes).length > MAX_ATTRIBUTES) return { ok: false, reason: `more than ${MAX_ATTRIBUTES} attributes` };
  for (const [name, value] of Object.entries(attributes)) {
    if (value.length > MAX_ATTRIBUTE_VALUE_LENGTH) return { ok: false, reason: `attribute "${name}" is longer than ${MAX_ATTRIBUTE_VALUE_LENGTH} characters` };
    if (CONTROL.test(value)) return { ok: false, reason: `attribute "${name}" contains control characters` };
  }
  if (Buffer.byteLength(JSON.stringify(attributes)) > MAX_ATTRIBUTES_BYTES) return { ok: false, reason: `the attributes take more than ${MAX_ATTRIBUTES_BYTES} bytes` };
  return { ok: true, attributes };
}

/**
 * Parse and validate a subscriber CSV (header row with `email`, optional `name`, any other columns become
 * attributes). Pure: nothing is written. A file that is not CSV at all, is empty, has no `email` column, names a
 * column twice, has a column that cannot be an attribute name, or has no rows throws a SubscriberCsvError whose
 * message names `file`; row-level problems (invalid address or attributes, wrong field count, duplicate) are
 * collected with their line numbers. Duplicates are found by identity: `A@x.com` repeats `a@x.com`, and the first
 * row's spelling is kept. Line endings may be CRLF, LF or CR, mixed in one file.
 */
export function planImport(text: string, file: string): ImportPlan {
  let records: Array<{ record: string[]; info: { lines: number } }>;
  try {
    // csv-parse guesses one record delimiter from the first line ending; a file edited on two systems has both.
    records = parse(text.replace(/\r\n?/g, '\n'), { bom: true, info: true, relax_column_count: true, skip_empty_lines: true, trim: true }) as never;
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
  const jsonColumn = columns.indexOf(ATTRIBUTES_COLUMN);
  const attributeColumns = head.record
    .map((name, index) => ({ name, index }))
    .filter(({ index }) => index !== emailCol && index !== nameCol && index !== jsonColumn && !EXPORT_BOOKKEEPING.has(columns[index]!));
  const badColumn = attributeColumns.find(({ name }) => !ATTRIBUTE_NAME.test(name));
  if (badColumn) {
    throw new SubscriberCsvError(
      `${file}: the column ${JSON.stringify(badColumn.name.slice(0, 80))} cannot be an attribute: name it with letters, digits, _ and - only (at most 64)`,
    );
  }
  if (attributeColumns.length > MAX_ATTRIBUTES) throw new SubscriberCsvError(`${file}: more than ${MAX_ATTRIBUTES} attribute columns`);
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
    const firstLine = seen.get(identityKey(email));
    if (firstLine !== undefined) {
      plan.duplicates.push({ line, email, firstLine });
      continue;
    }
    const attributes = rowAttributes(record, attributeColumns, jsonColumn);
    if (!attributes.ok) {
      plan.invalid.push({ line, reason: attributes.reason });
      continue;
    }
    seen.set(identityKey(email), line);
    plan.rows.push({ line, email, ...(name ? { name } : {}), attributes: attributes.attributes });
  }
  return plan;
}
