/**
 * Deployment settings, read once and validated with zod, so a bad value fails `cdk synth` with one message listing
 * every problem instead of a half-built template. Each key comes from CDK context (`-c key=value`, or cdk.json), else
 * from the git-ignored config file (`newsletter.config.json`; see newsletter.config.example.json), so `cdk deploy`
 * needs no repeated `-c` flags.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';

/** Settings keys: `-c <key>=<value>` on the command line, or `"<key>": value` in the config file. */
export const CONTEXT_KEYS = [
  'sender',
  'domain',
  'postalAddress',
  'sendRate',
  'sendRateFraction',
  'allowedOrigin',
  'apiDomain',
  'certificateArn',
  'hostedZoneId',
  'apiRateLimit',
  'apiBurstLimit',
  'subscribeRateLimit',
  'subscribeBurstLimit',
  'alarmEmail',
  'stackPrefix',
] as const;
export type ContextKey = (typeof CONTEXT_KEYS)[number];

/** Context key naming the config file; default DEFAULT_CONFIG_FILE in the working directory (where cdk.json is). */
export const CONFIG_FILE_CONTEXT_KEY = 'config';
export const DEFAULT_CONFIG_FILE = 'newsletter.config.json';

/**
 * HTTP API throttling defaults (requests/s and burst), and why.
 *
 * - Stage (every route): 100/s, burst 200. Right after a send, mailbox providers POST one-click unsubscribes and
 *   link scanners fetch the unsubscribe and archive links of each delivered email: up to the send rate times ~3
 *   links, i.e. ~35/s for SES's starting 14/s. A 429 there loses an unsubscribe the law requires us to honour, so
 *   the default leaves room for 2x that plus reader traffic. Raise it with sendRate (`apiRateLimit`).
 * - `/subscribe`: 10/s, burst 20. Each POST may send a confirmation email, so it is the abuse-prone route: a low
 *   limit protects SES reputation and cost, and still admits far more sign-ups than a newsletter sees.
 */
export const API_THROTTLE_DEFAULTS = { rate: 100, burst: 200, subscribeRate: 10, subscribeBurst: 20 } as const;

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
      .string({ error: `is required: pass -c sender="Akira's ML News <news@example.com>" or set "sender" in ${DEFAULT_CONFIG_FILE}` })
      .refine((s) => parseSender(s) !== undefined, 'must be an email address or "Name <address>"'),
    domain: optionalString.pipe(
      z
        .string()
        .transform((d) => d.toLowerCase())
        .refine((d) => HOSTNAME.test(d), 'must be a bare domain name such as example.com')
        .optional(),
    ),
    postalAddress: z
      .string({
        error: `is required (printed in every email footer, CAN-SPAM): pass -c postalAddress="1 Main St, Springfield" or set it in ${DEFAULT_CONFIG_FILE}`,
      })
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
    // The API's permanent host name (e.g. news.example.com): links in emails use it, so replacing the stateless
    // stack breaks none of them.
    apiDomain: optionalString.pipe(
      z
        .string()
        .transform((d) => d.toLowerCase())
        .refine((d) => HOSTNAME.test(d), 'must be a host name such as news.example.com (no scheme, no path)')
        .optional(),
    ),
    // An existing ACM certificate for apiDomain, in the deployment region; otherwise the stack requests one.
    certificateArn: optionalString.pipe(
      z
        .string()
        .regex(/^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate\/[A-Za-z0-9-]+$/, 'must be an ACM certificate ARN')
        .optional(),
    ),
    // A Route 53 public hosted zone for `domain`: the certificate validates itself and the API's alias record is
    // created. Without it the DNS records are outputs to create wherever the zone lives.
    hostedZoneId: optionalString.pipe(
      z
        .string()
        .regex(/^Z[A-Z0-9]{1,31}$/, 'must be a Route 53 hosted zone id such as Z0123456789ABCDEFGHIJ')
        .optional(),
    ),
    apiRateLimit: number(1, 10_000).default(API_THROTTLE_DEFAULTS.rate),
    apiBurstLimit: z.coerce.number().int().min(1).max(5_000).default(API_THROTTLE_DEFAULTS.burst),
    subscribeRateLimit: number(1, 10_000).default(API_THROTTLE_DEFAULTS.subscribeRate),
    subscribeBurstLimit: z.coerce.number().int().min(1).max(5_000).default(API_THROTTLE_DEFAULTS.subscribeBurst),
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
    if (s.subscribeBurstLimit < s.subscribeRateLimit) {
      ctx.addIssue({ code: 'custom', path: ['subscribeBurstLimit'], message: 'must be at least subscribeRateLimit' });
    }
    for (const key of ['certificateArn', 'hostedZoneId'] as const) {
      if (s[key] && !s.apiDomain) ctx.addIssue({ code: 'custom', path: [key], message: 'needs apiDomain (the host name it is for)' });
    }
    if (s.hostedZoneId && !s.domain) {
      ctx.addIssue({ code: 'custom', path: ['hostedZoneId'], message: 'needs domain (the zone\'s name)' });
    }
    if (s.apiDomain && s.hostedZoneId && s.domain && s.apiDomain !== s.domain && !s.apiDomain.endsWith(`.${s.domain}`)) {
      ctx.addIssue({ code: 'custom', path: ['apiDomain'], message: `must be in the hosted zone's domain ${s.domain}` });
    }
  });

/** Validated settings, plus the parsed sender. */
export type Settings = z.infer<typeof schema> & { senderEmail: string; senderDomain: string };

export class SettingsError extends Error {
  override name = 'SettingsError';
}

/** Values read from the config file, and its name for error messages. */
export interface ConfigFile {
  path: string;
  values: Readonly<Record<string, unknown>>;
}

/**
 * Read the config file: a JSON object whose keys are CONTEXT_KEYS (keys starting with `//` are comments).
 * Undefined when `file` does not exist and was not asked for explicitly; SettingsError for anything malformed.
 */
export function readConfigFile(file: string, explicit: boolean): ConfigFile | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' && !explicit) return undefined;
    throw new SettingsError(`Cannot read the config file ${file}: ${(err as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new SettingsError(`The config file ${file} is not valid JSON: ${(err as Error).message}`);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new SettingsError(`The config file ${file} must hold one JSON object of settings, see newsletter.config.example.json`);
  }
  const known = new Set<string>(CONTEXT_KEYS);
  const unknown = Object.keys(parsed).filter((k) => !k.startsWith('//') && !known.has(k));
  if (unknown.length > 0) {
    throw new SettingsError(
      `The config file ${file} has unknown key${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} (known: ${CONTEXT_KEYS.join(', ')})`,
    );
  }
  return { path: file, values: parsed as Record<string, unknown> };
}

/**
 * The config file the app reads: `-c config=<path>` (which must exist), else DEFAULT_CONFIG_FILE in `cwd` when present.
 * @param contextValue the raw `config` context value.
 */
export function configFileFor(contextValue: unknown, cwd = process.cwd()): ConfigFile | undefined {
  const named = contextValue === undefined || contextValue === null ? '' : String(contextValue).trim();
  return readConfigFile(path.resolve(cwd, named || DEFAULT_CONFIG_FILE), named !== '');
}

/**
 * Validate raw settings. Throws one SettingsError naming every bad or missing key and where its value came from.
 * @param read returns the raw context value for a key (string from `-c`, or any JSON value from cdk.json); it wins
 *   over the config file.
 * @param file the config file's values, used for keys the context does not set.
 */
export function parseSettings(read: (key: ContextKey) => unknown, file?: ConfigFile): Settings {
  const raw: Record<string, unknown> = {};
  const fromFile = new Set<string>();
  for (const key of CONTEXT_KEYS) {
    let value = read(key);
    if ((value === undefined || value === null) && file && Object.hasOwn(file.values, key)) {
      value = file.values[key];
      fromFile.add(key);
    }
    if (value !== undefined && value !== null) raw[key] = typeof value === 'number' ? value : String(value);
  }
  const result = schema.safeParse(raw);
  if (!result.success) {
    const problems = result.error.issues.map((i) => {
      const key = i.path.join('.') || '(settings)';
      return fromFile.has(key) ? `  ${key} (${path.basename(file!.path)}): ${i.message}` : `  -c ${key}: ${i.message}`;
    });
    throw new SettingsError(`Invalid deployment settings:\n${problems.join('\n')}`);
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
 * SES event types (`detail.eventType`) the EventBridge rule sends to the events function (it matches them by
 * `detail-type`, see SES_DETAIL_TYPES). Bounce and Complaint
 * suppress the subscriber, Reject settles the pair as FAILED, Send reconciles a pair left in doubt. Delivery is
 * published to the bus (issue 5) but not routed: counting it would cost an invocation and a write per email, and
 * nothing reads the count.
 */
export const ROUTED_SES_EVENT_TYPES = ['Bounce', 'Complaint', 'Reject', 'Send'] as const;

/**
 * The EventBridge `detail-type` SES gives each event type on the default bus, as AWS's EventBridge events reference
 * for Amazon SES lists them ("Email Bounced", ...). The rule matches on `source: aws.ses` and these, the documented
 * envelope, rather than on a field inside `detail`.
 */
export const SES_DETAIL_TYPES = {
  Send: 'Email Sent',
  Reject: 'Email Rejected',
  Delivery: 'Email Delivered',
  Bounce: 'Email Bounced',
  Complaint: 'Email Complaint Received',
} as const satisfies Record<string, `Email ${string}`>;

/** The detail-types of ROUTED_SES_EVENT_TYPES. */
export const ROUTED_SES_DETAIL_TYPES: string[] = ROUTED_SES_EVENT_TYPES.map((t) => SES_DETAIL_TYPES[t]);
