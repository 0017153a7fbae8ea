/**
 * Placement through the running operator (real API server, ARM emulator, the operator as its
 * restricted user): a new tenant lands on a shared SQL server by default, records where in
 * `status.placement`, says so in `Placed`, and its pods resolve the shared server's name to the
 * tenant's own private endpoint; a Dedicated tenant gets its own server; a tenant whose
 * BackupPolicy asks for geo-replication gets its own server (and its secondary) unless its spec
 * says Shared, which is then said to be not replicated.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { Operator } from '../../src/operator.ts';
import type { KubeClient, KubeObject } from '../../src/runtime/kube-client.ts';
import { DATABASE_HOST_ENV } from '../../src/tenant/workload.ts';
import {
  adminClient,
  armResources,
  condition,
  emulatorAzureConfig,
  sharedControlPlane,
  startOperator,
  type TenantWithStatus,
  tenant,
  typeOf,
  waitFor,
  waitForReady,
} from '../harness/fixtures.ts';

const info = sharedControlPlane();
let admin: KubeClient;
let operator: Operator;
const mine = ['placed-one', 'placed-two', 'placed-own', 'placed-nowhere', 'placed-geo', 'placed-geo-shared'];
const GEO_POLICY = 'placement-geo';

beforeAll(async () => {
  admin = adminClient(info.adminKubeconfig);
  if (!info.arm) throw new Error('the shared control plane has no ARM emulator');
  operator = await startOperator({
    info,
    leaseName: 'placement',
    config: {
      azure: {
        ...emulatorAzureConfig(info.arm),
        placement: { defaultIsolation: 'Shared' },
        // One shard, for Europe's regions but not the UK's: a UK tenant has no subscription to go to.
        subscriptions: [{ id: info.arm.subscriptionId, regions: ['northeurope', 'westeurope'] }],
      },
    },
  });
  await waitFor('leadership', () => operator.isLeader);
  await admin.apply(
    typeOf('BackupPolicy'),
    {
      apiVersion: 'tenancy.dev/v1alpha1',
      kind: 'BackupPolicy',
      metadata: { name: GEO_POLICY },
      spec: { geoReplication: 'Enabled', restoreDrill: { enabled: false } },
    },
    'test',
  );
  for (const name of mine) {
    const t = tenant(name, {
      environment: 'QA',
      region: name === 'placed-nowhere' ? 'uksouth' : 'northeurope',
      ...(name === 'placed-own' ? { isolation: 'Dedicated' } : name === 'placed-geo-shared' ? { isolation: 'Shared' } : {}),
    });
    if (name.startsWith('placed-geo')) (t.spec as Record<string, unknown>).backupPolicyRef = { name: GEO_POLICY };
    await admin.apply(typeOf('Tenant'), t, 'test');
  }
}, 60_000);

afterAll(async () => {
  for (const name of mine) await admin.delete(typeOf('Tenant'), name).catch(() => {});
  await waitFor(
    'this file’s tenants released',
    async () => {
      const items = (await admin.request<{ items: KubeObject[] }>('GET', '/apis/tenancy.dev/v1alpha1/tenants')).items;
      return items.every((t) => !mine.includes(t.metadata.name));
    },
    60_000,
  ).catch(() => {});
  await operator?.stop();
  await admin.delete(typeOf('BackupPolicy'), GEO_POLICY).catch(() => {});
}, 90_000);

describe('placement by the operator', () => {
  let one: TenantWithStatus;
  let two: TenantWithStatus;
  beforeAll(async () => {
    one = await waitForReady(admin, 'placed-one', 60_000);
    two = await waitForReady(admin, 'placed-two', 60_000);
  }, 130_000);

  test('new tenants share a server of their region and environment, recorded in status and Placed', () => {
    const placement = (t: TenantWithStatus) => (t.status as Record<string, any>).placement;
    expect(placement(one)).toMatchObject({
      isolation: 'Shared',
      subscriptionId: info.arm?.subscriptionId,
      sqlServer: { resourceGroup: 'tenancy-sql-northeurope-qa', shared: true },
      placedAt: expect.any(String),
    });
    expect(placement(two).sqlServer).toEqual(placement(one).sqlServer);
    expect(condition(one, 'Placed')).toMatchObject({ status: 'True', reason: 'PlacedOnSharedServer' });
    expect((one.status as Record<string, any>).azure).toMatchObject({
      sqlResourceGroup: 'tenancy-sql-northeurope-qa',
      sqlServerFqdn: `${placement(one).sqlServer.name}.database.windows.net`,
    });
  });

  test('each tenant’s pods resolve the shared server to the tenant’s own endpoint, the only SQL address its egress allows', async () => {
    const addresses: string[] = [];
    for (const t of [one, two]) {
      const status = t.status as Record<string, any>;
      const endpoint = status.azure.privateEndpoints.sql as { ip: string; fqdn: string };
      expect(endpoint.fqdn).toBe(status.azure.sqlServerFqdn);
      const deployment = (await admin.get(typeOf('Deployment'), 'tenant-app', status.namespace)) as Record<string, any>;
      expect(deployment.spec.template.spec.hostAliases).toEqual([{ ip: endpoint.ip, hostnames: [endpoint.fqdn] }]);
      // The application is given the server's name, which the alias resolves (first-rollout.test.ts:
      // both reach the pod template in one change).
      const env = deployment.spec.template.spec.containers[0].env as { name: string; value: string }[];
      expect(env).toContainEqual({ name: DATABASE_HOST_ENV, value: endpoint.fqdn });
      // Exact egress stays per tenant: SQL only to its own endpoint's address.
      const egress = (await admin.get(
        { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', plural: 'networkpolicies', namespaced: true },
        'allow-azure-egress',
        status.namespace,
      )) as Record<string, any>;
      const sqlRules = (egress.spec.egress as { to: { ipBlock: { cidr: string } }[]; ports: { port: number }[] }[]).filter((r) =>
        r.ports.some((p) => p.port === 1433),
      );
      expect(sqlRules.flatMap((r) => r.to.map((t) => t.ipBlock.cidr))).toEqual([`${endpoint.ip}/32`]);
      addresses.push(endpoint.ip);
    }
    expect(addresses[0]).not.toBe(addresses[1]);
  });

  test('a Dedicated tenant gets its own server; the shared server holds exactly the shared tenants’ databases', async () => {
    const own = await waitForReady(admin, 'placed-own', 60_000);
    expect((own.status as Record<string, any>).placement).toMatchObject({
      isolation: 'Dedicated',
      sqlServer: { resourceGroup: 'rg-placed-own-qa', shared: false },
    });
    expect(condition(own, 'Placed')).toMatchObject({ status: 'True', reason: 'PlacedOnDedicatedServer' });
    const shared = (one.status as Record<string, any>).placement.sqlServer.name as string;
    const sharedDatabases = async () =>
      (await armResources(info.arm as never, 'Microsoft.Sql/servers/databases'))
        .map((d) => d.id as string)
        .filter((id) => id.includes(`/servers/${shared}/databases/`))
        .map((id) => id.split('/').pop())
        .sort();
    // placed-geo-shared too: Shared by spec, geo-replicated or not (placed-geo has its own server).
    // Nothing waits for that tenant to be Ready, so wait for its database to appear, then compare
    // the whole list: a database of placed-geo or placed-own there would still fail.
    const databases = await waitFor(
      'placed-geo-shared’s database on the shared server',
      async () => {
        const names = await sharedDatabases();
        return names.includes('sqldb-placed-geo-shared-qa') ? names : undefined;
      },
      60_000,
    );
    expect(databases).toEqual(['sqldb-placed-geo-shared-qa', 'sqldb-placed-one-qa', 'sqldb-placed-two-qa']);
  });

  test('a tenant no subscription has room for is refused with a clear condition, and nothing is created for it', async () => {
    const refused = await waitFor(
      'placed-nowhere refused',
      async () => {
        const t = await admin.get<TenantWithStatus>(typeOf('Tenant'), 'placed-nowhere');
        return condition(t, 'Placed')?.reason === 'NoSubscriptionCapacity' ? t : undefined;
      },
      60_000,
    );
    expect(condition(refused, 'Placed')).toMatchObject({
      status: 'False',
      message: expect.stringContaining('No subscription is configured for region uksouth'),
    });
    expect(condition(refused, 'Ready')).toMatchObject({ status: 'False', reason: 'NoSubscriptionCapacity' });
    expect(condition(refused, 'Stalled')).toMatchObject({ status: 'True', reason: 'NoSubscriptionCapacity' });
    expect((refused.status as Record<string, any>).placement).toBeUndefined();
    const created = (await armResources(info.arm as never)).filter(
      (r) => (r.tags as Record<string, string> | undefined)?.['tenancy.dev-tenant'] === 'placed-nowhere',
    );
    expect(created).toEqual([]);
    // The placed tenants are not affected.
    expect(condition(await admin.get<TenantWithStatus>(typeOf('Tenant'), 'placed-one'), 'Ready')).toMatchObject({
      status: 'True',
    });
  });
});

describe('geo-replicated tenants and the shared pool', () => {
  test('spec silent: its own server, recorded as GeoReplicated, with a secondary in the paired region', async () => {
    const geo = await waitFor(
      'placed-geo replicated',
      async () => {
        const t = await admin.get<TenantWithStatus>(typeOf('Tenant'), 'placed-geo');
        return condition(t, 'GeoReplicated')?.status === 'True' ? t : undefined;
      },
      90_000,
    );
    const status = geo.status as Record<string, any>;
    expect(status.placement).toMatchObject({
      isolation: 'Dedicated',
      reason: 'GeoReplicated',
      sqlServer: { resourceGroup: 'rg-placed-geo-qa', shared: false },
    });
    expect(condition(geo, 'Placed')).toMatchObject({
      reason: 'PlacedOnDedicatedServer',
      message: expect.stringContaining('because it is geo-replicated'),
    });
    expect(status.azure.geoReplication).toMatchObject({ partnerRegion: 'westeurope' });
    // No node pool: its pods stay where every Shared-by-default tenant's run.
    expect(status.nodePool).toBeUndefined();
  });

  test('Shared by spec: stays on the pool, and GeoReplicated says why it has no secondary', async () => {
    const shared = await waitFor(
      'placed-geo-shared placed',
      async () => {
        const t = await admin.get<TenantWithStatus>(typeOf('Tenant'), 'placed-geo-shared');
        return condition(t, 'GeoReplicated')?.reason === 'SharedServerNotReplicated' ? t : undefined;
      },
      90_000,
    );
    expect((shared.status as Record<string, any>).placement).toMatchObject({ isolation: 'Shared', sqlServer: { shared: true } });
    expect(condition(shared, 'GeoReplicated')).toMatchObject({ status: 'False' });
  });
});
