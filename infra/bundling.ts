/**
 * How every Lambda is bundled: locally installed esbuild (never Docker), ESM, minified, with source maps.
 * Shared by the NewsletterFunction construct and the bundle-size test so both build the same thing.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { OutputFormat, SourceMapMode, type BundlingOptions } from 'aws-cdk-lib/aws-lambda-nodejs';

/** Repository root (the directory holding package-lock.json, lambdas/ and templates/). */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Where the afterBundling hook puts templates/ inside each asset, and so where handlers find them in Lambda. */
export const LAMBDA_TEMPLATES_DIR = '/var/task/templates';

/** esbuild target, kept in step with the Lambda runtime chosen in NewsletterFunction. */
export const ESBUILD_TARGET = 'node24';

/**
 * ESM bundles have no `require`; CommonJS dependencies that call it (handlebars, parts of mjml) need one.
 * The alias keeps the import from clashing with any bundled `createRequire` binding.
 */
export const ESM_REQUIRE_BANNER =
  "import { createRequire as __newsletterCreateRequire } from 'node:module';const require = __newsletterCreateRequire(import.meta.url);";

/**
 * The AWS SDK v3 is bundled into every function (`bundleAwsSDK`), not taken from the Lambda runtime.
 *
 * Why: cold start (issue 8). Loading the runtime-style SDK from node_modules took the worker's module init to about
 * 385 ms here (each client resolves and compiles dozens of files); one minified, tree-shaken file loads in about
 * 110 ms. The worker bundle stays under its 500 KB budget because the worker carries only the DynamoDB and SES
 * clients (rendered issues live in the table, not S3) and zod/mini. Bonus: the SDK version is package-lock.json's,
 * tested here, not whatever the runtime ships.
 */
export const BUNDLE_AWS_SDK = true;

/**
 * Bundling options for one function.
 *
 * @param includeTemplates copy `templates/` into the asset (functions that render or serve pages).
 */
export function bundlingOptions(includeTemplates: boolean): BundlingOptions {
  return {
    format: OutputFormat.ESM,
    target: ESBUILD_TARGET,
    mainFields: ['module', 'main'],
    minify: true,
    sourceMap: true,
    // DEFAULT (esbuild's linked mode) writes index.mjs.map plus the `//# sourceMappingURL` comment that
    // NODE_OPTIONS=--enable-source-maps needs to find it; EXTERNAL omits the comment, so traces stayed minified.
    sourceMapMode: SourceMapMode.DEFAULT,
    banner: ESM_REQUIRE_BANNER,
    bundleAwsSDK: BUNDLE_AWS_SDK,
    forceDockerBundling: false,
    // index.meta.json lets the tests prove what went into a bundle (no mjml in the worker).
    metafile: true,
    commandHooks: {
      beforeBundling: () => [],
      beforeInstall: () => [],
      afterBundling: (inputDir: string, outputDir: string) =>
        includeTemplates ? [`cp -R "${path.join(inputDir, 'templates')}" "${path.join(outputDir, 'templates')}"`] : [],
    },
  };
}
