/**
 * A deduplicating, rate-limited work queue of string keys, modelled on client-go's workqueue.
 *
 * Semantics:
 * - A key is in the queue at most once; adding a queued key is a no-op.
 * - A key is handed to at most one worker at a time. A key added while it is being processed
 *   is marked dirty and queued again when `done` is called, so no event is lost.
 * - `addRateLimited` delays a key by a per-key exponential backoff (base * 2^failures, capped);
 *   `forget` resets it after a success. `addAfter` delays by an explicit time (Retry-After,
 *   RequeueAfter); of several pending delays for one key the earliest wins.
 * - An overall token bucket caps how fast keys are handed out, so a mass requeue cannot
 *   turn into a request storm.
 * - Keys added as `urgent` are handed out before the others (each lane is first in, first out):
 *   work already under way (a tenant whose Deployment just became available) finishes before new
 *   work starts, so during a mass onboarding tenants become Ready one by one instead of all at
 *   the end. Adding an already queued key as urgent moves it to the urgent lane.
 */

/** The longest delay a Node timer honours (longer ones fire after 1 ms). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

export interface QueueOptions {
  /** First retry delay after a failure. */
  baseDelayMs?: number;
  /** Longest retry delay. */
  maxDelayMs?: number;
  /** Sustained hand-outs per second across all keys. */
  ratePerSecond?: number;
  /** Hand-outs allowed in a burst. */
  burst?: number;
  /** Called whenever the depth changes (for the queue-depth gauge). */
  onDepthChange?: (depth: number) => void;
}

export class WorkQueue {
  readonly #queue: string[] = [];
  readonly #urgent: string[] = [];
  readonly #queued = new Set<string>();
  readonly #processing = new Set<string>();
  /** Keys added while being processed, and whether any of those adds was urgent. */
  readonly #dirty = new Map<string, boolean>();
  readonly #failures = new Map<string, number>();
  readonly #delayed = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  readonly #waiters: ((key: string | undefined) => void)[] = [];
  readonly #baseDelayMs: number;
  readonly #maxDelayMs: number;
  readonly #ratePerSecond: number;
  readonly #burst: number;
  readonly #onDepthChange: ((depth: number) => void) | undefined;
  #tokens: number;
  #lastRefill = Date.now();
  #tokenTimer: NodeJS.Timeout | undefined;
  #shuttingDown = false;

  constructor(options: QueueOptions = {}) {
    this.#baseDelayMs = options.baseDelayMs ?? 500;
    this.#maxDelayMs = options.maxDelayMs ?? 5 * 60_000;
    this.#ratePerSecond = options.ratePerSecond ?? 50;
    this.#burst = options.burst ?? 200;
    this.#onDepthChange = options.onDepthChange;
    this.#tokens = this.#burst;
  }

  get depth(): number {
    return this.#queue.length + this.#urgent.length;
  }

  /** Queue a key now (deduplicated); `urgent` puts it ahead of the keys that are not. */
  add(key: string, options: { urgent?: boolean } = {}): void {
    if (this.#shuttingDown) return;
    const urgent = options.urgent === true;
    if (this.#processing.has(key)) {
      this.#dirty.set(key, urgent || this.#dirty.get(key) === true);
      return;
    }
    if (this.#queued.has(key)) {
      if (!urgent) return;
      const at = this.#queue.indexOf(key);
      if (at < 0) return; // already urgent
      this.#queue.splice(at, 1);
      this.#urgent.push(key);
      return;
    }
    this.#queued.add(key);
    (urgent ? this.#urgent : this.#queue).push(key);
    this.#onDepthChange?.(this.depth);
    this.#dispatch();
  }

  /** Queue a key after `delayMs`; an earlier pending delay for the same key wins. */
  addAfter(key: string, delayMs: number, options: { urgent?: boolean } = {}): void {
    if (this.#shuttingDown) return;
    if (delayMs <= 0) {
      this.add(key, options);
      return;
    }
    const at = Date.now() + delayMs;
    const existing = this.#delayed.get(key);
    if (existing && existing.at <= at) return;
    if (existing) clearTimeout(existing.timer);
    // Node fires a timer longer than 2^31-1 ms (24.8 days) after 1 ms: that would turn a requeue
    // "in 30 days" (the next failover drill) into a hot loop. Capped: the pass then asks again.
    const timer = setTimeout(
      () => {
        this.#delayed.delete(key);
        this.add(key, options);
      },
      Math.min(delayMs, MAX_TIMER_MS),
    );
    timer.unref();
    this.#delayed.set(key, { at, timer });
  }

  /** Queue a key after its exponential backoff; returns the delay chosen. */
  addRateLimited(key: string): number {
    const failures = this.#failures.get(key) ?? 0;
    this.#failures.set(key, failures + 1);
    const delay = this.backoffFor(failures);
    this.addAfter(key, delay);
    return delay;
  }

  /** The backoff after `failures` earlier failures, with ±10 % jitter so retries spread out. */
  backoffFor(failures: number): number {
    const raw = Math.min(this.#maxDelayMs, this.#baseDelayMs * 2 ** Math.min(failures, 30));
    return Math.round(raw * (0.9 + Math.random() * 0.2));
  }

  /** How many times in a row this key has failed. */
  failures(key: string): number {
    return this.#failures.get(key) ?? 0;
  }

  /** Reset a key's backoff after a success. */
  forget(key: string): void {
    this.#failures.delete(key);
  }

  /** Wait for the next key; resolves undefined once the queue shuts down. */
  get(): Promise<string | undefined> {
    if (this.#shuttingDown) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      this.#waiters.push(resolve);
      this.#dispatch();
    });
  }

  /** Mark a key finished; if it was re-added meanwhile, it goes back in the queue. */
  done(key: string): void {
    this.#processing.delete(key);
    const urgent = this.#dirty.get(key);
    if (urgent !== undefined) {
      this.#dirty.delete(key);
      this.add(key, { urgent });
    }
  }

  /** Accept and hand out keys again after shutDown (a replica that leads again). */
  reopen(): void {
    this.#shuttingDown = false;
  }

  /** Stop handing out keys; pending `get` calls resolve undefined. */
  shutDown(): void {
    this.#shuttingDown = true;
    for (const { timer } of this.#delayed.values()) clearTimeout(timer);
    this.#delayed.clear();
    if (this.#tokenTimer) clearTimeout(this.#tokenTimer);
    for (const waiter of this.#waiters.splice(0)) waiter(undefined);
  }

  #refillTokens(): void {
    const now = Date.now();
    this.#tokens = Math.min(this.#burst, this.#tokens + ((now - this.#lastRefill) / 1000) * this.#ratePerSecond);
    this.#lastRefill = now;
  }

  #dispatch(): void {
    while (this.#waiters.length > 0 && this.depth > 0) {
      this.#refillTokens();
      if (this.#tokens < 1) {
        if (!this.#tokenTimer) {
          const wait = Math.ceil(((1 - this.#tokens) / this.#ratePerSecond) * 1000);
          this.#tokenTimer = setTimeout(() => {
            this.#tokenTimer = undefined;
            this.#dispatch();
          }, wait);
        }
        return;
      }
      this.#tokens -= 1;
      const key = (this.#urgent.length > 0 ? this.#urgent.shift() : this.#queue.shift()) as string;
      this.#queued.delete(key);
      this.#processing.add(key);
      this.#onDepthChange?.(this.depth);
      (this.#waiters.shift() as (key: string) => void)(key);
    }
  }
}
