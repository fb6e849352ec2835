/**
 * One subscriber per mailbox: how records of the same identity (case variants written by versions before identity
 * keys, see email.ts `identityKey`) combine. The most restrictive status wins, so merging never sends to someone
 * who left, bounced or complained under any spelling.
 */
import type { Subscriber, SubscriberStatus } from '../model.ts';

/** Higher is more restrictive. `confirmed` outranks `pending`: an open sign-up request withdraws nothing. */
const RESTRICTIVENESS: Record<SubscriberStatus, number> = {
  pending: 0,
  confirmed: 1,
  unsubscribed: 2,
  bounced: 3,
  complained: 4,
};

/** The most restrictive of some statuses (absent ones ignored); undefined when there are none. */
export function strictestStatus(statuses: ReadonlyArray<SubscriberStatus | undefined>): SubscriberStatus | undefined {
  let out: SubscriberStatus | undefined;
  for (const s of statuses) if (s && (out === undefined || RESTRICTIVENESS[s] > RESTRICTIVENESS[out])) out = s;
  return out;
}

/**
 * Merge records of one identity into one: the most restrictive record wins (the earliest created among equals)
 * and keeps its status, timestamps and consent; the spelling shown is the one first given (earliest record);
 * `createdAt` is the earliest, `updatedAt` the latest; a missing name or attribute is taken from the others.
 */
export function mergeIdentityRecords(records: readonly Subscriber[]): Subscriber {
  if (records.length === 0) throw new Error('mergeIdentityRecords needs at least one record');
  const byAge = [...records].sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  const winner = byAge.reduce((best, r) => (RESTRICTIVENESS[r.status] > RESTRICTIVENESS[best.status] ? r : best));
  const merged: Subscriber = structuredClone(winner);
  merged.email = byAge[0]!.email;
  merged.createdAt = byAge[0]!.createdAt;
  merged.updatedAt = byAge.map((r) => r.updatedAt).reduce((a, b) => (b > a ? b : a));
  const name = winner.name ?? byAge.find((r) => r.name)?.name;
  if (name) merged.name = name;
  const attributes = Object.assign({}, ...byAge.map((r) => r.attributes ?? {}), winner.attributes ?? {}) as Record<string, string>;
  if (Object.keys(attributes).length > 0) merged.attributes = attributes;
  if (merged.status !== 'pending') delete merged.expiresAt;
  return merged;
}
