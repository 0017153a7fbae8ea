/**
 * Turning zone redundancy on for a database that runs without it is a disruptive change: the
 * operator (a real API server, the ARM emulator, an injected clock) announces it in UpdatePending
 * and leaves the database alone until the tenant's maintenance window, then makes it
 * zone-redundant. The starting point is a Production database from before zone redundancy was
 * decided: in one zone, and nothing recorded on its namespace.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { ArmClient } from '../../../src/azure/arm-client.ts';
import { SQL_API_VERSION } from '../../../src/azure/kinds/sql.ts';
import { parseConfig } from '../../../src/config.ts';
import { APPLIED_ZONE_REDUNDANCY_ANNOTATION } from '../../../src/maintenance/tenant-settings.ts';
import type { Operator } from '../../../src/operator.ts';
import { ManualClock } from '../../../src/runtime/clock.ts';
import type { KubeClient, KubeObject } from '../../../src/runtime/kube-client.ts';
import { tenantAzureIds, tenantNames } from '../../../src/tenant/azure.ts';
import { armClientOf, createAzureClientsFromConfig } from '../../../src/tenant/azure-step.ts';
import { parseTenant } from '../../../src/tenant/parse.ts';
import {
  adminClient,
  condition,
  emulatorAzureConfig,
  sharedControlPlane,
  startOperator,
  type TenantWithStatus,
  tenant,
  typeOf,
  waitFor,
  waitForReady,
  waitForTenantGone,
} from '../../harness/fixtures.ts';

const info = sharedControlPlane();
const NAME = 'zrgate';
const NAMESPACE = `tenant-${NAME}-prod`;
const SUNDAY = '2026-11-22T12:00:00Z';
const IN_WINDOW = '2026-11-25T02:00:00Z'; // Wednesday 03:00 in Amsterdam
const clock = new ManualClock(SUNDAY);
/** About the window, not the advance notice (tested with the gate): none owed. */
const CONFIG = { maintenance: { noticeHours: 0 } };

let admin: KubeClient;
let arm: ArmClient;
let databaseId: string;
let operator: Operator | undefined;

type Gated = TenantWithStatus & { status?: { maintenance?: { pendingChanges?: string[] } } };

function theTenant(touch?: string): KubeObject {
  const t = tenant(NAME, { environment: 'Production', replicas: 2, region: 'westeurope' }) as KubeObject & {
    spec: Record<string, unknown>;
  };
  t.spec.maintenanceWindowRef = { name: 'zr-window' };
  if (touch) t.metadata.labels = { touched: touch };
  return t;
}

async function databaseZoneRedundant(): Promise<boolean | undefined> {
  const db = await arm.get(databaseId, SQL_API_VERSION);
  return (db?.properties as { zoneRedundant?: boolean } | undefined)?.zoneRedundant;
}

function waitForTenant(what: string, predicate: (t: Gated) => boolean): Promise<Gated> {
  return waitFor(
    what,
    async () => {
      const t = await admin.get<Gated>(typeOf('Tenant'), NAME);
      return t.status?.observedGeneration === t.metadata.generation && predicate(t) ? t : undefined;
    },
    60_000,
  );
}

beforeAll(async () => {
  admin = adminClient(info.adminKubeconfig);
  const azure = parseConfig({ azure: emulatorAzureConfig(info.arm) }).azure;
  if (!azure) throw new Error('no azure configuration');
  arm = armClientOf(createAzureClientsFromConfig(azure), azure);
  const parsed = parseTenant(theTenant());
  if (!parsed.ok) throw new Error(parsed.message);
  databaseId = tenantAzureIds(azure.subscriptionId, tenantNames(parsed.tenant, azure)).database;
  await admin.apply(
    typeOf('MaintenanceWindow'),
    {
      apiVersion: 'tenancy.dev/v1alpha1',
      kind: 'MaintenanceWindow',
      metadata: { name: 'zr-window' },
      spec: { timeZone: 'Europe/Amsterdam', recurrences: [{ days: ['Wednesday'], start: '02:00', duration: '3h' }] },
    },
    'test',
  );
}, 60_000);

afterAll(async () => {
  // Let go of the tenant while an operator runs, so nothing of it (a restore drill started once the
  // clock entered its window) is left on the shared emulator for other files.
  operator ??= await startOperator({ info, clock, config: CONFIG });
  await admin.delete(typeOf('Tenant'), NAME).catch(() => {});
  await waitForTenantGone(admin, NAME);
  await operator?.stop();
}, 90_000);

describe('zone redundancy waits for the maintenance window', () => {
  test('a new Production tenant’s database is created zone-redundant at once, whatever the window', async () => {
    operator = await startOperator({ info, clock, config: CONFIG });
    await admin.apply(typeOf('Tenant'), theTenant(), 'test');
    const t = await waitForReady(admin, NAME, 90_000);
    expect(condition(t, 'ZoneRedundant')).toMatchObject({ status: 'True', reason: 'AcrossAvailabilityZones' });
    expect(await databaseZoneRedundant()).toBe(true);
    const ns = await admin.get(typeOf('Namespace'), NAMESPACE);
    expect(ns.metadata.annotations?.[APPLIED_ZONE_REDUNDANCY_ANNOTATION]).toBe('true');
  });

  test('a database from before (one zone, nothing recorded): the change is announced and held, the database left alone', async () => {
    await operator?.stop();
    operator = undefined;
    // What an older operator left: a database in one zone, a namespace that records nothing of it.
    await arm.beginWrite('PATCH', databaseId, SQL_API_VERSION, { properties: { zoneRedundant: false } });
    await waitFor('the database in one zone', async () => ((await databaseZoneRedundant()) === false ? true : undefined));
    await admin.request('PATCH', `/api/v1/namespaces/${NAMESPACE}`, {
      contentType: 'application/merge-patch+json',
      body: { metadata: { annotations: { [APPLIED_ZONE_REDUNDANCY_ANNOTATION]: null } } },
    });

    operator = await startOperator({ info, clock, config: CONFIG });
    await admin.apply(typeOf('Tenant'), theTenant('held'), 'test');
    const t = await waitForTenant('the change held', (x) => condition(x, 'UpdatePending')?.status === 'True');
    expect(t.status?.maintenance?.pendingChanges).toEqual(['zone redundancy off -> on']);
    expect(condition(t, 'ZoneRedundant')).toMatchObject({ status: 'False', reason: 'WaitingForWindow' });
    // A database in one zone still serves: Ready, and Argo CD Healthy.
    expect(condition(t, 'DatabaseReady')?.status).toBe('True');
    expect(condition(t, 'Ready')?.status).toBe('True');
    expect(await databaseZoneRedundant()).toBe(false);
  });

  test('in the window it is turned on, and the namespace records it', async () => {
    clock.set(IN_WINDOW);
    // Any event re-queues the tenant; production also requeues itself for the window's opening.
    await admin.apply(typeOf('Tenant'), theTenant('window'), 'test');
    const t = await waitForTenant(
      'zone-redundant',
      (x) => condition(x, 'ZoneRedundant')?.status === 'True' && condition(x, 'UpdatePending')?.status === 'False',
    );
    expect(condition(t, 'ZoneRedundant')?.reason).toBe('AcrossAvailabilityZones');
    expect(await databaseZoneRedundant()).toBe(true);
    const ns = await admin.get(typeOf('Namespace'), NAMESPACE);
    expect(ns.metadata.annotations?.[APPLIED_ZONE_REDUNDANCY_ANNOTATION]).toBe('true');
  });
});
