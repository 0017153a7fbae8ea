import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from '@jest/globals';
import { ConfigError, loadConfig, parseConfig } from '../../src/config.ts';

describe('parseConfig', () => {
  test('an empty configuration gets the documented defaults', () => {
    const c = parseConfig({});
    expect(c).toMatchObject({
      namespacePrefix: 'tenant-',
      resyncPeriodSeconds: 600,
      concurrency: 8,
      ingressNamespace: 'azure-alb-system',
    });
    expect(c.leaderElection).toMatchObject({ leaseDurationSeconds: 15, renewDeadlineSeconds: 10, retryPeriodSeconds: 2 });
    expect(c.tiers.Large.quota.cpu).toBe('64');
  });

  test.each([
    ['a negative concurrency', { concurrency: -1 }, 'concurrency'],
    ['a resync period of 1 second', { resyncPeriodSeconds: 1 }, 'resyncPeriodSeconds'],
    ['a CIDR that is not one', { azureEgressCidrs: { sql: ['10.0.0.0'] } }, 'azureEgressCidrs.sql.0: must be a CIDR'],
    ['an unknown field', { concurency: 3 }, 'Unrecognized key: "concurency"'],
    [
      'a renew deadline longer than the lease',
      { leaderElection: { leaseDurationSeconds: 5, renewDeadlineSeconds: 10 } },
      'renewDeadlineSeconds must be shorter',
    ],
    ['a namespace prefix with capitals', { namespacePrefix: 'Tenant-' }, 'namespacePrefix'],
  ])('names the bad field: %s', (_name, raw, expected) => {
    expect(() => parseConfig(raw)).toThrow(ConfigError);
    expect(() => parseConfig(raw)).toThrow(expected);
  });
});

describe('private endpoints in the configuration', () => {
  const SUB = '/subscriptions/00000000-0000-4000-8000-000000000001';
  const SUBNET = `${SUB}/resourceGroups/rg-net/providers/Microsoft.Network/virtualNetworks/hub/subnets/pe`;
  const ZONES = `${SUB}/resourceGroups/rg-dns/providers/Microsoft.Network/privateDnsZones`;
  const azure = (extra: Record<string, unknown> = {}) => ({
    subscriptionId: '00000000-0000-4000-8000-000000000001',
    directoryTenantId: '00000000-0000-4000-8000-000000000002',
    oidcIssuer: 'https://oidc.example/issuer/',
    sqlAdminGroup: { login: 'sql-admins', objectId: '00000000-0000-4000-8000-000000000003' },
    audit: {
      logAnalyticsWorkspaceId:
        '/subscriptions/00000000-0000-4000-8000-000000000001/resourceGroups/platform/providers/Microsoft.OperationalInsights/workspaces/audit',
    },
    ...extra,
  });

  test('a subnet per region and the two zones are read as given', () => {
    const c = parseConfig({
      azure: azure({
        privateEndpoints: { subnets: { westeurope: SUBNET } },
        privateDnsZones: {
          sql: `${ZONES}/privatelink.database.windows.net`,
          keyVault: `${ZONES}/privatelink.vaultcore.azure.net`,
        },
      }),
    });
    expect(c.azure?.privateEndpoints.subnets).toEqual({ westeurope: SUBNET });
    expect(c.azure?.privateDnsZones.keyVault).toBe(`${ZONES}/privatelink.vaultcore.azure.net`);
  });

  test('ids in Azure’s lower-case spelling are accepted too', () => {
    const lower = SUBNET.replace('resourceGroups', 'resourcegroups').replace('Microsoft.Network', 'microsoft.network');
    const zone = `${ZONES}/privatelink.database.windows.net`.replace('resourceGroups', 'resourcegroups');
    const c = parseConfig({
      azure: azure({ privateEndpoints: { subnets: { westeurope: lower } }, privateDnsZones: { sql: zone } }),
    });
    expect(c.azure?.privateEndpoints.subnets.westeurope).toBe(lower);
  });

  test('none configured: empty (each tenant then says the platform team must add them)', () => {
    const c = parseConfig({ azure: azure() });
    expect(c.azure?.privateEndpoints).toEqual({ subnets: {} });
    expect(c.azure?.privateDnsZones).toEqual({});
  });

  test.each([
    [
      'a subnet id that is a virtual network',
      { privateEndpoints: { subnets: { westeurope: SUBNET.replace('/subnets/pe', '') } } },
      'azure.privateEndpoints.subnets.westeurope: must be the ARM id of a subnet',
    ],
    [
      'a region key that is not a region name',
      { privateEndpoints: { subnets: { 'West Europe': SUBNET } } },
      'azure.privateEndpoints.subnets.West Europe: Invalid key',
    ],
    [
      'a SQL zone of another name (Azure would write no record into it)',
      { privateDnsZones: { sql: `${ZONES}/db.internal.example` } },
      'azure.privateDnsZones.sql: must be the ARM id of the private DNS zone privatelink.database',
    ],
    [
      'the vault zone given for SQL',
      { privateDnsZones: { sql: `${ZONES}/privatelink.vaultcore.azure.net` } },
      'azure.privateDnsZones.sql',
    ],
  ])('names the bad field: %s', (_name, extra, expected) => {
    expect(() => parseConfig({ azure: azure(extra) })).toThrow(expected);
  });

  test.each([
    ['sql', { sql: ['10.20.0.0/24'] }],
    ['keyVault', { keyVault: ['10.30.0.0/24'] }],
  ])('a shared %s range is refused when Azure is managed here (it would reach every tenant)', (service, cidrs) => {
    expect(() => parseConfig({ azure: azure(), azureEgressCidrs: cidrs })).toThrow(
      `azureEgressCidrs.${service}: shared ranges are for Kubernetes-only mode`,
    );
  });

  test('shared ranges stay possible in Kubernetes-only mode, and Entra ID ranges in both', () => {
    expect(parseConfig({ azureEgressCidrs: { sql: ['10.20.0.0/24'], keyVault: ['10.30.0.0/24'] } }).azureEgressCidrs.sql).toEqual(
      ['10.20.0.0/24'],
    );
    expect(parseConfig({ azure: azure(), azureEgressCidrs: { entraId: ['20.190.128.0/18'] } }).azureEgressCidrs.entraId).toEqual([
      '20.190.128.0/18',
    ]);
  });
});

describe('the Azure audit and key rotation settings', () => {
  const WORKSPACE = '/subscriptions/s/resourceGroups/platform/providers/Microsoft.OperationalInsights/workspaces/audit';
  const azure = (extra: Record<string, unknown>) => ({
    azure: {
      subscriptionId: '00000000-0000-4000-8000-000000000001',
      directoryTenantId: '00000000-0000-4000-8000-000000000002',
      oidcIssuer: 'https://oidc.example/',
      sqlAdminGroup: { login: 'sql-admins', objectId: '00000000-0000-4000-8000-000000000003' },
      audit: { logAnalyticsWorkspaceId: WORKSPACE },
      ...extra,
    },
  });

  test('defaults: audit kept 180 days, the key rotated yearly, expiring after two years, notified 30 days before', () => {
    const c = parseConfig(azure({}));
    expect(c.azure?.audit).toEqual({ logAnalyticsWorkspaceId: WORKSPACE, retentionDays: 180 });
    expect(c.azure?.keyRotation).toEqual({ rotateAfter: 'P1Y', expireAfter: 'P2Y', notifyBefore: 'P30D' });
  });

  test.each([
    ['no audit destination', { audit: undefined }, 'azure.audit'],
    [
      'a workspace name instead of its ARM id',
      { audit: { logAnalyticsWorkspaceId: 'audit' } },
      'azure.audit.logAnalyticsWorkspaceId',
    ],
    [
      'a storage account instead of a workspace',
      {
        audit: {
          logAnalyticsWorkspaceId: WORKSPACE.replace(
            'Microsoft.OperationalInsights/workspaces',
            'Microsoft.Storage/storageAccounts',
          ),
        },
      },
      'must be the ARM id of a Log Analytics workspace',
    ],
    ['audit kept 90 days', { audit: { logAnalyticsWorkspaceId: WORKSPACE, retentionDays: 90 } }, 'at least 180 days'],
    [
      'a rotation period that is not a duration',
      { keyRotation: { rotateAfter: '1 year' } },
      'azure.keyRotation.rotateAfter: must be an ISO 8601 duration',
    ],
    [
      'rotation after expiry',
      { keyRotation: { rotateAfter: 'P2Y', expireAfter: 'P1Y' } },
      'a key must be rotated before it expires',
    ],
    [
      'rotation a day before expiry',
      { keyRotation: { rotateAfter: 'P364D', expireAfter: 'P1Y' } },
      'at least 7 days shorter than expireAfter',
    ],
    ['an expiry of a week', { keyRotation: { rotateAfter: 'P7D', expireAfter: 'P7D' } }, 'expiry of at least 28 days'],
    ['a rotation every day', { keyRotation: { rotateAfter: 'P1D' } }, 'at the earliest 7 days'],
    ['a notification after expiry', { keyRotation: { notifyBefore: 'P3Y' } }, 'azure.keyRotation.notifyBefore'],
  ])('refused at start-up: %s', (_name, extra, expected) => {
    expect(() => parseConfig(azure(extra))).toThrow(ConfigError);
    expect(() => parseConfig(azure(extra))).toThrow(expected);
  });

  test('eighteen-month rotation with a two-year expiry is accepted', () => {
    expect(parseConfig(azure({ keyRotation: { rotateAfter: 'P18M' } })).azure?.keyRotation.rotateAfter).toBe('P18M');
  });
});

describe('loadConfig', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cfg-'));

  test('reads a YAML file and lets environment variables override single fields', () => {
    const file = join(dir, 'config.yaml');
    writeFileSync(file, 'concurrency: 8\ningressNamespace: alb\n');
    const c = loadConfig({ file, env: { TENANT_OPERATOR_CONCURRENCY: '2', TENANT_OPERATOR_LEADER_ELECTION: 'false' } });
    expect(c.concurrency).toBe(2);
    expect(c.ingressNamespace).toBe('alb');
    expect(c.leaderElection.enabled).toBe(false);
  });

  test('a missing file is a clear error', () => {
    expect(() => loadConfig({ file: join(dir, 'nope.yaml'), env: {} })).toThrow(/cannot read configuration file .*nope.yaml/);
  });
});

describe('access', () => {
  test('defaults: three roles, 8h at most, 24h to approve, the shipped admission policy and groups', () => {
    expect(parseConfig({}).access).toEqual({
      approversGroup: 'tenant-access-approvers',
      requestersGroup: 'tenant-access-requesters',
      maxDuration: '8h',
      pendingTimeout: '24h',
      admissionPolicyName: 'tenant-access-requests',
      roles: {
        'namespace-view': { kind: 'Namespace', clusterRole: 'tenant-access-view' },
        'namespace-debug': { kind: 'Namespace', clusterRole: 'tenant-access-debug' },
        'database-read': { kind: 'Database', azureRoleDefinitionId: 'acdd72a7-3385-48ef-bd42-f606fba81ae7' },
      },
    });
  });

  test.each([
    ['a maximum that is not a Go duration', { maxDuration: '8 hours' }, 'access.maxDuration: a Go duration such as 8h or 90m'],
    ['a zero maximum', { maxDuration: '0h' }, 'access.maxDuration: must be longer than zero'],
    ['a role of an unknown kind', { roles: { x: { kind: 'Cluster', clusterRole: 'admin' } } }, 'access.roles.x.kind'],
    [
      'an Azure role that is not a GUID',
      { roles: { x: { kind: 'Database', azureRoleDefinitionId: 'Reader' } } },
      'must be a role definition GUID',
    ],
    [
      'a role name that is not a DNS label',
      { roles: { Admin: { kind: 'Namespace', clusterRole: 'admin' } } },
      'access.roles.Admin: Invalid key in record',
    ],
  ])('refuses %s', (_name, access, expected) => {
    expect(() => parseConfig({ access })).toThrow(expected);
  });
});
