/**
 * The send Lambda (operator-triggered, invoked directly): validates the event and runs one send request.
 * Input {@link SendInput} (or `{campaignId, resume: true}`), output {@link SendResult}. Bad input is a result
 * (`status: 'invalid'`), never an exception.
 *
 * Logs (when given a logger): what was asked (`send requested`: mode, resume, force, the issue's S3 key; never the
 * Markdown or the test addresses), how it ended (`send <status>`, with the campaign's counts; for an `invalid`
 * input its one-line reason, which can quote the offending value, e.g. a malformed test address), or the fault that
 * made it throw (`send failed`, with its cause), once. Every entry written once the campaign is known (the resumed
 * id, or the rendered issue's slug) carries `campaignId`: it is appended to the logger's keys for the invocation
 * and removed after. Metrics (when given counts): `Enqueued`, the recipients this invocation put on the queue.
 */
import { runSend, type ResumeInput, type SendDeps, type SendInput, type SendResult } from '../core/sending/send-campaign.ts';
import type { Queue } from '../core/ports.ts';
import type { Counts, DetailLogger } from '../runtime/observability.ts';

/** The part of the Lambda context we use: the time left, to stop the fan-out before the hard timeout. */
export interface InvokeContext {
  getRemainingTimeInMillis?: () => number;
}

/** Adds keys to every entry the logger writes while `fn` runs, and removes them after (runtime/observability.ts). */
export type WithLogKeys = <T>(fn: (keys: (extra: Record<string, string>) => void) => Promise<T>) => Promise<T>;

export interface SendObservability {
  log?: DetailLogger;
  /** How `campaignId` gets onto every entry of `log` (Powertools appendKeys/removeKeys); without it, onto the handler's own. */
  withKeys?: WithLogKeys;
  counts?: Counts;
}

/** Without a logger's own keys: the handler's entries carry the keys themselves. */
const inlineKeys: WithLogKeys = (fn) => fn(() => undefined);

/** What an entry may say about the request: no Markdown, no addresses. */
function describeInput(event: unknown): Record<string, unknown> {
  if (!event || typeof event !== 'object') return { input: typeof event };
  const e = event as Partial<SendInput> & Partial<ResumeInput>;
  const issue = e.issue as { s3Key?: unknown; markdown?: unknown } | undefined;
  return {
    ...(typeof e.mode === 'string' ? { mode: e.mode } : {}),
    ...(e.resume === true ? { resume: true } : {}),
    ...(e.force === true ? { force: true } : {}),
    ...(typeof issue?.s3Key === 'string' ? { s3Key: issue.s3Key } : {}),
    ...(typeof issue?.markdown === 'string' ? { markdownLength: issue.markdown.length } : {}),
    ...(Array.isArray(e.testRecipients) ? { testRecipients: e.testRecipients.length } : {}),
  };
}

/** What an entry says about the outcome: the campaign's state and counts; for `test-sent`, how many, not who. */
function describeResult(r: SendResult): Record<string, unknown> {
  switch (r.status) {
    case 'dry-run':
      return { audience: r.audience, suppressed: r.suppressed.total, recipientsPerMessage: r.recipientsPerMessage, authoringErrors: r.authoringErrors.length };
    case 'test-sent':
      return { sent: r.sent.length };
    case 'complete':
    case 'continuing':
    case 'exists':
      return {
        campaignStatus: r.campaign.status,
        audience: r.campaign.audience,
        enqueued: r.campaign.enqueued,
        fanoutComplete: r.campaign.fanoutComplete,
        ...(r.campaign.pausedReason ? { pausedReason: r.campaign.pausedReason } : {}),
      };
    case 'invalid':
    case 'not-found':
      return { reason: r.message };
  }
}

/** The campaign a result is about, when it names one. */
function campaignOf(r: SendResult): string | undefined {
  if ('campaign' in r) return r.campaign.campaignId;
  return 'campaignId' in r ? r.campaignId : undefined;
}

export function createSendHandler(
  deps: SendDeps,
  observe: SendObservability = {},
): (event: unknown, context?: InvokeContext) => Promise<SendResult> {
  const { log, counts } = observe;
  const withKeys = log && observe.withKeys ? observe.withKeys : inlineKeys;
  const inline = !(log && observe.withKeys);
  return async (event, context) =>
    withKeys(async (appendKeys) => {
      let campaignId: string | undefined;
      const known = (id: string | undefined) => {
        if (!id || id === campaignId) return;
        campaignId = id;
        appendKeys({ campaignId: id });
      };
      const detail = (d: Record<string, unknown>) => (inline && campaignId ? { campaignId, ...d } : d);
      let enqueued = 0;
      const queue: Queue = {
        sendBatch: async (messages) => {
          const result = await deps.queue.sendBatch(messages);
          const failed = new Set(result.failedIds);
          for (const m of messages) if (!failed.has(m.id)) enqueued += m.recipients ?? 0;
          return result;
        },
      };
      const render: SendDeps['render'] = async (markdown, bases) => {
        const rendered = await deps.render(markdown, bases);
        known(rendered.issue.slug);
        return rendered;
      };

      const input = event as Partial<ResumeInput> | null;
      if (input && typeof input === 'object' && typeof input.campaignId === 'string' && input.resume === true) known(input.campaignId);
      log?.info('send requested', detail(describeInput(event)));
      const remaining = context?.getRemainingTimeInMillis;
      try {
        const result = await runSend(
          { ...deps, render, queue: counts ? queue : deps.queue, ...(remaining ? { remainingMs: () => remaining.call(context) } : {}) },
          event as SendInput | ResumeInput,
        );
        known(campaignOf(result));
        const refused = result.status === 'invalid' || result.status === 'not-found';
        if (refused) log?.warn(`send ${result.status}`, detail(describeResult(result)));
        else log?.info(`send ${result.status}`, detail(describeResult(result)));
        return result;
      } catch (err) {
        log?.error('send failed', detail({ error: err }));
        throw err;
      } finally {
        counts?.add('Enqueued', enqueued);
        counts?.flush();
      }
    });
}
