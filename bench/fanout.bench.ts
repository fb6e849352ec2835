/**
 * Fan-out benchmark (issue 8, part 4): the send Lambda's peak RSS at 10,000 and at 100,000 confirmed subscribers,
 * each in a fresh child process (bench/fanout-child.ts) so nothing carries over, with the queue a counting sink.
 * The emulators stay in this process: dynalite's own memory for 100,000 items must not count as the fan-out's. So the
 * child reports its own high-water mark (VmHWM), not getrusage's maxRSS, which on Linux starts at this process's
 * resident memory outside the V8 heap (dynalite's Buffers) at spawn time (see bench/fanout-child.ts); each run keeps
 * both, and this process's RSS, to show it.
 * dynalite runs in memory (LevelDB on disk seeds about 1.5x slower here, and nothing needs to survive the run).
 */
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { localDynamoClient, startEmulators } from '../lambdas/local/emulators.ts';
import type { FanoutChildInput, FanoutChildOutput } from './fanout-child.ts';
import { seedConfirmed } from './seed.ts';
import { median } from './send.bench.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

export interface FanoutBenchResult {
  /** Medians over the repetitions. */
  peakRssMb10k: number;
  peakRssMb100k: number;
  /** Recipients enqueued per second during the large fan-out (render excluded), median. */
  enqueueRecipientsPerSec: number;
  /** peakRssMb100k / peakRssMb10k (target ≤ 1.2). */
  growth: number;
  /** `parentRssMb`: this process's RSS when it spawned the child (getrusage charges its non-heap part to the child). */
  runs: Array<{ subscribers: number; parentRssMb: number } & FanoutChildOutput>;
  seedSeconds: number;
  /** The sizes measured (10,000 and 100,000 unless --quick). */
  small: number;
  large: number;
}

function runChild(input: FanoutChildInput): Promise<FanoutChildOutput> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', join(ROOT, 'bench/fanout-child.ts'), JSON.stringify(input)], {
      cwd: ROOT,
      env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`fan-out child exited ${code}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`));
      resolve(JSON.parse(stdout.trim().split('\n').pop()!) as FanoutChildOutput);
    });
  });
}

const round = (n: number, digits = 1) => Number(n.toFixed(digits));

export async function runFanoutBench({
  small = 10_000,
  large = 100_000,
  repetitions = 3,
  log = (_: string): void => undefined,
}: { small?: number; large?: number; repetitions?: number; log?: (line: string) => void } = {}): Promise<FanoutBenchResult> {
  const emulators = await startEmulators({ dynamoPort: 0, sesPort: 0 });
  const client = localDynamoClient(emulators.dynamoEndpoint);
  try {
    const base = { dynamoEndpoint: emulators.dynamoEndpoint, sesEndpoint: emulators.sesEndpoint, tableName: emulators.tableName };
    const stamp = Date.now().toString(36);
    let seedSeconds = await seedConfirmed(client, emulators.tableName, 0, small);
    const runs: FanoutBenchResult['runs'] = [];
    // Each size `repetitions` times, each in a fresh process; the medians are quoted. Peak RSS depends on when the
    // garbage collector runs, which a busy machine delays: repeating shows the spread.
    const measure = async (subscribers: number) => {
      const mine: FanoutBenchResult['runs'] = [];
      for (let i = 0; i < repetitions; i++) {
        const parentRssMb = process.memoryUsage.rss() / (1024 * 1024);
        const r = { subscribers, parentRssMb, ...(await runChild({ ...base, slug: `fanout-${stamp}-${subscribers}-${i}` })) };
        if (r.enqueued !== subscribers) throw new Error(`fan-out enqueued ${r.enqueued} of ${subscribers}`);
        mine.push(r);
      }
      runs.push(...mine);
      const mb = (pick: (r: FanoutBenchResult['runs'][number]) => number) => mine.map((r) => pick(r).toFixed(0)).join(', ');
      log(`fan-out ${subscribers}: peak RSS ${mb((r) => r.peakRssMb)} MB (getrusage maxRSS ${mb((r) => r.rusageMaxRssMb)} MB, parent RSS at spawn ${mb((r) => r.parentRssMb)} MB)`);
      return { peak: median(mine.map((r) => r.peakRssMb)), rate: median(mine.map((r) => r.enqueued / r.fanoutSeconds)) };
    };
    const a = await measure(small);
    const t = performance.now();
    seedSeconds += await seedConfirmed(client, emulators.tableName, small, large);
    log(`seeded up to ${large} subscribers in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    const b = await measure(large);
    return {
      peakRssMb10k: round(a.peak),
      peakRssMb100k: round(b.peak),
      enqueueRecipientsPerSec: round(b.rate, 0),
      growth: round(b.peak / a.peak, 3),
      runs: runs.map((r) => ({ ...r, peakRssMb: round(r.peakRssMb), rusageMaxRssMb: round(r.rusageMaxRssMb), parentRssMb: round(r.parentRssMb), fanoutSampledPeakRssMb: round(r.fanoutSampledPeakRssMb), heapAfterGcMb: round(r.heapAfterGcMb), baselineRssMb: round(r.baselineRssMb), renderSeconds: round(r.renderSeconds, 3), fanoutSeconds: round(r.fanoutSeconds, 3) })),
      seedSeconds: round(seedSeconds),
      small,
      large,
    };
  } finally {
    client.destroy();
    await emulators.stop();
  }
}
