/**
 * `Microsoft.KeyVault/vaults` (RBAC, soft delete, purge protection, network deny) and their keys
 * (the customer-managed key that encrypts a database).
 */
import type { ArmApi } from '../arm-client.ts';
import type { ResourceKind } from '../engine.ts';
import {
  mergeTags,
  type Placement,
  patchUnlessMoved,
  placement,
  placementDiff,
  props,
  provisioningState,
  sameId,
  str,
  type Tags,
} from './common.ts';

export const KEY_VAULT_API_VERSION = '2026-02-01';

/** Days a deleted vault (and its keys) stays recoverable; the maximum Key Vault allows. */
export const SOFT_DELETE_RETENTION_DAYS = 90;

export interface VaultParams extends Placement {
  subscriptionId: string;
  resourceGroupId: string;
  name: string;
  /** Entra tenant whose identities the vault trusts. */
  tenantId: string;
  /** Public network access; off unless asked (the vault is then private-endpoint only). */
  publicNetworkAccess: boolean;
}

export function vaultId(resourceGroupId: string, name: string): string {
  return `${resourceGroupId}/providers/Microsoft.KeyVault/vaults/${name}`;
}

/** The settings we own, as Key Vault spells them. */
function ownedProperties(p: VaultParams) {
  return {
    enableRbacAuthorization: true,
    enableSoftDelete: true,
    enablePurgeProtection: true,
    networkAcls: { defaultAction: 'Deny', bypass: 'AzureServices' },
    publicNetworkAccess: p.publicNetworkAccess ? 'Enabled' : 'Disabled',
  };
}

export const vaultKind: ResourceKind<VaultParams> = {
  type: 'Microsoft.KeyVault/vaults',
  label: 'key vault',
  apiVersion: KEY_VAULT_API_VERSION,
  id: (p) => vaultId(p.resourceGroupId, p.name),
  create: (p) => ({
    ...placement(p),
    properties: {
      tenantId: p.tenantId,
      sku: { family: 'A', name: 'standard' },
      softDeleteRetentionInDays: SOFT_DELETE_RETENTION_DAYS,
      ...ownedProperties(p),
    },
  }),
  diff: (p, observed) => {
    const o = props(observed);
    const want = ownedProperties(p);
    const acls = (o.networkAcls ?? {}) as { defaultAction?: unknown; bypass?: unknown };
    const fields = placementDiff(p, observed);
    if (!sameId(str(o.tenantId), p.tenantId)) fields.push('tenantId');
    if (o.enableRbacAuthorization !== true) fields.push('enableRbacAuthorization');
    if (o.enableSoftDelete === false) fields.push('enableSoftDelete');
    if (o.enablePurgeProtection !== true) fields.push('enablePurgeProtection');
    if (o.publicNetworkAccess !== want.publicNetworkAccess) fields.push('publicNetworkAccess');
    if (acls.defaultAction !== want.networkAcls.defaultAction || acls.bypass !== want.networkAcls.bypass)
      fields.push('networkAcls');
    return fields;
  },
  update: (p, observed, fields) =>
    patchUnlessMoved(fields, () => ({
      tags: mergeTags(p.tags, observed.tags as Tags | undefined),
      properties: { tenantId: p.tenantId, ...ownedProperties(p) },
    })),
  state: provisioningState,
  ready: (observed) => provisioningState(observed) === 'Succeeded' && str(props(observed).vaultUri) !== undefined,
  // Vault names are global and a soft-deleted vault holds its name: recover it (its keys come back).
  beforeCreate: async (arm: ArmApi, p) => {
    const deleted = await arm.get(
      `/subscriptions/${p.subscriptionId}/providers/Microsoft.KeyVault/locations/${p.location}/deletedVaults/${p.name}`,
      KEY_VAULT_API_VERSION,
    );
    return deleted === undefined ? undefined : { properties: { ...props(vaultKind.create(p)), createMode: 'recover' } };
  },
};

export interface VaultKeyParams {
  vaultId: string;
  name: string;
  /** RSA, 3072 bits: the strongest size Azure SQL accepts for a TDE protector. */
  keySize: 2048 | 3072;
}

export const vaultKeyKind: ResourceKind<VaultKeyParams> = {
  type: 'Microsoft.KeyVault/vaults/keys',
  label: 'key',
  apiVersion: KEY_VAULT_API_VERSION,
  id: (p) => `${p.vaultId}/keys/${p.name}`,
  // ARM's key PUT is create-if-not-exist: it never overwrites an existing key.
  create: (p) => ({ properties: { kty: 'RSA', keySize: p.keySize, keyOps: ['wrapKey', 'unwrapKey'] } }),
  diff: (p, observed) => {
    const o = props(observed);
    const fields: string[] = [];
    if (o.kty !== 'RSA') fields.push('kty');
    if (o.keySize !== p.keySize) fields.push('keySize');
    return fields;
  },
  // Replacing a TDE protector is a deliberate, manual operation: no update.
  state: () => undefined,
  ready: (observed) =>
    (props(observed).attributes as { enabled?: unknown } | undefined)?.enabled !== false &&
    str(props(observed).keyUriWithVersion) !== undefined,
};
