import { describe, expect, test } from '@jest/globals';
import type { Tenant, TenantStatus } from '../../../src/api/v1alpha1/tenant.ts';
import { NAME_RULES, tenantAzureNames } from '../../../src/tenant/azure-names.ts';
import { parseTenant } from '../../../src/tenant/parse.ts';
import {
  decidePlacement,
  exceededLimits,
  type PlacementInput,
  provisionedBeforePlacement,
  reachableDatabase,
  type ShardObservation,
  type SharedServerObservation,
  type SqlPlacement,
  shardsFor,
  sharedPoolResourceGroup,
  sharedServerEndpoint,
  sharedServerName,
  subscriptionShards,
  tenantNeeds,
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
  name: sharedServerName('westeurope', 'Production', index, '', SUB),
  databases,
  holdsTenantDatabase,
});

const recordedShared: SqlPlacement = {
  isolation: 'Shared',
  subscriptionId: SUB,
  sqlServer: {
    resourceGroup: 'tenancy-sql-westeurope-prd',
    name: sharedServerName('westeurope', 'Production', 1, '', SUB),
    shared: true,
  },
  placedAt: '2026-11-01T00:00:00Z',
};

const LIMITS = { resourceGroups: 980, sqlServersPerRegion: 20, roleAssignments: 4000 };

/** One shard as observed: its pool, its usage, the servers that exist in the region. */
function shard(
  pool: SharedServerObservation[],
  o: { id?: string; usage?: Partial<ShardObservation['usage']>; limits?: Partial<typeof LIMITS>; poolGroupExists?: boolean } = {},
): ShardObservation {
  return {
    shard: { id: o.id ?? SUB, limits: { ...LIMITS, ...o.limits } },
    usage: { resourceGroups: 10, sqlServersInRegion: pool.length, roleAssignments: 20, ...o.usage },
    existingServers: new Set(pool.filter((s) => s.databases > 0 || s.holdsTenantDatabase).map((s) => s.name)),
    poolGroupExists: o.poolGroupExists ?? true,
    pool,
  };
}

function input(o: Partial<PlacementInput> & { pool?: SharedServerObservation[] }): PlacementInput {
  const { pool, ...rest } = o;
  return {
    tenant: tenantWith(),
    homeSubscriptionId: SUB,
    ownServerExists: false,
    ...(pool ? { shards: [shard(pool)] } : {}),
    names: NAMES,
    defaultIsolation: 'Shared',
    maxDatabasesPerServer: 3,
    now: NOW,
    ...rest,
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
      name: 'a tenant whose status was lost but whose own server exists stays there (migration)',
      in: input({ ownServerExists: true, pool: [server(1, 0)] }),
      reason: 'KeptOnOwnServer',
      record: true,
      server: NAMES.sqlServer,
    },
    {
      name: 'Dedicated by spec gets its own server',
      in: input({ tenant: tenantWith('Dedicated'), pool: [] }),
      reason: 'PlacedOnDedicatedServer',
      record: true,
      server: NAMES.sqlServer,
    },
    {
      name: 'Dedicated by the operator default gets its own server',
      in: input({ defaultIsolation: 'Dedicated', pool: [] }),
      reason: 'PlacedOnDedicatedServer',
      record: true,
      server: NAMES.sqlServer,
    },
    {
      name: 'geo-replicated with no isolation in its spec: its own server (failover groups are per own server)',
      in: input({ geoReplicated: true, pool: [server(1, 0)] }),
      reason: 'PlacedOnDedicatedServer',
      record: true,
      server: NAMES.sqlServer,
    },
    {
      name: 'geo-replicated but Shared by spec: the pool (and a condition says it is not replicated)',
      in: input({ tenant: tenantWith('Shared'), geoReplicated: true, pool: [server(1, 0)] }),
      reason: 'PlacedOnSharedServer',
      record: true,
      server: server(1, 0).name,
    },
    {
      name: 'geo-replicated and already placed on the pool: stays (a live database never moves)',
      in: input({ tenant: tenantWith(undefined, { placement: recordedShared }), geoReplicated: true }),
      reason: 'PlacedOnSharedServer',
      record: false,
      server: recordedShared.sqlServer.name,
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
    if (!('placement' in d)) throw new Error('expected a placement');
    expect(d.reason).toBe(c.reason);
    expect(d.record).toBe(c.record);
    expect(d.placement.sqlServer.name).toBe(c.server);
    expect(d.placement.subscriptionId).toBe(SUB);
  });

  test('a new Shared tenant needs the shards observed first; its placement is in the pool group, shared', () => {
    expect(decidePlacement(input({}))).toEqual({ observeShards: true, isolation: 'Shared' });
    expect(decidePlacement(input({ pool: [], ownServerExists: undefined }))).toEqual({
      observeShards: true,
      isolation: 'Shared',
    });
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
    if (!('placement' in first)) throw new Error('expected a placement');
    expect(first.placement).toMatchObject({ isolation: 'Dedicated', migrated: true });
    const again = decidePlacement(input({ tenant: tenantWith(undefined, { placement: first.placement }) }));
    expect(again).toMatchObject({ reason: 'KeptOnOwnServer', record: false });
  });
});

describe('placement.reason', () => {
  test.each([
    ['geo-replicated, spec silent, Shared default', input({ geoReplicated: true, pool: [] }), 'GeoReplicated'],
    ['geo-replicated, Dedicated by spec', input({ tenant: tenantWith('Dedicated'), geoReplicated: true, pool: [] }), undefined],
    ['geo-replicated, Dedicated default', input({ defaultIsolation: 'Dedicated', geoReplicated: true, pool: [] }), undefined],
    ['not geo-replicated, Dedicated default', input({ defaultIsolation: 'Dedicated', pool: [] }), undefined],
  ] as [string, PlacementInput, string | undefined][])('%s', (_name, given, reason) => {
    const d = decidePlacement(given);
    if (!('placement' in d)) throw new Error('expected a placement');
    expect(d.placement.isolation).toBe('Dedicated');
    expect(d.placement.reason).toBe(reason);
    expect(d.message.includes('geo-replicated')).toBe(reason !== undefined);
  });

  test('a geo-replicated tenant observes the shards as Dedicated (a server in the region is what it needs)', () => {
    expect(decidePlacement(input({ geoReplicated: true, shards: undefined }))).toEqual({
      observeShards: true,
      isolation: 'Dedicated',
    });
  });
});

describe('subscription shards', () => {
  const S2 = '00000000-0000-0000-0000-000000000002';
  const S3 = '00000000-0000-0000-0000-000000000003';
  const full = { sqlServersInRegion: 20 };
  test.each([
    {
      name: 'the first shard with room',
      shards: [shard([server(1, 1)]), shard([], { id: S2 })],
      subscription: SUB,
    },
    {
      name: 'a Shared tenant fits a shard whose servers are at the limit when a server has room (no new server)',
      shards: [shard([server(1, 1)], { usage: full })],
      subscription: SUB,
    },
    {
      name: 'a Shared tenant that would open a server skips a shard at the server limit',
      shards: [shard([server(1, 3)], { usage: full }), shard([], { id: S2 })],
      subscription: S2,
    },
    {
      name: 'resource groups full: the next shard (the pool group counts when it does not exist yet)',
      shards: [shard([server(1, 0)], { usage: { resourceGroups: 979 }, poolGroupExists: false }), shard([], { id: S2 })],
      subscription: S2,
    },
    {
      name: 'role assignments full: the next shard',
      shards: [shard([server(1, 1)], { usage: { roleAssignments: 3999 } }), shard([server(1, 0)], { id: S3 })],
      subscription: S3,
    },
    {
      name: 'a raised limit (quota increase) counts',
      shards: [shard([server(1, 3)], { usage: full, limits: { sqlServersPerRegion: 250 } })],
      subscription: SUB,
    },
    {
      name: 'a database already on a full shard’s server stays there (lost record)',
      shards: [shard([server(1, 3, true)], { usage: { resourceGroups: 980 } }), shard([], { id: S2 })],
      subscription: SUB,
    },
  ])('$name', ({ shards, subscription }) => {
    const d = decidePlacement(input({ shards }));
    if (!('placement' in d)) throw new Error(`expected a placement, got ${JSON.stringify(d)}`);
    expect(d.placement.subscriptionId).toBe(subscription);
  });

  test('every shard full: refused with the limits of each, nothing placed', () => {
    const d = decidePlacement(
      input({ shards: [shard([server(1, 3)], { usage: full }), shard([], { id: S2, usage: { resourceGroups: 980 } })] }),
    );
    expect(d).toMatchObject({ refused: true, reason: 'NoSubscriptionCapacity' });
    if (!('refused' in d)) throw new Error('expected a refusal');
    expect(d.message).toContain(`${SUB} (20/20 SQL servers in westeurope)`);
    expect(d.message).toContain(`${S2} (980/980 resource groups)`);
  });

  test('no shard for the region or environment: refused, saying so', () => {
    expect(decidePlacement(input({ shards: [] }))).toMatchObject({
      refused: true,
      message: expect.stringMatching(/No subscription is configured for region westeurope and environment Production/),
    });
  });

  test('Dedicated needs a server in the region whatever the pool', () => {
    const d = decidePlacement(
      input({ tenant: tenantWith('Dedicated'), shards: [shard([server(1, 0)], { usage: full }), shard([], { id: S2 })] }),
    );
    expect(d).toMatchObject({ placement: { isolation: 'Dedicated', subscriptionId: S2 } });
  });

  test('tenantNeeds and exceededLimits', () => {
    const observed = { poolGroupExists: false, existingServers: new Set(['a']) };
    expect(tenantNeeds('Dedicated', observed, undefined)).toEqual({
      resourceGroups: 1,
      sqlServersInRegion: 1,
      roleAssignments: 2,
    });
    expect(tenantNeeds('Shared', observed, 'A')).toEqual({ resourceGroups: 2, sqlServersInRegion: 0, roleAssignments: 2 });
    expect(tenantNeeds('Shared', { ...observed, poolGroupExists: true }, 'b')).toEqual({
      resourceGroups: 1,
      sqlServersInRegion: 1,
      roleAssignments: 2,
    });
    expect(
      exceededLimits(
        { resourceGroups: 0, sqlServersInRegion: 0, roleAssignments: 0 },
        tenantNeeds('Dedicated', observed, undefined),
        LIMITS,
        'x',
      ),
    ).toEqual([]);
  });

  test('shards: subscriptionId alone is one shard with Azure’s limits; filters by region and environment', () => {
    expect(subscriptionShards({ subscriptionId: SUB, subscriptions: undefined })).toEqual([{ id: SUB, limits: LIMITS }]);
    const configured = [
      { id: SUB, regions: ['westeurope'], limits: LIMITS },
      { id: S2, environments: ['Production' as const], limits: LIMITS },
      { id: S3, limits: LIMITS },
    ];
    expect(shardsFor(configured, 'northeurope', 'QA').map((s) => s.id)).toEqual([S3]);
    expect(shardsFor(configured, 'westeurope', 'Production').map((s) => s.id)).toEqual([SUB, S2, S3]);
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
    // Server names are global DNS names: each subscription's pool has its own.
    expect(sharedServerName(region, environment, index, 'salt', SUB)).not.toBe(
      sharedServerName(region, environment, index, 'salt', '00000000-0000-0000-0000-000000000002'),
    );
    expect(NAME_RULES.resourceGroup(sharedPoolResourceGroup(region, environment))).toBe(true);
  });
});

describe('sharedServerEndpoint: where the tenant reaches a server whose name has no private DNS record', () => {
  const sql = { ip: '10.100.0.7', fqdn: 'sqlpool-westeurope-dev-1-abc123.database.windows.net' };
  test.each<[string, Parameters<typeof sharedServerEndpoint>[0], typeof sql | undefined]>([
    [
      'on a shared server: its own private endpoint',
      { sqlResourceGroup: 'tenancy-sql-westeurope-dev', privateEndpoints: { sql } },
      sql,
    ],
    ['on a server of its own: through private DNS', { privateEndpoints: { sql } }, undefined],
    [
      'on a shared server before its endpoint has an address: nothing yet',
      { sqlResourceGroup: 'tenancy-sql-westeurope-dev' },
      undefined,
    ],
  ])('%s', (_name, facts, expected) => {
    expect(sharedServerEndpoint(facts)).toEqual(expected);
  });
});

describe('reachableDatabase: the database is given to the application once its pods can reach it', () => {
  const sql = { ip: '10.100.0.7', fqdn: 'sqlpool-westeurope-dev-1-abc123.database.windows.net' };
  const database = { databaseHost: sql.fqdn, databaseName: 'sqldb-acme-dev' };
  const known = { host: sql.fqdn, name: 'sqldb-acme-dev' };
  const pool = 'tenancy-sql-westeurope-dev';
  test.each<[string, Parameters<typeof reachableDatabase>[0], boolean, ReturnType<typeof reachableDatabase>]>([
    [
      'shared server, its private endpoint has an address: given',
      { ...database, sqlResourceGroup: pool, privateEndpoints: { sql } },
      true,
      known,
    ],
    [
      'shared server, endpoint not there yet: waits (no rollout before the alias)',
      { ...database, sqlResourceGroup: pool },
      true,
      {},
    ],
    [
      'shared server, region without private endpoints configured: nothing to wait for',
      { ...database, sqlResourceGroup: pool },
      false,
      known,
    ],
    ['a server of its own: reached through private DNS, no wait', database, true, known],
    ['nothing recorded yet', undefined, true, {}],
  ])('%s', (_name, facts, configured, expected) => {
    expect(reachableDatabase(facts, configured)).toEqual(expected);
  });
});
