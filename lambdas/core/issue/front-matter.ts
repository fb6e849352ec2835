import { parse as parseYaml } from 'yaml';
import type { FrontMatter } from './model.ts';
import { RenderError } from './errors.ts';
import { distance } from './placeholders.ts';

/**
 * Split optional YAML front matter (`---` on the first line, closed by `---` or `...`) from the body.
 * Only the known keys are kept; wrong types are a RenderError so a typo never silently changes the email.
 * Unknown keys (`tittle:`) come back as one message each, for the authoring errors.
 */
export function splitFrontMatter(source: string): { frontMatter: FrontMatter; body: string; unknownKeys: string[] } {
  const text = source.replace(/^\uFEFF/, '');
  const firstBreak = text.indexOf('\n');
  const firstLine = (firstBreak === -1 ? text : text.slice(0, firstBreak)).trimEnd();
  if (firstLine !== '---') return { frontMatter: {}, body: text, unknownKeys: [] };
  const lines = text.split('\n');
  const end = lines.findIndex((line, i) => i > 0 && /^(---|\.\.\.)\s*$/.test(line));
  if (end === -1) return { frontMatter: {}, body: text, unknownKeys: [] };
  let data: unknown;
  try {
    data = parseYaml(lines.slice(1, end).join('\n'));
  } catch (err) {
    throw new RenderError(`front matter is not valid YAML: ${firstLineOf(err)}`);
  }
  return { frontMatter: readFrontMatter(data), body: lines.slice(end + 1).join('\n'), unknownKeys: unknownKeys(data) };
}

const KNOWN_KEYS = ['title', 'subject', 'preheader', 'date', 'number', 'slug', 'lang', 'assetBaseUrl', 'linkBaseUrl'];

/** `front matter key "tittle" is not known (did you mean "title"?); it is ignored`, per unknown key. */
function unknownKeys(data: unknown): string[] {
  if (!data || typeof data !== 'object' || Array.isArray(data)) return [];
  return Object.keys(data)
    .filter((key) => !KNOWN_KEYS.includes(key))
    .map((key) => {
      const close = KNOWN_KEYS.map((k) => ({ k, d: distance(k.toLowerCase(), key.toLowerCase()) })).sort((a, b) => a.d - b.d)[0]!;
      const hint = close.d <= Math.max(2, Math.floor(close.k.length / 3)) ? ` (did you mean "${close.k}"?)` : ` (known keys: ${KNOWN_KEYS.join(', ')})`;
      return `front matter key "${key.slice(0, 40)}" is not known${hint}; it is ignored`;
    });
}

function firstLineOf(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? '';
}

const STRING_KEYS = ['title', 'subject', 'preheader', 'slug', 'lang', 'assetBaseUrl', 'linkBaseUrl'] as const;

function readFrontMatter(data: unknown): FrontMatter {
  if (data === null || data === undefined) return {};
  if (typeof data !== 'object' || Array.isArray(data)) throw new RenderError('front matter must be a YAML mapping');
  const record = data as Record<string, unknown>;
  const out: FrontMatter = {};
  for (const key of STRING_KEYS) {
    const value = record[key];
    if (value === undefined || value === null) continue;
    if (typeof value !== 'string' && typeof value !== 'number') {
      throw new RenderError(`front matter "${key}" must be a string`);
    }
    const text = String(value).trim();
    if (text) out[key] = text;
  }
  const date = record.date;
  if (date instanceof Date && !Number.isNaN(date.getTime())) out.date = date.toISOString().slice(0, 10);
  else if (typeof date === 'string' && date.trim()) out.date = date.trim();
  else if (date !== undefined && date !== null) throw new RenderError('front matter "date" must be a date (YYYY-MM-DD)');
  const number = record.number;
  if (number !== undefined && number !== null) {
    const n = typeof number === 'number' ? number : Number(String(number).trim());
    if (!Number.isInteger(n) || n < 0) throw new RenderError('front matter "number" must be a whole number');
    out.number = n;
  }
  return out;
}
