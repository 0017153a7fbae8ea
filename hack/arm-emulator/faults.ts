/** Fault injection for the ARM emulator: rules that make matching requests slow, fail, hang or end in a failed operation. */

/** Which requests a rule applies to. All given fields must match; an empty matcher matches every request. */
export interface FaultMatcher {
  /** HTTP method(s), case-insensitive. */
  method?: string | readonly string[];
  /**
   * ARM resource type, case-insensitive, e.g. `Microsoft.Sql/servers/databases`. Matches requests on a
   * resource of that type and on its collection; never matches operation-status polls.
   */
  resourceType?: string;
  /** Tested against the request path (without the query string). */
  path?: RegExp;
}

/** What happens to a matching request. */
export type FaultAction =
  /** Delay the response by `ms`, then handle the request normally (combines with other rules). */
  | { kind: 'latency'; ms: number }
  /** Answer with an ARM error body instead of handling the request. */
  | { kind: 'error'; status: number; code?: string; message?: string; retryAfterSeconds?: number }
  /**
   * Accept the write, start the long-running operation, then end it with status `Failed` and this
   * error. Only applies to writes the emulator runs as long-running operations; other requests pass.
   */
  | { kind: 'lroFailure'; code?: string; message?: string }
  /** Accept the write and keep its long-running operation `InProgress` for `ms` (real time). */
  | { kind: 'lroDelay'; ms: number }
  /** Never answer: the client sees a timeout (or its abort signal). Connections close on `stop()`. */
  | { kind: 'hang' };

export interface FaultRule {
  /** Shown in the request log's `fault` field; defaults to the action kind. */
  name?: string;
  match: FaultMatcher;
  action: FaultAction;
  /** Apply at most this many times (counted only when the rule fires). Unlimited when absent. */
  times?: number;
  /** Fire with this probability (0..1) using the injector's seeded RNG. Defaults to 1. */
  probability?: number;
}

export interface FaultHandle {
  /** How many times the rule has fired. */
  readonly fired: number;
  remove(): void;
}

/** The request facts rules are matched against. */
export interface FaultRequest {
  method: string;
  path: string;
  resourceType: string | undefined;
}

/** The faults that fire for one request, already resolved (probabilities rolled, counters spent). */
export interface FaultDecision {
  latencyMs: number;
  /** An error response or a hang: replaces normal handling. */
  terminal: Extract<FaultAction, { kind: 'error' } | { kind: 'hang' }> | undefined;
  lroFailure: Extract<FaultAction, { kind: 'lroFailure' }> | undefined;
  lroDelayMs: number | undefined;
  /** Names of the rules that fired, for the request log. */
  names: string[];
}

export interface FaultInjector {
  /** Add a rule; rules are evaluated in insertion order. */
  add(rule: FaultRule): FaultHandle;
  /** Remove every rule. */
  clear(): void;
  /** Reseed the RNG so a probabilistic scenario repeats exactly. */
  seed(seed: number): void;
  /** Shorthand: answer 429 with `Retry-After`. */
  throttle(match: FaultMatcher, options?: { times?: number; probability?: number; retryAfterSeconds?: number }): FaultHandle;
  /** Shorthand: answer `status` (default 503) with `Retry-After` when given. */
  unavailable(
    match: FaultMatcher,
    options?: { times?: number; probability?: number; retryAfterSeconds?: number; status?: number },
  ): FaultHandle;
  /** Shorthand: the matching long-running operation ends `Failed`. */
  failOperation(match: FaultMatcher, options?: { times?: number; probability?: number; code?: string }): FaultHandle;
  /** Shorthand: never answer matching requests. */
  hang(match: FaultMatcher, options?: { times?: number; probability?: number }): FaultHandle;
  /** @internal Decide the faults for one request (used by the server). */
  decide(request: FaultRequest, isLongRunningWrite: boolean): FaultDecision;
}

/** mulberry32: a tiny seeded PRNG, good enough to make fault storms repeatable. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function matches(match: FaultMatcher, request: FaultRequest): boolean {
  if (match.method !== undefined) {
    const methods = typeof match.method === 'string' ? [match.method] : match.method;
    if (!methods.some((m) => m.toUpperCase() === request.method.toUpperCase())) return false;
  }
  if (match.resourceType !== undefined) {
    if (request.resourceType === undefined) return false;
    if (match.resourceType.toLowerCase() !== request.resourceType.toLowerCase()) return false;
  }
  if (match.path !== undefined) {
    match.path.lastIndex = 0;
    if (!match.path.test(request.path)) return false;
  }
  return true;
}

interface ActiveRule {
  rule: FaultRule;
  fired: number;
}

export function createFaultInjector(seed = 1): FaultInjector {
  let random = seededRandom(seed);
  let rules: ActiveRule[] = [];

  const add = (rule: FaultRule): FaultHandle => {
    const active: ActiveRule = { rule, fired: 0 };
    rules.push(active);
    return {
      get fired() {
        return active.fired;
      },
      remove: () => {
        rules = rules.filter((r) => r !== active);
      },
    };
  };

  return {
    add,
    clear: () => {
      rules = [];
    },
    seed: (s) => {
      random = seededRandom(s);
    },
    throttle: (match, o = {}) =>
      add({
        name: 'throttle',
        match,
        action: { kind: 'error', status: 429, code: 'TooManyRequests', retryAfterSeconds: o.retryAfterSeconds ?? 0 },
        ...(o.times === undefined ? {} : { times: o.times }),
        ...(o.probability === undefined ? {} : { probability: o.probability }),
      }),
    unavailable: (match, o = {}) =>
      add({
        name: 'unavailable',
        match,
        action: {
          kind: 'error',
          status: o.status ?? 503,
          code: 'ServiceUnavailable',
          ...(o.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: o.retryAfterSeconds }),
        },
        ...(o.times === undefined ? {} : { times: o.times }),
        ...(o.probability === undefined ? {} : { probability: o.probability }),
      }),
    failOperation: (match, o = {}) =>
      add({
        name: 'lroFailure',
        match,
        action: { kind: 'lroFailure', code: o.code ?? 'InternalServerError' },
        ...(o.times === undefined ? {} : { times: o.times }),
        ...(o.probability === undefined ? {} : { probability: o.probability }),
      }),
    hang: (match, o = {}) =>
      add({
        name: 'hang',
        match,
        action: { kind: 'hang' },
        ...(o.times === undefined ? {} : { times: o.times }),
        ...(o.probability === undefined ? {} : { probability: o.probability }),
      }),
    decide(request, isLongRunningWrite) {
      const decision: FaultDecision = {
        latencyMs: 0,
        terminal: undefined,
        lroFailure: undefined,
        lroDelayMs: undefined,
        names: [],
      };
      for (const active of rules) {
        const { rule } = active;
        if (rule.times !== undefined && active.fired >= rule.times) continue;
        if (!matches(rule.match, request)) continue;
        const action = rule.action;
        // LRO-shaped faults only make sense for writes that start an operation: skip without spending.
        if ((action.kind === 'lroFailure' || action.kind === 'lroDelay') && !isLongRunningWrite) continue;
        if (action.kind !== 'latency' && decision.terminal !== undefined) continue;
        if (rule.probability !== undefined && random() >= rule.probability) continue;
        active.fired += 1;
        decision.names.push(rule.name ?? action.kind);
        switch (action.kind) {
          case 'latency':
            decision.latencyMs += action.ms;
            break;
          case 'error':
          case 'hang':
            decision.terminal = action;
            break;
          case 'lroFailure':
            decision.lroFailure = action;
            break;
          case 'lroDelay':
            decision.lroDelayMs = action.ms;
            break;
        }
      }
      return decision;
    },
  };
}
