/**
 * Issue #18 parts 1-2 end to end: the operator against the real API server and the shared ARM
 * emulator. A tenant whose BackupPolicy asks for geo-replication gets its failover group (status:
 * the listener as its database host, GeoReplicated True); in its maintenance window a failover
 * drill runs; the operator is stopped mid-drill (its failover request held in flight by the
 * emulator) and a new one finishes it from the Tenant's status: measured in status, Events and
 * metrics, with the database back in its home region.
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import type { Operator } from '../../../src/operator.ts';
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
  waitForReady,
} from '../../harness/fixtures.ts';
import { armAdmin } from '../backup/support.ts';

const info = sharedControlPlane();
const NAME = 'geodrill';
const POLICY = 'geo-drill-policy';
const WINDOW = 'geo-drill-window';
let admin: KubeClient;
let operator: Operator | undefined;

type DrillStatus = {
  running?: { phase: string; operation?: unknown };
  last?: { result: string; measuredRtoSeconds?: number; dataLossSeconds?: number };
};
type GeoStatus = { role?: string; state?: string; primaryRegion?: string; partnerRegion?: string; listener?: string };
type Status = { failoverDrill?: DrillStatus; azure?: { databaseHost?: string; geoReplication?: GeoStatus } };
const statusOf = (t: TenantWithStatus) => ((t as { status?: Status }).status ?? {}) as Status;
const get = () => admin.get<TenantWithStatus>(typeOf('Tenant'), NAME);

async function events(reason: string): Promise<{ message: string; type: string }[]> {
  const list = await admin.request<{
    items: { reason: string; message: string; type: string; involvedObject: { name: string } }[];
  }>('GET', '/api/v1/namespaces/default/events');
  return list.items.filter((e) => e.reason === reason && e.involvedObject.name === NAME);
}

async function scrape(metric: string): Promise<number | undefined> {
  const text = await (await fetch(`http://127.0.0.1:${operator?.httpPort}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${metric}{tenant="${NAME}"}`));
  return line === undefined ? undefined : Number(line.split(' ').pop());
}

function geoTenant(): KubeObject {
  const t = tenant(NAME);
  const spec = t.spec as Record<string, unknown>;
  spec.backupPolicyRef = { name: POLICY };
  spec.maintenanceWindowRef = { name: WINDOW };
  return t;
}

beforeAll(async () => {
  admin = adminClient(info.adminKubeconfig);
  // Drills run only in the window: this one is open all day, every day.
  await admin.apply(
    typeOf('MaintenanceWindow'),
    {
      apiVersion: 'tenancy.dev/v1alpha1',
      kind: 'MaintenanceWindow',
      metadata: { name: WINDOW },
      spec: {
        timeZone: 'UTC',
        recurrences: [
          {
            days: ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'],
            start: '00:00',
            duration: '24h',
          },
        ],
      },
    },
    'test',
  );
  await admin.apply(
    typeOf('BackupPolicy'),
    {
      apiVersion: 'tenancy.dev/v1alpha1',
      kind: 'BackupPolicy',
      metadata: { name: POLICY },
      spec: { geoReplication: 'Enabled', failoverDrill: { enabled: true, every: '720h' }, restoreDrill: { enabled: false } },
    },
    'test',
  );
  // The drill's first failover request is held 3 s by the emulator: the operator is stopped meanwhile.
  await armAdmin(info.arm!, 'POST', '/_emulator/faults', {
    name: 'geodrill-slow-failover',
    match: { method: 'POST', path: `/failoverGroups/fog-${NAME}-[a-z0-9-]+/failover$` },
    action: { kind: 'latency', ms: 3000 },
    times: 1,
  });
  operator = await startOperator({ info, leaseName: 'geodrill', config: { maintenance: { noticeHours: 0 } } });
  await admin.apply(typeOf('Tenant'), geoTenant(), 'test');
  await waitForReady(admin, NAME);
});

afterAll(async () => {
  await admin.delete(typeOf('Tenant'), NAME).catch(() => {});
  await operator?.stop();
  await admin.delete(typeOf('BackupPolicy'), POLICY).catch(() => {});
  await admin.delete(typeOf('MaintenanceWindow'), WINDOW).catch(() => {});
});

test('geo-replicated: GeoReplicated True, the failover group’s listener is the database host', async () => {
  const t = await waitFor('GeoReplicated True', async () => {
    const current = await get();
    return condition(current, 'GeoReplicated')?.status === 'True' ? current : undefined;
  });
  expect(condition(t, 'GeoReplicated')?.reason).toBe('Replicating');
  const azure = statusOf(t).azure;
  expect(azure?.databaseHost).toMatch(new RegExp(`^fog-${NAME}-[a-z0-9-]+\\.database\\.windows\\.net$`));
  expect(azure?.geoReplication).toMatchObject({ partnerRegion: 'northeurope', listener: azure?.databaseHost });
});

test('a drill interrupted by an operator restart is finished by the next operator, measured and back home', async () => {
  // The drill is recorded before its failover is requested; stop the operator while that request is in flight.
  await waitFor('a failover drill running', async () =>
    (statusOf(await get()).failoverDrill?.running?.phase ?? '') === 'FailingOver' ? true : undefined,
  );
  await operator?.stop();
  operator = undefined;
  const interrupted = statusOf(await get()).failoverDrill;
  expect(interrupted?.running).toBeDefined();
  expect(interrupted?.last).toBeUndefined();

  operator = await startOperator({ info, leaseName: 'geodrill', config: { maintenance: { noticeHours: 0 } } });
  const done = await waitFor('the drill finished', async () => {
    const t = await get();
    const drill = statusOf(t).failoverDrill;
    return drill?.last !== undefined && drill.running === undefined ? t : undefined;
  });
  const drill = statusOf(done).failoverDrill;
  expect(drill?.last).toMatchObject({ result: 'Succeeded', dataLossSeconds: 0 });
  expect(drill?.last?.measuredRtoSeconds).toBeGreaterThanOrEqual(0);
  expect((await events('FailoverDrillStarted')).length).toBe(1);
  await waitFor('FailoverDrillSucceeded event', async () =>
    (await events('FailoverDrillSucceeded')).length === 1 ? true : undefined,
  );

  // Back home: the home-region server is primary again (as the next full read of Azure reports it).
  const geo = await waitFor('home region primary', async () => {
    const g = statusOf(await get()).azure?.geoReplication;
    return g?.role === 'Primary' && g.primaryRegion === 'westeurope' ? g : undefined;
  });
  expect(geo.state).toBe('CATCH_UP');
  expect(await scrape('tenant_operator_failover_drill_last_success')).toBe(1);
  expect(await scrape('tenant_operator_failover_drill_last_data_loss_seconds')).toBe(0);
});
