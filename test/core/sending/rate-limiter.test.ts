import { describe, expect, it } from 'vitest';
import { Pacer, TokenBucket, type Sleeper } from '../../../lambdas/core/sending/rate-limiter.ts';

/** A fake clock: sleeping advances time instantly, so tests measure virtual time, not wall time. */
function fakeTime(): Sleeper & { t: number } {
  const time = {
    t: 0,
    nowMs: () => time.t,
    sleep: async (ms: number) => {
      time.t += ms;
    },
  };
  return time;
}

describe('TokenBucket', () => {
  it('a taker whose token would come after its maxWaitMs gives up at once, takes nothing, and lets the next one be served', async () => {
    const time = fakeTime();
    const bucket = new TokenBucket(1, time);
    expect(await bucket.take()).toBe(true); // the initial token
    // The next token is 1000 ms away: a 500 ms budget gives up without sleeping.
    expect(await bucket.take(500)).toBe(false);
    expect(time.t).toBe(0);
    const [late, patient] = await Promise.all([bucket.take(10), bucket.take(5_000)]);
    expect(late).toBe(false);
    expect(patient).toBe(true);
    expect(time.t).toBe(1000);
  });


  it('never lets more than rate × seconds (+1 burst token) through', async () => {
    const time = fakeTime();
    const bucket = new TokenBucket(10, time);
    for (let i = 0; i < 101; i++) await bucket.take();
    // 101 tokens at 10/s with one initial token: at least 10 virtual seconds.
    expect(time.t).toBeGreaterThanOrEqual(10_000);
    expect(time.t).toBeLessThan(10_500);
  });

  it('serves concurrent takers without exceeding the rate', async () => {
    const time = fakeTime();
    const bucket = new TokenBucket(5, time);
    await Promise.all(Array.from({ length: 21 }, () => bucket.take()));
    expect(time.t).toBeGreaterThanOrEqual(4_000);
  });
});

describe('Pacer', () => {
  it('paces at fraction × MaxSendRate × share and re-reads the quota after refreshMs', async () => {
    const time = fakeTime();
    let max = 100;
    let reads = 0;
    const pacer = new Pacer(async () => (reads++, max), { fraction: 0.8, share: 0.5, refreshMs: 60_000, time });
    expect(await pacer.rate()).toBeCloseTo(40);
    max = 200;
    expect(await pacer.rate()).toBeCloseTo(40); // not refreshed yet
    time.t += 60_001;
    expect(await pacer.rate()).toBeCloseTo(80);
    expect(reads).toBe(2);
  });

  it('a fixed max rate never reads the quota; a failing quota read falls back instead of throwing', async () => {
    const time = fakeTime();
    const fixed = new Pacer(async () => {
      throw new Error('must not be called');
    }, { fixedMaxRate: 10, time });
    expect(await fixed.rate()).toBeCloseTo(8);
    const failing = new Pacer(async () => {
      throw new Error('GetAccount failed');
    }, { time });
    await failing.acquire();
    expect(await failing.rate()).toBeGreaterThan(0);
  });
});
