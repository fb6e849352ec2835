/**
 * Shared CLI plumbing: exit codes, the one-line error contract, finding the local stack, and lazy actions.
 * Every failure the operator can cause prints one line on stderr and exits non-zero; never a stack trace.
 * Kept light (no AWS SDK): bin/program.ts imports it to build `--help`.
 */
import { findLocalStack, LocalStackNotRunningError, type StackInfo } from '../../lambdas/local/stack-info.ts';

/** Exit codes, documented in the README and in `newsletter --help`. */
export const EXIT = {
  OK: 0,
  /** The operation ran but did not succeed (e.g. the accounting does not add up, some import rows invalid). */
  FAILED: 1,
  /** Bad input: usage error, missing or unreadable file, invalid data. */
  BAD_INPUT: 2,
  /** The local stack (or AWS) cannot be reached. */
  UNREACHABLE: 3,
  /** The named campaign or subscriber does not exist. */
  NOT_FOUND: 4,
  /** The campaign is paused (SES sending paused, quota reached); `newsletter resume` continues it. */
  PAUSED: 5,
} as const;

/** One line per exit code, for the root `--help` and the README. */
export const EXIT_CODE_HELP: Record<keyof typeof EXIT, string> = {
  OK: 'done (for send/resume/status: the accounting adds up)',
  FAILED: 'ran but did not succeed: accounting does not add up, invalid import rows, stalled send',
  BAD_INPUT: 'bad input: usage error, unreadable or malformed file, invalid address',
  UNREACHABLE: 'the local stack (or AWS) cannot be reached: start it with `npm start`',
  NOT_FOUND: 'unknown campaign or subscriber',
  PAUSED: 'the campaign is paused: continue it with `newsletter resume <campaign>`',
};

/** An error meant for the operator: its message is printed as is, on one line. */
export class CliError extends Error {
  override name = 'CliError';
  constructor(
    message: string,
    readonly exitCode: number = EXIT.BAD_INPUT,
  ) {
    super(message);
  }
}

/** Print an error on one line and exit. Unknown errors are summarised, never dumped. */
export function exitWithError(err: unknown): never {
  const code = err instanceof CliError ? err.exitCode : EXIT.FAILED;
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`newsletter: ${message.split('\n')[0]}\n`);
  process.exit(code);
}

/** Wrap a command action so that any thrown error follows the one-line contract. */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<void> | void) {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (err) {
      exitWithError(err);
    }
  };
}

/**
 * An action whose module is imported only when the command runs, so `--help` and the other commands do not pay
 * for the AWS SDK, MJML or the emulators. `name` is the exported function of that module to call.
 */
export function lazyAction<M, K extends keyof M>(load: () => Promise<M>, name: K) {
  return action(async (...args: unknown[]) => {
    const fn = (await load())[name] as unknown as (...a: unknown[]) => Promise<void> | void;
    await fn(...args);
  });
}

/**
 * The running local stack, or a CliError (exit 3) whose one line says where it looked and to run `npm start`.
 * Every command that talks to the local stack goes through here.
 */
export async function localStackOrExit(env: Record<string, string | undefined> = process.env): Promise<StackInfo> {
  try {
    return await findLocalStack(env);
  } catch (err) {
    if (err instanceof LocalStackNotRunningError) throw new CliError(err.message, EXIT.UNREACHABLE);
    throw err;
  }
}

/** Node's socket errors when nothing answers (a stopped local stack, no network). */
const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EPIPE', 'UND_ERR_SOCKET']);

/** The request never got an answer (the other side is gone or unreachable), as opposed to an error it returned. */
export function isConnectionError(err: unknown): boolean {
  const e = err as { code?: string; name?: string; cause?: { code?: string } } | undefined;
  if (!e) return false;
  return CONNECTION_CODES.has(e.code ?? '') || CONNECTION_CODES.has(e.cause?.code ?? '') || e.name === 'TimeoutError';
}
