/**
 * How every Lambda is bundled: locally installed esbuild (never Docker), ESM, minified, no source maps, no
 * metafile. One description per function (FUNCTION_BUNDLES) turns into both the NodejsFunction options the CDK app
 * uses (`bundlingOptions`) and the equivalent esbuild API options (`esbuildOptions`) the bundle tests and the
 * benchmark build with; test/infra/synth.test.ts checks that both produce byte-identical bundles.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { OutputFormat, type BundlingOptions } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { BuildOptions } from 'esbuild';
import type { PrecompiledEmails } from './precompile-emails.ts';

/** Repository root (the directory holding package-lock.json, lambdas/ and templates/). */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** The Lambda entry files, lambdas/handlers/<name>.handler.ts, each exporting `handler`. */
export type HandlerName = 'subscribers' | 'archive' | 'send' | 'worker' | 'ses-events';
export const HANDLER_NAMES: readonly HandlerName[] = ['subscribers', 'archive', 'send', 'worker', 'ses-events'];

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
 * 110 ms. The worker bundle stays under its 500 KB budget because the worker carries only the DynamoDB, SES and
 * Secrets Manager clients (rendered issues live in the table, not S3), zod/mini and, of the default credential
 * chain, only the environment provider (BUNDLE_STUBS): about 406 KB with Powertools Logger and Metrics. Bonus: the
 * SDK version is package-lock.json's, tested here, not whatever the runtime ships.
 */
export const BUNDLE_AWS_SDK = true;

/** The module every stubbed dependency resolves to (see BUNDLE_STUBS). */
export const STUB_MODULE = path.join(REPO_ROOT, 'infra', 'bundle-stub.cjs');

/**
 * Dependencies replaced by STUB_MODULE in every bundle (issue 14): each is required at the top of a module MJML
 * needs (or, for the AWS SDK's credential providers, imported by a link of a chain Lambda never gets to), but only
 * used on a path we never take. Before, they made the Send and Subscribers bundles 7.2–7.7 MB and
 * their cold init 1.3–1.8 s. test/infra/bundles.test.ts renders the seed issue through the Send bundle's modules and
 * compares it with the unbundled renderer, so a stub that was in fact used fails there.
 */
export const BUNDLE_STUBS: Readonly<Record<string, string>> = {
  // cheerio (two versions, for mjml-core and juice) requires undici for `fromURL` and encoding-sniffer (with
  // iconv-lite's tables) for `loadBuffer`; MJML only calls `load` on strings. Two undici copies were 940 KB.
  undici: 'cheerio fromURL (never called: MJML parses strings)',
  // mjml-core calls juice only for <mj-style inline="inline"> and cheerio only for <mj-html-attributes>; our email
  // templates (templates/email) use neither, and authors write Markdown, never MJML. Together with parse5, css-select
  // and dom-serializer, which only they pull in, they were about 550 KB of the send bundle and much of its init.
  juice: 'mjml-core: inlining <mj-style inline="inline"> (our templates have none)',
  cheerio: 'mjml-core: applying <mj-html-attributes> (our templates have none)',
  'encoding-sniffer': 'cheerio loadBuffer/decodeStream (never called)',
  // mjml-core requires htmlnano and cssnano-preset-lite for `minify: true`; render.ts compiles with minify off.
  // htmlnano imports cosmiconfig, whose TypeScript-config loader pulled in the whole TypeScript compiler (3.5 MB).
  htmlnano: 'MJML minify (off: lambdas/core/issue/render.ts)',
  'cssnano-preset-lite': 'MJML minify (off)',
  cosmiconfig: "htmlnano's config search (htmlnano is stubbed)",
  typescript: "cosmiconfig's .ts config loader (never bundled)",
  // mjml-core's formatHtml requires js-beautify for `beautify: true` (off).
  'js-beautify': 'MJML beautify (off)',
  // juice requires web-resource-inliner for juiceResources (fetching and inlining remote CSS and images); MJML
  // calls the synchronous juice() on its own CSS.
  'web-resource-inliner': "juice's remote resource inlining (MJML only inlines its own CSS)",
  // Issue 13: the AWS SDK's default credential chain (@aws-sdk/credential-provider-node, bundled with every client)
  // tries fromEnv first and imports the other providers only when it fails. Lambda always gives a function its
  // role's credentials in AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN (reserved variables a
  // function cannot set), and no function here sets AWS_PROFILE (which would make the chain skip fromEnv), so the
  // links below are never imported in Lambda. They were about 112 KB of every minified bundle (STS, SSO, SSO-OIDC
  // and sign-in clients, INI parsing, IMDS): the room the worker needed for Powertools Logger and Metrics. Should the
  // chain ever get past fromEnv (a bundle run without credentials in its environment), the stub throws, naming
  // this table, instead of trying profiles or instance metadata. test/infra/bundles.test.ts runs the bundled chain
  // both ways. Re-check this if the functions move to a Lambda feature that serves credentials from a container
  // endpoint instead (as SnapStart does on the runtimes it supports, Node.js not among them).
  '@aws-sdk/credential-provider-sso': 'default credential chain: SSO profiles (Lambda: fromEnv answers first)',
  '@aws-sdk/credential-provider-ini': 'default credential chain: ~/.aws config and credentials files, assume-role, login (Lambda: fromEnv answers first)',
  '@aws-sdk/credential-provider-process': 'default credential chain: credential_process (Lambda: fromEnv answers first)',
  '@aws-sdk/credential-provider-web-identity': 'default credential chain: AWS_WEB_IDENTITY_TOKEN_FILE (Lambda: fromEnv answers first)',
  '@aws-sdk/credential-provider-http': 'default credential chain: container credentials endpoint (Lambda: fromEnv answers first)',
  '@smithy/credential-provider-imds': 'default credential chain: ECS and EC2 instance metadata (Lambda: fromEnv answers first)',
};

/** What one function's bundle needs besides its entry. */
export interface FunctionBundle {
  /** Folders of templates/ the function reads at run time, copied into the asset. */
  readonly templateFolders: readonly string[];
  /** The confirmation and welcome emails compiled at synth time and defined into the bundle (no MJML at run time). */
  readonly precompiledEmails: boolean;
}

/**
 * Per function. Send renders issues with the email templates bundled as modules (templates/email/*.mjml.ts), so it
 * reads no template file; the subscribers function reads only the pages, its emails come precompiled.
 */
export const FUNCTION_BUNDLES: Readonly<Record<HandlerName, FunctionBundle>> = {
  subscribers: { templateFolders: ['pages'], precompiledEmails: true },
  archive: { templateFolders: ['pages', 'archive'], precompiledEmails: false },
  send: { templateFolders: [], precompiledEmails: false },
  worker: { templateFolders: [], precompiledEmails: false },
  'ses-events': { templateFolders: [], precompiledEmails: false },
};

/** The identifiers the emails are defined under; the handlers check `typeof X === 'string'` (see confirmation-email.ts). */
export const CONFIRMATION_EMAIL_DEFINE = '__NEWSLETTER_CONFIRMATION_EMAIL__';
export const WELCOME_EMAIL_DEFINE = '__NEWSLETTER_WELCOME_EMAIL__';

/**
 * Linux refuses a single command-line argument above 128 KiB (MAX_ARG_STRLEN), and NodejsFunction passes each
 * define as one `--define:K=V` argument. The confirmation email is about 10 KB; a welcome email near Gmail's 102 KB
 * clipping limit would not fit, and fails synthesis with this message rather than with E2BIG.
 */
export const MAX_DEFINE_BYTES = 120 * 1024;

let precompiled: PrecompiledEmails | undefined;

/**
 * The emails compiled once per process by infra/precompile-emails.ts in a child process: construct code is
 * synchronous, MJML is asynchronous.
 */
export function precompiledEmails(): PrecompiledEmails {
  if (precompiled) return precompiled;
  let out: string;
  try {
    out = execFileSync(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'infra', 'precompile-emails.ts')], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      maxBuffer: 16 * 1024 * 1024,
    });
  } catch (err) {
    const stderr = String((err as { stderr?: unknown }).stderr ?? '');
    const line = stderr.split('\n').find((l) => /error/i.test(l)) ?? stderr.split('\n').find((l) => l.trim()) ?? String(err);
    throw new Error(`precompiling the emails (infra/precompile-emails.ts) failed: ${line.trim()}`, { cause: err });
  }
  precompiled = JSON.parse(out) as PrecompiledEmails;
  return precompiled;
}

/** The esbuild defines for one function: the precompiled emails as JSON string literals, or none. */
export function emailDefines(name: HandlerName, emails: PrecompiledEmails | undefined): Record<string, string> {
  if (!FUNCTION_BUNDLES[name].precompiledEmails || !emails) return {};
  const defines = {
    [CONFIRMATION_EMAIL_DEFINE]: JSON.stringify(JSON.stringify(emails.confirmation)),
    // `null` (no content/welcome.md) is defined too, so the bundle knows there is none without looking for a file.
    [WELCOME_EMAIL_DEFINE]: JSON.stringify(JSON.stringify(emails.welcome)),
  };
  for (const [key, value] of Object.entries(defines)) {
    const bytes = Buffer.byteLength(value);
    if (bytes > MAX_DEFINE_BYTES) {
      const what = key === WELCOME_EMAIL_DEFINE ? 'content/welcome.md renders to' : 'the confirmation email is';
      throw new Error(`${what} ${(bytes / 1024).toFixed(0)} KB of HTML and text; at most ${MAX_DEFINE_BYTES / 1024} KB fits into the bundle`);
    }
  }
  return defines;
}

/** Where the entry of a function lives. */
export function handlerEntry(name: HandlerName): string {
  return path.join(REPO_ROOT, 'lambdas', 'handlers', `${name}.handler.ts`);
}

const aliases = (): Record<string, string> => Object.fromEntries(Object.keys(BUNDLE_STUBS).map((m) => [m, STUB_MODULE]));

/**
 * NodejsFunction bundling options for one function.
 *
 * No source maps: with their sources, the maps were 26–28 MB per asset, and parsing even the small ones at init
 * (NODE_OPTIONS=--enable-source-maps) cost cold-start time. Stack traces name the minified index.mjs; to read one,
 * rebuild the same commit's bundle with a map (`npx tsx infra/bundle-function.ts <name> <dir> --sourcemap`: the
 * same bytes plus index.mjs.map). No metafile in the asset either: the tests build their own.
 *
 * @param emails the precompiled emails, for the functions that send them (FUNCTION_BUNDLES); omit when bundling is
 *   skipped.
 */
export function bundlingOptions(name: HandlerName, emails?: PrecompiledEmails): BundlingOptions {
  const { templateFolders } = FUNCTION_BUNDLES[name];
  return {
    format: OutputFormat.ESM,
    target: ESBUILD_TARGET,
    mainFields: ['module', 'main'],
    minify: true,
    sourceMap: false,
    banner: ESM_REQUIRE_BANNER,
    bundleAwsSDK: BUNDLE_AWS_SDK,
    forceDockerBundling: false,
    metafile: false,
    define: emailDefines(name, emails),
    esbuildArgs: { '--alias': Object.entries(aliases()).map(([from, to]) => `${from}=${to}`) },
    commandHooks: {
      beforeBundling: () => [],
      beforeInstall: () => [],
      afterBundling: (inputDir: string, outputDir: string) =>
        templateFolders.map((folder) => {
          const to = path.join(outputDir, 'templates', folder);
          return `mkdir -p "${path.dirname(to)}" && cp -R "${path.join(inputDir, 'templates', folder)}" "${to}"`;
        }),
    },
  };
}

/**
 * The esbuild API options that build exactly what `bundlingOptions` makes NodejsFunction build (its CLI arguments,
 * translated), writing `<outDir>/index.mjs`. For tests and the benchmark; `sourcemap` adds an external map without
 * changing index.mjs.
 */
export function esbuildOptions(
  name: HandlerName,
  outDir: string,
  opts: { emails?: PrecompiledEmails; sourcemap?: boolean } = {},
): BuildOptions & { outfile: string } {
  return {
    entryPoints: [handlerEntry(name)],
    absWorkingDir: REPO_ROOT,
    outfile: path.join(outDir, 'index.mjs'),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: ESBUILD_TARGET,
    mainFields: ['module', 'main'],
    minify: true,
    sourcemap: opts.sourcemap ? 'external' : false,
    banner: { js: ESM_REQUIRE_BANNER },
    define: emailDefines(name, opts.emails),
    alias: aliases(),
    external: BUNDLE_AWS_SDK ? [] : ['@aws-sdk/*'],
    logLevel: 'error',
  };
}
