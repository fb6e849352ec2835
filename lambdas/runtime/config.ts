/**
 * Configuration, parsed once from the environment with zod. A missing or malformed variable fails at start-up
 * with one error listing every problem (not one at a time).
 *
 * Each function reads only the variables it needs: call `loadConfig(schema)` with a pick of `configSchema`.
 */
// zod/mini: the same validation with tree-shakable functions instead of methods. Full zod put about 90 KB in each
// bundle, about 13 ms of the worker's cold start; this puts under 15 KB. Its English messages are loaded below.
import * as z from 'zod/mini';
import { en } from 'zod/locales';

z.config(en());

const url = z.url();
/** A whole number > 0 given as a string (environment variables are strings). */
export const positiveInt = z.pipe(z.coerce.number(), z.int().check(z.positive()));

export const configSchema = z.object({
  /** DynamoDB table (single-table design, see lambdas/adapters/dynamodb/table.ts). */
  TABLE_NAME: z.string().check(z.minLength(1)),
  /** S3 bucket where the operator may upload issue Markdown for the send function (`{s3Key}` input; AWS only). */
  BUCKET_NAME: z.string().check(z.minLength(1)),
  /** SQS queue URL for recipient batches (AWS only). */
  QUEUE_URL: url,
  /** From address, e.g. `Akira's ML News <news@example.com>`. */
  SENDER: z.string().check(z.minLength(3)),
  /** Public base URL of the HTTP API, used in confirm / unsubscribe / archive links (no trailing slash). */
  PUBLIC_BASE_URL: z.pipe(url, z.transform((u) => u.replace(/\/+$/, ''))),
  /** Sender's postal address, printed in every email footer (CAN-SPAM). */
  POSTAL_ADDRESS: z.string().check(z.minLength(1)),
  /** SES configuration set that routes BOUNCE/COMPLAINT/DELIVERY events back to us. */
  CONFIGURATION_SET: z.optional(z.string().check(z.minLength(1))),
  /** Secrets Manager ARN or name holding the token keys: `{"current":"k1","k1":"…"}` or `{"current":"k2","keys":{…}}`. */
  TOKEN_SECRET_ARN: z.string().check(z.minLength(1)),
  /** Fraction of SES MaxSendRate the workers may use. */
  SEND_RATE_FRACTION: z._default(z.coerce.number().check(z.gt(0), z.lte(1)), 0.8),
  /** Fixed send rate (emails/second); when set, GetAccount is not consulted. */
  MAX_SEND_RATE: z.optional(z.coerce.number().check(z.positive())),
  /** Allowed CORS origin for the subscribe API, if any. */
  ALLOWED_ORIGIN: z.optional(z.string()),
});

export type Config = z.infer<typeof configSchema>;

/** The part of {@link configSchema} one function reads, e.g. `configFor({ TABLE_NAME: true })`. */
export function configFor<M extends { [K in keyof Config]?: true }>(mask: M & Record<Exclude<keyof M, keyof Config>, never>) {
  return z.pick(configSchema, mask);
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Parse the variables a function needs; throws one ConfigError naming every missing or invalid variable. */
export function loadConfig<S extends z.ZodMiniType>(schema: S, env: Record<string, string | undefined> = process.env): z.infer<S> {
  const result = schema.safeParse(env);
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new ConfigError(`Invalid configuration: ${problems.join('; ')}`);
  }
  return result.data;
}
