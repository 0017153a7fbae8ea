/**
 * The Azure step of a Tenant's reconcile: hands the tenant's resources (src/tenant/azure.ts) to
 * the ARM engine with the operations recorded in its status, and turns the engine's report into
 * conditions, facts for the Kubernetes objects, audit lines and Events. Never waits for Azure: a
 * pass begins what differs, records what runs, and asks to be requeued.
 *
 * A pass that found everything converged is recorded in status (`status.azure.verified`: the
 * fingerprint of the plan and when), and trusted for `azure.driftCheckIntervalSeconds` unless the
 * plan changes: a resync or a restart over a converged fleet reads nothing from ARM here.
 */
import { readFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import type { TokenCredential } from '@azure/core-auth';
import type { Tenant, TenantStatus } from '../api/v1alpha1/tenant.ts';
import type { ArmBody } from '../azure/arm-client.ts';
import { ArmClient, ArmRequestError, pipelineSender } from '../azure/arm-client.ts';
import {
  type AzureClients,
  createAzureClients,
  createDefaultCredential,
  createPerSubscriptionLimiter,
} from '../azure/clients.ts';
import {
  type ArmChange,
  deleteResources,
  type KnownReady,
  type PassResult,
  type PendingOperation,
  type ResourceReport,
  reconcileResources,
  releaseResources,
  type TeardownResult,
} from '../azure/engine.ts';
import { type AzureFailure, classifyAzureError } from '../azure/errors.ts';
import { AZURE_TAGS, props, str } from '../azure/kinds/common.ts';
import { identityOutputs } from '../azure/kinds/identity.ts';
import { KEY_VAULT_API_VERSION, keyVersionOf } from '../azure/kinds/key-vault.ts';
import { tableRetentionDays } from '../azure/kinds/monitor.ts';
import { dnsZoneGroupAddress, privateEndpointAddress } from '../azure/kinds/private-link.ts';
import { resourceGroupId } from '../azure/kinds/resources.ts';
import {
  databaseKeyOf,
  databaseOutputs,
  failoverGroupListener,
  failoverGroupOutputs,
  failoverGroupReadOnlyListener,
  keepsLongTermBackups,
  type LongTermRetention,
  longTermRetentionOf,
  observedZoneRedundant,
  protectorKeyVersion,
  type ShortTermRetention,
  SQL_API_VERSION,
  SQL_FAILOVER_GROUP_API_VERSION,
  sqlLongTermRetentionKind,
  sqlServerId,
  sqlServerOutputs,
  threatDetectionState,
} from '../azure/kinds/sql.ts';
import type { GeoReplicationLink } from '../azure/sql-data-plane.ts';
import { readSubscriptionUsage, type SubscriptionUsage } from '../azure/subscription-usage.ts';
import type { OperatorConfig } from '../config.ts';
import type { AzureFacts, GeoReplicationFacts, OperatorContext, PrivateEndpointAddresses } from '../context.ts';
import { hashOf } from '../runtime/compare.ts';
import type { ConditionInput } from '../runtime/conditions.ts';
import { isTerminal, PlatformError, RetryableError, TerminalError } from '../runtime/errors.ts';
import type { KubeObject } from '../runtime/kube-client.ts';
import {
  sharedServerOf,
  type TenantAzurePlan,
  tenantAzureIds,
  tenantAzureResources,
  tenantDeleteInventory,
  tenantGeoNames,
  tenantNames,
  tenantNodePoolInventory,
  tenantReleaseInventory,
} from './azure.ts';
import type { TenantAzureNames } from './azure-names.ts';
import {
  decidePlacement,
  type PlacementDecision,
  type Shard,
  type ShardObservation,
  type ShardUsage,
  type SharedServerObservation,
  type SqlPlacement,
  shardsFor,
  sharedPoolResourceGroup,
  sharedServerName,
  subscriptionShards,
} from './placement.ts';

/** A tenant placed in a subscription: what it takes there. */
interface Placed {
  resourceGroup: string;
  sqlResourceGroup: string;
  server: string;
  region: string;
}

type AzureConfig = NonNullable<OperatorConfig['azure']>;

/** api-version of the long-term-retention backups list (@azure/arm-sql 10.0.0). */
const LTR_BACKUPS_API_VERSION = '2021-05-01-preview';

/**
 * How long a subscription's listed usage serves placements (30 s): the window in which resources
 * others create in a shard are not yet counted. Placements made meanwhile always count.
 */
export const PLACEMENT_LISTING_TTL_MS = 30_000;

/**
 * The local ARM emulator's credential (config refuses it for any non-loopback endpoint): a fixed
 * token for ARM, which accepts any; for Azure SQL, a token from the emulator's Entra token endpoint
 * (`POST /_emulator/token`), which its TDS endpoint validates.
 */
function emulatorCredential(endpoint: string | undefined, ca: string | undefined): TokenCredential {
  return {
    getToken: async (scopes) => {
      const scope = (Array.isArray(scopes) ? scopes[0] : scopes) ?? '';
      if (endpoint === undefined || !scope.startsWith('https://database.windows.net')) {
        return { token: 'emulator-token', expiresOnTimestamp: Date.now() + 3600_000 };
      }
      const answer = await new Promise<string>((resolve, reject) => {
        const req = httpsRequest(
          `${endpoint}/_emulator/token`,
          { method: 'POST', ...(ca === undefined ? {} : { ca }), headers: { 'content-type': 'application/json' } },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
          },
        );
        req.on('error', reject);
        req.end(JSON.stringify({ scope }));
      });
      const parsed = JSON.parse(answer) as { access_token: string; expires_on: number };
      return { token: parsed.access_token, expiresOnTimestamp: parsed.expires_on * 1000 };
    },
  };
}

export function createAzureClientsFromConfig(
  azure: AzureConfig,
  onResponse?: (service: string, method: string, status: number) => void,
): AzureClients {
  const ca = azure.caFile ? readFileSync(azure.caFile, 'utf8') : undefined;
  return createAzureClients({
    subscriptionId: azure.subscriptionId,
    endpoint: azure.endpoint,
    ca,
    credential: azure.credential === 'emulator' ? emulatorCredential(azure.endpoint, ca) : createDefaultCredential(),
    // Per subscription, as ARM and Microsoft.ManagedIdentity throttle: each subscription shard has its own budget.
    writeLimiter: createPerSubscriptionLimiter({ writesPerSecond: azure.writesPerSecond, burst: azure.writeBurst }),
    readLimiter: createPerSubscriptionLimiter({ writesPerSecond: azure.readsPerSecond, burst: azure.readBurst }),
    managedIdentityWriteLimiter: createPerSubscriptionLimiter({
      writesPerSecond: azure.managedIdentityWritesPerSecond,
      burst: 2,
    }),
    onResponse,
  });
}

/** The engine's client over the operator's SDK pipeline. */
export function armClientOf(clients: AzureClients, azure: Pick<AzureConfig, 'endpoint'>, fence?: () => AbortSignal): ArmClient {
  return new ArmClient({
    sender: pipelineSender(clients.resources.pipeline),
    endpoint: azure.endpoint ?? 'https://management.azure.com',
    fence,
  });
}

/** What one Azure pass reports to the Tenant reconciler. */
export interface AzureStepResult {
  facts: AzureFacts;
  /** IdentityReady, KeyVaultReady, DatabaseReady, WafEnforced, AzureResourcesReady. */
  conditions: ConditionInput[];
  /** Reported without deciding Ready: ZoneRedundant. */
  informational: ConditionInput[];
  /** `status.azure.operations` and `status.azure.verified` to write. */
  record: Pick<NonNullable<TenantStatus['azure']>, 'operations' | 'verified'>;
  /** The failure to surface (terminal, platform or retryable), if any resource failed. */
  failure?: AzureFailure | undefined;
  /** Look again this soon: an operation runs, or a resource is still becoming ready. */
  requeueAfterMs?: number | undefined;
  /**
   * With a failure: when the rest of the tenant's resources need a look all the same (an operation
   * runs, a resource is becoming ready, a hold ends, another resource's failure retries soon);
   * undefined when they merely wait behind the failure. A failure must not stop that look.
   */
  besideFailureMs?: number | undefined;
  /**
   * Writes that undid a change made outside the operator: the plan is the one a full pass last
   * verified (`status.azure.verified`), so a difference now can only come from someone else.
   */
  drift?: ArmChange[] | undefined;
}

/** What letting go of a tenant's Azure side reports (one step per pass). */
export interface AzureTeardown {
  finished: boolean;
  operations: PendingOperation[];
  /** Why it is not finished yet, for the condition. */
  waitingFor?: string | undefined;
  failure?: AzureFailure | undefined;
}

/** Which resources each condition stands for. */
const COMPONENTS: Record<string, { keys: string[]; ready: string; provisioning: string }> = {
  IdentityReady: {
    keys: ['identity', 'federatedCredential', 'roleAssignment.secretsUser'],
    ready: 'The workload identity and its federated credential exist.',
    provisioning: 'The workload identity is being created',
  },
  KeyVaultReady: {
    // The audit workspace's retention counts for both audited components.
    keys: ['keyVault', 'tdeKey', 'keyVaultAudit', 'auditRetention', 'privateEndpoint.keyVault', 'privateDnsZoneGroup.keyVault'],
    ready:
      'The Key Vault exists: RBAC, soft delete, purge protection, reachable only through its private endpoint; its key rotates on policy; its AuditEvent log is kept in the audit workspace.',
    provisioning: 'The Key Vault is being created',
  },
  NodePoolReady: {
    keys: ['nodePool'],
    ready: 'The tenant’s own AKS node pool exists, labelled and tainted for it alone; its pods are placed there.',
    provisioning: 'The node pool is being created',
  },
  DatabaseReady: {
    keys: [
      'sqlResourceGroup',
      'sqlServer',
      'sqlEntraAdmin',
      'sqlEntraOnly',
      'roleAssignment.cryptoServiceEncryptionUser',
      'sqlServerKey',
      'sqlEncryptionProtector',
      'sqlDatabase',
      'sqlTde',
      'sqlShortTermRetention',
      'sqlLongTermRetention',
      'sqlAuditing',
      'sqlAuditDiagnostics',
      'sqlThreatProtection',
      'auditRetention',
      'privateEndpoint.sql',
      'privateDnsZoneGroup.sql',
    ],
    ready:
      'The database is online: Entra-only, TLS 1.2, reachable only through its private endpoint, encrypted with the tenant’s key, audited to the audit workspace, watched by Defender for SQL.',
    provisioning: 'The database is being created',
  },
  WafEnforced: { keys: ['wafPolicy'], ready: '', provisioning: 'The WAF policy is being created' },
};

function describeReport(r: ResourceReport, startedAt: Map<string, string>): string {
  const name = r.id?.split('/').pop() ?? r.key;
  switch (r.phase) {
    case 'Busy':
      return `${r.label} ${name} has an operation running${startedAt.has(r.key) ? ` (since ${startedAt.get(r.key)})` : ''}`;
    case 'Waiting':
      return `${r.label} waits for ${r.waitingFor ?? 'its dependencies'}`;
    case 'NotReady':
      return `${r.label} ${name} is not usable yet`;
    default:
      return `${r.label} ${name}`;
  }
}

/** Worst first: terminal (a spec change is needed), then platform, then retryable. */
function worst(failures: AzureFailure[]): AzureFailure | undefined {
  return failures.find(isTerminal) ?? failures.find((f) => f instanceof PlatformError) ?? failures[0];
}

/** What one tenant's creation (or repair) has found Ready so far, for the plan it was found with. */
interface Episode {
  fingerprint: string;
  startedAt: number;
  ready: Map<string, KnownReady>;
  /** When each resource in `ready` was read from ARM (ms). */
  readAt: Map<string, number>;
}

export class TenantAzureStep {
  readonly ctx: OperatorContext;
  readonly azure: AzureConfig;
  readonly clients: AzureClients;
  readonly arm: ArmClient;
  /**
   * Per tenant (uid) not yet converged: the resources found Ready by its earlier passes, trusted
   * without a read while the rest is still being created (a creation takes several passes; reading
   * all ~17 resources on each would multiply ARM reads and CPU by the pass count). Dropped once a
   * full pass verifies convergence (status.azure.verified takes over), when the plan changes, and
   * after the drift-check interval.
   */
  readonly #episodes = new Map<string, Episode>();

  /** `fence`: the leadership signal every ARM request carries (nothing is sent once a term ends). */
  constructor(ctx: OperatorContext, azure: AzureConfig, clients: AzureClients, fence?: () => AbortSignal) {
    this.ctx = ctx;
    this.azure = azure;
    this.clients = clients;
    this.arm = armClientOf(clients, azure, fence);
  }

  /** Databases placed on a shared server (by server id) and perhaps not created yet: counted as there. */
  readonly #reserved = new Map<string, Set<string>>();
  /** Tenants placed by this process, by subscription: their groups and servers count before Azure lists them. */
  readonly #placedHere = new Map<string, Placed[]>();
  /** Subscription usage as last listed for placement, by subscription (see #listedUsage). */
  readonly #usageListed = new Map<string, { at: number; usage: SubscriptionUsage }>();
  /** A pool server's databases as last listed for placement, by server id (see #listedDatabases). */
  readonly #databasesListed = new Map<string, { at: number; names: ReadonlySet<string> }>();
  /** One new placement at a time, so two new tenants never both take a server's or a subscription's last place. */
  #placing: Promise<unknown> = Promise.resolve();

  /**
   * Where the tenant's database lives: its recorded placement, or a new one, decided from what Azure
   * lists in each shard for its region and environment (usage, and the shared pool up to the first
   * server with room). A refusal (every shard full) creates nothing. An ARM read that fails throws
   * the classified Azure failure.
   */
  async place(
    tenant: Tenant,
    /** The tenant's database is to be geo-replicated (tenantGeoReplication): a new tenant gets its own server. */
    geoReplicated: boolean,
    signal?: AbortSignal,
  ): Promise<Extract<PlacementDecision, { placement: SqlPlacement }>> {
    const input = {
      tenant,
      homeSubscriptionId: this.azure.subscriptionId,
      names: tenantNames(tenant, this.azure),
      defaultIsolation: this.azure.placement.defaultIsolation,
      geoReplicated,
      maxDatabasesPerServer: this.azure.placement.maxDatabasesPerServer,
      salt: this.azure.nameSalt,
      now: this.ctx.clock.now(),
    };
    const first = decidePlacement(input);
    if ('placement' in first) return first;
    if (!('observeShards' in first)) throw new PlatformError(first.reason, first.message);
    const run = async () => {
      const { region, environment } = tenant.spec;
      // A tenant from before placement whose status was lost still has its own server: it stays there.
      const own = tenantAzureIds(this.azure.subscriptionId, input.names).sqlServer;
      const ownServerExists = (await this.arm.withSignal(signal).get(own, SQL_API_VERSION)) !== undefined;
      if (ownServerExists) {
        const decided = decidePlacement({ ...input, ownServerExists, shards: [] });
        if ('placement' in decided) return decided;
      }
      const shards: ShardObservation[] = [];
      for (const shard of shardsFor(subscriptionShards(this.azure), region, environment)) {
        shards.push(await this.#observeShard(tenant, shard, first.isolation, input.names.sqlDatabase, signal));
        // The first shard with room wins: later ones need not be read.
        const decided = decidePlacement({ ...input, ownServerExists, shards });
        if ('placement' in decided) return this.#reserve(decided, input.names, region);
      }
      const decided = decidePlacement({ ...input, ownServerExists, shards });
      if ('observeShards' in decided) throw new Error('placement: the shards were observed');
      if ('placement' in decided) return this.#reserve(decided, input.names, region);
      // Every shard full: nothing is created; looked at again later (someone must add room).
      throw new PlatformError(decided.reason, decided.message, { retryAfterMs: 300_000 });
    };
    const next = this.#placing.then(run, run);
    this.#placing = next.catch(() => {});
    try {
      return await next;
    } catch (err) {
      throw err instanceof RetryableError || err instanceof TerminalError ? err : classifyAzureError(err);
    }
  }

  #reserve<D extends { placement: SqlPlacement }>(decided: D, names: TenantAzureNames, region: string): D {
    const p = decided.placement;
    const server = sqlServerId(resourceGroupId(p.subscriptionId, p.sqlServer.resourceGroup), p.sqlServer.name).toLowerCase();
    this.#reserved.set(server, (this.#reserved.get(server) ?? new Set()).add(names.sqlDatabase));
    const list = this.#placedHere.get(p.subscriptionId.toLowerCase()) ?? [];
    list.push({
      resourceGroup: names.resourceGroup,
      sqlResourceGroup: p.sqlServer.resourceGroup,
      server: p.sqlServer.name,
      region,
    });
    this.#placedHere.set(p.subscriptionId.toLowerCase(), list);
    return decided;
  }

  /**
   * One shard for a new tenant: its usage as Azure lists it, with the tenants placed there whose
   * groups and servers Azure does not list yet (this process's, and every tenant in the cache whose
   * recorded placement names the subscription); and, for a Shared tenant, its pool.
   */
  async #observeShard(
    tenant: Tenant,
    shard: Shard,
    isolation: 'Shared' | 'Dedicated',
    database: string,
    signal?: AbortSignal,
  ): Promise<ShardObservation> {
    const { region, environment } = tenant.spec;
    const arm = this.arm.withSignal(signal);
    const listed = await this.#listedUsage(arm, shard);
    const placed: Placed[] = [...(this.#placedHere.get(shard.id.toLowerCase()) ?? [])];
    for (const raw of this.ctx.caches.tenants.list()) {
      const other = raw as unknown as Tenant;
      const p = other.status?.placement;
      if (p === undefined || p.subscriptionId.toLowerCase() !== shard.id.toLowerCase() || other.spec?.environment === undefined)
        continue;
      placed.push({
        resourceGroup: tenantNames(other, this.azure).resourceGroup,
        sqlResourceGroup: p.sqlServer.resourceGroup,
        server: p.sqlServer.name,
        region: other.spec.region,
      });
    }
    const groups = new Set(listed.resourceGroups);
    const servers = new Set(listed.sqlServersByRegion.get(region) ?? []);
    let unlistedTenants = 0;
    for (const p of placed) {
      if (!groups.has(p.resourceGroup.toLowerCase())) unlistedTenants++;
      groups.add(p.resourceGroup.toLowerCase());
      groups.add(p.sqlResourceGroup.toLowerCase());
      if (p.region === region) servers.add(p.server.toLowerCase());
    }
    const poolGroup = sharedPoolResourceGroup(region, environment);
    const usage = {
      resourceGroups: groups.size,
      sqlServersInRegion: servers.size,
      // Each placed tenant whose group Azure does not list yet will assign two roles.
      roleAssignments: listed.roleAssignments + 2 * unlistedTenants,
    };
    this.#exportPlacedUsage(shard, region, usage);
    return {
      shard,
      usage,
      existingServers: new Set(listed.sqlServersByRegion.get(region) ?? []),
      poolGroupExists: listed.resourceGroups.has(poolGroup.toLowerCase()),
      pool:
        isolation === 'Shared'
          ? await this.#observePool(tenant, database, shard.id, this.azure.placement.maxDatabasesPerServer, signal)
          : [],
    };
  }

  /**
   * The shared servers of the tenant's pool, in order, up to the first with room: what Azure lists
   * on each (without `master`), with the databases placed there and not created yet (this
   * process's reservations, and every tenant whose recorded placement names the server).
   */
  async #observePool(
    tenant: Tenant,
    database: string,
    subscriptionId: string,
    max: number,
    signal?: AbortSignal,
  ): Promise<SharedServerObservation[]> {
    const { region, environment } = tenant.spec;
    const group = sharedPoolResourceGroup(region, environment);
    // Databases of tenants whose recorded placement names a server of this pool, by server id.
    const placedHere = new Map<string, Set<string>>();
    for (const raw of this.ctx.caches.tenants.list()) {
      const other = raw as unknown as Tenant;
      const p = other.status?.placement;
      if (!p?.sqlServer.shared || other.metadata.name === tenant.metadata.name || other.spec?.environment === undefined) continue;
      const id = sqlServerId(resourceGroupId(p.subscriptionId, p.sqlServer.resourceGroup), p.sqlServer.name).toLowerCase();
      placedHere.set(id, (placedHere.get(id) ?? new Set<string>()).add(tenantNames(other, this.azure).sqlDatabase));
    }
    const arm = this.arm.withSignal(signal);
    const pool: SharedServerObservation[] = [];
    // Azure allows at most 250 servers per subscription and region.
    for (let index = 1; index <= 250; index++) {
      const name = sharedServerName(region, environment, index, this.azure.nameSalt, subscriptionId);
      const id = sqlServerId(resourceGroupId(subscriptionId, group), name);
      const names = new Set(await this.#listedDatabases(arm, id));
      for (const n of [...(this.#reserved.get(id.toLowerCase()) ?? []), ...(placedHere.get(id.toLowerCase()) ?? [])])
        names.add(n.toLowerCase());
      const holdsTenantDatabase = names.has(database.toLowerCase());
      names.delete(database.toLowerCase());
      const observation = { index, name, databases: names.size, holdsTenantDatabase };
      pool.push(observation);
      if (holdsTenantDatabase || names.size < max) break;
    }
    return pool;
  }

  /**
   * A shard's usage as Azure lists it, re-read once it is older than PLACEMENT_LISTING_TTL_MS.
   * Placements in between count on top of it (this process's, and every placed tenant in the
   * cache), so only what others create in the subscription meanwhile is missed; re-reading three
   * subscription-wide lists for every new tenant would cost each of 3,000 onboarding tenants
   * thousands of listed items, one placement at a time.
   */
  async #listedUsage(arm: Pick<ArmClient, 'list'>, shard: Shard): Promise<SubscriptionUsage> {
    const key = shard.id.toLowerCase();
    const now = performance.now();
    const known = this.#usageListed.get(key);
    if (known !== undefined && now - known.at < PLACEMENT_LISTING_TTL_MS) return known.usage;
    const usage = await readSubscriptionUsage(arm, shard.id);
    this.#usageListed.set(key, { at: now, usage });
    this.#exportUsage(shard, usage);
    return usage;
  }

  /**
   * A pool server's databases (lower-case names, `master` excluded) as Azure lists them, re-read
   * once older than PLACEMENT_LISTING_TTL_MS. What a stale listing misses is counted anyway: this
   * process's reservations and every tenant's recorded placement. Listing each server of the pool
   * for every new tenant cost O(databases) per placement (hundreds per server at 3000 tenants),
   * for the operator and for ARM's read budget.
   */
  async #listedDatabases(arm: Pick<ArmClient, 'list'>, serverId: string): Promise<ReadonlySet<string>> {
    const key = serverId.toLowerCase();
    const now = performance.now();
    const known = this.#databasesListed.get(key);
    if (known !== undefined && now - known.at < PLACEMENT_LISTING_TTL_MS) return known.names;
    const listed = await arm.list(`${serverId}/databases`, SQL_API_VERSION);
    const names = new Set(listed.map((d) => String(d.name ?? '').toLowerCase()).filter((n) => n !== '' && n !== 'master'));
    this.#databasesListed.set(key, { at: now, names });
    return names;
  }

  /** Capacity per subscription and region, as last read (metrics; never per reconcile). */
  #exportUsage(shard: Shard, usage: SubscriptionUsage): void {
    const m = this.ctx.metrics;
    if (m?.subscriptionUsage === undefined) return;
    const subscription = shard.id;
    m.subscriptionUsage.set({ subscription, region: '', quota: 'resource_groups' }, usage.resourceGroups.size);
    m.subscriptionLimit.set({ subscription, region: '', quota: 'resource_groups' }, shard.limits.resourceGroups);
    m.subscriptionUsage.set({ subscription, region: '', quota: 'role_assignments' }, usage.roleAssignments);
    m.subscriptionLimit.set({ subscription, region: '', quota: 'role_assignments' }, shard.limits.roleAssignments);
    const regions = new Set([...(shard.regions ?? []), ...usage.sqlServersByRegion.keys()]);
    for (const region of regions) {
      m.subscriptionUsage.set({ subscription, region, quota: 'sql_servers' }, usage.sqlServersByRegion.get(region)?.size ?? 0);
      m.subscriptionLimit.set({ subscription, region, quota: 'sql_servers' }, shard.limits.sqlServersPerRegion);
    }
  }

  /** The usage a placement decided on (the listing plus the placements Azure does not list yet). */
  #exportPlacedUsage(shard: Shard, region: string, usage: ShardUsage): void {
    const m = this.ctx.metrics;
    if (m?.subscriptionUsage === undefined) return;
    const subscription = shard.id;
    m.subscriptionUsage.set({ subscription, region: '', quota: 'resource_groups' }, usage.resourceGroups);
    m.subscriptionUsage.set({ subscription, region: '', quota: 'role_assignments' }, usage.roleAssignments);
    m.subscriptionUsage.set({ subscription, region, quota: 'sql_servers' }, usage.sqlServersInRegion);
    m.subscriptionLimit.set({ subscription, region, quota: 'sql_servers' }, shard.limits.sqlServersPerRegion);
  }

  /**
   * Reads every configured subscription once (start-up and a slow timer): refreshes the capacity
   * metrics, and reports a subscription that does not exist or that the operator cannot read.
   * Never throws.
   */
  async checkSubscriptions(signal?: AbortSignal): Promise<{ subscription: string; problem?: string }[]> {
    const arm = this.arm.withSignal(signal);
    const results: { subscription: string; problem?: string }[] = [];
    for (const shard of subscriptionShards(this.azure)) {
      try {
        const usage = await readSubscriptionUsage(arm, shard.id);
        this.#usageListed.set(shard.id.toLowerCase(), { at: performance.now(), usage });
        this.#exportUsage(shard, usage);
        this.ctx.metrics?.subscriptionReadable?.set({ subscription: shard.id }, 1);
        results.push({ subscription: shard.id });
      } catch (err) {
        const failure = classifyAzureError(err);
        this.ctx.metrics?.subscriptionReadable?.set({ subscription: shard.id }, 0);
        this.ctx.logger.error('subscription not usable for placement', {
          subscription: shard.id,
          reason: failure.reason,
          error: failure.message,
        });
        results.push({ subscription: shard.id, problem: `${failure.reason}: ${failure.message}` });
      }
    }
    return results;
  }

  /** This instance's ownership tag: resources tagged by another instance are left alone. */
  #owner(): { tag: string; value: string } {
    return { tag: AZURE_TAGS.instance, value: this.azure.instanceName };
  }

  /** Facts known from the names and the last recorded status, without reading ARM. */
  #derivedFacts(tenant: Tenant, plan: TenantAzurePlan): AzureFacts {
    const ids = tenantAzureIds(plan.subscriptionId, plan.names, plan.sharedSql);
    const previous = tenant.status?.azure;
    return {
      subscriptionId: plan.subscriptionId,
      resourceGroup: plan.names.resourceGroup,
      sqlResourceGroup: plan.sharedSql?.resourceGroup,
      keyVaultName: plan.names.keyVault,
      databaseName: plan.names.sqlDatabase,
      azureTenantId: plan.directoryTenantId,
      wafPolicyId: ids.wafPolicy,
      identityClientId: previous?.identityClientId,
      keyVaultUri: previous?.keyVaultUri,
      sqlServerFqdn: previous?.sqlServerFqdn,
      earliestRestorePoint: previous?.earliestRestorePoint,
      retention: plan.backup ? { shortTerm: plan.backup.shortTerm, longTerm: plan.backup.longTerm } : undefined,
      privateEndpoints: plan.privateEndpoints.configured ? previous?.privateEndpoints : undefined,
      keyVersion: previous?.keyVersion,
      keyCreatedAt: previous?.keyCreatedAt,
      keyExpiresAt: previous?.keyExpiresAt,
      sqlKeyVersion: previous?.sqlKeyVersion,
      threatDetection: previous?.threatDetection,
      auditRetentionDays: previous?.auditRetentionDays,
      // Verified converged: a wanted pool is there.
      nodePoolReady: plan.nodePool.kind === 'dedicated',
      nodePool: plan.nodePool.kind === 'dedicated' ? plan.nodePool.pool.name : undefined,
      databaseHost: previous?.databaseHost,
      geoReplication: plan.geoReplication.enabled ? previous?.geoReplication : undefined,
    };
  }

  /**
   * One non-blocking pass over the tenant's Azure resources. Never throws for an Azure failure:
   * it comes back in `failure` (classified) and in the conditions.
   */
  async reconcile(tenant: Tenant, plan: TenantAzurePlan, signal?: AbortSignal): Promise<AzureStepResult> {
    const now = this.ctx.clock.now();
    const fingerprint = hashOf(plan);
    const previous = tenant.status?.azure;
    const intervalMs = this.azure.driftCheckIntervalSeconds * 1000;
    const verifiedAt = previous?.verified?.fingerprint === fingerprint ? Date.parse(previous.verified.at) : Number.NaN;
    const age = now.getTime() - verifiedAt;
    const poolToRemove = plan.nodePool.kind !== 'dedicated' && tenant.status?.nodePool !== undefined;
    if ((previous?.operations?.length ?? 0) === 0 && !poolToRemove && age >= 0 && age < intervalMs) {
      this.ctx.metrics.azureStateChecks.inc({ source: 'cache' });
      return {
        facts: this.#derivedFacts(tenant, plan),
        conditions: this.#conditions(plan, undefined, new Map()),
        // Verified converged: the database is as planned, unless a change of it is held.
        informational: [
          zoneRedundancyCondition(plan, plan.zoneRedundancy.held ? undefined : plan.zoneRedundancy.zoneRedundant),
          geoReplicationCondition(plan, previous?.geoReplication),
        ],
        record: { verified: previous?.verified },
      };
    }
    this.ctx.metrics.azureStateChecks.inc({ source: 'azure' });
    const resources = tenantAzureResources(plan);
    const arm = this.arm.withSignal(signal);
    const uid = tenant.metadata.uid ?? tenant.metadata.name;
    const known = this.#episode(uid, fingerprint, now.getTime(), intervalMs);
    const pending = (previous?.operations ?? []) as PendingOperation[];
    const owner = this.#owner();
    const pass = await reconcileResources(arm, resources, { pending, now, known: known.ready, owner });
    // A convergence found partly on trust is as old as the oldest read it trusts: the verified
    // check is stamped with that time, so the drift-check interval runs from when each resource was
    // last read, without reading all of them again at the end of every creation (a quarter of a
    // creation's ARM reads, with their CPU in the operator and in ARM).
    let oldestRead = now.getTime();
    for (const key of pass.trusted) oldestRead = Math.min(oldestRead, known.readAt.get(key) ?? now.getTime());
    for (const [key, report] of pass.reports) {
      const body = pass.outputs.get(key);
      // A finding (Ready, but not as promised) is read again on every pass, never trusted.
      if (report.phase === 'Ready' && report.error === undefined && body !== undefined && report.id !== undefined) {
        known.ready.set(key, { id: report.id, body });
        if (!pass.trusted.has(key)) known.readAt.set(key, now.getTime());
      } else {
        known.ready.delete(key);
        known.readAt.delete(key);
      }
    }
    if (pass.converged && pass.changes.length === 0) this.#episodes.delete(uid);
    this.#recordChanges(tenant, pass.changes);
    const startedAt = new Map(pass.pending.map((p) => [p.key, p.startedAt]));
    const failures = [...pass.reports.values()].flatMap((r) => (r.error ? [r.error] : []));
    const surfaced = worst(failures);
    const failure = this.#withRbacRetry(surfaced);
    const conditions = this.#conditions(plan, pass, startedAt, tenant.status?.conditions);
    const converged = pass.converged && pass.changes.length === 0 && plan.backup !== undefined;
    // Recorded only when the trust is worth something (a drift-check interval), and re-stamped only
    // when it changed or ran out: one status write per tenant per interval, never one per pass.
    const verified =
      converged && intervalMs > 0
        ? previous?.verified?.fingerprint === fingerprint && age >= 0 && age < intervalMs
          ? previous.verified
          : { fingerprint, at: new Date(oldestRead).toISOString() }
        : undefined;
    const pollMs = this.azure.operationPollSeconds * 1000;
    const database = pass.reports.get('sqlDatabase');
    // Shared again (the maintenance gate let the change through): the pods left the pool with the
    // Deployment written after this step, so the pool goes, one step per pass.
    const removal = poolToRemove ? await this.#removeNodePool(tenant, signal) : undefined;
    const facts = this.#facts(plan, pass, previous?.privateEndpoints);
    if (removal !== undefined && !removal.finished) facts.nodePool = tenant.status?.nodePool;
    const operations = [...pass.pending, ...(removal?.pending ?? [])];
    // A node pool being deleted is an operation running too: look again when it may have ended.
    const removing = removal !== undefined && !removal.finished;
    const reported = failure ?? removal?.failure;
    const besideResources =
      surfaced !== undefined
        ? nextLookBesideFailure(pass, surfaced, now.getTime(), pollMs, (e) => this.#withRbacRetry(e))
        : pass.converged
          ? undefined
          : nextLook(pass, now.getTime(), pollMs);
    const besideFailureMs = removing ? Math.min(pollMs, besideResources ?? pollMs) : besideResources;
    return {
      facts,
      conditions,
      informational: [
        zoneRedundancyCondition(
          plan,
          observedZoneRedundant(pass.outputs.get('sqlDatabase')),
          plan.backup === undefined
            ? new TerminalError('BackupPolicyNotFound', 'the database waits for the tenant’s BackupPolicy (see DatabaseReady).')
            : database?.error,
        ),
        geoReplicationCondition(
          plan,
          geoFacts(plan, pass.outputs.get('failoverGroup'), undefined).geoReplication,
          pass.reports.get('failoverGroup')?.error ??
            [...pass.reports.values()].find((r) => r.key.startsWith('geo.') && r.error !== undefined)?.error,
        ),
      ],
      record: {
        operations: operations.length > 0 ? operations : undefined,
        verified: removal !== undefined && !removal.finished ? undefined : verified,
      },
      failure: reported,
      requeueAfterMs: pass.converged && !removing ? undefined : nextLook(pass, now.getTime(), pollMs),
      ...(reported === undefined ? {} : { besideFailureMs }),
      ...(previous?.verified?.fingerprint === fingerprint && pass.changes.length > 0 ? { drift: pass.changes } : {}),
    };
  }

  #episode(uid: string, fingerprint: string, now: number, intervalMs: number): Episode {
    const current = this.#episodes.get(uid);
    if (current && current.fingerprint === fingerprint && now - current.startedAt < Math.max(intervalMs, 60_000)) return current;
    const fresh: Episode = { fingerprint, startedAt: now, ready: new Map(), readAt: new Map() };
    this.#episodes.set(uid, fresh);
    // Tenants removed without a release (a finalizer removed by hand) must not leak.
    if (this.#episodes.size % 256 === 0) {
      for (const [key, e] of this.#episodes) if (now - e.startedAt >= Math.max(intervalMs, 60_000)) this.#episodes.delete(key);
    }
    return fresh;
  }

  /** Forgets what a tenant's earlier passes found (it is being released or deleted). */
  forget(tenant: Tenant): void {
    this.#episodes.delete(tenant.metadata.uid ?? tenant.metadata.name);
  }

  /** A write refused while a role assignment propagates is retried after the configured wait. */
  #withRbacRetry(failure: AzureFailure | undefined): AzureFailure | undefined {
    if (failure?.reason !== 'AzureRbacPropagating' || !(failure instanceof RetryableError)) return failure;
    return new RetryableError(failure.reason, failure.message, {
      cause: failure.cause,
      retryAfterMs: this.azure.rbacPropagationRetrySeconds * 1000,
    });
  }

  #facts(plan: TenantAzurePlan, pass: PassResult, previousEndpoints: PrivateEndpointAddresses | undefined): AzureFacts {
    const ids = tenantAzureIds(plan.subscriptionId, plan.names, plan.sharedSql);
    const identity = identityOutputs(pass.outputs.get('identity'));
    const vault = pass.outputs.get('keyVault');
    const server = sqlServerOutputs(pass.outputs.get('sqlServer'));
    const database = databaseOutputs(pass.outputs.get('sqlDatabase'));
    const shortTerm = pass.outputs.get('sqlShortTermRetention');
    const longTerm = pass.outputs.get('sqlLongTermRetention');
    const key = keyVersionOf(pass.outputs.get('tdeKey'));
    return {
      subscriptionId: plan.subscriptionId,
      resourceGroup: plan.names.resourceGroup,
      sqlResourceGroup: plan.sharedSql?.resourceGroup,
      keyVaultName: plan.names.keyVault,
      databaseName: plan.names.sqlDatabase,
      azureTenantId: identity.tenantId ?? plan.directoryTenantId,
      identityClientId: identity.clientId,
      keyVaultUri: vault === undefined ? undefined : str(props(vault).vaultUri),
      sqlServerFqdn: server.fullyQualifiedDomainName,
      databaseStatus: database.status,
      earliestRestorePoint:
        database.earliestRestoreDate === undefined ? undefined : new Date(database.earliestRestoreDate).toISOString(),
      wafPolicyId: pass.reports.get('wafPolicy')?.phase === 'Ready' ? ids.wafPolicy : undefined,
      retention:
        shortTerm === undefined && longTerm === undefined
          ? undefined
          : { shortTerm: shortTermOf(shortTerm), longTerm: longTermRetentionOf(longTerm) },
      privateEndpoints: plan.privateEndpoints.configured
        ? endpointAddresses(pass, geoReplicationOn(plan, previousEndpoints))
        : undefined,
      keyVersion: key?.version,
      keyCreatedAt: key?.createdAt?.toISOString(),
      keyExpiresAt: key?.expiresAt?.toISOString(),
      sqlKeyVersion: plan.sharedSql
        ? databaseKeyOf(pass.outputs.get('sqlDatabase')).encryptionProtector?.split('/').pop()
        : protectorKeyVersion(pass.outputs.get('sqlEncryptionProtector')),
      threatDetection: threatDetectionState(pass.outputs.get('sqlThreatProtection')),
      auditRetentionDays: tableRetentionDays(pass.outputs.get('auditRetention')),
      nodePoolReady: pass.reports.get('nodePool')?.phase === 'Ready',
      nodePool: plan.nodePool.kind === 'dedicated' ? plan.nodePool.pool.name : undefined,
      ...geoFacts(plan, pass.outputs.get('failoverGroup'), server.fullyQualifiedDomainName),
    };
  }

  /**
   * Conditions per component. A retryable failure of a component that was True keeps it True
   * (a throttling storm changes nothing about what exists, and must not page or flap Argo CD);
   * terminal and platform failures, and anything not yet provisioned, show at once.
   */
  #conditions(
    plan: TenantAzurePlan,
    pass: PassResult | undefined,
    startedAt: Map<string, string>,
    previous?: readonly { type: string; status: string; reason?: string; message?: string }[],
  ): ConditionInput[] {
    const list: ConditionInput[] = [];
    // Resources no component stands for (the resource group): their failure blocks every component
    // waiting behind it, and must show there, not as "Provisioning" forever.
    const covered = new Set(Object.values(COMPONENTS).flatMap((c) => c.keys));
    const sharedFailure = pass ? [...pass.reports.values()].find((r) => !covered.has(r.key) && r.error !== undefined) : undefined;
    for (const [type, component] of Object.entries(COMPONENTS)) {
      const ready = type === 'WafEnforced' ? wafMessage(plan) : component.ready;
      if (type === 'DatabaseReady' && plan.backup === undefined) {
        list.push({
          type,
          status: 'False',
          reason: 'BackupPolicyNotFound',
          message:
            'The tenant’s BackupPolicy is missing or invalid: the database is neither created nor changed until it exists (see BackupHealthy).',
        });
        continue;
      }
      if (type === 'NodePoolReady' && plan.nodePool.kind !== 'dedicated') {
        list.push(
          plan.nodePool.kind === 'shared'
            ? { type, status: 'True', reason: 'SharedNodes', message: 'Isolation Shared: the tenant runs on the shared nodes.' }
            : {
                type,
                status: 'False',
                reason: 'NodePoolNotConfigured',
                message:
                  'Isolation Dedicated, but the operator configuration names no AKS cluster (azure.cluster): the platform team must configure it; the tenant runs on the shared nodes meanwhile.',
              },
        );
        continue;
      }
      if (pass === undefined) {
        list.push({ type, status: 'True', reason: type === 'WafEnforced' ? wafReason(plan) : 'Provisioned', message: ready });
        continue;
      }
      const reports = component.keys.flatMap((k) => {
        const r = pass.reports.get(k);
        return r ? [r] : [];
      });
      const failed =
        reports.find((r) => r.error !== undefined) ?? (reports.some((r) => r.phase === 'Waiting') ? sharedFailure : undefined);
      const notReady = reports.filter((r) => r.phase !== 'Ready');
      const was = previous?.find((c) => c.type === type);
      if (failed?.error) {
        const e = failed.error;
        if (e instanceof RetryableError && !(e instanceof PlatformError) && was?.status === 'True') {
          list.push({ type, status: 'True', reason: was.reason ?? 'Provisioned', message: was.message ?? ready });
        } else {
          const hint =
            e.reason === 'AzureReferenceNotFound'
              ? ` (the operator configuration names it: azure.privateEndpoints.subnets.${plan.region} or azure.privateDnsZones)`
              : '';
          list.push({ type, status: 'False', reason: e.reason, message: `${e.message}${hint}` });
        }
        continue;
      }
      if (notReady.length > 0) {
        list.push({
          type,
          status: 'False',
          reason: 'Provisioning',
          message: `${component.provisioning}: ${notReady.map((r) => describeReport(r, startedAt)).join('; ')}.`,
        });
        continue;
      }
      list.push({ type, status: 'True', reason: type === 'WafEnforced' ? wafReason(plan) : 'Provisioned', message: ready });
    }
    withoutPrivateEndpoints(plan, list);
    const all = list.every((c) => c.status === 'True');
    const firstFalse = list.find((c) => c.status !== 'True');
    list.push({
      type: 'AzureResourcesReady',
      status: all ? 'True' : 'False',
      reason: all ? 'Provisioned' : (firstFalse?.reason ?? 'Provisioning'),
      message: all
        ? 'Every Azure resource of the tenant is in place.'
        : (firstFalse?.message ?? 'Some Azure resources are still being created.'),
    });
    return list;
  }

  #recordChanges(tenant: Tenant, changes: ArmChange[]): void {
    if (changes.length === 0) return;
    const lines = changes.map((c) => `${c.label} (${c.what.join(', ')})`);
    for (const line of lines) {
      this.ctx.recorder.audit({
        subject: { kind: 'Tenant', name: tenant.metadata.name, generation: tenant.metadata.generation },
        action: `azure write ${line}`,
        result: 'ok',
      });
    }
    // During the first provisioning the audit lines suffice; one Provisioned Event ends it (reconciler).
    if (!tenant.status?.provisionedAt) return;
    this.ctx.recorder
      .event(tenant as unknown as KubeObject, 'Normal', 'AzureApplied', `Azure: ${lines.join('; ')}`)
      .catch(() => {});
  }

  /**
   * Deletes the tenant's dedicated node pool, one step per pass. A deleted tenant's pool is looked
   * for by name whatever its status says (a lost status must not leak a pool of nodes); a tenant
   * Shared again only when status recorded a pool (one GET per Shared tenant per pass otherwise).
   * Nothing to do without a configured cluster.
   */
  async #removeNodePool(tenant: Tenant, signal?: AbortSignal, lookAlways = false): Promise<TeardownResult> {
    const wanted = lookAlways || tenant.status?.nodePool !== undefined;
    const inventory = wanted ? tenantNodePoolInventory(tenant, this.azure) : [];
    const outcome = await deleteResources(this.arm.withSignal(signal), inventory, {
      pending: (tenant.status?.azure?.operations ?? []) as PendingOperation[],
      now: this.ctx.clock.now(),
      owner: this.#owner(),
    });
    this.#recordChanges(tenant, outcome.changes);
    return outcome;
  }

  /**
   * deletionPolicy Retain, one step per pass: every existing resource tagged as orphaned, found
   * by id (names only), so a tenant refused for its region or policy is released all the same.
   */
  async release(tenant: Tenant, signal?: AbortSignal): Promise<AzureTeardown> {
    this.forget(tenant);
    // The node pool holds no customer data: it goes whatever the deletionPolicy (node-pool.ts).
    const pool = await this.#removeNodePool(tenant, signal, true);
    if (!pool.finished) return teardown(pool);
    const names = tenantNames(tenant, this.azure);
    const placement = tenant.status?.placement;
    const outcome = await releaseResources(
      this.arm.withSignal(signal),
      tenantReleaseInventory(
        placement?.subscriptionId ?? this.azure.subscriptionId,
        names,
        sharedServerOf(placement),
        tenantGeoNames(tenant, this.azure),
      ),
      {
        pending: (tenant.status?.azure?.operations ?? []) as PendingOperation[],
        now: this.ctx.clock.now(),
        owner: this.#owner(),
      },
    );
    this.#recordChanges(tenant, outcome.changes);
    return teardown(outcome);
  }

  /**
   * deletionPolicy Delete, one step per pass, and never before a final backup really exists:
   * 1. the database keeps long-term backups (its policy, else `finalRetention`);
   * 2. a long-term backup taken after the deletion was requested exists (Azure takes them from
   *    the weekly full backup, so this can take up to a week: the Tenant says so meanwhile);
   * 3. then database, server, identity and WAF policy are deleted, children first;
   * 4. the vault and its resource group are kept, tagged with the last day a retained backup may
   *    need the key (`tenancy.dev-keep-until`): a backup encrypted with a purged key is lost.
   */
  async delete(tenant: Tenant, finalRetention: LongTermRetention, signal?: AbortSignal): Promise<AzureTeardown> {
    this.forget(tenant);
    const pool = await this.#removeNodePool(tenant, signal, true);
    if (!pool.finished) return teardown(pool);
    const arm = this.arm.withSignal(signal);
    const names = tenantNames(tenant, this.azure);
    const placement = tenant.status?.placement;
    const subscriptionId = placement?.subscriptionId ?? this.azure.subscriptionId;
    const shared = sharedServerOf(placement);
    const ids = tenantAzureIds(subscriptionId, names, shared);
    const now = this.ctx.clock.now();
    const pending = (tenant.status?.azure?.operations ?? []) as PendingOperation[];
    const requestedAt = tenant.metadata.deletionTimestamp ? new Date(tenant.metadata.deletionTimestamp) : now;
    try {
      // 0. A failed-over tenant is brought home first (see failBackBeforeDeletion).
      if (!shared) {
        const home = await failBackBeforeDeletion(
          arm,
          `${ids.sqlServer}/failoverGroups/${tenantGeoNames(tenant, this.azure).failoverGroup}`,
        );
        if (home.waitingFor !== undefined) {
          if (home.requested) {
            this.#recordChanges(tenant, [
              {
                key: 'failoverGroup',
                label: `failover group ${tenantGeoNames(tenant, this.azure).failoverGroup}`,
                id: ids.sqlServer,
                what: ['failed back to the home region before deletion'],
              },
            ]);
          }
          return { finished: false, operations: pending, waitingFor: home.waitingFor };
        }
      }
      const database = await arm.get(ids.database, SQL_API_VERSION);
      if (database !== undefined) {
        const location = str(database.location) ?? tenant.spec.region;
        // 1. Long-term retention on the database (written through the engine, never waited for).
        const ltrPass = await reconcileResources(
          arm,
          [
            {
              key: 'sqlLongTermRetention',
              dependsOn: [],
              kind: sqlLongTermRetentionKind as never,
              params: () => ({ databaseId: ids.database, retention: finalRetention }),
            },
          ],
          { pending, now },
        );
        const observedLtr = longTermRetentionOf(ltrPass.outputs.get('sqlLongTermRetention'));
        const keeps = keepsLongTermBackups(observedLtr);
        if (!keeps && !keepsLongTermBackups(finalRetention)) {
          return {
            finished: false,
            operations: [],
            failure: new TerminalError(
              'FinalBackupRetentionMissing',
              'The database keeps no long-term backup and the final-backup retention keeps none either; refusing to delete it.',
            ),
          };
        }
        if (!ltrPass.converged && !keeps) {
          this.#recordChanges(tenant, ltrPass.changes);
          const error = [...ltrPass.reports.values()].find((r) => r.error)?.error;
          return {
            finished: false,
            operations: ltrPass.pending,
            waitingFor: 'long-term retention is being set on the database',
            failure: error,
          };
        }
        // 2. A long-term backup newer than the deletion request.
        const backups = await arm.list(
          `/subscriptions/${subscriptionId}/providers/Microsoft.Sql/locations/${location}/longTermRetentionServers/${shared?.name ?? names.sqlServer}/longTermRetentionDatabases/${names.sqlDatabase}/longTermRetentionBackups`,
          LTR_BACKUPS_API_VERSION,
        );
        const final = backups
          .map((b) => ({
            at: Date.parse(str(props(b).backupTime) ?? ''),
            expires: Date.parse(str(props(b).backupExpirationTime) ?? ''),
          }))
          .filter((b) => b.at >= requestedAt.getTime())
          .sort((a, b) => b.expires - a.expires)[0];
        if (final === undefined) {
          return {
            finished: false,
            operations: [],
            waitingFor: `a long-term backup taken after the deletion was requested (${requestedAt.toISOString()}); Azure takes long-term copies from the weekly full backup, so the database is kept until then`,
          };
        }
        // 4 (first, so the key outlives the backups even if a later step fails): keep the vault.
        const keepUntil = new Date(
          Math.max(final.expires, ...backups.map((b) => Date.parse(str(props(b).backupExpirationTime) ?? '') || 0)),
        );
        await this.#keepVault(arm, ids.vault, keepUntil, tenant);
      }
      // 3. Delete children first.
      const outcome = await deleteResources(
        arm,
        tenantDeleteInventory(subscriptionId, names, shared, tenantGeoNames(tenant, this.azure)),
        { pending, now, owner: this.#owner() },
      );
      this.#recordChanges(tenant, outcome.changes);
      if (outcome.finished) await this.#keepVault(arm, ids.vault, undefined, tenant);
      return teardown(outcome);
    } catch (err) {
      return { finished: false, operations: pending, failure: classifyAzureError(err) };
    }
  }

  /** Tag the vault (and its group) orphaned and, when known, with the day its key may go. */
  async #keepVault(arm: ArmClient, vault: string, keepUntil: Date | undefined, tenant: Tenant): Promise<void> {
    const observed = await arm.get(vault, KEY_VAULT_API_VERSION);
    if (observed === undefined) return;
    const tags = (observed.tags ?? {}) as Record<string, string>;
    const until = keepUntil
      ? new Date(Math.max(keepUntil.getTime(), Date.parse(tags[AZURE_TAGS.keepUntil] ?? '') || 0)).toISOString().slice(0, 10)
      : tags[AZURE_TAGS.keepUntil];
    if (tags[AZURE_TAGS.orphaned] === 'true' && tags[AZURE_TAGS.keepUntil] === until) return;
    await arm.beginWrite('PATCH', vault, KEY_VAULT_API_VERSION, {
      tags: { ...tags, [AZURE_TAGS.orphaned]: 'true', ...(until ? { [AZURE_TAGS.keepUntil]: until } : {}) },
    });
    this.#recordChanges(tenant, [
      {
        key: 'keyVault',
        label: `key vault ${vault.split('/').pop()}`,
        id: vault,
        what: ['kept', `until ${until ?? 'released by hand'}`],
      },
    ]);
  }
}

/** Azure's answers to a failover request that mean "not now, look again": one runs, or it seeds. */
const FAILOVER_NOT_NOW = new Set(['FailoverGroupBusy', 'InvalidDatabaseStateForOperation']);

/**
 * Before a tenant's Azure resources are deleted: when a failover (a drill, or a real one) left the
 * primary role in the paired region, a planned failover brings it home, with no data lost (Azure
 * synchronizes first). The deletion's order and its data-keeping steps then hold as for any
 * tenant: the home database is the primary whose long-term retention and final backup are checked
 * (the one with the data), the failover group is deleted from the home server (Azure refuses a
 * delete on the secondary's copy), then the secondary server with its geo-secondary, then the rest.
 * Level-based: the group's role is read each pass; a request while one runs is answered 409
 * FailoverGroupBusy, which is waiting too. `waitingFor` undefined: home is primary (or no group).
 */
export async function failBackBeforeDeletion(
  arm: Pick<ArmClient, 'get' | 'beginAction'>,
  homeGroupId: string,
): Promise<{ waitingFor?: string | undefined; requested?: boolean }> {
  const group = await arm.get(homeGroupId, SQL_FAILOVER_GROUP_API_VERSION);
  if (group === undefined || props(group).replicationRole !== 'Secondary') return {};
  const waitingFor =
    'the database to fail back to its home region before deletion (a planned failover: no data lost; its final backup is taken there)';
  try {
    await arm.beginAction(`${homeGroupId}/failover`, SQL_FAILOVER_GROUP_API_VERSION);
    return { waitingFor, requested: true };
  } catch (err) {
    if (err instanceof ArmRequestError && err.code !== undefined && FAILOVER_NOT_NOW.has(err.code)) return { waitingFor };
    throw err;
  }
}

/**
 * Pure: the tenant's ZoneRedundant condition (informational: a database in one zone still serves,
 * so it never makes the tenant un-Ready). `observed`: what Azure reports for the database
 * (undefined while it does not exist or was not read); `failure`: the database's own failure.
 */
export function zoneRedundancyCondition(
  plan: Pick<TenantAzurePlan, 'zoneRedundancy' | 'region'>,
  observed: boolean | undefined,
  failure?: AzureFailure | undefined,
): ConditionInput {
  const { zoneRedundant, reason, message, held } = plan.zoneRedundancy;
  const type = 'ZoneRedundant';
  if (!zoneRedundant) return { type, status: 'False', reason, message };
  if (observed === true) return { type, status: 'True', reason, message };
  if (failure) return { type, status: 'False', reason: failure.reason, message: `Not zone-redundant yet: ${failure.message}` };
  if (held)
    return {
      type,
      status: 'False',
      reason: 'WaitingForWindow',
      message: `Not zone-redundant yet: turning zone redundancy on ends with a brief disconnect, so it waits for the maintenance window (UpdatePending says when); until then the database runs in one zone of ${plan.region}.`,
    };
  return {
    type,
    status: 'False',
    reason: 'Provisioning',
    message: `The database is being made zone-redundant across the availability zones of ${plan.region}.`,
  };
}

/**
 * Pure: when to look again at the rest of a pass whose worst failure (`surfaced`) is reported, or
 * undefined when every other resource merely waits behind it. Others move by themselves when an
 * operation runs, a resource is busy or becoming ready, or a hold ends at an instant; another
 * resource's own transient failure (a role still propagating) is retried after its delay
 * (`retryOf` gives the delay the operator uses for it), never after the surfaced failure's.
 */
export function nextLookBesideFailure(
  pass: PassResult,
  surfaced: AzureFailure,
  now: number,
  pollMs: number,
  retryOf: (e: AzureFailure) => AzureFailure | undefined = (e) => e,
  wallNow = Date.now(),
): number | undefined {
  const waits: number[] = [];
  const reports = [...pass.reports.values()];
  if (
    pass.pending.length > 0 ||
    reports.some((r) => r.phase === 'Busy' || r.phase === 'NotReady' || HELD_UNTIL.test(r.waitingFor ?? ''))
  )
    waits.push(nextLook(pass, now, pollMs, wallNow));
  for (const r of reports) {
    const e = r.error;
    if (e === undefined || e === surfaced || !(e instanceof RetryableError) || e instanceof PlatformError) continue;
    const retry = retryOf(e);
    waits.push(Math.max(retry instanceof RetryableError ? (retry.retryAfterMs ?? pollMs) : pollMs, 1000));
  }
  return waits.length > 0 ? Math.min(...waits) : undefined;
}

/** A resource held until an instant of Azure's real time (see the engine's notBefore). */
const HELD_UNTIL = /\(until ([^)]+)\)$/;

/**
 * Pure: what the failover group reports, as status facts, and the host the application connects
 * to: the read-write listener when geo-replication is on (it follows a failover), else the server.
 */
export function geoFacts(
  plan: Pick<TenantAzurePlan, 'geoReplication' | 'geoNames' | 'region'>,
  group: ArmBody | undefined,
  serverFqdn: string | undefined,
): Pick<AzureFacts, 'databaseHost' | 'geoReplication'> {
  if (!plan.geoReplication.enabled) return { databaseHost: serverFqdn };
  const name = plan.geoNames.failoverGroup;
  const observed = failoverGroupOutputs(group);
  if (observed === undefined) return { databaseHost: serverFqdn };
  const role = observed.role === 'Primary' || observed.role === 'Secondary' ? observed.role : undefined;
  const partnerRegion = observed.partnerLocation ?? plan.geoReplication.partnerRegion;
  return {
    databaseHost: failoverGroupListener(name),
    geoReplication: {
      failoverGroup: name,
      listener: failoverGroupListener(name),
      readOnlyListener: failoverGroupReadOnlyListener(name),
      primaryRegion: role === 'Secondary' ? partnerRegion : plan.region,
      partnerRegion,
      role,
      state: observed.replicationState,
    },
  };
}

/**
 * Pure: the geo-replication facts with their replication lag, which ARM does not report: as the
 * home database showed it this pass (`read`: sys.dm_geo_replication_link_status, over the data
 * plane's session), else as last recorded (`previous`) while the roles are unchanged. Only a
 * primary reports lag: a home database that is secondary (after a failover) or seeding has none.
 */
export function withReplicationLag(
  geo: GeoReplicationFacts | undefined,
  read: { link: GeoReplicationLink | undefined } | undefined,
  previous: GeoReplicationFacts | undefined,
): GeoReplicationFacts | undefined {
  if (geo === undefined) return undefined;
  const { lagSeconds: _lag, lastReplication: _last, ...base } = geo;
  if (read === undefined) {
    const carried = previous?.lagSeconds !== undefined && previous.role === geo.role;
    return carried ? { ...base, lagSeconds: previous.lagSeconds, lastReplication: previous.lastReplication } : base;
  }
  const link = read.link;
  if (link?.role !== 'PRIMARY' || link.lagSeconds === undefined) return base;
  return {
    ...base,
    lagSeconds: Math.max(0, Math.round(link.lagSeconds)),
    ...(link.lastReplication ? { lastReplication: link.lastReplication.toISOString().replace(/\.\d{3}Z$/, 'Z') } : {}),
  };
}

/** Forgets the secondary's endpoint address once geo-replication is off (its egress goes too). */
function geoReplicationOn(
  plan: Pick<TenantAzurePlan, 'geoReplication'>,
  previous: PrivateEndpointAddresses | undefined,
): PrivateEndpointAddresses | undefined {
  if (plan.geoReplication.enabled || previous?.sqlSecondary === undefined) return previous;
  const { sqlSecondary: _gone, ...rest } = previous;
  return rest;
}

/**
 * Pure: the tenant's GeoReplicated condition (informational: a database without its secondary
 * still serves). `observed`: the group's facts (undefined while it does not exist or was not read).
 */
export function geoReplicationCondition(
  plan: Pick<TenantAzurePlan, 'geoReplication' | 'region'>,
  observed: GeoReplicationFacts | undefined,
  failure?: AzureFailure | undefined,
): ConditionInput {
  const decision = plan.geoReplication;
  const type = 'GeoReplicated';
  if (!decision.enabled) return { type, status: 'False', reason: decision.reason, message: decision.message };
  if (failure) return { type, status: 'False', reason: failure.reason, message: `Not geo-replicated yet: ${failure.message}` };
  if (observed?.state === 'CATCH_UP') {
    const where =
      observed.role === 'Secondary'
        ? ` After a failover the database is served from ${observed.primaryRegion ?? decision.partnerRegion} and replicated back to ${plan.region}.`
        : '';
    return { type, status: 'True', reason: 'Replicating', message: `${decision.message}${where}` };
  }
  if (observed?.state === 'SEEDING')
    return {
      type,
      status: 'False',
      reason: 'Seeding',
      message: `The geo-secondary in ${decision.partnerRegion} is being seeded (a full copy of the database) before it follows the primary.`,
    };
  return {
    type,
    status: 'False',
    reason: 'Provisioning',
    message: `The geo-secondary server and failover group in ${decision.partnerRegion} are being created.`,
  };
}

/**
 * When to look again while resources are still moving: an operation that has run for a while is
 * likely to run a while longer (Azure's creates take minutes), so the wait grows with its age, from
 * `pollMs` up to 30 times that; a resource held until an instant (a role assignment propagating) is
 * looked at then. Polls that find nothing new cost ARM reads and a worker.
 */
export function nextLook(pass: PassResult, now: number, pollMs: number, wallNow = Date.now()): number {
  const waits: number[] = [];
  for (const op of pass.pending) {
    const age = Math.max(0, now - Date.parse(op.startedAt));
    waits.push(Math.min(Math.max(pollMs, age / 2), pollMs * 30));
  }
  for (const r of pass.reports.values()) {
    const until = HELD_UNTIL.exec(r.waitingFor ?? '')?.[1];
    const at = until === undefined ? Number.NaN : Date.parse(until);
    // Held until an instant of Azure's real time (see the engine's notBefore).
    if (!Number.isNaN(at)) waits.push(Math.min(Math.max(pollMs, at - wallNow), pollMs * 30));
  }
  return waits.length > 0 ? Math.min(...waits) : pollMs;
}

/**
 * The private endpoints' addresses after a pass. What Azure reports wins (the DNS record, else
 * the endpoint's own `customDnsConfigs`, which Azure empties once a zone group holds the record).
 * When a pass could not read one (a failed read, an update running), the address recorded before
 * stays: an endpoint keeps its address for its whole life. One that was just (re-)created has no
 * known address yet, so none is kept: the egress policy allows nothing for it (fails closed).
 */
export function endpointAddresses(
  pass: Pick<PassResult, 'outputs' | 'changes'>,
  previous: PrivateEndpointAddresses | undefined,
): PrivateEndpointAddresses | undefined {
  const result: PrivateEndpointAddresses = {};
  for (const service of ['sql', 'keyVault', 'sqlSecondary'] as const) {
    const observed =
      dnsZoneGroupAddress(pass.outputs.get(`privateDnsZoneGroup.${service}`)) ??
      privateEndpointAddress(pass.outputs.get(`privateEndpoint.${service}`));
    const created = pass.changes.some((c) => c.key === `privateEndpoint.${service}` && c.what.includes('created'));
    const address = observed ?? (created ? undefined : previous?.[service]);
    if (address !== undefined) result[service] = address.fqdn === undefined ? { ip: address.ip } : address;
  }
  return result.sql === undefined && result.keyVault === undefined && result.sqlSecondary === undefined ? undefined : result;
}

/**
 * Without a subnet or DNS zone in the configuration the database and vault exist but no pod can
 * reach them: their components are not Ready, and only the platform team can change that. A
 * failure of their own resources is shown first.
 */
export function withoutPrivateEndpoints(plan: Pick<TenantAzurePlan, 'privateEndpoints'>, list: ConditionInput[]): void {
  const pe = plan.privateEndpoints;
  if (pe.configured) return;
  for (const [type, what] of [
    ['DatabaseReady', 'database'],
    ['KeyVaultReady', 'Key Vault'],
  ] as const) {
    const i = list.findIndex((c) => c.type === type);
    const c = list[i];
    if (c === undefined || (c.status !== 'True' && c.reason !== 'Provisioning')) continue;
    list[i] = {
      type,
      status: 'False',
      reason: 'PrivateEndpointNotConfigured',
      message: `The ${what} has no private endpoint, so no pod can reach it: the operator configuration names no ${pe.missing.join(', ')}; the platform team must add it.`,
    };
  }
}

function teardown(outcome: TeardownResult): AzureTeardown {
  return { finished: outcome.finished, operations: outcome.pending, waitingFor: outcome.waitingFor, failure: outcome.failure };
}

function shortTermOf(body: ArmBody | undefined): ShortTermRetention | undefined {
  if (body === undefined) return undefined;
  const p = props(body);
  return {
    retentionDays: typeof p.retentionDays === 'number' ? p.retentionDays : 0,
    diffBackupIntervalInHours: p.diffBackupIntervalInHours === 24 ? 24 : 12,
  };
}

function wafReason(plan: TenantAzurePlan): string {
  return plan.waf.mode === 'Prevention' ? 'Prevention' : 'DetectionOnly';
}

function wafMessage(plan: TenantAzurePlan): string {
  return `The WAF policy runs the Default Rule Set in ${plan.waf.mode} mode with ${plan.waf.customRules.length} custom rule(s).`;
}
