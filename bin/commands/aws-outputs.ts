/**
 * Where the CLI's `--aws` paths find the deployed resources: the stack outputs `cdk deploy --outputs-file
 * cdk-outputs.json` writes (or the file named by CDK_OUTPUTS_FILE), falling back to environment variables, so an
 * operator copies no names by hand. Kept light (node:fs only): every --aws command imports it.
 */
import { readFile } from 'node:fs/promises';
import { CliError, EXIT } from './common.ts';

export interface AwsStackOutputs {
  tableName: string;
  sendFunctionName: string;
  sendFunctionArn?: string;
  bucketName?: string;
  scheduleRoleArn?: string;
  scheduleGroupName?: string;
  publicBaseUrl?: string;
  /** What the CLI needs to send confirmation emails itself (`subscribers import --aws`). */
  tokenSecretArn?: string;
  sender?: string;
  configurationSetName?: string;
  /** The region the stacks are deployed in, read from an ARN or URL among the outputs; undefined when none says. */
  region?: string;
}

export type OutputName = Exclude<keyof AwsStackOutputs, 'region'>;

/** CloudFormation output key (infra/stateful-stack.ts, infra/stateless-stack.ts) and environment fallback of each value. */
export const OUTPUT_SOURCES: Record<OutputName, { output: string; env: string }> = {
  tableName: { output: 'TableName', env: 'TABLE_NAME' },
  sendFunctionName: { output: 'SendFunctionName', env: 'SEND_FUNCTION_NAME' },
  sendFunctionArn: { output: 'SendFunctionArn', env: 'SEND_FUNCTION_ARN' },
  bucketName: { output: 'IssueBucketName', env: 'BUCKET_NAME' },
  scheduleRoleArn: { output: 'ScheduleRoleArn', env: 'SCHEDULE_ROLE_ARN' },
  scheduleGroupName: { output: 'ScheduleGroupName', env: 'SCHEDULE_GROUP_NAME' },
  publicBaseUrl: { output: 'PublicBaseUrl', env: 'PUBLIC_BASE_URL' },
  tokenSecretArn: { output: 'TokenSecretArn', env: 'TOKEN_SECRET_ARN' },
  sender: { output: 'Sender', env: 'SENDER' },
  configurationSetName: { output: 'ConfigurationSetName', env: 'CONFIGURATION_SET' },
};

/** Read when CDK_OUTPUTS_FILE is unset, relative to the working directory; its absence is not an error. */
export const DEFAULT_OUTPUTS_FILE = 'cdk-outputs.json';
/** The two stacks of one deployment are `<prefix>-Stateful` and `<prefix>-Stateless` (infra/newsletter-app.ts). */
const STACK_NAME = /^(.+)-(Stateful|Stateless)$/;
const HINT = `deploy with \`npx cdk deploy --all --outputs-file ${DEFAULT_OUTPUTS_FILE}\` or set CDK_OUTPUTS_FILE`;

type Env = Record<string, string | undefined>;

/**
 * Every value found, without requiring any: the outputs file first, then the environment for what it lacks.
 * Throws CliError (exit 2) only when a file is unreadable or malformed, when CDK_OUTPUTS_FILE names a missing file,
 * or when the file holds several deployments and NEWSLETTER_STACK_PREFIX does not pick one.
 */
export async function readStackOutputs(env: Env = process.env): Promise<Partial<AwsStackOutputs>> {
  const fromFile = await outputsFromFile(env);
  const found: Partial<AwsStackOutputs> = {};
  for (const [name, source] of Object.entries(OUTPUT_SOURCES) as Array<[OutputName, { output: string; env: string }]>) {
    const value = fromFile.values[source.output] || env[source.env]?.trim();
    if (value) found[name] = value;
  }
  const region = fromFile.region ?? regionOf(found.sendFunctionArn ?? '');
  if (region) found.region = region;
  return found;
}

/** The outputs every `--aws` command needs (the table and the send function); CliError (exit 2) naming what is missing. */
export async function awsStackOutputs(env: Env = process.env): Promise<AwsStackOutputs> {
  return requireOutputs(await readStackOutputs(env), ['tableName', 'sendFunctionName']);
}

/** Narrow `found` to one with `names` present, or throw CliError (exit 2) naming each missing output and its variable. */
export function requireOutputs<K extends OutputName>(
  found: Partial<AwsStackOutputs>,
  names: readonly K[],
): Partial<AwsStackOutputs> & Required<Pick<AwsStackOutputs, K>> {
  const missing = names.filter((n) => !found[n]);
  if (missing.length > 0) {
    const list = missing.map((n) => `${OUTPUT_SOURCES[n].output} (or ${OUTPUT_SOURCES[n].env})`).join(', ');
    throw new CliError(`--aws needs the stack output${missing.length > 1 ? 's' : ''} ${list}: ${HINT}`, EXIT.BAD_INPUT);
  }
  return found as Partial<AwsStackOutputs> & Required<Pick<AwsStackOutputs, K>>;
}

/** The region in an ARN (`arn:aws:lambda:eu-west-1:…`) or an API Gateway URL; undefined for global ARNs (IAM). */
export function regionOf(value: string): string | undefined {
  return (
    /^arn:aws[a-z-]*:[a-z0-9-]+:([a-z]{2}(?:-[a-z]+)+-\d+):/.exec(value)?.[1] ??
    /^https:\/\/[^/]+\.execute-api\.([a-z]{2}(?:-[a-z]+)+-\d+)\.amazonaws\.com/.exec(value)?.[1]
  );
}

async function outputsFromFile(env: Env): Promise<{ values: Record<string, string>; region?: string }> {
  const explicit = env.CDK_OUTPUTS_FILE?.trim();
  const file = explicit || DEFAULT_OUTPUTS_FILE;
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' && !explicit) return { values: {} };
    throw new CliError(`cannot read the stack outputs ${file} (CDK_OUTPUTS_FILE): ${(err as Error).message}`, EXIT.BAD_INPUT);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new CliError(`${file} is not the JSON \`cdk deploy --outputs-file\` writes: ${HINT}`, EXIT.BAD_INPUT);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new CliError(`${file} is not the JSON \`cdk deploy --outputs-file\` writes: ${HINT}`, EXIT.BAD_INPUT);
  }
  // Group the newsletter stacks by deployment prefix; other stacks in the same file are ignored.
  const byPrefix = new Map<string, Record<string, string>>();
  for (const [stack, outputs] of Object.entries(parsed as Record<string, unknown>)) {
    const prefix = STACK_NAME.exec(stack)?.[1];
    if (!prefix || !outputs || typeof outputs !== 'object') continue;
    const values = byPrefix.get(prefix) ?? {};
    for (const [key, value] of Object.entries(outputs as Record<string, unknown>)) {
      if (typeof value === 'string') values[key] = value;
    }
    byPrefix.set(prefix, values);
  }
  const wanted = env.NEWSLETTER_STACK_PREFIX?.trim();
  if (wanted && !byPrefix.has(wanted)) {
    throw new CliError(`${file} has no ${wanted}-Stateful or ${wanted}-Stateless stack (NEWSLETTER_STACK_PREFIX)`, EXIT.BAD_INPUT);
  }
  if (!wanted && byPrefix.size > 1) {
    const prefixes = [...byPrefix.keys()].join(', ');
    throw new CliError(`${file} holds several deployments (${prefixes}): set NEWSLETTER_STACK_PREFIX to one of them`, EXIT.BAD_INPUT);
  }
  const values = (wanted ? byPrefix.get(wanted) : [...byPrefix.values()][0]) ?? {};
  const region = Object.values(values).map(regionOf).find(Boolean);
  return region ? { values, region } : { values };
}
