/**
 * Builds one function's bundle with the esbuild API, exactly as `cdk synth` does (infra/bundling.ts), for the bundle
 * tests, the benchmark, and for reading a stack trace from Lambda: the deployed bundles carry no source map, so
 *
 *   npx tsx infra/bundle-function.ts send /tmp/send --sourcemap
 *
 * rebuilds the same commit's index.mjs byte for byte, plus index.mjs.map next to it.
 */
import { mkdirSync, statSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { build, type Metafile } from 'esbuild';
import { FUNCTION_BUNDLES, HANDLER_NAMES, esbuildOptions, precompiledEmails, type HandlerName } from './bundling.ts';

export interface BuiltFunction {
  /** Absolute path of index.mjs. */
  file: string;
  bytes: number;
  metafile: Metafile;
}

/** Bundle `name` into `outDir`/index.mjs (and its map with `sourcemap`); the emails are precompiled as for synth. */
export async function bundleFunction(name: HandlerName, outDir: string, opts: { sourcemap?: boolean } = {}): Promise<BuiltFunction> {
  mkdirSync(outDir, { recursive: true });
  const emails = FUNCTION_BUNDLES[name].precompiledEmails ? precompiledEmails() : undefined;
  const options = esbuildOptions(name, outDir, { emails, sourcemap: opts.sourcemap });
  const result = await build({ ...options, metafile: true });
  return { file: options.outfile, bytes: statSync(options.outfile).size, metafile: result.metafile };
}

/** Every input file that ended up in the output (tree-shaken modules excluded), as esbuild names them. */
export function bundledInputs(metafile: Metafile): string[] {
  return Object.values(metafile.outputs).flatMap((o) => Object.entries(o.inputs).filter(([, i]) => i.bytesInOutput > 0).map(([f]) => f));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [name, outDir] = process.argv.slice(2);
  if (!HANDLER_NAMES.includes(name as HandlerName) || !outDir) {
    process.stderr.write(`usage: npx tsx infra/bundle-function.ts <${HANDLER_NAMES.join('|')}> <out dir> [--sourcemap]\n`);
    process.exitCode = 2;
  } else {
    const built = await bundleFunction(name as HandlerName, outDir, { sourcemap: process.argv.includes('--sourcemap') });
    process.stdout.write(`${built.file} (${(built.bytes / 1024).toFixed(1)} KB)\n`);
  }
}
