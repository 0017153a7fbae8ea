/**
 * The physical floor of a cold start: no operator can converge a fleet faster than the longest of
 * - one tenant's longest chain of dependent Azure operations at the emulator's operation durations
 *   (the critical path of the tenant's resource graph, src/tenant/azure.ts, plus the wait for a role
 *   assignment to reach the data plane before the server key), and
 * - the ARM writes the cold start needed in the busiest subscription, at the write budget (after its burst), and
 * - the Microsoft.ManagedIdentity writes, at that provider's own budget.
 * The budgets are per subscription, as ARM and Microsoft.ManagedIdentity throttle and as the
 * operator keeps them (src/azure/write-limiter.ts createPerSubscriptionLimiter): the busiest
 * subscription's writes at one subscription's budget bound the fleet.
 * Computed from the same description the operator runs and the emulator's own duration table, with
 * the write counts taken from the emulator's request log.
 */
import { type OperationTiming, operationDurationMs, operationKind } from '../hack/arm-emulator/operation-profiles.ts';
import { type TenantAzurePlan, tenantAzureResources } from '../src/tenant/azure.ts';

export interface PhysicalFloorInput {
  timing: OperationTiming;
  /** How long a role assignment takes to reach the data plane in the emulator (real ms). */
  rbacPropagationMs: number;
  /** ARM types the cold start wrote (a type verified by GET only costs nothing). */
  writtenTypes: ReadonlySet<string>;
  /** Accepted ARM writes of the cold start, per subscription (each has its own budget). */
  armWritesBySubscription: readonly number[];
  armWritesPerSecond: number;
  armWriteBurst: number;
  /** Accepted Microsoft.ManagedIdentity writes, per subscription. */
  managedIdentityWritesBySubscription: readonly number[];
  managedIdentityWritesPerSecond: number;
  /**
   * The fleet's layout: `shared`, the tenant's graph with its database on a shared server (the
   * first tenant of a pool also creates the server: that chain is the floor); `dedicated`, a server
   * of its own.
   */
  placement?: 'shared' | 'dedicated';
}

export interface PhysicalFloor {
  floorMs: number;
  /** One tenant's critical path, and the resources on it. */
  chainMs: number;
  chain: string[];
  writeBoundMs: number;
  managedIdentityBoundMs: number;
  bound: 'chain' | 'arm writes' | 'managed-identity writes';
}

/** A plan whose only use is its graph: ids and bodies are never sent. */
const GRAPH_PLAN: TenantAzurePlan = {
  subscriptionId: 'floor',
  names: { resourceGroup: 'rg', identity: 'id', keyVault: 'kv', tdeKey: 'k', sqlServer: 'sql', sqlDatabase: 'db' },
  region: 'westeurope',
  wafRegion: 'westeurope',
  rbacPropagationMs: 0,
  tags: {},
  sqlSku: { name: 'GP_Gen5', capacity: 2 },
  zoneRedundancy: { zoneRedundant: false, reason: 'NotProduction', message: '', held: false },
  entraAdmin: { login: 'a', objectId: 'o', tenantId: 't', principalType: 'Group' },
  directoryTenantId: 't',
  keyVaultPublicNetworkAccess: false,
  identity: { namespace: 'ns', serviceAccountName: 'sa', oidcIssuer: 'https://issuer/' },
  waf: { mode: 'Prevention', customRules: [] },
  backup: {
    redundancy: 'Zone',
    shortTerm: { retentionDays: 14, diffBackupIntervalInHours: 12 },
    longTerm: { weeklyRetention: 'P12W', monthlyRetention: 'PT0S', yearlyRetention: 'PT0S', weekOfYear: 1 },
  },
  privateEndpoints: {
    configured: true,
    subnetId: 'subnet',
    dnsZones: { sql: 'privatelink.database.windows.net', keyVault: 'privatelink.vaultcore.azure.net' },
  },
  audit: {
    workspaceId: '/subscriptions/floor/resourceGroups/rg/providers/Microsoft.OperationalInsights/workspaces/audit',
    retentionDays: 180,
  },
  keyRotation: { rotateAfter: 'P1Y', expireAfter: 'P2Y', notifyBefore: 'P30D' },
  // The bench's tenants are Shared: no node pool in their chain.
  nodePool: { kind: 'shared' },
  geoReplication: { enabled: false, reason: 'NotRequested', message: '' },
  geoNames: { sqlServer: 'sqlgeo', failoverGroup: 'fog' },
  geoPrivateEndpoints: undefined,
};

export function physicalFloor(input: PhysicalFloorInput): PhysicalFloor {
  const resources = tenantAzureResources(
    input.placement === 'shared'
      ? { ...GRAPH_PLAN, sharedSql: { resourceGroup: 'tenancy-sql', name: 'sqlpool', tags: {} } }
      : GRAPH_PLAN,
  );
  const written = new Set([...input.writtenTypes].map((t) => t.toLowerCase()));
  const finish = new Map<string, { at: number; via: string[] }>();
  const finishOf = (key: string): { at: number; via: string[] } => {
    const known = finish.get(key);
    if (known) return known;
    const r = resources.find((x) => x.key === key);
    if (!r) throw new Error(`unknown resource ${key}`);
    let start = { at: 0, via: [] as string[] };
    for (const d of r.dependsOn) {
      const dep = finishOf(d);
      // A server key is refused until the server's crypto role has reached the data plane.
      const ready =
        key === 'sqlServerKey' && d === 'roleAssignment.cryptoServiceEncryptionUser' ? dep.at + input.rbacPropagationMs : dep.at;
      if (ready > start.at) start = { at: ready, via: dep.via };
    }
    const writes = written.has(r.kind.type.toLowerCase());
    const ms = writes ? operationDurationMs(input.timing, operationKind(r.kind.type, 'PUT', { created: true }), true) : 0;
    const result = { at: start.at + ms, via: [...start.via, key] };
    finish.set(key, result);
    return result;
  };
  let chain = { at: 0, via: [] as string[] };
  for (const r of resources) {
    const f = finishOf(r.key);
    if (f.at > chain.at) chain = f;
  }
  // Each subscription's writes at its own budget: the busiest subscription bounds.
  const writeBoundMs = Math.max(
    0,
    ...input.armWritesBySubscription.map((w) => (Math.max(0, w - input.armWriteBurst) / input.armWritesPerSecond) * 1000),
  );
  const managedIdentityBoundMs = Math.max(
    0,
    ...input.managedIdentityWritesBySubscription.map((w) => (w / input.managedIdentityWritesPerSecond) * 1000),
  );
  const floorMs = Math.max(chain.at, writeBoundMs, managedIdentityBoundMs);
  const bound = floorMs === chain.at ? 'chain' : floorMs === writeBoundMs ? 'arm writes' : 'managed-identity writes';
  return { floorMs, chainMs: chain.at, chain: chain.via, writeBoundMs, managedIdentityBoundMs, bound };
}
