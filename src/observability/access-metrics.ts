/**
 * The metrics of time-limited access (src/access/), registered in the operator's registry: how many
 * grants exist per tenant and role, and when each must be gone, so an alert can page when a grant
 * outlives its expiry (config/prometheus/alerts.yaml, TenantAccessGrantOverdue). Kept apart from
 * metrics.ts so the access controller adds its series without touching the tenant metrics.
 */
import { Gauge, type Registry } from 'prom-client';

export class AccessMetrics {
  readonly grantsActive: Gauge<'tenant' | 'role'>;
  readonly grantExpiry: Gauge<'request' | 'tenant' | 'role'>;
  /** Grants this operator has seen in place, by request name. */
  readonly #grants = new Map<string, { tenant: string; role: string }>();

  constructor(registry: Registry) {
    this.grantsActive = new Gauge({
      name: 'tenant_operator_access_grants_active',
      help: 'Time-limited access grants in place (RoleBindings and Azure role assignments of AccessRequests), by tenant and role.',
      labelNames: ['tenant', 'role'] as const,
      registers: [registry],
    });
    this.grantExpiry = new Gauge({
      name: 'tenant_operator_access_grant_expiry_timestamp_seconds',
      help: 'Unix time a grant in place must be gone, per AccessRequest; the series goes away once the grant is removed.',
      labelNames: ['request', 'tenant', 'role'] as const,
      registers: [registry],
    });
  }

  /** A grant is in place (possibly past its expiry, while its removal is retried). */
  grantInPlace(request: string, tenant: string, role: string, expiresAt: Date): void {
    const previous = this.#grants.get(request);
    if (previous && (previous.tenant !== tenant || previous.role !== role)) this.grantExpiry.remove({ request, ...previous });
    this.#grants.set(request, { tenant, role });
    this.grantExpiry.set({ request, tenant, role }, Math.floor(expiresAt.getTime() / 1000));
    this.#count();
  }

  /** The grant is gone (or never existed). */
  grantGone(request: string): void {
    const previous = this.#grants.get(request);
    if (!previous) return;
    this.#grants.delete(request);
    this.grantExpiry.remove({ request, ...previous });
    this.#count();
  }

  #count(): void {
    this.grantsActive.reset();
    const counts = new Map<string, { tenant: string; role: string; n: number }>();
    for (const { tenant, role } of this.#grants.values()) {
      const key = `${tenant}\u0000${role}`;
      const entry = counts.get(key) ?? { tenant, role, n: 0 };
      entry.n++;
      counts.set(key, entry);
    }
    for (const { tenant, role, n } of counts.values()) this.grantsActive.set({ tenant, role }, n);
  }
}
