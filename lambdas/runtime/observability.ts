/**
 * Logs and metrics of the Lambda functions, all through Powertools for AWS Lambda (issue 13).
 *
 * - {@link logger}: a Powertools Logger (JSON lines in CloudWatch Logs; service name from POWERTOOLS_SERVICE_NAME,
 *   default 'newsletter'; level from POWERTOOLS_LOG_LEVEL). {@link log} is the same behind the handlers' small
 *   logging port (`message`, optional `detail` whose keys become keys of the entry), and {@link logError} behind
 *   the `(message, err)` port of the HTTP handlers and the subscriber service (the error, its stack and its
 *   `cause` chain under the entry's `error` key).
 * - {@link withLogKeys}: keys (the campaign id) on every entry written while an invocation runs, removed after it.
 * - {@link createMetrics}: Powertools Metrics in the CloudWatch embedded metric format (EMF), namespace 'Newsletter':
 *   no PutMetricData call and no extra permission, CloudWatch extracts the metrics from the log line.
 *   {@link metricCounts} wraps it as per-invocation counts.
 *
 * Powertools Logger and Metrics are about 31 KB of a minified bundle. The worker's 500 KB budget has room for them
 * since the bundles leave out the credential providers Lambda never reaches (infra/bundling.ts BUNDLE_STUBS).
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit, Metrics } from '@aws-lambda-powertools/metrics';

export const SERVICE_NAME = process.env.POWERTOOLS_SERVICE_NAME || 'newsletter';
export const METRICS_NAMESPACE = 'Newsletter';

/**
 * The container's Powertools logger. The worker puts the campaign id in each entry's detail rather than as an
 * appended key, since one invocation handles messages of several campaigns at once; the send function, one
 * campaign per invocation, appends it (see {@link withLogKeys}).
 */
export const logger = /* @__PURE__ */ new Logger({ serviceName: SERVICE_NAME });

/** The logging port of the handlers (core/sending/worker.ts `WorkerLogger`): a message and an optional detail. */
export interface DetailLogger {
  info(message: string, detail?: Record<string, unknown>): void;
  warn(message: string, detail?: Record<string, unknown>): void;
  error(message: string, detail?: Record<string, unknown>): void;
}

/** {@link logger} behind the {@link DetailLogger} port. */
export const log: DetailLogger = {
  info: (message, detail) => (detail ? logger.info(message, detail) : logger.info(message)),
  warn: (message, detail) => (detail ? logger.warn(message, detail) : logger.warn(message)),
  error: (message, detail) => (detail ? logger.error(message, detail) : logger.error(message)),
};

/**
 * {@link logger} behind the `(message, err, detail?)` port of the HTTP handlers and the subscriber service: one
 * ERROR entry with the detail's keys and, under `error`, what was thrown. Powertools formats an Error (name,
 * message, location, stack, its own properties such as the SDK's `$metadata`, and its `cause` chain, each cause
 * formatted the same way); anything else thrown is logged as a string.
 */
export function logError(message: string, err: unknown, detail: Record<string, unknown> = {}): void {
  logger.error(message, { ...detail, error: err instanceof Error ? err : String(err) });
}

/** The part of a Powertools Logger {@link withLogKeys} needs. */
export type KeyedLogger = Pick<Logger, 'appendKeys' | 'removeKeys'>;

/**
 * Run `fn` with a `keys(extra)` function that appends keys to every entry the logger writes from then on; they are
 * removed when `fn` settles, so a warm container's next invocation starts without them.
 */
export async function withLogKeys<T>(fn: (keys: (extra: Record<string, string>) => void) => Promise<T>, target: KeyedLogger = logger): Promise<T> {
  const added = new Set<string>();
  try {
    return await fn((extra) => {
      target.appendKeys(extra);
      for (const key of Object.keys(extra)) added.add(key);
    });
  } finally {
    if (added.size > 0) target.removeKeys([...added]);
  }
}

/** The counts the functions publish, one EMF metric each (unit Count). */
export type CountName =
  | 'Sent' | 'Failed' | 'Unknown' | 'Paused' | 'Throttled' | 'Unreachable' | 'Deferred'
  | 'Bounced' | 'Complained' | 'Dropped' | 'Enqueued';

/** Where a handler adds its counts; `flush` publishes them once per invocation (nothing when all are zero). */
export interface Counts {
  add(name: CountName, n: number): void;
  flush(): void;
}

/** A Powertools Metrics instance for the namespace (one per container). */
export function createMetrics(serviceName = SERVICE_NAME): Metrics {
  return new Metrics({ namespace: METRICS_NAMESPACE, serviceName });
}

/** {@link Counts} over Powertools Metrics: zero counts are not stored, and an invocation with none writes no line. */
export function metricCounts(metrics: Pick<Metrics, 'addMetric' | 'publishStoredMetrics'> = createMetrics()): Counts {
  let stored = 0;
  return {
    add(name, n) {
      if (!(n > 0)) return;
      metrics.addMetric(name, MetricUnit.Count, n);
      stored += 1;
    },
    flush() {
      if (stored === 0) return;
      stored = 0;
      metrics.publishStoredMetrics();
    },
  };
}
