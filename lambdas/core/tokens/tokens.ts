/**
 * Signed, purpose-bound tokens for confirm and unsubscribe links.
 *
 * Format: `v1.<keyId>.<payload>.<signature>` where `payload` is base64url JSON `{p, e, iat, exp?}` and
 * `signature` is base64url HMAC-SHA256 over `v1.<keyId>.<payload>` with the key named `keyId`.
 * The key id travels in the token so that a rotation keeps verifying links signed with the previous key.
 * Pure: the keys and the clock are injected; node:crypto is the only import.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { TokenKeys } from '../ports.ts';

export type TokenPurpose = 'confirm' | 'unsubscribe';

/** What a valid token proves. Times are epoch seconds. */
export interface TokenClaims {
  purpose: TokenPurpose;
  email: string;
  issuedAt: number;
  /** Absent for long-lived tokens (unsubscribe). */
  expiresAt?: number;
}

export type TokenCheck =
  | { ok: true; claims: TokenClaims }
  | { ok: false; reason: 'malformed' | 'too-long' | 'unknown-key' | 'bad-signature' | 'wrong-purpose' | 'expired' };

/** Confirm links live 7 days, like the pending record they confirm. */
export const CONFIRM_TOKEN_TTL_SECONDS = 7 * 24 * 60 * 60;
/** Anything longer is refused before any decoding or hashing work. */
export const MAX_TOKEN_LENGTH = 1024;

const VERSION = 'v1';
const KEY_ID = /^[A-Za-z0-9_-]{1,32}$/;
const B64URL = /^[A-Za-z0-9_-]+$/;

function hmac(secret: string, data: string): Buffer {
  return createHmac('sha256', secret).update(data).digest();
}

function defaultTtl(purpose: TokenPurpose): number | undefined {
  return purpose === 'confirm' ? CONFIRM_TOKEN_TTL_SECONDS : undefined;
}

/**
 * Sign a token with `keys.current`.
 * Defaults: confirm tokens expire after {@link CONFIRM_TOKEN_TTL_SECONDS}; unsubscribe tokens never expire
 * (RFC 8058 links must keep working in old emails). Pass `ttlSeconds` to override.
 * Throws when `keys.current` names no key (a configuration fault, not user input).
 */
export function signToken(
  input: { purpose: TokenPurpose; email: string; ttlSeconds?: number },
  keys: TokenKeys,
  now: Date,
): string {
  const secret = keys.keys[keys.current];
  if (!secret || !KEY_ID.test(keys.current)) throw new Error(`Token key "${keys.current}" is not configured`);
  const iat = Math.floor(now.getTime() / 1000);
  const ttl = input.ttlSeconds ?? defaultTtl(input.purpose);
  const claims = { p: input.purpose, e: input.email, iat, ...(ttl === undefined ? {} : { exp: iat + ttl }) };
  const payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
  const signed = `${VERSION}.${keys.current}.${payload}`;
  return `${signed}.${hmac(secret, signed).toString('base64url')}`;
}

/**
 * Verify a token for one purpose. Never throws on bad input: every failure is a value with a reason.
 * Order matters: shape and length first, then the signature (constant-time), and only then the claims,
 * so that unsigned data is never interpreted.
 */
export function verifyToken(token: unknown, purpose: TokenPurpose, keys: TokenKeys, now: Date): TokenCheck {
  if (typeof token !== 'string' || token.length === 0) return { ok: false, reason: 'malformed' };
  if (token.length > MAX_TOKEN_LENGTH) return { ok: false, reason: 'too-long' };
  const parts = token.split('.');
  if (parts.length !== 4) return { ok: false, reason: 'malformed' };
  const [version, keyId, payload, signature] = parts as [string, string, string, string];
  if (version !== VERSION || !KEY_ID.test(keyId) || !B64URL.test(payload) || !B64URL.test(signature)) {
    return { ok: false, reason: 'malformed' };
  }
  const secret = Object.hasOwn(keys.keys, keyId) ? keys.keys[keyId] : undefined;
  if (!secret) return { ok: false, reason: 'unknown-key' };
  const expected = hmac(secret, `${version}.${keyId}.${payload}`);
  const given = Buffer.from(signature, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return { ok: false, reason: 'bad-signature' };
  }
  const claims = parseClaims(payload);
  if (!claims) return { ok: false, reason: 'malformed' };
  if (claims.purpose !== purpose) return { ok: false, reason: 'wrong-purpose' };
  if (claims.expiresAt !== undefined && Math.floor(now.getTime() / 1000) >= claims.expiresAt) {
    return { ok: false, reason: 'expired' };
  }
  return { ok: true, claims };
}

function parseClaims(payload: string): TokenClaims | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof raw !== 'object' || raw === null) return undefined;
  const { p, e, iat, exp } = raw as Record<string, unknown>;
  if ((p !== 'confirm' && p !== 'unsubscribe') || typeof e !== 'string' || typeof iat !== 'number') return undefined;
  if (exp !== undefined && typeof exp !== 'number') return undefined;
  return { purpose: p, email: e, issuedAt: iat, ...(exp === undefined ? {} : { expiresAt: exp }) };
}
