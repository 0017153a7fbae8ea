/**
 * Issue #18: failover drills get their own window. A BackupPolicy's failoverDrill.maintenanceWindowRef
 * names the MaintenanceWindow drills run in, instead of the tenant's own: with the tenant's window
 * open all day and the drill window closed, no drill starts; pointed at an open drill window (the
 * tenant's own now closed), the drill runs there.
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import type { Operator } from '../../../src/operator.ts';
import { ManualClock } from '../../../src/runtime/clock.ts';
import type { KubeClient, KubeObject } from '../../../src/runtime/kube-client.ts';
import {
  adminClient,
  condition,
  sharedControlPlane,
  startOperator,
  type TenantWithStatus,
  tenant,
  typeOf,
  waitFor,
} from '../../harness/fixtures.ts';

const info = sharedControlPlane();
const NAME = 'geodrillwin';
const POLICY = 'geo-drillwin-policy';
const SUNDAY = '2026-12-06T12:00:00Z';
const CONFIG = { maintenance: { noticeHours: 0 } };
const clock = new ManualClock(SUNDAY);
let admin: KubeClient;
let operator: Operator | undefined;

type Drill = { running?: { phase: string }; last?: { result: string } };
const drillOf = (t: TenantWithStatus) => (t as { status?: { failoverDrill?: Drill } }).status?.failoverDrill;
const getTenant = () => admin.get<TenantWithStatus>(typeOf('Tenant'), NAME);

const window = (name: string, days: string[]) => ({
  apiVersion: 'tenancy.dev/v1alpha1',
  kind: 'MaintenanceWindow',
  metadata: { name },
  spec: { timeZone: 'UTC', recurrences: [{ days, start: '00:00', duration: '24h' }] },
});
const policy = (drillWindow: string) => ({
  apiVersion: 'tenancy.dev/v1alpha1',
  kind: 'BackupPolicy',
  metadata: { name: POLICY },
  spec: {
    geoReplication: 'Enabled',
    failoverDrill: { enabled: true, every: '720h', maintenanceWindowRef: { name: drillWindow } },
    restoreDrill: { enabled: false },
  },
});
function theTenant(touch?: string): KubeObject {
  const t = tenant(NAME);
  const spec = t.spec as Record<string, unknown>;
  spec.backupPolicyRef = { name: POLICY };
  spec.maintenanceWindowRef = { name: 'drillwin-tenant' };
  if (touch) t.metadata.labels = { touched: touch };
  return t;
}

beforeAll(async () => {
  admin = adminClient(info.adminKubeconfig);
  const all = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];
  await admin.apply(typeOf('MaintenanceWindow'), window('drillwin-tenant', all), 'test');
  await admin.apply(typeOf('MaintenanceWindow'), window('drillwin-fridays', ['Friday']), 'test');
  await admin.apply(typeOf('MaintenanceWindow'), window('drillwin-sundays', ['Sunday']), 'test');
  await admin.apply(typeOf('BackupPolicy'), policy('drillwin-fridays'), 'test');
  operator = await startOperator({ info, clock, leaseName: 'geodrillwin', config: CONFIG });
  await admin.apply(typeOf('Tenant'), theTenant(), 'test');
}, 60_000);

afterAll(async () => {
  await admin.delete(typeOf('Tenant'), NAME).catch(() => {});
  await waitFor(
    'the tenant released',
    async () => {
      try {
        await getTenant();
        return false;
      } catch {
        return true;
      }
    },
    90_000,
  ).catch(() => {});
  await operator?.stop();
  await admin.delete(typeOf('BackupPolicy'), POLICY).catch(() => {});
  for (const w of ['drillwin-tenant', 'drillwin-fridays', 'drillwin-sundays'])
    await admin.delete(typeOf('MaintenanceWindow'), w).catch(() => {});
}, 120_000);

test('the tenant’s window is open, the policy’s drill window (Fridays) is not: no drill starts', async () => {
  // The pass that first reports the secondary caught up also decides the drill: none may start.
  const t = await waitFor(
    'GeoReplicated True',
    async () => {
      const current = await getTenant();
      return condition(current, 'GeoReplicated')?.status === 'True' ? current : undefined;
    },
    90_000,
  );
  expect(drillOf(t)).toBeUndefined();
});

test('pointed at an open drill window (Sundays), the tenant’s own now closed, the drill runs there and succeeds', async () => {
  await admin.apply(typeOf('MaintenanceWindow'), window('drillwin-tenant', ['Friday']), 'test');
  await admin.apply(typeOf('BackupPolicy'), policy('drillwin-sundays'), 'test');
  await admin.apply(typeOf('Tenant'), theTenant('sundays'), 'test');
  const done = await waitFor(
    'the drill finished',
    async () => {
      const drill = drillOf(await getTenant());
      return drill?.last && !drill.running ? drill : undefined;
    },
    90_000,
  );
  expect(done.last?.result).toBe('Succeeded');
});
