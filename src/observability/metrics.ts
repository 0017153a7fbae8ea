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

  readonly tenantCondition = new Gauge({
    name: 'tenant_operator_tenant_condition',
    help: 'Per tenant and condition type, 1 when the condition is True, 0 otherwise.',
    labelNames: ['tenant', 'condition', 'tier', 'region'] as const,
    registers: [this.registry],
  });

  readonly azureRequests = new Counter({
    name: 'tenant_operator_azure_requests_total',
    help: 'Requests to Azure Resource Manager, by service (sql, keyvault, msi, resources, network, authorization), method and status class (2xx, 4xx, 429, 5xx, error).',
    labelNames: ['service', 'method', 'status'] as const,
    registers: [this.registry],
  });

  readonly azureStateChecks = new Counter({
    name: 'tenant_operator_azure_state_checks_total',
    help: "Tenant Azure state checks, by source: 'azure' (every resource read from ARM) or 'cache' (trusted from a verified check younger than azure.driftCheckIntervalSeconds).",
    labelNames: ['source'] as const,
    registers: [this.registry],
  });

  readonly azureThrottled = new Counter({
    name: 'tenant_operator_azure_throttled_total',
    help: 'Azure requests answered 429 (throttled), by service.',
    labelNames: ['service'] as const,
    registers: [this.registry],
  });

  readonly backupNewestRestorePointAge = new Gauge({
    name: 'tenant_operator_backup_newest_restore_point_age_seconds',
    help: 'Age of the newest point the tenant database can be restored to.',
    labelNames: ['tenant'] as const,
    registers: [this.registry],
  });

  readonly backupRpo = new Gauge({
    name: 'tenant_operator_backup_rpo_seconds',
    help: 'Recovery point objective in force for the tenant.',
    labelNames: ['tenant'] as const,
    registers: [this.registry],
  });

  readonly backupRto = new Gauge({
    name: 'tenant_operator_backup_rto_seconds',
    help: 'Recovery time objective in force for the tenant.',
    labelNames: ['tenant'] as const,
    registers: [this.registry],
  });

  readonly backupRetentionDays = new Gauge({
    name: 'tenant_operator_backup_retention_days',
    help: 'Point-in-time retention in force for the tenant database, in days.',
    labelNames: ['tenant'] as const,
    registers: [this.registry],
  });

  readonly restoreDrillSuccess = new Gauge({
    name: 'tenant_operator_restore_drill_last_success',
    help: '1 when the latest restore drill succeeded within the RTO, 0 when it failed or exceeded it.',
    labelNames: ['tenant'] as const,
    registers: [this.registry],
  });

  readonly restoreDrillDuration = new Gauge({
    name: 'tenant_operator_restore_drill_last_duration_seconds',
    help: 'Measured restore time (achieved RTO) of the latest restore drill.',
    labelNames: ['tenant'] as const,
    registers: [this.registry],
  });

  readonly restoreDrillTimestamp = new Gauge({
    name: 'tenant_operator_restore_drill_last_timestamp_seconds',
    help: 'Unix time the latest restore drill finished.',
    labelNames: ['tenant'] as const,
    registers: [this.registry],
  });

  readonly maintenanceWindowOpen = new Gauge({
    name: 'tenant_operator_maintenance_window_open',
    help: '1 while the maintenance window is open.',
    labelNames: ['window'] as const,
    registers: [this.registry],
  });

  readonly maintenanceSecondsToNextWindow = new Gauge({
    name: 'tenant_operator_maintenance_seconds_to_next_window',
    help: 'Seconds until the tenant’s next maintenance window opens (0 while open).',
    labelNames: ['tenant'] as const,
    registers: [this.registry],
  });

  readonly maintenancePendingChanges = new Gauge({
    name: 'tenant_operator_maintenance_pending_changes',
    help: 'Disruptive changes waiting for the tenant’s maintenance window.',
    labelNames: ['tenant'] as const,
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
