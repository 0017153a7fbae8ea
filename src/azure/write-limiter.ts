/** The operator-wide budget for ARM writes: a token bucket every PUT, PATCH, DELETE and POST waits on. */

/**
 * Why: ARM throttles writes per subscription and principal; an operator that writes for many
 * tenants at once (a restart, a fleet-wide change) can exhaust that budget and get 429 storms for
 * everyone. The limiter spreads writes out so the operator stays under its own, configured rate.
 */
/** The part of an abort signal the limiter uses (the SDK pipeline hands out this narrower shape). */
export interface AbortSignalLike {
  readonly aborted: boolean;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

export interface WriteLimiter {
  /**
   * The bucket of one subscription, when the budget is kept per subscription (ARM's throttles
   * are per subscription and principal); absent for a single budget.
   */
  forSubscription?(subscriptionId: string): WriteLimiter;
  /**
   * Wait for a write token. Callers are served first come, first served. Rejects with an
   * `AbortError` if `signal` aborts while waiting (the token is then not consumed).
   */
  acquire(signal?: AbortSignalLike): Promise<void>;
  /** Counters for metrics and tests. */
  readonly stats: WriteLimiterStats;
}

export interface WriteLimiterStats {
  /** Tokens handed out. */
  granted: number;
  /** Acquisitions that had to wait for a token. */
  delayed: number;
  /** Total time spent waiting, in milliseconds. */
  waitedMs: number;
}

export interface WriteLimiterOptions {
  /** Sustained rate: tokens added per second (> 0). */
  writesPerSecond: number;
  /** Bucket size: how many writes may go out back to back after a quiet period (>= 1). */
  burst: number;
  /** Time source in milliseconds (injected in tests). */
  now?: () => number;
  /** Sleep (injected in tests); must reject when `signal` aborts. */
  sleep?: (ms: number, signal?: AbortSignalLike) => Promise<void>;
}

function abortError(): Error {
  return new DOMException('The write was aborted while waiting for the write limiter.', 'AbortError');
}

function abortableSleep(ms: number, signal?: AbortSignalLike): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(abortError());
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(abortError());
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** A token bucket that starts full. */
export function createWriteLimiter(options: WriteLimiterOptions): WriteLimiter {
  if (!(options.writesPerSecond > 0)) throw new RangeError('writesPerSecond must be > 0');
  if (!(options.burst >= 1)) throw new RangeError('burst must be >= 1');
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? abortableSleep;
  const ratePerMs = options.writesPerSecond / 1000;
  let tokens = options.burst;
  let last = now();
  let queue: Promise<void> = Promise.resolve();
  const stats: WriteLimiterStats = { granted: 0, delayed: 0, waitedMs: 0 };

  const refill = (): void => {
    const t = now();
    tokens = Math.min(options.burst, tokens + (t - last) * ratePerMs);
    last = t;
  };

  return {
    stats,
    acquire(signal) {
      // Chain on the queue so waiters are served in order and never race for the same token.
      const turn = queue.then(async () => {
        if (signal?.aborted) throw abortError();
        refill();
        if (tokens < 1) {
          const waitMs = Math.ceil((1 - tokens) / ratePerMs);
          stats.delayed += 1;
          stats.waitedMs += waitMs;
          await sleep(waitMs, signal);
          refill();
        }
        tokens = Math.max(0, tokens - 1);
        stats.granted += 1;
      });
      queue = turn.catch(() => undefined);
      return turn;
    },
  };
}

/**
 * One token bucket per subscription, each with `options` (ARM throttles each subscription and
 * principal on its own: a fleet spread over subscription shards has each one's budget). A request
 * without a subscription in its URL uses a bucket of its own. Stats add up over every bucket.
 */
export function createPerSubscriptionLimiter(options: WriteLimiterOptions): WriteLimiter {
  const buckets = new Map<string, WriteLimiter>();
  const bucket = (subscriptionId: string): WriteLimiter => {
    const key = subscriptionId.toLowerCase();
    let limiter = buckets.get(key);
    if (limiter === undefined) {
      limiter = createWriteLimiter(options);
      buckets.set(key, limiter);
    }
    return limiter;
  };
  const sum = (field: keyof WriteLimiterStats) => [...buckets.values()].reduce((a, l) => a + l.stats[field], 0);
  return {
    get stats(): WriteLimiterStats {
      return { granted: sum('granted'), delayed: sum('delayed'), waitedMs: sum('waitedMs') };
    },
    acquire: (signal) => bucket('').acquire(signal),
    forSubscription: bucket,
  };
}

/** The subscription an ARM request URL names (`.../subscriptions/{id}/...`), or '' when none. */
export function subscriptionOfUrl(url: string): string {
  return /\/subscriptions\/([^/?#]+)/i.exec(url)?.[1] ?? '';
}
