/**
 * What the uptime SLO rules need from the operator: whether each tenant's maintenance window is
 * open, so that probe failures inside it do not count against the customer's 99.9 % (the
 * managed-cloud terms exclude scheduled maintenance windows). Computed when Prometheus scrapes,
 * from the same window resolution the maintenance gate uses (`resolveTenantWindow`, the tenant's
 * own window or the default one in its region's local time) and the clock: true at scrape time,
 * whatever the reconcile loop is doing. Every replica with synced caches exports it, so the rules
 * read `max by (tenant)`; when no replica is scraped the series is absent and the rules count the
 * probes as usual (an operator outage never hides customer downtime).
 */
import type { Registry } from 'prom-client';
import type { Tenant } from '../api/v1alpha1/tenant.ts';
import type { OperatorConfig } from '../config.ts';
import type { Caches } from '../context.ts';
import { resolveTenantWindow } from '../maintenance/tenant-window.ts';
import { windowContaining } from '../maintenance/window.ts';
import { ScrapeGauge } from '../observability/metrics.ts';
import type { Clock } from '../runtime/clock.ts';
import type { KubeObject } from '../runtime/kube-client.ts';

export const WINDOW_OPEN_METRIC = 'tenant_operator_tenant_maintenance_window_open';

/**
 * Pure: whether the maintenance window that governs this tenant is open at `now`. A window that
 * does not exist or cannot be read is closed: an excluded minute must be a scheduled one.
 */
export function tenantWindowOpen(
  tenant: KubeObject,
  config: Pick<OperatorConfig, 'defaultMaintenanceWindow' | 'maintenance'>,
  lookup: (name: string) => KubeObject | undefined,
  now: Date,
): boolean {
  const spec = tenant.spec as Partial<Tenant['spec']> | undefined;
  if (typeof spec?.region !== 'string') return false;
  const window = resolveTenantWindow({ spec: spec as Tenant['spec'] }, config, lookup);
  if (!window.schedule) return false;
  try {
    return windowContaining(window.schedule, now) !== undefined;
  } catch {
    return false;
  }
}

/** Registers the scrape-time gauge on `registry`; nothing is exported until both caches have synced. */
export function registerUptimeMetrics(
  registry: Registry,
  caches: Pick<Caches, 'tenants' | 'maintenanceWindows'>,
  config: Pick<OperatorConfig, 'defaultMaintenanceWindow' | 'maintenance'>,
  clock: Clock,
): void {
  new ScrapeGauge({
    name: WINDOW_OPEN_METRIC,
    help: "1 while the tenant's maintenance window is open (its own MaintenanceWindow, or the default one in its region's local time), 0 otherwise; computed at scrape time. The uptime SLO rules (slo-rules.yaml) do not count probes while it is 1.",
    labelNames: ['tenant'],
    registers: [registry],
    samples: function* () {
      // A cache still listing would export a partial fleet, or windows as closed that are open.
      if (!caches.tenants.hasSynced || !caches.maintenanceWindows.hasSynced) return;
      const now = clock.now();
      const lookup = (name: string) => caches.maintenanceWindows.get(name);
      for (const tenant of caches.tenants.list())
        yield { labels: { tenant: tenant.metadata.name }, value: tenantWindowOpen(tenant, config, lookup, now) ? 1 : 0 };
    },
  });
}
