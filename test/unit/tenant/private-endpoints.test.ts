/**
 * A tenant's private endpoints, decided before any I/O: where they go (or what the configuration
 * lacks), how they hang in the resource graph, which address the egress policy may use after a
 * pass, and what the conditions say when the platform has not configured them (pure).
 */
import { describe, expect, test } from '@jest/globals';
import type { ArmBody } from '../../../src/azure/arm-client.ts';
import type { ArmChange } from '../../../src/azure/engine.ts';
import type { PrivateEndpointAddresses } from '../../../src/context.ts';
import type { ConditionInput } from '../../../src/runtime/conditions.ts';
import {
  privateEndpointPlan,
  tenantAzurePlan,
  tenantAzureResources,
  tenantDeleteInventory,
  tenantNames,
  tenantReleaseInventory,
} from '../../../src/tenant/azure.ts';
import { endpointAddresses, withoutPrivateEndpoints } from '../../../src/tenant/azure-step.ts';
import { aConfig, aTenant } from '../../fixtures/tenant.ts';

const SUB = '00000000-0000-4000-8000-000000000001';
const SUBNET = `/subscriptions/${SUB}/resourceGroups/rg-net/providers/Microsoft.Network/virtualNetworks/vnet-we/subnets/pe`;
const ZONES = `/subscriptions/${SUB}/resourceGroups/rg-dns/providers/Microsoft.Network/privateDnsZones`;
const SQL_ZONE = `${ZONES}/privatelink.database.windows.net`;
const VAULT_ZONE = `${ZONES}/privatelink.vaultcore.azure.net`;

const config = (network: Record<string, unknown> = {}) =>
  aConfig({
    azure: {
      subscriptionId: SUB,
      directoryTenantId: '00000000-0000-4000-8000-000000000002',
      oidcIssuer: 'https://oidc.example/issuer/',
      sqlAdminGroup: { login: 'sql-admins', objectId: '00000000-0000-4000-8000-000000000003' },
      audit: {
        logAnalyticsWorkspaceId:
          '/subscriptions/00000000-0000-4000-8000-000000000001/resourceGroups/platform/providers/Microsoft.OperationalInsights/workspaces/audit',
      },
      privateEndpoints: { subnets: { westeurope: SUBNET } },
      privateDnsZones: { sql: SQL_ZONE, keyVault: VAULT_ZONE },
      ...network,
    },
  });

const BACKUP = {
  redundancy: 'Zone' as const,
  shortTerm: { retentionDays: 14, diffBackupIntervalInHours: 12 as const },
  longTerm: { weeklyRetention: 'P12W', monthlyRetention: 'PT0S', yearlyRetention: 'PT0S', weekOfYear: 1 },
};

function planFor(cfg = config(), region = 'westeurope') {
  const tenant = aTenant('acme');
  tenant.spec.region = region;
  const azure = cfg.azure;
  if (azure === undefined) throw new Error('no azure');
  return tenantAzurePlan(tenant, cfg, azure, BACKUP);
}

describe('privateEndpointPlan', () => {
  test.each<[string, Record<string, unknown>, string, ReturnType<typeof privateEndpointPlan>]>([
    [
      'a subnet for the region and both zones: configured',
      {},
      'westeurope',
      { configured: true, subnetId: SUBNET, dnsZones: { sql: SQL_ZONE, keyVault: VAULT_ZONE } },
    ],
    [
      'a region without a subnet: names the field to add',
      {},
      'northeurope',
      { configured: false, missing: ['azure.privateEndpoints.subnets.northeurope'] },
    ],
    [
      'no DNS zones: names both',
      { privateDnsZones: {} },
      'westeurope',
      { configured: false, missing: ['azure.privateDnsZones.sql', 'azure.privateDnsZones.keyVault'] },
    ],
  ])('%s', (_name, network, region, expected) => {
    const azure = config(network).azure;
    if (azure === undefined) throw new Error('no azure');
    expect(privateEndpointPlan(region, azure)).toEqual(expected);
  });
});

describe('the resource graph', () => {
  test('an endpoint per service waits only for its service; its zone group waits for the endpoint', () => {
    const resources = tenantAzureResources(planFor());
    const deps = Object.fromEntries(resources.map((r) => [r.key, r.dependsOn]));
    expect(deps['privateEndpoint.sql']).toEqual(['sqlServer']);
    expect(deps['privateEndpoint.keyVault']).toEqual(['keyVault']);
    expect(deps['privateDnsZoneGroup.sql']).toEqual(['privateEndpoint.sql']);
    expect(deps['privateDnsZoneGroup.keyVault']).toEqual(['privateEndpoint.keyVault']);
    const rg = `/subscriptions/${SUB}/resourceGroups/${tenantNames(aTenant('acme'), config().azure as never).resourceGroup}`;
    const params = resources.find((r) => r.key === 'privateEndpoint.sql')?.params(new Map()) as Record<string, unknown>;
    expect(params).toMatchObject({
      resourceGroupId: rg,
      name: 'pe-sql',
      location: 'westeurope',
      subnetId: SUBNET,
      groupId: 'sqlServer',
    });
    const group = resources.find((r) => r.key === 'privateDnsZoneGroup.keyVault')?.params(new Map());
    expect(group).toEqual({
      privateEndpointId: `${rg}/providers/Microsoft.Network/privateEndpoints/pe-keyvault`,
      name: 'default',
      zones: [{ name: 'privatelink-vaultcore-azure-net', privateDnsZoneId: VAULT_ZONE }],
    });
  });

  test('not configured: no endpoint is attempted, everything else is', () => {
    const keys = tenantAzureResources(planFor(config(), 'northeurope')).map((r) => r.key);
    expect(keys.filter((k) => k.startsWith('private'))).toEqual([]);
    expect(keys).toContain('sqlDatabase');
  });

  test('Delete removes the endpoints first (they hold the subnet’s addresses); Retain tags them', () => {
    const names = tenantNames(aTenant('acme'), config().azure as never);
    expect(tenantDeleteInventory(SUB, names).map((r) => r.key)).toEqual([
      'privateEndpoint.sql',
      'privateEndpoint.keyVault',
      'sqlDatabase',
      'sqlAuditDiagnostics',
      'sqlServer',
      'identity',
      'wafPolicy',
    ]);
    expect(tenantReleaseInventory(SUB, names).map((r) => r.key)).toEqual(
      expect.arrayContaining(['privateEndpoint.sql', 'privateEndpoint.keyVault']),
    );
  });
});

describe('endpointAddresses after a pass', () => {
  const endpoint = (ip: string): ArmBody => ({
    properties: { customDnsConfigs: [{ fqdn: 'sql-acme.database.windows.net', ipAddresses: [ip] }] },
  });
  const grouped: ArmBody = { properties: { customDnsConfigs: [] } };
  const zoneGroup = (ip: string): ArmBody => ({
    properties: {
      privateDnsZoneConfigs: [
        {
          properties: { recordSets: [{ recordType: 'A', fqdn: 'sql-acme.privatelink.database.windows.net', ipAddresses: [ip] }] },
        },
      ],
    },
  });
  const created: ArmChange = { key: 'privateEndpoint.sql', label: 'private endpoint pe-sql', id: '/pe-sql', what: ['created'] };
  const before: PrivateEndpointAddresses = { sql: { ip: '10.100.0.4', fqdn: 'sql-acme.privatelink.database.windows.net' } };

  test.each<
    [string, [string, ArmBody][], ArmChange[], PrivateEndpointAddresses | undefined, PrivateEndpointAddresses | undefined]
  >([
    [
      'the DNS record wins (the endpoint’s own list is empty once a zone group holds it)',
      [
        ['privateEndpoint.sql', grouped],
        ['privateDnsZoneGroup.sql', zoneGroup('10.100.0.4')],
      ],
      [],
      undefined,
      { sql: { ip: '10.100.0.4', fqdn: 'sql-acme.privatelink.database.windows.net' } },
    ],
    [
      'before the zone group: the endpoint’s customDnsConfigs',
      [['privateEndpoint.sql', endpoint('10.100.0.4')]],
      [],
      undefined,
      { sql: { ip: '10.100.0.4', fqdn: 'sql-acme.database.windows.net' } },
    ],
    ['nothing read this pass (a read failed): the recorded address stays', [], [], before, before],
    [
      'the endpoint was just re-created (deleted by hand): the old address is dropped, nothing is allowed until the new one is known',
      [],
      [created],
      before,
      undefined,
    ],
    [
      'a re-created endpoint reports another address: that one, never the old',
      [['privateEndpoint.sql', endpoint('10.100.0.9')]],
      [],
      before,
      { sql: { ip: '10.100.0.9', fqdn: 'sql-acme.database.windows.net' } },
    ],
  ])('%s', (_name, outputs, changes, previous, expected) => {
    expect(endpointAddresses({ outputs: new Map(outputs), changes }, previous)).toEqual(expected);
  });
});

describe('conditions without a configured subnet or zone', () => {
  const notConfigured = {
    privateEndpoints: { configured: false as const, missing: ['azure.privateEndpoints.subnets.northeurope'] },
  };
  const c = (type: string, status: 'True' | 'False', reason: string): ConditionInput => ({ type, status, reason, message: '' });

  test.each<[string, ConditionInput, ConditionInput['reason']]>([
    [
      'a provisioned database is not Ready: nothing can reach it',
      c('DatabaseReady', 'True', 'Provisioned'),
      'PrivateEndpointNotConfigured',
    ],
    ['one still being created says so too', c('KeyVaultReady', 'False', 'Provisioning'), 'PrivateEndpointNotConfigured'],
    ['its own failure comes first', c('DatabaseReady', 'False', 'AzureInvalidSku'), 'AzureInvalidSku'],
    ['other components are left alone', c('IdentityReady', 'True', 'Provisioned'), 'Provisioned'],
  ])('%s', (_name, condition, reason) => {
    const list = [condition];
    withoutPrivateEndpoints(notConfigured, list);
    expect(list[0]?.reason).toBe(reason);
    if (reason === 'PrivateEndpointNotConfigured') {
      expect(list[0]).toMatchObject({
        status: 'False',
        message: expect.stringContaining('azure.privateEndpoints.subnets.northeurope'),
      });
    }
  });

  test('configured: nothing changes', () => {
    const list = [c('DatabaseReady', 'True', 'Provisioned')];
    withoutPrivateEndpoints(planFor(), list);
    expect(list[0]?.reason).toBe('Provisioned');
  });
});
