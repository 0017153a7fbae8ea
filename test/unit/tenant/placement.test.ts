import { describe, expect, test } from '@jest/globals';
import type { Tenant, TenantStatus } from '../../../src/api/v1alpha1/tenant.ts';
import { NAME_RULES, tenantAzureNames } from '../../../src/tenant/azure-names.ts';
import { parseTenant } from '../../../src/tenant/parse.ts';
import {
  decidePlacement,
  type PlacementInput,
  provisionedBeforePlacement,
  type SharedServerObservation,
  type SqlPlacement,
  sharedPoolResourceGroup,
  sharedServerName,
} from '../../../src/tenant/placement.ts';
import { tenant as tenantFixture } from '../../harness/fixtures.ts';

const NOW = new Date('2026-12-03T10:00:00.000Z');
const SUB = '00000000-0000-0000-0000-000000000001';
const NAMES = tenantAzureNames('acme', 'production');

function tenantWith(isolation?: 'Shared' | 'Dedicated', status?: TenantStatus): Pick<Tenant, 'spec' | 'status'> {
  const parsed = parseTenant(
    tenantFixture('acme', { environment: 'Production', replicas: 2, ...(isolation ? { isolation } : {}) }),
  );
  if (!parsed.ok) throw new Error(parsed.message);
  return { spec: parsed.tenant.spec, ...(status ? { status } : {}) };
}

const server = (index: number, databases: number, holdsTenantDatabase = false): SharedServerObservation => ({
  index,
  name: sharedServerName('westeurope', 'Production', index),
  databases,
  holdsTenantDatabase,
});

const recordedShared: SqlPlacement = {
  isolation: 'Shared',
  subscriptionId: SUB,
  sqlServer: { resourceGroup: 'tenancy-sql-westeurope-prd', name: sharedServerName('westeurope', 'Production', 1), shared: true },
  placedAt: '2026-11-01T00:00:00Z',
};

function input(o: Partial<PlacementInput>): PlacementInput {
  return {
    tenant: tenantWith(),
    subscriptionId: SUB,
    names: NAMES,
    defaultIsolation: 'Shared',
    maxDatabasesPerServer: 3,
    now: NOW,
    ...o,
  };
}

describe('decidePlacement', () => {
  test.each([
    {
      name: 'a recorded placement wins over everything',
      in: input({ tenant: tenantWith(undefined, { placement: recordedShared }), pool: [server(1, 3)] }),
      reason: 'PlacedOnSharedServer',
      record: false,
      server: recordedShared.sqlServer.name,
    },
    {
      name: 'a change of spec.isolation on a placed tenant is reported, never acted on',
      in: input({ tenant: tenantWith('Dedicated', { placement: recordedShared }) }),
      reason: 'IsolationChangeNeedsMigration',
      record: false,
      server: recordedShared.sqlServer.name,
    },
    {
      name: 'a tenant provisioned before placement stays on its own server (migration)',
      in: input({ tenant: tenantWith(undefined, { azure: { resourceGroup: NAMES.resourceGroup } }) }),
      reason: 'KeptOnOwnServer',
      record: true,
      server: NAMES.sqlServer,
    },
    {
      name: 'a tenant provisioned before placement stays even when it asks for Shared',
      in: input({ tenant: tenantWith('Shared', { provisionedAt: '2026-01-01T00:00:00Z' }) }),
      reason: 'KeptOnOwnServer',
      record: true,
      server: NAMES.sqlServer,
    },
    {
      name: 'Dedicated by spec gets its own server',
      in: input({ tenant: tenantWith('Dedicated') }),
      reason: 'PlacedOnDedicatedServer',
      record: true,
      server: NAMES.sqlServer,
    },
    {
      name: 'Dedicated by the operator default gets its own server',
      in: input({ defaultIsolation: 'Dedicated' }),
      reason: 'PlacedOnDedicatedServer',
      record: true,
      server: NAMES.sqlServer,
    },
    {
      name: 'Shared by spec overrides a Dedicated default',
      in: input({ tenant: tenantWith('Shared'), defaultIsolation: 'Dedicated', pool: [server(1, 0)] }),
      reason: 'PlacedOnSharedServer',
      record: true,
      server: server(1, 0).name,
    },
    {
      name: 'the first server with room',
      in: input({ pool: [server(1, 3), server(2, 2)] }),
      reason: 'PlacedOnSharedServer',
      record: true,
      server: server(2, 0).name,
    },
    {
      name: 'every observed server full: the next one',
      in: input({ pool: [server(1, 3), server(2, 4)] }),
      reason: 'PlacedOnSharedServer',
      record: true,
      server: server(3, 0).name,
    },
    {
      name: 'the server already holding the tenant’s database (a lost record), full or not',
      in: input({ pool: [server(1, 1), server(2, 3, true)] }),
      reason: 'PlacedOnSharedServer',
      record: true,
      server: server(2, 0).name,
    },
  ])('$name', (c) => {
    const d = decidePlacement(c.in);
    if ('observePool' in d) throw new Error('expected a decision');
    expect(d.reason).toBe(c.reason);
    expect(d.record).toBe(c.record);
    expect(d.placement.sqlServer.name).toBe(c.server);
    expect(d.placement.subscriptionId).toBe(SUB);
  });

  test('a new Shared tenant needs the pool observed first; its placement is in the pool group, shared', () => {
    expect(decidePlacement(input({}))).toEqual({ observePool: true });
    const d = decidePlacement(input({ pool: [] }));
    expect(d).toMatchObject({
      placement: {
        isolation: 'Shared',
        sqlServer: { resourceGroup: 'tenancy-sql-westeurope-prd', name: server(1, 0).name, shared: true },
        placedAt: '2026-12-03T10:00:00Z',
      },
    });
  });

  test('a migrated tenant is marked so, and keeps that reason once recorded', () => {
    const first = decidePlacement(input({ tenant: tenantWith(undefined, { azure: { databaseName: NAMES.sqlDatabase } }) }));
    if ('observePool' in first) throw new Error('expected a decision');
    expect(first.placement).toMatchObject({ isolation: 'Dedicated', migrated: true });
    const again = decidePlacement(input({ tenant: tenantWith(undefined, { placement: first.placement }) }));
    expect(again).toMatchObject({ reason: 'KeptOnOwnServer', record: false });
  });
});

describe('provisionedBeforePlacement', () => {
  test.each([
    { name: 'a new tenant', status: undefined, expected: false },
    { name: 'conditions only (never reached Azure)', status: { conditions: [] }, expected: false },
    { name: 'Azure resources in status', status: { azure: { sqlServerFqdn: 'x.database.windows.net' } }, expected: true },
    {
      name: 'an operation running',
      status: {
        azure: {
          operations: [{ key: 'k', id: 'i', method: 'PUT' as const, url: 'u', kind: 'AsyncOperation' as const, startedAt: 't' }],
        },
      },
      expected: true,
    },
    { name: 'already placed', status: { azure: { resourceGroup: 'rg' }, placement: recordedShared }, expected: false },
  ])('$name', ({ status, expected }) => {
    expect(provisionedBeforePlacement({ status } as Pick<Tenant, 'status'>)).toBe(expected);
  });
});

describe('shared pool names', () => {
  test.each([
    ['westeurope', 'Production', 1],
    ['australiaeast', 'Development', 12],
    ['a'.repeat(40), 'QA', 250],
  ])('%s %s #%d is a valid, globally unique server name', (region, environment, index) => {
    const name = sharedServerName(region, environment, index, 'salt');
    expect(NAME_RULES.sqlServer(name)).toBe(true);
    expect(name).not.toBe(sharedServerName(region, environment, index + 1, 'salt'));
    expect(name).not.toBe(sharedServerName(region, environment, index, 'other'));
    expect(NAME_RULES.resourceGroup(sharedPoolResourceGroup(region, environment))).toBe(true);
  });
});
