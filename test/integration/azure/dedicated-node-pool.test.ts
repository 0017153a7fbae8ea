/**
 * Dedicated tenants get an AKS node pool of their own (a real API server, the ARM emulator's
 * platform cluster, an injected clock): created through the engine, labelled and tainted for the
 * tenant, its pods placed there by node selector and toleration once it is Ready; a pool Azure
 * refuses gives a condition saying why; the pool goes with the tenant; and a change of isolation
 * waits for the maintenance window.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { ArmClient } from '../../../src/azure/arm-client.ts';
import { agentPoolId, CONTAINER_SERVICE_API_VERSION, managedClusterId } from '../../../src/azure/kinds/container-service.ts';
import { parseConfig } from '../../../src/config.ts';
import type { Operator } from '../../../src/operator.ts';
import { ManualClock } from '../../../src/runtime/clock.ts';
import type { KubeClient, KubeObject } from '../../../src/runtime/kube-client.ts';
import { armClientOf, createAzureClientsFromConfig } from '../../../src/tenant/azure-step.ts';
import { nodePoolName } from '../../../src/tenant/node-pool.ts';
import {
  adminClient,
  condition,
  EMULATOR_CLUSTER,
  emulatorAzureConfig,
  sharedControlPlane,
  startOperator,
  type TenantOptions,
  type TenantWithStatus,
  tenant,
  typeOf,
  waitFor,
  waitForReady,
  waitForTenantDeleted,
} from '../../harness/fixtures.ts';

const info = sharedControlPlane();
const SUNDAY = '2026-11-22T12:00:00Z';
const IN_WINDOW = '2026-11-25T02:00:00Z'; // Wednesday 03:00 in Amsterdam
const clock = new ManualClock(SUNDAY);
/** About the window, not the advance notice: none owed. */
const CONFIG = { maintenance: { noticeHours: 0 } };

let admin: KubeClient;
let arm: ArmClient;
let clusterId: string;
let operator: Operator | undefined;

type PodSpec = { nodeSelector?: Record<string, string>; tolerations?: unknown[] };
type WithPool = TenantWithStatus & {
  status?: { nodePool?: string; isolation?: string; maintenance?: { pendingChanges?: string[] } };
};

function theTenant(name: string, o: TenantOptions & { window?: string; touch?: string } = {}): KubeObject {
  const t = tenant(name, o) as KubeObject & { spec: Record<string, unknown> };
  if (o.window) t.spec.maintenanceWindowRef = { name: o.window };
  if (o.touch) t.metadata.labels = { touched: o.touch };
  return t;
}

const poolOf = (name: string) => arm.get(agentPoolId(clusterId, nodePoolName(name)), CONTAINER_SERVICE_API_VERSION);

async function podSpecOf(name: string): Promise<PodSpec | undefined> {
  const d = await admin.get<KubeObject & { spec: { template: { spec: PodSpec } } }>(
    typeOf('Deployment'),
    'tenant-app',
    `tenant-${name}-dev`,
  );
  return d.spec.template.spec;
}

function waitForTenant(name: string, what: string, predicate: (t: WithPool) => boolean, timeoutMs = 60_000): Promise<WithPool> {
  return waitFor(
    what,
    async () => {
      const t = await admin.get<WithPool>(typeOf('Tenant'), name);
      return t.status?.observedGeneration === t.metadata.generation && predicate(t) ? t : undefined;
    },
    timeoutMs,
  );
}

async function deleteAndWait(name: string): Promise<void> {
  await admin.delete(typeOf('Tenant'), name).catch(() => {});
  await waitForTenantDeleted(admin, name);
}

beforeAll(async () => {
  admin = adminClient(info.adminKubeconfig);
  const azure = parseConfig({ azure: emulatorAzureConfig(info.arm) }).azure;
  if (!azure) throw new Error('no azure configuration');
  arm = armClientOf(createAzureClientsFromConfig(azure), azure);
  clusterId = managedClusterId(azure.subscriptionId, EMULATOR_CLUSTER.resourceGroup, EMULATOR_CLUSTER.name);
  await admin.apply(
    typeOf('MaintenanceWindow'),
    {
      apiVersion: 'tenancy.dev/v1alpha1',
      kind: 'MaintenanceWindow',
      metadata: { name: 'np-window' },
      spec: { timeZone: 'Europe/Amsterdam', recurrences: [{ days: ['Wednesday'], start: '02:00', duration: '3h' }] },
    },
    'test',
  );
}, 60_000);

afterAll(async () => {
  operator ??= await startOperator({ info, clock, config: CONFIG });
  for (const name of ['npded', 'npquota', 'npsku', 'npgate']) await deleteAndWait(name).catch(() => {});
  await operator?.stop();
}, 120_000);

describe('a Dedicated tenant', () => {
  test('gets its own pool, labelled and tainted for it; its pods get the matching selector and toleration', async () => {
    operator = await startOperator({ info, clock, config: CONFIG });
    await admin.apply(typeOf('Tenant'), theTenant('npded', { isolation: 'Dedicated' }), 'test');
    const t = (await waitForReady(admin, 'npded', 90_000)) as WithPool;
    expect(condition(t, 'NodePoolReady')).toMatchObject({ status: 'True', reason: 'Provisioned' });
    expect(t.status?.nodePool).toBe(nodePoolName('npded'));
    const pool = await poolOf('npded');
    expect(pool?.properties).toMatchObject({
      mode: 'User',
      vmSize: 'Standard_D2s_v5',
      count: 2,
      nodeLabels: { 'tenancy.dev/tenant': 'npded' },
      nodeTaints: ['tenancy.dev/tenant=npded:NoSchedule'],
      provisioningState: 'Succeeded',
    });
    expect(await podSpecOf('npded')).toMatchObject({
      nodeSelector: { 'tenancy.dev/tenant': 'npded' },
      tolerations: [{ key: 'tenancy.dev/tenant', operator: 'Equal', value: 'npded', effect: 'NoSchedule' }],
    });
  });

  test('deleting the tenant removes its pool, even under deletionPolicy Retain (it holds no customer data)', async () => {
    await deleteAndWait('npded');
    expect(await poolOf('npded')).toBeUndefined();
  });
});

describe('a pool Azure refuses', () => {
  test('over the vCPU quota, or a VM size the region lacks: NodePoolReady says which, on the platform team; pods stay on the shared nodes', async () => {
    await operator?.stop();
    // 100 nodes of 2 vCPUs: beyond the emulator's 100 DSv5 vCPUs per region (Azure's QuotaExceeded).
    const azure = {
      ...emulatorAzureConfig(info.arm),
      cluster: {
        resourceGroup: EMULATOR_CLUSTER.resourceGroup,
        name: EMULATOR_CLUSTER.name,
        nodePools: {
          Small: { vmSize: 'Standard_D2s_v5', count: 100 },
          // Offered in a few US regions only: westeurope's cluster cannot have it.
          Medium: { vmSize: 'Standard_NC6s_v3', count: 1 },
          Large: { vmSize: 'Standard_D8s_v5', count: 3 },
        },
      },
    };
    operator = await startOperator({ info, clock, config: { ...CONFIG, azure } });
    await admin.apply(typeOf('Tenant'), theTenant('npquota', { isolation: 'Dedicated' }), 'test');
    const t = await waitForTenant(
      'npquota',
      'quota refusal',
      (x) => condition(x, 'NodePoolReady')?.reason === 'AzureQuotaExceeded',
    );
    expect(condition(t, 'NodePoolReady')?.status).toBe('False');
    expect(condition(t, 'NodePoolReady')?.message).toContain('standardDSv5Family Cores quota');
    expect(condition(t, 'Ready')?.status).toBe('False');
    expect(await poolOf('npquota')).toBeUndefined();
    const spec = await waitFor('the Deployment', () => podSpecOf('npquota').catch(() => undefined));
    expect(spec.nodeSelector).toBeUndefined();
    expect(spec.tolerations).toBeUndefined();
    // A VM size the cluster's region does not offer: said as such, also the platform team's.
    await admin.apply(typeOf('Tenant'), theTenant('npsku', { isolation: 'Dedicated', tier: 'Medium' }), 'test');
    const sku = await waitForTenant(
      'npsku',
      'VM size refusal',
      (x) => condition(x, 'NodePoolReady')?.reason === 'AzureVmSizeNotAvailable',
    );
    expect(condition(sku, 'NodePoolReady')?.message).toContain("is not allowed in your subscription in location 'westeurope'");
    expect(await poolOf('npsku')).toBeUndefined();
    await deleteAndWait('npquota');
    await deleteAndWait('npsku');
    await operator?.stop();
    operator = await startOperator({ info, clock, config: CONFIG });
  });
});

describe('a change of isolation waits for the maintenance window', () => {
  test('Shared to Dedicated is announced and held: no pool, pods on the shared nodes', async () => {
    operator ??= await startOperator({ info, clock, config: CONFIG });
    await admin.apply(typeOf('Tenant'), theTenant('npgate', { window: 'np-window' }), 'test');
    const shared = (await waitForReady(admin, 'npgate', 90_000)) as WithPool;
    expect(condition(shared, 'NodePoolReady')).toMatchObject({ status: 'True', reason: 'SharedNodes' });
    await admin.apply(typeOf('Tenant'), theTenant('npgate', { window: 'np-window', isolation: 'Dedicated' }), 'test');
    const held = await waitForTenant('npgate', 'the change held', (x) => condition(x, 'UpdatePending')?.status === 'True');
    expect(held.status?.maintenance?.pendingChanges).toEqual(['isolation Shared -> Dedicated']);
    expect(held.status?.isolation).toBe('Shared');
    expect(condition(held, 'NodePoolReady')?.reason).toBe('SharedNodes');
    expect(await poolOf('npgate')).toBeUndefined();
    expect((await podSpecOf('npgate'))?.nodeSelector).toBeUndefined();
  });

  test('in the window the pool is created and the pods move onto it', async () => {
    clock.set(IN_WINDOW);
    await admin.apply(typeOf('Tenant'), theTenant('npgate', { window: 'np-window', isolation: 'Dedicated', touch: 'w' }), 'test');
    const t = await waitForTenant(
      'npgate',
      'on its own pool',
      (x) => condition(x, 'NodePoolReady')?.reason === 'Provisioned' && condition(x, 'UpdatePending')?.status === 'False',
      90_000,
    );
    expect(t.status?.isolation).toBe('Dedicated');
    expect(await poolOf('npgate')).toBeDefined();
    await waitFor('pods placed', async () =>
      (await podSpecOf('npgate'))?.nodeSelector?.['tenancy.dev/tenant'] === 'npgate' ? true : undefined,
    );
  });

  test('back to Shared in the window: pods leave the pool, and the pool is deleted', async () => {
    await admin.apply(typeOf('Tenant'), theTenant('npgate', { window: 'np-window', isolation: 'Shared', touch: 'back' }), 'test');
    const t = await waitForTenant(
      'npgate',
      'shared again, pool gone',
      (x) => x.status?.isolation === 'Shared' && x.status?.nodePool === undefined,
      90_000,
    );
    expect(condition(t, 'NodePoolReady')?.reason).toBe('SharedNodes');
    expect(await poolOf('npgate')).toBeUndefined();
    expect((await podSpecOf('npgate'))?.nodeSelector).toBeUndefined();
  });
});
