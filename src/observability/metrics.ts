/**
 * The operator's own Prometheus metrics — reconciles, queues, caches, API writes, Azure requests,
 * leadership, build — in one registry per operator instance (no globals, so two instances can run
 * in one test process). The per-tenant series are not here: src/tenant/metrics.ts computes them at
 * scrape time from the Tenant cache and registers them on the same registry. Label values are
 * bounded: controller names, outcomes, verbs, resources, services; never error messages.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, type Metric, Registry } from 'prom-client';

/** What the operator runs, for `tenant_operator_build_info`. */
export interface BuildInfo {
  /** The operator's version (package.json). */
  version: string;
}

export class OperatorMetrics {
  readonly registry = new Registry();

  readonly buildInfo = new Gauge({
    name: 'tenant_operator_build_info',
    help: 'Always 1; the labels say which operator version runs on which Node.js version.',
    labelNames: ['version', 'node_version'] as const,
    registers: [this.registry],
  });

  readonly reconcileTotal = new Counter({
    name: 'tenant_operator_reconcile_total',
    help: 'Reconciles finished, by controller and outcome: success, requeue (success, looked at again later), spec_error (only a spec change helps: the owner must act), platform_error (the platform team must act), retryable_error (retried with backoff), error (unexpected, retried). Operator faults are retryable_error and error.',
    labelNames: ['controller', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly reconcileDuration = new Histogram({
    name: 'tenant_operator_reconcile_duration_seconds',
    help: 'Time spent in one reconcile, by controller.',
    labelNames: ['controller'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });

  readonly retriesTotal = new Counter({
    name: 'tenant_operator_reconcile_retries_total',
    help: 'Keys requeued after a failed reconcile, by controller.',
    labelNames: ['controller'] as const,
    registers: [this.registry],
  });

  readonly queueDepth = new Gauge({
    name: 'tenant_operator_queue_depth',
    help: 'Keys waiting in the work queue, by controller.',
    labelNames: ['controller'] as const,
    registers: [this.registry],
  });

  readonly informerRestarts = new Counter({
    name: 'tenant_operator_informer_restarts_total',
    help: 'List-watch restarts, by resource and reason (error, gone, stalled, closed).',
    labelNames: ['resource', 'reason'] as const,
    registers: [this.registry],
  });

  readonly kubernetesWrites = new Counter({
    name: 'tenant_operator_kubernetes_writes_total',
    help: 'Every write request the operator sent to the Kubernetes API (counted in its HTTP client: objects, status, finalizers, Events, the leader Lease), by verb (create, update, patch, apply, delete), resource, subresource and result (ok; error: an error status or no answer).',
    labelNames: ['verb', 'resource', 'subresource', 'result'] as const,
    registers: [this.registry],
  });

  readonly driftRepaired = new Counter({
    name: 'tenant_operator_drift_repaired_total',
    help: 'Changes made outside the operator (by hand) that the operator undid, by source (kubernetes, azure) and kind.',
    labelNames: ['source', 'kind'] as const,
    registers: [this.registry],
  });

  readonly leader = new Gauge({
    name: 'tenant_operator_leader',
    help: '1 while this replica holds the leader lease.',
    registers: [this.registry],
  });

  readonly azureRequests = new Counter({
    name: 'tenant_operator_azure_requests_total',
    help: 'Requests to Azure Resource Manager, by client (resources: every resource kind of the generic engine; sql: backups and restores), method and status class (2xx, 4xx, 429, 5xx, error).',
    labelNames: ['service', 'method', 'status'] as const,
    registers: [this.registry],
  });

  readonly azureStateChecks = new Counter({
    name: 'tenant_operator_azure_state_checks_total',
    help: "Tenant Azure state checks, by source: 'azure' (every resource read from ARM) or 'cache' (trusted from a verified check younger than azure.driftCheckIntervalSeconds).",
    labelNames: ['source'] as const,
    registers: [this.registry],
  });

  readonly kubernetesStepsReused = new Counter({
    name: 'tenant_operator_kubernetes_steps_reused_total',
    help: "Tenant passes that reused a Kubernetes step's last full run (same inputs, every object it saw unchanged) instead of building and comparing its objects again, by step: 'isolation' or 'application'.",
    labelNames: ['step'] as const,
    registers: [this.registry],
  });

  readonly statusChanges = new Counter({
    name: 'tenant_operator_status_changes_total',
    help: "What status writes changed, one count per changed part of each write: a status field ('azure.verified', 'backup') or a condition ('conditions.Ready'). Explains writes nobody expected (a steady fleet writes none).",
    labelNames: ['changed'] as const,
    registers: [this.registry],
  });

  readonly azureThrottled = new Counter({
    name: 'tenant_operator_azure_throttled_total',
    help: 'Azure requests answered 429 (throttled), by client (resources, sql).',
    labelNames: ['service'] as const,
    registers: [this.registry],
  });

  readonly subscriptionUsage = new Gauge({
    name: 'tenant_operator_subscription_usage',
    help: 'What a placement subscription holds of what Azure limits, as last listed (at start-up, every 5 minutes, and when a new tenant is placed): quota resource_groups and role_assignments per subscription (region ""), sql_servers per subscription and region.',
    labelNames: ['subscription', 'region', 'quota'] as const,
    registers: [this.registry],
  });

  readonly subscriptionLimit = new Gauge({
    name: 'tenant_operator_subscription_limit',
    help: 'The configured limit (azure.subscriptions[].limits; Azure defaults 980 resource groups, 20 SQL servers per region, 4000 role assignments) matching tenant_operator_subscription_usage.',
    labelNames: ['subscription', 'region', 'quota'] as const,
    registers: [this.registry],
  });

  readonly subscriptionReadable = new Gauge({
    name: 'tenant_operator_subscription_readable',
    help: '1 when the operator could list a configured placement subscription at its last check, 0 when it does not exist or cannot be read (the log says why).',
    labelNames: ['subscription'] as const,
    registers: [this.registry],
  });

  readonly maintenanceWindowOpen = new Gauge({
    name: 'tenant_operator_maintenance_window_open',
    help: '1 while the maintenance window is open.',
    labelNames: ['window'] as const,
    registers: [this.registry],
  });

  constructor(options: { defaultMetrics?: boolean; build?: BuildInfo } = {}) {
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: 'tenant_operator_' });
    this.buildInfo.set({ version: options.build?.version ?? 'unknown', node_version: process.version }, 1);
  }

  /**
   * Starts counters at 0 for label values known in advance, so that a rate over them is 0 rather
   * than no data (a panel or an alert cannot tell "none happened" from "nothing is exported").
   */
  initialize<T extends string>(counter: Counter<T>, combinations: Partial<Record<T, string>>[]): void {
    for (const labels of combinations) counter.inc(labels, 0);
  }
}

/** Every combination of the given label values: `{a: [1, 2], b: [3]}` -> `[{a: 1, b: 3}, {a: 2, b: 3}]`. */
export function labelCombinations<T extends string>(values: Record<T, readonly string[]>): Record<T, string>[] {
  let out: Record<string, string>[] = [{}];
  for (const [name, options] of Object.entries(values) as [string, readonly string[]][])
    out = out.flatMap((labels) => options.map((v) => ({ ...labels, [name]: v })));
  return out as Record<T, string>[];
}

const NO_SHARED_LABELS = Object.freeze({});

/** One sample of a {@link ScrapeGauge}. */
export interface Sample {
  labels: Record<string, string>;
  value: number;
}

/**
 * A gauge whose samples are computed when Prometheus scrapes, from a function over state the
 * process already holds (a cache): nothing is stored between scrapes, so a series cannot freeze or
 * outlive what it describes. prom-client's own `collect()` hook would `set()` every sample into a
 * hashed map first (label validation and hashing per sample): at 1000 tenants (22,000 series) a
 * scrape cost 115 ms of CPU that way against 50 ms here (bench/tenant-metrics-scrape.ts), so this
 * hands the samples to the registry as they are computed.
 * The caller keeps label values bounded and the label names in `labelNames`.
 */
export class ScrapeGauge {
  readonly name: string;
  readonly help: string;
  readonly type = 'gauge';
  readonly labelNames: readonly string[];
  readonly aggregator = 'sum';
  readonly #samples: () => Iterable<Sample>;

  constructor(options: {
    name: string;
    help: string;
    labelNames: readonly string[];
    samples: () => Iterable<Sample>;
    registers?: Registry[];
  }) {
    this.name = options.name;
    this.help = options.help;
    this.labelNames = options.labelNames;
    this.#samples = options.samples;
    // The registry reads metrics by shape (name, get, reset): this is one, though not a prom-client class.
    for (const registry of options.registers ?? []) registry.registerMetric(this as unknown as Metric);
  }

  async get(): Promise<{ name: string; help: string; type: 'gauge'; aggregator: 'sum'; values: Sample[] }> {
    const values: (Sample & { sharedLabels: object })[] = [];
    // One shared (empty) sharedLabels object: the registry caches its rendering by identity, and
    // renders a fresh `{}` per sample otherwise (a third of the scrape at 20,000 series).
    for (const s of this.#samples()) values.push({ labels: s.labels, value: s.value, sharedLabels: NO_SHARED_LABELS });
    return { name: this.name, help: this.help, type: 'gauge', aggregator: 'sum', values };
  }

  /** Nothing to reset: nothing is kept between scrapes. */
  reset(): void {}
}
