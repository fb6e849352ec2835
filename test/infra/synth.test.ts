/**
 * `cdk synth` as an operator runs it, in a child process with every AWS_* variable removed (no credentials, no
 * region, no network needed), then checks the real bundles it produced: ESM with source maps, templates copied
 * where pages are rendered, and the worker under 500 KB without mjml (issue 5).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../infra/bundling.ts';
import { FULL_CONTEXT, FUNCTION_IDS, type FunctionId } from './support.ts';

const run = promisify(execFile);
const WORKER_BUDGET_BYTES = 500 * 1024;

/** The environment without AWS configuration or CDK's account/region hints. */
function offlineEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('AWS_') && !k.startsWith('CDK_DEFAULT_')),
  );
}

/** The function each handler entry calls to build `handler` (a local name, so minification renames it). */
const FACTORY: Record<FunctionId, string> = {
  Subscribers: 'buildSubscribersHandler',
  Archive: 'createArchiveHandler',
  Send: 'createSendHandler',
  Worker: 'createWorkerHandler',
  SesEvents: 'createSesEventsHandler',
};

type Template = { Resources: Record<string, { Type: string; Properties: Record<string, any> }> };

let outdir: string;
let stateless: Template;

/** The asset directory of one function's code, found through its S3 key (`<asset hash>.zip`). */
function assetDir(id: FunctionId): string {
  const [, fn] = Object.entries(stateless.Resources).find(
    ([k, r]) => r.Type === 'AWS::Lambda::Function' && new RegExp(`^${id}[0-9A-F]{8}$`).test(k),
  )!;
  const key = JSON.stringify(fn.Properties.Code.S3Key);
  const hash = /"([0-9a-f]{64})\.zip"/.exec(key)?.[1];
  expect(hash, `${id} code key ${key}`).toBeDefined();
  return path.join(outdir, `asset.${hash}`);
}

beforeAll(async () => {
  outdir = mkdtempSync(path.join(tmpdir(), 'cdk-synth-'));
  const context = Object.entries(FULL_CONTEXT).flatMap(([k, v]) => ['-c', `${k}=${v}`]);
  await run(path.join(REPO_ROOT, 'node_modules', '.bin', 'cdk'), ['synth', '--quiet', '--no-notices', '-o', outdir, ...context], {
    cwd: REPO_ROOT,
    env: offlineEnv(),
    maxBuffer: 64 * 1024 * 1024,
    timeout: 280_000,
  });
  stateless = JSON.parse(readFileSync(path.join(outdir, 'Newsletter-Stateless.template.json'), 'utf8'));
}, 300_000);

afterAll(() => {
  if (outdir) rmSync(outdir, { recursive: true, force: true });
});

describe('cdk synth with AWS variables unset', () => {
  it('synthesizes both stacks, environment-agnostic (no account, no region, no lookups)', () => {
    const manifest = JSON.parse(readFileSync(path.join(outdir, 'manifest.json'), 'utf8'));
    const stacks = Object.entries(manifest.artifacts as Record<string, { type: string; environment: string }>).filter(
      ([, a]) => a.type === 'aws:cloudformation:stack',
    );
    expect(stacks.map(([name]) => name).sort()).toEqual(['Newsletter-Stateful', 'Newsletter-Stateless']);
    for (const [, a] of stacks) expect(a.environment).toBe('aws://unknown-account/unknown-region');
    expect(existsSync(path.join(outdir, 'cdk.context.json'))).toBe(false);
  });

  it('bundles every function as a minified ES module with a linked source map', () => {
    for (const id of FUNCTION_IDS) {
      const dir = assetDir(id);
      const code = readFileSync(path.join(dir, 'index.mjs'), 'utf8');
      // Booleans and short extracts only: a failing match on a whole bundle would print megabytes.
      expect(existsSync(path.join(dir, 'index.mjs.map')), id).toBe(true);
      expect(code.trimEnd().split('\n').at(-1), id).toBe('//# sourceMappingURL=index.mjs.map');
      expect(/export\s*\{[^}]*as handler\s*\}/.test(code), `${id} exports handler as ESM`).toBe(true);
      // Minified: the handler factory's name is gone (renamed), only the `handler` export keeps its name.
      expect(code.includes(FACTORY[id]), `${id} still names ${FACTORY[id]}`).toBe(false);
    }
  });

  it('copies templates/ into the functions that render pages, and only those', () => {
    for (const id of ['Subscribers', 'Archive', 'Send'] as const) {
      const templates = path.join(assetDir(id), 'templates');
      expect(statSync(templates).isDirectory(), id).toBe(true);
      expect(readdirSync(templates, { recursive: true }).some((f) => String(f).endsWith('.mjml')), id).toBe(true);
    }
    for (const id of ['Worker', 'SesEvents'] as const) expect(existsSync(path.join(assetDir(id), 'templates')), id).toBe(false);
  });

  it('the worker bundle has no mjml and stays under 500 KB', () => {
    const dir = assetDir('Worker');
    const code = readFileSync(path.join(dir, 'index.mjs'), 'utf8');
    const meta = JSON.parse(readFileSync(path.join(dir, 'index.meta.json'), 'utf8')) as { outputs: Record<string, { inputs: object }> };
    const inputs = Object.values(meta.outputs).flatMap((o) => Object.keys(o.inputs));
    expect(inputs.length).toBeGreaterThan(0);
    expect(inputs.filter((i) => /mjml|handlebars|markdown-it/.test(i))).toEqual([]);
    expect(/mjml/i.test(code), 'worker bundle mentions mjml').toBe(false);
    expect(Buffer.byteLength(code)).toBeLessThan(WORKER_BUDGET_BYTES);
  });

  it('bundles the AWS SDK (pinned by package-lock.json, faster cold start), and only the clients each function uses', () => {
    const inputsOf = (id: FunctionId) => {
      const meta = JSON.parse(readFileSync(path.join(assetDir(id), 'index.meta.json'), 'utf8')) as { outputs: Record<string, { inputs: object }> };
      return Object.values(meta.outputs).flatMap((o) => Object.keys(o.inputs));
    };
    const clients = (id: FunctionId) => [...new Set(inputsOf(id).map((i) => i.match(/node_modules\/@aws-sdk\/(client-[a-z0-9-]+)\//)?.[1]).filter(Boolean))].sort();
    for (const id of ['Subscribers', 'Archive', 'Send', 'Worker', 'SesEvents'] as const) {
      const code = readFileSync(path.join(assetDir(id), 'index.mjs'), 'utf8');
      expect(/from\s*"@aws-sdk\//.test(code), `${id} imports the SDK from the runtime`).toBe(false);
    }
    // The worker reads rendered issues from the table: no S3 client in its bundle or its cold start.
    expect(clients('Worker')).toEqual(['client-dynamodb', 'client-secrets-manager', 'client-sesv2']);
    expect(clients('Archive')).toEqual(['client-dynamodb']);
    expect(clients('Send')).toEqual(['client-dynamodb', 'client-s3', 'client-secrets-manager', 'client-sesv2', 'client-sqs']);
  });
});

describe('bad deployment settings', () => {
  it('fail the app with one line per problem and exit 1, no stack trace', async () => {
    const badOut = mkdtempSync(path.join(tmpdir(), 'cdk-bad-'));
    const err = await run(path.join(REPO_ROOT, 'node_modules', '.bin', 'tsx'), ['infra/app.ts'], {
      cwd: REPO_ROOT,
      // How the CDK CLI hands context and the output directory to the app.
      env: { ...offlineEnv(), CDK_CONTEXT_JSON: JSON.stringify({ sendRate: 'fast' }), CDK_OUTDIR: badOut },
      timeout: 120_000,
    }).then(
      () => undefined,
      (e: { code: number; stderr: string }) => e,
    );
    rmSync(badOut, { recursive: true, force: true });
    expect(err?.code).toBe(1);
    expect(err?.stderr).toContain('-c sender: is required');
    expect(err?.stderr).toContain('-c postalAddress: is required');
    expect(err?.stderr).toMatch(/-c sendRate: /);
    expect(err?.stderr).not.toMatch(/^\s+at /m);
  }, 120_000);
});
