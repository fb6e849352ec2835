/**
 * The local scheduler's own rules, with a recording send function: a DISABLED schedule never fires, an ENABLED one
 * due in the past fires once at start-up, and a firing that throws is tried again, then given up.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { SendResult } from '../../lambdas/core/sending/send-campaign.ts';
import { SCHEDULES_PATH, SEND_FUNCTION_ARN } from '../../lambdas/local/names.ts';
import { startLocalScheduler, type FireReport, type LocalScheduler } from '../../lambdas/local/schedules.ts';
import { httpEvent } from '../support/emulators.ts';

let dir: string | undefined;
let scheduler: LocalScheduler | undefined;
afterEach(async () => {
  await scheduler?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
  scheduler = undefined;
  dir = undefined;
});

const notFound = { status: 'not-found', message: 'recorded only' } as unknown as SendResult;

function start(invoke: (event: unknown) => Promise<SendResult>) {
  dir = mkdtempSync(join(tmpdir(), 'local-schedules-'));
  const reports: FireReport[] = [];
  scheduler = startLocalScheduler({ dataDir: dir, invoke, onFire: (r) => reports.push(r), retryMs: 20 });
  return reports;
}

async function create(name: string, state: 'ENABLED' | 'DISABLED') {
  const body = JSON.stringify({
    GroupName: 'newsletter', ScheduleExpression: 'at(2020-01-01T00:00:00)', State: state, ActionAfterCompletion: 'DELETE',
    Target: { Arn: SEND_FUNCTION_ARN, RoleArn: 'arn:aws:iam::000000000000:role/x', Input: JSON.stringify({ name }) },
  });
  const res = await scheduler!.route(httpEvent('POST', `${SCHEDULES_PATH}/${name}`, { body, contentType: 'application/json' }));
  expect((res as { statusCode: number }).statusCode).toBe(200);
}

const until = async (check: () => boolean) => {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
};

describe('local scheduler', () => {
  it('fires an overdue ENABLED schedule once and never a DISABLED one', async () => {
    const fired: unknown[] = [];
    const reports = start(async (e) => (fired.push(e), notFound));
    await create('off', 'DISABLED');
    await create('on', 'ENABLED');
    await until(() => reports.length >= 1);
    await new Promise((r) => setTimeout(r, 100));
    expect(fired).toEqual([{ name: 'on' }]);
    expect(scheduler!.pending().map((s) => s.Name)).toEqual([]);
  });

  it('tries a firing that throws three times in all, then gives it up', async () => {
    let calls = 0;
    const reports = start(async () => {
      calls++;
      throw new Error('table unreachable');
    });
    await create('flaky', 'ENABLED');
    await until(() => reports.length >= 3);
    expect(calls).toBe(3);
    expect(reports.map((r) => ('willRetry' in r ? r.willRetry : 'fired'))).toEqual([true, true, false]);
    expect(scheduler!.pending()).toEqual([]);
  });
});
