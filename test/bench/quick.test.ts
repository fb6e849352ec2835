/**
 * Smoke test of `npm run bench -- --quick` (issue 8): small sizes, one repetition, results written to a temporary
 * file and no line added to bench/RESULTS.md. Checks that every field the issue names is there as a finite number.
 * No timing assertions: speed is what the benchmark reports, not what a test decides.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');
const FIELDS = [
  'render.seedMedianMs', 'render.coldMs',
  'personalize.perRecipientMicros', 'personalize.mjmlPerRecipientMicros', 'personalize.speedup',
  'send.pipelineEmailsPerSec', 'send.rawSesEmailsPerSec', 'send.ratio', 'send.ddbWritesPerRecipient', 'send.ddbReadsPerRecipient',
  'fanout.peakRssMb10k', 'fanout.peakRssMb100k', 'fanout.enqueueRecipientsPerSec',
  'cost.usdPerMillionOnTopOfSes',
  'coldStart.bundleKb', 'coldStart.initMs',
  // Issue 14: every function's init, and each asset's size unzipped and zipped.
  'coldStart.subscribersInitMs', 'coldStart.archiveInitMs', 'coldStart.sendInitMs', 'coldStart.sesEventsInitMs',
  ...['subscribers', 'archive', 'send', 'worker', 'sesEvents'].flatMap((f) => [`coldStart.assetKb.${f}`, `coldStart.zipKb.${f}`]),
];

const dir = mkdtempSync(join(tmpdir(), 'bench-quick-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Every leaf of a JSON object as `a.b` → value. */
function leaves(value: unknown, prefix = ''): Record<string, unknown> {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return { [prefix]: value };
  return Object.assign({}, ...Object.entries(value).map(([k, v]) => leaves(v, prefix ? `${prefix}.${k}` : k)));
}

describe('npm run bench -- --quick', () => {
  it('writes every field of the issue as a finite number, to the given file, and leaves RESULTS.md alone', () => {
    const out = join(dir, 'results.json');
    const history = readFileSync(join(ROOT, 'bench/RESULTS.md'), 'utf8');
    const run = spawnSync('npm', ['run', 'bench', '--', '--quick', '--out', out, '--no-history'], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    });
    expect(run.status, run.stderr.split('\n').slice(-5).join('\n')).toBe(0);

    const fields = leaves(JSON.parse(readFileSync(out, 'utf8')));
    expect(Object.keys(fields).sort()).toEqual([...FIELDS].sort());
    for (const f of FIELDS) {
      expect(typeof fields[f], f).toBe('number');
      expect(Number.isFinite(fields[f]), f).toBe(true);
    }
    expect(readFileSync(join(ROOT, 'bench/RESULTS.md'), 'utf8')).toBe(history);
  }, 900_000);
});
