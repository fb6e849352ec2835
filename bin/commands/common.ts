/**
 * Shared CLI plumbing: exit codes and the one-line error contract.
 * Every failure the operator can cause prints one line on stderr and exits non-zero; never a stack trace.
 */

/** Exit codes, documented in the README. */
export const EXIT = {
  OK: 0,
  /** The operation ran but did not succeed (e.g. the accounting does not add up). */
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
