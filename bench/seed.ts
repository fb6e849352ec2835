/**
 * Fast seeding for the benchmarks: confirmed subscribers written with BatchWriteItem (25 items a call, several
 * calls in flight), as the import would store them. The import itself makes one conditional PutItem per address,
 * which is right for an operator and far too slow to set up 100,000 subscribers for a benchmark.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { importedSubscriberItem } from '../lambdas/adapters/dynamodb/dynamodb-subscriber-repository.ts';

/** The address of benchmark subscriber `i`: sortable, so GSI pages come back in a stable order. */
export const benchEmail = (i: number) => `reader${String(i).padStart(7, '0')}@bench.example.com`;

/** The item `DynamoDbSubscriberRepository.importSubscriber` writes for confirmed subscriber `i`. */
function confirmedItem(i: number, now: Date): Record<string, unknown> {
  return importedSubscriberItem({
    email: benchEmail(i),
    status: 'confirmed',
    now,
    consent: { at: now.toISOString(), method: 'import', source: 'bench' },
    ...(i % 3 === 0 ? { name: `Reader ${i}` } : {}),
  });
}

/**
 * Write confirmed subscribers `from` … `to - 1` (see {@link benchEmail}); retries UnprocessedItems.
 * @returns the seconds it took.
 */
export async function seedConfirmed(client: DynamoDBClient, tableName: string, from: number, to: number, inFlight = 8): Promise<number> {
  const t0 = performance.now();
  const now = new Date();
  const doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  let next = from;
  const lane = async () => {
    while (next < to) {
      const start = next;
      next = Math.min(to, next + 25);
      let requests = [];
      for (let i = start; i < next; i++) requests.push({ PutRequest: { Item: confirmedItem(i, now) } });
      while (requests.length > 0) {
        const out = await doc.send(new BatchWriteCommand({ RequestItems: { [tableName]: requests } }));
        requests = (out.UnprocessedItems?.[tableName] ?? []) as typeof requests;
      }
    }
  };
  await Promise.all(Array.from({ length: inFlight }, lane));
  return (performance.now() - t0) / 1000;
}
