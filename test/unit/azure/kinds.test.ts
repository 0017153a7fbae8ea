/** Each ARM resource kind compares in Azure's normal form and writes only what it owns (pure, table-driven). */
import { describe, expect, test } from '@jest/globals';
import type { ArmBody } from '../../../src/azure/arm-client.ts';
import { BUILT_IN_ROLES, roleAssignmentKind } from '../../../src/azure/kinds/authorization.ts';
import { AZURE_TAGS, isInProgress, mergeTags, tagsDiffer } from '../../../src/azure/kinds/common.ts';
import { federatedCredentialKind, identityKind } from '../../../src/azure/kinds/identity.ts';
import { vaultKeyKind, vaultKind } from '../../../src/azure/kinds/key-vault.ts';
import { type WafPolicyParams, wafPolicyKind } from '../../../src/azure/kinds/network.ts';
import { resourceGroupKind } from '../../../src/azure/kinds/resources.ts';
import {
  type DatabaseParams,
  keepsLongTermBackups,
  normalizeSqlSku,
  sameSku,
  serverKeyName,
  sqlDatabaseKind,
  sqlEncryptionProtectorKind,
  sqlEntraOnlyKind,
  sqlLongTermRetentionKind,
  sqlServerKind,
  sqlShortTermRetentionKind,
} from '../../../src/azure/kinds/sql.ts';

const TAGS = { 'managed-by': 'tenant-operator', 'tenancy.dev-tenant': 'acme' };
const RG = '/subscriptions/s/resourceGroups/rg-acme-prd';

describe('tags and states', () => {
  test('mergeTags keeps foreign tags, applies ours, drops the orphan mark', () => {
    expect(mergeTags({ a: '1' }, { a: '0', b: '2', [AZURE_TAGS.orphaned]: 'true' })).toEqual({ a: '1', b: '2' });
  });
  test('tagsDiffer with no observed tags', () => {
    expect(tagsDiffer({ a: '1' }, undefined)).toBe(true);
    expect(tagsDiffer({}, undefined)).toBe(false);
  });
  test.each([
    ['Creating', true],
    ['Updating', true],
    ['RegisteringDns', true],
    ['Scaling', true],
    ['Resuming', true],
    ['Succeeded', false],
    ['Ready', false],
    ['Online', false],
    ['Paused', false],
    ['Failed', false],
    [undefined, false],
  ])('isInProgress(%j) = %j', (state, expected) => {
    expect(isInProgress(state)).toBe(expected);
  });
});

describe('resource group', () => {
  const params = { subscriptionId: 's', name: 'rg-acme-prd', location: 'westeurope', tags: TAGS };
  const observed = (o: ArmBody = {}): ArmBody => ({
    location: 'westeurope',
    tags: TAGS,
    properties: { provisioningState: 'Succeeded' },
    ...o,
  });
  test.each<[string, ArmBody, string[]]>([
    ['identical', observed(), []],
    ['location spelled differently is the same', observed({ location: 'West Europe' }), []],
    ['foreign tags are left alone', observed({ tags: { ...TAGS, createdBy: 'policy' } }), []],
    ['a tag of ours is missing', observed({ tags: { 'managed-by': 'tenant-operator' } }), ['tags']],
    ['marked orphaned', observed({ tags: { ...TAGS, [AZURE_TAGS.orphaned]: 'true' } }), ['tags']],
    ['another region', observed({ location: 'northeurope' }), ['location']],
  ])('%s', (_name, o, expected) => {
    expect(resourceGroupKind.diff(params, o)).toEqual(expected);
  });
  test('tags are fixed with a PATCH of merged tags; a location never is', () => {
    const o = observed({ tags: { createdBy: 'policy', [AZURE_TAGS.orphaned]: 'true' } });
    expect(resourceGroupKind.update?.(params, o, ['tags'])).toEqual({
      method: 'PATCH',
      body: { tags: { createdBy: 'policy', ...TAGS } },
    });
    expect(resourceGroupKind.update?.(params, observed({ location: 'northeurope' }), ['location'])).toBeUndefined();
  });
});

describe('identity and federated credential', () => {
  test('an identity is usable only once Entra gave it its ids', () => {
    const ready = identityKind.ready as (o: ArmBody) => boolean;
    expect(ready({ properties: { clientId: 'c', principalId: 'p' } })).toBe(true);
    expect(ready({ properties: { clientId: 'c' } })).toBe(false);
  });
  const fic = { identityId: `${RG}/x`, name: 'k8s-ns-app', issuer: 'https://issuer/', subject: 'system:serviceaccount:ns:app' };
  const ficObserved = (o: ArmBody = {}): ArmBody => ({
    properties: { issuer: fic.issuer, subject: fic.subject, audiences: ['api://AzureADTokenExchange'], ...o },
  });
  test.each<[string, ArmBody, string[]]>([
    ['identical', ficObserved(), []],
    ['another issuer', ficObserved({ issuer: 'https://other/' }), ['issuer']],
    ['another subject', ficObserved({ subject: 'system:serviceaccount:ns:other' }), ['subject']],
    ['a second audience', ficObserved({ audiences: ['api://AzureADTokenExchange', 'x'] }), ['audiences']],
  ])('federated credential: %s', (_name, o, expected) => {
    expect(federatedCredentialKind.diff(fic, o)).toEqual(expected);
  });
});

describe('key vault and key', () => {
  const params = {
    subscriptionId: 's',
    resourceGroupId: RG,
    name: 'kv-acme',
    location: 'westeurope',
    tags: TAGS,
    tenantId: 'T',
    publicNetworkAccess: false,
  };
  const observed = (o: ArmBody = {}): ArmBody => ({
    location: 'westeurope',
    tags: TAGS,
    properties: {
      tenantId: 't',
      enableRbacAuthorization: true,
      enableSoftDelete: true,
      enablePurgeProtection: true,
      publicNetworkAccess: 'Disabled',
      networkAcls: { defaultAction: 'Deny', bypass: 'AzureServices' },
      provisioningState: 'Succeeded',
      vaultUri: 'https://kv-acme.vault.azure.net/',
      ...o,
    },
  });
  test.each<[string, ArmBody, string[]]>([
    ['identical (tenant id compared case-insensitively)', observed(), []],
    ['server-filled fields are ignored', observed({ vaultUri: undefined, provisioningState: 'RegisteringDns' }), []],
    ['access policies instead of RBAC', observed({ enableRbacAuthorization: false }), ['enableRbacAuthorization']],
    ['purge protection off', observed({ enablePurgeProtection: false }), ['enablePurgeProtection']],
    ['public access enabled by hand', observed({ publicNetworkAccess: 'Enabled' }), ['publicNetworkAccess']],
    ['network allows all', observed({ networkAcls: { defaultAction: 'Allow', bypass: 'AzureServices' } }), ['networkAcls']],
    ['another directory', observed({ tenantId: 'other' }), ['tenantId']],
  ])('vault: %s', (_name, o, expected) => {
    expect(vaultKind.diff(params, o)).toEqual(expected);
  });
  test('a key of another type or size cannot be fixed in place', () => {
    const key = { vaultId: `${RG}/kv`, name: 'tde-key', keySize: 3072 as const };
    expect(vaultKeyKind.diff(key, { properties: { kty: 'RSA', keySize: 3072 } })).toEqual([]);
    expect(vaultKeyKind.diff(key, { properties: { kty: 'RSA', keySize: 2048 } })).toEqual(['keySize']);
    expect(vaultKeyKind.update).toBeUndefined();
  });
});

describe('role assignment', () => {
  const params = {
    subscriptionId: 's',
    scope: `${RG}/providers/Microsoft.KeyVault/vaults/kv`,
    role: BUILT_IN_ROLES.keyVaultSecretsUser,
    principalId: 'P1',
    principalType: 'ServicePrincipal' as const,
  };
  test.each<[string, ArmBody, string[]]>([
    [
      'subscription-scoped role id',
      {
        properties: {
          roleDefinitionId: `/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions/${params.role}`,
          principalId: 'p1',
        },
      },
      [],
    ],
    [
      'tenant-scoped role id',
      {
        properties: { roleDefinitionId: `/providers/Microsoft.Authorization/roleDefinitions/${params.role}`, principalId: 'P1' },
      },
      [],
    ],
    [
      'another role under our name',
      { properties: { roleDefinitionId: '/x/roleDefinitions/other', principalId: 'P1' } },
      ['roleDefinitionId'],
    ],
  ])('%s', (_name, o, expected) => {
    expect(roleAssignmentKind.diff(params, o)).toEqual(expected);
  });
  test('the name is derived from scope, role and principal; a duplicate grant counts as done', () => {
    expect(roleAssignmentKind.id(params)).toBe(roleAssignmentKind.id({ ...params, principalId: 'p1' }));
    expect(roleAssignmentKind.id(params)).not.toBe(
      roleAssignmentKind.id({ ...params, role: BUILT_IN_ROLES.keyVaultCryptoServiceEncryptionUser }),
    );
    expect(roleAssignmentKind.update).toBeUndefined();
    expect(roleAssignmentKind.satisfiedBy).toContain('RoleAssignmentExists');
  });
});

describe('SQL server and its security', () => {
  const admin = { login: 'sql-admins', objectId: 'O', tenantId: 'T', principalType: 'Group' as const };
  const params = { resourceGroupId: RG, name: 'sql-acme', location: 'westeurope', tags: TAGS, entraAdmin: admin };
  const observed = (o: ArmBody = {}, identity: ArmBody = { type: 'SystemAssigned', principalId: 'sp' }): ArmBody => ({
    location: 'westeurope',
    tags: TAGS,
    identity,
    properties: { state: 'Ready', minimalTlsVersion: '1.2', publicNetworkAccess: 'Disabled', ...o },
  });
  test.each<[string, ArmBody, string[]]>([
    ['identical', observed(), []],
    ['TLS lowered by hand', observed({ minimalTlsVersion: '1.0' }), ['minimalTlsVersion']],
    ['public access opened by hand', observed({ publicNetworkAccess: 'Enabled' }), ['publicNetworkAccess']],
    ['system identity removed', observed({}, { type: 'UserAssigned' }), ['identity']],
  ])('server: %s', (_name, o, expected) => {
    expect(sqlServerKind.diff(params, o)).toEqual(expected);
  });
  test('a server is created Entra-only, never with a SQL login', () => {
    const body = sqlServerKind.create(params) as { properties: Record<string, unknown> };
    expect(body.properties.administratorLogin).toBeUndefined();
    expect(body.properties.administrators).toMatchObject({ azureADOnlyAuthentication: true, sid: 'O' });
  });
  test('Entra-only and the protector', () => {
    expect(sqlEntraOnlyKind.diff({ serverId: 'x' }, { properties: { azureADOnlyAuthentication: false } })).toEqual([
      'azureADOnlyAuthentication',
    ]);
    const p = { serverId: 'x', serverKeyName: 'kv_tde-key_0123' };
    expect(
      sqlEncryptionProtectorKind.diff(p, {
        properties: { serverKeyType: 'ServiceManaged', serverKeyName: 'ServiceManaged', autoRotationEnabled: false },
      }),
    ).toEqual(['serverKeyType', 'serverKeyName', 'autoRotationEnabled']);
    expect(serverKeyName('https://kv.vault.azure.net/keys/tde-key/0123')).toBe('kv_tde-key_0123');
    expect(() => serverKeyName('https://kv.vault.azure.net/keys/tde-key')).toThrow(/versioned/);
  });
});

describe('SQL SKUs in Azure’s normal form', () => {
  test.each([
    ['S0', { name: 'S0' }, { name: 'Standard', tier: 'Standard', capacity: 10 }],
    ['P2', { name: 'P2' }, { name: 'Premium', tier: 'Premium', capacity: 250 }],
    ['Basic', { name: 'Basic' }, { name: 'Basic', tier: 'Basic', capacity: 5 }],
    ['GP_Gen5_2', { name: 'GP_Gen5_2' }, { name: 'GP_Gen5', tier: 'GeneralPurpose', capacity: 2 }],
    ['GP_S_Gen5_4', { name: 'GP_S_Gen5_4' }, { name: 'GP_S_Gen5', tier: 'GeneralPurpose', capacity: 4 }],
    ['BC_Gen5 with capacity', { name: 'BC_Gen5', capacity: 8 }, { name: 'BC_Gen5', tier: 'BusinessCritical', capacity: 8 }],
    [
      'already normal',
      { name: 'Standard', tier: 'Standard', capacity: 10 },
      { name: 'Standard', tier: 'Standard', capacity: 10 },
    ],
  ])('%s', (_name, sku, expected) => {
    expect(normalizeSqlSku(sku)).toEqual(expected);
  });
  test.each([
    ['S0 asked, Standard/10 reported', { name: 'S0' }, { name: 'Standard', tier: 'Standard', capacity: 10 }, true],
    [
      'GP_Gen5_2 asked, GP_Gen5/2 reported',
      { name: 'GP_Gen5_2' },
      { name: 'GP_Gen5', tier: 'GeneralPurpose', capacity: 2 },
      true,
    ],
    ['S0 asked, Standard/20 (S1) reported', { name: 'S0' }, { name: 'Standard', tier: 'Standard', capacity: 20 }, false],
    [
      'capacity not asked',
      { name: 'GP_Gen5', tier: 'GeneralPurpose' },
      { name: 'GP_Gen5', tier: 'GeneralPurpose', capacity: 6 },
      true,
    ],
    ['nothing reported', { name: 'GP_Gen5' }, undefined, false],
  ])('sameSku: %s', (_name, desired, observed, expected) => {
    expect(sameSku(desired, observed)).toBe(expected);
  });
  const db: DatabaseParams = {
    serverId: `${RG}/providers/Microsoft.Sql/servers/sql`,
    name: 'sqldb',
    location: 'westeurope',
    tags: TAGS,
    sku: { name: 'S0' },
    backupStorageRedundancy: 'Zone',
  };
  const dbObserved = (o: ArmBody = {}, status = 'Online'): ArmBody => ({
    location: 'westeurope',
    tags: TAGS,
    sku: { name: 'Standard', tier: 'Standard', capacity: 10 },
    properties: { status, requestedBackupStorageRedundancy: 'Zone' },
    ...o,
  });
  test('a database Azure reports in normal form is converged; a tier change is one PATCH of the SKU', () => {
    expect(sqlDatabaseKind.diff(db, dbObserved())).toEqual([]);
    const bigger = { ...db, sku: { name: 'S1' } };
    expect(sqlDatabaseKind.diff(bigger, dbObserved())).toEqual(['sku']);
    expect(sqlDatabaseKind.update?.(bigger, dbObserved(), ['sku'])).toEqual({ method: 'PATCH', body: { sku: { name: 'S1' } } });
  });
  test.each([
    ['Online', true],
    ['Paused', true],
    ['Creating', false],
    ['Offline', false],
  ])('a database %s is usable: %s', (status, expected) => {
    expect((sqlDatabaseKind.ready as (o: ArmBody) => boolean)(dbObserved({}, status))).toBe(expected);
  });
});

describe('backup retention', () => {
  const databaseId = 'db';
  test('short-term: days and differential interval', () => {
    const p = { databaseId, retention: { retentionDays: 14, diffBackupIntervalInHours: 12 as const } };
    expect(sqlShortTermRetentionKind.diff(p, { properties: { retentionDays: 14, diffBackupIntervalInHours: 12 } })).toEqual([]);
    expect(sqlShortTermRetentionKind.diff(p, { properties: { retentionDays: 7, diffBackupIntervalInHours: 24 } })).toEqual([
      'retentionDays',
      'diffBackupIntervalInHours',
    ]);
  });
  test.each([
    [
      '"not kept" has several spellings',
      { weeklyRetention: 'P12W', monthlyRetention: 'P0M', yearlyRetention: '', weekOfYear: 9 },
      [],
    ],
    [
      'weekOfYear ignored without yearly retention',
      { weeklyRetention: 'P12W', monthlyRetention: 'PT0S', yearlyRetention: 'PT0S', weekOfYear: 30 },
      [],
    ],
    [
      'weekly differs',
      { weeklyRetention: 'P4W', monthlyRetention: 'PT0S', yearlyRetention: 'PT0S', weekOfYear: 1 },
      ['weeklyRetention'],
    ],
  ])('long-term: %s', (_name, observed, expected) => {
    const p = {
      databaseId,
      retention: { weeklyRetention: 'P12W', monthlyRetention: 'PT0S', yearlyRetention: 'PT0S', weekOfYear: 1 },
    };
    expect(sqlLongTermRetentionKind.diff(p, { properties: observed })).toEqual(expected);
  });
  test('keepsLongTermBackups', () => {
    expect(
      keepsLongTermBackups({ weeklyRetention: 'PT0S', monthlyRetention: 'P0M', yearlyRetention: 'PT0S', weekOfYear: 1 }),
    ).toBe(false);
    expect(
      keepsLongTermBackups({ weeklyRetention: 'PT0S', monthlyRetention: 'P6M', yearlyRetention: 'PT0S', weekOfYear: 1 }),
    ).toBe(true);
    expect(keepsLongTermBackups(undefined)).toBe(false);
  });
});

describe('WAF policy', () => {
  const params: WafPolicyParams = {
    resourceGroupId: RG,
    name: 'tenant-waf',
    location: 'westeurope',
    tags: TAGS,
    mode: 'Prevention',
    customRules: [
      {
        name: 'BlockOutsideAllowedCountries',
        priority: 20,
        ruleType: 'MatchRule',
        action: 'Block',
        matchConditions: [
          { matchVariables: [{ variableName: 'RemoteAddr' }], operator: 'GeoMatch', negationConditon: true, matchValues: ['NL'] },
        ],
      },
    ],
  };
  test('what Azure returns for a policy we wrote is converged; a rule change is a whole PUT', () => {
    const written = wafPolicyKind.create(params) as { properties: Record<string, unknown> };
    const observed: ArmBody = {
      ...written,
      properties: { ...written.properties, provisioningState: 'Succeeded', resourceState: 'Enabled' },
    };
    expect(wafPolicyKind.diff(params, observed)).toEqual([]);
    const fewer = { ...params, customRules: [] };
    expect(wafPolicyKind.diff(fewer, observed)).toEqual(['customRules']);
    expect(wafPolicyKind.update?.(fewer, observed, ['customRules'])?.method).toBe('PUT');
  });
  test('release tags it with a whole PUT of what it has', () => {
    const observed = wafPolicyKind.create(params);
    const write = wafPolicyKind.tag?.(observed, { [AZURE_TAGS.orphaned]: 'true' });
    expect(write?.method).toBe('PUT');
    expect(write?.body).toMatchObject({
      tags: { ...TAGS, [AZURE_TAGS.orphaned]: 'true' },
      properties: { customRules: expect.any(Array) },
    });
  });
});
