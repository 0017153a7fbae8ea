/**
 * Where a tenant's database lives (issue #15): on a shared SQL server of its subscription, region
 * and environment (Shared, the default), or on a server of its own (Dedicated). Pure: the Azure
 * step observes the shared pool (src/tenant/azure-step.ts) and records the decision in
 * `status.placement`, after which it never changes by itself: a live database is never moved.
 *
 * Shared servers live in a platform resource group `tenancy-sql-<region>-<env>` and are numbered
 * (`sqlpool-<region>-<env>-<n>-<hash>`); a new tenant goes to the first one with room, counted from
 * the databases Azure lists on it (and those placed there but not created yet), so a server is never
 * asked for a database beyond `azure.placement.maxDatabasesPerServer`: the quota is prevented, never
 * retried. Each database is still encrypted with the tenant's own key, through the tenant's own
 * identity (database-level customer-managed key).
 */
import type { Environment, Isolation, Tenant, TenantStatus } from '../api/v1alpha1/tenant.ts';
import type { OperatorConfig } from '../config.ts';
import type { AzureFacts, PrivateEndpointAddress } from '../context.ts';
import { environmentCode, shortHash, slug, type TenantAzureNames } from './azure-names.ts';

export type SqlPlacement = NonNullable<TenantStatus['placement']>;

/** Azure's limits on one subscription that placement counts against (configurable after quota increases). */
export interface ShardLimits {
  resourceGroups: number;
  sqlServersPerRegion: number;
  roleAssignments: number;
}

/** One subscription new tenants may be placed in. */
export interface Shard {
  id: string;
  regions?: readonly string[] | undefined;
  environments?: readonly Environment[] | undefined;
  limits: ShardLimits;
}

/** Azure's published defaults: 980 resource groups, 20 SQL servers per region, 4,000 role assignments. */
export const AZURE_DEFAULT_LIMITS: ShardLimits = { resourceGroups: 980, sqlServersPerRegion: 20, roleAssignments: 4000 };

/** The configured shards; `azure.subscriptionId` alone is one shard with Azure's default limits. */
export function subscriptionShards(
  azure: Pick<NonNullable<OperatorConfig['azure']>, 'subscriptionId' | 'subscriptions'>,
): Shard[] {
  return azure.subscriptions ?? [{ id: azure.subscriptionId, limits: { ...AZURE_DEFAULT_LIMITS } }];
}

/** The shards that take tenants of this region and environment, in configured order. */
export function shardsFor(shards: readonly Shard[], region: string, environment: Environment): Shard[] {
  return shards.filter(
    (s) =>
      (s.regions === undefined || s.regions.includes(region)) &&
      (s.environments === undefined || s.environments.includes(environment)),
  );
}

/** What a subscription holds, as Azure lists it (plus what was placed there and not created yet). */
export interface ShardUsage {
  resourceGroups: number;
  /** SQL servers in the tenant's region. */
  sqlServersInRegion: number;
  roleAssignments: number;
}

/** One shard as observed for a new tenant. */
export interface ShardObservation {
  shard: Shard;
  usage: ShardUsage;
  /** Names (lower case) of the SQL servers that exist in the tenant's region. */
  existingServers: ReadonlySet<string>;
  /** The shared pool's resource group exists in this subscription. */
  poolGroupExists: boolean;
  /** The shared pool in this subscription (Shared tenants only). */
  pool: readonly SharedServerObservation[];
}

/** What one new tenant adds to a subscription: its group (and the pool's), a server, two role assignments. */
export function tenantNeeds(
  isolation: Isolation,
  observation: Pick<ShardObservation, 'poolGroupExists' | 'existingServers'>,
  sharedServer: string | undefined,
): ShardUsage {
  if (isolation === 'Dedicated') return { resourceGroups: 1, sqlServersInRegion: 1, roleAssignments: 2 };
  return {
    resourceGroups: 1 + (observation.poolGroupExists ? 0 : 1),
    sqlServersInRegion: sharedServer !== undefined && observation.existingServers.has(sharedServer.toLowerCase()) ? 0 : 1,
    roleAssignments: 2,
  };
}

/** The limits a tenant's needs would exceed in a shard (empty: it fits). */
export function exceededLimits(usage: ShardUsage, needs: ShardUsage, limits: ShardLimits, region: string): string[] {
  const over: string[] = [];
  if (usage.resourceGroups + needs.resourceGroups > limits.resourceGroups)
    over.push(`${usage.resourceGroups}/${limits.resourceGroups} resource groups`);
  if (usage.sqlServersInRegion + needs.sqlServersInRegion > limits.sqlServersPerRegion)
    over.push(`${usage.sqlServersInRegion}/${limits.sqlServersPerRegion} SQL servers in ${region}`);
  if (usage.roleAssignments + needs.roleAssignments > limits.roleAssignments)
    over.push(`${usage.roleAssignments}/${limits.roleAssignments} role assignments`);
  return over;
}

/** The platform resource group holding the shared servers of a region and environment. */
export function sharedPoolResourceGroup(region: string, environment: string): string {
  return `tenancy-sql-${slug(region)}-${environmentCode(environment)}`;
}

/**
 * The `index`-th shared server of a subscription's pool for a region and environment: 1-63
 * lower-case letters, digits and hyphens, globally unique (a DNS name: every subscription's pool
 * needs names of its own), so salted and hashed like a tenant's own server.
 */
export function sharedServerName(region: string, environment: string, index: number, salt = '', subscriptionId = ''): string {
  const hash = shortHash([salt, 'sqlpool', subscriptionId.toLowerCase(), region, environment, String(index)]);
  const tail = `-${environmentCode(environment)}-${index}-${hash}`;
  const head = `sqlpool-${slug(region)}`.slice(0, 63 - tail.length).replace(/-+$/, '');
  return `${head}${tail}`;
}

/** What the Azure step found on one shared server of the pool (in index order, from 1). */
export interface SharedServerObservation {
  index: number;
  name: string;
  /** Databases Azure lists on it (without `master`), plus those placed there and not created yet. */
  databases: number;
  /** The tenant's own database is already there (a placement whose record was lost). */
  holdsTenantDatabase: boolean;
}

/**
 * Whether the tenant was provisioned before placement existed (the one-server-per-tenant layout):
 * its status shows Azure resources but no placement. It is kept on its own server.
 */
export function provisionedBeforePlacement(tenant: Pick<Tenant, 'status'>): boolean {
  const s = tenant.status;
  if (s === undefined || s.placement !== undefined) return false;
  const a = s.azure;
  return (
    s.provisionedAt !== undefined ||
    (a !== undefined &&
      (a.sqlServerFqdn !== undefined ||
        a.databaseName !== undefined ||
        a.resourceGroup !== undefined ||
        (a.operations?.length ?? 0) > 0))
  );
}

/**
 * The server a new tenant's database goes to: what its spec asks for; else its own server when it
 * is to be geo-replicated (a failover group is built for a server of the tenant's own only: a
 * shared server's would need a shared secondary with database-level keys on both sides); else the
 * operator's default. An explicit `spec.isolation: Shared` stays shared, and says it is not replicated.
 */
export function desiredIsolation(tenant: Pick<Tenant, 'spec'>, defaultIsolation: Isolation, geoReplicated = false): Isolation {
  return tenant.spec.isolation ?? (geoReplicated ? 'Dedicated' : defaultIsolation);
}

export type PlacementReason =
  | 'PlacedOnSharedServer'
  | 'PlacedOnDedicatedServer'
  | 'KeptOnOwnServer'
  | 'IsolationChangeNeedsMigration';

export type PlacementDecision =
  /** Recorded before (or decided now): `record` is true when status must be written. */
  | { placement: SqlPlacement; record: boolean; reason: PlacementReason; message: string }
  /** Every subscription for the tenant's region and environment is full: nothing is created. */
  | { refused: true; reason: 'NoSubscriptionCapacity'; message: string }
  /** A new tenant: the shards must be observed first (the caller reads them and asks again). */
  | { observeShards: true; isolation: Isolation };

export interface PlacementInput {
  tenant: Pick<Tenant, 'spec' | 'status'>;
  /** Where tenants from before placement live (`azure.subscriptionId`). */
  homeSubscriptionId: string;
  names: TenantAzureNames;
  defaultIsolation: Isolation;
  /**
   * The tenant's database is to be geo-replicated (`tenantGeoReplication`, from its BackupPolicy):
   * unless its spec says Shared, a new tenant then gets its own server (see desiredIsolation).
   */
  geoReplicated?: boolean | undefined;
  maxDatabasesPerServer: number;
  salt?: string | undefined;
  /**
   * The tenant's own server (the one-server-per-tenant layout's name, in the home subscription)
   * exists in Azure: a tenant from before placement whose status was lost. Undefined: not looked at yet.
   */
  ownServerExists?: boolean | undefined;
  /** The shards for the tenant's region and environment as observed, in order; undefined when not observed (yet). */
  shards?: readonly ShardObservation[] | undefined;
  now: Date;
}

function describe(p: SqlPlacement): string {
  return p.sqlServer.shared
    ? `The database is on shared SQL server ${p.sqlServer.name} (resource group ${p.sqlServer.resourceGroup}), encrypted with the tenant’s own key through the tenant’s own identity.`
    : `The database is on the tenant’s own SQL server ${p.sqlServer.name} (resource group ${p.sqlServer.resourceGroup})${p.reason === 'GeoReplicated' ? ', because it is geo-replicated: a failover group is built for a server of the tenant’s own' : ''}.`;
}

/**
 * Pure: where the tenant's database goes. A recorded placement wins (a change of `spec.isolation`
 * is reported, never acted on: moving a live database needs a planned migration); a tenant
 * provisioned before placement existed (its status says so, or its own server exists) is recorded
 * as Dedicated where it is; a new Dedicated
 * tenant gets its own server; a new Shared one the first pool server with room (or the one that
 * already holds its database), else the next server of the pool.
 */
export function decidePlacement(input: PlacementInput): PlacementDecision {
  const { tenant, names, now } = input;
  const recorded = tenant.status?.placement;
  const wanted = desiredIsolation(tenant, input.defaultIsolation, input.geoReplicated);
  // Why a tenant whose spec is silent is on its own server when the default is Shared: recorded.
  const forGeo = tenant.spec.isolation === undefined && input.geoReplicated === true && input.defaultIsolation === 'Shared';
  if (recorded !== undefined) {
    if (tenant.spec.isolation !== undefined && tenant.spec.isolation !== recorded.isolation) {
      return {
        placement: recorded,
        record: false,
        reason: 'IsolationChangeNeedsMigration',
        message: `spec.isolation asks for ${tenant.spec.isolation}, but the tenant’s database lives on ${recorded.isolation === 'Shared' ? 'shared' : 'its own'} SQL server ${recorded.sqlServer.name}: a live database is never moved by the operator. Moving it is a planned migration (README "Placement"); until then the tenant stays where it is.`,
      };
    }
    return {
      placement: recorded,
      record: false,
      reason: recorded.migrated
        ? 'KeptOnOwnServer'
        : recorded.sqlServer.shared
          ? 'PlacedOnSharedServer'
          : 'PlacedOnDedicatedServer',
      message: describe(recorded),
    };
  }
  const placedAt = now.toISOString().replace(/\.\d{3}Z$/, 'Z');
  const own = (migrated: boolean, subscriptionId = input.homeSubscriptionId): SqlPlacement => ({
    isolation: 'Dedicated',
    subscriptionId,
    sqlServer: { resourceGroup: names.resourceGroup, name: names.sqlServer, shared: false },
    placedAt,
    ...(migrated ? { migrated: true } : {}),
  });
  if (provisionedBeforePlacement(tenant) || input.ownServerExists === true) {
    const placement = own(true);
    return {
      placement,
      record: true,
      reason: 'KeptOnOwnServer',
      message: `The tenant was provisioned on its own SQL server before shared servers existed and stays there (recorded as Dedicated). ${describe(placement)}`,
    };
  }
  if (input.shards === undefined || input.ownServerExists === undefined) return { observeShards: true, isolation: wanted };
  const { region, environment } = tenant.spec;
  const full: string[] = [];
  for (const observed of input.shards) {
    const subscriptionId = observed.shard.id;
    if (wanted === 'Dedicated') {
      const over = exceededLimits(observed.usage, tenantNeeds('Dedicated', observed, undefined), observed.shard.limits, region);
      if (over.length > 0) {
        full.push(`${subscriptionId} (${over.join(', ')})`);
        continue;
      }
      const placement: SqlPlacement = { ...own(false, subscriptionId), ...(forGeo ? { reason: 'GeoReplicated' as const } : {}) };
      return { placement, record: true, reason: 'PlacedOnDedicatedServer', message: describe(placement) };
    }
    const pool = observed.pool;
    const holding = pool.find((s) => s.holdsTenantDatabase);
    const chosen = holding ?? pool.find((s) => s.databases < input.maxDatabasesPerServer);
    const index = chosen?.index ?? Math.max(0, ...pool.map((s) => s.index)) + 1;
    const name = chosen?.name ?? sharedServerName(region, environment, index, input.salt, subscriptionId);
    // A database already there (a placement whose record was lost) stays where it is, full or not.
    const over = holding
      ? []
      : exceededLimits(observed.usage, tenantNeeds('Shared', observed, name), observed.shard.limits, region);
    if (over.length > 0) {
      full.push(`${subscriptionId} (${over.join(', ')})`);
      continue;
    }
    const placement: SqlPlacement = {
      isolation: 'Shared',
      subscriptionId,
      sqlServer: { resourceGroup: sharedPoolResourceGroup(region, environment), name, shared: true },
      placedAt,
    };
    return { placement, record: true, reason: 'PlacedOnSharedServer', message: describe(placement) };
  }
  return {
    refused: true,
    reason: 'NoSubscriptionCapacity',
    message:
      full.length === 0
        ? `No subscription is configured for region ${region} and environment ${environment} (azure.subscriptions): the platform team must add one. Nothing was created.`
        : `No subscription has room for a new ${wanted} tenant in ${region}: ${full.join('; ')}. The platform team must add a subscription to azure.subscriptions or raise a quota (and its configured limit). Nothing was created; existing tenants are not affected.`,
  };
}

/**
 * Pure: where this tenant reaches its database's server, when its name must not be resolved
 * through DNS. A shared server's name has no private DNS record (each tenant has its own endpoint
 * to it), so the tenant's pods (hostAliases) and the operator's own T-SQL session go to the
 * tenant's private endpoint; a server of the tenant's own resolves through its private DNS zone.
 */
export function sharedServerEndpoint(
  facts: Pick<AzureFacts, 'sqlResourceGroup' | 'privateEndpoints'>,
): PrivateEndpointAddress | undefined {
  return facts.sqlResourceGroup === undefined ? undefined : facts.privateEndpoints?.sql;
}

/**
 * Pure: the database the application may be given (host and name), or nothing while its pods
 * could not reach it. On a shared server they reach it only through the tenant's own private
 * endpoint, whose address goes into the pod's host aliases: the database waits for it, and a new
 * tenant's Deployment waits for the database (reconciler.ts), so its pods start once, with both. A
 * server of the tenant's own, or a region with no private endpoint configured (its condition says
 * the platform team must act), has nothing to wait for.
 */
export function reachableDatabase(
  facts: Pick<AzureFacts, 'databaseHost' | 'databaseName' | 'sqlResourceGroup' | 'privateEndpoints'> | undefined,
  privateEndpointsConfigured: boolean,
): { host?: string | undefined; name?: string | undefined } {
  if (facts === undefined) return {};
  const waiting = privateEndpointsConfigured && facts.sqlResourceGroup !== undefined && !sharedServerEndpoint(facts);
  return waiting ? {} : { host: facts.databaseHost, name: facts.databaseName };
}
