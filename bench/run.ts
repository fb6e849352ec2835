/**
 * `npm run bench [-- --quick]`: runs the benchmarks, writes bench/results.json (latest run, machine-readable)
 * and appends a dated table to bench/RESULTS.md (history, human-readable). Targets are reported, not asserted.
 */
import { appendFileSync, existsSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, platform, release } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runRenderBench } from './render.bench.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
const quick = process.argv.includes('--quick');

const TARGETS = { renderMedianMs: 30, personalizeMicros: 10 };

const machine = {
  cpu: cpus()[0]?.model.trim() ?? 'unknown',
  cores: cpus().length,
  node: process.version,
  os: `${platform()} ${release()}`,
  /** 1-minute load average when the run started: above `cores`, other work competed for the CPU. */
  loadAverage: Number(loadavg()[0]!.toFixed(2)),
};

const render = await runRenderBench({ quick });
const results = { date: new Date().toISOString(), quick, machine, targets: TARGETS, ...render };
writeFileSync(join(HERE, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);

const verdict = (ok: boolean) => (ok ? 'met' : '**MISSED**');
const rows = [
  ['Render, seed issue 031, warm median', `${render.render.seedMedianMs} ms (p90 ${render.render.seedP90Ms} ms)`, `≤ ${TARGETS.renderMedianMs} ms: ${verdict(render.render.seedMedianMs <= TARGETS.renderMedianMs)}`],
  ['Render, cold (fresh process, incl. module load)', `${render.render.coldMs} ms (render alone ${render.render.coldRenderOnlyMs} ms)`, ''],
  ['Personalize, per recipient', `${render.personalize.perRecipientMicros} µs`, `≤ ${TARGETS.personalizeMicros} µs: ${verdict(render.personalize.perRecipientMicros <= TARGETS.personalizeMicros)}`],
  ['MJML per recipient (the alternative)', `${render.personalize.mjmlPerRecipientMicros} µs`, ''],
  ['Speedup of render-once + personalize', `${render.personalize.speedup}×`, ''],
  ['Seed issue HTML size', `${(render.render.htmlBytes / 1024).toFixed(1)} KB`, '< 102 KB'],
];
const table = [
  `\n## ${results.date.slice(0, 16).replace('T', ' ')} UTC${quick ? ' (quick)' : ''}`,
  '',
  `Machine: ${machine.cpu}, ${machine.cores} cores, Node ${machine.node}, ${machine.os}; load average ${machine.loadAverage} at start${machine.loadAverage > machine.cores ? ' (busy: other processes competed for the CPU)' : ''}`,
  '',
  '| Measure | Result | Target |',
  '| --- | --- | --- |',
  ...rows.map((r) => `| ${r.join(' | ')} |`),
  '',
].join('\n');
const resultsMd = join(HERE, 'RESULTS.md');
if (!existsSync(resultsMd)) writeFileSync(resultsMd, '# Benchmark results\n\nAppended by `npm run bench`; newest last.\n');
appendFileSync(resultsMd, table);
process.stdout.write(`${table}\nWrote ${join('bench', 'results.json')} and appended to ${join('bench', 'RESULTS.md')}\n`);
