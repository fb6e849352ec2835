/**
 * Cold-start benchmark (issue 8, part 6): the worker Lambda's bundle, built with esbuild from the same options the
 * CDK app uses (infra/bundling.ts `bundlingOptions`, translated to the esbuild API the way NodejsFunction does), and
 * its module-initialization time: `import()` of the bundle in a fresh Node process, median of several spawns.
 * Modules the bundling leaves external are loaded from node_modules during that import, as Lambda loads them from
 * its runtime, so they count in the init time but not in the bundle size.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { bundlingOptions, REPO_ROOT } from '../infra/bundling.ts';
import { median } from './send.bench.ts';

export const WORKER_ENTRY = join(REPO_ROOT, 'lambdas/handlers/worker.handler.ts');

/** What the worker's configuration requires at import time (placeholders: nothing is called during init). */
const WORKER_ENV = {
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'bench',
  AWS_SECRET_ACCESS_KEY: 'bench',
  TABLE_NAME: 'newsletter',
  SENDER: 'News <news@example.com>',
  PUBLIC_BASE_URL: 'https://news.example.com',
  POSTAL_ADDRESS: '1 Example Street, Example City',
  TOKEN_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:newsletter-tokens-AbCdEf',
  WORKER_CONCURRENCY: '2',
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
};

export interface ColdStartResult {
  /** index.mjs only: modules the bundling leaves external (none: the AWS SDK is bundled) would not be in it. */
  bundleKb: number;
  external: string[];
  initMs: number;
  initRunsMs: number[];
}

/** What NodejsFunction leaves out of a bundle: the AWS SDK unless bundleAwsSDK (infra/bundling.ts bundles it). */
function externalModules(): string[] {
  const o = bundlingOptions(false);
  return o.externalModules ?? (o.bundleAwsSDK ? [] : ['@aws-sdk/*']);
}

/** Bundle the worker as NodejsFunction would; returns the path of index.mjs and its size. */
export async function bundleWorker(outDir: string): Promise<{ file: string; bytes: number }> {
  const o = bundlingOptions(false);
  const file = join(outDir, 'index.mjs');
  await build({
    entryPoints: [WORKER_ENTRY],
    outfile: file,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: o.target,
    mainFields: o.mainFields,
    minify: o.minify,
    sourcemap: o.sourceMap ? 'external' : false,
    banner: o.banner ? { js: o.banner } : {},
    external: externalModules(),
    logLevel: 'error',
  });
  return { file, bytes: statSync(file).size };
}

export async function runColdStartBench({ spawns = 7 } = {}): Promise<ColdStartResult> {
  // Inside the repository, so external modules resolve from its node_modules as they would from the Lambda
  // runtime's; their loading is part of the measured init.
  mkdirSync(join(REPO_ROOT, '.tmp'), { recursive: true });
  const outDir = mkdtempSync(join(REPO_ROOT, '.tmp', 'bench-worker-'));
  try {
    const { file, bytes } = await bundleWorker(outDir);
    const external = externalModules();
    const script = `const t = performance.now(); await import(${JSON.stringify(pathToFileURL(file).href)}); console.log(performance.now() - t);`;
    const runs: number[] = [];
    for (let i = 0; i < spawns; i++) {
      const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { env: { PATH: process.env.PATH, ...WORKER_ENV }, encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`worker init failed: ${r.stderr.trim().split('\n').slice(0, 3).join(' | ')}`);
      runs.push(Number(r.stdout.trim().split('\n').pop()));
    }
    return { bundleKb: Number((bytes / 1024).toFixed(1)), external, initMs: Number(median(runs).toFixed(1)), initRunsMs: runs.map((x) => Number(x.toFixed(1))) };
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
}
