/**
 * Email address validation and normalization for subscribe forms and imports.
 *
 * We accept what a mailbox provider hands out, not everything RFC 5322 allows: a bare `local@domain`
 * (no display name, comments, quoted strings or address literals), an ASCII dot-atom local part of at most
 * 64 characters, and a DNS domain with at least one dot. A non-ASCII domain is converted to punycode.
 * Normalization trims spaces and lower-cases the domain; the local part keeps its case for display (RFC 5321
 * says it may be case-sensitive).
 *
 * Identity is the whole address compared case-insensitively ({@link identityKey}): no mailbox provider in use
 * treats `Bob@x.com` and `bob@x.com` as two mailboxes, so they are one subscriber, with one status, one resend
 * window and one delivery per issue. The stored `email` keeps the spelling the subscriber first gave.
 */
import { domainToASCII } from 'node:url';

export type EmailCheck = { ok: true; email: string } | { ok: false; reason: string };

export const MAX_EMAIL_LENGTH = 254;
const MAX_LOCAL_LENGTH = 64;
const MAX_DOMAIN_LENGTH = 253;

// RFC 5322 atext, ASCII only.
const DOT_ATOM = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;
const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
// C0, DEL and C1 controls. Checked before trimming, so a trailing CR LF is refused rather than trimmed away.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const NON_ASCII = /[^\u0000-\u007f]/;

/** Validate and normalize one address. Never throws. */
export function normalizeEmail(raw: unknown): EmailCheck {
  if (typeof raw !== 'string') return { ok: false, reason: 'Enter an email address.' };
  // Cheap bound before any regex work on hostile input.
  if (raw.length > 4 * MAX_EMAIL_LENGTH) return { ok: false, reason: 'The email address is too long.' };
  if (CONTROL.test(raw)) return { ok: false, reason: 'The email address contains control characters.' };
  const value = raw.trim();
  if (value.length === 0) return { ok: false, reason: 'Enter an email address.' };
  if (/[<>]/.test(value)) return { ok: false, reason: 'Enter the address only, without a name or angle brackets.' };
  const at = value.lastIndexOf('@');
  if (at <= 0 || at === value.length - 1) return { ok: false, reason: 'Enter an address like name@example.com.' };
  const local = value.slice(0, at);
  const rawDomain = value.slice(at + 1);
  if (NON_ASCII.test(local)) return { ok: false, reason: 'The part before @ must use ASCII characters only.' };
  if (local.length > MAX_LOCAL_LENGTH) return { ok: false, reason: 'The part before @ is too long.' };
  if (!DOT_ATOM.test(local)) return { ok: false, reason: 'The part before @ contains characters that are not allowed.' };

  const domain = NON_ASCII.test(rawDomain) ? domainToASCII(rawDomain.normalize('NFC')) : rawDomain.toLowerCase();
  if (!domain) return { ok: false, reason: 'The domain is not valid.' };
  if (domain.length > MAX_DOMAIN_LENGTH) return { ok: false, reason: 'The domain is too long.' };
  const labels = domain.split('.');
  if (labels.length < 2) return { ok: false, reason: 'The domain needs a dot, like example.com.' };
  if (!labels.every((l) => LABEL.test(l))) return { ok: false, reason: 'The domain is not valid.' };
  // An all-numeric last label is an IP address or a typo, never a mailbox provider.
  if (/^[0-9]+$/.test(labels[labels.length - 1]!)) return { ok: false, reason: 'The domain is not valid.' };

  const email = `${local}@${domain}`;
  if (email.length > MAX_EMAIL_LENGTH) return { ok: false, reason: 'The email address is too long.' };
  return { ok: true, email };
}

/**
 * The key that identifies a subscriber's mailbox: the (normalized) address lower-cased as a whole. Every lookup,
 * storage key, de-duplication and delivery pair uses it; the spelling shown to people is kept separately.
 * Lower-casing is idempotent and never changes the address's length: normalized addresses are ASCII.
 */
export function identityKey(email: string): string {
  return email.toLowerCase();
}

/** The display name of a sender address: `Akira's ML News <news@example.com>` → `Akira's ML News`. */
export function displayName(sender: string): string {
  const m = /^\s*"?([^"<]*?)"?\s*<[^>]+>\s*$/.exec(sender);
  return m?.[1]?.trim() || 'our newsletter';
}
