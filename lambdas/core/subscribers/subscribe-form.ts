/**
 * Validation of the subscribe form's fields (from a urlencoded, multipart or JSON body).
 * Field names: `email` (required), `name` (optional), `source` (optional: where the form lives),
 * and the honeypot `website`, which people never see and bots fill in.
 */
import { normalizeEmail } from './email.ts';

export const HONEYPOT_FIELD = 'website';
export const MAX_NAME_LENGTH = 100;
export const MAX_SOURCE_LENGTH = 100;
export const DEFAULT_SOURCE = 'subscribe-form';

export interface SubscribeRequest {
  email: string;
  name?: string;
  source: string;
  /** True when the honeypot was filled: answer as usual, store and send nothing. */
  isBot: boolean;
}

export type SubscribeFormCheck = { ok: true; request: SubscribeRequest } | { ok: false; message: string };

const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** Check an optional free-text field: trimmed, bounded, no control characters. */
function optionalText(value: unknown, label: string, max: number): { ok: true; value?: string } | { ok: false; message: string } {
  if (value === undefined || value === null) return { ok: true };
  if (typeof value !== 'string') return { ok: false, message: `${label} must be text.` };
  const trimmed = value.trim();
  if (CONTROL.test(trimmed)) return { ok: false, message: `${label} contains control characters.` };
  if (trimmed.length > max) return { ok: false, message: `${label} is longer than ${max} characters.` };
  return trimmed ? { ok: true, value: trimmed } : { ok: true };
}

/** Validate the fields of a subscribe request. Never throws. */
export function parseSubscribeForm(fields: Record<string, unknown>): SubscribeFormCheck {
  const honeypot = fields[HONEYPOT_FIELD];
  const isBot = typeof honeypot === 'string' ? honeypot.trim() !== '' : honeypot !== undefined && honeypot !== null;
  const email = normalizeEmail(fields.email);
  if (!email.ok) return { ok: false, message: email.reason };
  const name = optionalText(fields.name, 'The name', MAX_NAME_LENGTH);
  if (!name.ok) return name;
  const source = optionalText(fields.source, 'The source', MAX_SOURCE_LENGTH);
  if (!source.ok) return source;
  return {
    ok: true,
    request: {
      email: email.email,
      ...(name.value ? { name: name.value } : {}),
      source: source.value ?? DEFAULT_SOURCE,
      isBot,
    },
  };
}
