/**
 * One synthesized function run the way Lambda runs it: its asset folder copied to a temporary directory outside the
 * repository (so no node_modules can resolve: the bundle must carry everything), loaded once by a child `node`
 * (a cold start, then warm invocations) with the template's environment, and invoked over IPC with an event and a
 * Lambda-shaped context. The child's stdout and stderr are kept for failure messages.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** What `/var/task` (LAMBDA_TASK_ROOT) is in Lambda: paths in the environment under it are mapped to the copy. */
export const LAMBDA_TASK_ROOT = '/var/task';

/**
 * The child: plain JavaScript with no imports but Node's, so it adds nothing the bundle could lean on. It reports
 * whether a bare `@aws-sdk/...` specifier resolves from the task root (it must not), then loads the handler.
 */
const RUNNER = `
import { randomUUID } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import path from 'node:path';
const root = process.env.LAMBDA_TASK_ROOT;
let resolvable = false;
try { await import('@aws-sdk/client-dynamodb'); resolvable = true; } catch {}
const [file, name] = process.env._HANDLER.split('.');
let handler;
try {
  handler = (await import(pathToFileURL(path.join(root, file + '.mjs')).href))[name];
  if (typeof handler !== 'function') throw new Error('no export ' + name + ' in ' + file + '.mjs');
} catch (err) {
  process.send({ type: 'init-error', error: { name: err.name, message: err.message, stack: err.stack } });
  await new Promise((r) => setTimeout(r, 50));
  process.exit(1);
}
process.send({ type: 'ready', sdkResolvable: resolvable });
const timeoutMs = Number(process.env.H5_TIMEOUT_SECONDS) * 1000;
process.on('message', async (msg) => {
  const deadline = Date.now() + timeoutMs;
  const context = {
    functionName: process.env.AWS_LAMBDA_FUNCTION_NAME, functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:' + process.env.AWS_REGION + ':123456789012:function:' + process.env.AWS_LAMBDA_FUNCTION_NAME,
    memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE, awsRequestId: randomUUID(),
    logGroupName: '/aws/lambda/' + process.env.AWS_LAMBDA_FUNCTION_NAME, logStreamName: 'local',
    callbackWaitsForEmptyEventLoop: true, getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
  try {
    const result = await handler(msg.event, context);
    process.send({ type: 'result', id: msg.id, result: result === undefined ? null : result });
  } catch (err) {
    process.send({ type: 'error', id: msg.id, error: { name: err?.name, message: err?.message, stack: err?.stack } });
  }
});
`;

export interface FunctionSpec {
  /** Construct id, e.g. Worker. */
  id: string;
  assetDir: string;
  /** `file.export`, from the template's Handler. */
  handler: string;
  timeoutSeconds: number;
  memoryMb: number;
  /** The template's Environment.Variables, intrinsic functions resolved. */
  environment: Record<string, string>;
}

export class InvokeError extends Error {
  override name = 'InvokeError';
}

export class DeployedFunction {
  private constructor(
    readonly spec: FunctionSpec,
    readonly taskRoot: string,
    private readonly child: ChildProcess,
    /** Whether `@aws-sdk/client-dynamodb` resolved from the task root (it must not). */
    readonly sdkResolvable: boolean,
    private readonly output: { text: string },
  ) {}

  /** Copy the asset, start the child with `env` (template environment plus endpoints) and wait for the cold start. */
  static async start(spec: FunctionSpec, awsEnv: Record<string, string>): Promise<DeployedFunction> {
    const taskRoot = mkdtempSync(path.join(tmpdir(), `deployed-${spec.id.toLowerCase()}-`));
    cpSync(spec.assetDir, taskRoot, { recursive: true });
    // The runtime lives next to the task root, under the same parent, so it resolves modules from the same places.
    const runner = path.join(taskRoot, '.runtime.mjs');
    writeFileSync(runner, RUNNER);
    const mapped = Object.fromEntries(
      Object.entries(spec.environment).map(([k, v]) => [k, v.startsWith(`${LAMBDA_TASK_ROOT}/`) ? path.join(taskRoot, v.slice(LAMBDA_TASK_ROOT.length)) : v]),
    );
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      TZ: ':UTC',
      LANG: 'en_US.UTF-8',
      HOME: taskRoot,
      LAMBDA_TASK_ROOT: taskRoot,
      _HANDLER: spec.handler,
      AWS_LAMBDA_FUNCTION_NAME: spec.id,
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(spec.memoryMb),
      AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
      AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x',
      H5_TIMEOUT_SECONDS: String(spec.timeoutSeconds),
      ...mapped,
      ...awsEnv,
    };
    const output = { text: '' };
    const child = fork(runner, [], { cwd: taskRoot, env, execArgv: [], stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    const keep = (d: Buffer) => {
      output.text = (output.text + d.toString()).slice(-20_000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    const ready = await new Promise<{ sdkResolvable: boolean }>((ok, fail) => {
      const onExit = (code: number | null) => fail(new InvokeError(`${spec.id} exited (${code}) before it was ready:\n${output.text}`));
      child.once('exit', onExit);
      child.on('message', function first(msg: any) {
        if (msg.type === 'ready') {
          child.off('message', first);
          child.off('exit', onExit);
          ok(msg);
        } else if (msg.type === 'init-error') {
          fail(new InvokeError(`${spec.id} failed to load: ${msg.error.stack ?? msg.error.message}\n${output.text}`));
        }
      });
    });
    return new DeployedFunction(spec, taskRoot, child, ready.sdkResolvable, output);
  }

  private nextId = 0;

  /** Invoke the handler with `event`; resolves to its result, rejects with the error it threw (and its logs). */
  invoke<T = any>(event: unknown): Promise<T> {
    const id = ++this.nextId;
    return new Promise<T>((ok, fail) => {
      const onExit = (code: number | null) => fail(new InvokeError(`${this.spec.id} exited (${code}) during an invocation:\n${this.output.text}`));
      this.child.once('exit', onExit);
      const onMessage = (msg: any) => {
        if (msg.id !== id) return;
        this.child.off('message', onMessage);
        this.child.off('exit', onExit);
        if (msg.type === 'result') ok(msg.result as T);
        else fail(new InvokeError(`${this.spec.id} threw ${msg.error.name}: ${msg.error.message}\n${msg.error.stack}\n--- output ---\n${this.output.text}`));
      };
      this.child.on('message', onMessage);
      this.child.send({ id, event });
    });
  }

  /** The child's stdout and stderr so far (last 20 KB). */
  logs(): string {
    return this.output.text;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exited = new Promise((ok) => this.child.once('exit', ok));
      this.child.kill('SIGTERM');
      await exited;
    }
    rmSync(this.taskRoot, { recursive: true, force: true });
  }
}
