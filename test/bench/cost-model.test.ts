/**
 * The cost model (bench/cost-model.ts) against the code: a small send through the real pipeline on the emulators,
 * with every DynamoDB (rendered issue included), queue and SES call counted, must make exactly the calls the model says,
 * so the dollars in the README cannot drift away from what the code does.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SES_EVENT_TYPES } from '../../infra/stateful-stack.ts';
import { ROUTED_SES_EVENT_TYPES } from '../../infra/settings.ts';
import { localDynamoClient } from '../../lambdas/local/emulators.ts';
import type { AttachedSending } from '../../lambdas/local/sending.ts';
import { EVENTBRIDGE_BILLED_EVENT_USD, costPerMillion, modelCalls } from '../../bench/cost-model.ts';
import { FUNCTION_MEMORY_MB } from '../../infra/settings.ts';
import { meterDynamo } from '../../bench/ddb-meter.ts';
import { benchEmail, seedConfirmed } from '../../bench/seed.ts';
import { routedEventsPerEmail } from '../../bench/ses-events.ts';
import { attach, issueMarkdown, startSendEnv } from '../integration/send-helpers.ts';

const RECIPIENTS = 500; // one full fan-out page: the model must also count the empty page after it
const BATCH_SIZE = 10;

let env: Awaited<ReturnType<typeof startSendEnv>>;
let sending: AttachedSending;

beforeAll(async () => {
  env = await startSendEnv();
  const client = localDynamoClient(env.emulators.dynamoEndpoint);
  await seedConfirmed(client, env.emulators.tableName, 0, RECIPIENTS);
  client.destroy();
  sending = attach(env, { queue: { concurrency: 2, batchSize: BATCH_SIZE } });
}, 60_000);
afterAll(async () => {
  await sending?.stop();
  await env?.stop();
});

/** Count calls to `obj[method]` (the instance the pipeline holds, so its calls go through the wrapper). */
function countCalls<T extends object>(obj: T, method: keyof T & string): { n: number } {
  const counter = { n: 0 };
  const original = (obj[method] as (...a: unknown[]) => unknown).bind(obj);
  (obj as Record<string, unknown>)[method] = (...args: unknown[]) => {
    counter.n += 1;
    return original(...args);
  };
  return counter;
}

describe('cost model against the real calls (dynalite + aws-ses-v2-local)', () => {
  it('a send of 500 makes exactly the DynamoDB, queue and SES calls the model counts (S3: none); SES events too', async () => {
    const model = modelCalls({
      recipients: RECIPIENTS,
      messagesPerInvocation: BATCH_SIZE,
      workerContainers: 1,
      publishedEventTypes: SES_EVENT_TYPES.map((t) => String(t)),
      routedEventTypes: ROUTED_SES_EVENT_TYPES,
    });
    const meter = meterDynamo(sending.dynamo);
    const sendBatch = countCalls(sending.queue, 'sendBatch');
    const issuePut = countCalls(sending.issues, 'put');
    const issueGet = countCalls(sending.issues, 'get');
    const sesSend = countCalls(sending.mailer, 'send');
    const invocations = { n: 0 };
    // Hold the queue until the fan-out is done, so the send's closing accounting read sees no pairs yet (as on a
    // large send) and the worker's invocations are full batches: the counts are then deterministic.
    await sending.queue.stop();
    const result = await sending.invokeSend({ issue: { markdown: issueMarkdown('cost-model-1') }, mode: 'send' });
    expect(result.status).toBe('complete');
    sending.queue.consume(async (event) => {
      invocations.n += 1;
      return sending.worker(event);
    });
    await sending.drain();

    const a = await sending.campaigns.accounting('cost-model-1');
    expect(a).toMatchObject({ sent: RECIPIENTS, queued: 0 });
    const { calls, conditionalFailures } = meter.snapshot();
    // The accounting read just above is the test's own: take it off.
    calls.QueryCommand = (calls.QueryCommand ?? 0) - 1;
    expect(calls).toEqual(model.dynamo);
    expect(conditionalFailures).toBe(0);
    expect(sendBatch.n).toBe(model.sendMessageBatch);
    expect(invocations.n).toBe(model.workerInvocations);
    expect(sesSend.n).toBe(model.sesSendEmail);
    // The rendered issue: one PutItem by the send, one GetItem by the one worker container (in model.dynamo).
    expect(issuePut.n).toBe(1);
    expect(issueGet.n).toBe(1);
    expect(model.s3Get).toBe(0);

    // The events Lambda: one EventBridge invocation per routed event (Send, not Delivery), for every email sent.
    // Every pair is SENT already, so each Send event costs one eventually consistent read and no write.
    meter.reset();
    let eventInvocations = 0;
    for (let i = 0; i < RECIPIENTS; i++) {
      for (const event of routedEventsPerEmail(`m-${i}`, benchEmail(i), 'cost-model-1')) {
        const r = await sending.handleSesEvent(event);
        expect(r).toMatchObject({ events: 1, malformed: 0, reconciled: 0 });
        eventInvocations++;
      }
    }
    expect(eventInvocations).toBe(model.sesEventInvocations);
    expect(model.sesEventInvocations).toBe(RECIPIENTS); // Send only
    expect(model.busEvents).toBe(2 * RECIPIENTS); // Send and Delivery are still published
    const ev = meter.snapshot();
    const { conditionalFailures: modelFailures, ...modelCallsByCommand } = model.eventsDynamo;
    expect(ev.calls).toEqual(Object.fromEntries(Object.entries(modelCallsByCommand).filter(([, v]) => v > 0)));
    expect(ev.conditionalFailures).toBe(modelFailures);
    expect(ev.writeUnits).toBe(0);
    // Eventually consistent GetItem of an item under 4 KB: half a read unit.
    expect(ev.readUnits).toBeCloseTo(0.5 * RECIPIENTS, 6);
  }, 180_000);

  it('prices the lines it is given, and the total is their sum', () => {
    const calls = modelCalls({ recipients: 1_000_000, messagesPerInvocation: 10, publishedEventTypes: [], routedEventTypes: [] });
    const base = {
      calls, recipients: 1_000_000, ddbReadUnitsPerEmail: 1, ddbWriteUnitsPerEmail: 2, eventReadUnits: 0, eventWriteUnits: 0,
      sendMsPerEmail: 0, workerMsPerEmail: 0, workerPacedMsPerEmail: 0, eventMsPerInvocation: 0, queueMessageBytes: 3000,
    };
    const cost = costPerMillion(base);
    expect(cost.total).toBeCloseTo(cost.lines.reduce((s, l) => s + l.usdPerMillion, 0), 9);
    // 2 WRU at $0.625/M and 1 RRU at $0.125/M per email.
    expect(cost.lines.find((l) => l.item === 'DynamoDB: writes')!.usdPerMillion).toBeCloseTo(1.25, 6);
    expect(cost.lines.find((l) => l.item === 'DynamoDB: reads')!.usdPerMillion).toBeCloseTo(0.125, 6);
    // Billed worker time is the larger of busy and paced time, at the deployed memory: 100 ms at 256 MB = 0.025 GB-s.
    expect(FUNCTION_MEMORY_MB.worker).toBe(256);
    const paced = costPerMillion({ ...base, workerPacedMsPerEmail: 100, workerMsPerEmail: 3 });
    const worker = paced.lines.find((l) => l.item === 'Lambda: worker')!.usdPerMillion;
    expect(worker).toBeCloseTo(1e6 * 0.025 * 0.0000133334 + 1e6 * (calls.workerInvocations / 1e6) * 0.2e-6, 6);
    expect(paced.total).toBeGreaterThan(cost.total);
    // SES events on the bus: free as AWS service events by default; at the billed price, Send + Delivery = $2/M.
    const withEvents = modelCalls({ recipients: 1_000_000, messagesPerInvocation: 10, publishedEventTypes: ['send', 'delivery', 'bounce'], routedEventTypes: ['Send'] });
    const busLine = (usd?: number) =>
      costPerMillion({ ...base, calls: withEvents, busEventUsd: usd }).lines.find((l) => l.item.startsWith('EventBridge'))!.usdPerMillion;
    expect(busLine()).toBe(0);
    expect(busLine(EVENTBRIDGE_BILLED_EVENT_USD)).toBeCloseTo(2, 6);
    expect(costPerMillion({ ...base, calls: withEvents }).lines.some((l) => l.item.startsWith('SNS'))).toBe(false);
  });
});
