/**
 * The per-tenant Prometheus series, computed at scrape time from the Tenants in the informer cache.
 *
 * A Tenant's status is what the operator wrote and what kubectl shows, so series computed from it
 * cannot disagree with kubectl, cover every path that writes status (an invalid spec, a refused
 * region, a failed step, a deletion) without each path remembering to export, vanish with the
 * Tenant, and never freeze between reconciles: times are exported as timestamps, and queries
 * compute ages with `time()`. Every replica with a synced cache exports them, so queries aggregate
 * by tenant (`max by (tenant)`) and survive a failover. Label values are bounded: tenant names,
 * the catalogue's condition types and reasons, tiers, environments, regions and residency zones;
 * never a message.
 *
 * The mapping is pure (a cached Tenant in, samples out, {@link TENANT_METRICS}); only
 * {@link registerTenantMetrics} touches the registry.
 */
import type { Registry } from 'prom-client';
import { backupPolicySpecSchema } from '../api/v1alpha1/backup-policy.ts';
import type { Condition } from '../api/v1alpha1/common.ts';
import { ACTOR, CONDITION_TYPES, isCatalogued, kstatusConditions, reasonClass } from '../api/v1alpha1/conditions.ts';
import type { TenantSpec, TenantStatus } from '../api/v1alpha1/tenant.ts';
import { type BackupTargets, backupTargets } from '../backup/policy.ts';
import type { OperatorConfig } from '../config.ts';
import type { Caches } from '../context.ts';
import { type Sample, ScrapeGauge } from '../observability/metrics.ts';
import type { KubeObject } from '../runtime/kube-client.ts';
import { checkResidency } from './residency.ts';

/** A Tenant as the cache holds it: what the API server stored, not parsed (an invalid spec counts too). */
export type CachedTenant = KubeObject & {
  spec?: Partial<TenantSpec>;
  /** `tier`: the tier that runs, once the operator records it; `spec.tier` until then. */
  status?: Partial<TenantStatus> & { tier?: string };
};

/** What one scrape knows besides the tenant itself. */
export interface TenantScrape {
  residency: OperatorConfig['residency'];
  /** RPO and RTO of a BackupPolicy from the cache; undefined when it is missing or invalid. */
  backupTargets: (policy: string) => BackupTargets | undefined;
}

export interface TenantMetric {
  name: string;
  help: string;
  labelNames: readonly string[];
  samples: (tenant: CachedTenant, scrape: TenantScrape) => Sample[];
}

/** The condition types a Tenant carries (the catalogue's): the only values of the `condition` label. */
const TENANT_CONDITION_TYPES: ReadonlySet<string> = new Set(
  Object.entries(CONDITION_TYPES)
    .filter(([, e]) => (e.kinds as readonly string[]).includes('Tenant'))
    .map(([type]) => type),
);
const COMPONENT_TYPES: ReadonlySet<string> = new Set(
  Object.entries(CONDITION_TYPES)
    .filter(([, e]) => e.role === 'component')
    .map(([type]) => type),
);

/**
 * Whether a condition describes the Tenant's current spec: computed for `metadata.generation`
 * (its own `observedGeneration`, else the status'). A spec the operator has not processed yet has
 * no current condition, as kstatus reads it.
 */
export function isCurrent(tenant: CachedTenant, condition: Condition): boolean {
  const generation = tenant.metadata.generation;
  if (generation === undefined) return true;
  return (condition.observedGeneration ?? tenant.status?.observedGeneration) === generation;
}

/** 1 when the condition is True for the current generation; 0 otherwise (False, Unknown, or stale). */
function conditionValue(tenant: CachedTenant, condition: Condition | undefined): number {
  return condition !== undefined && condition.status === 'True' && isCurrent(tenant, condition) ? 1 : 0;
}

/** A reason as a label value: the catalogue's, or `Other` (a label never carries free text). */
function reasonLabel(reason: string): string {
  return isCatalogued(reason) ? reason : 'Other';
}

/**
 * The Stalled condition that applies now, if it is True: the one in status when current; for a
 * status written before the operator wrote Stalled, derived from the current component conditions
 * by the catalogue's rule (kstatusConditions), which is how the operator computes it.
 */
export function stalledNow(tenant: CachedTenant): { reason: string } | undefined {
  const conditions = tenant.status?.conditions ?? [];
  const written = conditions.find((c) => c.type === 'Stalled');
  if (written) return written.status === 'True' && isCurrent(tenant, written) ? { reason: written.reason } : undefined;
  const components = conditions.filter((c) => COMPONENT_TYPES.has(c.type) && isCurrent(tenant, c));
  if (components.length === 0) return undefined;
  const [stalled] = kstatusConditions(components);
  return stalled.status === 'True' ? { reason: stalled.reason } : undefined;
}

function seconds(iso: string | undefined): number | undefined {
  if (iso === undefined) return undefined;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? undefined : ms / 1000;
}

const one = (tenant: CachedTenant, value: number | undefined): Sample[] =>
  value === undefined ? [] : [{ labels: { tenant: tenant.metadata.name }, value }];

/** The latest finished restore drill: the current one when finished, else the one before it. */
function lastDrill(tenant: CachedTenant) {
  const drill = tenant.status?.backup?.drill;
  return drill?.phase === 'Running' ? drill.previous : drill;
}

/** The targets of the BackupPolicy in force (status.backup.policy): only once the backup step ran. */
function targetsInForce(tenant: CachedTenant, scrape: TenantScrape): BackupTargets | undefined {
  const policy = tenant.status?.backup?.policy;
  return policy === undefined ? undefined : scrape.backupTargets(policy);
}

/** Every per-tenant metric, in exposition order. */
export const TENANT_METRICS: readonly TenantMetric[] = [
  {
    name: 'tenant_operator_tenant_info',
    help: 'Always 1, per tenant: its tier (the tier that runs: status.tier, else spec.tier), region, environment and data-residency zone. Join it for these labels: `* on (tenant) group_left (tier, region) topk by (tenant) (1, tenant_operator_tenant_info)`.',
    labelNames: ['tenant', 'tier', 'region', 'environment', 'residency'],
    samples: (t, scrape) => {
      const spec = t.spec ?? {};
      const verdict =
        spec.region === undefined
          ? undefined
          : checkResidency({ region: spec.region, dataResidency: spec.dataResidency }, scrape);
      return [
        {
          labels: {
            tenant: t.metadata.name,
            tier: t.status?.tier ?? spec.tier ?? '',
            region: spec.region ?? '',
            environment: spec.environment ?? '',
            residency: verdict?.allowed ? verdict.zone : (spec.dataResidency ?? ''),
          },
          value: 1,
        },
      ];
    },
  },
  {
    name: 'tenant_operator_tenant_condition',
    help: 'Per tenant and condition type (each one in its status, and Ready always): 1 when the condition is True for the current spec, 0 otherwise. A condition computed for an older metadata.generation than the Tenant has now (a change the operator has not processed yet) counts as 0, so Ready is never 1 for a spec nobody has looked at; a tenant never reconciled has Ready 0.',
    labelNames: ['tenant', 'condition'],
    samples: (t) => {
      const tenant = t.metadata.name;
      const conditions = (t.status?.conditions ?? []).filter((c) => TENANT_CONDITION_TYPES.has(c.type));
      const samples = conditions.map((c) => ({ labels: { tenant, condition: c.type }, value: conditionValue(t, c) }));
      if (!conditions.some((c) => c.type === 'Ready')) samples.push({ labels: { tenant, condition: 'Ready' }, value: 0 });
      return samples;
    },
  },
  {
    name: 'tenant_operator_tenant_stalled',
    help: 'Present (1) while the tenant is Stalled for its current spec: only a person can make progress. reason: the catalogue reason; actor: who must act (owner: the spec or what it references must change; platform-team: a permission, a quota, the configuration).',
    labelNames: ['tenant', 'reason', 'actor'],
    samples: (t) => {
      const stalled = stalledNow(t);
      if (!stalled) return [];
      const labels = { tenant: t.metadata.name, reason: reasonLabel(stalled.reason), actor: ACTOR[reasonClass(stalled.reason)] };
      return [{ labels, value: 1 }];
    },
  },
  {
    name: 'tenant_operator_backup_newest_restore_point_timestamp_seconds',
    help: 'Unix time of the newest point the tenant database can be restored to, as status.backup.newestRestorePoint records it (refreshed once it is three quarters of the RPO old, so its age stays under the RPO while backups run); its age is `time() - this`. Absent while unknown.',
    labelNames: ['tenant'],
    samples: (t) => one(t, seconds(t.status?.backup?.newestRestorePoint)),
  },
  {
    name: 'tenant_operator_backup_rpo_seconds',
    help: 'Recovery point objective of the BackupPolicy in force for the tenant (status.backup.policy).',
    labelNames: ['tenant'],
    samples: (t, scrape) =>
      one(
        t,
        mapDefined(targetsInForce(t, scrape), (x) => x.rpoMs / 1000),
      ),
  },
  {
    name: 'tenant_operator_backup_rto_seconds',
    help: 'Recovery time objective of the BackupPolicy in force for the tenant (status.backup.policy).',
    labelNames: ['tenant'],
    samples: (t, scrape) =>
      one(
        t,
        mapDefined(targetsInForce(t, scrape), (x) => x.rtoMs / 1000),
      ),
  },
  {
    name: 'tenant_operator_backup_retention_days',
    help: 'Point-in-time retention in force on the tenant database, in days, as Azure reports it.',
    labelNames: ['tenant'],
    samples: (t) => one(t, t.status?.backup?.retention?.retentionDays),
  },
  {
    name: 'tenant_operator_restore_drill_last_success',
    help: '1 when the latest finished restore drill succeeded within the RTO, 0 when it failed or exceeded it.',
    labelNames: ['tenant'],
    samples: (t) =>
      one(
        t,
        mapDefined(lastDrill(t)?.result, (r) => (r === 'Succeeded' ? 1 : 0)),
      ),
  },
  {
    name: 'tenant_operator_restore_drill_last_duration_seconds',
    help: 'Measured restore time (achieved RTO) of the latest finished restore drill.',
    labelNames: ['tenant'],
    samples: (t) => one(t, lastDrill(t)?.measuredRtoSeconds),
  },
  {
    name: 'tenant_operator_restore_drill_last_timestamp_seconds',
    help: 'Unix time the latest finished restore drill finished.',
    labelNames: ['tenant'],
    samples: (t) => one(t, seconds(lastDrill(t)?.finishedAt)),
  },
  {
    name: 'tenant_operator_geo_replication_caught_up',
    help: 'Per geo-replicated tenant (status.azure.geoReplication): 1 while its geo-secondary follows the primary (Azure’s CATCH_UP), 0 while it seeds or is unknown. primary_region: where reads and writes are served now (the partner after a failover); role: the home-region server’s role. The lag is tenant_operator_geo_replication_lag_seconds.',
    labelNames: ['tenant', 'primary_region', 'partner_region', 'role'],
    samples: (t) => {
      const geo = t.status?.azure?.geoReplication;
      if (geo === undefined) return [];
      const labels = {
        tenant: t.metadata.name,
        primary_region: geo.primaryRegion ?? '',
        partner_region: geo.partnerRegion ?? '',
        role: geo.role ?? '',
      };
      return [{ labels, value: geo.state === 'CATCH_UP' ? 1 : 0 }];
    },
  },
  {
    name: 'tenant_operator_database_excess_privileges',
    help: 'Rights beyond what the operator grants, held by Entra principals of the tenant database, as the last catalogue check found them (status.database.excessPrivileges; 0 when none). Absent until the database has been checked.',
    labelNames: ['tenant'],
    samples: (t) =>
      one(
        t,
        mapDefined(t.status?.database, (d) => d.excessPrivileges?.length ?? 0),
      ),
  },
  {
    name: 'tenant_operator_geo_replication_lag_seconds',
    help: 'Per geo-replicated tenant: seconds its geo-secondary trails the primary (status.azure.geoReplication.lagSeconds: replication_lag_sec of the primary database’s sys.dm_geo_replication_link_status, read with its other database checks, every azure.driftCheckIntervalSeconds). Absent while seeding, after a failover, or not read yet. Alert: above the BackupPolicy’s RPO.',
    labelNames: ['tenant'],
    samples: (t) => one(t, t.status?.azure?.geoReplication?.lagSeconds),
  },
  {
    name: 'tenant_operator_failover_drill_last_success',
    help: '1 when the latest finished failover drill (status.failoverDrill.last) served from the paired region within the RTO, 0 when it failed or exceeded it.',
    labelNames: ['tenant'],
    samples: (t) =>
      one(
        t,
        mapDefined(t.status?.failoverDrill?.last?.result, (r) => (r === 'Succeeded' ? 1 : 0)),
      ),
  },
  {
    name: 'tenant_operator_failover_drill_last_rto_seconds',
    help: 'Time to serve again from the paired region (achieved RTO) in the latest finished failover drill.',
    labelNames: ['tenant'],
    samples: (t) => one(t, t.status?.failoverDrill?.last?.measuredRtoSeconds),
  },
  {
    name: 'tenant_operator_failover_drill_last_data_loss_seconds',
    help: 'Data lost (achieved RPO) in the latest finished failover drill: 0 for a planned failover.',
    labelNames: ['tenant'],
    samples: (t) => one(t, t.status?.failoverDrill?.last?.dataLossSeconds),
  },
  {
    name: 'tenant_operator_failover_drill_last_timestamp_seconds',
    help: 'Unix time the latest failover drill finished.',
    labelNames: ['tenant'],
    samples: (t) => one(t, seconds(t.status?.failoverDrill?.last?.finishedAt)),
  },
  {
    name: 'tenant_operator_failover_drill_running',
    help: 'Present (1) while a failover drill of the tenant runs (status.failoverDrill.running): the database may be served from the paired region.',
    labelNames: ['tenant'],
    samples: (t) => (t.status?.failoverDrill?.running === undefined ? [] : one(t, 1)),
  },
  {
    name: 'tenant_operator_maintenance_pending_changes',
    help: 'Disruptive changes waiting for the tenant’s maintenance window (status.maintenance.pendingChanges).',
    labelNames: ['tenant'],
    samples: (t) =>
      one(
        t,
        mapDefined(t.status?.maintenance, (m) => m.pendingChanges?.length ?? 0),
      ),
  },
  {
    name: 'tenant_operator_maintenance_next_window_timestamp_seconds',
    help: 'Unix time the tenant’s maintenance window opens: the one open now (then it lies in the past), else the next one (status.maintenance.nextWindowOpens). Absent when no window is known to open.',
    labelNames: ['tenant'],
    samples: (t) => one(t, seconds(t.status?.maintenance?.nextWindowOpens)),
  },
];

function mapDefined<T, U>(value: T | undefined, f: (v: T) => U): U | undefined {
  return value === undefined ? undefined : f(value);
}

/**
 * One scrape's view of the caches: the BackupPolicies parsed once per scrape, whatever the number
 * of tenants that follow them.
 */
export function tenantScrape(caches: Pick<Caches, 'backupPolicies'>, config: Pick<OperatorConfig, 'residency'>): TenantScrape {
  const targets = new Map<string, BackupTargets | undefined>();
  return {
    residency: config.residency,
    backupTargets: (name) => {
      if (!targets.has(name)) {
        const raw = caches.backupPolicies.get(name);
        const parsed = raw === undefined ? undefined : backupPolicySpecSchema.safeParse(raw.spec ?? {});
        targets.set(name, parsed?.success ? backupTargets(parsed.data) : undefined);
      }
      return targets.get(name);
    },
  };
}

/**
 * Registers {@link TENANT_METRICS} on `registry`, each computed when Prometheus scrapes, from the
 * Tenant cache once it has synced (a cache still listing would export a partial fleet: nothing is
 * exported until then).
 */
export function registerTenantMetrics(
  registry: Registry,
  caches: Pick<Caches, 'tenants' | 'backupPolicies'>,
  config: Pick<OperatorConfig, 'residency'>,
): void {
  for (const metric of TENANT_METRICS) {
    new ScrapeGauge({
      name: metric.name,
      help: metric.help,
      labelNames: metric.labelNames,
      registers: [registry],
      samples: function* () {
        if (!caches.tenants.hasSynced) return;
        const scrape = tenantScrape(caches, config);
        for (const tenant of caches.tenants.list() as CachedTenant[]) yield* metric.samples(tenant, scrape);
      },
    });
  }
}
