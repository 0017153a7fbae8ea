/**
 * `Microsoft.KeyVault/vaults` (RBAC, soft delete, purge protection, network deny) and their keys
 * (the customer-managed key that encrypts a database, rotated by Key Vault on a policy).
 */
import { PlatformError } from '../../runtime/errors.ts';
import { isoDurationMs } from '../../runtime/iso-duration.ts';
import type { ArmApi, ArmBody } from '../arm-client.ts';
import type { ResourceKind } from '../engine.ts';
import { PLATFORM_RETRY_MS } from '../errors.ts';
import { mergeTags, type Placement, patchUnlessMoved, placement, props, provisioningState, str, type Tags } from './common.ts';
import { fieldsThatDiffer, placementDiff, sameId } from './compare.ts';
import { armId, childrenOf, inResourceGroup } from './ids.ts';

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
  ...inResourceGroup<VaultParams>('Microsoft.KeyVault/vaults', KEY_VAULT_API_VERSION, 'key vault'),
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

export function vaultId(resourceGroupId: string, name: string): string {
  return armId(vaultKind.type, resourceGroupId, name);
}

/**
 * How Key Vault rotates a key (its rotation policy): a new version `rotateAfter` its predecessor
 * was created, each version expiring `expireAfter` its creation, and a near-expiry notification
 * (Event Grid `KeyNearExpiry`) `notifyBefore` that. ISO 8601 durations.
 */
export interface KeyRotation {
  rotateAfter: string;
  expireAfter: string;
  notifyBefore: string;
}

export interface VaultKeyParams {
  vaultId: string;
  name: string;
  /** RSA, 3072 bits: the strongest size Azure SQL accepts for a TDE protector. */
  keySize: 2048 | 3072;
  rotation: KeyRotation;
}

/** The rotation policy as ARM's key PUT takes it (`properties.rotationPolicy`, api-version 2026-02-01). */
export function rotationPolicyBody(rotation: KeyRotation): ArmBody {
  return {
    attributes: { expiryTime: rotation.expireAfter },
    lifetimeActions: [
      { trigger: { timeAfterCreate: rotation.rotateAfter }, action: { type: 'rotate' } },
      { trigger: { timeBeforeExpiry: rotation.notifyBefore }, action: { type: 'notify' } },
    ],
  };
}

/**
 * A rotation policy in normal form: action types in lower case (Key Vault accepts `Rotate` and
 * `rotate`), durations as milliseconds (so `P12M` and `P360D` compare by length), actions sorted.
 */
export function normalRotationPolicy(policy: unknown): string | undefined {
  if (typeof policy !== 'object' || policy === null) return undefined;
  const p = policy as { attributes?: { expiryTime?: unknown }; lifetimeActions?: unknown };
  const ms = (v: unknown) => (typeof v === 'string' ? (isoDurationMs(v) ?? v) : undefined);
  const actions = (Array.isArray(p.lifetimeActions) ? p.lifetimeActions : [])
    .map((a: { trigger?: { timeAfterCreate?: unknown; timeBeforeExpiry?: unknown }; action?: { type?: unknown } }) =>
      JSON.stringify([
        String(a.action?.type ?? '').toLowerCase(),
        ms(a.trigger?.timeAfterCreate) ?? null,
        ms(a.trigger?.timeBeforeExpiry) ?? null,
      ]),
    )
    .sort();
  if (actions.length === 0) return undefined;
  return JSON.stringify({ expiry: ms(p.attributes?.expiryTime) ?? null, actions });
}

/** The current version of a key as ARM reports it: id, creation and expiry. */
export function keyVersionOf(
  observed: ArmBody | undefined,
): { version: string; keyUriWithVersion: string; createdAt: Date | undefined; expiresAt: Date | undefined } | undefined {
  if (observed === undefined) return undefined;
  const p = props(observed);
  const uri = str(p.keyUriWithVersion);
  const version = uri?.split('/').pop();
  if (uri === undefined || version === undefined) return undefined;
  const attrs = (p.attributes ?? {}) as { created?: unknown; exp?: unknown };
  const instant = (v: unknown) => (typeof v === 'number' ? new Date(v * 1000) : undefined);
  return { version, keyUriWithVersion: uri, createdAt: instant(attrs.created), expiresAt: instant(attrs.exp) };
}

export const vaultKeyKind: ResourceKind<VaultKeyParams> = {
  ...childrenOf<VaultKeyParams>(vaultKind.type, (p) => p.vaultId)('keys', KEY_VAULT_API_VERSION, 'key', (p) => p.name),
  // ARM's key PUT is create-if-not-exist: it never overwrites an existing key. The first version
  // expires like every later one (Key Vault's policy expiry only applies to rotated versions).
  create: (p, now = new Date()) => ({
    properties: {
      kty: 'RSA',
      keySize: p.keySize,
      keyOps: ['wrapKey', 'unwrapKey'],
      attributes: { exp: Math.floor((now.getTime() + (isoDurationMs(p.rotation.expireAfter) ?? 0)) / 1000) },
      rotationPolicy: rotationPolicyBody(p.rotation),
    },
  }),
  diff: (p, observed) => {
    const o = props(observed);
    return fieldsThatDiffer({
      kty: o.kty !== 'RSA',
      keySize: o.keySize !== p.keySize,
    });
  },
  // Replacing a TDE protector is a deliberate, manual operation: no update.
  state: () => undefined,
  ready: (observed) =>
    (props(observed).attributes as { enabled?: unknown } | undefined)?.enabled !== false &&
    str(props(observed).keyUriWithVersion) !== undefined,
  // ARM cannot change an existing key's rotation policy (its PUT is create-if-not-exist) and the
  // operator has no data-plane access to tenant vaults: a policy removed or changed by hand is
  // reported for a person to restore, never silently accepted.
  findings: (p, observed) => {
    if (observed === undefined) return undefined;
    const want = normalRotationPolicy(rotationPolicyBody(p.rotation));
    if (normalRotationPolicy(props(observed).rotationPolicy) === want) return undefined;
    const vault = p.vaultId.split('/').pop() ?? p.vaultId;
    return new PlatformError(
      'KeyRotationPolicyDiffers',
      `the rotation policy of key ${p.name} is missing or differs from the configuration (rotate after ${p.rotation.rotateAfter}, expire after ${p.rotation.expireAfter}, notify ${p.rotation.notifyBefore} before expiry); ARM cannot change an existing key's policy: set it with \`az keyvault key rotation-policy update --vault-name ${vault} --name ${p.name} --value <policy>\` (README, “Key rotation”)`,
      { retryAfterMs: PLATFORM_RETRY_MS },
    );
  },
};
