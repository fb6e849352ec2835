/**
 * Send benchmark (issue 8, part 3): N confirmed subscribers through the whole local pipeline (send Lambda fan-out,
 * in-process queue, worker, claims and SENT records on dynalite, SendEmail to aws-ses-v2-local), against plain
 * concurrent SendEmail calls to the same emulator at the same concurrency, alternating in one run; medians quoted.
 *
 * The pipeline runs with pacing out of the way (MaxSendRate 1,000,000): the question is what our bookkeeping
 * costs next to the transport, not how well the pacer holds a rate.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { SesMailer } from '../lambdas/adapters/ses/ses-mailer.ts';
import { compilePersonalizer } from '../lambdas/core/issue/personalize.ts';
import type { OutboundEmail } from '../lambdas/core/model.ts';
import type { TokenKeys } from '../lambdas/core/ports.ts';
import { composeEmail, RECIPIENTS_PER_MESSAGE } from '../lambdas/core/sending/compose.ts';
import { renderForSend } from '../lambdas/core/sending/render-for-send.ts';
import { unsubscribeTokenSigner } from '../lambdas/core/sending/unsubscribe-token.ts';
import { systemClock } from '../lambdas/core/ports.ts';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../lambdas/local/emulators.ts';
import { attachSendingToStack, type AttachedSending } from '../lambdas/local/sending.ts';
import { startLocalStack, type LocalStack } from '../lambdas/local/stack.ts';
import { meterDynamo } from './ddb-meter.ts';
import { benchEmail, seedConfirmed } from './seed.ts';
import { routedEventsPerEmail } from './ses-events.ts';
import { SEED_ISSUE } from './render.bench.ts';

export const POSTAL_ADDRESS = '1-2-3 Example, Chiyoda, Tokyo';
/** Pacing out of the way: see the file comment. */
const UNPACED_RATE = 1_000_000;

/** The seed issue under a slug of our choice, so every run is a new campaign. */
export function seedIssueAs(slug: string): string {
  return `---\nslug: ${slug}\n---\n${readFileSync(SEED_ISSUE, 'utf8')}`;
}

export const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const round = (n: number, digits = 2) => Number(n.toFixed(digits));

export interface SendBenchResult {
  pipelineEmailsPerSec: number;
  rawSesEmailsPerSec: number;
  /** Median of the repetitions' pipeline/raw ratios (each pair run back to back). */
  ratio: number;
  ddbWritesPerRecipient: number;
  ddbReadsPerRecipient: number;
  /** Every repetition, in the order run, and each repetition's pipeline/raw. */
  runs: { pipeline: number[]; raw: number[]; ratios: number[]; bookkeeping: number[] };
  /**
   * The worker's DynamoDB calls alone (a status BatchGetItem per round of lanes, claim and SENT per recipient), no SES, at the
   * same concurrency, recipients per second (median): where the pipeline's time goes when everything shares the CPU.
   */
  bookkeepingOnlyPerSec: number;
  recipients: number;
  /**
   * SendEmail calls issued at once at most, in both modes (each SDK client's default agent then opens at most 50
   * sockets, on both sides alike).
   */
  concurrency: number;
  /** Recipients of one message the worker sends at once (and reads statuses for at once). */
  workerLanes: number;
  /** DynamoDB calls per recipient during one pipeline run, by command. */
  ddbCallsPerRecipient: Record<string, number>;
  /** Worker Lambda time (sum of invocation durations) per email, ms: what Lambda would bill without pacing. */
  workerMsPerEmail: number;
  /** SES events Lambda: the events the EventBridge rule routes for each sent email (Send), one per invocation. */
  events: { msPerInvocation: number; ddbWritesPerEvent: number; ddbReadsPerEvent: number; invocations: number };
  seedSeconds: number;
}

export interface SendBenchOptions {
  recipients: number;
  repetitions: number;
  /** Local queue concurrency × batch size × worker lanes (defaults: the local stack's). */
  queueConcurrency?: number;
  batchSize?: number;
  workerConcurrency?: number;
  /** Events replayed through the SES events Lambda to time it. */
  eventSamples?: number;
  log?: (line: string) => void;
}

const TOKEN_KEYS: TokenKeys = { current: 'k1', keys: { k1: 'bench-secret-0123456789abcdef0123456789' } };

async function clearSes(stack: LocalStack): Promise<void> {
  const res = await fetch(`${stack.urls.sesEndpoint}/clear-store`, { method: 'POST' });
  await res.arrayBuffer();
}

/** Run `lanes` workers over `count` items; resolves when all are done. */
async function inLanes(count: number, lanes: number, work: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(lanes, count) }, async () => {
      while (next < count) await work(next++);
    }),
  );
}

export async function runSendBench(opts: SendBenchOptions): Promise<SendBenchResult> {
  const log = opts.log ?? (() => undefined);
  const queueConcurrency = opts.queueConcurrency ?? 2;
  const batchSize = opts.batchSize ?? 10;
  const workerConcurrency = opts.workerConcurrency ?? 8;
  // Each worker invocation handles its messages at once, `workerConcurrency` recipients per message.
  const concurrency = queueConcurrency * batchSize * workerConcurrency;
  const dataDir = mkdtempSync(join(tmpdir(), 'bench-send-'));
  const stack = await startLocalStack({
    port: 0, sesPort: 0, dynamoPort: 0, dataDir, persist: false, writeStackFile: false, maxSendRate: UNPACED_RATE,
  });
  let sending: AttachedSending | undefined;
  const rawClient = new SESv2Client({ endpoint: stack.urls.sesEndpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  try {
    const seedSeconds = await seedConfirmed(stack.deps.dynamo, stack.info.tableName, 0, opts.recipients);
    log(`seeded ${opts.recipients} subscribers in ${seedSeconds.toFixed(1)} s`);
    sending = attachSendingToStack(stack, {
      postalAddress: POSTAL_ADDRESS,
      tokenKeys: TOKEN_KEYS,
      maxSendRate: UNPACED_RATE,
      queue: { concurrency: queueConcurrency, batchSize },
      workerConcurrency,
    });
    const meter = meterDynamo(sending.dynamo);
    // Time every worker invocation, as Lambda would bill it.
    let workerMs = 0;
    const worker = sending.worker;
    sending.queue.consume(async (event: SQSEvent): Promise<SQSBatchResponse> => {
      const t = performance.now();
      try {
        return await worker(event);
      } finally {
        workerMs += performance.now() - t;
      }
    });

    // The raw side sends the very email the pipeline sends (same size, headers, tags), readdressed.
    const issue = (await renderForSend({ postalAddress: POSTAL_ADDRESS })(seedIssueAs('bench-raw'))).issue;
    const template = await composeEmail(
      { sender: stack.deps.sender, publicBaseUrl: stack.deps.publicBaseUrl, unsubscribeToken: unsubscribeTokenSigner(TOKEN_KEYS, systemClock) },
      issue,
      compilePersonalizer({ html: issue.html, text: issue.text, subject: issue.subject }),
      { email: benchEmail(0) },
      issue.slug,
    );
    const rawMailer = new SesMailer(rawClient);

    const runs = { pipeline: [] as number[], raw: [] as number[], bookkeeping: [] as number[] };
    let ddb = meter.snapshot();
    let workerMsPerEmail = 0;
    const stamp = Date.now().toString(36);
    const runRaw = async () => {
      await clearSes(stack);
      let failures = 0;
      const t = performance.now();
      await inLanes(opts.recipients, concurrency, async (i) => {
        const email: OutboundEmail = { ...template, to: benchEmail(i) };
        await rawMailer.send(email).catch(() => void failures++);
      });
      const seconds = (performance.now() - t) / 1000;
      if (failures) throw new Error(`raw SendEmail: ${failures} failures`);
      runs.raw.push(opts.recipients / seconds);
    };
    const runPipeline = async (slug: string) => {
      await clearSes(stack);
      meter.reset();
      workerMs = 0;
      const t = performance.now();
      const result = await sending!.invokeSend({ issue: { markdown: seedIssueAs(slug) }, mode: 'send', force: true });
      if (result.status !== 'complete') throw new Error(`send ended ${result.status}`);
      await sending!.drain();
      const seconds = (performance.now() - t) / 1000;
      ddb = meter.snapshot();
      const accounting = await sending!.campaigns.accounting(slug);
      if (accounting?.sent !== opts.recipients) throw new Error(`pipeline sent ${accounting?.sent} of ${opts.recipients}`);
      runs.pipeline.push(opts.recipients / seconds);
      workerMsPerEmail = workerMs / opts.recipients;
    };
    // The worker's bookkeeping without SES: the same repositories and calls, on a campaign of its own. As in the
    // worker, each message's recipients go in rounds of `workerConcurrency`, their statuses read just before.
    const runBookkeeping = async (campaignId: string) => {
      const now = new Date();
      const t = performance.now();
      await inLanes(Math.ceil(opts.recipients / RECIPIENTS_PER_MESSAGE), queueConcurrency * batchSize, async (m) => {
        const first = m * RECIPIENTS_PER_MESSAGE;
        const size = Math.min(RECIPIENTS_PER_MESSAGE, opts.recipients - first);
        for (let round = 0; round < size; round += workerConcurrency) {
          const emails = Array.from({ length: Math.min(workerConcurrency, size - round) }, (_, i) => benchEmail(first + round + i));
          const statuses = await sending!.subscribers.getStatuses(emails);
          await Promise.all(
            emails.map(async (email, i) => {
              if (statuses.get(email) !== 'confirmed') throw new Error(`${email} not confirmed`);
              const claim = await sending!.campaigns.claim(campaignId, email, now);
              if (!claim.claimed) throw new Error(`${email} already claimed`);
              await sending!.campaigns.recordDelivery(campaignId, email, 'SENT', { messageId: `bookkeeping-${round + i}` });
            }),
          );
        }
      });
      runs.bookkeeping.push(opts.recipients / ((performance.now() - t) / 1000));
    };
    // Alternate which goes first (raw-pipeline, pipeline-raw, …) so warm-up and drift fall on both sides.
    for (let rep = 0; rep < opts.repetitions; rep++) {
      const slug = `bench-${stamp}-${rep}`;
      if (rep % 2 === 0) {
        await runRaw();
        await runPipeline(slug);
      } else {
        await runPipeline(slug);
        await runRaw();
      }
      await runBookkeeping(`bookkeeping-${stamp}-${rep}`);
      log(`rep ${rep + 1}: raw ${runs.raw.at(-1)!.toFixed(0)}/s, pipeline ${runs.pipeline.at(-1)!.toFixed(0)}/s, bookkeeping alone ${runs.bookkeeping.at(-1)!.toFixed(0)}/s`);
    }

    // SES events Lambda: the events the EventBridge rule routes for each sent email, one invocation each.
    const samples = Math.min(opts.eventSamples ?? 500, opts.recipients);
    const campaignId = `bench-${stamp}-${opts.repetitions - 1}`;
    meter.reset();
    let eventInvocations = 0;
    const t = performance.now();
    for (let i = 0; i < samples; i++) {
      for (const event of routedEventsPerEmail(`m-${i}`, benchEmail(i), campaignId)) {
        await sending.handleSesEvent(event);
        eventInvocations++;
      }
    }
    const eventMs = performance.now() - t;
    const ev = meter.snapshot();

    const perRecipient = (n: number) => round(n / opts.recipients, 4);
    // The ratio of each repetition's adjacent pair, then their median: load that changes during the run (a shared
    // machine) moves both sides of a pair together, but not two medians taken at different times.
    const ratios = runs.pipeline.map((p, i) => p / runs.raw[i]!);
    return {
      pipelineEmailsPerSec: round(median(runs.pipeline), 1),
      rawSesEmailsPerSec: round(median(runs.raw), 1),
      ratio: round(median(ratios), 3),
      ddbWritesPerRecipient: perRecipient(ddb.writeUnits),
      ddbReadsPerRecipient: perRecipient(ddb.readUnits),
      runs: {
        pipeline: runs.pipeline.map((x) => round(x, 1)),
        raw: runs.raw.map((x) => round(x, 1)),
        ratios: ratios.map((x) => round(x, 3)),
        bookkeeping: runs.bookkeeping.map((x) => round(x, 1)),
      },
      bookkeepingOnlyPerSec: round(median(runs.bookkeeping), 1),
      recipients: opts.recipients,
      concurrency,
      workerLanes: workerConcurrency,
      ddbCallsPerRecipient: Object.fromEntries(Object.entries(ddb.calls).map(([k, v]) => [k, perRecipient(v)])),
      workerMsPerEmail: round(workerMsPerEmail, 3),
      events: {
        msPerInvocation: round(eventMs / Math.max(1, eventInvocations), 3),
        ddbWritesPerEvent: round(ev.writeUnits / Math.max(1, eventInvocations), 3),
        ddbReadsPerEvent: round(ev.readUnits / Math.max(1, eventInvocations), 3),
        invocations: eventInvocations,
      },
      seedSeconds: round(seedSeconds, 1),
    };
  } finally {
    await sending?.stop();
    rawClient.destroy();
    await stack.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
