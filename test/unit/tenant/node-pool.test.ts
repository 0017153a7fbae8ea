import { describe, expect, test } from '@jest/globals';
import type { Isolation } from '../../../src/api/v1alpha1/tenant.ts';
import { agentPoolDiff, agentPoolKind } from '../../../src/azure/kinds/container-service.ts';
import { type DisruptiveSettings, decideDisruptiveChanges, disruptiveChanges } from '../../../src/maintenance/gate.ts';
import { desiredSettings, runningSettings, withSettings } from '../../../src/maintenance/tenant-settings.ts';
import { tenantAzurePlan, tenantAzureResources } from '../../../src/tenant/azure.ts';
import { buildNamespace } from '../../../src/tenant/namespace.ts';
import { dedicatedTaint, nodePoolName, nodePoolPlan, podPlacement } from '../../../src/tenant/node-pool.ts';
import { buildDeployment } from '../../../src/tenant/workload.ts';
import { aConfig, aTenant, type TenantModifier, withTier } from '../../fixtures/tenant.ts';

const withIsolation =
  (isolation: Isolation): TenantModifier =>
  (t) => {
    t.spec.isolation = isolation;
  };

const SUB = '00000000-0000-4000-8000-000000000001';
const azureConfig = (cluster?: Record<string, unknown>) =>
  aConfig({
    azure: {
      subscriptionId: SUB,
      directoryTenantId: '00000000-0000-4000-8000-000000000002',
      oidcIssuer: 'https://oidc.example/',
      sqlAdminGroup: { login: 'admins', objectId: '00000000-0000-4000-8000-000000000003' },
      audit: {
        logAnalyticsWorkspaceId: `/subscriptions/${SUB}/resourceGroups/platform/providers/Microsoft.OperationalInsights/workspaces/audit`,
      },
      ...(cluster ? { cluster } : {}),
    },
  });

describe('nodePoolName', () => {
  // AKS: Linux pool names are 1-12 lowercase letters and digits, starting with a letter.
  const AKS_LINUX_POOL_NAME = /^[a-z][a-z0-9]{0,11}$/;

  test.each([
    ['a short name', 'acme'],
    ['a name longer than 12 characters', 'a-very-long-customer-name-for-a-tenant'],
    ['a name with hyphens and digits', 'shop-42-eu'],
    ['a name starting with a digit', '9lives'],
  ])('%s gives a valid AKS pool name, the same every time', (_case, name) => {
    const pool = nodePoolName(name);
    expect(pool).toMatch(AKS_LINUX_POOL_NAME);
    expect(pool).toHaveLength(12);
    expect(nodePoolName(name)).toBe(pool);
  });

  test('different tenants, and different salts, give different names', () => {
    const names = new Set(Array.from({ length: 5000 }, (_, i) => nodePoolName(`tenant-${i}`)));
    expect(names.size).toBe(5000);
    expect(nodePoolName('acme', 'salt-a')).not.toBe(nodePoolName('acme', 'salt-b'));
    expect(nodePoolName('acme', 'salt-a')).not.toBe(nodePoolName('acme'));
  });
});

describe('nodePoolPlan', () => {
  const cluster = { resourceGroup: 'rg-aks', name: 'aks-prod' };

  test.each<[string, Isolation, Record<string, unknown> | undefined, string]>([
    ['Shared, cluster configured', 'Shared', cluster, 'shared'],
    ['Shared, no cluster', 'Shared', undefined, 'shared'],
    ['Dedicated, no cluster', 'Dedicated', undefined, 'notConfigured'],
    ['Dedicated, cluster configured', 'Dedicated', cluster, 'dedicated'],
  ])('%s -> %s', (_case, isolation, clusterConfig, kind) => {
    const config = azureConfig(clusterConfig);
    expect(nodePoolPlan(aTenant('acme', withIsolation(isolation)), config.azure!, {}).kind).toBe(kind);
  });

  test('a Dedicated pool: in the configured cluster, sized by tier, labelled and tainted for the tenant', () => {
    const config = azureConfig(cluster);
    const plan = nodePoolPlan(aTenant('acme', withIsolation('Dedicated'), withTier('Medium')), config.azure!, { t: 'v' });
    expect(plan).toEqual({
      kind: 'dedicated',
      pool: {
        clusterId: `/subscriptions/${SUB}/resourceGroups/rg-aks/providers/Microsoft.ContainerService/managedClusters/aks-prod`,
        name: nodePoolName('acme'),
        vmSize: 'Standard_D4s_v5',
        count: 2,
        nodeLabels: { 'tenancy.dev/tenant': 'acme' },
        nodeTaints: ['tenancy.dev/tenant=acme:NoSchedule'],
        tags: { t: 'v' },
      },
    });
  });

  test('the plan holds the pool as an engine resource only when Dedicated and configured', () => {
    const config = azureConfig(cluster);
    const keys = (isolation: Isolation) =>
      tenantAzureResources(tenantAzurePlan(aTenant('acme', withIsolation(isolation)), config, config.azure!, undefined)).map(
        (r) => r.key,
      );
    expect(keys('Dedicated')).toContain('nodePool');
    expect(keys('Shared')).not.toContain('nodePool');
  });
});

describe('podPlacement and the Deployment', () => {
  const config = aConfig();
  const podSpec = (isolation: Isolation, ready: boolean) =>
    (
      buildDeployment(aTenant('acme', withIsolation(isolation)), config, { dedicatedNodePoolReady: ready }).spec as {
        template: { spec: Record<string, unknown> };
      }
    ).template.spec;

  test.each<[string, Isolation, boolean, boolean]>([
    ['Shared tenant', 'Shared', false, false],
    ['Shared tenant, even if told a pool is ready', 'Shared', true, false],
    ['Dedicated tenant whose pool is not ready yet (pods would sit Pending)', 'Dedicated', false, false],
    ['Dedicated tenant whose pool is ready', 'Dedicated', true, true],
  ])('%s: placed on its own pool = %s', (_case, isolation, ready, placed) => {
    const spec = podSpec(isolation, ready);
    if (placed) {
      expect(spec.nodeSelector).toEqual({ 'tenancy.dev/tenant': 'acme' });
      expect(spec.tolerations).toEqual([{ key: 'tenancy.dev/tenant', operator: 'Equal', value: 'acme', effect: 'NoSchedule' }]);
    } else {
      expect(spec.nodeSelector).toBeUndefined();
      // No toleration at all: a shared tenant never lands on any tenant's dedicated nodes.
      expect(spec.tolerations).toBeUndefined();
    }
  });

  test('the toleration matches exactly the taint of the tenant’s own pool, and no other tenant’s', () => {
    const placement = podPlacement(aTenant('acme', withIsolation('Dedicated')), true);
    const [toleration] = placement.tolerations ?? [];
    expect(`${toleration?.key}=${toleration?.value}:${toleration?.effect}`).toBe(dedicatedTaint('acme'));
    expect(`${toleration?.key}=${toleration?.value}:${toleration?.effect}`).not.toBe(dedicatedTaint('other'));
  });
});

describe('agentPoolDiff', () => {
  const params = {
    clusterId: '/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/c',
    name: 'tabc',
    vmSize: 'Standard_D4s_v5',
    count: 2,
    nodeLabels: { 'tenancy.dev/tenant': 'acme' },
    nodeTaints: ['tenancy.dev/tenant=acme:NoSchedule'],
    tags: { 'managed-by': 'tenant-operator' },
  };
  const observed = (p: Record<string, unknown> = {}) => ({
    properties: {
      vmSize: 'standard_d4s_v5',
      count: 2,
      mode: 'User',
      nodeLabels: { 'tenancy.dev/tenant': 'acme' },
      nodeTaints: ['tenancy.dev/tenant=acme:NoSchedule'],
      tags: { 'managed-by': 'tenant-operator', 'added-by-policy': 'x' },
      provisioningState: 'Succeeded',
      ...p,
    },
  });

  test.each<[string, Record<string, unknown>, string[]]>([
    ['as AKS returns it (VM size in any case, foreign tags)', {}, []],
    ['scaled by hand', { count: 5 }, ['count']],
    ['taint removed by hand', { nodeTaints: [] }, ['nodeTaints']],
    ['label changed', { nodeLabels: { 'tenancy.dev/tenant': 'other' } }, ['nodeLabels']],
    ['another VM size', { vmSize: 'Standard_D8s_v5' }, ['vmSize']],
    ['made a System pool', { mode: 'System' }, ['mode']],
  ])('%s', (_case, change, fields) => {
    expect(agentPoolDiff(params, observed(change))).toEqual(fields);
  });

  test('a count drift is fixed with a PUT; a VM size difference is never fixed by re-creating the pool', () => {
    expect(agentPoolKind.update?.(params, observed({ count: 5 }), ['count'])).toMatchObject({
      method: 'PUT',
      body: { properties: { count: 2, mode: 'User', tags: { 'added-by-policy': 'x', 'managed-by': 'tenant-operator' } } },
    });
    expect(agentPoolKind.update?.(params, observed({ vmSize: 'Standard_D8s_v5' }), ['vmSize'])).toBeUndefined();
  });
});

describe('isolation is a disruptive setting', () => {
  const running = (isolation?: Isolation): DisruptiveSettings => ({
    image: 'registry.example.com/app',
    version: '1.0.0',
    tier: 'Small',
    ...(isolation ? { isolation } : {}),
  });

  test.each<[string, Isolation | undefined, Isolation, string[]]>([
    ['unchanged', 'Shared', 'Shared', []],
    ['a namespace from before isolation counts as Shared', undefined, 'Shared', []],
    ['Shared to Dedicated', 'Shared', 'Dedicated', ['isolation Shared -> Dedicated']],
    ['Dedicated to Shared', 'Dedicated', 'Shared', ['isolation Dedicated -> Shared']],
    ['never recorded to Dedicated', undefined, 'Dedicated', ['isolation Shared -> Dedicated']],
  ])('%s', (_case, from, to, changes) => {
    expect(disruptiveChanges(running(from), { ...running(), isolation: to })).toEqual(changes);
  });

  test('a change waits for the window: the tenant keeps running Shared meanwhile', () => {
    const tenant = aTenant('acme', withIsolation('Dedicated'));
    const decision = decideDisruptiveChanges({
      desired: desiredSettings(tenant),
      running: running('Shared'),
      schedule: undefined,
      now: new Date('2026-06-03T12:00:00Z'),
    });
    expect(decision.pending).toEqual(['isolation Shared -> Dedicated']);
    expect(withSettings(tenant, decision.effective).spec.isolation).toBe('Shared');
  });

  test('an unset spec.isolation stays unset for the builders: placement gives its database the operator default', () => {
    const tenant = aTenant('acme');
    const decision = decideDisruptiveChanges({
      desired: desiredSettings(tenant),
      running: running('Shared'),
      schedule: undefined,
      now: new Date('2026-06-03T12:00:00Z'),
    });
    expect(decision.pending).toEqual([]);
    expect(withSettings(tenant, decision.effective).spec.isolation).toBeUndefined();
  });

  test('the namespace records the applied isolation, and the gate reads it back', () => {
    const ns = buildNamespace(aTenant('acme', withIsolation('Dedicated')), aConfig());
    ns.metadata.labels = { ...ns.metadata.labels, 'tenancy.dev/tier': 'small' };
    expect(runningSettings(ns)?.isolation).toBe('Dedicated');
  });
});
