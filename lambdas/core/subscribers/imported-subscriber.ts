import type { Subscriber } from '../model.ts';
import type { SubscriberRepository } from '../ports.ts';

/** Imported pending records expire like form sign-ups do. */
export const IMPORTED_PENDING_TTL_SECONDS = 7 * 24 * 60 * 60;

/** The record an operator import creates (shared by every repository, so they store the same thing). */
export function importedSubscriber(input: Parameters<SubscriberRepository['importSubscriber']>[0]): Subscriber {
  const nowIso = input.now.toISOString();
  return {
    email: input.email,
    status: input.status,
    createdAt: nowIso,
    updatedAt: nowIso,
    consent: { ...input.consent },
    ...(input.name ? { name: input.name } : {}),
    ...(input.attributes && Object.keys(input.attributes).length > 0 ? { attributes: { ...input.attributes } } : {}),
    ...(input.status === 'confirmed'
      ? { confirmedAt: nowIso }
      : { expiresAt: Math.floor(input.now.getTime() / 1000) + IMPORTED_PENDING_TTL_SECONDS }),
  };
}
