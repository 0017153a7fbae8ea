/**
 * Every dashboard query and alert expression, evaluated by a real Prometheus (Debian's 2.42, the
 * version issue #19 was found with) that scrapes two operator replicas every second, against
 * tenants whose states are known: each expression must return what those states say, and may be
 * empty only for a named reason.
 *
 * The world is private (its own ARM emulator, and the suite's one-node cluster, test/harness/node-cluster.ts, which
 * serves one file at a time and is emptied between files), so every count is exact. The tenants' pods are real: the
 * deployment controller and the kubelet decide which are available, never the test.
 * - prom-ready: Ready; its tier changed from Small to Medium while Prometheus watched (in a window
 *   that is always open), so old and new tier series both exist in Prometheus' history;
 * - prom-held: Ready, a version bump held for a window that opens in three days;
 * - prom-late: Ready, its newest restore point is 26 hours old (the emulator's clock started a day
 *   back and its backups were stopped) against an RPO of 1 hour, and drills are off;
 * - prom-slow: not Ready while the operator is working on it: its version is a tag of the test application no node has
 *   and no registry serves, so its pod never pulls its image and never becomes available;
 * - prom-offside: refused on its first reconcile, region outside its residency zone (the owner must act);
 * - prom-noperm: Azure denies the operator the creation of its identity (the platform team must act).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { type ArmEmulator, startArmEmulator } from '../../../hack/arm-emulator/index.ts';
import { WEEKDAYS } from '../../../src/api/v1alpha1/maintenance-window.ts';
import type { Operator } from '../../../src/operator.ts';
import type { KubeClient, KubeObject } from '../../../src/runtime/kube-client.ts';
import { tenantAzureNames } from '../../../src/tenant/azure-names.ts';
import {
  adminClient,
  condition,
  emulatorDirectory,
  emulatorPlatformNetwork,
  sharedNodeCluster,
  startOperator,
  type TenantWithStatus,
  tenant,
  typeOf,
  waitFor,
  waitForReady,
} from '../../harness/fixtures.ts';
import { TEST_APP_IMAGE, TEST_APP_VERSIONS } from '../../harness/node.ts';
import { ATTACH_TIMEOUT_MS, type AttachedNodeCluster } from '../../harness/node-cluster.ts';
import { Prometheus, type PromSample } from '../../harness/prometheus.ts';
import { ALERTS_FILE, alertRules, asPromql, dashboardQueries, dashboardVariableMetrics } from '../../unit/delivery/promql.ts';

const HOUR = 3_600_000;
const T = {
  ready: 'prom-ready',
  held: 'prom-held',
  late: 'prom-late',
  slow: 'prom-slow',
  offside: 'prom-offside',
  noperm: 'prom-noperm',
} as const;
/** The test application's versions every node has; a bump of prom-held to the second waits for its window. */
const [GOOD, NEWER] = TEST_APP_VERSIONS as [string, string];
/** A tag of the test application no node has and no registry serves: prom-slow's pull fails for real. */
const MISSING = '9.9.9';

let cluster: AttachedNodeCluster | undefined;
const caDir = mkdtempSync(join(tmpdir(), 'tenant-operator-prometheus-'));
const prometheus = new Prometheus();
const operators: Operator[] = [];
let emulator: ArmEmulator | undefined;
let admin: KubeClient;
/** The instant every expression is evaluated at: the state below, scraped. */
let at = 0;
/** What the leader counted itself, for the expressions whose truth depends on timing (errors, 429s). */
let operatorFaults: Set<string>;
let throttled: Set<string>;

type TenantWith = TenantWithStatus & {
  status?: { backup?: { newestRestorePoint?: string }; conditions?: { type: string; status: string; reason: string }[] };
};

function window(name: string, recurrences: { days: string[]; start: string; duration: string }[]): KubeObject {
  return {
    apiVersion: 'tenancy.dev/v1alpha1',
    kind: 'MaintenanceWindow',
    metadata: { name },
    spec: { timeZone: 'Etc/UTC', recurrences },
  };
}

/** A tenant running the test application (version GOOD unless `options` says otherwise). */
function aTenant(name: string, fields: Record<string, unknown> = {}, options: Parameters<typeof tenant>[1] = {}): KubeObject {
  const t = tenant(name, { image: TEST_APP_IMAGE, version: GOOD, ...options }) as KubeObject & { spec: Record<string, unknown> };
  Object.assign(t.spec, fields);
  return t;
}

const get = (name: string) => admin.get<TenantWith>(typeOf('Tenant'), name);

function waitForTenant(name: string, what: string, ok: (t: TenantWith) => boolean, timeoutMs = 90_000): Promise<TenantWith> {
  return waitFor(
    `${name}: ${what}`,
    async () => {
      const t = await get(name);
      if (t.status?.observedGeneration === t.metadata.generation && ok(t)) return t;
      // Say what it is instead, if it times out.
      const conditions = (t.status?.conditions ?? []).map((c) => `${c.type}=${c.status} ${c.reason}`);
      throw new Error(`generation ${t.metadata.generation}, observed ${t.status?.observedGeneration}: ${conditions.join(', ')}`);
    },
    timeoutMs,
  );
}

/** Prometheus has scraped `expr` with at least `n` samples now (both replicas export tenant series). */
function waitForScraped(expr: string, n: number): Promise<PromSample[]> {
  return waitFor(`Prometheus to scrape ${expr}`, async () => {
    const r = await prometheus.query(expr);
    return r.length >= n ? r : undefined;
  });
}

beforeAll(async () => {
  cluster = await sharedNodeCluster('delivery/prometheus.test.ts');
  const info = cluster.cluster;
  admin = adminClient(info.adminKubeconfig);
  emulator = await startArmEmulator({
    lroDelayMs: 5,
    platformNetwork: emulatorPlatformNetwork(),
    // A day back, frozen: prom-late's database is created then, and its backups stop there.
    startTime: new Date(Date.now() - 26 * HOUR),
    // The operator's identity is a SQL admin: the newest backup is read from the database itself.
    directoryGroups: emulatorDirectory(),
    behaviours: { rbacPropagationDelayMs: 300 },
  });
  const caFile = join(caDir, 'arm-ca.pem');
  writeFileSync(caFile, emulator.ca);
  const arm = {
    endpoint: emulator.endpoint,
    caFile,
    subscriptionId: emulator.subscriptionId,
    directoryTenantId: emulator.directoryTenantId,
    sqlEndpoint: emulator.sqlEndpoint,
  };
  emulator.faults.add({
    name: 'no permission',
    // The identity, not the resource group: a failure of the group shows in no condition (yet).
    match: {
      method: 'PUT',
      resourceType: 'Microsoft.ManagedIdentity/userAssignedIdentities',
      path: new RegExp(`rg-${T.noperm}-dev`, 'i'),
    },
    action: {
      kind: 'error',
      status: 403,
      code: 'AuthorizationFailed',
      message: 'The client does not have authorization to perform action Microsoft.ManagedIdentity/userAssignedIdentities/write.',
    },
  });
  emulator.faults.add({
    name: 'one outage',
    match: { method: 'GET', path: new RegExp(`rg-${T.held}-dev`, 'i') },
    action: { kind: 'error', status: 503, code: 'ServiceUnavailable' },
    times: 1,
  });

  // WEEKDAYS starts on Monday, getUTCDay on Sunday (0): today is WEEKDAYS[(day + 6) % 7].
  const inThreeDays = WEEKDAYS[(new Date().getUTCDay() + 6 + 3) % 7] as string;
  await admin.apply(
    typeOf('MaintenanceWindow'),
    window('prom-open', [{ days: [...WEEKDAYS], start: '00:00', duration: '24h' }]),
    'test',
  );
  await admin.apply(
    typeOf('MaintenanceWindow'),
    window('prom-closed', [{ days: [inThreeDays], start: '02:00', duration: '1h' }]),
    'test',
  );
  await admin.apply(
    typeOf('BackupPolicy'),
    {
      apiVersion: 'tenancy.dev/v1alpha1',
      kind: 'BackupPolicy',
      metadata: { name: 'prom-nodrill' },
      spec: {
        pointInTimeRetentionDays: 7,
        backupStorageRedundancy: 'Zone',
        rpo: '1h',
        rto: '2h',
        restoreDrill: { every: '168h', enabled: false },
      },
    },
    'test',
  );

  const withArm = { ...info, arm };
  // The tier change lands in an always-open window at once: no advance notice in this test.
  const config = { maintenance: { noticeHours: 0 } };
  operators.push(await startOperator({ info: withArm, identity: 'prom-a', leaseName: 'prom', config }));
  await waitFor('a leader', () => operators[0]?.isLeader);
  operators.push(await startOperator({ info: withArm, identity: 'prom-b', leaseName: 'prom', config }));
  await prometheus.start({
    // The job the chart's ServiceMonitor gives the targets (jobLabel), which TenantOperatorDown watches.
    job: 'tenant-operator',
    targets: operators.map((o) => `127.0.0.1:${o.httpPort}`),
    ruleFiles: [ALERTS_FILE],
  });
  await waitForScraped('up{job="tenant-operator"} == 1', 2);

  // prom-late first, while the emulator's clock is a day back; then its backups stop and the clock
  // comes back to now for everyone else.
  await admin.apply(typeOf('Tenant'), aTenant(T.late, { backupPolicyRef: { name: 'prom-nodrill' } }), 'test');
  const lateDb = tenantAzureNames(T.late, 'development').sqlDatabase;
  await waitFor('prom-late’s database', () => emulator?.state.find('Microsoft.Sql/servers/databases', lateDb), 90_000);
  // Its first backup is taken at creation; the clock (frozen) moves a minute so the pause starts after it.
  emulator.clock.advance(60_000);
  emulator.sql.stopBackups(lateDb);
  emulator.clock.set(new Date());

  await admin.apply(typeOf('Tenant'), aTenant(T.ready, { maintenanceWindowRef: { name: 'prom-open' } }), 'test');
  await admin.apply(typeOf('Tenant'), aTenant(T.held, { maintenanceWindowRef: { name: 'prom-closed' } }), 'test');
  await admin.apply(typeOf('Tenant'), aTenant(T.slow, {}, { version: MISSING }), 'test');
  await admin.apply(typeOf('Tenant'), aTenant(T.offside, { dataResidency: 'EU' }, { region: 'eastus2' }), 'test');
  await admin.apply(typeOf('Tenant'), aTenant(T.noperm), 'test');

  // prom-ready's tier changes once Prometheus has seen the old one.
  await waitForReady(admin, T.ready, 90_000);
  await waitForScraped(`tenant_operator_tenant_info{tenant="${T.ready}",tier="Small"}`, 2);
  await admin.apply(
    typeOf('Tenant'),
    aTenant(T.ready, { maintenanceWindowRef: { name: 'prom-open' } }, { tier: 'Medium' }),
    'test',
  );
  await waitForReady(admin, T.ready, 90_000);
  // prom-held's version bump waits for its window.
  await waitForReady(admin, T.held, 90_000);
  await admin.apply(
    typeOf('Tenant'),
    aTenant(T.held, { maintenanceWindowRef: { name: 'prom-closed' } }, { version: NEWER }),
    'test',
  );
  await waitForTenant(T.held, 'a change held', (t) => condition(t, 'UpdatePending')?.status === 'True');
  await waitForTenant(T.late, 'RPO breached', (t) => condition(t, 'BackupHealthy')?.reason === 'RPOBreached');
  await waitForTenant(T.offside, 'refused', (t) => condition(t, 'Ready')?.reason === 'RegionNotAllowed');
  await waitForTenant(T.noperm, 'denied', (t) =>
    (t.status?.conditions ?? []).some((c) => c.reason === 'AzureAuthorizationFailed'),
  );
  for (const name of [T.ready, T.held, T.slow])
    await waitForTenant(name, 'backups checked', (t) => t.status?.backup?.newestRestorePoint !== undefined);
  await waitForTenant(T.slow, 'its pods not available', (t) => condition(t, 'ApplicationAvailable')?.status !== 'True');
  // Not available for a real reason: the kubelet cannot pull its image.
  await waitFor(
    'prom-slow’s pod failing to pull its image',
    async () => {
      const pods = await admin.request<{
        items: { status?: { containerStatuses?: { state?: { waiting?: { reason?: string } } }[] } }[];
      }>('GET', `/api/v1/namespaces/tenant-${T.slow}-dev/pods`);
      return pods.items.some((p) =>
        ['ErrImagePull', 'ImagePullBackOff'].includes(p.status?.containerStatuses?.[0]?.state?.waiting?.reason ?? ''),
      );
    },
    90_000,
  );

  // Both replicas' caches and Prometheus have caught up with that state.
  await waitForScraped(`tenant_operator_tenant_info{tenant="${T.ready}",tier="Medium"}`, 2);
  await waitForScraped('tenant_operator_tenant_condition{condition="UpdatePending"} == 1', 2);
  await waitForScraped('tenant_operator_tenant_stalled', 4);
  await waitForScraped('tenant_operator_backup_newest_restore_point_timestamp_seconds', 8);
  await waitForScraped('tenant_operator_tenant_condition{condition="Ready"} == 1', 6);
  at = (await prometheus.query('time()')).map((s) => s.value[0])[0] as number;

  const leader = operators[0] as Operator;
  operatorFaults = new Set(
    (await leader.metrics.reconcileTotal.get()).values
      .filter((v) => ['retryable_error', 'error'].includes(String(v.labels.outcome)) && v.value > 0)
      .map((v) => String(v.labels.controller)),
  );
  throttled = new Set(
    (await leader.metrics.azureThrottled.get()).values.filter((v) => v.value > 0).map((v) => String(v.labels.service)),
  );
}, ATTACH_TIMEOUT_MS);

afterAll(async () => {
  await prometheus.stop();
  for (const o of operators.reverse()) await o.stop();
  await emulator?.stop();
  await cluster?.detach();
  rmSync(caDir, { recursive: true, force: true });
}, 240_000);

type Check = (result: PromSample[]) => void;

const values = (r: PromSample[]) => r.map((s) => Number(s.value[1]));
/** One sample with this value. */
const value =
  (n: number): Check =>
  (r) =>
    expect(values(r)).toEqual([n]);
/** One sample per value of `label`, with these values. */
const byLabel =
  (label: string, expected: Record<string, number>): Check =>
  (r) =>
    expect(Object.fromEntries(r.map((s) => [s.metric[label], Number(s.value[1])]))).toEqual(expected);
/** Samples described by these labels, in any order. */
const rows =
  (labels: string[], ...expected: string[]): Check =>
  (r) =>
    expect(r.map((s) => labels.map((l) => s.metric[l]).join(' ')).sort()).toEqual(expected.sort());
const tenants = (...names: string[]) => rows(['tenant'], ...names);
/** Returns data; `what` says what it shows. */
const data =
  (what: string, more: Check = () => {}): Check =>
  (r) => {
    expect({ what, samples: r.length > 0 }).toEqual({ what, samples: true });
    more(r);
  };
/** Nothing, and the reason says why that is right in this state. */
const empty =
  (reason: string): Check =>
  (r) =>
    expect({ reason, result: r }).toEqual({ reason, result: [] });

const NO_PROBES = 'no blackbox exporter probes the tenants here, and the SLO rules are not loaded';
const NO_DRILL =
  'no restore drill has finished: the default policy’s first drill waits for a database an hour old, and prom-nodrill has drills off';

/** What each dashboard query returns in this state, by where it is. */
const DASHBOARD: Record<string, Check> = {
  'panel "Tenants" A': value(6),
  'panel "Ready" A': value(3),
  'panel "Not Ready" A': value(3),
  'panel "Update pending" A': value(1),
  'panel "Leader" A': value(1),
  'panel "Replicas reporting" A': value(2),
  // Issue #19 item 2: prom-ready counted once, under the tier it has now, not under Small as well.
  'panel "Ready and not Ready by tier" A': byLabel('tier', { Medium: 1, Small: 2 }),
  'panel "Ready and not Ready by tier" B': byLabel('tier', { Small: 3 }),
  'panel "Ready and not Ready by region" A': byLabel('region', { westeurope: 3, eastus2: 0 }),
  'panel "Ready and not Ready by region" B': byLabel('region', { westeurope: 2, eastus2: 1 }),
  'panel "Tenants not Ready" A': rows(
    ['tenant', 'tier', 'region'],
    `${T.slow} Small westeurope`,
    `${T.offside} Small eastus2`,
    `${T.noperm} Small westeurope`,
  ),
  'panel "Tenants not Ready" B': rows(
    ['tenant', 'reason', 'actor'],
    `${T.offside} RegionNotAllowed owner`,
    `${T.noperm} AzureAuthorizationFailed platform-team`,
  ),
  'panel "Components not True" A': (r) => {
    const pairs = r.map((s) => `${s.metric.tenant} ${s.metric.condition}`);
    expect(pairs).toEqual(
      expect.arrayContaining([`${T.offside} DataResidency`, `${T.slow} ApplicationAvailable`, `${T.late} BackupHealthy`]),
    );
    expect(pairs.some((p) => p.startsWith(`${T.noperm} `))).toBe(true);
    // Ready tenants list only the drill no one has run yet, zone redundancy (Development
    // databases stay in one zone) and geo-replication (their BackupPolicy asks for none):
    // informational, not un-Ready.
    expect(pairs.filter((p) => p.startsWith(`${T.ready} `) || p.startsWith(`${T.held} `)).sort()).toEqual([
      `${T.held} GeoReplicated`,
      `${T.held} RestoreDrillSucceeded`,
      `${T.held} ZoneRedundant`,
      `${T.ready} GeoReplicated`,
      `${T.ready} RestoreDrillSucceeded`,
      `${T.ready} ZoneRedundant`,
    ]);
  },
  'panel "Not Ready tenants by tier" A': byLabel('tier', { Small: 3 }),
  'panel "Reconciles by outcome" A': data('reconcile rates by outcome, every outcome included', (r) =>
    expect(r.map((s) => s.metric.outcome).sort()).toEqual(
      ['error', 'platform_error', 'requeue', 'retryable_error', 'spec_error', 'success'].sort(),
    ),
  ),
  'panel "Reconcile error ratio" A': data(
    'one ratio per controller',
    byLabelKeys('controller', ['backuppolicy', 'maintenancewindow', 'tenant']),
  ),
  'panel "Reconcile duration" A': data('p95 per controller'),
  'panel "Reconcile duration" B': data('p50 per controller'),
  'panel "Queue depth (leader)" A': data(
    'the leader’s queue depth per controller',
    byLabelKeys('controller', ['backuppolicy', 'maintenancewindow', 'tenant']),
  ),
  'panel "Retries" A': data('retry rates per controller'),
  'panel "Informer restarts per hour" A': data('restarts per informer and reason, 0 when none'),
  'panel "Kubernetes writes" A': data('write rates by verb and resource', (r) =>
    expect(r.map((s) => s.metric.resource)).toEqual(expect.arrayContaining(['tenants', 'events', 'leases'])),
  ),
  'panel "Memory and event loop lag" A': data('memory per replica'),
  'panel "Memory and event loop lag" B': data('event loop lag per replica'),
  'panel "Azure requests by service and status" A': data('ARM request rates', (r) =>
    expect(r.map((s) => s.metric.status)).toEqual(expect.arrayContaining(['2xx', '4xx', '5xx'])),
  ),
  'panel "Azure error ratio" A': data('the 5xx ratio of the service that answered 503 once'),
  'panel "Azure throttling (429) per service" A': data('429 rates per service, 0 when none'),
  'panel "Azure throttled ratio" A': data('the 429 ratio per service, 0 when none'),
  'panel "Tenants beyond RPO" A': value(1),
  'panel "Failed restore drills" A': value(0),
  'panel "Drills over RTO" A': value(0),
  'panel "Oldest restore drill" A': empty(NO_DRILL),
  'panel "Restore point age relative to RPO" A': (r) => {
    tenants(T.ready, T.held, T.late, T.slow)(r);
    for (const s of r) expect([s.metric.tenant, Number(s.value[1]) > 1]).toEqual([s.metric.tenant, s.metric.tenant === T.late]);
  },
  'panel "Restore drill duration relative to RTO" A': empty(NO_DRILL),
  'panel "Backups per tenant" A': (r) => {
    tenants(T.ready, T.held, T.late, T.slow)(r);
    const late = r.find((s) => s.metric.tenant === T.late);
    expect(Number(late?.value[1])).toBeGreaterThan(25 * 3600);
  },
  'panel "Backups per tenant" B': (r) => {
    tenants(T.ready, T.held, T.late, T.slow)(r);
    expect(Object.fromEntries(r.map((s) => [s.metric.tenant, Number(s.value[1])]))).toMatchObject({
      [T.late]: 3600,
      [T.ready]: 7200,
    });
  },
  'panel "Backups per tenant" C': empty(NO_DRILL),
  'panel "Backups per tenant" D': empty(NO_DRILL),
  'panel "Backups per tenant" E': tenants(T.ready, T.held, T.late, T.slow),
  'panel "Backups per tenant" F': tenants(T.ready, T.held, T.late, T.slow),
  'panel "Tenants with pending changes" A': value(1),
  'panel "Windows open now" A': value(1),
  'panel "Maintenance windows" A': byLabel('window', { 'prom-open': 1, 'prom-closed': 0 }),
  'panel "Pending changes" A': rows(['tenant'], T.held),
  'panel "Pending changes" B': (r) => {
    rows(['tenant'], T.held)(r);
    // Its window opens in two to three days.
    expect(Number(r[0]?.value[1])).toBeGreaterThan(24 * 3600);
  },
  // The uptime row reads what config/prometheus/slo-rules.yaml records from blackbox probes; neither
  // runs in this world. test/integration/uptime/slo.test.ts checks the row on real probes.
  'panel "Fleet uptime (Production, 30 days)" A': empty(NO_PROBES),
  'panel "Lowest tenant uptime (Production, 30 days)" A': empty(NO_PROBES),
  'panel "Production tenants below 99.9 %" A': value(0),
  'panel "Production tenants burning budget fast (1h)" A': value(0),
  'panel "Uptime per tenant (30 days)" A': empty(NO_PROBES),
  'panel "Uptime per tenant (30 days)" B': empty(NO_PROBES),
  'panel "Uptime per tenant (30 days)" C': empty(NO_PROBES),
  'panel "Error budget left by tenant (worst first)" A': empty(NO_PROBES),
  'panel "Error rate per tenant (1h window) against the burn-rate thresholds" A': empty(NO_PROBES),
  'panel "Error rate per tenant (1h window) against the burn-rate thresholds" B': value(14.4 * (1 - 0.999)),
  'panel "Availability per tenant (30 days, rolling)" A': empty(NO_PROBES),
  'panel "Availability per tenant (30 days, rolling)" B': value(0.999),
};

/** One sample per value of `label`, exactly these. */
function byLabelKeys(label: string, keys: string[]): Check {
  return (r) => expect(r.map((s) => s.metric[label]).sort()).toEqual(keys);
}

/** What each alert's expression returns in this state (whether it fires depends on its `for`). */
const ALERTS: Record<string, () => Check> = {
  TenantNotReady: () => rows(['tenant', 'tier', 'region'], `${T.slow} Small westeurope`),
  TenantStalledOnPlatform: () =>
    rows(['tenant', 'reason', 'tier', 'region'], `${T.noperm} AzureAuthorizationFailed Small westeurope`),
  TenantStalledOnOwner: () => rows(['tenant', 'reason', 'tier', 'region'], `${T.offside} RegionNotAllowed Small eastus2`),
  TenantNoSubscriptionCapacity: () => empty('every tenant of this test is placed (promtool tests the rule with refused tenants)'),
  TenantMaintenanceChangesStuck: () =>
    empty('prom-held’s changes wait for a window that has not opened yet; prom-ready’s open window applied its change at once'),
  TenantBackupRpoBreached: () => (r) => {
    tenants(T.late)(r);
    expect(values(r)[0]).toBeGreaterThan(25 * 3600);
  },
  TenantRestoreDrillFailed: () => empty(NO_DRILL),
  TenantRestoreDrillOverRto: () => empty(NO_DRILL),
  TenantFailoverDrillFailed: () =>
    empty('no tenant in this test is geo-replicated, so no failover drill runs (promtool tests the rule)'),
  TenantGeoReplicationLagAboveRpo: () =>
    empty('no tenant in this test is geo-replicated, so no replication lag is exported (promtool tests the rule)'),
  TenantOperatorDown: () => empty('both replicas are scraped under job tenant-operator'),
  TenantOperatorNoLeader: () => empty('prom-a holds the Lease'),
  TenantEncryptionKeyExpiringUnrotated: () =>
    empty('every tenant key was created in this test with a two-year expiry (promtool tests the rule)'),
  TenantAccessGrantOverdue: () => empty('no AccessRequest is granted in this test (promtool tests the rule)'),
  TenantDatabaseExcessPrivileges: () =>
    empty(
      'no right beyond the operator’s grants is given in any tenant database here (promtool tests the rule with excess rights)',
    ),
  TenantDriftRepeated: () =>
    empty('nothing the operator owns is edited by hand in this test (promtool tests the rule with repairs)'),
  // prom-offside's spec_error and prom-noperm's platform_error never count; whether the operator had
  // errors of its own (a conflict, a propagating role) depends on timing: its own counters say.
  TenantOperatorReconcileErrors: () =>
    operatorFaults.size === 0
      ? empty('the operator had no retryable or unexpected error of its own; spec and platform errors do not count')
      : (r) => expect(r.map((s) => s.metric.controller).filter((c) => !operatorFaults.has(String(c)))).toEqual([]),
  // The emulator throttles identity writes beyond 2 per second, as Azure does: whether the operator
  // hit that depends on timing; only a service that was throttled may show.
  TenantOperatorAzureThrottled: () =>
    throttled.size === 0
      ? empty('the emulator throttled no request')
      : (r) => expect(r.map((s) => s.metric.service).filter((c) => !throttled.has(String(c)))).toEqual([]),
};

const queries = dashboardQueries();
const rules = alertRules();

describe('every dashboard query returns what the state says', () => {
  test('each query has its expectation, and each expectation its query', () => {
    expect(queries.map((q) => q.where).sort()).toEqual(Object.keys(DASHBOARD).sort());
  });

  test.each(queries.map((q) => [q.where, q.expr] as const))('%s', async (where, expr) => {
    const check = DASHBOARD[where];
    if (!check) throw new Error(`no expectation for ${where}`);
    check(await prometheus.query(asPromql(expr), at));
  });

  test.each([
    ['tier', ['Medium', 'Small']],
    ['region', ['eastus2', 'westeurope']],
  ])('variable %s lists the values of tenant_operator_tenant_info', async (label, expected) => {
    const metric = dashboardVariableMetrics().find((v) => v.where === `variable ${label}`)?.expr;
    expect(metric).toBe(`label_values(tenant_operator_tenant_info, ${label})`);
    expect((await prometheus.labelValues(label, 'tenant_operator_tenant_info')).sort()).toEqual(expected);
  });
});

describe('every alert expression returns what the state says', () => {
  test('each alert has its expectation, and each expectation its alert', () => {
    expect(rules.map((r) => r.alert).sort()).toEqual(Object.keys(ALERTS).sort());
  });

  test.each(rules.map((r) => [r.alert, r.expr] as const))('%s', async (alert, expr) => {
    const check = ALERTS[alert];
    if (!check) throw new Error(`no expectation for ${alert}`);
    check()(await prometheus.query(expr, at));
  });

  test('Prometheus evaluates every rule without error, and the alerts of this state are pending', async () => {
    const body = (await (await fetch(`${prometheus.url}/api/v1/rules`)).json()) as {
      data: { groups: { rules: { name: string; health: string; lastError?: string }[] }[] };
    };
    const evaluated = body.data.groups.flatMap((g) => g.rules);
    expect(evaluated.map((r) => r.name).sort()).toEqual(rules.map((r) => r.alert).sort());
    expect(evaluated.filter((r) => r.health !== 'ok')).toEqual([]);
    const pending = await waitFor('the alerts of this state to be pending', async () => {
      const names = new Set((await prometheus.query('ALERTS{alertstate="pending"}')).map((s) => s.metric.alertname));
      const wanted = ['TenantNotReady', 'TenantStalledOnPlatform', 'TenantStalledOnOwner', 'TenantBackupRpoBreached'];
      return wanted.every((w) => names.has(w)) ? names : undefined;
    });
    expect(pending.has('TenantOperatorDown')).toBe(false);
  });
});

describe('series that stay true (issue #19)', () => {
  test('item 2: a tier change leaves one info series per replica and no tier on any condition series', async () => {
    const info = await prometheus.query(`count by (tier) (tenant_operator_tenant_info{tenant="${T.ready}"})`, at);
    expect(info.map((s) => [s.metric, s.value[1]])).toEqual([[{ tier: 'Medium' }, '2']]);
    const ready = await prometheus.query(`tenant_operator_tenant_condition{tenant="${T.ready}",condition="Ready"}`, at);
    expect(ready.map((s) => Object.keys(s.metric).sort())).toEqual([
      ['__name__', 'condition', 'instance', 'job', 'tenant'],
      ['__name__', 'condition', 'instance', 'job', 'tenant'],
    ]);
  });

  test('item 2: a tenant refused on its first reconcile has its Ready series, at 0', async () => {
    expect(
      values(await prometheus.query(`max(tenant_operator_tenant_condition{tenant="${T.offside}",condition="Ready"})`, at)),
    ).toEqual([0]);
  });

  test('item 3: the restore point’s age keeps growing between reconciles (a timestamp, aged by the query)', async () => {
    const age = `time() - max(tenant_operator_backup_newest_restore_point_timestamp_seconds{tenant="${T.late}"})`;
    const [now, later] = [values(await prometheus.query(age, at)), values(await prometheus.query(age, at + 60))];
    expect((later[0] as number) - (now[0] as number)).toBeCloseTo(60, 3);
  });
});
