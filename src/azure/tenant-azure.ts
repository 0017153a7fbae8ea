/**
 * Everything one tenant environment owns in Azure, reconciled in dependency order: resource group,
 * workload identity, Key Vault with the TDE key and role assignments, SQL server and database.
 * Also the two ways of letting go: release (deletionPolicy Retain) and delete (deletionPolicy Delete).
 */
import { RetryableError, TerminalError } from '../runtime/errors.ts';
import { AZURE_TAGS, type AzureContext, assertSettled, type Tags } from './arm.ts';
import type { AzureClients } from './clients.ts';
import { classifyAzureError } from './errors.ts';
import {
  applyFederatedCredential,
  applyIdentity,
  deleteIdentity,
  diffFederatedCredential,
  diffIdentity,
  observeFederatedCredential,
  observeIdentity,
  serviceAccountSubject,
  tagIdentity,
  WORKLOAD_IDENTITY_AUDIENCE,
} from './identity.ts';
import {
  applyVault,
  applyVaultKey,
  deleteVault,
  diffVault,
  diffVaultKey,
  observeDeletedVault,
  observeVault,
  observeVaultKey,
  tagVault,
} from './key-vault.ts';
import { federatedCredentialName, type TenantAzureNames, tenantAzureNames } from './names.ts';
import {
  applyResourceGroup,
  deleteResourceGroup,
  diffResourceGroup,
  observeResourceGroup,
  tagResourceGroup,
} from './resource-group.ts';
import {
  applyRoleAssignment,
  BUILT_IN_ROLES,
  diffRoleAssignment,
  observeRoleAssignment,
  type RoleAssignmentDesired,
} from './role-assignment.ts';
import {
  applyDatabase,
  applyEncryptionProtector,
  applyEntraAdmin,
  applyEntraOnly,
  applyLongTermRetention,
  applyServerKey,
  applySqlServer,
  applyTde,
  type BackupStorageRedundancy,
  deleteDatabase,
  deleteSqlServer,
  diffDatabase,
  diffEncryptionProtector,
  diffEntraAdmin,
  diffEntraOnly,
  diffServerKey,
  diffSqlServer,
  diffTde,
  keepsLongTermBackups,
  type LongTermRetention,
  observeDatabase,
  observeEncryptionProtector,
  observeEntraAdmin,
  observeEntraOnly,
  observeLongTermRetention,
  observeServerKey,
  observeSqlServer,
  observeTde,
  serverKeyName,
  tagDatabase,
  tagSqlServer,
} from './sql.ts';

/** What a Tenant asks of Azure for one environment (already validated and defaulted upstream). */
export interface TenantAzureDesired {
  /** Tenant name (Kubernetes object name). */
  tenant: string;
  /** `production`, `qa`, `development`, ... */
  environment: string;
  /** Azure region, e.g. `westeurope` (validated against the allowed list upstream). */
  region: string;
  /** Extra tags for every resource; the operator adds its ownership tags on top. */
  tags: Tags;
  sql: {
    /** Database SKU name, e.g. `GP_Gen5`, `GP_S_Gen5`, `S0`. */
    skuName: string;
    /** Its tier, e.g. `GeneralPurpose`. */
    tier: string;
    /** vCores / DTUs. */
    capacity?: number | undefined;
    /** Where backups are stored; `Local`/`Zone` keep them in the region (data residency). */
    backupStorageRedundancy: BackupStorageRedundancy;
    /**
     * Long-term retention guaranteed before the database is deleted (deletionPolicy Delete), when
     * the database has none: the final backup outlives the database this long. Default 12 weeks weekly.
     */
    finalBackupRetention?: Partial<LongTermRetention> | undefined;
  };
  keyVault: {
    /** Leave public network access on (off by default: private endpoint only). */
    publicNetworkAccess: boolean;
  };
  identity: {
    /** Namespace and service account of the tenant's workload. */
    namespace: string;
    serviceAccountName: string;
    /** The cluster's OIDC issuer URL (AKS `oidcIssuerProfile.issuerURL`). */
    oidcIssuer: string;
  };
  /** The Entra group that administers the SQL server; its tenant is also the vault's tenant. */
  entraAdmin: {
    login: string;
    objectId: string;
    tenantId: string;
    principalType?: 'Group' | 'User' | 'Application' | undefined;
  };
  /** Mixed into globally unique names (vault, SQL server); set once per installation. */
  nameSalt?: string | undefined;
}

/** Dependencies of the Azure side of a Tenant. */
export interface TenantAzureDeps {
  clients: AzureClients;
  /** Aborts in-flight calls (shutdown, lost leadership). */
  signal?: AbortSignal | undefined;
  /** Retry hint when a resource is still in an earlier operation (default 15 s). */
  inProgressRetryAfterMs?: number | undefined;
}

/** One write the reconcile made: which resource, which fields (`created` for a create). */
export interface AzureChange {
  resource: string;
  fields: string[];
}

/** What the Tenant's status needs from Azure. */
export interface TenantAzureObserved {
  names: TenantAzureNames;
  resourceGroup: string;
  keyVaultName: string;
  vaultUri: string | undefined;
  serverFqdn: string | undefined;
  databaseName: string;
  identityClientId: string | undefined;
  identityPrincipalId: string | undefined;
  /** Entra tenant of the identity (for SecretProviderClass `tenantId`). */
  azureTenantId: string | undefined;
  /** Oldest point-in-time restore target (ISO 8601); advances as backups age out. */
  earliestRestoreDate: string | undefined;
  /** Per component: everything exists as desired and Azure reports it usable. */
  ready: { identity: boolean; keyVault: boolean; database: boolean };
  /** Writes made by this call, for audit logs and events; empty in steady state. */
  changes: AzureChange[];
}

/** Tags every resource of this tenant environment carries. */
export function tenantAzureTags(desired: TenantAzureDesired): Tags {
  return {
    ...desired.tags,
    [AZURE_TAGS.managedBy]: 'tenant-operator',
    [AZURE_TAGS.tenant]: desired.tenant,
    [AZURE_TAGS.environment]: desired.environment,
  };
}

/** Default final-backup retention: the promise's "12 weeks weekly". */
export const DEFAULT_FINAL_BACKUP_RETENTION: LongTermRetention = {
  weeklyRetention: 'P12W',
  monthlyRetention: 'PT0S',
  yearlyRetention: 'PT0S',
  weekOfYear: 1,
};

function namesOf(desired: TenantAzureDesired): TenantAzureNames {
  return tenantAzureNames(desired.tenant, desired.environment, desired.nameSalt === undefined ? {} : { salt: desired.nameSalt });
}

function contextOf(deps: TenantAzureDeps): AzureContext {
  return { clients: deps.clients, signal: deps.signal, inProgressRetryAfterMs: deps.inProgressRetryAfterMs };
}

/**
 * Run `fn`, turning any failure into a RetryableError or TerminalError whose message names the step.
 * Never swallows: the caller sees every failure.
 */
async function step<T>(deps: TenantAzureDeps, name: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (deps.signal?.aborted) {
      throw new RetryableError('Canceled', `${name}: canceled`, { cause: err });
    }
    const classified = classifyAzureError(err);
    const message = `${name}: ${classified.message}`;
    if (classified instanceof TerminalError) throw new TerminalError(classified.reason, message, { cause: err });
    throw new RetryableError(classified.reason, message, {
      cause: err,
      ...(classified.retryAfterMs === undefined ? {} : { retryAfterMs: classified.retryAfterMs }),
    });
  }
}

/** Observe, diff, apply one resource; record what was written. `apply` also guards in-progress states. */
async function ensure<O>(
  changes: AzureChange[],
  resource: string,
  observed: O | undefined,
  diff: (observed: O) => string[],
  apply: () => Promise<O>,
): Promise<O> {
  const fields = observed === undefined ? ['created'] : diff(observed);
  const result = await apply();
  if (fields.length > 0) changes.push({ resource, fields });
  return result;
}

function requireValue<T>(value: T | undefined, what: string): T {
  if (value === undefined) {
    throw new RetryableError('AzureDependencyNotReady', `${what} is not reported yet`, { retryAfterMs: 5_000 });
  }
  return value;
}

/**
 * Bring the tenant environment's Azure resources to the desired state, in dependency order, and
 * report what the Tenant's status needs. Level-based and idempotent: each resource is read, compared
 * on the fields the operator owns, and written only when they differ, so a call with nothing to
 * change makes no write at all. Writes go through the clients' write limiter.
 *
 * Throws RetryableError (throttling, outages, conflicts, an operation still running: retry after
 * `retryAfterMs` or with backoff) or TerminalError (a spec change is needed); the message names
 * the step that failed. A resource found mid-operation (e.g. `Creating` after an operator restart)
 * is never written to again: the call throws `AzureOperationInProgress` and the next call resumes.
 */
export async function reconcileTenantAzure(deps: TenantAzureDeps, desired: TenantAzureDesired): Promise<TenantAzureObserved> {
  const ctx = contextOf(deps);
  const names = namesOf(desired);
  const tags = tenantAzureTags(desired);
  const rgName = names.resourceGroup;
  const location = desired.region;
  const changes: AzureChange[] = [];
  const subscriptionId = deps.clients.subscriptionId;

  await step(deps, 'resource group', async () => {
    const desiredRg = { name: rgName, location, tags };
    const observed = await observeResourceGroup(ctx, rgName);
    return ensure(
      changes,
      'resourceGroup',
      observed,
      (o) => diffResourceGroup(desiredRg, o),
      () => applyResourceGroup(ctx, desiredRg, observed),
    );
  });

  // Workload identity: the tenant's pods sign in as this identity through its federated credential.
  const identity = await step(deps, 'managed identity', async () => {
    const desiredIdentity = { resourceGroup: rgName, name: names.identity, location, tags };
    const observed = await observeIdentity(ctx, rgName, names.identity);
    return ensure(
      changes,
      'identity',
      observed,
      (o) => diffIdentity(desiredIdentity, o),
      () => applyIdentity(ctx, desiredIdentity, observed),
    );
  });
  await step(deps, 'federated credential', async () => {
    const fic = {
      resourceGroup: rgName,
      identityName: names.identity,
      name: federatedCredentialName(desired.identity.namespace, desired.identity.serviceAccountName),
      issuer: desired.identity.oidcIssuer,
      subject: serviceAccountSubject(desired.identity.namespace, desired.identity.serviceAccountName),
      audiences: [WORKLOAD_IDENTITY_AUDIENCE],
    };
    const observed = await observeFederatedCredential(ctx, rgName, names.identity, fic.name);
    return ensure(
      changes,
      'federatedCredential',
      observed,
      (o) => diffFederatedCredential(fic, o),
      () => applyFederatedCredential(ctx, fic, observed),
    );
  });

  // Key Vault, its TDE key, and the workload's right to read secrets.
  const vault = await step(deps, 'key vault', async () => {
    const desiredVault = {
      resourceGroup: rgName,
      name: names.keyVault,
      location,
      tags,
      tenantId: desired.entraAdmin.tenantId,
      publicNetworkAccess: desired.keyVault.publicNetworkAccess,
    };
    const observed = await observeVault(ctx, rgName, names.keyVault);
    // Only when creating: a soft-deleted vault holds the name and must be recovered, not recreated.
    const deleted = observed === undefined ? await observeDeletedVault(ctx, names.keyVault, location) : undefined;
    return ensure(
      changes,
      'keyVault',
      observed,
      (o) => diffVault(desiredVault, o),
      () => applyVault(ctx, desiredVault, observed, deleted),
    );
  });
  const key = await step(deps, 'TDE key', async () => {
    const desiredKey = {
      resourceGroup: rgName,
      vaultName: names.keyVault,
      name: names.tdeKey,
      kty: 'RSA' as const,
      keySize: 3072 as const,
    };
    const observed = await observeVaultKey(ctx, rgName, names.keyVault, names.tdeKey);
    return ensure(
      changes,
      'tdeKey',
      observed,
      (o) => diffVaultKey(desiredKey, o),
      () => applyVaultKey(ctx, desiredKey, observed),
    );
  });
  const grant = (label: string, assignment: RoleAssignmentDesired) =>
    step(deps, label, async () => {
      const observed = await observeRoleAssignment(ctx, assignment);
      return ensure(
        changes,
        label,
        observed,
        (o) => diffRoleAssignment(subscriptionId, assignment, o),
        () => applyRoleAssignment(ctx, assignment, observed),
      );
    });
  await grant('roleAssignment.secretsUser', {
    scope: vault.id,
    role: BUILT_IN_ROLES.keyVaultSecretsUser,
    principalId: requireValue(identity.principalId, `principal id of identity ${names.identity}`),
    principalType: 'ServicePrincipal',
  });

  // SQL server: Entra-only from creation, then the customer-managed key.
  const entraAdmin = { ...desired.entraAdmin, principalType: desired.entraAdmin.principalType ?? ('Group' as const) };
  const server = await step(deps, 'SQL server', async () => {
    const desiredServer = { resourceGroup: rgName, name: names.sqlServer, location, tags, entraAdmin };
    const observed = await observeSqlServer(ctx, rgName, names.sqlServer);
    return ensure(
      changes,
      'sqlServer',
      observed,
      (o) => diffSqlServer(desiredServer, o),
      () => applySqlServer(ctx, desiredServer, observed),
    );
  });
  await step(deps, 'SQL Entra admin', async () => {
    const observed = await observeEntraAdmin(ctx, rgName, names.sqlServer);
    return ensure(
      changes,
      'sqlEntraAdmin',
      observed,
      (o) => diffEntraAdmin(entraAdmin, o),
      () => applyEntraAdmin(ctx, rgName, names.sqlServer, entraAdmin, observed),
    );
  });
  await step(deps, 'SQL Entra-only authentication', async () => {
    const observed = await observeEntraOnly(ctx, rgName, names.sqlServer);
    const fields = diffEntraOnly(observed);
    const result = await applyEntraOnly(ctx, rgName, names.sqlServer, observed);
    if (fields.length > 0) changes.push({ resource: 'sqlEntraOnly', fields });
    return result;
  });
  await grant('roleAssignment.cryptoServiceEncryptionUser', {
    scope: vault.id,
    role: BUILT_IN_ROLES.keyVaultCryptoServiceEncryptionUser,
    principalId: requireValue(server.principalId, `system identity of SQL server ${names.sqlServer}`),
    principalType: 'ServicePrincipal',
  });
  const keyUri = requireValue(key.keyUriWithVersion, `current version of key ${names.tdeKey}`);
  const serverKey = serverKeyName(keyUri);
  await step(deps, 'SQL server key', async () => {
    const observed = await observeServerKey(ctx, rgName, names.sqlServer, serverKey);
    return ensure(
      changes,
      'sqlServerKey',
      observed,
      (o) => diffServerKey(keyUri, o),
      () => applyServerKey(ctx, rgName, names.sqlServer, keyUri, observed),
    );
  });
  const protector = await step(deps, 'SQL encryption protector', async () => {
    const observed = await observeEncryptionProtector(ctx, rgName, names.sqlServer);
    return ensure(
      changes,
      'sqlEncryptionProtector',
      observed,
      (o) => diffEncryptionProtector(serverKey, o),
      () => applyEncryptionProtector(ctx, rgName, names.sqlServer, serverKey, observed),
    );
  });

  // Database, created after the protector so it is encrypted with the tenant's key from the start.
  const database = await step(deps, 'SQL database', async () => {
    const desiredDb = {
      resourceGroup: rgName,
      serverName: names.sqlServer,
      name: names.sqlDatabase,
      location,
      tags,
      sku: { name: desired.sql.skuName, tier: desired.sql.tier, capacity: desired.sql.capacity },
      backupStorageRedundancy: desired.sql.backupStorageRedundancy,
    };
    const observed = await observeDatabase(ctx, rgName, names.sqlServer, names.sqlDatabase);
    return ensure(
      changes,
      'sqlDatabase',
      observed,
      (o) => diffDatabase(desiredDb, o),
      () => applyDatabase(ctx, desiredDb, observed),
    );
  });
  const tde = await step(deps, 'SQL transparent data encryption', async () => {
    const observed = await observeTde(ctx, rgName, names.sqlServer, names.sqlDatabase);
    const fields = diffTde(observed);
    const result = await applyTde(ctx, rgName, names.sqlServer, names.sqlDatabase, observed);
    if (fields.length > 0) changes.push({ resource: 'sqlTde', fields });
    return result;
  });

  return {
    names,
    resourceGroup: rgName,
    keyVaultName: names.keyVault,
    vaultUri: vault.vaultUri,
    serverFqdn: server.fullyQualifiedDomainName,
    databaseName: names.sqlDatabase,
    identityClientId: identity.clientId,
    identityPrincipalId: identity.principalId,
    azureTenantId: identity.tenantId,
    earliestRestoreDate: database.earliestRestoreDate?.toISOString(),
    ready: {
      identity: identity.clientId !== undefined,
      keyVault: vault.provisioningState === 'Succeeded' && key.enabled,
      database: database.status === 'Online' && tde.state === 'Enabled' && protector.serverKeyType === 'AzureKeyVault',
    },
    changes,
  };
}

/**
 * deletionPolicy Retain: let go of the tenant's Azure resources without deleting anything. Every
 * resource that carries tags is marked `tenancy.dev-orphaned: "true"` (a PATCH of tags only,
 * skipped where the mark is already there), so people can find and adopt or clean them up.
 * Resolves when every existing resource is marked; throws (classified) otherwise.
 */
export async function releaseTenantAzure(deps: TenantAzureDeps, desired: TenantAzureDesired): Promise<void> {
  const ctx = contextOf(deps);
  const names = namesOf(desired);
  const rg = names.resourceGroup;
  const orphaned = { [AZURE_TAGS.orphaned]: 'true' };
  const marked = (tags: Tags): boolean => tags[AZURE_TAGS.orphaned] === 'true';

  await step(deps, 'release SQL database', async () => {
    const db = await observeDatabase(ctx, rg, names.sqlServer, names.sqlDatabase);
    if (db === undefined || marked(db.tags)) return;
    assertSettled(ctx, `database ${names.sqlDatabase}`, db.status);
    await tagDatabase(ctx, rg, names.sqlServer, db, orphaned);
  });
  await step(deps, 'release SQL server', async () => {
    const server = await observeSqlServer(ctx, rg, names.sqlServer);
    if (server === undefined || marked(server.tags)) return;
    assertSettled(ctx, `SQL server ${names.sqlServer}`, server.state);
    await tagSqlServer(ctx, rg, server, orphaned);
  });
  await step(deps, 'release key vault', async () => {
    const vault = await observeVault(ctx, rg, names.keyVault);
    if (vault === undefined || marked(vault.tags)) return;
    assertSettled(ctx, `key vault ${names.keyVault}`, vault.provisioningState);
    await tagVault(ctx, rg, vault, orphaned);
  });
  await step(deps, 'release managed identity', async () => {
    const identity = await observeIdentity(ctx, rg, names.identity);
    if (identity === undefined || marked(identity.tags)) return;
    await tagIdentity(ctx, rg, identity, orphaned);
  });
  await step(deps, 'release resource group', async () => {
    const group = await observeResourceGroup(ctx, rg);
    if (group === undefined || marked(group.tags)) return;
    assertSettled(ctx, `resource group ${rg}`, group.provisioningState);
    await tagResourceGroup(ctx, group, orphaned);
  });
}

/**
 * deletionPolicy Delete: delete the tenant's Azure resources, children first, and resolve only
 * when all are gone. Idempotent: what is already gone is skipped, so a retry resumes.
 *
 * - The database is deleted only after a long-term-retention policy is in place (the existing one
 *   if it keeps anything, else `sql.finalBackupRetention`, default 12 weeks weekly): its backups
 *   then outlive it ("final backup retained"; see hack/arm-emulator/README.md for the exact meaning).
 * - The vault is soft-deleted and NEVER purged: with purge protection it (and the TDE key the
 *   retained backups need) stays recoverable for its retention period.
 * - Any failure throws (classified); nothing is counted as gone unless a read said 404.
 */
export async function deleteTenantAzure(deps: TenantAzureDeps, desired: TenantAzureDesired): Promise<void> {
  const ctx = contextOf(deps);
  const names = namesOf(desired);
  const rg = names.resourceGroup;

  await step(deps, 'delete SQL database', async () => {
    const db = await observeDatabase(ctx, rg, names.sqlServer, names.sqlDatabase);
    if (db === undefined) return;
    assertSettled(ctx, `database ${names.sqlDatabase}`, db.status);
    const ltr = await observeLongTermRetention(ctx, rg, names.sqlServer, names.sqlDatabase);
    if (!keepsLongTermBackups(ltr)) {
      const final = { ...DEFAULT_FINAL_BACKUP_RETENTION, ...desired.sql.finalBackupRetention };
      if (!keepsLongTermBackups(final)) {
        throw new TerminalError(
          'FinalBackupRetentionMissing',
          'sql.finalBackupRetention keeps no backup; refusing to delete the database',
        );
      }
      await applyLongTermRetention(ctx, rg, names.sqlServer, names.sqlDatabase, final, ltr);
    }
    await deleteDatabase(ctx, rg, names.sqlServer, names.sqlDatabase);
  });
  await step(deps, 'delete SQL server', async () => {
    const server = await observeSqlServer(ctx, rg, names.sqlServer);
    if (server === undefined) return;
    assertSettled(ctx, `SQL server ${names.sqlServer}`, server.state);
    await deleteSqlServer(ctx, rg, names.sqlServer);
  });
  await step(deps, 'delete managed identity', async () => {
    const identity = await observeIdentity(ctx, rg, names.identity);
    if (identity === undefined) return;
    await deleteIdentity(ctx, rg, names.identity);
  });
  await step(deps, 'delete key vault', async () => {
    const vault = await observeVault(ctx, rg, names.keyVault);
    if (vault === undefined) return;
    assertSettled(ctx, `key vault ${names.keyVault}`, vault.provisioningState);
    await deleteVault(ctx, rg, names.keyVault);
  });
  await step(deps, 'delete resource group', async () => {
    const group = await observeResourceGroup(ctx, rg);
    if (group === undefined) return;
    assertSettled(ctx, `resource group ${rg}`, group.provisioningState);
    await deleteResourceGroup(ctx, rg);
  });
}
