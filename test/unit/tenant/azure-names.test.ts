import { describe, expect, test } from '@jest/globals';
import { roleAssignmentName } from '../../../src/azure/kinds/authorization.ts';
import {
  environmentCode,
  federatedCredentialName,
  NAME_RULES,
  slug,
  type TenantAzureNames,
  tenantAzureNames,
} from '../../../src/tenant/azure-names.ts';

const LONG = 'a-very-long-tenant-name-that-goes-on-and-on-for-a-while-and-then-some-more';

describe('tenantAzureNames', () => {
  test.each<[string, string, string, Partial<TenantAzureNames>]>([
    [
      'short tenant, production',
      'acme',
      'production',
      {
        resourceGroup: 'rg-acme-prd',
        identity: 'id-acme-prd',
        sqlDatabase: 'sqldb-acme-prd',
        tdeKey: 'tde-key',
      },
    ],
    ['qa environment', 'acme', 'qa', { resourceGroup: 'rg-acme-qa', identity: 'id-acme-qa' }],
    ['development environment', 'acme', 'Development', { resourceGroup: 'rg-acme-dev' }],
    ['unknown environment is abbreviated', 'acme', 'perf-lab', { resourceGroup: 'rg-acme-perf' }],
  ])('%s', (_name, tenant, environment, expected) => {
    expect(tenantAzureNames(tenant, environment)).toMatchObject(expected);
  });

  test('a name the charset changes gets a hash, so acme.corp and acme-corp stay apart', () => {
    const dotted = tenantAzureNames('acme.corp', 'production');
    expect(dotted.resourceGroup).toMatch(/^rg-acme-corp-prd-[0-9a-f]{6}$/);
    expect(tenantAzureNames('acme-corp', 'production').resourceGroup).toBe('rg-acme-corp-prd');
  });

  test.each([
    ['short', 'acme'],
    ['exactly 63 chars', 'x'.repeat(63)],
    ['long with hyphens', LONG],
    ['digits first', '42-things'],
    ['hyphen runs and edges', '--a--b--'],
    ['only symbols', '!!!'],
  ])('every name is valid for its resource type: %s', (_name, tenant) => {
    for (const env of ['production', 'qa', 'development', 'some-long-environment-name']) {
      const names = tenantAzureNames(tenant, env);
      expect(NAME_RULES.resourceGroup(names.resourceGroup)).toBe(true);
      expect(NAME_RULES.identity(names.identity)).toBe(true);
      expect(NAME_RULES.keyVault(names.keyVault)).toBe(true);
      expect(NAME_RULES.sqlServer(names.sqlServer)).toBe(true);
      expect(NAME_RULES.sqlDatabase(names.sqlDatabase)).toBe(true);
      expect(names.keyVault.length).toBeLessThanOrEqual(24);
      expect(names.sqlServer.length).toBeLessThanOrEqual(63);
    }
  });

  test('global names carry a stable hash and fit: key vault within 24 characters', () => {
    const names = tenantAzureNames(LONG, 'production');
    expect(names.keyVault).toMatch(/^kv-a-very-lon-prd-[0-9a-f]{6}$/);
    expect(names.keyVault).toHaveLength(24);
    expect(names.sqlServer).toMatch(/^sql-a-very-long-tenant-name-.*-prd-[0-9a-f]{6}$/);
  });

  test('deterministic: same inputs, same names', () => {
    expect(tenantAzureNames('acme', 'qa')).toEqual(tenantAzureNames('acme', 'qa'));
  });

  test('names that truncate to the same prefix still differ', () => {
    const a = tenantAzureNames(`${LONG}-one`, 'production');
    const b = tenantAzureNames(`${LONG}-two`, 'production');
    expect(a.keyVault).not.toBe(b.keyVault);
    expect(a.sqlServer).not.toBe(b.sqlServer);
  });

  test('environments of one tenant never share a global name', () => {
    expect(tenantAzureNames('acme', 'production').keyVault).not.toBe(tenantAzureNames('acme', 'qa').keyVault);
  });

  test('salt changes only the globally unique names', () => {
    const plain = tenantAzureNames('acme', 'production');
    const salted = tenantAzureNames('acme', 'production', { salt: 'subscription-2' });
    expect(salted.keyVault).not.toBe(plain.keyVault);
    expect(salted.sqlServer).not.toBe(plain.sqlServer);
    expect(salted.resourceGroup).toBe(plain.resourceGroup);
  });
});

describe('helpers', () => {
  test.each([
    ['production', 'prd'],
    ['Prod', 'prd'],
    ['QA', 'qa'],
    ['development', 'dev'],
    ['staging', 'stg'],
    ['load-test', 'load'],
    ['', 'env'],
  ])('environmentCode(%j) = %j', (env, code) => {
    expect(environmentCode(env)).toBe(code);
  });

  test.each([
    ['Acme Corp', 'acme-corp'],
    ['--x__y--', 'x-y'],
    ['ÄÖÜ', ''],
  ])('slug(%j) = %j', (input, expected) => {
    expect(slug(input)).toBe(expected);
  });

  test.each([
    ['typical', 'tenant-acme', 'app', 'k8s-tenant-acme-app'],
    ['very long', 'n'.repeat(80), 's'.repeat(80), undefined],
  ])('federatedCredentialName: %s', (_name, ns, sa, expected) => {
    const name = federatedCredentialName(ns, sa);
    if (expected !== undefined) expect(name).toBe(expected);
    expect(NAME_RULES.federatedCredential(name)).toBe(true);
  });

  test('roleAssignmentName is a stable GUID that depends on scope, role and principal', () => {
    const a = roleAssignmentName('/subscriptions/s/rg/x', 'role-1', 'p-1');
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(roleAssignmentName('/SUBSCRIPTIONS/s/rg/x', 'ROLE-1', 'P-1')).toBe(a);
    expect(roleAssignmentName('/subscriptions/s/rg/x', 'role-2', 'p-1')).not.toBe(a);
    expect(roleAssignmentName('/subscriptions/s/rg/x', 'role-1', 'p-2')).not.toBe(a);
  });
});
