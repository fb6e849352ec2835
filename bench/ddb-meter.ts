/**
 * Counts what a DynamoDB client asks for: calls per command, and read and write capacity units as DynamoDB
 * reports them (`ReturnConsumedCapacity: TOTAL` is added to every request). A write whose condition fails still
 * costs DynamoDB a write unit but returns no ConsumedCapacity, so each one is counted as one write unit.
 * Used by the benchmarks and by the cost-model test, so the model is checked against the code's real calls.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';

const READS = new Set(['GetItemCommand', 'BatchGetItemCommand', 'QueryCommand', 'ScanCommand']);

export interface DynamoMeter {
  /** Calls per SDK command name (`GetItemCommand`, `UpdateItemCommand`, …). */
  calls: Record<string, number>;
  readUnits: number;
  writeUnits: number;
  conditionalFailures: number;
  reset(): void;
  /** A copy of the counters. */
  snapshot(): { calls: Record<string, number>; readUnits: number; writeUnits: number; conditionalFailures: number };
}

type Capacity = { CapacityUnits?: number } | Array<{ CapacityUnits?: number }> | undefined;

function units(c: Capacity): number {
  if (!c) return 0;
  return (Array.isArray(c) ? c : [c]).reduce((sum, x) => sum + (x.CapacityUnits ?? 0), 0);
}

/** Attach a meter to `client` (and so to every DocumentClient built on it). */
export function meterDynamo(client: DynamoDBClient, name = 'benchDynamoMeter'): DynamoMeter {
  const meter: DynamoMeter = {
    calls: {},
    readUnits: 0,
    writeUnits: 0,
    conditionalFailures: 0,
    reset() {
      meter.calls = {};
      meter.readUnits = 0;
      meter.writeUnits = 0;
      meter.conditionalFailures = 0;
    },
    snapshot: () => ({ calls: { ...meter.calls }, readUnits: meter.readUnits, writeUnits: meter.writeUnits, conditionalFailures: meter.conditionalFailures }),
  };
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const command = context.commandName ?? 'unknown';
      meter.calls[command] = (meter.calls[command] ?? 0) + 1;
      (args.input as Record<string, unknown>).ReturnConsumedCapacity = 'TOTAL';
      try {
        const out = await next(args);
        const u = units((out.output as { ConsumedCapacity?: Capacity }).ConsumedCapacity);
        if (READS.has(command)) meter.readUnits += u;
        else meter.writeUnits += u;
        return out;
      } catch (err) {
        if ((err as Error)?.name === 'ConditionalCheckFailedException') {
          meter.conditionalFailures += 1;
          meter.writeUnits += 1;
        }
        throw err;
      }
    },
    { step: 'initialize', name, override: true },
  );
  return meter;
}
