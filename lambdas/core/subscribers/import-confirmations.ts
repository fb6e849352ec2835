/**
 * Confirmation emails for an import without `--confirmed`: each imported pending address that has never been sent
 * one gets the same confirmation email as the form sends, paced under the SES rate. The slot is a conditional
 * write (`claimConfirmation`), so a rerun of the same import, or two running at once, never mails anyone twice; an
 * email that could not be sent gives its slot back, so a rerun sends it.
 */
import type { Clock, SubscriberRepository } from '../ports.ts';
import { sendConfirmationEmail, type ConfirmationEmailDeps } from './subscriber-service.ts';

export interface ImportConfirmationDeps extends ConfirmationEmailDeps {
  repo: Pick<SubscriberRepository, 'claimConfirmation' | 'releaseConfirmation'>;
  clock: Clock;
  /** Wait for permission to send one email (the SES pacer); resolves false to stop sending. */
  pace: () => Promise<boolean>;
  /** Told after a throttling answer, so the pacer slows down. */
  throttled?: () => void;
  /** Emails in flight at once (default 4); the pace sets the rate. */
  concurrency?: number;
  onProgress?: () => void;
}

export interface ImportConfirmationResult {
  sent: number;
  /** Not pending any more, or already sent a confirmation (by the form, or an earlier run of this import). */
  skipped: number;
  failed: Array<{ email: string; reason: string }>;
}

/** Send the confirmation emails, at most `concurrency` at once and each after `pace()`. Never throws per address. */
export async function sendImportConfirmations(
  recipients: ReadonlyArray<{ email: string; name?: string }>,
  deps: ImportConfirmationDeps,
): Promise<ImportConfirmationResult> {
  const result: ImportConfirmationResult = { sent: 0, skipped: 0, failed: [] };
  const queue = [...recipients];
  let stopped = false;

  async function one(recipient: { email: string; name?: string }): Promise<void> {
    const now = deps.clock.now();
    if (!(await deps.repo.claimConfirmation(recipient.email, now))) {
      result.skipped += 1;
      return;
    }
    try {
      if (!(await deps.pace())) {
        stopped = true;
        throw new Error('sending stopped');
      }
      await sendConfirmationEmail(deps, recipient, now);
      result.sent += 1;
    } catch (err) {
      if (/throttl|TooManyRequests/i.test((err as Error).name ?? '')) deps.throttled?.();
      // Give the slot back: a rerun of the import (or the reader's own sign-up) sends it.
      await deps.repo.releaseConfirmation(recipient.email, now).catch(() => undefined);
      result.failed.push({ email: recipient.email, reason: `${(err as Error).name ?? 'Error'}: ${(err as Error).message}`.slice(0, 200) });
    }
  }

  await Promise.all(
    Array.from({ length: Math.max(1, deps.concurrency ?? 4) }, async () => {
      for (let r = queue.shift(); r; r = queue.shift()) {
        if (stopped) {
          result.failed.push({ email: r.email, reason: 'sending stopped' });
        } else {
          await one(r);
        }
        deps.onProgress?.();
      }
    }),
  );
  return result;
}
