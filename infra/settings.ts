/**
 * Deployment settings, read once from CDK context (`-c key=value` or cdk.json) and validated with zod, so a bad
 * value fails `cdk synth` with one message listing every problem instead of a half-built template.
 */
import { z } from 'zod';

/** Context keys the app reads; `-c <key>=<value>` on the command line. */
export const CONTEXT_KEYS = [
  'sender',
  'domain',
  'postalAddress',
  'sendRate',
  'sendRateFraction',
  'allowedOrigin',
  'apiRateLimit',
  'apiBurstLimit',
  'alarmEmail',
  'stackPrefix',
] as const;
export type ContextKey = (typeof CONTEXT_KEYS)[number];

// A bare addr-spec is enough here: SES verifies the identity, we only need its domain for ARNs and the check below.
const ADDR = /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)$/;
const HOSTNAME = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;

/** Split `Name <addr>` or `addr` into its parts; undefined when it is neither. */
export function parseSender(sender: string): { display: string; email: string; domain: string } | undefined {
  const trimmed = sender.trim();
  const angle = /^(.*)<([^<>]+)>$/.exec(trimmed);
  const email = (angle ? angle[2]! : trimmed).trim();
  const match = ADDR.exec(email);
  if (!match || /[\r\n]/.test(trimmed)) return undefined;
  return { display: trimmed, email, domain: match[1]!.toLowerCase() };
}

const optionalString = z
  .string()
  .trim()
  .transform((s) => (s === '' ? undefined : s))
  .optional();

const number = (min: number, max: number) => z.coerce.number().finite().min(min).max(max);

const schema = z
  .object({
    sender: z
      .string({ error: 'is required, e.g. -c sender="Akira\'s ML News <news@example.com>"' })
      .refine((s) => parseSender(s) !== undefined, 'must be an email address or "Name <address>"'),
    domain: optionalString.pipe(
      z
        .string()
        .transform((d) => d.toLowerCase())
        .refine((d) => HOSTNAME.test(d), 'must be a bare domain name such as example.com')
        .optional(),
    ),
    postalAddress: z
      .string({ error: 'is required (printed in every email footer, CAN-SPAM), e.g. -c postalAddress="1 Main St, Springfield"' })
      .trim()
      .min(5, 'is too short to be a postal address'),
    // The SES account's MaxSendRate (emails/s). When omitted, workers read it with ses:GetAccount at run time and
    // the worker concurrency is sized for SES's production default of 14/s.
    sendRate: number(1, 5000).optional(),
    sendRateFraction: number(0.01, 1).default(0.8),
    allowedOrigin: optionalString.pipe(
      z
        .string()
        .refine((o) => {
          try {
            const u = new URL(o);
            return (u.protocol === 'https:' || u.hostname === 'localhost') && u.origin === o;
          } catch {
            return false;
          }
        }, 'must be an origin such as https://example.com (scheme and host, no path or trailing slash)')
        .optional(),
    ),
    apiRateLimit: number(1, 10_000).default(10),
    apiBurstLimit: z.coerce.number().int().min(1).max(5_000).default(20),
    alarmEmail: optionalString.pipe(
      z
        .string()
        .refine((e) => ADDR.test(e), 'must be an email address')
        .optional(),
    ),
    stackPrefix: z
      .string()
      .regex(/^[A-Za-z][A-Za-z0-9-]{0,19}$/, 'must start with a letter and use up to 20 letters, digits and dashes')
      .default('Newsletter'),
  })
  .superRefine((s, ctx) => {
    const sender = parseSender(s.sender);
    if (s.domain && sender && sender.domain !== s.domain && !sender.domain.endsWith(`.${s.domain}`)) {
      ctx.addIssue({
        code: 'custom',
        path: ['sender'],
        message: `address domain ${sender.domain} is not ${s.domain}: SES can only send from the verified domain`,
      });
    }
    if (s.apiBurstLimit < s.apiRateLimit) {
      ctx.addIssue({ code: 'custom', path: ['apiBurstLimit'], message: 'must be at least apiRateLimit' });
    }
  });

/** Validated settings, plus the parsed sender. */
export type Settings = z.infer<typeof schema> & { senderEmail: string; senderDomain: string };

export class SettingsError extends Error {
  override name = 'SettingsError';
}

/**
 * Validate raw context values. Throws one SettingsError naming every bad or missing key.
 * @param read returns the raw context value for a key (string from `-c`, or any JSON value from cdk.json).
 */
export function parseSettings(read: (key: ContextKey) => unknown): Settings {
  const raw: Record<string, unknown> = {};
  for (const key of CONTEXT_KEYS) {
    const value = read(key);
    if (value !== undefined && value !== null) raw[key] = typeof value === 'number' ? value : String(value);
  }
  const result = schema.safeParse(raw);
  if (!result.success) {
    const problems = result.error.issues.map((i) => `  -c ${i.path.join('.') || '(context)'}: ${i.message}`);
    throw new SettingsError(`Invalid deployment settings (CDK context):\n${problems.join('\n')}`);
  }
  const sender = parseSender(result.data.sender)!;
  return { ...result.data, senderEmail: sender.email, senderDomain: sender.domain };
}

/** Emails per SQS message, as the send function enqueues them (issue 4: up to 50 recipients a message). */
export const RECIPIENTS_PER_MESSAGE = 50;
/** The SES production starting quota, used to size workers when sendRate is not given. */
export const DEFAULT_SES_RATE = 14;
/** Worker timeout: long enough to pace a batch, short enough that a stuck record is retried within the hour. */
export const WORKER_TIMEOUT_SECONDS = 300;

/**
 * Memory (MB) of each function as deployed, in one place: infra/stateless-stack.ts sets them and
 * bench/cost-model.ts prices Lambda GB-seconds with them.
 *
 * - send: MJML rendering is CPU-bound, and Lambda's CPU share grows with memory.
 * - worker: only I/O (fill placeholders in already-rendered HTML, SDK calls), and it is billed while it paces
 *   itself to the SES rate, so its memory multiplies idle time: the smallest size that keeps SDK calls brisk.
 * - the others: 512 MB keeps SDK cold starts short on ARM.
 */
export const FUNCTION_MEMORY_MB = { subscribers: 512, archive: 512, send: 1024, worker: 256, sesEvents: 512 } as const;

/**
 * Worker sizing derived from the send rate.
 *
 * - `maxConcurrency = clamp(ceil(rate / 10), 2, 100)`: one worker sends sequentially at roughly 10 emails/s
 *   (an SES v2 SendEmail round trip is ~50-100 ms), so rate/10 workers keep up; 2 is the SQS event source's
 *   minimum, and 100 caps the table and SES fan-in for very large quotas.
 * - `batchSize = clamp(floor(perWorkerRate * timeout / 2 / 50), 1, 10)`: a batch must be sendable at the
 *   per-worker pace within half the timeout (the other half absorbs throttling backoff).
 *
 * `rate` is sendRate x sendRateFraction (the share of the SES quota the pipeline may use).
 */
export function workerSizing(settings: Pick<Settings, 'sendRate' | 'sendRateFraction'>): {
  rate: number;
  maxConcurrency: number;
  batchSize: number;
} {
  const rate = (settings.sendRate ?? DEFAULT_SES_RATE) * settings.sendRateFraction;
  const maxConcurrency = Math.min(100, Math.max(2, Math.ceil(rate / 10)));
  const perWorker = rate / maxConcurrency;
  const batchSize = Math.min(10, Math.max(1, Math.floor((perWorker * WORKER_TIMEOUT_SECONDS) / 2 / RECIPIENTS_PER_MESSAGE)));
  return { rate, maxConcurrency, batchSize };
}

/**
 * SES event types (`detail.eventType`) the EventBridge rule sends to the events function. Bounce and Complaint
 * suppress the subscriber, Reject settles the pair as FAILED, Send reconciles a pair left in doubt. Delivery is
 * published to the bus (issue 5) but not routed: counting it would cost an invocation and a write per email, and
 * nothing reads the count.
 */
export const ROUTED_SES_EVENT_TYPES = ['Bounce', 'Complaint', 'Reject', 'Send'] as const;
