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
 * Bundling options for one function.
 *
 * The AWS SDK v3 is bundled (`bundleAwsSDK`), not taken from the Lambda runtime: versions stay pinned to
 * package-lock.json (the runtime's copy changes under us), and with `mainFields: module,main` esbuild tree-shakes
 * the SDK's ES modules, so the worker's four clients (SES v2, DynamoDB + lib-dynamodb, Secrets Manager) weigh about
 * 410 KB minified against about 670 KB from the CommonJS builds. That leaves the worker under its 500 KB budget
 * while its cold start loads one file instead of the runtime's untreeshaken SDK.
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
    sourceMapMode: SourceMapMode.EXTERNAL,
    banner: ESM_REQUIRE_BANNER,
    bundleAwsSDK: true,
    externalModules: [],
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
