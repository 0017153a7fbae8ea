/**
 * The Azure side of a Tenant, as the Tenant reconciler sees it (the `TenantAzure` of
 * src/context.ts): turns a Tenant and the operator configuration into the desired Azure state,
 * drives src/azure/tenant-azure.ts and the WAF policy, and reports facts and conditions back.
 * Every write Azure reports becomes an audit line; errors come out classified.
 */
import { readFileSync } from 'node:fs';
import type { TokenCredential } from '@azure/core-auth';
import type { Tenant } from '../api/v1alpha1/tenant.ts';
import type { OperatorConfig } from '../config.ts';
import type { AzureFacts, OperatorContext, TenantAzure } from '../context.ts';
import { hashOf } from '../runtime/compare.ts';
import type { ConditionInput } from '../runtime/conditions.ts';
import { RetryableError, TerminalError } from '../runtime/errors.ts';
import type { KubeObject } from '../runtime/kube-client.ts';
import { buildWafCustomRules } from '../tenant/front-door.ts';
import { tenantNamespaceName } from '../tenant/labels.ts';
import { checkResidency, isRedundancyAllowed, type Redundancy } from '../tenant/residency.ts';
import { APP_SERVICE_ACCOUNT } from '../tenant/workload.ts';
import { AZURE_TAGS, type AzureContext } from './arm.ts';
import { type AzureClients, createAzureClients, createDefaultCredential, createWriteLimiter } from './clients.ts';
import { classifyAzureError } from './errors.ts';
import {
  deleteTenantAzure,
  reconcileTenantAzure,
  releaseTenantAzure,
  type TenantAzureDesired,
  tenantAzureTags,
} from './tenant-azure.ts';
import { VerifiedCache, verifiedKey } from './verified-cache.ts';
import { applyWafPolicy, observeWafPolicy, type WafPolicyDesired } from './waf-policy.ts';

type AzureConfig = NonNullable<OperatorConfig['azure']>;

/** One WAF policy per tenant resource group. */
export const WAF_POLICY_NAME = 'tenant-waf';

/** A fixed token for the local ARM emulator; config refuses it for any non-loopback endpoint. */
const emulatorCredential: TokenCredential = {
  getToken: async () => ({ token: 'emulator-token', expiresOnTimestamp: Date.now() + 3600_000 }),
};

export function createAzureClientsFromConfig(
  azure: AzureConfig,
  onResponse?: (service: string, method: string, status: number) => void,
): AzureClients {
  return createAzureClients({
    subscriptionId: azure.subscriptionId,
    endpoint: azure.endpoint,
    ca: azure.caFile ? readFileSync(azure.caFile, 'utf8') : undefined,
    credential: azure.credential === 'emulator' ? emulatorCredential : createDefaultCredential(),
    writeLimiter: createWriteLimiter({ writesPerSecond: azure.writesPerSecond, burst: azure.writeBurst }),
    readLimiter: createWriteLimiter({ writesPerSecond: azure.readsPerSecond, burst: azure.readBurst }),
    onResponse,
  });
}

/** The backup redundancy a tenant asks for through its BackupPolicy (default Zone). */
function requestedRedundancy(ctx: OperatorContext, tenant: Tenant): Redundancy {
  const name = tenant.spec.backupPolicyRef?.name ?? ctx.config.defaultBackupPolicy;
  const policy = ctx.caches.backupPolicies.get(name)?.spec as { backupStorageRedundancy?: Redundancy } | undefined;
  return policy?.backupStorageRedundancy ?? 'Zone';
}

/** Pure: the Azure state a tenant should have. Throws TerminalError when residency forbids it. */
export function desiredAzure(
  tenant: Tenant,
  config: OperatorConfig,
  azure: AzureConfig,
  redundancy: Redundancy,
): TenantAzureDesired {
  const residency = checkResidency(tenant.spec, config);
  if (!residency.allowed) throw new TerminalError(residency.reason, residency.message);
  if (!isRedundancyAllowed(residency, redundancy)) {
    throw new TerminalError(
      'BackupRedundancyNotAllowed',
      `backup storage redundancy ${redundancy} would copy backups out of data-residency zone ${residency.zone} (allowed: ${residency.backupRedundancies.join(', ')}); choose another BackupPolicy`,
    );
  }
  const sku = config.tiers[tenant.spec.tier].sql;
  return {
    tenant: tenant.metadata.name,
    environment: tenant.spec.environment.toLowerCase(),
    region: tenant.spec.region,
    tags: azure.tags,
    sql: { skuName: sku.skuName, tier: sku.tier, capacity: sku.capacity, backupStorageRedundancy: redundancy },
    keyVault: { publicNetworkAccess: azure.keyVaultPublicNetworkAccess },
    identity: {
      namespace: tenantNamespaceName(tenant.metadata.name, tenant.spec.environment, config),
      serviceAccountName: APP_SERVICE_ACCOUNT,
      oidcIssuer: azure.oidcIssuer,
    },
    entraAdmin: {
      login: azure.sqlAdminGroup.login,
      objectId: azure.sqlAdminGroup.objectId,
      tenantId: azure.directoryTenantId,
      principalType: 'Group',
    },
    nameSalt: azure.nameSalt,
  };
}

function asClassified(err: unknown): RetryableError | TerminalError {
  if (err instanceof RetryableError || err instanceof TerminalError) return err;
  return classifyAzureError(err);
}

export class AzureTenantAdapter implements TenantAzure {
  readonly ctx: OperatorContext;
  readonly azure: AzureConfig;
  readonly clients: AzureClients;
  /** Results of checks that found everything converged, trusted until the desired state changes. */
  readonly #verified: VerifiedCache<{ facts: AzureFacts; conditions: ConditionInput[] }>;

  constructor(ctx: OperatorContext, azure: AzureConfig, clients: AzureClients) {
    this.ctx = ctx;
    this.azure = azure;
    this.clients = clients;
    this.#verified = new VerifiedCache(azure.driftCheckIntervalSeconds * 1000);
  }

  #desired(tenant: Tenant): TenantAzureDesired {
    return desiredAzure(tenant, this.ctx.config, this.azure, requestedRedundancy(this.ctx, tenant));
  }

  async reconcile(tenant: Tenant): Promise<{ facts: AzureFacts; conditions: ConditionInput[] }> {
    const desired = this.#desired(tenant);
    const customRules = buildWafCustomRules(tenant);
    const key = verifiedKey(tenant);
    const fingerprint = hashOf({ desired, waf: { mode: this.azure.wafMode, customRules } });
    const now = this.ctx.clock.now().getTime();
    const verified = this.#verified.get(key, fingerprint, now);
    if (verified) {
      this.ctx.metrics.azureStateChecks.inc({ source: 'cache' });
      return verified;
    }
    this.ctx.metrics.azureStateChecks.inc({ source: 'azure' });
    const deps: AzureContext = { clients: this.clients };
    try {
      const observed = await reconcileTenantAzure(deps, desired);
      const wafDesired: WafPolicyDesired = {
        resourceGroup: observed.resourceGroup,
        name: WAF_POLICY_NAME,
        location: desired.region,
        tags: tenantAzureTags(desired),
        mode: this.azure.wafMode,
        customRules,
      };
      const wafObserved = await observeWafPolicy(deps, observed.resourceGroup, WAF_POLICY_NAME);
      const waf = await applyWafPolicy(deps, wafDesired, wafObserved);
      const changes = [...observed.changes.map((c) => `${c.resource} (${c.fields.join(', ')})`)];
      if (waf !== wafObserved) changes.push(`WAF policy ${WAF_POLICY_NAME}`);
      for (const change of changes) {
        this.ctx.recorder.audit({
          subject: { kind: 'Tenant', name: tenant.metadata.name, generation: tenant.metadata.generation },
          action: `azure write ${change}`,
          result: 'ok',
        });
      }
      if (changes.length > 0) {
        const message = `Azure: ${changes.join('; ')}`;
        this.ctx.recorder.event(tenant as unknown as KubeObject, 'Normal', 'AzureApplied', message).catch(() => {});
      }
      const conditions = azureConditions(observed.ready, {
        mode: this.azure.wafMode,
        rules: wafDesired.customRules.length,
      });
      const result = {
        facts: {
          resourceGroup: observed.resourceGroup,
          identityClientId: observed.identityClientId,
          azureTenantId: observed.azureTenantId ?? this.azure.directoryTenantId,
          keyVaultName: observed.keyVaultName,
          keyVaultUri: observed.vaultUri,
          sqlServerFqdn: observed.serverFqdn,
          databaseName: observed.databaseName,
          earliestRestorePoint: observed.earliestRestoreDate,
          wafPolicyId: waf.id,
        },
        conditions,
      };
      // Trust only a check that changed nothing and found everything ready; a pass that wrote is
      // confirmed by reading once more.
      const converged = changes.length === 0 && Object.values(observed.ready).every(Boolean);
      if (converged) this.#verified.set(key, fingerprint, result, now);
      else this.#verified.forget(key);
      return result;
    } catch (err) {
      this.#verified.forget(key);
      throw asClassified(err);
    }
  }

  async release(tenant: Tenant): Promise<void> {
    this.#verified.forget(verifiedKey(tenant));
    try {
      const desired = this.#desired(tenant);
      await releaseTenantAzure({ clients: this.clients }, desired);
    } catch (err) {
      throw asClassified(err);
    }
    this.ctx.recorder.audit({
      subject: { kind: 'Tenant', name: tenant.metadata.name, generation: tenant.metadata.generation },
      action: `azure release (deletionPolicy Retain): resources kept, tagged ${AZURE_TAGS.orphaned}`,
      result: 'ok',
    });
  }

  async delete(tenant: Tenant): Promise<void> {
    this.#verified.forget(verifiedKey(tenant));
    try {
      await deleteTenantAzure({ clients: this.clients }, this.#desired(tenant));
    } catch (err) {
      throw asClassified(err);
    }
    this.ctx.recorder.audit({
      subject: { kind: 'Tenant', name: tenant.metadata.name, generation: tenant.metadata.generation },
      action: 'azure delete (deletionPolicy Delete): final backup retained, vault soft-deleted, resources deleted',
      result: 'ok',
    });
  }
}

/** Conditions from what Azure reports; AzureResourcesReady summarises them. */
export function azureConditions(
  ready: { identity: boolean; keyVault: boolean; database: boolean },
  waf: { mode: string; rules: number },
): ConditionInput[] {
  const c = (type: string, ok: boolean, yes: string, no: string): ConditionInput =>
    ok
      ? { type, status: 'True', reason: 'Provisioned', message: yes }
      : { type, status: 'False', reason: 'Provisioning', message: no };
  const list = [
    c(
      'IdentityReady',
      ready.identity,
      'The workload identity and its federated credential exist.',
      'The workload identity is being created.',
    ),
    c(
      'KeyVaultReady',
      ready.keyVault,
      'The Key Vault exists: RBAC, soft delete, purge protection, private.',
      'The Key Vault is being created.',
    ),
    c(
      'DatabaseReady',
      ready.database,
      'The database is online: Entra-only, TLS 1.2, private, encrypted with the tenant’s key.',
      'The database is being created.',
    ),
    {
      type: 'WafEnforced',
      status: 'True' as const,
      reason: waf.mode === 'Prevention' ? 'Prevention' : 'DetectionOnly',
      message: `The WAF policy runs the Default Rule Set in ${waf.mode} mode with ${waf.rules} custom rule(s).`,
    },
  ];
  const all = list.every((x) => x.status === 'True');
  list.push({
    type: 'AzureResourcesReady',
    status: all ? 'True' : 'False',
    reason: all ? 'Provisioned' : 'Provisioning',
    message: all ? 'Every Azure resource of the tenant is in place.' : 'Some Azure resources are still being created.',
  });
  return list;
}
