/**
 * `cdk synth` as an operator runs it, in a child process with every AWS_* variable removed (no credentials, no
 * region, no network needed), then checks the real bundles it produced: ESM, no source maps or metafile, only the
 * templates each function reads, byte-identical to what infra/bundle-function.ts builds (so the bundle tests and
 * the benchmark measure what ships), and the worker under 500 KB without mjml (issue 5).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, type HandlerName } from '../../infra/bundling.ts';
import { bundleFunction, bundledInputs, type BuiltFunction } from '../../infra/bundle-function.ts';
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

const HANDLER: Record<FunctionId, HandlerName> = {
  Subscribers: 'subscribers',
  Archive: 'archive',
  Send: 'send',
  Worker: 'worker',
  SesEvents: 'ses-events',
};

type Template = { Resources: Record<string, { Type: string; Properties: Record<string, any> }> };

let outdir: string;
let stateless: Template;
const rebuilt = {} as Record<FunctionId, BuiltFunction>;

/** The function's CloudFormation resource. */
function functionResource(id: FunctionId) {
  return Object.entries(stateless.Resources).find(
    ([k, r]) => r.Type === 'AWS::Lambda::Function' && new RegExp(`^${id}[0-9A-F]{8}$`).test(k),
  )![1];
}

/** The asset directory of one function's code, found through its S3 key (`<asset hash>.zip`). */
function assetDir(id: FunctionId): string {
  const key = JSON.stringify(functionResource(id).Properties.Code.S3Key);
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
  for (const id of FUNCTION_IDS) rebuilt[id] = await bundleFunction(HANDLER[id], path.join(outdir, 'rebuilt', id));
}, 400_000);

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

  it('bundles every function as a minified ES module, with no source map and no metafile', () => {
    for (const id of FUNCTION_IDS) {
      const dir = assetDir(id);
      const code = readFileSync(path.join(dir, 'index.mjs'), 'utf8');
      // Booleans and short extracts only: a failing match on a whole bundle would print megabytes.
      expect(readdirSync(dir).filter((f) => f !== 'templates'), id).toEqual(['index.mjs']);
      expect(code.includes('//# sourceMappingURL'), `${id} points at a source map`).toBe(false);
      expect(/export\s*\{[^}]*as handler\s*\}/.test(code), `${id} exports handler as ESM`).toBe(true);
      // Minified: the handler factory's name is gone (renamed), only the `handler` export keeps its name.
      expect(code.includes(FACTORY[id]), `${id} still names ${FACTORY[id]}`).toBe(false);
      // No source maps, so no NODE_OPTIONS=--enable-source-maps (it would only cost init time).
      expect(functionResource(id).Properties.Environment?.Variables?.NODE_OPTIONS, id).toBeUndefined();
    }
  });

  it('is byte for byte what infra/bundle-function.ts builds (what the bundle tests and the benchmark measure)', () => {
    for (const id of FUNCTION_IDS) {
      const shipped = readFileSync(path.join(assetDir(id), 'index.mjs'));
      expect(shipped.equals(readFileSync(rebuilt[id].file)), id).toBe(true);
    }
  });

  it('copies only the template folders a function reads, and sets TEMPLATES_DIR only there', () => {
    const folders = (id: FunctionId) => {
      const templates = path.join(assetDir(id), 'templates');
      return existsSync(templates) ? readdirSync(templates).sort() : [];
    };
    // The subscribers function's emails are precompiled: its pages only, no MJML source.
    expect(folders('Subscribers')).toEqual(['pages']);
    expect(folders('Archive')).toEqual(['archive', 'pages']);
    // Send renders with the email templates bundled as modules: it ships none.
    for (const id of ['Send', 'Worker', 'SesEvents'] as const) expect(folders(id), id).toEqual([]);
    for (const id of FUNCTION_IDS) {
      const dir = functionResource(id).Properties.Environment?.Variables?.TEMPLATES_DIR;
      expect(dir, id).toBe(folders(id).length ? '/var/task/templates' : undefined);
    }
    expect(readdirSync(path.join(assetDir('Subscribers'), 'templates'), { recursive: true }).some((f) => String(f).endsWith('.mjml'))).toBe(false);
  });

  it('the worker bundle has no mjml and stays under 500 KB', () => {
    const code = readFileSync(path.join(assetDir('Worker'), 'index.mjs'), 'utf8');
    const inputs = bundledInputs(rebuilt.Worker.metafile);
    expect(inputs.length).toBeGreaterThan(0);
    expect(inputs.filter((i) => /mjml|handlebars|markdown-it/.test(i))).toEqual([]);
    expect(/mjml/i.test(code), 'worker bundle mentions mjml').toBe(false);
    expect(Buffer.byteLength(code)).toBeLessThan(WORKER_BUDGET_BYTES);
  });

  it('bundles the AWS SDK (pinned by package-lock.json, faster cold start), and only the clients each function uses', () => {
    const clients = (id: FunctionId) =>
      [...new Set(bundledInputs(rebuilt[id].metafile).map((i) => i.match(/node_modules\/@aws-sdk\/(client-[a-z0-9-]+)\//)?.[1]).filter(Boolean))].sort();
    for (const id of FUNCTION_IDS) {
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
