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
 * - Keys wait in three lanes, served in order, each first in, first out: `change` (something a
 *   person just changed, such as a spec: its author is waiting), `urgent` (work already under way,
 *   such as a tenant whose Deployment just became available or whose Azure operation is polled: it
 *   finishes before new work starts, so during a mass onboarding tenants become Ready one by one
 *   instead of all at the end) and the rest. Adding a queued key to an earlier lane moves it there.
 */

/** The longest delay a Node timer honours (longer ones fire after 1 ms). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** The lanes, in the order they are served. */
const LANES = ['change', 'urgent', 'normal'] as const;
export type Lane = (typeof LANES)[number];

/** Where an add puts a key: `lane` if given, else `urgent` or `normal`. */
export interface AddOptions {
  lane?: Lane;
  /** Shorthand for `lane: 'urgent'`. */
  urgent?: boolean;
}

function rankOf(options: AddOptions): number {
  return LANES.indexOf(options.lane ?? (options.urgent === true ? 'urgent' : 'normal'));
}

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
  /** One list per lane, in LANES order. */
  readonly #lanes: string[][] = LANES.map(() => []);
  /** Queued keys and the rank (LANES index) of the lane each waits in. */
  readonly #queued = new Map<string, number>();
  readonly #processing = new Set<string>();
  /** Keys added while being processed, and the earliest lane any of those adds asked for. */
  readonly #dirty = new Map<string, number>();
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
    return this.#queued.size;
  }

  /** Queue a key now (deduplicated), in the lane `options` name (see the class comment). */
  add(key: string, options: AddOptions = {}): void {
    if (this.#shuttingDown) return;
    const rank = rankOf(options);
    if (this.#processing.has(key)) {
      this.#dirty.set(key, Math.min(rank, this.#dirty.get(key) ?? rank));
      return;
    }
    const waiting = this.#queued.get(key);
    if (waiting !== undefined) {
      if (rank >= waiting) return;
      const lane = this.#lanes[waiting] as string[];
      lane.splice(lane.indexOf(key), 1);
      (this.#lanes[rank] as string[]).push(key);
      this.#queued.set(key, rank);
      return;
    }
    this.#queued.set(key, rank);
    (this.#lanes[rank] as string[]).push(key);
    this.#onDepthChange?.(this.depth);
    this.#dispatch();
  }

  /** Queue a key after `delayMs`; an earlier pending delay for the same key wins. */
  addAfter(key: string, delayMs: number, options: AddOptions = {}): void {
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
    const rank = this.#dirty.get(key);
    if (rank !== undefined) {
      this.#dirty.delete(key);
      this.add(key, { lane: LANES[rank] });
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
      const key = this.#lanes.find((lane) => lane.length > 0)?.shift() as string;
      this.#queued.delete(key);
      this.#processing.add(key);
      this.#onDepthChange?.(this.depth);
      (this.#waiters.shift() as (key: string) => void)(key);
    }
  }
}
