/**
 * The emulator enforces Azure's quotas with Azure's codes, through the real SDK clients: each
 * refused at its limit, the limits configurable, Azure's defaults by default; and AKS agent pools
 * with their name rules, VM sizes per region and vCPU quota.
 */

import { ContainerServiceClient } from '@azure/arm-containerservice';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import {
  type ArmEmulator,
  AZURE_DEFAULT_QUOTAS,
  EMULATOR_SUBSCRIPTION_ID,
  startArmEmulator,
} from '../../../hack/arm-emulator/index.ts';
import { classifyAzureError } from '../../../src/azure/errors.ts';
import { createWriteLimiter } from '../../../src/azure/write-limiter.ts';
import { PlatformError } from '../../../src/runtime/errors.ts';
import { createTypedAzureClients, type TypedAzureClients } from '../../harness/azure-sdk-clients.ts';

const SUB = EMULATOR_SUBSCRIPTION_ID;
const READER = `/subscriptions/${SUB}/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7`;

async function errorOf(promise: Promise<unknown>): Promise<{ statusCode?: number; code?: string; message?: string }> {
  try {
    await promise;
  } catch (err) {
    return err as { statusCode?: number; code?: string };
  }
  throw new Error('expected the call to fail');
}

function clientsOf(emulator: ArmEmulator): { clients: TypedAzureClients; aks: ContainerServiceClient } {
  const clients = createTypedAzureClients({
    subscriptionId: emulator.subscriptionId,
    endpoint: emulator.endpoint,
    ca: emulator.ca,
    credential: emulator.credential,
    writeLimiter: createWriteLimiter({ writesPerSecond: 1000, burst: 1000 }),
    retry: { maxRetries: 0 },
  });
  const aks = new ContainerServiceClient(emulator.credential, emulator.subscriptionId, {
    endpoint: emulator.endpoint,
    tlsOptions: { ca: emulator.ca },
    retryOptions: { maxRetries: 0 },
  });
  return { clients, aks };
}

/** A refusal the operator's classifier must put on the platform team. */
function expectPlatform(err: unknown, reason: string): void {
  const classified = classifyAzureError(err);
  expect(classified).toBeInstanceOf(PlatformError);
  expect(classified.reason).toBe(reason);
}

const server = { location: 'westeurope', administratorLogin: 'a', administratorLoginPassword: 'p@ssw0rd!' };
const pool = (extra: Record<string, unknown> = {}) => ({ count: 2, vmSize: 'Standard_D4s_v5', mode: 'User' as const, ...extra });

test("the defaults are Azure's published limits", () => {
  expect(AZURE_DEFAULT_QUOTAS).toEqual({
    resourceGroupsPerSubscription: 980,
    sqlServersPerSubscriptionRegion: 20,
    databasesPerServer: 5000,
    roleAssignmentsPerSubscription: 4000,
    federatedCredentialsPerIdentity: 20,
    agentPoolsPerCluster: 100,
    vcpusPerFamilyPerRegion: 100,
  });
});

describe("with Azure's defaults", () => {
  let emulator: ArmEmulator;
  let clients: TypedAzureClients;
  beforeAll(async () => {
    emulator = await startArmEmulator({ lroDelayMs: 1, pollHoldMs: 20 });
    ({ clients } = clientsOf(emulator));
    await clients.resources.resourceGroups.createOrUpdate('rg-servers', { location: 'westeurope' });
  });
  afterAll(async () => {
    await emulator.stop();
  });

  test('the 21st SQL server in a region is refused with ServerQuotaExceeded; another region still has room', async () => {
    for (let i = 1; i <= 20; i++) await clients.sql.servers.beginCreateOrUpdateAndWait('rg-servers', `sql-q-${i}`, server);
    const err = await errorOf(clients.sql.servers.beginCreateOrUpdateAndWait('rg-servers', 'sql-q-21', server));
    expect(err).toMatchObject({ statusCode: 400, code: 'ServerQuotaExceeded' });
    expect(err.message).toContain('will exceed server quota');
    expectPlatform(err, 'AzureQuotaExceeded');
    expect(
      emulator.state.get(`/subscriptions/${SUB}/resourceGroups/rg-servers/providers/Microsoft.Sql/servers/sql-q-21`),
    ).toBeUndefined();
    // An existing server can still be updated: the quota counts creates.
    await clients.sql.servers.beginCreateOrUpdateAndWait('rg-servers', 'sql-q-1', { ...server, minimalTlsVersion: '1.2' });
    await clients.sql.servers.beginCreateOrUpdateAndWait('rg-servers', 'sql-ne-1', { ...server, location: 'northeurope' });
  });
});

describe('with small, configured limits', () => {
  let emulator: ArmEmulator;
  let clients: TypedAzureClients;
  let aks: ContainerServiceClient;
  beforeAll(async () => {
    emulator = await startArmEmulator({
      lroDelayMs: 1,
      pollHoldMs: 20,
      behaviours: { managedIdentityWritesPerSecond: 0 },
      quotas: {
        resourceGroupsPerSubscription: 5,
        databasesPerServer: 2,
        roleAssignmentsPerSubscription: 2,
        federatedCredentialsPerIdentity: 2,
        agentPoolsPerCluster: 3,
        vcpusPerFamilyPerRegion: 28,
      },
      platformClusters: [{ subscriptionId: SUB, resourceGroup: 'rg-aks', name: 'aks-1', location: 'westeurope' }],
    });
    ({ clients, aks } = clientsOf(emulator));
    // platform-monitoring (the audit workspace), rg-aks (the platform's cluster) + 2 = 4 of 5.
    await clients.resources.resourceGroups.createOrUpdate('rg-q1', { location: 'westeurope' });
    await clients.resources.resourceGroups.createOrUpdate('rg-q2', { location: 'westeurope' });
  });
  afterAll(async () => {
    await emulator.stop();
  });

  test('resource groups per subscription: 409 ResourceGroupQuotaExceeded with the quota and the count', async () => {
    await clients.resources.resourceGroups.createOrUpdate('rg-q3', { location: 'westeurope' });
    const err = await errorOf(clients.resources.resourceGroups.createOrUpdate('rg-q4', { location: 'westeurope' }));
    expect(err).toMatchObject({ statusCode: 409, code: 'ResourceGroupQuotaExceeded' });
    expect(err.message).toBe(
      "Creating the resource group 'rg-q4' would exceed the quota of '5'. The current resource group count is '5', please delete some groups before creating a new one.",
    );
    expectPlatform(err, 'AzureQuotaExceeded');
    // Updating an existing group is not a create.
    await clients.resources.resourceGroups.createOrUpdate('rg-q3', { location: 'westeurope', tags: { a: 'b' } });
  });

  test('databases per server', async () => {
    await clients.sql.servers.beginCreateOrUpdateAndWait('rg-q1', 'sql-db-quota', server);
    for (const name of ['db1', 'db2']) {
      await clients.sql.databases.beginCreateOrUpdateAndWait('rg-q1', 'sql-db-quota', name, { location: 'westeurope' });
    }
    const err = await errorOf(
      clients.sql.databases.beginCreateOrUpdateAndWait('rg-q1', 'sql-db-quota', 'db3', { location: 'westeurope' }),
    );
    expect(err).toMatchObject({ statusCode: 400, code: 'DatabaseQuotaExceeded' });
    expectPlatform(err, 'AzureQuotaExceeded');
  });

  test('role assignments per subscription: RoleAssignmentLimitExceeded', async () => {
    const scope = `subscriptions/${SUB}/resourceGroups/rg-q1`;
    const assign = (n: number) =>
      clients.authorization.roleAssignments.create(scope, `${n}${n}${n}${n}${n}${n}${n}${n}-1111-4111-8111-111111111111`, {
        roleDefinitionId: READER,
        principalId: `${n}${n}${n}${n}${n}${n}${n}${n}-9999-4999-8999-999999999999`,
        principalType: 'ServicePrincipal',
      });
    await assign(1);
    await assign(2);
    const err = await errorOf(assign(3));
    expect(err).toMatchObject({ statusCode: 400, code: 'RoleAssignmentLimitExceeded' });
    expect(err.message).toContain('No more role assignments can be created');
    expectPlatform(err, 'AzureQuotaExceeded');
  });

  test('federated identity credentials per identity', async () => {
    await clients.msi.userAssignedIdentities.createOrUpdate('rg-q1', 'id-fic-quota', { location: 'westeurope' });
    const fic = (subject: string) => ({
      issuer: 'https://oidc.example.test/',
      subject,
      audiences: ['api://AzureADTokenExchange'],
    });
    await clients.msi.federatedIdentityCredentials.createOrUpdate('rg-q1', 'id-fic-quota', 'fic-1', fic('s1'));
    await clients.msi.federatedIdentityCredentials.createOrUpdate('rg-q1', 'id-fic-quota', 'fic-2', fic('s2'));
    const err = await errorOf(
      clients.msi.federatedIdentityCredentials.createOrUpdate('rg-q1', 'id-fic-quota', 'fic-3', fic('s3')),
    );
    expect(err).toMatchObject({ statusCode: 400, code: 'FederatedIdentityCredentialsLimitExceeded' });
    expectPlatform(err, 'AzureQuotaExceeded');
  });

  describe('AKS agent pools', () => {
    test('the platform cluster is served read-only with its system pool', async () => {
      const cluster = await aks.managedClusters.get('rg-aks', 'aks-1');
      expect(cluster.location).toBe('westeurope');
      const pools = [];
      for await (const p of aks.agentPools.list('rg-aks', 'aks-1')) pools.push(p);
      expect(pools.map((p) => [p.name, p.mode, p.vmSize, p.count])).toEqual([['system', 'System', 'Standard_D4s_v5', 3]]);
    });

    test('a User pool with taints and labels is created as a long-running operation and read back', async () => {
      const created = await aks.agentPools.createOrUpdate(
        'rg-aks',
        'aks-1',
        'tabc123',
        pool({ nodeTaints: ['tenancy.dev/tenant=acme:NoSchedule'], nodeLabels: { 'tenancy.dev/tenant': 'acme' } }),
      );
      expect(created).toMatchObject({
        name: 'tabc123',
        provisioningState: 'Succeeded',
        mode: 'User',
        count: 2,
        nodeTaints: ['tenancy.dev/tenant=acme:NoSchedule'],
        nodeLabels: { 'tenancy.dev/tenant': 'acme' },
      });
      const put = emulator.requests.find((r) => r.method === 'PUT' && r.path.endsWith('/agentPools/tabc123'));
      expect(put).toMatchObject({ status: 201, apiVersion: '2026-06-01' });
    });

    test.each([
      ['upper case', 'Tabc'],
      ['starting with a digit', '1abc'],
      ['longer than 12 characters', 'abcdefghijklm'],
      ['a hyphen', 'ab-c'],
    ])('a Linux pool name with %s is refused', async (_why, name) => {
      expect(await errorOf(aks.agentPools.createOrUpdate('rg-aks', 'aks-1', name, pool()))).toMatchObject({
        statusCode: 400,
        code: 'InvalidParameter',
      });
    });

    test.each([
      ['count out of range', pool({ count: 1001 })],
      ['min/max without autoscaling', pool({ minCount: 1, maxCount: 3 })],
      ['count outside min/max', pool({ enableAutoScaling: true, minCount: 3, maxCount: 4, count: 2 })],
      ['a malformed taint', pool({ nodeTaints: ['no-effect'] })],
    ])('%s is refused', async (_why, body) => {
      expect(await errorOf(aks.agentPools.createOrUpdate('rg-aks', 'aks-1', 'tbad', body))).toMatchObject({
        statusCode: 400,
        code: 'InvalidParameter',
      });
    });

    test('a VM size the region does not offer: BadRequest that the classifier puts on the platform team', async () => {
      const err = await errorOf(
        aks.agentPools.createOrUpdate('rg-aks', 'aks-1', 'tgpu', pool({ vmSize: 'Standard_NC6s_v3', count: 1 })),
      );
      expect(err).toMatchObject({ statusCode: 400, code: 'BadRequest' });
      // NC6s_v3 is offered in a few US regions only; a size the catalogue lacks is refused the same way.
      const unknown = await errorOf(aks.agentPools.createOrUpdate('rg-aks', 'aks-1', 'tunk', pool({ vmSize: 'Standard_Z9' })));
      expect(unknown).toMatchObject({ statusCode: 400, code: 'BadRequest' });
      expect(unknown.message).toContain("is not allowed in your subscription in location 'westeurope'");
      expectPlatform(unknown, 'AzureVmSizeNotAvailable');
    });

    test('vCPU quota per VM family: QuotaExceeded naming the family, usage and limit', async () => {
      // system 3 x 4 + tabc123 2 x 4 = 20 of 28 DSv5 vCPUs; 3 x 4 more would be 32.
      const err = await errorOf(aks.agentPools.createOrUpdate('rg-aks', 'aks-1', 'tbig', pool({ count: 3 })));
      expect(err).toMatchObject({ statusCode: 400, code: 'QuotaExceeded' });
      expect(err.message).toContain('exceeding approved standardDSv5Family Cores quota');
      expect(err.message).toContain('Current Limit: 28, Current Usage: 20, Additional Required: 12');
      expectPlatform(err, 'AzureQuotaExceeded');
      // Another family has its own quota.
      await aks.agentPools.createOrUpdate('rg-aks', 'aks-1', 'tother', pool({ vmSize: 'Standard_E4s_v5', count: 1 }));
    });

    test('node pools per cluster: the 4th is refused; deleting one makes room', async () => {
      const err = await errorOf(aks.agentPools.createOrUpdate('rg-aks', 'aks-1', 'tfourth', pool({ count: 1 })));
      expect(err).toMatchObject({ statusCode: 400, code: 'AgentPoolLimitExceeded' });
      expectPlatform(err, 'AzureQuotaExceeded');
      await aks.agentPools.delete('rg-aks', 'aks-1', 'tother');
      expect(await errorOf(aks.agentPools.get('rg-aks', 'aks-1', 'tother'))).toMatchObject({ statusCode: 404 });
      await aks.agentPools.createOrUpdate('rg-aks', 'aks-1', 'tfourth', pool({ count: 1 }));
    });

    test('the system pool cannot be deleted; the cluster cannot be written', async () => {
      expect(await errorOf(aks.agentPools.delete('rg-aks', 'aks-1', 'system'))).toMatchObject({ statusCode: 400 });
    });
  });
});
