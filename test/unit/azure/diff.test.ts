import { describe, expect, test } from '@jest/globals';
import { AZURE_TAGS, getOrUndefined, isInProgress, isNotFound, mergeTags, tagsDiffer } from '../../../src/azure/arm.ts';
import {
  diffFederatedCredential,
  diffIdentity,
  type FederatedCredentialDesired,
  type FederatedCredentialObserved,
  type IdentityDesired,
  type IdentityObserved,
} from '../../../src/azure/identity.ts';
import {
  diffVault,
  diffVaultKey,
  type VaultDesired,
  type VaultKeyDesired,
  type VaultKeyObserved,
  type VaultObserved,
} from '../../../src/azure/key-vault.ts';
import { diffResourceGroup, type ResourceGroupDesired, type ResourceGroupObserved } from '../../../src/azure/resource-group.ts';
import {
  diffRoleAssignment,
  type RoleAssignmentDesired,
  type RoleAssignmentObserved,
} from '../../../src/azure/role-assignment.ts';
import {
  type DatabaseDesired,
  type DatabaseObserved,
  diffDatabase,
  diffEncryptionProtector,
  diffEntraAdmin,
  diffEntraOnly,
  diffLongTermRetention,
  diffServerKey,
  diffShortTermRetention,
  diffSqlServer,
  diffTde,
  type EncryptionProtectorObserved,
  type EntraAdminDesired,
  type EntraAdminObserved,
  keepsLongTermBackups,
  type LongTermRetention,
  type SqlServerDesired,
  type SqlServerObserved,
  serverKeyName,
} from '../../../src/azure/sql.ts';

const TAGS = { 'managed-by': 'tenant-operator', 'tenancy.dev-tenant': 'acme' };

// --- fixture builders -------------------------------------------------------------------------

const rgDesired = (o: Partial<ResourceGroupDesired> = {}): ResourceGroupDesired => ({
  name: 'rg-acme-prd',
  location: 'westeurope',
  tags: TAGS,
  ...o,
});
const rgObserved = (o: Partial<ResourceGroupObserved> = {}): ResourceGroupObserved => ({
  id: '/subscriptions/s/resourceGroups/rg-acme-prd',
  name: 'rg-acme-prd',
  location: 'westeurope',
  tags: TAGS,
  provisioningState: 'Succeeded',
  ...o,
});

describe('diffResourceGroup', () => {
  test.each<[string, ResourceGroupObserved, string[]]>([
    ['identical', rgObserved(), []],
    ['location spelled differently is the same', rgObserved({ location: 'West Europe' }), []],
    ['provisioning state is not ours', rgObserved({ provisioningState: 'Deleting', id: 'other' }), []],
    ['foreign tags are left alone', rgObserved({ tags: { ...TAGS, createdBy: 'policy' } }), []],
    ['a tag of ours is missing', rgObserved({ tags: { 'managed-by': 'tenant-operator' } }), ['tags']],
    ['a tag of ours has another value', rgObserved({ tags: { ...TAGS, 'tenancy.dev-tenant': 'other' } }), ['tags']],
    ['marked orphaned', rgObserved({ tags: { ...TAGS, [AZURE_TAGS.orphaned]: 'true' } }), ['tags']],
    ['another region', rgObserved({ location: 'northeurope' }), ['location']],
  ])('%s', (_name, observed, expected) => {
    expect(diffResourceGroup(rgDesired(), observed)).toEqual(expected);
  });
});

describe('not found', () => {
  const err = (statusCode: number, code?: string) => Object.assign(new Error(code), { statusCode, code });
  test.each([
    ['resource missing', err(404, 'ResourceNotFound'), true],
    ['group missing', err(404, 'ResourceGroupNotFound'), true],
    ['parent missing', err(404, 'ParentResourceNotFound'), true],
    ['a provider-specific code', err(404, 'DatabaseDoesNotExist'), true],
    ['no code', err(404), true],
    ['subscription missing is not "gone"', err(404, 'SubscriptionNotFound'), false],
    ['unknown resource type is not "gone"', err(404, 'InvalidResourceType'), false],
    ['forbidden', err(403, 'AuthorizationFailed'), false],
    ['server error', err(500), false],
  ])('isNotFound: %s', (_name, error, expected) => {
    expect(isNotFound(error)).toBe(expected);
  });

  test('getOrUndefined maps only "not found" to undefined', async () => {
    await expect(getOrUndefined(() => Promise.reject(err(404, 'ResourceNotFound')))).resolves.toBeUndefined();
    await expect(getOrUndefined(() => Promise.reject(err(503)))).rejects.toMatchObject({ statusCode: 503 });
    await expect(getOrUndefined(() => Promise.resolve(1))).resolves.toBe(1);
  });
});

describe('tags', () => {
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
    ['Deleting', true],
    ['RegisteringDns', true],
    ['Scaling', true],
    ['Succeeded', false],
    ['Ready', false],
    ['Online', false],
    ['Failed', false],
    [undefined, false],
  ])('isInProgress(%j) = %j', (state, expected) => {
    expect(isInProgress(state)).toBe(expected);
  });
});

const identityDesired: IdentityDesired = { resourceGroup: 'rg', name: 'id-acme-prd', location: 'westeurope', tags: TAGS };
const identityObserved = (o: Partial<IdentityObserved> = {}): IdentityObserved => ({
  id: 'x',
  name: 'id-acme-prd',
  location: 'westeurope',
  tags: TAGS,
  principalId: 'p',
  clientId: 'c',
  tenantId: 't',
  ...o,
});

describe('diffIdentity', () => {
  test.each<[string, IdentityObserved, string[]]>([
    ['identical', identityObserved(), []],
    ['server-filled ids are ignored', identityObserved({ principalId: undefined, clientId: 'other' }), []],
    ['tags', identityObserved({ tags: {} }), ['tags']],
    ['location', identityObserved({ location: 'eastus' }), ['location']],
  ])('%s', (_name, observed, expected) => {
    expect(diffIdentity(identityDesired, observed)).toEqual(expected);
  });
});

const ficDesired: FederatedCredentialDesired = {
  resourceGroup: 'rg',
  identityName: 'id',
  name: 'k8s-ns-app',
  issuer: 'https://oidc/',
  subject: 'system:serviceaccount:ns:app',
  audiences: ['api://AzureADTokenExchange'],
};
const ficObserved = (o: Partial<FederatedCredentialObserved> = {}): FederatedCredentialObserved => ({
  name: 'k8s-ns-app',
  issuer: 'https://oidc/',
  subject: 'system:serviceaccount:ns:app',
  audiences: ['api://AzureADTokenExchange'],
  ...o,
});

describe('diffFederatedCredential', () => {
  test.each<[string, FederatedCredentialObserved, string[]]>([
    ['identical', ficObserved(), []],
    ['another issuer (cluster rebuilt)', ficObserved({ issuer: 'https://oidc2/' }), ['issuer']],
    ['another service account', ficObserved({ subject: 'system:serviceaccount:ns:other' }), ['subject']],
    ['an extra audience', ficObserved({ audiences: ['api://AzureADTokenExchange', 'x'] }), ['audiences']],
    ['no audience', ficObserved({ audiences: [] }), ['audiences']],
  ])('%s', (_name, observed, expected) => {
    expect(diffFederatedCredential(ficDesired, observed)).toEqual(expected);
  });
});

const vaultDesired = (o: Partial<VaultDesired> = {}): VaultDesired => ({
  resourceGroup: 'rg',
  name: 'kv-acme-prd-abcdef',
  location: 'westeurope',
  tags: TAGS,
  tenantId: '72F988BF-0000-4000-8000-00000000D1E7',
  publicNetworkAccess: false,
  ...o,
});
const vaultObserved = (o: Partial<VaultObserved> = {}): VaultObserved => ({
  id: 'x',
  name: 'kv-acme-prd-abcdef',
  location: 'westeurope',
  tags: TAGS,
  vaultUri: 'https://kv-acme-prd-abcdef.vault.azure.net/',
  provisioningState: 'Succeeded',
  tenantId: '72f988bf-0000-4000-8000-00000000d1e7',
  skuName: 'standard',
  enableRbacAuthorization: true,
  enableSoftDelete: true,
  enablePurgeProtection: true,
  softDeleteRetentionInDays: 90,
  publicNetworkAccess: 'Disabled',
  networkDefaultAction: 'Deny',
  networkBypass: 'AzureServices',
  ...o,
});

describe('diffVault', () => {
  test.each<[string, VaultDesired, VaultObserved, string[]]>([
    ['identical (tenant id compared case-insensitively)', vaultDesired(), vaultObserved(), []],
    [
      'server-filled fields are ignored',
      vaultDesired(),
      vaultObserved({ vaultUri: undefined, provisioningState: 'RegisteringDns', skuName: 'premium' }),
      [],
    ],
    [
      'access policies instead of RBAC',
      vaultDesired(),
      vaultObserved({ enableRbacAuthorization: false }),
      ['enableRbacAuthorization'],
    ],
    ['purge protection off', vaultDesired(), vaultObserved({ enablePurgeProtection: false }), ['enablePurgeProtection']],
    ['soft delete off', vaultDesired(), vaultObserved({ enableSoftDelete: false }), ['enableSoftDelete']],
    ['public access enabled by hand', vaultDesired(), vaultObserved({ publicNetworkAccess: 'Enabled' }), ['publicNetworkAccess']],
    ['public access wanted', vaultDesired({ publicNetworkAccess: true }), vaultObserved(), ['publicNetworkAccess']],
    ['network allows all', vaultDesired(), vaultObserved({ networkDefaultAction: 'Allow' }), ['networkAcls']],
    ['trusted services not let through', vaultDesired(), vaultObserved({ networkBypass: 'None' }), ['networkAcls']],
    ['another directory', vaultDesired({ tenantId: 'other' }), vaultObserved(), ['tenantId']],
    [
      'several at once',
      vaultDesired(),
      vaultObserved({ tags: {}, enablePurgeProtection: false, networkDefaultAction: 'Allow' }),
      ['tags', 'enablePurgeProtection', 'networkAcls'],
    ],
  ])('%s', (_name, desired, observed, expected) => {
    expect(diffVault(desired, observed)).toEqual(expected);
  });
});

const keyDesired: VaultKeyDesired = { resourceGroup: 'rg', vaultName: 'kv', name: 'tde-key', kty: 'RSA', keySize: 3072 };
const keyObserved = (o: Partial<VaultKeyObserved> = {}): VaultKeyObserved => ({
  name: 'tde-key',
  kty: 'RSA',
  keySize: 3072,
  enabled: true,
  keyUri: 'https://kv.vault.azure.net/keys/tde-key',
  keyUriWithVersion: 'https://kv.vault.azure.net/keys/tde-key/0123',
  version: '0123',
  ...o,
});

describe('diffVaultKey', () => {
  test.each<[string, VaultKeyObserved, string[]]>([
    ['identical', keyObserved(), []],
    ['a new version is not a difference', keyObserved({ version: '4567', keyUriWithVersion: 'x/4567' }), []],
    ['disabled is readiness, not a diff', keyObserved({ enabled: false }), []],
    ['2048 bits', keyObserved({ keySize: 2048 }), ['keySize']],
    ['HSM key', keyObserved({ kty: 'RSA-HSM' }), ['kty']],
  ])('%s', (_name, observed, expected) => {
    expect(diffVaultKey(keyDesired, observed)).toEqual(expected);
  });
});

const roleDesired: RoleAssignmentDesired = {
  scope: '/subscriptions/s/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv',
  role: '4633458b-17de-408a-b874-0445c86b69e6',
  principalId: 'AAAA',
  principalType: 'ServicePrincipal',
};

describe('diffRoleAssignment', () => {
  const role = '/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions/4633458b-17de-408a-b874-0445c86b69e6';
  test.each<[string, RoleAssignmentObserved, string[]]>([
    ['identical', { name: 'n', roleDefinitionId: role, principalId: 'aaaa' }, []],
    [
      'tenant-scoped role id',
      {
        name: 'n',
        roleDefinitionId: '/providers/Microsoft.Authorization/roleDefinitions/4633458B-17DE-408A-B874-0445C86B69E6',
        principalId: 'AAAA',
      },
      [],
    ],
    [
      'another role',
      { name: 'n', roleDefinitionId: role.replace('4633458b', '00000000'), principalId: 'AAAA' },
      ['roleDefinitionId'],
    ],
    ['another principal', { name: 'n', roleDefinitionId: role, principalId: 'BBBB' }, ['principalId']],
  ])('%s', (_name, observed, expected) => {
    expect(diffRoleAssignment('s', roleDesired, observed)).toEqual(expected);
  });
});

const admin: EntraAdminDesired = { login: 'sql-admins', objectId: 'ABCD', tenantId: 'T1', principalType: 'Group' };
const serverDesired: SqlServerDesired = {
  resourceGroup: 'rg',
  name: 'sql-acme',
  location: 'westeurope',
  tags: TAGS,
  entraAdmin: admin,
};
const serverObserved = (o: Partial<SqlServerObserved> = {}): SqlServerObserved => ({
  id: 'x',
  name: 'sql-acme',
  location: 'westeurope',
  tags: TAGS,
  state: 'Ready',
  fullyQualifiedDomainName: 'sql-acme.database.windows.net',
  identityType: 'SystemAssigned',
  principalId: 'p',
  minimalTlsVersion: '1.2',
  publicNetworkAccess: 'Disabled',
  ...o,
});

describe('diffSqlServer', () => {
  test.each<[string, SqlServerObserved, string[]]>([
    ['identical', serverObserved(), []],
    [
      'server-filled fields are ignored',
      serverObserved({ state: 'Creating', fullyQualifiedDomainName: undefined, principalId: 'q' }),
      [],
    ],
    ['system and user identity both', serverObserved({ identityType: 'SystemAssigned,UserAssigned' }), []],
    ['no system identity', serverObserved({ identityType: 'UserAssigned' }), ['identity']],
    ['no identity at all', serverObserved({ identityType: undefined }), ['identity']],
    ['TLS 1.0 allowed', serverObserved({ minimalTlsVersion: '1.0' }), ['minimalTlsVersion']],
    ['no TLS minimum', serverObserved({ minimalTlsVersion: 'None' }), ['minimalTlsVersion']],
    ['public access enabled', serverObserved({ publicNetworkAccess: 'Enabled' }), ['publicNetworkAccess']],
    ['orphan mark', serverObserved({ tags: { ...TAGS, [AZURE_TAGS.orphaned]: 'true' } }), ['tags']],
  ])('%s', (_name, observed, expected) => {
    expect(diffSqlServer(serverDesired, observed)).toEqual(expected);
  });
});

describe('Entra admin and Entra-only', () => {
  const base: EntraAdminObserved = { login: 'sql-admins', sid: 'abcd', tenantId: 't1', administratorType: 'ActiveDirectory' };
  test.each<[string, EntraAdminObserved, string[]]>([
    ['identical (ids case-insensitive)', base, []],
    ['another group', { ...base, sid: 'ffff' }, ['sid']],
    ['renamed', { ...base, login: 'dbas' }, ['login']],
    ['another directory', { ...base, tenantId: 't2' }, ['tenantId']],
  ])('diffEntraAdmin: %s', (_name, observed, expected) => {
    expect(diffEntraAdmin(admin, observed)).toEqual(expected);
  });

  test.each([
    ['on', { azureADOnlyAuthentication: true }, []],
    ['off', { azureADOnlyAuthentication: false }, ['azureADOnlyAuthentication']],
    ['never set', undefined, ['azureADOnlyAuthentication']],
  ])('diffEntraOnly: %s', (_name, observed, expected) => {
    expect(diffEntraOnly(observed)).toEqual(expected);
  });
});

describe('customer-managed key', () => {
  const uri = 'https://kv-acme.vault.azure.net/keys/tde-key/0123456789abcdef0123456789abcdef';
  test('serverKeyName is <vault>_<key>_<version>', () => {
    expect(serverKeyName(uri)).toBe('kv-acme_tde-key_0123456789abcdef0123456789abcdef');
    expect(() => serverKeyName('https://kv-acme.vault.azure.net/keys/tde-key')).toThrow('not a versioned');
  });

  test.each([
    ['identical', { name: 'k', serverKeyType: 'AzureKeyVault', uri }, []],
    ['another version', { name: 'k', serverKeyType: 'AzureKeyVault', uri: `${uri.slice(0, -1)}0` }, ['uri']],
    ['service managed', { name: 'k', serverKeyType: 'ServiceManaged', uri: undefined }, ['serverKeyType', 'uri']],
  ])('diffServerKey: %s', (_name, observed, expected) => {
    expect(diffServerKey(uri, observed)).toEqual(expected);
  });

  const key = serverKeyName(uri);
  test.each<[string, EncryptionProtectorObserved, string[]]>([
    ['protected by our key, rotating', { serverKeyName: key, serverKeyType: 'AzureKeyVault', autoRotationEnabled: true }, []],
    [
      'the default service-managed key',
      { serverKeyName: 'ServiceManaged', serverKeyType: 'ServiceManaged', autoRotationEnabled: false },
      ['serverKeyType', 'serverKeyName', 'autoRotationEnabled'],
    ],
    [
      'an older key version',
      { serverKeyName: `${key}x`, serverKeyType: 'AzureKeyVault', autoRotationEnabled: true },
      ['serverKeyName'],
    ],
    [
      'no auto rotation',
      { serverKeyName: key, serverKeyType: 'AzureKeyVault', autoRotationEnabled: false },
      ['autoRotationEnabled'],
    ],
  ])('diffEncryptionProtector: %s', (_name, observed, expected) => {
    expect(diffEncryptionProtector(key, observed)).toEqual(expected);
  });
});

const dbDesired = (o: Partial<DatabaseDesired> = {}): DatabaseDesired => ({
  resourceGroup: 'rg',
  serverName: 'sql',
  name: 'db',
  location: 'westeurope',
  tags: TAGS,
  sku: { name: 'GP_Gen5', tier: 'GeneralPurpose', capacity: 2 },
  backupStorageRedundancy: 'Zone',
  ...o,
});
const dbObserved = (o: Partial<DatabaseObserved> = {}): DatabaseObserved => ({
  id: 'x',
  name: 'db',
  location: 'westeurope',
  tags: TAGS,
  status: 'Online',
  sku: { name: 'GP_Gen5', tier: 'GeneralPurpose', capacity: 2 },
  requestedBackupStorageRedundancy: 'Zone',
  earliestRestoreDate: new Date(0),
  ...o,
});

describe('diffDatabase', () => {
  test.each<[string, DatabaseDesired, DatabaseObserved, string[]]>([
    ['identical', dbDesired(), dbObserved(), []],
    ['server-filled fields are ignored', dbDesired(), dbObserved({ status: 'Scaling', earliestRestoreDate: undefined }), []],
    [
      'capacity left to Azure',
      dbDesired({ sku: { name: 'GP_Gen5', tier: 'GeneralPurpose' } }),
      dbObserved({ sku: { name: 'GP_Gen5', tier: 'GeneralPurpose', capacity: 4 } }),
      [],
    ],
    ['scale up', dbDesired({ sku: { name: 'GP_Gen5', tier: 'GeneralPurpose', capacity: 4 } }), dbObserved(), ['sku']],
    ['another tier', dbDesired({ sku: { name: 'BC_Gen5', tier: 'BusinessCritical', capacity: 2 } }), dbObserved(), ['sku']],
    ['no SKU reported', dbDesired(), dbObserved({ sku: undefined }), ['sku']],
    [
      'geo-redundant backups where zone is wanted',
      dbDesired(),
      dbObserved({ requestedBackupStorageRedundancy: 'Geo' }),
      ['backupStorageRedundancy'],
    ],
    [
      'tags and SKU',
      dbDesired({ tags: { ...TAGS, tier: 'large' } }),
      dbObserved({ sku: { name: 'S0', tier: 'Standard' } }),
      ['tags', 'sku'],
    ],
  ])('%s', (_name, desired, observed, expected) => {
    expect(diffDatabase(desired, observed)).toEqual(expected);
  });

  test.each([
    ['enabled', { state: 'Enabled' }, []],
    ['disabled', { state: 'Disabled' }, ['state']],
    ['unknown', undefined, ['state']],
  ])('diffTde: %s', (_name, observed, expected) => {
    expect(diffTde(observed)).toEqual(expected);
  });
});

describe('backup retention', () => {
  test.each([
    ['identical', { retentionDays: 14, diffBackupIntervalInHours: 12 as const }, []],
    ['the default 7 days', { retentionDays: 7, diffBackupIntervalInHours: 12 as const }, ['retentionDays']],
    ['daily differentials', { retentionDays: 14, diffBackupIntervalInHours: 24 as const }, ['diffBackupIntervalInHours']],
    ['none', undefined, ['retentionDays', 'diffBackupIntervalInHours']],
  ])('diffShortTermRetention: %s', (_name, observed, expected) => {
    expect(diffShortTermRetention({ retentionDays: 14, diffBackupIntervalInHours: 12 }, observed)).toEqual(expected);
  });

  const ltr = (o: Partial<LongTermRetention> = {}): LongTermRetention => ({
    weeklyRetention: 'P12W',
    monthlyRetention: 'PT0S',
    yearlyRetention: 'PT0S',
    weekOfYear: 1,
    ...o,
  });
  test.each([
    ['identical', ltr(), []],
    ['nothing kept', ltr({ weeklyRetention: 'PT0S' }), ['weeklyRetention']],
    ['monthly too', ltr({ monthlyRetention: 'P12M' }), ['monthlyRetention']],
  ])('diffLongTermRetention: %s', (_name, observed, expected) => {
    expect(diffLongTermRetention(ltr(), observed)).toEqual(expected);
  });

  test.each([
    ['weekly', ltr(), true],
    ['yearly only', ltr({ weeklyRetention: 'PT0S', yearlyRetention: 'P5Y' }), true],
    ['all zero', ltr({ weeklyRetention: 'PT0S' }), false],
    ['zero weeks spelled P0W', ltr({ weeklyRetention: 'P0W' }), false],
    ['no policy', undefined, false],
  ])('keepsLongTermBackups: %s', (_name, policy, expected) => {
    expect(keepsLongTermBackups(policy)).toBe(expected);
  });
});
