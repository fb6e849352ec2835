/**
 * What `npm start` does after the stack is up, as functions the tests can call: import the demo subscribers and
 * send the seed issue through the real pipeline. lambdas/local/main.ts is the command around them.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { CampaignAccounting } from '../core/model.ts';
import type { SubscriberRepository } from '../core/ports.ts';
import { accountingAddsUp } from '../core/sending/accounting.ts';
import type { SendResult } from '../core/sending/send-campaign.ts';
import { readAccounting } from '../core/sending/status.ts';
import { planImport } from '../core/subscribers/import-plan.ts';
import type { AttachedSending } from './sending.ts';

export const DEMO_SUBSCRIBERS_FILE = fileURLToPath(new URL('../../content/demo-subscribers.csv', import.meta.url));
export const SEED_ISSUE_FILE = fileURLToPath(new URL('../../content/issues/031-akira-ml-news.md', import.meta.url));
/** The consent source recorded with every demo subscriber. */
export const DEMO_CONSENT_SOURCE = 'demo';

export interface DemoImport {
  file: string;
  rows: number;
  created: number;
  existing: number;
  skipped: string[];
}

/**
 * Import the demo CSV as confirmed subscribers with consent source `demo`. Idempotent: the repository never
 * changes an existing subscriber, so a re-run (or someone who unsubscribed since) is left alone.
 */
export async function importDemoSubscribers(
  subscribers: Pick<SubscriberRepository, 'importSubscriber'>,
  file: string = DEMO_SUBSCRIBERS_FILE,
  now: Date = new Date(),
): Promise<DemoImport> {
  const plan = planImport(readFileSync(file, 'utf8'), file);
  const consent = { at: now.toISOString(), method: 'import' as const, source: DEMO_CONSENT_SOURCE };
  let created = 0;
  for (const row of plan.rows) {
    const outcome = await subscribers.importSubscriber({
      email: row.email,
      ...(row.name ? { name: row.name } : {}),
      attributes: row.attributes,
      status: 'confirmed',
      consent,
      now,
    });
    if (outcome === 'created') created += 1;
  }
  return {
    file,
    rows: plan.rows.length,
    created,
    existing: plan.rows.length - created,
    skipped: [
      ...plan.invalid.map((r) => `line ${r.line}: ${r.reason}`),
      ...plan.duplicates.map((d) => `line ${d.line}: duplicate of line ${d.firstLine}`),
    ],
  };
}

export interface SeedSend {
  campaignId: string;
  subject: string;
  /** True when this run created the campaign; false when it existed (nothing new sent, or a resumed send). */
  created: boolean;
  resumed: boolean;
  accounting: CampaignAccounting;
  elapsedMs: number;
}

/**
 * Send the seed issue through the send Lambda and wait until the workers have drained the queue. A campaign
 * left unfinished by an interrupted run is resumed; a finished one is only reported.
 *
 * Sent with `force`: the seed is a Medium export kept as it came (its relative images were never shipped, so the
 * renderer leaves them out), and its authoring errors are exactly what the demo shows `render` warning about. An
 * operator's own issue with such errors is refused by `newsletter send` unless `--force`.
 */
export async function sendSeedIssue(sending: AttachedSending, markdown: string): Promise<SeedSend> {
  const started = performance.now();
  let result: SendResult = await sending.invokeSend({ issue: { markdown }, mode: 'send', force: true });
  const created = result.status === 'complete';
  let resumed = false;
  if (result.status === 'exists' && result.accounting.queued > 0 && result.campaign.status !== 'SENT') {
    resumed = true;
    result = await sending.invokeSend({ issue: { markdown }, mode: 'send', force: true, resume: true });
  }
  if (result.status !== 'complete' && result.status !== 'exists') {
    throw new Error(`the seed send did not start: ${'message' in result ? result.message : result.status}`);
  }
  await sending.drain();
  const { campaignId, subject } = result.campaign;
  const accounting = await readAccounting(sending.campaigns, campaignId);
  return { campaignId, subject, created, resumed, accounting, elapsedMs: performance.now() - started };
}

/** Every recipient is in a final state and the final states add up to the audience. */
export function accountingComplete(a: CampaignAccounting): boolean {
  return accountingAddsUp(a) && a.queued === 0;
}
