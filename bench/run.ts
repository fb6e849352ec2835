/**
 * `npm run bench [-- --quick] [-- --out <file>] [-- --no-history] [-- --send-reps <n>]`: runs every benchmark of
 * issue 8 against the local stack, writes bench/results.json (the issue's fields, nothing else) and appends a dated
 * table to bench/RESULTS.md naming the machine, each target and whether it was met. Targets are reported, never
 * asserted and never weakened.
 *
 * --quick: small sizes and one repetition (the smoke test); --out: write the results elsewhere; --no-history: do
 * not append to RESULTS.md.
 */
import { appendFileSync, existsSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, platform, release, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SES_EVENT_TYPES } from '../infra/stateful-stack.ts';
import { FUNCTION_MEMORY_MB, workerSizing } from '../infra/settings.ts';
import { ROUTED_SES_EVENT_TYPES } from '../infra/settings.ts';
import { runColdStartBench } from './cold-start.bench.ts';
import { costPerMillion, EVENTBRIDGE_BILLED_EVENT_USD, modelCalls, type CostInput } from './cost-model.ts';
import { runFanoutBench } from './fanout.bench.ts';
import { runRenderBench } from './render.bench.ts';
import { runSendBench } from './send.bench.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const quick = args.includes('--quick');
const option = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const outFile = resolve(option('--out') ?? join(HERE, 'results.json'));
const history = !args.includes('--no-history');
const sendReps = Number(option('--send-reps') ?? (quick ? 1 : 3));
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const TARGETS = {
  renderMedianMs: 30,
  personalizeMicros: 10,
  personalizeSpeedup: 1000,
  sendRatio: 0.8,
  fanoutGrowth: 1.2,
  usdPerMillion: 3,
  bundleKb: 500,
  initMs: 150,
  /** Every function's deployment package (the zipped asset) and module init (issue 14). */
  functionZipKb: 1024,
  functionInitMs: 300,
};
const SIZES = quick
  ? { send: 300, fanoutSmall: 500, fanoutLarge: 2000, events: 50, coldSpawns: 2 }
  : { send: 10_000, fanoutSmall: 10_000, fanoutLarge: 100_000, events: 500, coldSpawns: 7 };

const log = (line: string): void => void process.stderr.write(`[bench] ${line}\n`);
const load = () => loadavg().map((x) => x.toFixed(2)).join(' / ');
const machine = {
  cpu: cpus()[0]?.model.trim() ?? 'unknown',
  cores: cpus().length,
  ramGb: Number((totalmem() / 1024 ** 3).toFixed(1)),
  node: process.version,
  os: `${platform()} ${release()}`,
  loadAtStart: load(),
};
const started = new Date();
const t0 = performance.now();

log('render and personalize');
const render = await runRenderBench({ quick });
log('send: pipeline vs raw SendEmail');
const send = await runSendBench({ recipients: SIZES.send, repetitions: sendReps, eventSamples: SIZES.events, log });
log('fan-out memory');
const fanout = await runFanoutBench({ small: SIZES.fanoutSmall, large: SIZES.fanoutLarge, repetitions: quick ? 1 : 3, log });
log('cold start of every function');
const coldStart = await runColdStartBench({ spawns: SIZES.coldSpawns });
const worker = coldStart.worker;
/** results.json keys: camelCase of the handler names. */
const FUNCTION_KEYS = { subscribers: 'subscribers', archive: 'archive', send: 'send', worker: 'worker', 'ses-events': 'sesEvents' } as const;
const perFunction = <T>(pick: (f: (typeof coldStart)[keyof typeof coldStart]) => T) =>
  Object.fromEntries(Object.entries(FUNCTION_KEYS).map(([name, key]) => [key, pick(coldStart[name as keyof typeof coldStart])])) as Record<
    (typeof FUNCTION_KEYS)[keyof typeof FUNCTION_KEYS],
    T
  >;

// ---- cost, from the model and the measurements above ----
const sizing = workerSizing({ sendRate: undefined, sendRateFraction: 0.8 });
const publishedEventTypes = SES_EVENT_TYPES.map((t) => String(t));
// The large fan-out run of median duration gives the send Lambda's time per email and the message size.
const largeRuns = fanout.runs.filter((r) => r.subscribers === fanout.large).sort((x, y) => x.fanoutSeconds - y.fanoutSeconds);
const large = largeRuns[Math.floor(largeRuns.length / 2)]!;
const costFor = (busEventUsd?: number) => {
  const recipients = 1_000_000;
  const input: CostInput = {
    calls: modelCalls({
      recipients,
      messagesPerInvocation: sizing.batchSize,
      workerContainers: sizing.maxConcurrency,
      publishedEventTypes,
      routedEventTypes: ROUTED_SES_EVENT_TYPES,
    }),
    recipients,
    ddbReadUnitsPerEmail: send.ddbReadsPerRecipient,
    ddbWriteUnitsPerEmail: send.ddbWritesPerRecipient,
    eventReadUnits: send.events.ddbReadsPerEvent,
    eventWriteUnits: send.events.ddbWritesPerEvent,
    sendMsPerEmail: (large.fanoutSeconds * 1000) / large.enqueued,
    workerMsPerEmail: send.workerMsPerEmail,
    workerPacedMsPerEmail: (1000 * sizing.maxConcurrency) / sizing.rate,
    eventMsPerInvocation: send.events.msPerInvocation,
    queueMessageBytes: large.messageBytes,
    busEventUsd,
  };
  return costPerMillion(input);
};
const cost = costFor();
const costIfBusEventsBilled = costFor(EVENTBRIDGE_BILLED_EVENT_USD);

const r2 = (n: number) => Number(n.toFixed(2));
const peaks = (size: number) => fanout.runs.filter((r) => r.subscribers === size).map((r) => r.peakRssMb).join(', ');
/** Exactly the fields issue 8 names. */
const results = {
  render: { seedMedianMs: render.render.seedMedianMs, coldMs: render.render.coldMs },
  personalize: {
    perRecipientMicros: render.personalize.perRecipientMicros,
    mjmlPerRecipientMicros: render.personalize.mjmlPerRecipientMicros,
    speedup: render.personalize.speedup,
  },
  send: {
    pipelineEmailsPerSec: send.pipelineEmailsPerSec,
    rawSesEmailsPerSec: send.rawSesEmailsPerSec,
    ratio: send.ratio,
    ddbWritesPerRecipient: send.ddbWritesPerRecipient,
    ddbReadsPerRecipient: send.ddbReadsPerRecipient,
  },
  fanout: {
    peakRssMb10k: fanout.peakRssMb10k,
    peakRssMb100k: fanout.peakRssMb100k,
    enqueueRecipientsPerSec: fanout.enqueueRecipientsPerSec,
  },
  cost: { usdPerMillionOnTopOfSes: r2(cost.total) },
  coldStart: {
    bundleKb: worker.bundleKb,
    initMs: worker.initMs,
    subscribersInitMs: coldStart.subscribers.initMs,
    archiveInitMs: coldStart.archive.initMs,
    sendInitMs: coldStart.send.initMs,
    sesEventsInitMs: coldStart['ses-events'].initMs,
    assetKb: perFunction((f) => f.assetKb),
    zipKb: perFunction((f) => f.zipKb),
  },
};
writeFileSync(outFile, `${JSON.stringify(results, null, 2)}\n`);

// ---- the human-readable table ----
const verdict = (ok: boolean) => (ok ? 'MET' : '**MISSED**');
const minutes = ((performance.now() - t0) / 60_000).toFixed(1);
const rows: string[][] = [
  ['Render, seed issue 031, warm median', `${render.render.seedMedianMs} ms (p90 ${render.render.seedP90Ms} ms)`, `≤ ${TARGETS.renderMedianMs} ms: ${verdict(render.render.seedMedianMs <= TARGETS.renderMedianMs)}`],
  ['Render, cold (fresh process, module loading included)', `${render.render.coldMs} ms (render alone ${render.render.coldRenderOnlyMs} ms)`, ''],
  ['Personalize, per recipient', `${render.personalize.perRecipientMicros} µs`, `≤ ${TARGETS.personalizeMicros} µs: ${verdict(render.personalize.perRecipientMicros <= TARGETS.personalizeMicros)}`],
  ['MJML per recipient (the alternative)', `${render.personalize.mjmlPerRecipientMicros} µs`, ''],
  ['Speedup of render-once + personalize', `${render.personalize.speedup}×`, `≥ ${TARGETS.personalizeSpeedup}×: ${verdict(render.personalize.speedup >= TARGETS.personalizeSpeedup)}`],
  [`Send, whole local pipeline, ${send.recipients} recipients (median of ${sendReps})`, `${send.pipelineEmailsPerSec} emails/s (runs ${send.runs.pipeline.join(', ')})`, ''],
  [`Raw SendEmail to the same emulator, ${send.concurrency} calls at once, as the pipeline's lanes (median of ${sendReps})`, `${send.rawSesEmailsPerSec} emails/s (runs ${send.runs.raw.join(', ')})`, ''],
  [`The worker's DynamoDB calls alone, no SES (status BatchGetItem per ${send.workerLanes} recipients, claim, SENT; median of ${sendReps})`, `${send.bookkeepingOnlyPerSec} recipients/s (runs ${send.runs.bookkeeping.join(', ')}); on one CPU 1/pipeline ≈ 1/raw + 1/bookkeeping predicts ${(1 / (1 / send.rawSesEmailsPerSec + 1 / send.bookkeepingOnlyPerSec)).toFixed(1)} emails/s`, ''],
  ['Pipeline / raw (median of each repetition\'s pair)', `${send.ratio} (runs ${send.runs.ratios.join(', ')})`, `≥ ${TARGETS.sendRatio}: ${verdict(send.ratio >= TARGETS.sendRatio)}`],
  ['DynamoDB per recipient (send + worker), counted', `${send.ddbWritesPerRecipient} WRU, ${send.ddbReadsPerRecipient} RRU; calls ${Object.entries(send.ddbCallsPerRecipient).map(([k, v]) => `${k.replace('Command', '')} ${v}`).join(', ')}`, ''],
  ['SES events Lambda (the Send event the EventBridge rule routes per email)', `${send.events.msPerInvocation} ms per invocation, ${send.events.ddbReadsPerEvent} RRU and ${send.events.ddbWritesPerEvent} WRU per invocation`, ''],
  [`Fan-out peak RSS, ${fanout.small} subscribers (fresh process each, median)`, `${fanout.peakRssMb10k} MB (runs ${peaks(fanout.small)})`, ''],
  [`Fan-out peak RSS, ${fanout.large} subscribers (fresh process each, median)`, `${fanout.peakRssMb100k} MB (${fanout.growth}×; runs ${peaks(fanout.large)})`, `≤ ${TARGETS.fanoutGrowth}× the small one: ${verdict(fanout.growth <= TARGETS.fanoutGrowth)}`],
  ['Fan-out heap after a full GC, every run', `${fanout.runs.map((r) => `${r.heapAfterGcMb}`).join(', ')} MB (RSS sampled at each enqueue, highest: ${fanout.runs.map((r) => `${r.fanoutSampledPeakRssMb}`).join(', ')} MB)`, 'flat = nothing kept per recipient'],
  ['Fan-out enqueue rate (render excluded)', `${fanout.enqueueRecipientsPerSec} recipients/s`, ''],
  ['AWS cost on top of SES, per million emails (model, measured inputs)', `$${cost.total.toFixed(2)} (SES itself $${cost.sesUsdPerMillion.toFixed(0)})`, `< $${TARGETS.usdPerMillion}: ${verdict(cost.total < TARGETS.usdPerMillion)}`],
  ...cost.lines.map((l) => [`· ${l.item}`, `$${l.usdPerMillion.toFixed(3)}`, l.basis]),
  [`Same, if EventBridge billed SES's events on the default bus ($${(EVENTBRIDGE_BILLED_EVENT_USD * 1e6).toFixed(2)}/M)`, `$${costIfBusEventsBilled.total.toFixed(2)}`, ''],
  ['Worker bundle (index.mjs, AWS SDK included)', `${worker.bundleKb} KB`, `≤ ${TARGETS.bundleKb} KB: ${verdict(worker.bundleKb <= TARGETS.bundleKb)}`],
  [`Worker module init, fresh process (median of ${worker.initRunsMs.length})`, `${worker.initMs} ms (runs ${worker.initRunsMs.join(', ')})`, `≤ ${TARGETS.initMs} ms: ${verdict(worker.initMs <= TARGETS.initMs)}`],
  ...Object.entries(coldStart).flatMap(([name, f]) => [
    [`${name} asset: index.mjs ${f.bundleKb} KB${f.assetKb > f.bundleKb ? ' + templates' : ''}`, `${f.assetKb} KB, zipped ${f.zipKb} KB`, `≤ ${TARGETS.functionZipKb} KB zipped: ${verdict(f.zipKb <= TARGETS.functionZipKb)}`],
    [`${name} module init, fresh process (median of ${f.initRunsMs.length})`, `${f.initMs} ms (runs ${f.initRunsMs.join(', ')})`, `≤ ${TARGETS.functionInitMs} ms: ${verdict(f.initMs <= TARGETS.functionInitMs)}`],
  ]),
];
const busy = Number(machine.loadAtStart.split(' / ')[0]) > machine.cores;
const table = [
  `\n## ${started.toISOString().slice(0, 16).replace('T', ' ')} UTC${quick ? ' (quick)' : ''}`,
  '',
  `Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.ramGb} GB RAM, Node ${machine.node}, ${machine.os}. ` +
    `Load average (1/5/15 min) ${machine.loadAtStart} at start, ${load()} at the end${busy ? ' (busy: other processes competed for the CPU)' : ''}. ` +
    `Took ${minutes} min.`,
  '',
  `Cost model: us-east-1 prices, Lambda arm64 at ${FUNCTION_MEMORY_MB.worker} MB (worker), ${FUNCTION_MEMORY_MB.sesEvents} MB (SES events) and ${FUNCTION_MEMORY_MB.send} MB (send), ` +
    `default sizing (SES rate 14/s × 0.8: ${sizing.maxConcurrency} workers, batch ${sizing.batchSize}); see the cost model in README.md (Benchmarks).`,
  '',
  '| Measure | Result | Target |',
  '| --- | --- | --- |',
  ...rows.map((r) => `| ${r.join(' | ')} |`),
  '',
].join('\n');
if (history) {
  const resultsMd = join(HERE, 'RESULTS.md');
  if (!existsSync(resultsMd)) writeFileSync(resultsMd, '# Benchmark results\n\nAppended by `npm run bench`; newest last.\n');
  appendFileSync(resultsMd, table);
}
process.stdout.write(`${table}\nWrote ${outFile}${history ? ' and appended to bench/RESULTS.md' : ''}\n`);
