/**
 * Cold-start benchmark (issue 8, part 6; every function since issue 14): each function's bundle, built by
 * infra/bundle-function.ts exactly as `cdk synth` builds it (synth.test.ts checks they are byte-identical), laid
 * out as its asset (index.mjs plus the template folders it reads), and its module initialization: `import()` of the
 * bundle in a fresh Node process, median of several spawns. Nothing is external (the AWS SDK is bundled), so
 * nothing is loaded from node_modules during that import.
 *
 * Sizes: the asset unzipped, and zipped as Lambda stores the deployment package (deflate, level 9, per file, plus
 * the zip headers).
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { deflateRawSync } from 'node:zlib';
import { bundleFunction } from '../infra/bundle-function.ts';
import { FUNCTION_BUNDLES, HANDLER_NAMES, REPO_ROOT, type HandlerName } from '../infra/bundling.ts';
import { median } from './send.bench.ts';

/** What the functions' configuration requires at import time (placeholders: nothing is called during init). */
const FUNCTION_ENV = {
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'bench',
  AWS_SECRET_ACCESS_KEY: 'bench',
  TABLE_NAME: 'newsletter',
  SENDER: 'News <news@example.com>',
  PUBLIC_BASE_URL: 'https://news.example.com',
  POSTAL_ADDRESS: '1 Example Street, Example City',
  TOKEN_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:newsletter-tokens-AbCdEf',
  QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/newsletter-send',
  BUCKET_NAME: 'newsletter-issues',
  CONFIGURATION_SET: 'newsletter',
  WORKER_CONCURRENCY: '2',
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
};

export interface FunctionColdStart {
  /** index.mjs alone. */
  bundleKb: number;
  /** The asset: index.mjs and the template folders it ships. */
  assetKb: number;
  /** The asset zipped: the deployment package Lambda stores and loads. */
  zipKb: number;
  initMs: number;
  initRunsMs: number[];
}

export type ColdStartResult = Record<HandlerName, FunctionColdStart>;

const kb = (bytes: number) => Number((bytes / 1024).toFixed(1));

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
}

/** Size of a zip holding these files: deflated data plus each file's local header and central directory entry. */
function zipBytes(root: string, files: string[]): number {
  const ZIP_FIXED_HEADERS = 30 + 46;
  const END_OF_CENTRAL_DIRECTORY = 22;
  return files.reduce((sum, f) => {
    const name = Buffer.byteLength(relative(root, f));
    const data = readFileSync(f);
    return sum + Math.min(data.length, deflateRawSync(data, { level: 9 }).length) + ZIP_FIXED_HEADERS + 2 * name;
  }, END_OF_CENTRAL_DIRECTORY);
}

/** Build one function's asset into `dir` (as the CDK asset: index.mjs, templates/<folder>). */
async function buildAsset(name: HandlerName, dir: string): Promise<{ file: string; bundleBytes: number; templatesDir?: string }> {
  const built = await bundleFunction(name, dir);
  const folders = FUNCTION_BUNDLES[name].templateFolders;
  for (const folder of folders) cpSync(join(REPO_ROOT, 'templates', folder), join(dir, 'templates', folder), { recursive: true });
  return { file: built.file, bundleBytes: built.bytes, ...(folders.length ? { templatesDir: join(dir, 'templates') } : {}) };
}

/** Module init of the bundle in `spawns` fresh processes, with the environment Lambda would give it. */
function measureInit(file: string, spawns: number, templatesDir: string | undefined): number[] {
  const script = `const t = performance.now(); await import(${JSON.stringify(pathToFileURL(file).href)}); console.log(performance.now() - t);`;
  const env = { PATH: process.env.PATH, ...FUNCTION_ENV, ...(templatesDir ? { TEMPLATES_DIR: templatesDir } : {}) };
  const runs: number[] = [];
  for (let i = 0; i < spawns; i++) {
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { env, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`init of ${file} failed: ${r.stderr.trim().split('\n').slice(0, 3).join(' | ')}`);
    runs.push(Number(r.stdout.trim().split('\n').pop()));
  }
  return runs;
}

export async function runColdStartBench({ spawns = 7 } = {}): Promise<ColdStartResult> {
  const outDir = mkdtempSync(join(tmpdir(), 'bench-functions-'));
  try {
    const result = {} as ColdStartResult;
    for (const name of HANDLER_NAMES) {
      const dir = join(outDir, name);
      mkdirSync(dir, { recursive: true });
      const { file, bundleBytes, templatesDir } = await buildAsset(name, dir);
      const files = filesUnder(dir);
      const runs = measureInit(file, spawns, templatesDir);
      result[name] = {
        bundleKb: kb(bundleBytes),
        assetKb: kb(files.reduce((s, f) => s + statSync(f).size, 0)),
        zipKb: kb(zipBytes(dir, files)),
        initMs: Number(median(runs).toFixed(1)),
        initRunsMs: runs.map((x) => Number(x.toFixed(1))),
      };
    }
    return result;
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
}
