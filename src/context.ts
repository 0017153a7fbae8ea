/**
 * What a reconciler needs, carried in one object: clients, caches, clock, configuration,
 * logger, metrics, events. Dependencies only: it imports no controller, so nothing that takes a
 * context is imported back (a controller's own collaborators, such as the Tenant reconciler's
 * Azure and backup steps, are handed to it directly). No module-level singletons, so tests swap any.
 */
import type { Logger } from 'winston';
import type { LongTermRetention, ShortTermRetention } from './azure/kinds/sql.ts';
import type { OperatorConfig } from './config.ts';
import type { EventRecorder } from './observability/events.ts';
import type { OperatorMetrics } from './observability/metrics.ts';
import type { Applier } from './runtime/apply.ts';
import type { Clock } from './runtime/clock.ts';
import type { Informer } from './runtime/informer.ts';
import type { KubeClient } from './runtime/kube-client.ts';

export interface Caches {
  tenants: Informer;
  backupPolicies: Informer;
  maintenanceWindows: Informer;
  namespaces: Informer;
  /** One cache per namespaced kind the operator owns (see OWNED_NAMESPACED_KINDS), if the cluster serves it. */
  owned: Map<string, Informer>;
}

/**
 * What the Azure side reports about a tenant, for the Kubernetes objects that need it
 * (workload identity, SecretProviderClass, WAF policy) and for status. Never a secret.
 */
export interface AzureFacts {
  /** The subscription the tenant's resources live in: its placement's shard (the pass's plan). */
  subscriptionId?: string | undefined;
  resourceGroup?: string | undefined;
  /** Resource group of the SQL server when it is not the tenant's own (a shared server). */
  sqlResourceGroup?: string | undefined;
  identityClientId?: string | undefined;
  azureTenantId?: string | undefined;
  keyVaultName?: string | undefined;
  keyVaultUri?: string | undefined;
  sqlServerFqdn?: string | undefined;
  databaseName?: string | undefined;
  /** The database's status as this pass read it (`Online`, `Paused`, ...); absent when not read. */
  databaseStatus?: string | undefined;
  earliestRestorePoint?: string | undefined;
  wafPolicyId?: string | undefined;
  /**
   * The addresses of the tenant's private endpoints, as Azure reports them. Absent while unknown:
   * the egress policy then allows nothing for that service (it never falls back to a wider range).
   */
  privateEndpoints?: PrivateEndpointAddresses | undefined;
  /** Backup retention in force on the database, as Azure reports it (or as verified). */
  retention?: { shortTerm: ShortTermRetention | undefined; longTerm: LongTermRetention | undefined } | undefined;
  /** The encryption key's current version, when it was created and when it expires (RFC 3339). */
  keyVersion?: string | undefined;
  keyCreatedAt?: string | undefined;
  keyExpiresAt?: string | undefined;
  /** The key version the SQL server's encryption protector uses. */
  sqlKeyVersion?: string | undefined;
  /** Microsoft Defender for SQL on the server. */
  threatDetection?: 'Enabled' | 'Disabled' | undefined;
  /** Days the audit workspace's table keeps records, as last read. */
  auditRetentionDays?: number | undefined;
  /** The tenant's dedicated node pool exists and is usable (isolation Dedicated): pods may be placed there. */
  nodePoolReady?: boolean | undefined;
  /** Name of the tenant's dedicated node pool while one exists or is wanted (status.nodePool). */
  nodePool?: string | undefined;
  /** The host the application connects to: the failover group's listener when geo-replicated. */
  databaseHost?: string | undefined;
  /** The database's geo-replication as Azure last reported it. */
  geoReplication?: GeoReplicationFacts | undefined;
}

/** A geo-replicated database's failover group, as Azure reports it. */
export interface GeoReplicationFacts {
  failoverGroup?: string | undefined;
  listener?: string | undefined;
  readOnlyListener?: string | undefined;
  primaryRegion?: string | undefined;
  partnerRegion?: string | undefined;
  role?: 'Primary' | 'Secondary' | undefined;
  state?: string | undefined;
  /** Seconds the geo-secondary trails the primary, as the primary database last reported it. */
  lagSeconds?: number | undefined;
  /** When the primary last heard the secondary harden its log (RFC 3339), with lagSeconds. */
  lastReplication?: string | undefined;
}

/** Where a private endpoint answers. */
export interface PrivateEndpointAddress {
  ip: string;
  fqdn?: string | undefined;
}

/** The tenant's private endpoints, by service. */
export interface PrivateEndpointAddresses {
  sql?: PrivateEndpointAddress | undefined;
  keyVault?: PrivateEndpointAddress | undefined;
  /** The geo-secondary server's endpoint (paired region): where the data is served after a failover. */
  sqlSecondary?: PrivateEndpointAddress | undefined;
}

export interface OperatorContext {
  client: KubeClient;
  applier: Applier;
  caches: Caches;
  config: OperatorConfig;
  clock: Clock;
  logger: Logger;
  metrics: OperatorMetrics;
  recorder: EventRecorder;
}
