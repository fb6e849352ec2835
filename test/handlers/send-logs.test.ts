/**
 * The send function's logs and metric, through the real Powertools Logger and Metrics as send.handler.ts wires them
 * (output captured from stdout/stderr): structured entries, each carrying the campaign id once it is known, the
 * keys gone after the invocation, faults logged once with their cause, no addresses or Markdown.
 */
import { describe, expect, it } from 'vitest';
import { createSendHandler } from '../../lambdas/handlers/send.ts';
import { log, metricCounts, withLogKeys } from '../../lambdas/runtime/observability.ts';
import { world } from '../core/sending/fakes.ts';
import { captureOutput, logEntries, metricDocuments } from '../runtime/capture-output.ts';

async function seeded(n = 3) {
  const w = world();
  await w.seed(Array.from({ length: n }, (_, i) => [`r${i}@x.com`, 'confirmed'] as [string, 'confirmed']));
  return w;
}
const observed = (w: ReturnType<typeof world>) => createSendHandler(w.sendDeps, { log, withKeys: withLogKeys, counts: metricCounts() });

describe('send handler: Powertools logs and metrics', () => {
  it('a send: structured entries, the campaign id on each once the issue is rendered, Enqueued published', async () => {
    const w = await seeded(3);
    const handler = observed(w);
    const { result, entries } = await captureOutput(async () => {
      const r = await handler({ issue: { markdown: 'issue-7' }, mode: 'send' });
      log.info('after the invocation');
      return r;
    });
    expect(result.status).toBe('complete');
    const logs = logEntries(entries);
    expect(logs.map((e) => [e.level, e.message])).toEqual([
      ['INFO', 'send requested'],
      ['INFO', 'send complete'],
      ['INFO', 'after the invocation'],
    ]);
    for (const e of logs) expect(e).toMatchObject({ service: 'newsletter', timestamp: expect.any(String) });
    expect(logs[0]).toMatchObject({ mode: 'send', markdownLength: 7 });
    // Known from the render on: on every entry of the invocation, and gone after it (a warm container's next one).
    expect(logs[0]!.campaignId).toBeUndefined();
    expect(logs[1]).toMatchObject({ campaignId: 'issue-7', campaignStatus: 'SENDING', audience: 3, enqueued: 3, fanoutComplete: true });
    expect(logs[2]!.campaignId).toBeUndefined();
    expect(metricDocuments(entries)).toMatchObject([{ Enqueued: 3, service: 'newsletter' }]);
    expect(JSON.stringify(entries)).not.toMatch(/@x\.com|tok-/);
  });

  it('a resume by campaign id: every entry carries it, the first included', async () => {
    const w = await seeded(2);
    const handler = observed(w);
    await captureOutput(() => handler({ issue: { markdown: 'issue-8' }, mode: 'send' }));
    await w.campaigns.setStatus('issue-8', ['SENDING'], 'PAUSED');
    const { result, entries } = await captureOutput(() => handler({ campaignId: 'issue-8', resume: true }));
    expect(result.status).toBe('complete');
    const logs = logEntries(entries);
    expect(logs.length).toBeGreaterThanOrEqual(2);
    for (const e of logs) expect(e.campaignId, String(e.message)).toBe('issue-8');
    expect(logs[0]).toMatchObject({ message: 'send requested', resume: true });
  });

  it('a fault: one ERROR entry with the campaign id and the error with its cause, then the invocation fails', async () => {
    const w = await seeded(2);
    w.queue.sendBatch = async () => {
      throw new Error('SendMessageBatch failed', { cause: new Error('connect ECONNREFUSED 10.0.0.1:443') });
    };
    const handler = observed(w);
    const { result, entries } = await captureOutput(() => handler({ issue: { markdown: 'issue-9' }, mode: 'send' }).catch((e: Error) => e));
    expect(result).toBeInstanceOf(Error);
    const errors = logEntries(entries).filter((e) => e.level === 'ERROR');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({
      message: 'send failed',
      campaignId: 'issue-9',
      error: { name: 'Error', message: 'SendMessageBatch failed', cause: { message: 'connect ECONNREFUSED 10.0.0.1:443' } },
    });
    expect(metricDocuments(entries)).toEqual([]);
  });

  it('invalid input: one WARN entry saying why; test sends log how many, never who', async () => {
    const w = await seeded(1);
    const handler = observed(w);
    const { entries } = await captureOutput(() => handler({ mode: 'nope' }));
    expect(logEntries(entries).at(-1)).toMatchObject({ level: 'WARN', message: 'send invalid', reason: 'mode must be dry-run, test or send' });

    const { result, entries: test } = await captureOutput(() => handler({ issue: { markdown: 'issue-10' }, mode: 'test', testRecipients: ['me@example.org'] }));
    expect(result.status).toBe('test-sent');
    expect(logEntries(test).at(-1)).toMatchObject({ message: 'send test-sent', campaignId: 'issue-10', sent: 1 });
    expect(JSON.stringify(test)).not.toContain('me@example.org');
  });

  it('with a plain logger (no keys of its own), the handler puts the campaign id on its entries itself', async () => {
    const w = await seeded(1);
    const lines: Array<[string, Record<string, unknown> | undefined]> = [];
    const plain = { info: (m: string, d?: Record<string, unknown>) => lines.push([m, d]), warn: () => undefined, error: () => undefined };
    await createSendHandler(w.sendDeps, { log: plain })({ issue: { markdown: 'issue-11' }, mode: 'send' });
    expect(lines.map(([m, d]) => [m, d?.campaignId])).toEqual([['send requested', undefined], ['send complete', 'issue-11']]);
  });
});
