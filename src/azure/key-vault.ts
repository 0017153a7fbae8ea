/**
 * The tenant's Key Vault (RBAC, soft delete, purge protection, network deny) and the per-tenant
 * RSA key that encrypts its database (TDE with a customer-managed key).
 */
import { TerminalError } from '../runtime/errors.ts';
import {
  type AzureContext,
  assertSettled,
  callOptions,
  getOrUndefined,
  mergeTags,
  placementDiff,
  refuseLocationChange,
  type Tags,
} from './arm.ts';

export interface VaultDesired {
  resourceGroup: string;
  name: string;
  location: string;
  tags: Tags;
  /** Entra tenant whose identities the vault trusts. */
  tenantId: string;
  /** Public network access; off unless the tenant asks (the vault is then private-endpoint only). */
  publicNetworkAccess: boolean;
}

export interface VaultObserved {
  id: string;
  name: string;
  location: string;
  tags: Tags;
  vaultUri: string | undefined;
  provisioningState: string | undefined;
  tenantId: string;
  skuName: string;
  enableRbacAuthorization: boolean;
  enableSoftDelete: boolean;
  enablePurgeProtection: boolean;
  softDeleteRetentionInDays: number | undefined;
  publicNetworkAccess: string | undefined;
  networkDefaultAction: string | undefined;
  networkBypass: string | undefined;
}

export type VaultField =
  | 'location'
  | 'tags'
  | 'tenantId'
  | 'enableRbacAuthorization'
  | 'enableSoftDelete'
  | 'enablePurgeProtection'
  | 'publicNetworkAccess'
  | 'networkAcls';

/** A soft-deleted vault still holding the name (Key Vault names are global). */
export interface DeletedVaultObserved {
  name: string;
  vaultId: string | undefined;
  location: string | undefined;
  deletionDate: Date | undefined;
  scheduledPurgeDate: Date | undefined;
}

export interface VaultKeyDesired {
  resourceGroup: string;
  vaultName: string;
  name: string;
  /** RSA, 3072 bits: the strongest size Azure SQL accepts for a TDE protector. */
  kty: 'RSA';
  keySize: 2048 | 3072;
}

export interface VaultKeyObserved {
  name: string;
  kty: string | undefined;
  keySize: number | undefined;
  enabled: boolean;
  keyUri: string | undefined;
  /** `https://<vault>.vault.azure.net/keys/<name>/<version>` of the current version. */
  keyUriWithVersion: string | undefined;
  version: string | undefined;
}

export type VaultKeyField = 'kty' | 'keySize';

const SOFT_DELETE_RETENTION_DAYS = 90;

/** The settings we own, as Key Vault spells them. */
function ownedProperties(desired: VaultDesired) {
  return {
    enableRbacAuthorization: true,
    enableSoftDelete: true,
    enablePurgeProtection: true,
    networkAcls: { defaultAction: 'Deny', bypass: 'AzureServices' },
    publicNetworkAccess: desired.publicNetworkAccess ? 'Enabled' : 'Disabled',
  };
}

type Vault = Awaited<ReturnType<AzureContext['clients']['keyVault']['vaults']['get']>>;

function toVault(vault: Vault, name: string): VaultObserved {
  const p = vault.properties;
  return {
    id: vault.id ?? '',
    name: vault.name ?? name,
    location: vault.location ?? '',
    tags: vault.tags ?? {},
    vaultUri: p.vaultUri,
    provisioningState: p.provisioningState,
    tenantId: p.tenantId,
    skuName: p.sku.name,
    enableRbacAuthorization: p.enableRbacAuthorization === true,
    enableSoftDelete: p.enableSoftDelete !== false,
    enablePurgeProtection: p.enablePurgeProtection === true,
    softDeleteRetentionInDays: p.softDeleteRetentionInDays,
    publicNetworkAccess: p.publicNetworkAccess,
    networkDefaultAction: p.networkAcls?.defaultAction,
    networkBypass: p.networkAcls?.bypass,
  };
}

export async function observeVault(ctx: AzureContext, resourceGroup: string, name: string): Promise<VaultObserved | undefined> {
  const vault = await getOrUndefined(() => ctx.clients.keyVault.vaults.get(resourceGroup, name, callOptions(ctx)));
  return vault === undefined ? undefined : toVault(vault, name);
}

/** A soft-deleted vault with this name in this location, if any. */
export async function observeDeletedVault(
  ctx: AzureContext,
  name: string,
  location: string,
): Promise<DeletedVaultObserved | undefined> {
  const deleted = await getOrUndefined(() => ctx.clients.keyVault.vaults.getDeleted(name, location, callOptions(ctx)));
  if (deleted === undefined) return undefined;
  return {
    name: deleted.name ?? name,
    vaultId: deleted.properties?.vaultId,
    location: deleted.properties?.location,
    deletionDate: deleted.properties?.deletionDate,
    scheduledPurgeDate: deleted.properties?.scheduledPurgeDate,
  };
}

/** Fields that differ. Pure; ignores `vaultUri`, `provisioningState` and other server-filled fields. */
export function diffVault(desired: VaultDesired, observed: VaultObserved): VaultField[] {
  const want = ownedProperties(desired);
  const fields: VaultField[] = placementDiff(desired, observed);
  if (desired.tenantId.toLowerCase() !== observed.tenantId.toLowerCase()) fields.push('tenantId');
  if (!observed.enableRbacAuthorization) fields.push('enableRbacAuthorization');
  if (!observed.enableSoftDelete) fields.push('enableSoftDelete');
  if (!observed.enablePurgeProtection) fields.push('enablePurgeProtection');
  if (observed.publicNetworkAccess !== want.publicNetworkAccess) fields.push('publicNetworkAccess');
  if (observed.networkDefaultAction !== want.networkAcls.defaultAction || observed.networkBypass !== want.networkAcls.bypass) {
    fields.push('networkAcls');
  }
  return fields;
}

/**
 * Create the vault when missing (recovering a soft-deleted one of the same name: the name is
 * blocked until then, and the old keys come back with it), else PATCH what differs. No call when
 * nothing differs. Waits for the create to finish.
 */
export async function applyVault(
  ctx: AzureContext,
  desired: VaultDesired,
  observed: VaultObserved | undefined,
  deleted: DeletedVaultObserved | undefined,
): Promise<VaultObserved> {
  const vaults = ctx.clients.keyVault.vaults;
  const owned = ownedProperties(desired);
  if (observed === undefined) {
    const vault = await vaults.createOrUpdate(
      desired.resourceGroup,
      desired.name,
      {
        location: desired.location,
        tags: desired.tags,
        properties: {
          tenantId: desired.tenantId,
          sku: { family: 'A', name: 'standard' },
          softDeleteRetentionInDays: SOFT_DELETE_RETENTION_DAYS,
          ...owned,
          ...(deleted === undefined ? {} : { createMode: 'recover' }),
        },
      },
      callOptions(ctx),
    );
    return toVault(vault, desired.name);
  }
  assertSettled(ctx, `key vault ${desired.name}`, observed.provisioningState);
  const fields = diffVault(desired, observed);
  refuseLocationChange(`key vault ${desired.name}`, fields, observed.location, desired.location);
  if (fields.length === 0) return observed;
  const vault = await vaults.update(
    desired.resourceGroup,
    desired.name,
    { tags: mergeTags(desired.tags, observed.tags), properties: { tenantId: desired.tenantId, ...owned } },
    callOptions(ctx),
  );
  return toVault(vault, desired.name);
}

export async function tagVault(ctx: AzureContext, resourceGroup: string, observed: VaultObserved, tags: Tags): Promise<void> {
  await ctx.clients.keyVault.vaults.update(
    resourceGroup,
    observed.name,
    { tags: { ...observed.tags, ...tags } },
    callOptions(ctx),
  );
}

/**
 * Delete the vault. With soft delete and purge protection on, Key Vault keeps it (and its keys)
 * as a deleted vault for the retention period; the operator never purges.
 */
export async function deleteVault(ctx: AzureContext, resourceGroup: string, name: string): Promise<void> {
  await ctx.clients.keyVault.vaults.delete(resourceGroup, name, callOptions(ctx));
}

type VaultKey = Awaited<ReturnType<AzureContext['clients']['keyVault']['keys']['get']>>;

function toKey(key: VaultKey, name: string): VaultKeyObserved {
  const uri = key.keyUriWithVersion;
  return {
    name: key.name ?? name,
    kty: key.kty,
    keySize: key.keySize,
    enabled: key.attributes?.enabled !== false,
    keyUri: key.keyUri,
    keyUriWithVersion: uri,
    version: uri?.split('/').pop(),
  };
}

export async function observeVaultKey(
  ctx: AzureContext,
  resourceGroup: string,
  vaultName: string,
  name: string,
): Promise<VaultKeyObserved | undefined> {
  const key = await getOrUndefined(() => ctx.clients.keyVault.keys.get(resourceGroup, vaultName, name, callOptions(ctx)));
  return key === undefined ? undefined : toKey(key, name);
}

/** Fields that differ. Pure. */
export function diffVaultKey(desired: VaultKeyDesired, observed: VaultKeyObserved): VaultKeyField[] {
  const fields: VaultKeyField[] = [];
  if (observed.kty !== desired.kty) fields.push('kty');
  if (observed.keySize !== desired.keySize) fields.push('keySize');
  return fields;
}

/**
 * Create the key when missing (ARM `keys.createIfNotExist`: it never overwrites). A key of another
 * type or size is a TerminalError: replacing a TDE protector is a deliberate, manual operation.
 */
export async function applyVaultKey(
  ctx: AzureContext,
  desired: VaultKeyDesired,
  observed: VaultKeyObserved | undefined,
): Promise<VaultKeyObserved> {
  if (observed !== undefined) {
    const fields = diffVaultKey(desired, observed);
    if (fields.length === 0) return observed;
    throw new TerminalError(
      'AzureKeyMismatch',
      `key ${desired.name} in ${desired.vaultName} differs in ${fields.join(', ')}; rotate or replace it by hand`,
    );
  }
  const key = await ctx.clients.keyVault.keys.createIfNotExist(
    desired.resourceGroup,
    desired.vaultName,
    desired.name,
    { properties: { kty: desired.kty, keySize: desired.keySize, keyOps: ['wrapKey', 'unwrapKey'] } },
    callOptions(ctx),
  );
  return toKey(key, desired.name);
}
