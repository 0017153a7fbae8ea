/**
 * The per-tenant series, computed from the cached Tenants' status at scrape time: what each status
 * exports (the issue #19 cases among them), that series follow the cache (a deleted tenant vanishes,
 * a tier change moves one info series), and that nothing from a message reaches a label.
 */
import { describe, expect, test } from '@jest/globals';
import { Registry } from 'prom-client';
import type { Condition } from '../../../src/api/v1alpha1/common.ts';
import { parseConfig } from '../../../src/config.ts';
import { type CachedTenant, registerTenantMetrics, TENANT_METRICS, type TenantScrape } from '../../../src/tenant/metrics.ts';
import { aTenant, withTier } from '../../fixtures/tenant.ts';
import { cached, fleet, observed, status } from '../../fixtures/tenant-status.ts';

const config = parseConfig({});
const scrape: TenantScrape = {
  residency: config.residency,
  backupTargets: (name) => (name === 'gold' ? { rpoMs: 3_600_000, rtoMs: 7_200_000 } : undefined) as never,
};

const READY_COMPONENTS: [string, Condition['status'], string][] = [
  ['DataResidency', 'True', 'RegionAllowed'],
  ['NamespaceReady', 'True', 'NamespaceActive'],
  ['NetworkIsolated', 'True', 'DefaultDenyEnforced'],
  ['ApplicationAvailable', 'True', 'Available'],
  ['IngressReady', 'True', 'Configured'],
  ['UpdatePending', 'False', 'NoPendingChanges'],
  ['Ready', 'True', 'Reconciled'],
];

/** Every sample of one tenant, as `name{label="value",...} value` lines, sorted. */
function series(t: CachedTenant, only?: string): string[] {
  return TENANT_METRICS.filter((m) => only === undefined || m.name === only)
    .flatMap((m) =>
      m.samples(t, scrape).map((s) => {
        const labels = Object.entries(s.labels)
          .map(([k, v]) => `${k}="${v}"`)
          .join(',');
        return `${m.name.replace('tenant_operator_', '')}{${labels}} ${s.value}`;
      }),
    )
    .sort();
}

const ready = (t: CachedTenant) => series(t, 'tenant_operator_tenant_condition').filter((l) => l.includes('"Ready"'));
const stalled = (t: CachedTenant) => series(t, 'tenant_operator_tenant_stalled');

describe('tenant_operator_tenant_condition: 1 only when True for the current spec', () => {
  test.each([
    ['a Ready tenant', cached(3, observed(3, ...READY_COMPONENTS)), 1],
    // Issue #19 item 2: Ready stayed 1 while kubectl showed False on the residency-failure path.
    [
      'a Ready tenant whose next pass was refused for residency',
      cached(4, observed(4, ['DataResidency', 'False', 'RegionNotAllowed'], ['Ready', 'False', 'RegionNotAllowed'])),
      0,
    ],
    [
      'a spec edit the operator has not processed yet (observedGeneration 3 < generation 4)',
      cached(4, observed(3, ...READY_COMPONENTS)),
      0,
    ],
    ['a tenant never reconciled (no status at all)', cached(1), 0],
    ['a tenant whose Ready is Unknown', cached(2, observed(2, ['Ready', 'Unknown', 'Provisioning'])), 0],
  ])('%s: Ready %d', (_name, t, value) => {
    expect(ready(t)).toEqual([`tenant_condition{tenant="acme",condition="Ready"} ${value}`]);
  });

  test('a tenant refused on its first reconcile has its series (issue #19 item 2: it had none)', () => {
    const t = cached(1, observed(1, ['DataResidency', 'False', 'RegionNotAllowed'], ['Ready', 'False', 'RegionNotAllowed']));
    expect(series(t, 'tenant_operator_tenant_condition')).toEqual([
      'tenant_condition{tenant="acme",condition="DataResidency"} 0',
      'tenant_condition{tenant="acme",condition="Ready"} 0',
    ]);
    expect(stalled(t)).toEqual(['tenant_stalled{tenant="acme",reason="RegionNotAllowed",actor="owner"} 1']);
  });

  test('UpdatePending is exported like every other condition (issue #19 item 2: it was not)', () => {
    const t = cached(
      2,
      observed(2, ...READY_COMPONENTS.filter(([type]) => type !== 'UpdatePending'), [
        'UpdatePending',
        'True',
        'WaitingForWindow',
      ]),
    );
    expect(series(t, 'tenant_operator_tenant_condition')).toContain(
      'tenant_condition{tenant="acme",condition="UpdatePending"} 1',
    );
    expect(ready(t)).toEqual(['tenant_condition{tenant="acme",condition="Ready"} 1']);
  });

  test('a condition type outside the catalogue is not exported (label values stay bounded)', () => {
    const t = cached(1, observed(1, ['Ready', 'True', 'Reconciled'], ['SomethingNew', 'True', 'Whatever']));
    expect(series(t, 'tenant_operator_tenant_condition')).toEqual(['tenant_condition{tenant="acme",condition="Ready"} 1']);
  });
});

describe('tenant_operator_tenant_info: tier and region on one series per tenant', () => {
  test('carries the tier that runs (status.tier), else spec.tier, with region, environment and zone', () => {
    expect(series(cached(1, withTier('Medium')), 'tenant_operator_tenant_info')).toEqual([
      'tenant_info{tenant="acme",tier="Medium",region="westeurope",environment="Development",residency="EU"} 1',
    ]);
    // A tier change held for the maintenance window: the tier that runs is still Small.
    expect(series(cached(2, withTier('Large'), status({ tier: 'Small' })), 'tenant_operator_tenant_info')).toEqual([
      'tenant_info{tenant="acme",tier="Small",region="westeurope",environment="Development",residency="EU"} 1',
    ]);
  });

  test('no condition series carries tier or region: a tier change moves no condition series (issue #19 item 2)', () => {
    const before = cached(1, withTier('Small'), observed(1, ...READY_COMPONENTS));
    const after = cached(2, withTier('Medium'), observed(2, ...READY_COMPONENTS));
    expect(series(after, 'tenant_operator_tenant_condition')).toEqual(series(before, 'tenant_operator_tenant_condition'));
  });
});

describe('tenant_operator_tenant_stalled: who must act', () => {
  test.each([
    [
      'a Stalled condition with a platform reason',
      observed(1, ['Ready', 'False', 'AzureQuotaExceeded'], ['Stalled', 'True', 'AzureQuotaExceeded']),
      ['tenant_stalled{tenant="acme",reason="AzureQuotaExceeded",actor="platform-team"} 1'],
    ],
    [
      'a Stalled condition with a spec reason',
      observed(1, ['Ready', 'False', 'InvalidSpec'], ['Stalled', 'True', 'InvalidSpec']),
      ['tenant_stalled{tenant="acme",reason="InvalidSpec",actor="owner"} 1'],
    ],
    [
      'a reason outside the catalogue (never free text in a label)',
      observed(1, ['Stalled', 'True', 'Made Up: secret=x']),
      ['tenant_stalled{tenant="acme",reason="Other",actor="operator"} 1'],
    ],
    ['Stalled False', observed(1, ['Ready', 'False', 'Provisioning'], ['Stalled', 'False', 'Provisioning']), []],
    [
      'no Stalled condition, a component still in progress (derived: not stalled)',
      observed(1, ['DatabaseReady', 'False', 'Provisioning'], ['Ready', 'False', 'Provisioning']),
      [],
    ],
    [
      'no Stalled condition, a component refused for a platform reason (derived)',
      observed(1, ['DatabaseReady', 'False', 'AzureAuthorizationFailed'], ['Ready', 'False', 'AzureAuthorizationFailed']),
      ['tenant_stalled{tenant="acme",reason="AzureAuthorizationFailed",actor="platform-team"} 1'],
    ],
  ])('%s', (_name, modifier, expected) => {
    expect(stalled(cached(1, modifier))).toEqual(expected);
  });

  test('a Stalled condition of an older generation is not current: the new spec may have fixed it', () => {
    expect(stalled(cached(2, observed(1, ['Stalled', 'True', 'InvalidSpec'])))).toEqual([]);
  });
});

describe('backups and maintenance: timestamps from status, never ages', () => {
  const backup = status({
    backup: {
      policy: 'gold',
      retention: { retentionDays: 14 },
      newestRestorePoint: '2026-11-22T11:50:00Z',
      drill: {
        phase: 'Running',
        startedAt: '2026-11-22T11:00:00Z',
        previous: { result: 'ExceededRTO', finishedAt: '2026-11-15T03:00:00Z', measuredRtoSeconds: 9000 },
      },
    },
  });

  test('a tenant with backups checked and a drill running after one that exceeded the RTO', () => {
    expect(series(cached(1, backup)).filter((l) => !l.startsWith('tenant_'))).toEqual([
      'backup_newest_restore_point_timestamp_seconds{tenant="acme"} 1795348200',
      'backup_retention_days{tenant="acme"} 14',
      'backup_rpo_seconds{tenant="acme"} 3600',
      'backup_rto_seconds{tenant="acme"} 7200',
      'restore_drill_last_duration_seconds{tenant="acme"} 9000',
      'restore_drill_last_success{tenant="acme"} 0',
      'restore_drill_last_timestamp_seconds{tenant="acme"} 1794711600',
    ]);
  });

  test('a policy missing from the cache exports no objectives; nothing is exported before the first check', () => {
    const orphan = cached(1, status({ backup: { policy: 'gone', newestRestorePoint: '2026-11-22T11:50:00Z' } }));
    expect(series(orphan).filter((l) => l.startsWith('backup_'))).toEqual([
      'backup_newest_restore_point_timestamp_seconds{tenant="acme"} 1795348200',
    ]);
    expect(series(cached(1)).filter((l) => !l.startsWith('tenant_'))).toEqual([]);
  });

  test.each([
    [
      'geo-replicated, lag read on the primary',
      { role: 'Primary', state: 'CATCH_UP', lagSeconds: 4 },
      ['geo_replication_lag_seconds{tenant="acme"} 4'],
    ],
    ['seeding, or after a failover: no lag series', { role: 'Secondary', state: 'CATCH_UP' }, []],
  ] as const)('replication lag: %s', (_name, geoReplication, expected) => {
    const t = cached(1, status({ azure: { geoReplication } }));
    expect(series(t).filter((l) => l.startsWith('geo_replication_lag'))).toEqual(expected);
  });

  test.each([
    [
      'changes held until the next window',
      { pendingChanges: ['version 1.0.0 -> 1.1.0'], nextWindowOpens: '2026-11-25T01:00:00Z', windowOpen: false },
      ['maintenance_next_window_timestamp_seconds{tenant="acme"} 1795568400', 'maintenance_pending_changes{tenant="acme"} 1'],
    ],
    // Issue #19 item 3: seconds_to_next_window used -1 for "none".
    [
      'no window ever opens: no timestamp, not -1',
      { pendingChanges: ['tier Small -> Medium'], windowOpen: false },
      ['maintenance_pending_changes{tenant="acme"} 1'],
    ],
    [
      'nothing waits',
      { nextWindowOpens: '2026-11-25T01:00:00Z', windowOpen: false },
      ['maintenance_next_window_timestamp_seconds{tenant="acme"} 1795568400', 'maintenance_pending_changes{tenant="acme"} 0'],
    ],
  ])('maintenance: %s', (_name, maintenance, expected) => {
    expect(series(cached(1, status({ maintenance }))).filter((l) => l.startsWith('maintenance_'))).toEqual(expected);
  });
});

describe('tenant_operator_database_excess_privileges: counted from the last catalogue check', () => {
  test.each([
    ['never checked: no series', undefined, []],
    ['checked clean: 0', { user: 'id-acme', roles: ['db_datareader'] }, ['database_excess_privileges{tenant="acme"} 0']],
    [
      'two rights beyond the grants: 2',
      { user: 'id-acme', excessPrivileges: ['alice@contoso: db_owner', 'id-acme: ALTER ANY USER'] },
      ['database_excess_privileges{tenant="acme"} 2'],
    ],
  ])('%s', (_name, database, expected) => {
    const t = cached(1, status(database === undefined ? {} : { database }));
    expect(series(t, 'tenant_operator_database_excess_privileges')).toEqual(expected);
  });
});

test('no label value comes from a message (secrets in messages never reach Prometheus)', () => {
  const secret = ['pass', 'word=', 'Hunter2Hunter2'].join('');
  const t = cached(
    1,
    observed(1, ['Ready', 'False', 'AzureAuthorizationFailed'], ['DatabaseReady', 'False', 'AzureAuthorizationFailed']),
  );
  for (const c of t.status?.conditions ?? []) c.message = `denied: ${secret}`;
  expect(series(t).join('\n')).not.toContain(secret);
});

/** Caches as the operator holds them, with a mutable list of tenants. */
function fakeCaches(tenants: CachedTenant[], synced = true) {
  return {
    tenants: { hasSynced: synced, list: () => tenants },
    backupPolicies: { get: (name: string) => (name === 'gold' ? { spec: { rpo: '1h', rto: '2h' } } : undefined) },
  } as never;
}

describe('registerTenantMetrics: series follow the cache at each scrape', () => {
  test('a deleted tenant vanishes, a tier change leaves one info series, nothing while the cache syncs', async () => {
    const registry = new Registry();
    const tenants = [cached(1, observed(1, ...READY_COMPONENTS)), aTenant('other') as unknown as CachedTenant];
    registerTenantMetrics(registry, fakeCaches(tenants), config);
    expect(await registry.metrics()).toContain('tenant_operator_tenant_condition{tenant="acme",condition="Ready"} 1');

    tenants.splice(0, 1, cached(2, withTier('Large'), observed(2, ...READY_COMPONENTS)));
    tenants.pop();
    const text = await registry.metrics();
    expect(text.match(/^tenant_operator_tenant_info\{.*$/gm)).toEqual([
      'tenant_operator_tenant_info{tenant="acme",tier="Large",region="westeurope",environment="Development",residency="EU"} 1',
    ]);
    expect(text).not.toContain('tenant="other"');

    const syncing = new Registry();
    registerTenantMetrics(syncing, fakeCaches(tenants, false), config);
    expect((await syncing.metrics()).match(/^tenant_operator_tenant_\w+\{/gm)).toBeNull();
  });

  test('1000 tenants with 15 conditions each give one series per condition, plus info and objectives', async () => {
    const registry = new Registry();
    registerTenantMetrics(registry, fakeCaches(fleet(1000)), config);
    const text = await registry.metrics();
    const count = (name: string) => (text.match(new RegExp(`^${name}\\{`, 'gm')) ?? []).length;
    expect(count('tenant_operator_tenant_condition')).toBe(15_000);
    expect(count('tenant_operator_tenant_info')).toBe(1000);
    expect(count('tenant_operator_backup_rpo_seconds')).toBe(1000);
    expect(count('tenant_operator_tenant_stalled')).toBe(100);
  });
});
