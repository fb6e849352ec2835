/**
 * Render and personalization benchmark (issue 2): warm and cold render of the seed issue, the cheap
 * per-recipient pass, and what running MJML per recipient would cost instead. Not a test: numbers only.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RecipientData } from '../lambdas/core/model.ts';
import { compilePersonalizer } from '../lambdas/core/issue/personalize.ts';
import { compileMjml, fillTemplate, renderIssue, type RenderOptions } from '../lambdas/core/issue/render.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const SEED_ISSUE = join(ROOT, 'content/issues/031-akira-ml-news.md');
const OPTIONS: RenderOptions = { postalAddress: '1-2-3 Example, Chiyoda, Tokyo', senderName: 'Akira' };

export interface RenderBenchResult {
  render: {
    /** Median of warm renders of the seed issue (parse + Handlebars + MJML + text part), ms. */
    seedMedianMs: number;
    seedP90Ms: number;
    /** First render in a fresh Node process, module loading included, ms. */
    coldMs: number;
    /** The same first render, module loading excluded, ms. */
    coldRenderOnlyMs: number;
    htmlBytes: number;
    iterations: number;
  };
  personalize: {
    perRecipientMicros: number;
    /** Filling the templates and running MJML for one recipient, µs. */
    mjmlPerRecipientMicros: number;
    /** mjmlPerRecipientMicros / perRecipientMicros. */
    speedup: number;
    recipients: number;
    mjmlRecipients: number;
  };
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))]!;
}

const round = (n: number, digits = 2) => Number(n.toFixed(digits));

function recipients(n: number): RecipientData[] {
  return Array.from({ length: n }, (_, i) => ({
    unsubscribeUrl: `https://news.example.com/unsubscribe?token=${'t'.repeat(80)}${i}`,
    viewInBrowserUrl: 'https://news.example.com/archive/issue-31',
    name: i % 3 ? `Reader <${i}> & co` : undefined,
    email: `reader${i}@example.com`,
  }));
}

/** Cold render: a child process that imports the renderer and renders once. */
function coldRender(): { coldMs: number; coldRenderOnlyMs: number } {
  const script = `
    const t0 = performance.now();
    const { renderIssue } = await import(${JSON.stringify(join(ROOT, 'lambdas/core/issue/render.ts'))});
    const { readFileSync } = await import('node:fs');
    const md = readFileSync(${JSON.stringify(SEED_ISSUE)}, 'utf8');
    const t1 = performance.now();
    await renderIssue(md, ${JSON.stringify(OPTIONS)});
    const t2 = performance.now();
    console.log(JSON.stringify({ coldMs: t2 - t0, coldRenderOnlyMs: t2 - t1 }));`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`cold render failed: ${r.stderr.split('\n')[0]}`);
  const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { coldMs: number; coldRenderOnlyMs: number };
  return { coldMs: round(out.coldMs), coldRenderOnlyMs: round(out.coldRenderOnlyMs) };
}

export async function runRenderBench({ quick = false } = {}): Promise<RenderBenchResult> {
  const markdown = readFileSync(SEED_ISSUE, 'utf8');
  const cold = coldRender();

  const warmup = quick ? 5 : 15;
  const iterations = quick ? 20 : 100;
  for (let i = 0; i < warmup; i++) await renderIssue(markdown, OPTIONS);
  const times: number[] = [];
  let rendered = await renderIssue(markdown, OPTIONS);
  for (let i = 0; i < iterations; i++) {
    const t = performance.now();
    rendered = await renderIssue(markdown, OPTIONS);
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);

  const count = quick ? 20_000 : 200_000;
  const people = recipients(1000);
  const personalize = compilePersonalizer(rendered);
  let sink = 0;
  for (let i = 0; i < 2000; i++) sink += personalize(people[i % people.length]!).html.length;
  const t0 = performance.now();
  for (let i = 0; i < count; i++) sink += personalize(people[i % people.length]!).html.length;
  const perRecipientMicros = ((performance.now() - t0) * 1000) / count;

  const mjmlRecipients = quick ? 5 : 20;
  const t1 = performance.now();
  for (let i = 0; i < mjmlRecipients; i++) sink += (await compileMjml(fillTemplate(rendered.issue, OPTIONS, people[i]!))).length;
  const mjmlPerRecipientMicros = ((performance.now() - t1) * 1000) / mjmlRecipients;
  if (sink === 0) throw new Error('unreachable: keeps the loops from being optimized away');

  return {
    render: {
      seedMedianMs: round(quantile(times, 0.5)),
      seedP90Ms: round(quantile(times, 0.9)),
      ...cold,
      htmlBytes: rendered.meta.bytes,
      iterations,
    },
    personalize: {
      perRecipientMicros: round(perRecipientMicros, 3),
      mjmlPerRecipientMicros: round(mjmlPerRecipientMicros, 0),
      speedup: round(mjmlPerRecipientMicros / perRecipientMicros, 0),
      recipients: count,
      mjmlRecipients,
    },
  };
}
