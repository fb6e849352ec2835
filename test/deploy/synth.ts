/**
 * `cdk synth` once, as an operator runs it (the CDK CLI in a child process, every AWS_* variable removed, real
 * esbuild bundles), into a temporary directory; then each function's asset folder, handler, timeout, memory,
 * environment and role statements read from the templates.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from '../../infra/bundling.ts';
import { Template } from 'aws-cdk-lib/assertions';
import { functionLogicalId, functionProps, roleStatements, type FunctionId } from '../infra/support.ts';
import { resolve, type CfnTemplate, type Deployment } from './cloudformation.ts';

export { FUNCTION_IDS, type FunctionId } from '../infra/support.ts';

const run = promisify(execFile);

/**
 * A domain (so the stack creates the SES domain identity) and no `sendRate` (so the functions read the account's
 * rate with ses:GetAccount, the path with the most permissions).
 */
export const DEPLOY_CONTEXT: Record<string, string> = {
  sender: "Akira's ML News <news@example.com>",
  domain: 'example.com',
  postalAddress: '1 Main St, Springfield, USA',
  allowedOrigin: 'https://news.example.com',
};

export interface Synthesized {
  outdir: string;
  /** Stack name → template. */
  templates: Record<string, CfnTemplate>;
}

export interface IamStatement {
  Effect: string;
  Action: string | string[];
  Resource: string | string[];
  Condition?: unknown;
}

export interface SynthesizedFunction {
  id: FunctionId;
  logicalId: string;
  assetDir: string;
  handler: string;
  timeoutSeconds: number;
  memoryMb: number;
  /** Environment.Variables with intrinsic functions unresolved (see cloudformation.ts). */
  rawEnvironment: Record<string, unknown>;
  /** Every statement of every policy on the function's role, unresolved. */
  rawStatements: unknown[];
}

/** The environment without AWS configuration or CDK's account/region hints: synthesis needs neither. */
function offlineEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AWS_') && !k.startsWith('CDK_DEFAULT_')));
}

export async function synthesize(context: Record<string, string> = DEPLOY_CONTEXT): Promise<Synthesized> {
  const outdir = mkdtempSync(path.join(tmpdir(), 'cdk-deploy-'));
  const args = Object.entries(context).flatMap(([k, v]) => ['-c', `${k}=${v}`]);
  await run(path.join(REPO_ROOT, 'node_modules', '.bin', 'cdk'), ['synth', '--quiet', '--no-notices', '-o', outdir, ...args], {
    cwd: REPO_ROOT,
    env: offlineEnv(),
    maxBuffer: 64 * 1024 * 1024,
    timeout: 280_000,
  });
  const manifest = JSON.parse(readFileSync(path.join(outdir, 'manifest.json'), 'utf8')) as {
    artifacts: Record<string, { type: string; properties?: { templateFile?: string } }>;
  };
  const templates: Record<string, CfnTemplate> = {};
  for (const [name, a] of Object.entries(manifest.artifacts)) {
    if (a.type === 'aws:cloudformation:stack' && a.properties?.templateFile) {
      templates[name] = JSON.parse(readFileSync(path.join(outdir, a.properties.templateFile), 'utf8'));
    }
  }
  return { outdir, templates };
}

/** The stack holding the functions. */
export function functionStack(s: Synthesized): string {
  const names = Object.keys(s.templates).filter((n) => Object.values(s.templates[n]!.Resources).some((r) => r.Type === 'AWS::Lambda::Function'));
  if (names.length !== 1) throw new Error(`expected one stack with functions, found ${names.join(', ') || 'none'}`);
  return names[0]!;
}

export function synthesizedFunction(s: Synthesized, id: FunctionId): SynthesizedFunction {
  // test/infra's readers (logical id by construct id, role statements inline and attached, no managed policies).
  const template = Template.fromJSON(s.templates[functionStack(s)]!);
  const p = functionProps(template, id);
  const hash = /"([0-9a-f]{64})\.zip"/.exec(JSON.stringify(p.Code?.S3Key))?.[1];
  if (!hash) throw new Error(`${id}: no asset hash in ${JSON.stringify(p.Code)}`);
  return {
    id,
    logicalId: functionLogicalId(template, id),
    assetDir: path.join(s.outdir, `asset.${hash}`),
    handler: String(p.Handler),
    timeoutSeconds: Number(p.Timeout ?? 3),
    memoryMb: Number(p.MemorySize ?? 128),
    rawEnvironment: (p.Environment?.Variables ?? {}) as Record<string, unknown>,
    rawStatements: roleStatements(template, id),
  };
}

/** The function's environment as deployed in the fake account. */
export function resolvedEnvironment(d: Deployment, stack: string, fn: SynthesizedFunction): Record<string, string> {
  const env = resolve(d, stack, fn.rawEnvironment) as Record<string, unknown>;
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, String(v)]));
}

/** The function's role statements as deployed in the fake account. */
export function resolvedStatements(d: Deployment, stack: string, fn: SynthesizedFunction): IamStatement[] {
  return resolve(d, stack, fn.rawStatements) as IamStatement[];
}
