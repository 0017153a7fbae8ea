/**
 * What users see must be what is true (issue #19), against the real API server with the operator
 * in Kubernetes-only mode (no Azure configuration):
 * - a tenant in a terminal state is still repaired, and no condition speaks for an older generation;
 * - Kubernetes-only mode reaches Ready when exposure without a per-tenant WAF is chosen, and says
 *   why not otherwise;
 * - deleting a tenant with `deletionPolicy: Delete` records Events.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { Operator } from '../../src/operator.ts';
import { isNotFound, type KubeClient, type KubeObject } from '../../src/runtime/kube-client.ts';
import {
  adminClient,
  condition,
  sharedControlPlane,
  startOperator,
  type TenantWithStatus,
  tenant,
  typeOf,
  waitFor,
} from '../harness/fixtures.ts';

const NP = { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', plural: 'networkpolicies', namespaced: true };
const ROUTE = { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute', plural: 'httproutes', namespaced: true };

const info = sharedControlPlane();
// Kubernetes-only: the shared control plane's ARM emulator is left out on purpose.
const kubernetesOnly = { ...info, arm: undefined };
let admin: KubeClient;

beforeAll(() => {
  admin = adminClient(info.adminKubeconfig);
});

const getTenant = (name: string) => admin.get<TenantWithStatus>(typeOf('Tenant'), name);

async function exists(type: Parameters<KubeClient['get']>[0], name: string, ns?: string): Promise<boolean> {
  try {
    await admin.get(type, name, ns);
    return true;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}

/** Conditions computed for another generation than the Tenant's own. */
function staleConditions(t: TenantWithStatus): string[] {
  const generation = t.metadata.generation;
  return (t.status?.conditions ?? []).filter((c) => c.observedGeneration !== generation).map((c) => c.type);
}

async function removeTenant(name: string): Promise<void> {
  await admin.delete(typeOf('Tenant'), name).catch(() => {});
  await waitFor(`${name} gone`, async () => !(await exists(typeOf('Tenant'), name)), 30_000);
}

describe('Kubernetes-only mode without frontDoor.exposeWithoutWafPolicy', () => {
  let operator: Operator;
  beforeAll(async () => {
    operator = await startOperator({ info: kubernetesOnly, leaseName: `truth-a-${Date.now()}` });
  });
  afterAll(async () => {
    await removeTenant('unexposed').catch(() => {});
    await removeTenant('steadfast').catch(() => {});
    await operator?.stop();
  });

  test('says the WAF is not managed, exposes nothing, and names the platform team (Stalled)', async () => {
    await admin.apply(typeOf('Tenant'), tenant('unexposed'), 'test');
    const t = await waitFor('IngressReady WafNotManaged', async () => {
      const got = await getTenant('unexposed');
      return condition(got, 'IngressReady')?.reason === 'WafNotManaged' &&
        condition(got, 'ApplicationAvailable')?.status === 'True'
        ? got
        : undefined;
    });
    expect(condition(t, 'AzureResourcesReady')).toMatchObject({ status: 'True', reason: 'NotManaged' });
    expect(condition(t, 'Ready')).toMatchObject({ status: 'False', reason: 'WafNotManaged' });
    expect(condition(t, 'Stalled')).toMatchObject({ status: 'True', reason: 'WafNotManaged' });
    expect(condition(t, 'Reconciling')?.status).toBe('False');
    expect(await exists(ROUTE, 'tenant-app', 'tenant-unexposed-dev')).toBe(false);
  });

  test('a tenant refused after provisioning is still repaired, and every condition is for its current generation', async () => {
    // southeastasia's zone (SG) keeps backups in-region: Local or Zone, never Geo.
    await admin.apply(
      typeOf('BackupPolicy'),
      {
        apiVersion: 'tenancy.dev/v1alpha1',
        kind: 'BackupPolicy',
        metadata: { name: 'geo-copies' },
        spec: { pointInTimeRetentionDays: 7, backupStorageRedundancy: 'Geo', rpo: '2h', rto: '2h' },
      },
      'test',
    );
    await admin.apply(typeOf('Tenant'), tenant('steadfast', { region: 'southeastasia' }), 'test');
    await waitFor(
      'steadfast isolated',
      async () => condition(await getTenant('steadfast'), 'NetworkIsolated')?.status === 'True',
    );

    const refusedSpec = tenant('steadfast', { region: 'southeastasia' });
    (refusedSpec.spec as Record<string, unknown>).backupPolicyRef = { name: 'geo-copies' };
    await admin.apply(typeOf('Tenant'), refusedSpec, 'test');
    const refused = await waitFor('BackupRedundancyNotAllowed', async () => {
      const got = await getTenant('steadfast');
      return condition(got, 'Ready')?.reason === 'BackupRedundancyNotAllowed' &&
        got.status?.observedGeneration === got.metadata.generation
        ? got
        : undefined;
    });
    expect(condition(refused, 'Stalled')).toMatchObject({ status: 'True', reason: 'BackupRedundancyNotAllowed' });
    expect(staleConditions(refused)).toEqual([]);

    // Someone deletes the default-deny policy of the refused tenant: it comes back.
    await admin.delete(NP, 'default-deny', 'tenant-steadfast-dev');
    await waitFor('default-deny restored', () => exists(NP, 'default-deny', 'tenant-steadfast-dev'), 20_000);
    const after = await getTenant('steadfast');
    expect(condition(after, 'NetworkIsolated')).toMatchObject({ status: 'True', observedGeneration: after.metadata.generation });
    expect(condition(after, 'Ready')?.reason).toBe('BackupRedundancyNotAllowed');
    await admin.delete(typeOf('BackupPolicy'), 'geo-copies').catch(() => {});
  });

  test('dataResidency cannot change, be added or be removed after creation (admission)', async () => {
    const changed = tenant('steadfast', { region: 'southeastasia' });
    (changed.spec as Record<string, unknown>).dataResidency = 'SG';
    await expect(admin.apply(typeOf('Tenant'), changed, 'test')).rejects.toThrow(/dataResidency is immutable/);
  });
});

describe('Kubernetes-only mode with frontDoor.exposeWithoutWafPolicy', () => {
  let operator: Operator;
  beforeAll(async () => {
    operator = await startOperator({
      info: kubernetesOnly,
      leaseName: `truth-b-${Date.now()}`,
      config: { frontDoor: { exposeWithoutWafPolicy: true } },
    });
  });
  afterAll(async () => {
    await operator?.stop();
  });

  test('a tenant reaches Ready, served without a per-tenant WAF policy, and the conditions say so', async () => {
    await admin.apply(typeOf('Tenant'), tenant('exposed', { deletionPolicy: 'Delete' }), 'test');
    const t = await waitFor('exposed Ready', async () => {
      const got = await getTenant('exposed');
      return condition(got, 'Ready')?.status === 'True' ? got : undefined;
    });
    expect(condition(t, 'IngressReady')).toMatchObject({ reason: 'ConfiguredWithoutWaf' });
    expect(condition(t, 'IngressReady')?.message).toContain('without a per-tenant WAF policy');
    expect(condition(t, 'Stalled')?.status).toBe('False');
    expect(condition(t, 'Reconciling')?.status).toBe('False');
    expect((t.status as { tier?: string } | undefined)?.tier).toBe('Small');
    expect(await exists(ROUTE, 'tenant-app', 'tenant-exposed-dev')).toBe(true);
  });

  test('deleting it with deletionPolicy Delete records what happens as Events', async () => {
    await admin.delete(typeOf('Tenant'), 'exposed');
    const reasons = await waitFor('Deleting and Deleted events', async () => {
      const events = await admin.request<{ items: (KubeObject & { reason?: string; message?: string })[] }>(
        'GET',
        `/api/v1/namespaces/default/events?fieldSelector=involvedObject.name=exposed,involvedObject.kind=Tenant`,
      );
      const found = events.items.map((e) => `${e.reason}: ${e.message}`);
      return found.some((r) => r.startsWith('Deleting:')) && found.some((r) => r.startsWith('Deleted:')) ? found : undefined;
    });
    expect(reasons.find((r) => r.startsWith('Deleting:'))).toContain('namespace tenant-exposed-dev is deleted');
    expect(reasons.find((r) => r.startsWith('Deleted:'))).toContain('tenant-exposed-dev');
  });
});

describe('an instance that serves only some regions (servedRegions)', () => {
  let operator: Operator;
  beforeAll(async () => {
    operator = await startOperator({
      info: kubernetesOnly,
      leaseName: `truth-c-${Date.now()}`,
      config: { servedRegions: ['westeurope'] },
    });
  });
  afterAll(async () => {
    await operator?.stop();
  });

  test('a Tenant for another region gets RegionServed=False and nothing else, not even a finalizer', async () => {
    await admin.apply(typeOf('Tenant'), tenant('antipodes', { region: 'australiaeast' }), 'test');
    const t = await waitFor('RegionNotServed', async () => {
      const got = await getTenant('antipodes');
      return condition(got, 'RegionServed')?.reason === 'RegionNotServed' ? got : undefined;
    });
    expect(condition(t, 'Stalled')).toMatchObject({ status: 'True', reason: 'RegionNotServed' });
    expect(t.metadata.finalizers ?? []).toEqual([]);
    expect(await exists(typeOf('Namespace'), 'tenant-antipodes-dev')).toBe(false);
    // Nothing holds it: deletion is immediate.
    await admin.delete(typeOf('Tenant'), 'antipodes');
    await waitFor('antipodes gone', async () => !(await exists(typeOf('Tenant'), 'antipodes')), 10_000);
  });

  test('a served region no residency zone knows is refused at start-up', async () => {
    await expect(startOperator({ info: kubernetesOnly, config: { servedRegions: ['westeruope'] } })).rejects.toThrow(
      /servedRegions.*westeruope.*no residency zone/s,
    );
  });
});
