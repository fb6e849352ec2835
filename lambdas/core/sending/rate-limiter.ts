/**
 * Pacing below SES MaxSendRate: a token bucket (clock and sleep injected, so it is testable without timers) whose
 * rate is refreshed from the Mailer's quota every `refreshMs` during a send.
 */

export interface Sleeper {
  /** Monotonic-ish milliseconds. */
  nowMs(): number;
  sleep(ms: number): Promise<void>;
}

export const realSleeper: Sleeper = {
  nowMs: () => performance.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/**
 * A token bucket: `take()` resolves when a token is available. Capacity is one second of tokens (at least 1), so
 * a burst never exceeds the per-second rate.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private rate: number,
    private readonly time: Sleeper = realSleeper,
  ) {
    if (!(rate > 0)) throw new RangeError('rate must be > 0');
    this.tokens = 1;
    this.last = time.nowMs();
  }

  get ratePerSecond(): number {
    return this.rate;
  }

  setRate(rate: number): void {
    if (rate > 0) {
      this.refill();
      this.rate = rate;
    }
  }

  private refill(): void {
    const now = this.time.nowMs();
    const capacity = Math.max(1, this.rate);
    this.tokens = Math.min(capacity, this.tokens + ((now - this.last) / 1000) * this.rate);
    this.last = now;
  }

  /**
   * Wait for one token. Callers are served in order (a promise chain), so no waiter starves. With `maxWaitMs`, a
   * caller whose token would come later than that gives up at once and resolves `false` (taking nothing), so a
   * worker near its deadline never waits past it; the next caller in line is served.
   */
  take(maxWaitMs = Number.POSITIVE_INFINITY): Promise<boolean> {
    const until = this.time.nowMs() + maxWaitMs;
    const turn = this.queue.then(async () => {
      for (;;) {
        this.refill();
        if (this.tokens >= 1) {
          this.tokens -= 1;
          return true;
        }
        const wait = Math.ceil(((1 - this.tokens) / this.rate) * 1000);
        if (this.time.nowMs() + wait > until) return false;
        await this.time.sleep(wait);
      }
    });
    this.queue = turn.then(
      () => undefined,
      () => undefined,
    );
    return turn;
  }

  /** After a throttling answer, drop the saved burst so the next sends are spaced at the plain rate. */
  drain(): void {
    this.refill();
    this.tokens = Math.min(this.tokens, 0);
  }
}

export interface PacerOptions {
  /** Fraction of MaxSendRate to use (default 0.8). */
  fraction?: number;
  /** Fixed account rate (emails/second): when set, the quota is never read. */
  fixedMaxRate?: number;
  /** This consumer's share of the account rate: 1 locally, 1/maxConcurrency per worker on AWS (default 1). */
  share?: number;
  /** How often to re-read MaxSendRate during a send (default 60 s). */
  refreshMs?: number;
  time?: Sleeper;
}

/** Rate = fraction × MaxSendRate × share, refreshed from `readMaxRate` at most every `refreshMs`. */
export class Pacer {
  private bucket: TokenBucket | undefined;
  private readAt = Number.NEGATIVE_INFINITY;
  private readonly fraction: number;
  private readonly share: number;
  private readonly refreshMs: number;
  private readonly time: Sleeper;
  private refreshing: Promise<void> | undefined;

  constructor(
    private readonly readMaxRate: () => Promise<number>,
    opts: PacerOptions = {},
  ) {
    this.fraction = opts.fraction ?? 0.8;
    this.share = opts.share ?? 1;
    this.refreshMs = opts.refreshMs ?? 60_000;
    this.time = opts.time ?? realSleeper;
    if (opts.fixedMaxRate) {
      this.bucket = new TokenBucket(this.effective(opts.fixedMaxRate), this.time);
      this.readAt = Number.POSITIVE_INFINITY;
    }
  }

  private effective(maxRate: number): number {
    return Math.max(0.01, maxRate * this.fraction * this.share);
  }

  /** Current pacing rate in emails/second (reads the quota on first use). */
  async rate(): Promise<number> {
    await this.refresh();
    return this.bucket!.ratePerSecond;
  }

  private async refresh(): Promise<void> {
    if (this.time.nowMs() - this.readAt < this.refreshMs) return;
    this.refreshing ??= (async () => {
      try {
        const max = await this.readMaxRate();
        const rate = this.effective(max);
        if (this.bucket) this.bucket.setRate(rate);
        else this.bucket = new TokenBucket(rate, this.time);
      } catch {
        // Keep the last known rate; with none yet, start at 1/s rather than not at all.
        this.bucket ??= new TokenBucket(this.effective(1), this.time);
      } finally {
        this.readAt = this.time.nowMs();
        this.refreshing = undefined;
      }
    })();
    await this.refreshing;
  }

  /**
   * Wait for permission to send one email; `false` when it would not come within `maxWaitMs` (the caller's
   * deadline), in which case nothing was taken.
   */
  async acquire(maxWaitMs = Number.POSITIVE_INFINITY): Promise<boolean> {
    const start = this.time.nowMs();
    await this.refresh();
    return this.bucket!.take(maxWaitMs - (this.time.nowMs() - start));
  }

  /** Called after a throttling answer from SES. */
  throttled(): void {
    this.bucket?.drain();
  }
}
