/** Signs the per-recipient `unsubscribe` token (long-lived: RFC 8058 links keep working in old emails). */
import type { Clock, TokenKeys } from '../ports.ts';
import { signToken } from '../tokens/tokens.ts';

export function unsubscribeTokenSigner(keys: TokenKeys | (() => Promise<TokenKeys>), clock: Clock): (email: string) => Promise<string> {
  return async (email) => signToken({ purpose: 'unsubscribe', email }, typeof keys === 'function' ? await keys() : keys, clock.now());
}
