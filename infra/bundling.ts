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
 * Packages the Lambda Node.js runtime (18 and later) provides, left out of every bundle: the AWS SDK v3
 * (`@aws-sdk/client-*`, `@aws-sdk/lib-dynamodb` and their `@smithy/*` dependencies, which only the SDK imports).
 * This is NodejsFunction's own default for those runtimes.
 *
 * Why not bundle the SDK: the worker's bundle must stay under 500 KB (issue 5), and its SDK clients alone
 * (SES v2, DynamoDB + lib-dynamodb, S3, Secrets Manager) weighed about 560 KB minified even tree-shaken from their
 * ES builds; the worker measured 1.05 MB with them and 121 KB without. The price: the runtime's SDK version is
 * AWS's choice, not package-lock.json's. The code only uses long-stable commands (GetItem/Query/Update,
 * SendEmail, GetObject/PutObject, SendMessageBatch, GetSecretValue, GetAccount), so that drift is harmless; if a
 * future command needs a newer SDK than the runtime has, bundle that one client (drop it from this list).
 */
export const RUNTIME_PROVIDED_MODULES = ['@aws-sdk/*'];

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
    externalModules: RUNTIME_PROVIDED_MODULES,
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
