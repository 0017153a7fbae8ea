/**
 * The operator's Prometheus metrics, in one registry per operator instance (no globals, so two
 * instances can run in one test process). Label values are bounded: controller names,
 * outcomes, condition types, tiers and tenant names only; never error messages.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

export class OperatorMetrics {
  readonly registry = new Registry();

  readonly reconcileTotal = new Counter({
    name: 'tenant_operator_reconcile_total',
    help: 'Reconciles finished, by controller and outcome (success, requeue, retryable_error, terminal_error, error).',
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
    help: 'Writes to the Kubernetes API, by verb, kind and result (ok, error).',
    labelNames: ['verb', 'kind', 'result'] as const,
    registers: [this.registry],
  });

  readonly leader = new Gauge({
    name: 'tenant_operator_leader',
    help: '1 while this replica holds the leader lease.',
    registers: [this.registry],
  });

  readonly tenantCondition = new Gauge({
    name: 'tenant_operator_tenant_condition',
    help: 'Per tenant and condition type, 1 when the condition is True, 0 otherwise.',
    labelNames: ['tenant', 'condition', 'tier', 'region'] as const,
    registers: [this.registry],
  });

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: 'tenant_operator_' });
  }

  /** Drops every per-tenant series of a deleted tenant, so Grafana stops showing it. */
  async forgetTenant(tenant: string): Promise<void> {
    for (const metric of this.registry.getMetricsAsArray()) {
      if (!(metric instanceof Gauge || metric instanceof Counter)) continue;
      const { values } = await metric.get();
      for (const { labels } of values) if (labels.tenant === tenant) metric.remove(labels as never);
    }
  }
}
