/**
 * Private endpoints against the ARM emulator: first what the emulator does as the Network provider
 * does (addresses from the subnet, references that must exist, DNS zone groups, connections on the
 * target), driven with raw ARM requests; then the tenant's endpoints as the operator's Azure step
 * makes them, the addresses it records for the egress policy, and the conditions a subnet or zone
 * that does not exist (or is not configured) gives.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { ArmBody } from '../../../src/azure/arm-client.ts';
import { reconcileResources } from '../../../src/azure/engine.ts';
import { NETWORK_API_VERSION } from '../../../src/azure/kinds/network.ts';
import { PlatformError } from '../../../src/runtime/errors.ts';
import type { TenantAzurePlan } from '../../../src/tenant/azure.ts';
import { tenantAzureResources } from '../../../src/tenant/azure.ts';
import { type AzureTestEnv, azureStep, converge, resourceIds, startAzureTestEnv, storedTenant, tenantPlan } from './support.ts';

let env: AzureTestEnv;
/** A converged tenant whose SQL server and vault the raw endpoint tests connect to. */
let target: ReturnType<typeof resourceIds>;

const SUB = '00000000-0000-4000-8000-00000000c0de';
const NET = `/subscriptions/${SUB}/resourceGroups/rg-small-net/providers/Microsoft.Network/virtualNetworks`;
/** Eight addresses: .0 is the network, .1-.3 Azure's, .7 broadcast: room for three endpoints. */
const SMALL = `${NET}/vnet-small/subnets/tiny`;
const ELSEWHERE = `${NET}/vnet-north/subnets/pe`;
const ZONE_RG = `/subscriptions/${SUB}/resourceGroups/rg-platform-dns/providers/Microsoft.Network/privateDnsZones`;
const SQL_ZONE = `${ZONE_RG}/privatelink.database.windows.net`;
const VAULT_ZONE = `${ZONE_RG}/privatelink.vaultcore.azure.net`;
const RAW_RG = `/subscriptions/${SUB}/resourceGroups/rg-raw`;

const props = (body: ArmBody | undefined): ArmBody => (body?.properties ?? {}) as ArmBody;
const endpointId = (name: string) => `${RAW_RG}/providers/Microsoft.Network/privateEndpoints/${name}`;

function endpointBody(subnetId: string, targetId: string, groupId: string, location = 'westeurope'): ArmBody {
  return {
    location,
    properties: {
      subnet: { id: subnetId },
      privateLinkServiceConnections: [{ name: 'c', properties: { privateLinkServiceId: targetId, groupIds: [groupId] } }],
    },
  };
}

/** PUT (or DELETE) and let the operation finish; a refusal is returned as its error, not thrown. */
async function write(method: 'PUT' | 'DELETE', id: string, body?: ArmBody): Promise<{ code?: string; message?: string }> {
  try {
    await env.arm.beginWrite(method, id, NETWORK_API_VERSION, body);
  } catch (err) {
    return { code: (err as { code?: string }).code, message: (err as Error).message };
  }
  env.emulator.state.completeOperations();
  return {};
}

const addressOf = (name: string) =>
  ((props(env.emulator.state.get(endpointId(name))).customDnsConfigs as { ipAddresses: string[] }[] | undefined) ?? [])[0]
    ?.ipAddresses[0];

beforeAll(async () => {
  env = await startAzureTestEnv();
  env.emulator.seedPlatformNetwork({
    subnets: [
      { id: SMALL, location: 'westeurope', addressPrefix: '10.250.0.0/29' },
      { id: ELSEWHERE, location: 'northeurope', addressPrefix: '10.251.0.0/24' },
    ],
    privateDnsZones: [],
  });
  const plan = tenantPlan(env, 'target');
  await converge(env, plan);
  target = resourceIds(env.emulator, plan.names);
  await env.arm.beginWrite('PUT', RAW_RG, '2025-04-01', { location: 'westeurope' });
});

afterAll(async () => {
  await env.emulator.stop();
});

describe('the emulator’s private endpoints, as the Network provider makes them', () => {
  test('an endpoint takes the lowest free address of its subnet, keeps it, and frees it when deleted; a full subnet is refused', async () => {
    expect(await write('PUT', endpointId('pe-a'), endpointBody(SMALL, target.server, 'sqlServer'))).toEqual({});
    expect(await write('PUT', endpointId('pe-b'), endpointBody(SMALL, target.vault, 'vault'))).toEqual({});
    expect([addressOf('pe-a'), addressOf('pe-b')]).toEqual(['10.250.0.4', '10.250.0.5']);
    // A PUT again (new tags) keeps the address.
    expect(
      await write('PUT', endpointId('pe-a'), { ...endpointBody(SMALL, target.server, 'sqlServer'), tags: { x: 'y' } }),
    ).toEqual({});
    expect(addressOf('pe-a')).toBe('10.250.0.4');

    expect(await write('DELETE', endpointId('pe-a'))).toEqual({});
    expect(await write('PUT', endpointId('pe-c'), endpointBody(SMALL, target.server, 'sqlServer'))).toEqual({});
    expect(addressOf('pe-c')).toBe('10.250.0.4');
    expect(await write('PUT', endpointId('pe-d'), endpointBody(SMALL, target.server, 'sqlServer'))).toEqual({});
    expect(addressOf('pe-d')).toBe('10.250.0.6');
    expect(await write('PUT', endpointId('pe-e'), endpointBody(SMALL, target.server, 'sqlServer'))).toMatchObject({
      code: 'SubnetIsFull',
      message: expect.stringContaining('10.250.0.0/29'),
    });
    // The subnet lists the endpoints it holds.
    expect((props(env.emulator.state.get(SMALL)).privateEndpoints as { id: string }[]).map((p) => p.id.split('/').pop())).toEqual(
      expect.arrayContaining(['pe-b', 'pe-c', 'pe-d']),
    );
    for (const name of ['pe-b', 'pe-c', 'pe-d']) await write('DELETE', endpointId(name));
  });

  test.each([
    ['a subnet that does not exist', `${NET}/vnet-small/subnets/missing`, 'westeurope'],
    ['a subnet in another region than the endpoint', ELSEWHERE, 'westeurope'],
  ])('%s is InvalidResourceReference, naming it', async (_name, subnetId, location) => {
    expect(await write('PUT', endpointId('bad'), endpointBody(subnetId, target.server, 'sqlServer', location))).toEqual({
      code: 'InvalidResourceReference',
      message: expect.stringContaining(`Resource ${subnetId} referenced by resource ${endpointId('bad')} was not found`),
    });
    expect(env.emulator.state.get(endpointId('bad'))).toBeUndefined();
  });

  test('a group id the target does not offer is refused', async () => {
    expect(await write('PUT', endpointId('wrong-group'), endpointBody(SMALL, target.server, 'vault'))).toMatchObject({
      code: 'PrivateEndpointBadRequest',
    });
  });

  test('the connection is auto-approved and shows on the target; while being created the endpoint is Updating', async () => {
    await env.arm.beginWrite('PUT', endpointId('conn'), NETWORK_API_VERSION, endpointBody(SMALL, target.vault, 'vault'));
    expect(props(env.emulator.state.get(endpointId('conn'))).provisioningState).toBe('Updating');
    env.emulator.state.completeOperations();
    const endpoint = env.emulator.state.get(endpointId('conn'));
    expect(props(endpoint).provisioningState).toBe('Succeeded');
    expect(
      (props(endpoint).privateLinkServiceConnections as ArmBody[]).map((c) => props(c).privateLinkServiceConnectionState),
    ).toEqual([expect.objectContaining({ status: 'Approved' })]);
    expect(props(env.emulator.state.get(target.vault)).privateEndpointConnections).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          properties: expect.objectContaining({
            privateEndpoint: { id: endpointId('conn') },
            privateLinkServiceConnectionState: expect.objectContaining({ status: 'Approved' }),
          }),
        }),
      ]),
    );
    await write('DELETE', endpointId('conn'));
    expect(
      (props(env.emulator.state.get(target.vault)).privateEndpointConnections as ArmBody[]).filter(
        (c) => (props(c).privateEndpoint as { id: string }).id === endpointId('conn'),
      ),
    ).toEqual([]);
  });

  test('a DNS zone group: the zone must exist, one group per endpoint, each config named; the record replaces customDnsConfigs', async () => {
    const pe = endpointId('dns');
    expect(await write('PUT', pe, endpointBody(SMALL, target.server, 'sqlServer'))).toEqual({});
    const ip = addressOf('dns');
    const group = `${pe}/privateDnsZoneGroups/default`;
    const missingZone = `${ZONE_RG}/privatelink.database.windows.net.missing`;
    const config = (zoneId: string, name: string | null = 'z') => ({
      properties: { privateDnsZoneConfigs: [{ ...(name === null ? {} : { name }), properties: { privateDnsZoneId: zoneId } }] },
    });

    expect(await write('PUT', group, config(missingZone))).toEqual({
      code: 'InvalidResourceReference',
      message: expect.stringContaining(`Resource ${missingZone} referenced by resource ${group} was not found`),
    });
    expect(await write('PUT', group, config(SQL_ZONE, null))).toMatchObject({ code: 'InvalidRequestFormat' });
    expect(await write('PUT', group, config(SQL_ZONE))).toEqual({});
    expect(await write('PUT', `${pe}/privateDnsZoneGroups/second`, config(SQL_ZONE))).toMatchObject({ code: expect.any(String) });

    const records = (props(env.emulator.state.get(group)).privateDnsZoneConfigs as ArmBody[]).flatMap(
      (c) => props(c).recordSets as ArmBody[],
    );
    expect(records).toEqual([
      expect.objectContaining({
        recordType: 'A',
        fqdn: `${target.server.split('/').pop()}.privatelink.database.windows.net`,
        ipAddresses: [ip],
      }),
    ]);
    // Azure empties the endpoint's own list while the group holds the record, and fills it again after.
    expect(props(env.emulator.state.get(pe)).customDnsConfigs).toEqual([]);
    expect(await write('DELETE', group)).toEqual({});
    expect(addressOf('dns')).toBe(ip);

    // A zone named for another service gets no record.
    expect(await write('PUT', group, config(VAULT_ZONE))).toEqual({});
    expect(
      (props(env.emulator.state.get(group)).privateDnsZoneConfigs as ArmBody[]).flatMap((c) => props(c).recordSets as ArmBody[]),
    ).toEqual([]);
    await write('DELETE', pe);
    expect(env.emulator.state.get(group)).toBeUndefined();
  });
});

/** Passes until everything but the private endpoints is Ready (they may never be, by design here). */
async function convergeAllBut(testEnv: AzureTestEnv, plan: TenantAzurePlan): Promise<void> {
  let pending = [] as Awaited<ReturnType<typeof reconcileResources>>['pending'];
  for (let i = 0; i < 400; i++) {
    const pass = await reconcileResources(testEnv.arm, tenantAzureResources(plan), { pending, now: new Date() });
    pending = pass.pending;
    const others = [...pass.reports.values()].filter((r) => !r.key.startsWith('private'));
    if (others.every((r) => r.phase === 'Ready')) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('did not converge');
}

describe('the tenant’s endpoints, as the operator’s Azure step makes them', () => {
  test('each tenant gets its own addresses in its region’s subnet, recorded for the egress policy', async () => {
    const { step } = azureStep(env);
    const facts = [];
    for (const name of ['alpha', 'bravo']) {
      const plan = tenantPlan(env, name);
      await converge(env, plan);
      const result = await step.reconcile(storedTenant(name), plan);
      expect(result.conditions.filter((c) => c.status !== 'True')).toEqual([]);
      facts.push(result.facts.privateEndpoints);
      const names = resourceIds(env.emulator, plan.names);
      expect(result.facts.privateEndpoints).toEqual({
        sql: {
          ip: expect.stringMatching(/^10\.100\.0\.\d+$/),
          fqdn: `${names.server.split('/').pop()}.privatelink.database.windows.net`,
        },
        keyVault: {
          ip: expect.stringMatching(/^10\.100\.0\.\d+$/),
          fqdn: `${names.vault.split('/').pop()}.privatelink.vaultcore.azure.net`,
        },
      });
    }
    const ips = facts.flatMap((f) => [f?.sql?.ip, f?.keyVault?.ip]);
    expect(new Set(ips).size).toBe(4);
  });

  test('an endpoint deleted by hand: the next pass re-creates it and forgets the old address until Azure reports the new one', async () => {
    const plan = tenantPlan(env, 'charlie');
    await converge(env, plan);
    const { step } = azureStep(env);
    const first = await step.reconcile(storedTenant('charlie'), plan);
    const recorded = first.facts.privateEndpoints;
    expect(recorded?.sql?.ip).toBeDefined();

    await write('DELETE', resourceIds(env.emulator, plan.names).peSql);
    const stored = { ...storedTenant('charlie'), status: { azure: { privateEndpoints: recorded } } };
    const repaired = await step.reconcile(stored, plan);
    // Fails closed: the SQL address is unknown again; the vault's did not change.
    expect(repaired.facts.privateEndpoints).toEqual({ keyVault: recorded?.keyVault });
    expect(repaired.conditions.find((c) => c.type === 'DatabaseReady')).toMatchObject({
      status: 'False',
      reason: 'Provisioning',
    });

    env.emulator.state.completeOperations();
    let later = repaired;
    for (let i = 0; i < 20 && later.facts.privateEndpoints?.sql === undefined; i++) {
      later = await step.reconcile(
        { ...stored, status: { azure: { ...stored.status.azure, operations: later.record.operations } } },
        plan,
      );
      env.emulator.state.completeOperations();
    }
    expect(later.facts.privateEndpoints?.sql?.ip).toMatch(/^10\.100\.0\.\d+$/);
  });
});

describe('bad input: the configuration names a subnet or zone that is not there', () => {
  const cases: [string, (subscriptionId: string) => Record<string, unknown>, string][] = [
    [
      'a subnet that does not exist',
      (sub) => ({
        privateEndpoints: {
          subnets: {
            westeurope: `/subscriptions/${sub}/resourceGroups/rg-platform-network/providers/Microsoft.Network/virtualNetworks/vnet-westeurope/subnets/typo`,
          },
        },
      }),
      '/subnets/typo',
    ],
    [
      'a private DNS zone that does not exist',
      (sub) => ({
        privateDnsZones: {
          sql: `/subscriptions/${sub}/resourceGroups/rg-elsewhere/providers/Microsoft.Network/privateDnsZones/privatelink.database.windows.net`,
          keyVault: `/subscriptions/${sub}/resourceGroups/rg-platform-dns/providers/Microsoft.Network/privateDnsZones/privatelink.vaultcore.azure.net`,
        },
      }),
      '/resourceGroups/rg-elsewhere/providers/Microsoft.Network/privateDnsZones/privatelink.database.windows.net',
    ],
  ];

  test.each(cases)('%s: the platform team must act, and the condition names it', async (_name, override, named) => {
    const bad = await startAzureTestEnv({ operatorConfig: override(SUB) });
    try {
      const plan = tenantPlan(bad, 'delta');
      await convergeAllBut(bad, plan);
      const { step } = azureStep(bad);
      const result = await step.reconcile(storedTenant('delta'), plan);
      expect(result.failure).toBeInstanceOf(PlatformError);
      expect(result.failure).toMatchObject({ reason: 'AzureReferenceNotFound' });
      const database = result.conditions.find((c) => c.type === 'DatabaseReady');
      expect(database).toMatchObject({ status: 'False', reason: 'AzureReferenceNotFound' });
      expect(database?.message).toContain(named);
      expect(database?.message).toContain('azure.privateEndpoints.subnets.westeurope or azure.privateDnsZones');
      // Everything else exists: the database is there, only unreachable.
      expect(bad.emulator.state.get(resourceIds(bad.emulator, plan.names).database)).toBeDefined();
      // Without the subnet there is no endpoint, so no address; without the zone the endpoint has
      // its address (the egress policy may use it) but the server's name does not resolve to it.
      expect(result.facts.privateEndpoints?.sql === undefined).toBe(named.includes('/subnets/'));
    } finally {
      await bad.emulator.stop();
    }
  });

  test('a region without a subnet in the configuration: PrivateEndpointNotConfigured, naming the field', async () => {
    const partial = await startAzureTestEnv({ operatorConfig: { privateEndpoints: { subnets: {} } } });
    try {
      const plan = tenantPlan(partial, 'echo');
      expect(plan.privateEndpoints).toEqual({ configured: false, missing: ['azure.privateEndpoints.subnets.westeurope'] });
      await converge(partial, plan);
      const { step } = azureStep(partial);
      const result = await step.reconcile(storedTenant('echo'), plan);
      for (const type of ['DatabaseReady', 'KeyVaultReady']) {
        expect(result.conditions.find((c) => c.type === type)).toMatchObject({
          status: 'False',
          reason: 'PrivateEndpointNotConfigured',
          message: expect.stringContaining('azure.privateEndpoints.subnets.westeurope'),
        });
      }
      expect(result.conditions.find((c) => c.type === 'AzureResourcesReady')).toMatchObject({
        status: 'False',
        reason: 'PrivateEndpointNotConfigured',
      });
      expect(result.facts.privateEndpoints).toBeUndefined();
    } finally {
      await partial.emulator.stop();
    }
  });
});
