/**
 * What the benchmark watches while the operator works: every Tenant (a list-watch cache in the
 * bench process, so readiness and `status.observedGeneration` are seen the moment they change,
 * without polling a list of N tenants), a kubelet stand-in driven by a watch, and the operator
 * process itself (its /metrics, /proc figures and lifecycle).
 */
import type { ChildProcess } from 'node:child_process';
import { silentLogger } from '../src/observability/logger.ts';
import { Informer } from '../src/runtime/informer.ts';
import { KubeApiError, type KubeClient, type KubeObject } from '../src/runtime/kube-client.ts';
import { RESOURCES } from '../src/runtime/resources.ts';
import { MANAGED_SELECTOR } from '../src/tenant/labels.ts';
import { type KubeletStandIn, markAvailable } from '../test/harness/kubelet-stand-in.ts';
import {
  httpGet,
  type ProcSample,
  parseMetrics,
  procSample,
  type Sample,
  sleep,
  spawnTracked,
  stopChild,
  sumOf,
} from './infra.ts';

type TenantObject = KubeObject & {
  status?: { observedGeneration?: number; conditions?: { type: string; status: string; reason?: string }[] };
};

export interface TenantState {
  generation: number;
  observedGeneration: number;
  ready: boolean;
  readyReason: string | undefined;
  resourceVersion: string;
  /** performance.now() of the first event that showed it Ready at its current generation. */
  readyAt: number | undefined;
  /** performance.now() of the last event. */
  lastEventAt: number;
}

/** A list-watch cache of Tenants with readiness bookkeeping and event-driven waits. */
export class TenantTracker {
  readonly states = new Map<string, TenantState>();
  readonly #informer: Informer<TenantObject>;
  readonly #waiters = new Set<() => void>();
  readonly #readyNames = new Set<string>();
  readonly #listeners = new Set<(name: string, state: TenantState) => void>();

  constructor(client: KubeClient) {
    this.#informer = new Informer<TenantObject>(client, RESOURCES.Tenant, silentLogger(), { resyncMs: 24 * 3600_000 });
    this.#informer.on((type, obj) => this.#update(type, obj));
  }

  start(): Promise<void> {
    return this.#informer.start();
  }

  stop(): void {
    this.#informer.stop();
  }

  get(name: string): TenantObject | undefined {
    return this.#informer.get(name);
  }

  list(): TenantObject[] {
    return this.#informer.list();
  }

  /** Called on every event, after the state is updated. */
  onChange(listener: (name: string, state: TenantState) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #update(type: string, obj: TenantObject): void {
    const name = obj.metadata.name;
    if (type === 'delete') {
      this.states.delete(name);
      this.#readyNames.delete(name);
      return;
    }
    if (type === 'resync') return;
    const now = performance.now();
    const generation = obj.metadata.generation ?? 0;
    const observedGeneration = obj.status?.observedGeneration ?? 0;
    const readyCondition = obj.status?.conditions?.find((c) => c.type === 'Ready');
    const ready = readyCondition?.status === 'True' && observedGeneration === generation;
    const previous = this.states.get(name);
    const state: TenantState = {
      generation,
      observedGeneration,
      ready,
      readyReason: readyCondition?.reason,
      resourceVersion: obj.metadata.resourceVersion ?? '',
      readyAt: ready ? (previous?.ready ? previous.readyAt : now) : undefined,
      lastEventAt: now,
    };
    this.states.set(name, state);
    if (ready) this.#readyNames.add(name);
    else this.#readyNames.delete(name);
    for (const listener of this.#listeners) listener(name, state);
    for (const waiter of [...this.#waiters]) waiter();
  }

  /** Resolves once `predicate` holds (checked on every event and every second); rejects after `timeoutMs`. */
  waitFor(what: string, predicate: () => boolean, timeoutMs: number): Promise<void> {
    if (predicate()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!predicate()) return;
        cleanup();
        resolve();
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${what}`));
      }, timeoutMs);
      const ticker = setInterval(check, 1000);
      const cleanup = () => {
        clearTimeout(timer);
        clearInterval(ticker);
        this.#waiters.delete(check);
      };
      this.#waiters.add(check);
    });
  }

  /**
   * How many tenants are Ready now, kept up to date on every event: the cold phase asks after every
   * event, and counting N tenants each time would cost O(N²) over a fleet's onboarding.
   */
  readyCount(): number {
    return this.#readyNames.size;
  }
}

/**
 * The kubelet's and deployment controller's part, driven by a watch: each tenant Deployment whose
 * status lags its generation is marked rolled out and available (test/harness's `markAvailable`).
 * The harness's polling stand-in lists every managed Deployment 5 times a second, which at 1000
 * tenants would itself be the heaviest load on the API server; this one costs one watch.
 */
export function startWatchKubelet(admin: KubeClient, parallel = 4): KubeletStandIn & { marked: () => number } {
  const informer = new Informer(admin, RESOURCES.Deployment, silentLogger(), {
    labelSelector: MANAGED_SELECTOR,
    resyncMs: 24 * 3600_000,
  });
  const pending = new Set<string>();
  const attempts = new Map<string, number>();
  let running = 0;
  let marked = 0;
  let stopped = false;
  const lagging = (d: KubeObject) =>
    (d.status as { observedGeneration?: number } | undefined)?.observedGeneration !== d.metadata.generation;
  const pump = () => {
    while (!stopped && running < parallel && pending.size > 0) {
      const key = pending.values().next().value as string;
      pending.delete(key);
      const [namespace, name] = key.split('/') as [string, string];
      const d = informer.get(name, namespace);
      if (!d || !lagging(d)) continue;
      running++;
      markAvailable(admin, d as Parameters<typeof markAvailable>[1])
        .then(
          () => {
            marked++;
            attempts.delete(key);
          },
          (err: unknown) => {
            const n = (attempts.get(key) ?? 0) + 1;
            attempts.set(key, n);
            // Bounded: a Deployment that keeps failing is left alone after 5 tries.
            if (n < 5 && err instanceof KubeApiError) setTimeout(() => enqueue(key), 500).unref();
          },
        )
        .finally(() => {
          running--;
          pump();
        });
    }
  };
  const enqueue = (key: string) => {
    pending.add(key);
    pump();
  };
  informer.on((type, d) => {
    if (type === 'delete' || !lagging(d)) return;
    enqueue(`${d.metadata.namespace}/${d.metadata.name}`);
  });
  void informer.start();
  return {
    stop: () => {
      stopped = true;
      informer.stop();
    },
    marked: () => marked,
  };
}

/** The ServiceMonitor's interval (config/prometheus/monitor.yaml). */
const PROMETHEUS_SCRAPE_MS = 30_000;

/** Every metric the bench reads (operatorCounters, the heap peaks, leadership). */
const BENCH_METRICS = [
  'tenant_operator_leader',
  'tenant_operator_reconcile_total',
  'tenant_operator_queue_depth',
  'tenant_operator_reconcile_retries_total',
  'tenant_operator_reconcile_duration_seconds',
  'tenant_operator_kubernetes_writes_total',
  'tenant_operator_azure_requests_total',
  'tenant_operator_azure_throttled_total',
  'tenant_operator_process_cpu_seconds_total',
  'tenant_operator_process_resident_memory_bytes',
  'tenant_operator_nodejs_heap_size_used_bytes',
  'tenant_operator_nodejs_heap_size_total_bytes',
  'tenant_operator_nodejs_external_memory_bytes',
  'tenant_operator_status_changes_total',
];

/** The operator running as its own process: `node ENTRY --kubeconfig K --config C`. */
export class OperatorProcess {
  readonly child: ChildProcess;
  readonly port: number;
  /** performance.now() at spawn. */
  readonly spawnedAt: number;
  peakHeapUsedBytes = 0;
  peakHeapTotalBytes = 0;
  peakExternalBytes = 0;
  /** Prometheus's own scrape: everything, every PROMETHEUS_SCRAPE_MS, for the life of the process. */
  readonly #prometheus: NodeJS.Timeout;
  prometheusScrapes = 0;

  constructor(options: {
    kubeconfig: string;
    configPath: string;
    port: number;
    entry: string;
    nodeOptions: string[];
    env?: Record<string, string>;
    logFile: string;
  }) {
    this.port = options.port;
    const env = { ...process.env, ...options.env };
    // The configuration file is the whole truth: no TENANT_OPERATOR_* override leaks in.
    for (const key of Object.keys(env)) if (key.startsWith('TENANT_OPERATOR_')) delete env[key];
    this.spawnedAt = performance.now();
    this.child = spawnTracked(
      process.execPath,
      [...options.nodeOptions, options.entry, '--kubeconfig', options.kubeconfig, '--config', options.configPath],
      { logFile: options.logFile, env },
    );
    this.#prometheus = setInterval(() => {
      if (!this.alive) return;
      httpGet(`http://127.0.0.1:${this.port}/metrics`, 30_000).then(
        ({ status }) => {
          if (status === 200) this.prometheusScrapes++;
        },
        () => undefined,
      );
    }, PROMETHEUS_SCRAPE_MS);
    this.#prometheus.unref();
    this.child.once('exit', () => clearInterval(this.#prometheus));
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  proc(): ProcSample | undefined {
    return procSample(this.pid);
  }

  /**
   * The figures the bench reads, polled as often as a phase needs (every second while settling):
   * only the metrics it reads (`?name[]=`), so polling costs the operator what it would cost in
   * production, where Prometheus renders every tenant's series once per scrape (`prometheusScrape`).
   */
  async metrics(): Promise<Sample[]> {
    const query = BENCH_METRICS.map((name) => `name[]=${name}`).join('&');
    const { status, body } = await httpGet(`http://127.0.0.1:${this.port}/metrics?${query}`, 30_000);
    if (status !== 200) throw new Error(`operator /metrics answered ${status}`);
    const samples = parseMetrics(body);
    const heap = sumOf(samples, 'tenant_operator_nodejs_heap_size_used_bytes');
    const total = sumOf(samples, 'tenant_operator_nodejs_heap_size_total_bytes');
    this.peakHeapUsedBytes = Math.max(this.peakHeapUsedBytes, heap);
    this.peakHeapTotalBytes = Math.max(this.peakHeapTotalBytes, total);
    this.peakExternalBytes = Math.max(this.peakExternalBytes, sumOf(samples, 'tenant_operator_nodejs_external_memory_bytes'));
    return samples;
  }

  /** Waits for /readyz (caches synced) and then the lease; returns ms since spawn for each. */
  async waitLeading(timeoutMs = 90_000): Promise<{ readyMs: number; leaderMs: number }> {
    const deadline = performance.now() + timeoutMs;
    let readyMs: number | undefined;
    while (performance.now() < deadline) {
      if (!this.alive) throw new Error(`operator exited with ${this.child.exitCode ?? this.child.signalCode} during start-up`);
      try {
        if (readyMs === undefined) {
          const { status } = await httpGet(`http://127.0.0.1:${this.port}/readyz`, 2_000);
          if (status === 200) readyMs = performance.now() - this.spawnedAt;
        }
        if (readyMs !== undefined && sumOf(await this.metrics(), 'tenant_operator_leader') === 1)
          return { readyMs, leaderMs: performance.now() - this.spawnedAt };
      } catch {
        // not listening yet
      }
      await sleep(100);
    }
    throw new Error(`operator did not become leader within ${timeoutMs / 1000} s`);
  }

  /** SIGTERM and wait for the exit (graceful shutdown releases the lease). */
  async stop(): Promise<{ shutdownMs: number; exitCode: number | null }> {
    clearInterval(this.#prometheus);
    const shutdownMs = await stopChild(this.child, 'SIGTERM', 30_000);
    return { shutdownMs, exitCode: this.child.exitCode };
  }
}

/** Operator figures the phases read from /metrics. */
export function operatorCounters(samples: Sample[]) {
  return {
    tenantReconciles: sumOf(samples, 'tenant_operator_reconcile_total', { controller: 'tenant' }),
    tenantQueueDepth: sumOf(samples, 'tenant_operator_queue_depth', { controller: 'tenant' }),
    queueDepthAll: sumOf(samples, 'tenant_operator_queue_depth'),
    retries: sumOf(samples, 'tenant_operator_reconcile_retries_total'),
    reconcileSecondsSum: sumOf(samples, 'tenant_operator_reconcile_duration_seconds_sum', { controller: 'tenant' }),
    reconcileCount: sumOf(samples, 'tenant_operator_reconcile_duration_seconds_count', { controller: 'tenant' }),
    kubeWrites: sumOf(samples, 'tenant_operator_kubernetes_writes_total'),
    azureRequests: sumOf(samples, 'tenant_operator_azure_requests_total'),
    azureThrottled: sumOf(samples, 'tenant_operator_azure_throttled_total'),
    cpuSeconds: sumOf(samples, 'tenant_operator_process_cpu_seconds_total'),
    heapUsedBytes: sumOf(samples, 'tenant_operator_nodejs_heap_size_used_bytes'),
    heapTotalBytes: sumOf(samples, 'tenant_operator_nodejs_heap_size_total_bytes'),
    rssBytes: sumOf(samples, 'tenant_operator_process_resident_memory_bytes'),
    externalBytes: sumOf(samples, 'tenant_operator_nodejs_external_memory_bytes'),
    outcomes: Object.fromEntries(
      samples
        .filter((s) => s.name === 'tenant_operator_reconcile_total' && s.labels.controller === 'tenant')
        .map((s) => [s.labels.outcome ?? '?', s.value]),
    ),
    /** What the process's status writes changed (`tenant_operator_status_changes_total`), by part. */
    statusChanges: Object.fromEntries(
      samples
        .filter((s) => s.name === 'tenant_operator_status_changes_total' && s.value > 0)
        .map((s) => [s.labels.changed ?? '?', s.value]),
    ) as Record<string, number>,
  };
}
