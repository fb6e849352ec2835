/**
 * One send Lambda fan-out in a fresh process, for the fan-out memory benchmark: the send handler as the local
 * stack wires it, against the parent's dynalite, enqueueing into a counting sink (no workers, nothing kept).
 * Prints one JSON line: peak RSS (the whole invocation, as Lambda's "Max Memory Used"), RSS sampled during the
 * fan-out, and timings.
 *
 * The peak is this process image's own high-water mark (VmHWM), not getrusage's maxRSS: Linux keeps ru_maxrss
 * across execve, and between fork and exec the child is a copy of the parent, so a freshly spawned child's maxRSS
 * starts at the parent's resident memory outside the V8 heap (measured: a parent holding 300 MB of Buffers gives a
 * fresh `node -e` a maxRSS of 305 MB). The parent holds dynalite, whose in-memory store keeps every subscriber in
 * Buffers, so maxRSS grew with the audience although the fan-out did not (one run at 100,000: maxRSS 236 MB, VmHWM
 * 169 MB; at 10,000 both 168 MB). `rusageMaxRssMb` keeps the getrusage figure, to show the difference.
 *
 * Usage: node --expose-gc --import tsx bench/fanout-child.ts '<json FanoutChildInput>'
 */
import { readFileSync } from 'node:fs';
import type { Queue, QueueMessage } from '../lambdas/core/ports.ts';
import { renderForSend } from '../lambdas/core/sending/render-for-send.ts';
import { attachSending } from '../lambdas/local/sending.ts';
import { POSTAL_ADDRESS, seedIssueAs } from './send.bench.ts';

export interface FanoutChildInput {
  dynamoEndpoint: string;
  sesEndpoint: string;
  tableName: string;
  slug: string;
}

export interface FanoutChildOutput {
  enqueued: number;
  messages: number;
  /** Average body size of one queue message, bytes. */
  messageBytes: number;
  sendBatchCalls: number;
  /** This process's own peak RSS at the end (VmHWM; see the file header), MB. */
  peakRssMb: number;
  /** process.resourceUsage().maxRSS at the end, MB: includes the parent's RSS inherited at spawn (file header). */
  rusageMaxRssMb: number;
  /** Highest RSS sampled at each SendMessageBatch, MB. */
  fanoutSampledPeakRssMb: number;
  /** RSS after loading and wiring, before the invocation, MB. */
  baselineRssMb: number;
  /** V8 heap in use after the invocation and a full GC, MB: flat across sizes when nothing is kept per recipient. */
  heapAfterGcMb: number;
  renderSeconds: number;
  /** The invocation without the render: campaign creation, paging, enqueueing, cursor saves. */
  fanoutSeconds: number;
}

const MB = 1024 * 1024;

/**
 * Peak RSS of this process image since its exec, MB: VmHWM from /proc/self/status. Elsewhere than Linux, falls back
 * to getrusage's maxRSS, which may include the parent's RSS (see the file header).
 */
function ownPeakRssMb(): number {
  try {
    const m = /^VmHWM:\s+(\d+)\s+kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]) / 1024;
  } catch {
    // no procfs
  }
  return process.resourceUsage().maxRSS / 1024;
}

const input = JSON.parse(process.argv[2] ?? '{}') as FanoutChildInput;

let messages = 0;
let bytes = 0;
let sendBatchCalls = 0;
let sampledPeak = 0;
const sink: Queue = {
  async sendBatch(batch: QueueMessage[]) {
    sendBatchCalls += 1;
    messages += batch.length;
    for (const m of batch) bytes += Buffer.byteLength(m.body);
    sampledPeak = Math.max(sampledPeak, process.memoryUsage.rss());
    return { failedIds: [] };
  },
};

let renderSeconds = 0;
const render = renderForSend({ postalAddress: POSTAL_ADDRESS });
const sending = attachSending(
  { dynamoEndpoint: input.dynamoEndpoint, sesEndpoint: input.sesEndpoint, tableName: input.tableName, publicBaseUrl: 'http://127.0.0.1:3000' },
  {
    sender: 'Bench <news@example.com>',
    postalAddress: POSTAL_ADDRESS,
    tokenKeys: { current: 'k1', keys: { k1: 'bench-fanout-secret-0123456789abcdef' } },
    maxSendRate: 1_000_000,
    sendQueue: sink,
    render: async (markdown) => {
      const t = performance.now();
      try {
        return await render(markdown);
      } finally {
        renderSeconds += (performance.now() - t) / 1000;
      }
    },
  },
);

const markdown = seedIssueAs(input.slug);
const baselineRssMb = process.memoryUsage.rss() / MB;
const t0 = performance.now();
const result = await sending.invokeSend({ issue: { markdown }, mode: 'send', force: true });
const seconds = (performance.now() - t0) / 1000;
if (result.status !== 'complete') throw new Error(`fan-out ended ${result.status}`);
const peakRssMb = ownPeakRssMb();
const rusageMaxRssMb = process.resourceUsage().maxRSS / 1024;
(globalThis as { gc?: () => void }).gc?.();
const out: FanoutChildOutput = {
  enqueued: result.campaign.enqueued,
  messages,
  messageBytes: messages ? bytes / messages : 0,
  sendBatchCalls,
  peakRssMb,
  rusageMaxRssMb,
  heapAfterGcMb: process.memoryUsage().heapUsed / MB,
  fanoutSampledPeakRssMb: sampledPeak / MB,
  baselineRssMb,
  renderSeconds,
  fanoutSeconds: seconds - renderSeconds,
};
await sending.stop();
process.stdout.write(`${JSON.stringify(out)}\n`);
