/**
 * Configuration, parsed once from the environment with zod. A missing or malformed variable fails at start-up
 * with one error listing every problem (not one at a time).
 *
 * Each function reads only the variables it needs: call `loadConfig(schema)` with a pick of `configSchema`.
 */
// A namespace import lets esbuild tree-shake zod; `import { z }` kept all its locales (~360 KB in each bundle).
import * as z from 'zod';

const url = z.string().url();

export const configSchema = z.object({
  /** DynamoDB table (single-table design, see lambdas/adapters/dynamodb/table.ts). */
  TABLE_NAME: z.string().min(1),
  /** S3 bucket for rendered issues and the web archive (AWS only). */
  BUCKET_NAME: z.string().min(1),
  /** SQS queue URL for recipient batches (AWS only). */
  QUEUE_URL: url,
  /** From address, e.g. `Akira's ML News <news@example.com>`. */
  SENDER: z.string().min(3),
  /** Public base URL of the HTTP API, used in confirm / unsubscribe / archive links (no trailing slash). */
  PUBLIC_BASE_URL: url.transform((u) => u.replace(/\/+$/, '')),
  /** Sender's postal address, printed in every email footer (CAN-SPAM). */
  POSTAL_ADDRESS: z.string().min(1),
  /** SES configuration set that routes BOUNCE/COMPLAINT/DELIVERY events back to us. */
  CONFIGURATION_SET: z.string().min(1).optional(),
  /** Secrets Manager ARN or name holding the token keys: `{"current":"k1","k1":"…"}` or `{"current":"k2","keys":{…}}`. */
  TOKEN_SECRET_ARN: z.string().min(1),
  /** Fraction of SES MaxSendRate the workers may use. */
  SEND_RATE_FRACTION: z.coerce.number().gt(0).lte(1).default(0.8),
  /** Fixed send rate (emails/second); when set, GetAccount is not consulted. */
  MAX_SEND_RATE: z.coerce.number().positive().optional(),
  /** Allowed CORS origin for the subscribe API, if any. */
  ALLOWED_ORIGIN: z.string().optional(),
});

export type Config = z.infer<typeof configSchema>;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Parse the variables a function needs; throws one ConfigError naming every missing or invalid variable. */
export function loadConfig<S extends z.ZodTypeAny>(schema: S, env: Record<string, string | undefined> = process.env): z.infer<S> {
  const result = schema.safeParse(env);
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new ConfigError(`Invalid configuration: ${problems.join('; ')}`);
  }
  return result.data;
}
