/**
 * What a reconciler needs, carried in one object: clients, caches, clock, configuration,
 * logger, metrics, events. No module-level singletons, so tests swap any of them.
 */
import type { Logger } from 'winston';
import type { Tenant, TenantStatus } from './api/v1alpha1/tenant.ts';
import type { LongTermRetention, ShortTermRetention } from './azure/kinds/sql.ts';
import type { ResolvedPolicy } from './backup/policy.ts';
import type { TenantBackupResult } from './backup/tenant-backup.ts';
import type { OperatorConfig } from './config.ts';
import type { EventRecorder } from './observability/events.ts';
import type { OperatorMetrics } from './observability/metrics.ts';
import type { Applier } from './runtime/apply.ts';
import type { Clock } from './runtime/clock.ts';
import type { Informer } from './runtime/informer.ts';
import type { KubeClient } from './runtime/kube-client.ts';
import type { TenantAzurePlan } from './tenant/azure.ts';
import type { AzureStepResult, AzureTeardown } from './tenant/azure-step.ts';

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
  resourceGroup?: string | undefined;
  identityClientId?: string | undefined;
  azureTenantId?: string | undefined;
  keyVaultName?: string | undefined;
  keyVaultUri?: string | undefined;
  sqlServerFqdn?: string | undefined;
  databaseName?: string | undefined;
  earliestRestorePoint?: string | undefined;
  wafPolicyId?: string | undefined;
  /** Backup retention in force on the database, as Azure reports it (or as verified). */
  retention?: { shortTerm: ShortTermRetention | undefined; longTerm: LongTermRetention | undefined } | undefined;
}

/** The Azure side of a tenant, as the Tenant reconciler drives it (src/tenant/azure-step.ts). */
export interface TenantAzure {
  /** One non-blocking pass over the tenant's Azure resources (see TenantAzureStep.reconcile). */
  reconcile(tenant: Tenant, plan: TenantAzurePlan, signal?: AbortSignal): Promise<AzureStepResult>;
  /** deletionPolicy Retain, one step per pass: everything kept, tagged as orphaned. */
  release(tenant: Tenant, signal?: AbortSignal): Promise<AzureTeardown>;
  /** deletionPolicy Delete, one step per pass, after a final backup really exists. */
  delete(tenant: Tenant, finalRetention: LongTermRetention, signal?: AbortSignal): Promise<AzureTeardown>;
  /** The operator's Azure configuration. */
  readonly azure: NonNullable<OperatorConfig['azure']>;
}

/** The backup side of a tenant (src/backup/tenant-backup.ts): retention, RPO check, restore drills. */
export interface TenantBackups {
  reconcile(
    tenant: Tenant,
    facts: AzureFacts,
    previous: TenantStatus['backup'] | undefined,
    policy: ResolvedPolicy,
  ): Promise<TenantBackupResult>;
  /** Before a tenant is let go: deletes its drills' scratch databases (RetryableError until gone). */
  release(tenant: Tenant, facts: AzureFacts): Promise<void>;
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
  /** The Azure side; undefined when the operator runs without Azure (Kubernetes-only mode). */
  azure?: TenantAzure | undefined;
  /** Backups; set together with `azure`. */
  backup?: TenantBackups | undefined;
}
