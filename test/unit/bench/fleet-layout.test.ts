/**
 * The benchmark's default fleet fits Azure's default quotas at the 3,000 tenants: placed the
 * way src/tenant/placement.ts places them (first shard for the environment with room, shared
 * servers filled to 500), every tenant finds a subscription, no subscription passes 980 resource
 * groups, 4,000 role assignments or 20 servers in a region, and no server passes 500 databases.
 */
import { describe, expect, test } from '@jest/globals';
import { fleetLayout, fleetTenantShape } from '../../../bench/fleet-layout.ts';
import { type Shard, shardsFor } from '../../../src/tenant/placement.ts';

/** Resource groups the emulator seeds in its own subscription (platform network, AKS, audit). */
const SEEDED_GROUPS = 5;
const MAX_DATABASES_PER_SERVER = 500;

function placeFleet(n: number, subscriptions: number) {
  const layout = fleetLayout('shared', subscriptions, 3);
  const usage = new Map(layout.shards.map((s, i) => [s.id, { groups: i === 0 ? SEEDED_GROUPS : 0, roles: 0, tenants: 0 }]));
  const pools = new Map<string, number[]>();
  let refused = 0;
  for (let i = 0; i < n; i++) {
    const { region, environment } = fleetTenantShape(i, layout.regions);
    const shard = shardsFor(layout.shards as Shard[], region, environment).find((s) => {
      const u = usage.get(s.id)!;
      const newPool = !pools.has(`${s.id}/${region}/${environment}`);
      return u.groups + 1 + (newPool ? 1 : 0) <= s.limits.resourceGroups && u.roles + 2 <= s.limits.roleAssignments;
    });
    if (shard === undefined) {
      refused++;
      continue;
    }
    const u = usage.get(shard.id)!;
    const key = `${shard.id}/${region}/${environment}`;
    // A new pool takes its resource group (tenancy-sql-<region>-<env>) in the subscription.
    if (!pools.has(key)) u.groups++;
    const pool = pools.get(key) ?? [];
    const server = pool.findIndex((dbs) => dbs < MAX_DATABASES_PER_SERVER);
    if (server < 0) pool.push(1);
    else pool[server] = (pool[server] ?? 0) + 1;
    pools.set(key, pool);
    u.groups++;
    u.roles += 2;
    u.tenants++;
  }
  return { layout, usage, pools, refused };
}

describe('the shared fleet layout', () => {
  test('3,000 tenants over 3 regions and 4 subscriptions fit Azure’s default quotas, all four used', () => {
    const { layout, usage, pools, refused } = placeFleet(3000, 4);
    expect(layout.regions).toHaveLength(3);
    expect(refused).toBe(0);
    for (const [, u] of usage) {
      expect(u.groups).toBeLessThanOrEqual(980);
      expect(u.roles).toBeLessThanOrEqual(4000);
      expect(u.tenants).toBeGreaterThan(0);
    }
    for (const [, servers] of pools) {
      expect(servers.length).toBeLessThanOrEqual(20);
      expect(Math.max(...servers)).toBeLessThanOrEqual(MAX_DATABASES_PER_SERVER);
    }
  });

  test.each([
    ['the CI smoke run (5 tenants, 2 subscriptions)', 5, 2, 2],
    ['a small run (100 tenants, 4 subscriptions): one subscription per environment', 100, 4, 3],
  ])('%s spreads over several subscriptions', (_name, n, subscriptions, used) => {
    const { usage, refused } = placeFleet(n, subscriptions);
    expect(refused).toBe(0);
    expect([...usage.values()].filter((u) => u.tenants > 0)).toHaveLength(used);
  });

  test('the dedicated layout is the old one: one subscription, eight regions, the raise named', () => {
    const layout = fleetLayout('dedicated', 4, 3);
    expect(layout.subscriptionIds).toHaveLength(1);
    expect(layout.regions).toHaveLength(8);
    expect(layout.shards[0]?.limits.sqlServersPerRegion).toBe(250);
    expect(layout.placementConfig.defaultIsolation).toBe('Dedicated');
  });
});
