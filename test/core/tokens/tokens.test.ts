import { describe, expect, it } from 'vitest';
import { CONFIRM_TOKEN_TTL_SECONDS, MAX_TOKEN_LENGTH, signToken, verifyToken } from '../../../lambdas/core/tokens/tokens.ts';
import type { TokenKeys } from '../../../lambdas/core/ports.ts';

const NOW = new Date('2026-11-28T10:00:00Z');
const K1: TokenKeys = { current: 'k1', keys: { k1: 'first-secret-0123456789' } };
const ROTATED: TokenKeys = { current: 'k2', keys: { k1: 'first-secret-0123456789', k2: 'second-secret-012345678' } };
const later = (s: number) => new Date(NOW.getTime() + s * 1000);

describe('signToken / verifyToken', () => {
  it('round-trips the purpose and the email', () => {
    const token = signToken({ purpose: 'confirm', email: 'a@example.com' }, K1, NOW);
    expect(verifyToken(token, 'confirm', K1, NOW)).toEqual({
      ok: true,
      claims: { purpose: 'confirm', email: 'a@example.com', issuedAt: NOW.getTime() / 1000, expiresAt: NOW.getTime() / 1000 + CONFIRM_TOKEN_TTL_SECONDS },
    });
  });

  it('binds tokens to their purpose', () => {
    const confirm = signToken({ purpose: 'confirm', email: 'a@example.com' }, K1, NOW);
    const unsub = signToken({ purpose: 'unsubscribe', email: 'a@example.com' }, K1, NOW);
    expect(verifyToken(confirm, 'unsubscribe', K1, NOW)).toEqual({ ok: false, reason: 'wrong-purpose' });
    expect(verifyToken(unsub, 'confirm', K1, NOW)).toEqual({ ok: false, reason: 'wrong-purpose' });
  });

  it('expires confirm tokens after 7 days; unsubscribe tokens do not expire', () => {
    const confirm = signToken({ purpose: 'confirm', email: 'a@example.com' }, K1, NOW);
    expect(verifyToken(confirm, 'confirm', K1, later(CONFIRM_TOKEN_TTL_SECONDS - 1)).ok).toBe(true);
    expect(verifyToken(confirm, 'confirm', K1, later(CONFIRM_TOKEN_TTL_SECONDS))).toEqual({ ok: false, reason: 'expired' });
    const unsub = signToken({ purpose: 'unsubscribe', email: 'a@example.com' }, K1, NOW);
    expect(verifyToken(unsub, 'unsubscribe', K1, later(5 * 365 * 24 * 3600)).ok).toBe(true);
  });

  it('verifies tokens signed with the previous key after a rotation, and signs with the new one', () => {
    const old = signToken({ purpose: 'unsubscribe', email: 'a@example.com' }, K1, NOW);
    expect(verifyToken(old, 'unsubscribe', ROTATED, NOW).ok).toBe(true);
    const fresh = signToken({ purpose: 'unsubscribe', email: 'a@example.com' }, ROTATED, NOW);
    expect(fresh.split('.')[1]).toBe('k2');
    expect(verifyToken(fresh, 'unsubscribe', K1, NOW)).toEqual({ ok: false, reason: 'unknown-key' });
  });

  it('rejects tampering with any part', () => {
    const token = signToken({ purpose: 'unsubscribe', email: 'a@example.com' }, K1, NOW);
    const [v, kid, payload, sig] = token.split('.') as [string, string, string, string];
    const other = Buffer.from(JSON.stringify({ p: 'unsubscribe', e: 'b@example.com', iat: 1 })).toString('base64url');
    expect(verifyToken(`${v}.${kid}.${other}.${sig}`, 'unsubscribe', K1, NOW)).toEqual({ ok: false, reason: 'bad-signature' });
    expect(verifyToken(`${v}.${kid}.${payload}.${sig.slice(0, -1)}${sig.endsWith('A') ? 'B' : 'A'}`, 'unsubscribe', K1, NOW)).toEqual({ ok: false, reason: 'bad-signature' });
    expect(verifyToken(`${v}.${kid}.${payload}.${sig.slice(0, 10)}`, 'unsubscribe', K1, NOW)).toEqual({ ok: false, reason: 'bad-signature' });
    expect(verifyToken(token, 'unsubscribe', { current: 'k1', keys: { k1: 'a-different-secret-000' } }, NOW)).toEqual({ ok: false, reason: 'bad-signature' });
    expect(verifyToken(`v2.${kid}.${payload}.${sig}`, 'unsubscribe', K1, NOW)).toEqual({ ok: false, reason: 'malformed' });
  });

  it('rejects over-long, empty, non-string and malformed tokens without throwing', () => {
    expect(verifyToken('a'.repeat(MAX_TOKEN_LENGTH + 1), 'confirm', K1, NOW)).toEqual({ ok: false, reason: 'too-long' });
    for (const bad of ['', 'abc', 'v1.k1.x', 'v1.k1.a.b.c', 'v1.k 1.a.b', 'v1.__proto__.a.b', 'v1.k1.%%.b', undefined, null, 42, {}]) {
      const r = verifyToken(bad, 'confirm', K1, NOW);
      expect(r.ok, String(bad)).toBe(false);
    }
    // A correctly signed payload that is not our JSON shape is malformed, not accepted.
    const payload = Buffer.from('[1,2]').toString('base64url');
    const forgedWithKey = signToken({ purpose: 'confirm', email: 'x@example.com' }, K1, NOW).split('.');
    expect(verifyToken(`v1.k1.${payload}.${forgedWithKey[3]}`, 'confirm', K1, NOW).ok).toBe(false);
  });

  it('refuses to sign without a configured current key', () => {
    expect(() => signToken({ purpose: 'confirm', email: 'a@example.com' }, { current: 'nope', keys: {} }, NOW)).toThrow(/not configured/);
  });
});
