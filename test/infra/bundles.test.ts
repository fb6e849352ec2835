/**
 * What goes into each function's bundle (issue 14), built with the esbuild API exactly as `cdk synth` builds it
 * (infra/bundle-function.ts; synth.test.ts checks the two are byte-identical): no TypeScript compiler, no second
 * undici, no MJML in the subscribers function, and the stubbed dependencies really unused: the stubbed renderer
 * and the precompiled emails produce what the unbundled code produces.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HANDLER_NAMES, REPO_ROOT, STUB_MODULE, esbuildOptions, type HandlerName } from '../../infra/bundling.ts';
import { bundleFunction, bundledInputs, type BuiltFunction } from '../../infra/bundle-function.ts';
import { precompileEmails, type PrecompiledEmails } from '../../infra/precompile-emails.ts';
import { renderIssue } from '../../lambdas/core/issue/render.ts';
import { createConfirmationRenderer } from '../../lambdas/handlers/http/confirmation-email.ts';
import { loadWelcomeEmail } from '../../lambdas/handlers/http/welcome-email.ts';
import { SEED_ISSUE } from '../support/fixtures.ts';

/** Issue 14's budget per function: the deployment package (the asset, zipped as Lambda stores it). */
const FUNCTION_BUDGET_BYTES = 1024 * 1024;
const WORKER_BUDGET_BYTES = 500 * 1024;

const dir = mkdtempSync(path.join(tmpdir(), 'bundles-'));
const built = {} as Record<HandlerName, BuiltFunction>;

beforeAll(async () => {
  for (const name of HANDLER_NAMES) built[name] = await bundleFunction(name, path.join(dir, name));
}, 240_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The package directories (`node_modules/a/node_modules/b`) whose files made it into a bundle. */
function packages(name: HandlerName): string[] {
  const roots = bundledInputs(built[name].metafile).map((f) => /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(f)?.[1]);
  return [...new Set(roots.filter((r): r is string => r !== undefined))].sort();
}
const copiesOf = (name: HandlerName, pkg: string) => packages(name).filter((p) => p.endsWith(`node_modules/${pkg}`));

/** Run `script` (an ES module body) in a fresh Node process; its last stdout line is JSON. */
function runNode(script: string, env: NodeJS.ProcessEnv = {}): unknown {
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
    env: { PATH: process.env.PATH, ...env },
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  return JSON.parse(out.trim().split('\n').at(-1)!);
}

describe('every function bundle', () => {
  it('holds no TypeScript compiler, no cosmiconfig and at most one undici', () => {
    for (const name of HANDLER_NAMES) {
      expect(packages(name).length, name).toBeGreaterThan(0);
      expect(copiesOf(name, 'typescript'), name).toEqual([]);
      expect(copiesOf(name, 'cosmiconfig'), name).toEqual([]);
      expect(copiesOf(name, 'undici').length, `${name}: ${copiesOf(name, 'undici').join(', ')}`).toBeLessThanOrEqual(1);
    }
  });

  it('holds only the credential provider Lambda uses (environment variables): the rest of the default chain is stubbed', () => {
    for (const name of HANDLER_NAMES) {
      const sdk = packages(name).filter((p) => /node_modules\/@(aws-sdk|smithy)\/(credential-provider-|nested-clients|token-providers)/.test(p));
      expect(sdk.map((p) => p.replace(/^.*node_modules\//, '')), name).toEqual(['@aws-sdk/credential-provider-env', '@aws-sdk/credential-provider-node']);
    }
  });

  it('send carries MJML without juice, cheerio or parse5 (our templates use neither inline styles nor mj-html-attributes)', () => {
    expect(copiesOf('send', 'mjml-core')).toHaveLength(1);
    for (const dep of ['juice', 'cheerio', 'parse5', 'css-select']) expect(copiesOf('send', dep), dep).toEqual([]);
  });

  it('the worker carries Powertools Logger and Metrics (issue 13)', () => {
    expect(copiesOf('worker', '@aws-lambda-powertools/logger')).toHaveLength(1);
    expect(copiesOf('worker', '@aws-lambda-powertools/metrics')).toHaveLength(1);
  });

  it('fits the 1 MB deployment-package budget, and the worker its 500 KB', () => {
    for (const name of HANDLER_NAMES) {
      const zipped = execFileSync('gzip', ['-9', '-c', built[name].file], { maxBuffer: 64 * 1024 * 1024 }).length;
      expect(zipped, name).toBeLessThanOrEqual(FUNCTION_BUDGET_BYTES);
    }
    expect(built.worker.bytes).toBeLessThan(WORKER_BUDGET_BYTES);
  });

  it('the subscribers function carries no MJML, no issue renderer and no Markdown parser', () => {
    const inputs = bundledInputs(built.subscribers.metafile);
    expect(inputs.some((i) => i.endsWith('lambdas/handlers/http/confirmation-email.ts'))).toBe(true);
    expect(inputs.filter((i) => /node_modules\/(mjml|juice|markdown-it)|lambdas\/core\/issue\/render\.ts|templates\/email\//.test(i))).toEqual([]);
    // Every input the build even looked at, not only what was kept: the import('mjml') branch is gone at parse time.
    expect(Object.keys(built.subscribers.metafile.inputs).filter((i) => /node_modules\/mjml/.test(i))).toEqual([]);
  });
});

describe("the bundled AWS SDK finds Lambda's credentials (the stubbed credential providers are never reached)", () => {
  let entry: string;
  beforeAll(async () => {
    // A client built from the worker's bundle options, as the handlers build theirs.
    const options = esbuildOptions('worker', path.join(dir, 'credentials'));
    await build({
      ...options,
      entryPoints: undefined,
      stdin: {
        contents: "import { DynamoDBClient } from '@aws-sdk/client-dynamodb';\nexport const credentials = () => new DynamoDBClient({ region: 'us-east-1' }).config.credentials();",
        resolveDir: REPO_ROOT,
        loader: 'ts',
      },
    });
    entry = pathToFileURL(options.outfile).href;
  }, 60_000);
  const resolve = (env: NodeJS.ProcessEnv) =>
    runNode(
      `const { credentials } = await import(${JSON.stringify(entry)});
       try { const c = await credentials(); console.log(JSON.stringify({ accessKeyId: c.accessKeyId, sessionToken: c.sessionToken })); }
       catch (e) { console.log(JSON.stringify({ error: String(e.message) })); }`,
      { AWS_CONFIG_FILE: '/nonexistent/config', AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/credentials', AWS_EC2_METADATA_DISABLED: 'true', ...env },
    );

  it("with the role's credentials in the environment, as Lambda runs every function: those", () => {
    expect(resolve({ AWS_ACCESS_KEY_ID: 'ASIALAMBDA', AWS_SECRET_ACCESS_KEY: 'secret', AWS_SESSION_TOKEN: 'session' }))
      .toEqual({ accessKeyId: 'ASIALAMBDA', sessionToken: 'session' });
  });

  it('without them (never in Lambda): a clear error naming BUNDLE_STUBS, no profile or metadata lookup', () => {
    expect((resolve({}) as { error: string }).error).toMatch(/left out of this Lambda bundle \(infra\/bundling\.ts BUNDLE_STUBS\)/);
  });
});

describe('the send bundle renders exactly what the unbundled renderer does (the stubs are never called)', () => {
  it('seed issue: same HTML and text', async () => {
    const outDir = path.join(dir, 'render');
    const options = esbuildOptions('send', outDir);
    // The renderer alone, with Send's options (aliases, defines, banner), so the result can be compared.
    const result = await build({
      ...options,
      entryPoints: undefined,
      stdin: { contents: "export { renderIssue } from './lambdas/core/issue/render.ts';", resolveDir: REPO_ROOT, loader: 'ts' },
      metafile: true,
    });
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs.some((i) => STUB_MODULE.endsWith(i)), 'the stubs replaced something').toBe(true);
    expect(inputs.filter((i) => /node_modules\/(typescript|cosmiconfig|undici|htmlnano)\//.test(i))).toEqual([]);

    const renderOptions = { postalAddress: '1 Main St, Springfield', senderName: "Akira's ML News" };
    const markdown = readFileSync(SEED_ISSUE, 'utf8');
    const bundled = runNode(
      `const { renderIssue } = await import(${JSON.stringify(pathToFileURL(options.outfile).href)});
       const r = await renderIssue(${JSON.stringify(markdown)}, ${JSON.stringify(renderOptions)});
       console.log(JSON.stringify({ html: r.html, text: r.text }));`,
    ) as { html: string; text: string };
    const direct = await renderIssue(markdown, renderOptions);
    expect(bundled.html.length).toBeGreaterThan(10_000);
    expect(bundled.html === direct.html, 'bundled HTML differs from the unbundled render').toBe(true);
    expect(bundled.text).toBe(direct.text);
  }, 120_000);
});

describe('emails precompiled into the subscribers bundle', () => {
  let emails: PrecompiledEmails;
  let welcomeFile: string;
  let entry: string;
  const deployment = { POSTAL_ADDRESS: '1 Main St, Springfield', SENDER: "Akira's ML News <news@example.com>", PUBLIC_BASE_URL: 'https://news.example.com' };

  beforeAll(async () => {
    welcomeFile = path.join(dir, 'welcome.md');
    writeFileSync(welcomeFile, '---\nsubject: Welcome to the list\n---\n# Welcome\n\nOne issue a week, no more.\n');
    emails = await precompileEmails({ welcomeFile });
    // Both email modules, with the subscribers function's options and these emails defined.
    const options = esbuildOptions('subscribers', path.join(dir, 'emails'), { emails });
    const result = await build({
      ...options,
      entryPoints: undefined,
      stdin: {
        contents:
          "export { createConfirmationRenderer } from './lambdas/handlers/http/confirmation-email.ts';\n" +
          "export { loadWelcomeEmail } from './lambdas/handlers/http/welcome-email.ts';",
        resolveDir: REPO_ROOT,
        loader: 'ts',
      },
      metafile: true,
    });
    expect(Object.keys(result.metafile.inputs).filter((i) => /node_modules\/(mjml|markdown-it)|issue\/render\.ts/.test(i))).toEqual([]);
    entry = pathToFileURL(options.outfile).href;
  }, 120_000);

  it('confirmation: the bundle, with no MJML, sends what compiling on first use sends', async () => {
    const input = { email: 'ada@example.com', name: 'Ada <script>', confirmUrl: 'https://news.example.com/confirm?token=a&b=1' };
    const bundled = runNode(
      `const { createConfirmationRenderer } = await import(${JSON.stringify(entry)});
       console.log(JSON.stringify(await createConfirmationRenderer({ newsletterName: 'ML News' })(${JSON.stringify(input)})));`,
    );
    const direct = await createConfirmationRenderer({ newsletterName: 'ML News' })(input);
    expect(bundled).toEqual(direct);
    expect(direct.html).toContain('Hi Ada &lt;script&gt;,');
    expect(direct.html).toContain('https://news.example.com/confirm?token&#x3D;a&amp;b&#x3D;1');
  });

  it('welcome: the bundle gives what rendering the file gives, deployment values filled, recipient placeholders kept', async () => {
    const bundled = runNode(
      `const { loadWelcomeEmail } = await import(${JSON.stringify(entry)});
       console.log(JSON.stringify(await loadWelcomeEmail({ file: '/nonexistent/ignored-when-bundled.md' })));`,
      deployment,
    );
    const direct = await loadWelcomeEmail({
      file: welcomeFile,
      postalAddress: deployment.POSTAL_ADDRESS,
      senderName: "Akira's ML News",
      archiveUrl: 'https://news.example.com/archive',
    });
    expect(bundled).toEqual(direct);
    expect(direct!.subject).toBe('Welcome to the list');
    expect(direct!.html).toContain('{{unsubscribeUrl}}');
    expect(direct!.text).toContain('{{unsubscribeUrl}}');
    expect(direct!.html).toContain('https://news.example.com/archive');
    expect(direct!.html).toContain('Akira&#x27;s ML News');
    expect(direct!.text).toContain("Akira's ML News · 1 Main St, Springfield");
    expect(`${direct!.html}${direct!.text}`).not.toMatch(/\{\{(postalAddress|senderName|viewInBrowserUrl)\}\}/);
  });

  it('no welcome file at synth: the bundle knows there is none', async () => {
    const none = { ...emails, welcome: null };
    const options = esbuildOptions('subscribers', path.join(dir, 'no-welcome'), { emails: none });
    await build({
      ...options,
      entryPoints: undefined,
      stdin: { contents: "export { loadWelcomeEmail } from './lambdas/handlers/http/welcome-email.ts';", resolveDir: REPO_ROOT, loader: 'ts' },
    });
    const bundled = runNode(
      `const { loadWelcomeEmail } = await import(${JSON.stringify(pathToFileURL(options.outfile).href)});
       console.log(JSON.stringify({ welcome: (await loadWelcomeEmail()) ?? 'none' }));`,
    );
    expect(bundled).toEqual({ welcome: 'none' });
  });
});
