/**
 * Logs and metrics of the Lambda functions.
 *
 * - {@link logger}: a Powertools Logger (JSON lines in CloudWatch Logs; service name from POWERTOOLS_SERVICE_NAME,
 *   default 'newsletter'; level from POWERTOOLS_LOG_LEVEL). {@link log} is the same behind the handlers' small
 *   logging port (`message`, optional `detail` whose keys become keys of the entry).
 * - {@link createMetrics}: Powertools Metrics in the CloudWatch embedded metric format (EMF), namespace 'Newsletter':
 *   no PutMetricData call and no extra permission, CloudWatch extracts the metrics from the log line.
 *   {@link metricCounts} wraps it as per-invocation counts.
 * - {@link compactLog} and {@link emfCounts}: the same two outputs (the same JSON keys; the same EMF document, one
 *   line per invocation) in a few lines of code, for the worker. Powertools Logger and Metrics add about 31 KB to a
 *   minified bundle, which the worker's 500 KB budget (test/infra/synth.test.ts) does not have room for: its
 *   bundle is about 482 KB without them. Every Powertools object here is created lazily or marked pure, so a
 *   bundle that imports only the compact pair carries no Powertools code.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit, Metrics } from '@aws-lambda-powertools/metrics';

export const SERVICE_NAME = process.env.POWERTOOLS_SERVICE_NAME || 'newsletter';
export const METRICS_NAMESPACE = 'Newsletter';

/**
 * The container's Powertools logger. Entries carry the campaign id in their detail rather than as an appended key,
 * since one invocation handles messages of several campaigns at once.
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

/** The counts the functions publish, one EMF metric each (unit Count). */
export type CountName =
  | 'Sent' | 'Failed' | 'Unknown' | 'Paused' | 'Throttled' | 'Unreachable' | 'Deferred'
  | 'Bounced' | 'Complained' | 'Dropped';

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

/** Where the compact writers put their lines (stdout on Lambda, which CloudWatch Logs collects). */
export type LineSink = (line: string) => void;
const stdout: LineSink = (line) => process.stdout.write(`${line}\n`);

const LEVELS = { DEBUG: 10, INFO: 20, WARN: 30, ERROR: 40, CRITICAL: 50, SILENT: 60 } as const;

/**
 * A {@link DetailLogger} writing the JSON entries Powertools writes (`level`, `message`, `timestamp`, `service`,
 * `xray_trace_id` when tracing is on, then the detail's keys), honouring POWERTOOLS_LOG_LEVEL (default INFO).
 */
export function compactLog(sink: LineSink = stdout, env: Record<string, string | undefined> = process.env): DetailLogger {
  const service = env.POWERTOOLS_SERVICE_NAME || 'newsletter';
  const threshold = LEVELS[(env.POWERTOOLS_LOG_LEVEL ?? env.AWS_LAMBDA_LOG_LEVEL ?? 'INFO').toUpperCase() as keyof typeof LEVELS] ?? LEVELS.INFO;
  const write = (level: 'INFO' | 'WARN' | 'ERROR') => (message: string, detail?: Record<string, unknown>) => {
    if (LEVELS[level] < threshold) return;
    const trace = env._X_AMZN_TRACE_ID?.match(/Root=([^;]+)/)?.[1];
    sink(JSON.stringify({
      level, message, timestamp: new Date().toISOString(), service, ...(trace ? { xray_trace_id: trace } : {}), ...detail,
    }));
  };
  return { info: write('INFO'), warn: write('WARN'), error: write('ERROR') };
}

/**
 * {@link Counts} writing one EMF document per invocation, as Powertools Metrics does: namespace 'Newsletter',
 * dimension `service`, unit Count, only the non-zero counts.
 */
export function emfCounts(sink: LineSink = stdout, service = SERVICE_NAME, now: () => number = Date.now): Counts {
  let values: Partial<Record<CountName, number>> = {};
  return {
    add(name, n) {
      if (n > 0) values[name] = (values[name] ?? 0) + n;
    },
    flush() {
      const names = Object.keys(values) as CountName[];
      if (names.length === 0) return;
      sink(JSON.stringify({
        _aws: {
          Timestamp: now(),
          CloudWatchMetrics: [{
            Namespace: METRICS_NAMESPACE,
            Dimensions: [['service']],
            Metrics: names.map((Name) => ({ Name, Unit: 'Count' })),
          }],
        },
        service,
        ...values,
      }));
      values = {};
    },
  };
}
