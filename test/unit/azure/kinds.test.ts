/** Each ARM resource kind compares in Azure's normal form and writes only what it owns (pure, table-driven). */
import { describe, expect, test } from '@jest/globals';
import type { ArmBody } from '../../../src/azure/arm-client.ts';
import { BUILT_IN_ROLES, roleAssignmentKind } from '../../../src/azure/kinds/authorization.ts';
import { AZURE_TAGS, isInProgress, mergeTags } from '../../../src/azure/kinds/common.ts';
import { fieldsThatDiffer, tagsDiffer } from '../../../src/azure/kinds/compare.ts';
import { federatedCredentialKind, identityKind } from '../../../src/azure/kinds/identity.ts';
import { armId } from '../../../src/azure/kinds/ids.ts';
import {
  type KeyRotation,
  keyVersionOf,
  normalRotationPolicy,
  rotationPolicyBody,
  vaultKeyKind,
  vaultKind,
} from '../../../src/azure/kinds/key-vault.ts';
import { auditRetentionKind, diagnosticSettingKind, tableRetentionDays } from '../../../src/azure/kinds/monitor.ts';
import { type WafPolicyParams, wafPolicyKind } from '../../../src/azure/kinds/network.ts';
import { resourceGroupKind } from '../../../src/azure/kinds/resources.ts';
import {
  type DatabaseParams,
  keepsLongTermBackups,
  normalizeSqlSku,
  protectorKeyVersion,
  SQL_AUDIT_ACTION_GROUPS,
  sameSku,
  serverKeyName,
  sqlDatabaseKind,
  sqlEncryptionProtectorKind,
  sqlEntraOnlyKind,
  sqlLongTermRetentionKind,
  sqlServerAuditingKind,
  sqlServerKind,
  sqlShortTermRetentionKind,
  sqlTdeKind,
  sqlThreatProtectionKind,
  threatDetectionState,
} from '../../../src/azure/kinds/sql.ts';
import { PlatformError } from '../../../src/runtime/errors.ts';

const ROTATION: KeyRotation = { rotateAfter: 'P1Y', expireAfter: 'P2Y', notifyBefore: 'P30D' };

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

describe('ids derived from types', () => {
  const rg = '/subscriptions/s/resourceGroups/rg';
  test.each([
    [
      'a top-level type lives under the provider',
      'Microsoft.KeyVault/vaults',
      rg,
      'kv',
      `${rg}/providers/Microsoft.KeyVault/vaults/kv`,
    ],
    [
      'a child type under its parent',
      'Microsoft.KeyVault/vaults/keys',
      `${rg}/providers/Microsoft.KeyVault/vaults/kv`,
      'k',
      `${rg}/providers/Microsoft.KeyVault/vaults/kv/keys/k`,
    ],
    [
      'a grandchild under its parent',
      'Microsoft.Sql/servers/databases/transparentDataEncryption',
      `${rg}/providers/Microsoft.Sql/servers/s/databases/d`,
      'current',
      `${rg}/providers/Microsoft.Sql/servers/s/databases/d/transparentDataEncryption/current`,
    ],
    [
      'an extension type on the resource it extends',
      'Microsoft.Insights/diagnosticSettings',
      `${rg}/providers/Microsoft.KeyVault/vaults/kv`,
      'audit',
      `${rg}/providers/Microsoft.KeyVault/vaults/kv/providers/Microsoft.Insights/diagnosticSettings/audit`,
    ],
    [
      'a trailing slash of the scope is dropped',
      'Microsoft.Authorization/roleAssignments',
      '/subscriptions/s/',
      'g',
      '/subscriptions/s/providers/Microsoft.Authorization/roleAssignments/g',
    ],
  ])('%s', (_case, type, scope, name, id) => {
    expect(armId(type, scope, name)).toBe(id);
  });

  test('every kind builds the id its type implies', () => {
    expect(
      vaultKeyKind.id({
        vaultId: `${rg}/providers/Microsoft.KeyVault/vaults/kv`,
        name: 'k',
        keySize: 3072,
        rotation: {} as never,
      }),
    ).toBe(`${rg}/providers/Microsoft.KeyVault/vaults/kv/keys/k`);
    expect(sqlTdeKind.id({ databaseId: `${rg}/providers/Microsoft.Sql/servers/s/databases/d` })).toBe(
      `${rg}/providers/Microsoft.Sql/servers/s/databases/d/transparentDataEncryption/current`,
    );
  });

  test('a diff written as data names the fields that differ, in order', () => {
    expect(fieldsThatDiffer({ kty: true, keySize: false, uri: true })).toEqual(['kty', 'uri']);
    expect(fieldsThatDiffer({ kty: false })).toEqual([]);
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
    const key = { vaultId: `${RG}/kv`, name: 'tde-key', keySize: 3072 as const, rotation: ROTATION };
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

describe('key rotation policy', () => {
  const key = {
    vaultId: `${RG}/providers/Microsoft.KeyVault/vaults/kv-acme`,
    name: 'tde-key',
    keySize: 3072 as const,
    rotation: ROTATION,
  };
  const withPolicy = (rotationPolicy: unknown): ArmBody => ({
    properties: {
      kty: 'RSA',
      keySize: 3072,
      keyUriWithVersion: 'https://kv-acme.vault.azure.net/keys/tde-key/abc',
      rotationPolicy,
    },
  });
  test('the create body carries the policy and a first expiry counted from now', () => {
    const now = new Date('2027-01-01T00:00:00Z');
    const body = vaultKeyKind.create(key, now) as { properties: { attributes: { exp: number }; rotationPolicy: unknown } };
    expect(body.properties.attributes.exp).toBe(Date.parse('2028-12-31T00:00:00Z') / 1000);
    expect(body.properties.rotationPolicy).toEqual({
      attributes: { expiryTime: 'P2Y' },
      lifetimeActions: [
        { trigger: { timeAfterCreate: 'P1Y' }, action: { type: 'rotate' } },
        { trigger: { timeBeforeExpiry: 'P30D' }, action: { type: 'notify' } },
      ],
    });
  });
  test.each<[string, unknown, boolean]>([
    ['as written', rotationPolicyBody(ROTATION), true],
    [
      'as Key Vault returns it: capitalised actions, read-only dates, other order',
      {
        attributes: { expiryTime: 'P2Y', created: 1, updated: 2 },
        lifetimeActions: [
          { trigger: { timeBeforeExpiry: 'P30D' }, action: { type: 'Notify' } },
          { trigger: { timeAfterCreate: 'P1Y', timeBeforeExpiry: null }, action: { type: 'Rotate' } },
        ],
      },
      true,
    ],
    ['the same length in other units', { ...rotationPolicyBody(ROTATION), attributes: { expiryTime: 'P730D' } }, true],
    ['removed', undefined, false],
    ['no actions left', { attributes: { expiryTime: 'P2Y' }, lifetimeActions: [] }, false],
    ['rotation slowed down by hand', rotationPolicyBody({ ...ROTATION, rotateAfter: 'P18M' }), false],
    [
      'notify only',
      {
        attributes: { expiryTime: 'P2Y' },
        lifetimeActions: [{ trigger: { timeBeforeExpiry: 'P30D' }, action: { type: 'notify' } }],
      },
      false,
    ],
  ])('policy %s', (_name, policy, ok) => {
    expect(normalRotationPolicy(policy) === normalRotationPolicy(rotationPolicyBody(ROTATION))).toBe(ok);
    const finding = vaultKeyKind.findings?.(key, withPolicy(policy));
    if (ok) expect(finding).toBeUndefined();
    else {
      expect(finding).toBeInstanceOf(PlatformError);
      expect(finding).toMatchObject({
        reason: 'KeyRotationPolicyDiffers',
        message: expect.stringContaining('az keyvault key rotation-policy update'),
      });
    }
  });
  test('a policy difference is a finding, never a write: ARM cannot change an existing key', () => {
    expect(vaultKeyKind.diff(key, withPolicy(undefined))).toEqual([]);
    expect(vaultKeyKind.update).toBeUndefined();
  });
  test('the current version, its creation and expiry, read from the key', () => {
    const observed: ArmBody = {
      properties: {
        keyUriWithVersion: 'https://kv-acme.vault.azure.net/keys/tde-key/0123456789abcdef0123456789abcdef',
        attributes: { created: 1_800_000_000, exp: 1_863_072_000 },
      },
    };
    expect(keyVersionOf(observed)).toEqual({
      version: '0123456789abcdef0123456789abcdef',
      keyUriWithVersion: 'https://kv-acme.vault.azure.net/keys/tde-key/0123456789abcdef0123456789abcdef',
      createdAt: new Date(1_800_000_000_000),
      expiresAt: new Date(1_863_072_000_000),
    });
    expect(keyVersionOf(undefined)).toBeUndefined();
  });
});

describe('SQL auditing and Defender for SQL', () => {
  const server = { serverId: `${RG}/providers/Microsoft.Sql/servers/sql-acme` };
  const policy = (o: Record<string, unknown> = {}): ArmBody => ({
    properties: {
      state: 'Enabled',
      isAzureMonitorTargetEnabled: true,
      auditActionsAndGroups: [...SQL_AUDIT_ACTION_GROUPS],
      retentionDays: 0,
      storageEndpoint: '',
      ...o,
    },
  });
  test.each<[string, ArmBody, string[]]>([
    ['as written', policy(), []],
    [
      'groups in another order, one added by someone else',
      policy({ auditActionsAndGroups: ['DBCC_GROUP', ...[...SQL_AUDIT_ACTION_GROUPS].reverse()] }),
      [],
    ],
    ['auditing disabled by hand', policy({ state: 'Disabled' }), ['state']],
    [
      'sent to storage only',
      policy({ isAzureMonitorTargetEnabled: false, storageEndpoint: 'https://x.blob.core.windows.net' }),
      ['isAzureMonitorTargetEnabled'],
    ],
    ['logins no longer audited', policy({ auditActionsAndGroups: ['BATCH_COMPLETED_GROUP'] }), ['auditActionsAndGroups']],
    [
      'a new server (Azure’s default)',
      { properties: { state: 'Disabled', auditActionsAndGroups: [] } },
      ['state', 'isAzureMonitorTargetEnabled', 'auditActionsAndGroups'],
    ],
  ])('auditing %s', (_name, observed, fields) => {
    expect(sqlServerAuditingKind.diff(server, observed)).toEqual(fields);
  });
  test('auditing is fixed with a PUT of the whole policy', () => {
    expect(sqlServerAuditingKind.update?.(server, policy({ state: 'Disabled' }), ['state'])).toEqual({
      method: 'PUT',
      body: {
        properties: { state: 'Enabled', isAzureMonitorTargetEnabled: true, auditActionsAndGroups: [...SQL_AUDIT_ACTION_GROUPS] },
      },
    });
    expect(sqlServerAuditingKind.id(server)).toBe(`${server.serverId}/auditingSettings/default`);
  });
  test.each<[string, string | undefined, string[], 'Enabled' | 'Disabled' | undefined]>([
    ['enabled', 'Enabled', [], 'Enabled'],
    ['turned off by hand', 'Disabled', ['state'], 'Disabled'],
    ['never configured (New)', 'New', ['state'], 'Disabled'],
  ])('Defender %s', (_name, state, fields, shown) => {
    const observed = { properties: { state } };
    expect(sqlThreatProtectionKind.diff(server, observed)).toEqual(fields);
    expect(threatDetectionState(observed)).toBe(shown);
  });
  test('the protector’s key version is the last segment of its uri, for Key Vault keys only', () => {
    expect(
      protectorKeyVersion({ properties: { serverKeyType: 'AzureKeyVault', uri: 'https://kv.vault.azure.net/keys/k/0123' } }),
    ).toBe('0123');
    expect(protectorKeyVersion({ properties: { serverKeyType: 'ServiceManaged' } })).toBeUndefined();
  });
});

describe('audit destinations', () => {
  const workspaceId = '/subscriptions/s/resourceGroups/platform/providers/Microsoft.OperationalInsights/workspaces/audit';
  const setting = {
    scopeId: `${RG}/providers/Microsoft.KeyVault/vaults/kv-acme`,
    name: 'tenant-operator-audit',
    workspaceId,
    categories: ['AuditEvent'],
  };
  const observed = (o: Record<string, unknown> = {}): ArmBody => ({
    properties: {
      workspaceId: workspaceId.toLowerCase(),
      logs: [{ category: 'AuditEvent', categoryGroup: null, enabled: true, retentionPolicy: { enabled: false, days: 0 } }],
      metrics: [],
      ...o,
    },
  });
  test.each<[string, ArmBody, string[]]>([
    ['as Azure returns it (id in other case, retention off)', observed(), []],
    ['sent elsewhere', observed({ workspaceId: `${workspaceId}2` }), ['workspaceId']],
    ['category turned off', observed({ logs: [{ category: 'AuditEvent', enabled: false }] }), ['logs']],
    ['category removed', observed({ logs: [] }), ['logs']],
  ])('diagnostic setting %s', (_name, o, fields) => {
    expect(diagnosticSettingKind.diff(setting, o)).toEqual(fields);
  });
  test('a diagnostic setting is an extension of the resource whose logs it sends, and sets no retention', () => {
    expect(diagnosticSettingKind.id(setting)).toBe(
      `${setting.scopeId}/providers/Microsoft.Insights/diagnosticSettings/tenant-operator-audit`,
    );
    expect(JSON.stringify(diagnosticSettingKind.create(setting))).not.toContain('retentionPolicy');
  });
  const check = { workspaceId, table: 'AzureDiagnostics', minimumDays: 180 };
  test.each<[string, ArmBody | undefined, number | undefined, string | undefined]>([
    ['180 days interactive', { properties: { retentionInDays: 180, totalRetentionInDays: 180 } }, 180, undefined],
    [
      '90 interactive, two years in total (long-term)',
      { properties: { retentionInDays: 90, totalRetentionInDays: 730 } },
      730,
      undefined,
    ],
    [
      'the workspace default of 30 days',
      { properties: { retentionInDays: 30, totalRetentionInDays: 30 } },
      30,
      'AuditRetentionTooShort',
    ],
    ['179 days', { properties: { retentionInDays: 179, totalRetentionInDays: 179 } }, 179, 'AuditRetentionTooShort'],
    ['no such workspace or table', undefined, undefined, 'AuditWorkspaceNotFound'],
  ])('audit table keeping %s', (_name, o, days, reason) => {
    expect(tableRetentionDays(o)).toBe(days);
    const finding = auditRetentionKind.findings?.(check, o);
    if (reason === undefined) expect(finding).toBeUndefined();
    else expect(finding).toMatchObject({ reason, constructor: PlatformError });
  });
  test('the audit table is the platform’s: read, never created or written', () => {
    expect(auditRetentionKind.readOnly).toBe(true);
    expect(auditRetentionKind.update).toBeUndefined();
  });
});
