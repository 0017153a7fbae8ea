/**
 * The resource types the emulator serves, one spec each: accepted api-versions, which writes are
 * long-running, validation with ARM's error codes, server-filled read-only fields, and side effects.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { API_VERSIONS } from './api-versions.ts';
import { type ArmTarget, idKey } from './arm-path.ts';
import type { ControllableClock } from './clock.ts';
import { containerServiceSpecs } from './container-service.ts';
import { isIsoDuration, isoDurationMs } from './durations.ts';
import { failoverGroupSpec } from './geo-replication.ts';
import { asBoolean, asNumber, asObject, asString, clone, compact, isObject, type JsonObject } from './json.ts';
import { monitoringTypeSpecs } from './monitoring.ts';
import { privateLinkSpecs } from './private-link.ts';
import type { AzureQuotas } from './quotas.ts';
import { REGION_PAIRS } from './region-pairs.ts';
import { DEFAULT_DATABASE_USED_BYTES, pausesFor, restoreWindow, type SqlBackupSettings } from './sql-backups.ts';
import {
  childrenOfType,
  getResource,
  type ProvisioningState,
  putResource,
  type RetainedBackup,
  resourcesOfType,
  type Store,
  type StoredResource,
  subtree,
} from './store.ts';
import { AVAILABILITY_ZONE_REGIONS } from './zones.ts';

export interface ArmError {
  status: number;
  code: string;
  message: string;
}

export function armError(status: number, code: string, message: string): ArmError {
  return { status, code, message };
}

/** Settings that shape validation. */
export interface EmulatorSettings {
  /** The Entra tenant the emulated directory belongs to (identities' `tenantId`). */
  directoryTenantId: string;
  /** Locations accepted for tracked resources (normalized: lower case, no spaces). */
  locations: ReadonlySet<string>;
  /**
   * Refuse role assignments whose `principalType: ServicePrincipal` principal the emulator does not
   * know (a managed identity or a SQL server's system identity), like ARM's `PrincipalNotFound`.
   */
  strictPrincipals: boolean;
  /** The subscriptions the emulated account holds (lower case); others are 404 `SubscriptionNotFound`. */
  subscriptions: ReadonlySet<string>;
  /** Azure behaviours, realistic unless a test names a friendlier one (see README.md "Azure behaviours"). */
  behaviours: AzureBehaviours;
  /** Regions with availability zones (normalized); default AVAILABILITY_ZONE_REGIONS (zones.ts). */
  availabilityZoneRegions?: ReadonlySet<string>;
  /** Quotas enforced on creates (quotas.ts); default AZURE_DEFAULT_QUOTAS. */
  quotas?: AzureQuotas;
}

/** RBAC propagation before a new role assignment takes effect on the data plane, unscaled: 5 minutes. */
export const DEFAULT_RBAC_PROPAGATION_MS = 5 * 60_000;

/**
 * Behaviours Azure documents that a test may switch to a friendlier world, each by name. The defaults
 * (see `realisticBehaviours` in index.ts) are what Azure does.
 */
export interface AzureBehaviours {
  /** GET returns create-only fields (`createMode`, `sourceDatabaseId`, ...). Azure never does. Default false. */
  exposeCreateOnlyFields: boolean;
  /**
   * Deleting a database under a long-term-retention policy keeps a long-term backup taken at the
   * deletion. Azure copies only weekly full backups, never at deletion. Default false.
   */
  ltrBackupAtDeletion: boolean;
  /** Serverless (`GP_S_*`) databases pause after `autoPauseDelay` minutes of emulated idle time. Default true. */
  serverlessAutoPause: boolean;
  /**
   * How long a new role assignment takes to reach the data plane (server keys need the server
   * identity's crypto role on the vault): 0 makes it instant. Default 5 minutes times the time factor.
   */
  rbacPropagationDelayMs: number;
  /** Whether the propagation delay runs on real time or on the emulated clock. Default `real`. */
  rbacPropagationClock: 'real' | 'emulated';
  /** Microsoft.ManagedIdentity writes accepted per second per subscription (0: unlimited). Default 2. */
  managedIdentityWritesPerSecond: number;
  /**
   * Region of the Application Gateway for Containers (the front door): WAF policies must be created
   * there. Undefined accepts any region. Default `westeurope`.
   */
  frontDoorRegion: string | undefined;
  /**
   * Emulated time after a new key version appears before a SQL server whose encryption protector
   * has `autoRotationEnabled` switches to it. Azure documents "within 60 minutes": default 60 minutes.
   */
  sqlKeyAutoRotationDelayMs: number;
}

export interface TypeContext {
  store: Store;
  clock: ControllableClock;
  settings: EmulatorSettings;
  /** Live SQL backup settings (the engine's config). */
  sql: SqlBackupSettings;
  /** Real milliseconds a new geo-secondary seeds before it is caught up (the operation profile's). */
  geoSeedingMs?: number;
}

export type ResourceTarget = ArmTarget & { id: string; name: string; type: string };

export interface WriteInput {
  target: ResourceTarget;
  method: 'PUT' | 'PATCH';
  /** The request body (PUT), or the existing body with the patch merged in (PATCH). */
  body: JsonObject;
  existing: StoredResource | undefined;
}

export type WriteOutcome =
  | {
      ok: true;
      /** The stored body, without id/name/type (added by the engine). */
      body: JsonObject;
      /** Answer with this status instead of 201 (created) / 200 (updated). */
      status?: number;
      /** The write changes nothing and must not be stored (create-if-not-exist on an existing key). */
      unchanged?: boolean;
      /** Extra effect applied when the write commits (immediately, or when its operation succeeds). */
      onCommit?: () => void;
      /** The long-running operation also runs this long on the emulated clock (a point-in-time restore). */
      operationClockMs?: number;
      /** The write is a point-in-time restore (timed as one by the operation profile). */
      pointInTimeRestore?: boolean;
    }
  | { ok: false; error: ArmError };

export type WriteMode = 'sync' | 'async';

export interface ResourceTypeSpec {
  type: string;
  apiVersions: readonly string[];
  /** Allowed writes and whether each is answered at once (`sync`) or as a long-running operation. */
  writes: Partial<Record<'PUT' | 'PATCH' | 'DELETE', WriteMode>>;
  /** Tracked resources carry a (validated, immutable) location and tags. */
  tracked: boolean;
  /** Code for "this resource already exists in another location". */
  locationConflictCode?: string;
  /**
   * Where GET shows the provisioning state while an operation runs. Default:
   * `properties.provisioningState`. `none` for types whose API has no such field.
   */
  renderState?: 'none' | ((body: JsonObject, state: ProvisioningState) => void);
  /** Validate a PUT/PATCH and compute the stored body (server-filled fields included). */
  write(ctx: TypeContext, input: WriteInput): WriteOutcome;
  /** Effects after a create/update committed (auto-created child resources). */
  afterCommit?(ctx: TypeContext, resource: StoredResource, created: boolean): void;
  /** Dynamic read-only fields computed at read time (e.g. from the clock). */
  render?(ctx: TypeContext, resource: StoredResource, body: JsonObject): void;
  /** Refuse a delete. */
  validateDelete?(ctx: TypeContext, resource: StoredResource): ArmError | undefined;
  /** Called for this resource when it is removed, itself or as part of a parent's removal. */
  onRemove?(ctx: TypeContext, resource: StoredResource): void;
  /**
   * A DELETE of this resource while its operation runs cancels that operation instead of being
   * refused with 409 (Azure SQL: deleting a database being restored cancels the restore).
   */
  cancelOnDelete?(resource: StoredResource): boolean;
}

// --- shared helpers --------------------------------------------------------------------------

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isGuid(value: unknown): value is string {
  return typeof value === 'string' && GUID.test(value);
}

type Refusal = Extract<WriteOutcome, { ok: false }>;

function fail(status: number, code: string, message: string): Refusal {
  return { ok: false, error: armError(status, code, message) };
}

function invalidName(name: string, rule: string): WriteOutcome {
  return fail(400, 'InvalidResourceName', `The resource name '${name}' is invalid: ${rule}.`);
}

function props(body: JsonObject): JsonObject {
  return asObject(body.properties);
}

function parentOf(ctx: TypeContext, target: ArmTarget): StoredResource | undefined {
  return getResource(ctx.store, target.parentId);
}

function existingProps(existing: StoredResource | undefined): JsonObject {
  return existing === undefined ? {} : props(existing.body);
}

/** Built-in role definitions the emulator knows (GUIDs are the real, global ones). */
export const BUILT_IN_ROLES: Readonly<Record<string, string>> = {
  '8e3af657-a8ff-443c-a75c-2fe8c4bcb635': 'Owner',
  'b24988ac-6180-42a0-ab88-20f7382dd24c': 'Contributor',
  'acdd72a7-3385-48ef-bd42-f606fba81ae7': 'Reader',
  '00482a5a-887f-4fb3-b363-3b7fe8e74483': 'Key Vault Administrator',
  '14b46e9e-c2b7-41b4-b07b-48a6ebf60603': 'Key Vault Crypto Officer',
  'e147488a-f6f5-4113-8e2d-b22465e65bf6': 'Key Vault Crypto Service Encryption User',
  '12338af0-0e69-4776-bea7-57ae8d297424': 'Key Vault Crypto User',
  'b86a8fe4-44ce-4948-aee5-eccb2c155cd7': 'Key Vault Secrets Officer',
  '4633458b-17de-408a-b874-0445c86b69e6': 'Key Vault Secrets User',
  '21090545-7ca7-4776-b22c-e363652d74d2': 'Key Vault Reader',
  '9b7fa17d-e63e-47b0-bb0a-15c516ac86ec': 'SQL DB Contributor',
  '6d8ee4ec-f05a-4a1d-8b00-a9b17e38b437': 'SQL Server Contributor',
  'f1a07417-d97a-45cb-824c-7a7467783830': 'Managed Identity Operator',
};

/** Roles that let a SQL server wrap/unwrap with a vault key (data-plane crypto permissions). */
const CRYPTO_ROLES = new Set([
  '00482a5a-887f-4fb3-b363-3b7fe8e74483',
  '14b46e9e-c2b7-41b4-b07b-48a6ebf60603',
  'e147488a-f6f5-4113-8e2d-b22465e65bf6',
  '12338af0-0e69-4776-bea7-57ae8d297424',
]);

function roleGuid(roleDefinitionId: string): string | undefined {
  const m = /\/providers\/Microsoft\.Authorization\/roleDefinitions\/([^/]+)$/i.exec(roleDefinitionId);
  return m?.[1]?.toLowerCase();
}

/** Principals the emulated directory knows: managed identities and SQL servers' system identities. */
function knownPrincipals(store: Store): Set<string> {
  const ids = new Set<string>();
  for (const r of store.resources.values()) {
    const principal = asString(props(r.body).principalId) ?? asString(asObject(r.body.identity).principalId);
    if (principal !== undefined && r.type.toLowerCase() !== 'microsoft.authorization/roleassignments') {
      ids.add(principal.toLowerCase());
    }
  }
  return ids;
}

/**
 * Role assignments whose scope is `scopeId` or one of its ancestors. An assignment's id is
 * `{scope}/providers/Microsoft.Authorization/roleAssignments/{name}`, so the store files it under
 * its scope (`parentKey`): the scope and each ancestor are one lookup each, where a scan of every
 * assignment made each database write cost O(fleet).
 */
function assignmentsCovering(store: Store, scopeId: string): StoredResource[] {
  const byScope = store.byParent.get('microsoft.authorization/roleassignments');
  if (byScope === undefined) return [];
  const scope = idKey(scopeId);
  const found: StoredResource[] = [];
  for (let end = scope.length; end > 0; end = scope.lastIndexOf('/', end - 1)) {
    for (const ra of byScope.get(scope.slice(0, end))?.values() ?? []) found.push(ra);
  }
  return found;
}

/** Whether a role assignment has reached the data plane (see AzureBehaviours.rbacPropagationDelayMs). */
function hasPropagated(ctx: TypeContext, assignment: StoredResource): boolean {
  const { rbacPropagationDelayMs: delay, rbacPropagationClock } = ctx.settings.behaviours;
  if (delay <= 0) return true;
  if (rbacPropagationClock === 'emulated') {
    const created = Date.parse(asString(props(assignment.body).createdOn) ?? '');
    return Number.isNaN(created) || ctx.clock.now().getTime() - created >= delay;
  }
  return Date.now() - (asNumber(assignment.body._grantedAtMs) ?? 0) >= delay;
}

function findVaultByName(store: Store, name: string): StoredResource | undefined {
  return resourcesOfType(store, 'Microsoft.KeyVault/vaults').find((v) => v.name.toLowerCase() === name.toLowerCase());
}

function nowIso(ctx: TypeContext): string {
  return ctx.clock.now().toISOString();
}

// --- Microsoft.Resources/resourceGroups ---------------------------------------------------------

const resourceGroups: ResourceTypeSpec = {
  type: 'Microsoft.Resources/resourceGroups',
  apiVersions: [API_VERSIONS.resources],
  writes: { PUT: 'sync', PATCH: 'sync', DELETE: 'async' },
  tracked: true,
  locationConflictCode: 'InvalidResourceGroupLocation',
  write(_ctx, { target, body }) {
    if (!/^[-\w._()]{1,90}$/.test(target.name) || target.name.endsWith('.')) {
      return invalidName(target.name, '1-90 letters, digits, underscores, periods, hyphens, parentheses; no trailing period');
    }
    return { ok: true, body: { location: body.location, tags: body.tags, managedBy: body.managedBy, properties: {} } };
  },
};

// --- Microsoft.ManagedIdentity ------------------------------------------------------------------

const userAssignedIdentities: ResourceTypeSpec = {
  type: 'Microsoft.ManagedIdentity/userAssignedIdentities',
  apiVersions: [API_VERSIONS.managedIdentity],
  writes: { PUT: 'sync', PATCH: 'sync', DELETE: 'sync' },
  tracked: true,
  renderState: 'none',
  write(ctx, { target, body, existing }) {
    if (!/^[a-zA-Z0-9][a-zA-Z0-9_-]{2,127}$/.test(target.name)) {
      return invalidName(target.name, '3-128 letters, digits, hyphens, underscores, starting with a letter or digit');
    }
    const old = existingProps(existing);
    return {
      ok: true,
      body: {
        location: body.location,
        tags: body.tags,
        properties: {
          tenantId: ctx.settings.directoryTenantId,
          principalId: asString(old.principalId) ?? randomUUID(),
          clientId: asString(old.clientId) ?? randomUUID(),
          isolationScope: asString(props(body).isolationScope) ?? 'None',
        },
      },
    };
  },
};

const federatedIdentityCredentials: ResourceTypeSpec = {
  type: 'Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials',
  apiVersions: [API_VERSIONS.managedIdentity],
  writes: { PUT: 'sync', DELETE: 'sync' },
  tracked: false,
  renderState: 'none',
  write(ctx, { target, body }) {
    if (!/^[a-zA-Z0-9][a-zA-Z0-9_-]{2,119}$/.test(target.name)) {
      return invalidName(target.name, '3-120 letters, digits, hyphens, underscores, starting with a letter or digit');
    }
    const p = props(body);
    const issuer = asString(p.issuer);
    const subject = asString(p.subject);
    const audiences = Array.isArray(p.audiences) ? p.audiences.filter((a) => typeof a === 'string') : [];
    if (issuer === undefined || !/^https:\/\/\S+$/.test(issuer)) {
      return fail(400, 'BadRequest', 'The issuer must be an https URL.');
    }
    if (subject === undefined || subject.length === 0) return fail(400, 'BadRequest', 'The subject is required.');
    if (audiences.length !== 1) {
      return fail(400, 'BadRequest', `A federated identity credential takes exactly one audience, got ${audiences.length}.`);
    }
    const siblings = childrenOfType(ctx.store, target.parentId, target.type).filter(
      (s) => s.id.toLowerCase() !== target.id.toLowerCase(),
    );
    const clash = siblings.find((s) => props(s.body).issuer === issuer && props(s.body).subject === subject);
    if (clash !== undefined) {
      return fail(409, 'Conflict', `Federated credential '${clash.name}' already has this issuer and subject.`);
    }
    return { ok: true, body: { properties: { issuer, subject, audiences } } };
  },
};

// --- Microsoft.KeyVault ------------------------------------------------------------------------

const VAULT_NAME = /^[a-zA-Z][a-zA-Z0-9-]{1,22}[a-zA-Z0-9]$/;

const vaults: ResourceTypeSpec = {
  type: 'Microsoft.KeyVault/vaults',
  apiVersions: [API_VERSIONS.keyVault],
  writes: { PUT: 'async', PATCH: 'sync', DELETE: 'sync' },
  tracked: true,
  renderState: (body, state) => {
    // Key Vault reports `RegisteringDns` while a new vault's DNS name is being set up.
    asObject(body.properties).provisioningState = state === 'Creating' ? 'RegisteringDns' : state;
  },
  write(ctx, { target, body, existing }) {
    const name = target.name;
    if (!VAULT_NAME.test(name) || name.includes('--')) {
      return fail(
        400,
        'VaultNameNotValid',
        `The vault name '${name}' is invalid: 3-24 letters, digits and hyphens, starting with a letter, ending with a letter or digit, no consecutive hyphens.`,
      );
    }
    const p = props(body);
    const old = existingProps(existing);
    let restored: { vault: StoredResource; children: StoredResource[] } | undefined;
    if (existing === undefined) {
      const elsewhere = findVaultByName(ctx.store, name);
      if (elsewhere !== undefined) {
        return fail(
          409,
          'VaultAlreadyExists',
          `The vault name '${name}' is already in use. Vault names are globally unique so it is possible that the name is already taken.`,
        );
      }
      const deleted = ctx.store.deletedVaults.get(name.toLowerCase());
      if (p.createMode === 'recover') {
        if (deleted === undefined) return fail(404, 'ResourceNotFound', `No deleted vault named '${name}' to recover.`);
        if (deleted.location !== body.location) {
          return fail(400, 'BadRequest', `The deleted vault '${name}' is in location '${deleted.location}'.`);
        }
        restored = { vault: deleted.vault, children: deleted.children };
      } else if (deleted !== undefined) {
        return fail(
          409,
          'ConflictError',
          `A vault with the same name already exists in deleted state. You need to either recover or purge existing key vault '${name}'.`,
        );
      }
    }
    // Recovery brings the old vault back, with any properties the request sets applied on top.
    const previous = restored === undefined ? old : props(restored.vault.body);
    const source = restored === undefined ? p : { ...previous, ...p };
    const tenantId = source.tenantId;
    if (!isGuid(tenantId)) return fail(400, 'BadRequest', 'The property "tenantId" must be a GUID.');
    const sku = asObject(source.sku);
    if (sku.family !== 'A' || (sku.name !== 'standard' && sku.name !== 'premium')) {
      return fail(400, 'BadRequest', 'The property "sku" must be { family: "A", name: "standard" | "premium" }.');
    }
    const softDelete = asBoolean(source.enableSoftDelete) ?? true;
    if (!softDelete) return fail(400, 'BadRequest', 'Soft delete cannot be disabled on a vault.');
    const purgeProtection = asBoolean(source.enablePurgeProtection);
    if (purgeProtection === false) {
      return fail(
        400,
        'BadRequest',
        'The property "enablePurgeProtection" cannot be set to false. Enabling purge protection for a vault is an irreversible action.',
      );
    }
    const retention = asNumber(source.softDeleteRetentionInDays) ?? asNumber(previous.softDeleteRetentionInDays) ?? 90;
    if (!Number.isInteger(retention) || retention < 7 || retention > 90) {
      return fail(400, 'BadRequest', 'softDeleteRetentionInDays must be an integer from 7 to 90.');
    }
    if (previous.softDeleteRetentionInDays !== undefined && retention !== asNumber(previous.softDeleteRetentionInDays)) {
      return fail(400, 'BadRequest', 'softDeleteRetentionInDays cannot be changed after the vault is created.');
    }
    const acls = asObject(source.networkAcls);
    const access = asString(source.publicNetworkAccess) ?? 'Enabled';
    if (access !== 'Enabled' && access !== 'Disabled') {
      return fail(400, 'BadRequest', 'publicNetworkAccess must be "Enabled" or "Disabled".');
    }
    const restoredChildren = restored?.children;
    return {
      ok: true,
      body: {
        location: body.location,
        tags: restored === undefined ? body.tags : (body.tags ?? restored.vault.body.tags),
        properties: compact({
          tenantId,
          sku: { family: 'A', name: sku.name },
          accessPolicies: Array.isArray(source.accessPolicies) ? source.accessPolicies : [],
          vaultUri: `https://${name}.vault.azure.net/`,
          enabledForDeployment: asBoolean(source.enabledForDeployment) ?? false,
          enabledForDiskEncryption: asBoolean(source.enabledForDiskEncryption) ?? false,
          enabledForTemplateDeployment: asBoolean(source.enabledForTemplateDeployment) ?? false,
          enableSoftDelete: true,
          softDeleteRetentionInDays: retention,
          // api-version 2026-02-01: new vaults use Azure RBAC unless access policies are asked for.
          enableRbacAuthorization: asBoolean(source.enableRbacAuthorization) ?? true,
          // Irreversible: once on, a PUT that omits it keeps it on.
          enablePurgeProtection: purgeProtection ?? (previous.enablePurgeProtection === true ? true : undefined),
          networkAcls: {
            bypass: asString(acls.bypass) ?? 'AzureServices',
            defaultAction: asString(acls.defaultAction) ?? 'Allow',
            ipRules: Array.isArray(acls.ipRules) ? acls.ipRules : [],
            virtualNetworkRules: Array.isArray(acls.virtualNetworkRules) ? acls.virtualNetworkRules : [],
          },
          publicNetworkAccess: access,
          privateEndpointConnections: [],
        }),
      },
      ...(restoredChildren === undefined
        ? {}
        : {
            onCommit: () => {
              ctx.store.deletedVaults.delete(name.toLowerCase());
              for (const child of restoredChildren) putResource(ctx.store, clone(child));
            },
          }),
    };
  },
  onRemove(ctx, vault) {
    const p = props(vault.body);
    const deletionDate = ctx.clock.now();
    const retentionDays = asNumber(p.softDeleteRetentionInDays) ?? 90;
    const keys = subtree(ctx.store, vault.id).filter((r) => r.type === 'Microsoft.KeyVault/vaults/keys');
    ctx.store.deletedVaults.set(vault.name.toLowerCase(), {
      name: vault.name,
      location: asString(vault.body.location) ?? '',
      subscriptionId: vault.id.split('/')[2] ?? '',
      deletionDate,
      scheduledPurgeDate: new Date(deletionDate.getTime() + retentionDays * 86_400_000),
      purgeProtectionEnabled: p.enablePurgeProtection === true,
      vault: clone(vault),
      children: keys.map((k) => clone(k)),
    });
  },
};

const KEY_SIZES = new Set([2048, 3072, 4096]);

const DAY_MS = 86_400_000;

/**
 * Validate a key rotation policy as Key Vault does (how-to-configure-key-rotation): an expiry of at
 * least 28 days; a rotation at least 7 days after creation and at least 7 days before expiry; a
 * notification (and a rotation before expiry) only with an expiry to count from. Returns the policy
 * as stored (with its read-only `created`/`updated`), or an error.
 */
export function checkRotationPolicy(
  policy: unknown,
  nowSeconds: number,
): { ok: true; value: JsonObject } | { ok: false; error: ArmError } {
  const bad = (message: string) => ({
    ok: false as const,
    error: armError(400, 'BadRequest', `Invalid rotation policy: ${message}`),
  });
  const p = asObject(policy);
  const expiryTime = asString(asObject(p.attributes).expiryTime);
  const expiryMs = expiryTime === undefined ? undefined : isoDurationMs(expiryTime);
  if (expiryTime !== undefined && expiryMs === undefined) return bad(`expiryTime '${expiryTime}' is not an ISO 8601 duration.`);
  if (expiryMs !== undefined && expiryMs < 28 * DAY_MS) return bad('expiryTime must be at least 28 days.');
  const actions = Array.isArray(p.lifetimeActions) ? p.lifetimeActions : [];
  const seen = new Set<string>();
  for (const a of actions) {
    const type = asString(asObject(asObject(a).action).type)?.toLowerCase();
    const trigger = asObject(asObject(a).trigger);
    const afterCreate = asString(trigger.timeAfterCreate) || undefined;
    const beforeExpiry = asString(trigger.timeBeforeExpiry) || undefined;
    if (type !== 'rotate' && type !== 'notify') return bad(`action type must be 'rotate' or 'notify', got '${String(type)}'.`);
    if (seen.has(type)) return bad(`at most one '${type}' action.`);
    seen.add(type);
    if ((afterCreate === undefined) === (beforeExpiry === undefined)) {
      return bad('a trigger takes exactly one of timeAfterCreate and timeBeforeExpiry.');
    }
    const ms = isoDurationMs(afterCreate ?? beforeExpiry ?? '');
    if (ms === undefined) return bad(`'${afterCreate ?? beforeExpiry}' is not an ISO 8601 duration.`);
    if (type === 'notify' && afterCreate !== undefined) return bad('a notify action takes timeBeforeExpiry.');
    if (beforeExpiry !== undefined && expiryMs === undefined) return bad('timeBeforeExpiry needs attributes.expiryTime.');
    if (type === 'rotate') {
      if (ms < 7 * DAY_MS) return bad('a rotation is due at least 7 days after creation or before expiry.');
      if (afterCreate !== undefined && expiryMs !== undefined && ms > expiryMs - 7 * DAY_MS) {
        return bad('timeAfterCreate must be at least 7 days before expiryTime.');
      }
    }
  }
  return {
    ok: true,
    value: compact({
      lifetimeActions: actions,
      attributes: compact({ expiryTime, created: nowSeconds, updated: nowSeconds }),
    }),
  };
}

const vaultKeys: ResourceTypeSpec = {
  type: 'Microsoft.KeyVault/vaults/keys',
  apiVersions: [API_VERSIONS.keyVault],
  writes: { PUT: 'sync' },
  tracked: false,
  renderState: 'none',
  write(ctx, { target, body, existing }) {
    // ARM's keys.createIfNotExist: an existing key is returned untouched, with 200.
    if (existing !== undefined) return { ok: true, body: existing.body, status: 200, unchanged: true };
    if (!/^[a-zA-Z0-9-]{1,127}$/.test(target.name)) return invalidName(target.name, '1-127 letters, digits, hyphens');
    const vault = parentOf(ctx, target)!;
    const p = props(body);
    const kty = asString(p.kty) ?? 'RSA';
    if (!['RSA', 'RSA-HSM', 'EC', 'EC-HSM'].includes(kty)) return fail(400, 'BadRequest', `Unknown key type '${kty}'.`);
    if (kty.endsWith('-HSM') && asObject(props(vault.body).sku).name !== 'premium') {
      return fail(400, 'BadRequest', 'HSM-protected keys need a premium vault.');
    }
    const keySize = kty.startsWith('RSA') ? (asNumber(p.keySize) ?? 2048) : undefined;
    if (keySize !== undefined && !KEY_SIZES.has(keySize)) {
      return fail(400, 'BadRequest', `RSA key size must be 2048, 3072 or 4096, got ${keySize}.`);
    }
    const created = Math.floor(ctx.clock.now().getTime() / 1000);
    let rotationPolicy: JsonObject | undefined;
    if (p.rotationPolicy !== undefined) {
      const checked = checkRotationPolicy(p.rotationPolicy, created);
      if (!checked.ok) return { ok: false, error: checked.error };
      rotationPolicy = checked.value;
    }
    const version = newKeyVersion();
    const keyUri = `https://${vault.name}.vault.azure.net/keys/${target.name}`;
    const attrs = asObject(p.attributes);
    const exp = asNumber(attrs.exp);
    return {
      ok: true,
      status: 200,
      body: {
        location: vault.body.location,
        tags: body.tags ?? {},
        properties: compact({
          attributes: compact({
            enabled: asBoolean(attrs.enabled) ?? true,
            nbf: asNumber(attrs.nbf),
            exp,
            created,
            updated: created,
            recoveryLevel: props(vault.body).enablePurgeProtection === true ? 'Recoverable' : 'Recoverable+Purgeable',
            exportable: false,
          }),
          kty,
          keyOps: Array.isArray(p.keyOps) ? p.keyOps : ['encrypt', 'decrypt', 'sign', 'verify', 'wrapKey', 'unwrapKey'],
          keySize,
          curveName: kty.startsWith('EC') ? (asString(p.curveName) ?? 'P-256') : undefined,
          keyUri,
          keyUriWithVersion: `${keyUri}/${version}`,
          rotationPolicy,
        }),
        // Internal (never served): every version, for server-key validation, and their expiries.
        _versions: [version],
        _versionExpiry: exp === undefined ? {} : { [version]: exp },
      },
    };
  },
};

/** A Key Vault key version id: 32 lower-case hex digits. */
export function newKeyVersion(): string {
  return randomUUID().replaceAll('-', '');
}

// --- Microsoft.Authorization/roleAssignments ----------------------------------------------------

const roleAssignments: ResourceTypeSpec = {
  type: 'Microsoft.Authorization/roleAssignments',
  apiVersions: [API_VERSIONS.authorization],
  writes: { PUT: 'sync', DELETE: 'sync' },
  tracked: false,
  renderState: 'none',
  write(ctx, { target, body, existing }) {
    if (!isGuid(target.name)) {
      return fail(
        400,
        'InvalidRoleAssignmentId',
        `The role assignment ID '${target.name}' is not valid. The role assignment ID must be a GUID.`,
      );
    }
    const p = props(body);
    const roleDefinitionId = asString(p.roleDefinitionId) ?? '';
    const role = roleGuid(roleDefinitionId);
    if (role === undefined || BUILT_IN_ROLES[role] === undefined) {
      return fail(400, 'RoleDefinitionDoesNotExist', `The specified role definition '${roleDefinitionId}' does not exist.`);
    }
    const principalId = p.principalId;
    if (!isGuid(principalId)) return fail(400, 'InvalidPrincipalId', 'A valid principal ID must be provided.');
    const principalType = asString(p.principalType);
    // With principalType ServicePrincipal, ARM skips the directory lookup and accepts the assignment at
    // once (for a principal created moments ago); without it, an unknown principal is refused.
    if (
      ctx.settings.strictPrincipals &&
      principalType === undefined &&
      !knownPrincipals(ctx.store).has(principalId.toLowerCase())
    ) {
      return fail(
        400,
        'PrincipalNotFound',
        `Principal ${principalId.replaceAll('-', '')} does not exist in the directory ${ctx.settings.directoryTenantId}.`,
      );
    }
    const old = existingProps(existing);
    if (
      existing !== undefined &&
      (roleGuid(asString(old.roleDefinitionId) ?? '') !== role ||
        asString(old.principalId)?.toLowerCase() !== principalId.toLowerCase())
    ) {
      return fail(
        409,
        'RoleAssignmentUpdateNotPermitted',
        'Tenant ID, application ID, principal ID, and scope are not allowed to be updated.',
      );
    }
    const duplicate = childrenOfType(ctx.store, target.parentId, target.type).find(
      (ra) =>
        ra.id.toLowerCase() !== target.id.toLowerCase() &&
        asString(props(ra.body).scope)?.toLowerCase() === target.parentId.toLowerCase() &&
        roleGuid(asString(props(ra.body).roleDefinitionId) ?? '') === role &&
        asString(props(ra.body).principalId)?.toLowerCase() === principalId.toLowerCase(),
    );
    if (duplicate !== undefined) return fail(409, 'RoleAssignmentExists', 'The role assignment already exists.');
    const now = nowIso(ctx);
    return {
      ok: true,
      body: {
        properties: compact({
          roleDefinitionId,
          principalId,
          principalType,
          scope: target.parentId,
          condition: p.condition,
          conditionVersion: p.conditionVersion,
          description: p.description,
          createdOn: asString(old.createdOn) ?? now,
          updatedOn: now,
          createdBy: 'arm-emulator',
          updatedBy: 'arm-emulator',
        }),
        // Internal: when the assignment was made, in real ms, for the propagation delay.
        _grantedAtMs: asNumber(existing?.body._grantedAtMs) ?? Date.now(),
      },
    };
  },
};

// --- Microsoft.Sql ------------------------------------------------------------------------------

const TLS_VERSIONS = new Set(['None', '1.0', '1.1', '1.2', '1.3']);

function serverAdministrators(body: JsonObject): JsonObject | undefined {
  const admins = props(body).administrators;
  return isObject(admins) ? admins : undefined;
}

const sqlServers: ResourceTypeSpec = {
  type: 'Microsoft.Sql/servers',
  apiVersions: [API_VERSIONS.sql],
  writes: { PUT: 'async', PATCH: 'async', DELETE: 'async' },
  tracked: true,
  renderState: (body, state) => {
    asObject(body.properties).state = state === 'Succeeded' ? 'Ready' : state;
  },
  write(ctx, { target, body, existing }) {
    const name = target.name;
    if (!/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(name)) {
      return invalidName(name, '1-63 lower-case letters, digits and hyphens, not starting or ending with a hyphen');
    }
    const p = props(body);
    const old = existingProps(existing);
    if (existing === undefined) {
      const taken = resourcesOfType(ctx.store, 'Microsoft.Sql/servers').find((s) => s.name === name);
      if (taken !== undefined) {
        return fail(409, 'NameAlreadyExists', `The name '${name}.database.windows.net' already exists. Choose a different name.`);
      }
      const admins = serverAdministrators(body);
      const entraOnly = admins?.azureADOnlyAuthentication === true && isGuid(admins.sid) && asString(admins.login);
      const sqlLogin = asString(p.administratorLogin);
      if (!entraOnly && sqlLogin === undefined) {
        return fail(
          400,
          'InvalidParameterValue',
          'Invalid value given for parameter Login. Set administratorLogin/administratorLoginPassword or an Entra-only administrator.',
        );
      }
      if (sqlLogin !== undefined && asString(p.administratorLoginPassword) === undefined) {
        return fail(400, 'InvalidParameterValue', 'Invalid value given for parameter Password.');
      }
    } else if (p.administratorLogin !== undefined && p.administratorLogin !== old.administratorLogin) {
      return fail(400, 'InvalidParameterValue', 'administratorLogin cannot be changed after the server is created.');
    }
    const tls = asString(p.minimalTlsVersion) ?? 'None';
    if (!TLS_VERSIONS.has(tls)) return fail(400, 'InvalidParameterValue', `Invalid minimalTlsVersion '${tls}'.`);
    const publicAccess = asString(p.publicNetworkAccess) ?? 'Enabled';
    if (!['Enabled', 'Disabled', 'SecuredByPerimeter'].includes(publicAccess)) {
      return fail(400, 'InvalidParameterValue', `Invalid publicNetworkAccess '${publicAccess}'.`);
    }
    const identity = asObject(body.identity);
    const identityType = asString(identity.type) ?? 'None';
    if (!['None', 'SystemAssigned', 'UserAssigned', 'SystemAssigned,UserAssigned'].includes(identityType)) {
      return fail(400, 'InvalidParameterValue', `Invalid identity type '${identityType}'.`);
    }
    const oldIdentity = asObject(existing?.body.identity);
    const systemAssigned = identityType.startsWith('SystemAssigned');
    return {
      ok: true,
      body: compact({
        location: body.location,
        tags: body.tags,
        kind: 'v12.0',
        identity:
          identityType === 'None'
            ? undefined
            : compact({
                type: identityType,
                principalId: systemAssigned ? (asString(oldIdentity.principalId) ?? randomUUID()) : undefined,
                tenantId: systemAssigned ? ctx.settings.directoryTenantId : undefined,
                userAssignedIdentities: identity.userAssignedIdentities,
              }),
        properties: compact({
          administratorLogin: asString(old.administratorLogin) ?? asString(p.administratorLogin),
          version: asString(p.version) ?? '12.0',
          state: 'Ready',
          fullyQualifiedDomainName: `${name}.database.windows.net`,
          privateEndpointConnections: [],
          minimalTlsVersion: tls,
          publicNetworkAccess: publicAccess,
          restrictOutboundNetworkAccess: asString(p.restrictOutboundNetworkAccess) ?? 'Disabled',
          externalGovernanceStatus: 'Disabled',
          primaryUserAssignedIdentityId: p.primaryUserAssignedIdentityId,
        }),
        // Internal: the create-time Entra admin, turned into child resources on commit.
        _administrators: existing === undefined ? serverAdministrators(body) : undefined,
      }),
    };
  },
  onRemove(ctx, server) {
    // Deleting a server deletes the point-in-time backups of its dropped databases, and of the
    // databases it takes with it.
    server.body._removing = true;
    ctx.store.droppedDatabases = ctx.store.droppedDatabases.filter((d) => d.serverId.toLowerCase() !== server.id.toLowerCase());
  },
  afterCommit(ctx, server, created) {
    const admins = asObject(server.body._administrators);
    delete server.body._administrators;
    if (!created) return;
    // A new server starts with service-managed TDE and (unless set at creation) no Entra admin.
    addChild(ctx, server, 'Microsoft.Sql/servers/keys', 'ServiceManaged', {
      kind: 'servicemanaged',
      properties: { serverKeyType: 'ServiceManaged', creationDate: nowIso(ctx) },
    });
    addChild(ctx, server, 'Microsoft.Sql/servers/encryptionProtector', 'current', {
      kind: 'servicemanaged',
      properties: { serverKeyName: 'ServiceManaged', serverKeyType: 'ServiceManaged', autoRotationEnabled: false },
    });
    addChild(ctx, server, 'Microsoft.Sql/servers/azureADOnlyAuthentications', 'Default', {
      properties: { azureADOnlyAuthentication: admins.azureADOnlyAuthentication === true },
    });
    // Auditing and Defender for SQL are off until someone turns them on (Defender enabled for the
    // whole subscription in Defender for Cloud is not modelled).
    addChild(ctx, server, SERVER_AUDITING_TYPE, 'default', { properties: auditingPolicyBody({ state: 'Disabled' }) });
    addChild(ctx, server, SERVER_THREAT_PROTECTION_TYPE, 'Default', {
      properties: { state: 'New', creationTime: '0001-01-01T00:00:00Z' },
    });
    if (isGuid(admins.sid)) {
      addChild(ctx, server, 'Microsoft.Sql/servers/administrators', 'ActiveDirectory', {
        properties: compact({
          administratorType: 'ActiveDirectory',
          login: admins.login,
          sid: admins.sid,
          tenantId: isGuid(admins.tenantId) ? admins.tenantId : ctx.settings.directoryTenantId,
        }),
      });
    }
  },
};

function addChild(ctx: TypeContext, parent: StoredResource, type: string, name: string, body: JsonObject): void {
  const segment = type.split('/').pop()!;
  const id = `${parent.id}/${segment}/${name}`;
  putResource(ctx.store, { id, type, name, body: { id, name, type, ...body }, state: 'Succeeded', operationId: undefined });
}

/**
 * The DTU catalogue (service objective -> edition and DTUs). GET returns a DTU SKU in normal form:
 * `S0` comes back as name `Standard`, tier `Standard`, capacity 10.
 */
const DTU_OBJECTIVES: Readonly<Record<string, { edition: 'Basic' | 'Standard' | 'Premium'; dtu: number }>> = {
  Basic: { edition: 'Basic', dtu: 5 },
  S0: { edition: 'Standard', dtu: 10 },
  S1: { edition: 'Standard', dtu: 20 },
  S2: { edition: 'Standard', dtu: 50 },
  S3: { edition: 'Standard', dtu: 100 },
  S4: { edition: 'Standard', dtu: 200 },
  S6: { edition: 'Standard', dtu: 400 },
  S7: { edition: 'Standard', dtu: 800 },
  S9: { edition: 'Standard', dtu: 1600 },
  S12: { edition: 'Standard', dtu: 3000 },
  P1: { edition: 'Premium', dtu: 125 },
  P2: { edition: 'Premium', dtu: 250 },
  P4: { edition: 'Premium', dtu: 500 },
  P6: { edition: 'Premium', dtu: 1000 },
  P11: { edition: 'Premium', dtu: 1750 },
  P15: { edition: 'Premium', dtu: 4000 },
};

/** vCore SKUs: `<edition>[_S]_<family>[_<vcores>]`; normal form is `<edition>[_S]_<family>` with the vCores as capacity. */
const VCORE_SKU = /^(GP|BC|HS)(_S)?_(Gen5|Fsv2|DC|8IM|8IH|PRMS|MOPRMS)(?:_(\d+))?$/;
const VCORE_TIERS: Readonly<Record<string, string>> = { GP: 'GeneralPurpose', BC: 'BusinessCritical', HS: 'Hyperscale' };

export interface NormalSku {
  sku: JsonObject;
  /** The service objective name (`S0`, `GP_Gen5_2`), as `currentServiceObjectiveName` shows it. */
  serviceObjective: string;
}

/**
 * A requested SKU in Azure's normal form, accepting both forms (`S0` or `Standard`/10; `GP_Gen5_2` or
 * `GP_Gen5`/2). Codes from Databases.json (2022-08-01-preview): InvalidSkuName,
 * MismatchedSkuNameAndCapacity, MismatchedSkuNameAndTier.
 */
export function normalizeDatabaseSku(requested: JsonObject): { ok: true; value: NormalSku } | { ok: false; error: ArmError } {
  const name = asString(requested.name) ?? '';
  const tier = asString(requested.tier);
  const capacity = asNumber(requested.capacity);
  const mismatch = (what: 'Tier' | 'Capacity', detail: string) => ({
    ok: false as const,
    error: armError(400, `MismatchedSkuNameAnd${what}`, `Mismatch between SKU name '${name}' and ${detail}.`),
  });
  const edition = Object.values(DTU_OBJECTIVES).find((o) => o.edition === name)?.edition;
  const objective = DTU_OBJECTIVES[name] ?? (edition === undefined ? undefined : { edition, dtu: undefined });
  if (objective !== undefined) {
    const dtu = objective.dtu ?? capacity ?? (edition === 'Premium' ? 125 : edition === 'Basic' ? 5 : 10);
    if (capacity !== undefined && capacity !== dtu) return mismatch('Capacity', `capacity ${capacity}`);
    if (tier !== undefined && tier !== objective.edition) return mismatch('Tier', `tier '${tier}'`);
    const short = Object.entries(DTU_OBJECTIVES).find(([, o]) => o.edition === objective.edition && o.dtu === dtu)?.[0];
    if (short === undefined) {
      return {
        ok: false,
        error: armError(400, 'UnsupportedCapacity', `${objective.edition} has no ${dtu} DTU service objective.`),
      };
    }
    return {
      ok: true,
      value: { sku: { name: objective.edition, tier: objective.edition, capacity: dtu }, serviceObjective: short },
    };
  }
  const m = VCORE_SKU.exec(name);
  if (m === null) return { ok: false, error: armError(400, 'InvalidSkuName', `The SKU name '${name}' is not valid.`) };
  const [, editionCode = '', serverless = '', family = '', suffix] = m;
  const vcores = suffix === undefined ? (capacity ?? 2) : Number(suffix);
  if (capacity !== undefined && capacity !== vcores) return mismatch('Capacity', `capacity ${capacity}`);
  if (!Number.isInteger(vcores) || vcores < 1) {
    return { ok: false, error: armError(400, 'UnsupportedCapacity', `The capacity ${vcores} is not valid.`) };
  }
  const vcoreTier = VCORE_TIERS[editionCode] ?? '';
  if (tier !== undefined && tier !== vcoreTier) return mismatch('Tier', `tier '${tier}'`);
  const base = `${editionCode}${serverless}_${family}`;
  return {
    ok: true,
    value: { sku: { name: base, tier: vcoreTier, family, capacity: vcores }, serviceObjective: `${base}_${vcores}` },
  };
}

const REDUNDANCY = new Set(['Local', 'Zone', 'Geo', 'GeoZone']);

const DEFAULT_ZONE_REGIONS: ReadonlySet<string> = new Set(AVAILABILITY_ZONE_REGIONS);

/**
 * Azure SQL's refusal of a zone-redundant database where it cannot be one: a region without
 * availability zones, or a DTU Basic/Standard SKU. Code and text as Azure answers them (SQL error
 * 45406, "Provisioning of zone redundant database/pool is not supported for your current request";
 * ARM code `ProvisioningDisabled`).
 */
function zoneRedundancyRefusal(ctx: TypeContext, location: string, tier: string): WriteOutcome | undefined {
  const zoneRegions = ctx.settings.availabilityZoneRegions ?? DEFAULT_ZONE_REGIONS;
  if (zoneRegions.has(location.replaceAll(' ', '').toLowerCase()) && tier !== 'Basic' && tier !== 'Standard') return undefined;
  return fail(
    400,
    'ProvisioningDisabled',
    'Provisioning of zone redundant database/pool is not supported for your current request.',
  );
}

/** Serverless SKUs (`GP_S_Gen5`, `HS_S_Gen5`) pause when idle. */
function isServerless(sku: unknown): boolean {
  return /^(GP|HS)_S_/.test(asString(asObject(sku).name) ?? '');
}

/** Documented default auto-pause delay of a serverless database: 60 minutes. */
const DEFAULT_AUTO_PAUSE_MINUTES = 60;

/** When a serverless database paused (emulated ms), or undefined while it is running. */
export function pausedSince(ctx: TypeContext, database: StoredResource): number | undefined {
  if (!ctx.settings.behaviours.serverlessAutoPause || !isServerless(database.body.sku) || database.state !== 'Succeeded') {
    return undefined;
  }
  const delay = asNumber(props(database.body).autoPauseDelay) ?? DEFAULT_AUTO_PAUSE_MINUTES;
  if (delay <= 0) return undefined;
  const last = asNumber(database.body._lastActivityMs) ?? Date.parse(asString(props(database.body).creationDate) ?? '');
  const at = last + delay * 60_000;
  return Number.isFinite(at) && ctx.clock.now().getTime() >= at ? at : undefined;
}

/** A connection to the database (or an explicit resume): a paused serverless database resumes, the idle timer restarts. */
export function recordDatabaseActivity(ctx: TypeContext, database: StoredResource): void {
  const now = ctx.clock.now().getTime();
  if (pausedSince(ctx, database) !== undefined) database.body._resumedAtMs = now;
  database.body._lastActivityMs = now;
}

/**
 * Whether an update to a paused serverless database makes only changes Azure lists as auto-resume
 * triggers ("Modifying certain database metadata: adding new database tags; changing maximum
 * vCores, minimum vCores, or auto-pause delay", serverless-tier-auto-pause-resume), and at least one.
 */
export function onlyAutoResumingChanges(existing: JsonObject, body: JsonObject): boolean {
  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
  const oldTags = asObject(existing.tags);
  const newTags = asObject(body.tags);
  const addedTags = Object.keys(newTags).filter((k) => !(k in oldTags));
  if (Object.keys(oldTags).some((k) => !(k in newTags) || !same(oldTags[k], newTags[k]))) return false;
  const oldSku = asObject(existing.sku);
  const newSku = isObject(body.sku) ? body.sku : oldSku;
  if (asString(newSku.name) !== asString(oldSku.name)) return false;
  let resuming = addedTags.length > 0 || (newSku.capacity !== undefined && !same(newSku.capacity, oldSku.capacity));
  const oldProps = props(existing);
  for (const [key, value] of Object.entries(props(body))) {
    if (value === undefined || same(value, oldProps[key])) continue;
    if (key !== 'autoPauseDelay' && key !== 'minCapacity') return false;
    resuming = true;
  }
  if (body.identity !== undefined && !same(body.identity, existing.identity)) return false;
  return resuming;
}

const sqlDatabases: ResourceTypeSpec = {
  type: 'Microsoft.Sql/servers/databases',
  apiVersions: [API_VERSIONS.sql],
  writes: { PUT: 'async', PATCH: 'async', DELETE: 'async' },
  tracked: true,
  renderState: (body, state) => {
    const p = asObject(body.properties);
    if (state === 'Creating') p.status = 'Creating';
    else if (state === 'Updating') p.status = 'Scaling';
    else if (state === 'Deleting') p.status = 'Dropping';
  },
  write(ctx, { target, body, existing }) {
    const name = target.name;
    if (name.length > 128 || /[<>*%&:\\/?]/.test(name) || /[. ]$/.test(name) || name.toLowerCase() === 'master') {
      return invalidName(name, "1-128 characters without <>*%&:\\/?, not ending with '.' or ' ', not 'master'");
    }
    if (existing !== undefined && pausedSince(ctx, existing) !== undefined) {
      // Azure documents these updates as auto-resume triggers; anything else on a paused database
      // is refused here (Azure does not document the rest: the stricter reading, see the README).
      if (!onlyAutoResumingChanges(existing.body, body)) {
        return fail(
          400,
          'UpdateNotAllowedOnPausedDatabase',
          `The database '${name}' is paused. Resume it (connect to it) before updating it.`,
        );
      }
      recordDatabaseActivity(ctx, existing);
    }
    const server = parentOf(ctx, target)!;
    if (body.location !== server.body.location) {
      return fail(
        400,
        'InvalidParameterValue',
        `The database location '${String(body.location)}' must match its server's location '${String(server.body.location)}'.`,
      );
    }
    const p = props(body);
    const old = existingProps(existing);
    const createMode = existing === undefined ? (asString(p.createMode) ?? 'Default') : 'Default';
    let restore: PointInTimeRestore | undefined;
    if (existing === undefined && createMode === 'PointInTimeRestore') {
      const checked = checkPointInTimeRestore(ctx, p, asString(body.location) ?? '');
      if (!checked.ok) return checked.outcome;
      restore = checked.restore;
    } else if (existing === undefined && createMode !== 'Default') {
      return fail(400, 'InvalidParameterValue', `createMode '${createMode}' is not supported by the emulator yet.`);
    }
    // A restore keeps the source's service objective unless the request names another.
    const fallbackSku = restore?.source.body.sku ?? existing?.body.sku ?? { name: 'GP_Gen5', capacity: 2 };
    const normal = normalizeDatabaseSku(isObject(body.sku) ? body.sku : asObject(fallbackSku));
    if (!normal.ok) return { ok: false, error: normal.error };
    const { sku, serviceObjective } = normal.value;
    const redundancy = asString(p.requestedBackupStorageRedundancy) ?? asString(old.requestedBackupStorageRedundancy) ?? 'Geo';
    if (!REDUNDANCY.has(redundancy)) {
      return fail(400, 'InvalidBackupStorageRedundancy', `Backup storage redundancy '${redundancy}' is not valid.`);
    }
    const serverless = isServerless(sku);
    const autoPauseDelay = serverless
      ? (asNumber(p.autoPauseDelay) ?? asNumber(old.autoPauseDelay) ?? DEFAULT_AUTO_PAUSE_MINUTES)
      : undefined;
    if (autoPauseDelay !== undefined && autoPauseDelay !== -1 && (autoPauseDelay < 15 || autoPauseDelay > 10080)) {
      return fail(400, 'InvalidParameterValue', `autoPauseDelay must be -1 or 15-10080 minutes, got ${autoPauseDelay}.`);
    }
    const zoneRedundant = asBoolean(p.zoneRedundant) ?? false;
    if (zoneRedundant) {
      const refusal = zoneRedundancyRefusal(ctx, asString(body.location) ?? '', asString(sku.tier) ?? '');
      if (refusal) return refusal;
    }
    const cmk = databaseKeySettings(ctx, name, body, existing);
    if (!cmk.ok) return cmk;
    const usedBytes =
      asNumber(existing?.body._usedBytes) ?? asNumber(restore?.source.body._usedBytes) ?? DEFAULT_DATABASE_USED_BYTES;
    return {
      ok: true,
      pointInTimeRestore: restore !== undefined,
      ...(restore !== undefined && ctx.sql.restoreDurationMs > 0 ? { operationClockMs: ctx.sql.restoreDurationMs } : {}),
      body: {
        location: body.location,
        tags: body.tags,
        ...(cmk.identity ? { identity: cmk.identity } : {}),
        sku,
        kind: serverless ? 'v12.0,user,vcore,serverless' : 'v12.0,user,vcore',
        // Internal: the data size the usages endpoint reports (a restore brings the source's).
        _usedBytes: usedBytes,
        // Internal: last activity (emulated ms) for auto-pause; a write counts as activity.
        _lastActivityMs: ctx.clock.now().getTime(),
        // Internal: long-term retention policies in force over time (for the weekly LTR copies).
        _ltrHistory: existing?.body._ltrHistory,
        properties: compact({
          collation: asString(old.collation) ?? asString(p.collation) ?? 'SQL_Latin1_General_CP1_CI_AS',
          maxSizeBytes: asNumber(p.maxSizeBytes) ?? asNumber(old.maxSizeBytes) ?? 34_359_738_368,
          status: 'Online',
          databaseId: asString(old.databaseId) ?? randomUUID(),
          creationDate: asString(old.creationDate) ?? nowIso(ctx),
          currentServiceObjectiveName: serviceObjective,
          requestedServiceObjectiveName: serviceObjective,
          // Azure names the region's pair (a nonpaired region names itself).
          defaultSecondaryLocation: REGION_PAIRS[asString(body.location) ?? ''] ?? body.location,
          catalogCollation: 'SQL_Latin1_General_CP1_CI_AS',
          zoneRedundant,
          readScale: 'Disabled',
          currentSku: sku,
          autoPauseDelay,
          minCapacity: serverless ? (asNumber(p.minCapacity) ?? asNumber(old.minCapacity) ?? 0.5) : undefined,
          currentBackupStorageRedundancy: redundancy,
          requestedBackupStorageRedundancy: redundancy,
          isLedgerOn: false,
          isInfraEncryptionEnabled: false,
          keys: cmk.keys,
          encryptionProtector: cmk.encryptionProtector,
        }),
      },
    };
  },
  afterCommit(ctx, database, created) {
    database.body._lastActivityMs = ctx.clock.now().getTime();
    if (!created) return;
    // A new database has TDE on (service-managed until the server's protector says otherwise),
    // 7 days of point-in-time restore with 12-hour differentials, and no long-term retention.
    addChild(ctx, database, 'Microsoft.Sql/servers/databases/transparentDataEncryption', 'current', {
      properties: { state: 'Enabled' },
    });
    addChild(ctx, database, 'Microsoft.Sql/servers/databases/backupShortTermRetentionPolicies', 'default', {
      properties: { retentionDays: 7, diffBackupIntervalInHours: 12 },
    });
    addChild(ctx, database, 'Microsoft.Sql/servers/databases/backupLongTermRetentionPolicies', 'default', {
      properties: { weeklyRetention: 'PT0S', monthlyRetention: 'PT0S', yearlyRetention: 'PT0S', weekOfYear: 1 },
    });
  },
  render(ctx, database, body) {
    const p = asObject(body.properties);
    if (database.state === 'Creating') {
      if (asObject(database.body._createValues).createMode === 'PointInTimeRestore') p.status = 'Restoring';
      return;
    }
    // Point-in-time restore reaches back to creation, or to the retention window, whichever is later.
    const earliest = databaseRestoreWindow(ctx, database).earliest;
    if (earliest !== undefined) p.earliestRestoreDate = new Date(earliest).toISOString();
    const paused = pausedSince(ctx, database);
    if (paused !== undefined) {
      p.status = 'Paused';
      p.pausedDate = new Date(paused).toISOString();
    } else if (asNumber(database.body._resumedAtMs) !== undefined) {
      p.resumedDate = new Date(asNumber(database.body._resumedAtMs)!).toISOString();
    }
  },
  cancelOnDelete(database) {
    return database.state === 'Creating' && asObject(database.body._createValues).createMode === 'PointInTimeRestore';
  },
  onRemove(ctx, database) {
    const now = ctx.clock.now();
    const segments = database.id.split('/');
    const serverId = segments.slice(0, -2).join('/');
    const server = getResource(ctx.store, serverId);
    // Long-term backups already copied outlive the database (and its server).
    ctx.store.retainedBackups.push(
      ...longTermBackupsOf(ctx, database, now.getTime()).map((b) => ({ ...b, databaseDeletionTime: now })),
    );
    if (ctx.settings.behaviours.ltrBackupAtDeletion) {
      const retention = longestRetentionMs(ltrPolicyOf(ctx, database));
      if (retention > 0) {
        ctx.store.retainedBackups.push(
          retainedBackup(database, server, now, now.getTime(), now.getTime() + retention, `${randomUUID()};${now.getTime()}`),
        );
      }
    }
    // The point-in-time backups stay restorable for the short-term retention, unless the server goes
    // too (deleting a server deletes its dropped databases' backups).
    if (server !== undefined && server.body._removing !== true) {
      const str = getResource(ctx.store, `${database.id}/backupShortTermRetentionPolicies/default`);
      const days = asNumber(props(str?.body ?? {}).retentionDays) ?? 7;
      const window = databaseRestoreWindow(ctx, database);
      ctx.store.droppedDatabases.push({
        id: `${serverId}/restorableDroppedDatabases/${database.name},${now.getTime()}`,
        serverId,
        databaseName: database.name,
        creationDate: new Date(asString(props(database.body).creationDate) ?? now.toISOString()),
        deletionDate: now,
        earliestRestoreDate: new Date(window.earliest ?? now.getTime()),
        expiresAt: new Date(now.getTime() + days * 86_400_000),
      });
    }
  },
};

// --- long-term retention: copies of weekly full backups ------------------------------------------

const WEEK_MS = 7 * 86_400_000;

/** Azure caps long-term retention at 10 years. */
export const MAX_LONG_TERM_RETENTION_MS = 3650 * 86_400_000;

interface LtrPolicyPeriod {
  fromMs: number;
  weeklyRetention: string;
  monthlyRetention: string;
  yearlyRetention: string;
  weekOfYear: number;
}

function ltrPolicyOf(ctx: TypeContext, database: StoredResource): JsonObject {
  return props(getResource(ctx.store, `${database.id}/backupLongTermRetentionPolicies/default`)?.body ?? {});
}

function longestRetentionMs(p: JsonObject): number {
  return Math.max(
    0,
    ...[p.weeklyRetention, p.monthlyRetention, p.yearlyRetention].map((d) => isoDurationMs(asString(d) ?? 'PT0S') ?? 0),
  );
}

/** ISO 8601 week number of a UTC instant. */
function isoWeek(ms: number): number {
  const d = new Date(ms);
  const day = (d.getUTCDay() + 6) % 7;
  const thursday = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() - day + 3);
  const firstThursday = new Date(Date.UTC(new Date(thursday).getUTCFullYear(), 0, 4));
  return 1 + Math.round((thursday - firstThursday.getTime()) / WEEK_MS - (((firstThursday.getUTCDay() + 6) % 7) - 3) / 7);
}

function retainedBackup(
  database: StoredResource,
  server: StoredResource | undefined,
  deletion: Date | undefined,
  backupMs: number,
  expiresMs: number,
  name: string,
): RetainedBackup {
  const segments = database.id.split('/');
  const location = asString(database.body.location) ?? '';
  const serverName = segments[segments.length - 3] ?? '';
  return {
    id: `/subscriptions/${segments[2]}/providers/Microsoft.Sql/locations/${location}/longTermRetentionServers/${serverName}/longTermRetentionDatabases/${database.name}/longTermRetentionBackups/${name}`,
    location,
    subscriptionId: segments[2] ?? '',
    serverName,
    databaseName: database.name,
    serverCreateTime: server === undefined ? undefined : new Date(asString(props(server.body).creationDate) ?? backupMs),
    databaseDeletionTime: deletion,
    backupTime: new Date(backupMs),
    backupExpirationTime: new Date(expiresMs),
    backupStorageRedundancy: asString(props(database.body).currentBackupStorageRedundancy) ?? 'Geo',
  };
}

/**
 * The long-term backups of a database that exist at `nowMs`: Azure copies the weekly full backup
 * (taken every 7 days of emulated time from creation, none inside a backup pause) while a policy keeps
 * something, for the longest retention that applies to it (weekly; monthly for the month's first;
 * yearly for the one in `weekOfYear`). A policy set after a full backup keeps nothing of that backup.
 */
export function longTermBackupsOf(ctx: TypeContext, database: StoredResource, nowMs: number): RetainedBackup[] {
  const history = (Array.isArray(database.body._ltrHistory) ? database.body._ltrHistory : []) as unknown as LtrPolicyPeriod[];
  const created = Date.parse(asString(props(database.body).creationDate) ?? '');
  if (history.length === 0 || Number.isNaN(created)) return [];
  const server = getResource(ctx.store, database.id.split('/').slice(0, -2).join('/'));
  const pauses = pausesFor(ctx.store.backupPauses, database.name);
  const backups: RetainedBackup[] = [];
  for (let t = created; t <= nowMs; t += WEEK_MS) {
    if (pauses.some((p) => t >= p.from && t < (p.to ?? Number.POSITIVE_INFINITY))) continue;
    // A policy set at the instant of a full backup (or later) does not cover that backup.
    const policy = history.filter((h) => h.fromMs < t).at(-1);
    if (policy === undefined) continue;
    const firstOfMonth = new Date(t - WEEK_MS).getUTCMonth() !== new Date(t).getUTCMonth();
    const retention = Math.max(
      isoDurationMs(policy.weeklyRetention) ?? 0,
      firstOfMonth ? (isoDurationMs(policy.monthlyRetention) ?? 0) : 0,
      isoWeek(t) === policy.weekOfYear ? (isoDurationMs(policy.yearlyRetention) ?? 0) : 0,
    );
    if (retention > 0 && t + retention > nowMs) {
      backups.push(retainedBackup(database, server, undefined, t, t + retention, `${database.name};${t}`));
    }
  }
  return backups;
}

/** The restore window of a stored database, from its short-term retention and the backup model. */
export function databaseRestoreWindow(ctx: TypeContext, database: StoredResource): ReturnType<typeof restoreWindow> {
  const str = getResource(ctx.store, `${database.id}/backupShortTermRetentionPolicies/default`);
  const days = asNumber(props(str?.body ?? {}).retentionDays) ?? 7;
  return restoreWindow(database.body, days, ctx.clock.now().getTime(), ctx.sql, ctx.store.backupPauses);
}

interface PointInTimeRestore {
  source: StoredResource;
  /** ISO 8601, as requested. */
  pointInTime: string;
}

/**
 * `createMode: PointInTimeRestore`: the source must be a settled database in the same location, and
 * `restorePointInTime` within its restore window (earliest restore date to newest backup).
 */
function checkPointInTimeRestore(
  ctx: TypeContext,
  p: JsonObject,
  location: string,
): { ok: true; restore: PointInTimeRestore } | { ok: false; outcome: WriteOutcome } {
  const no = (code: string, message: string) => ({ ok: false as const, outcome: fail(400, code, message) });
  const sourceId = asString(p.sourceDatabaseId);
  if (sourceId === undefined)
    return no('InvalidParameterValue', 'sourceDatabaseId is required with createMode PointInTimeRestore.');
  const source = getResource(ctx.store, sourceId);
  if (source === undefined || source.type !== 'Microsoft.Sql/servers/databases') {
    return no('SourceDatabaseNotFound', `The source database '${sourceId}' does not exist.`);
  }
  if (source.state === 'Creating' || source.state === 'Deleting') {
    return no('SourceDatabaseNotReady', `The source database '${source.name}' is ${source.state.toLowerCase()}.`);
  }
  if (source.body.location !== location.replaceAll(' ', '').toLowerCase()) {
    return no(
      'InvalidParameterValue',
      `A point-in-time restore must stay in the source's location '${String(source.body.location)}'.`,
    );
  }
  const requested = asString(p.restorePointInTime);
  const at = Date.parse(requested ?? '');
  if (requested === undefined || Number.isNaN(at)) {
    return no('InvalidParameterValue', 'restorePointInTime (ISO 8601) is required with createMode PointInTimeRestore.');
  }
  const window = databaseRestoreWindow(ctx, source);
  if (window.earliest === undefined || window.newest === undefined || at < window.earliest || at > window.newest) {
    const range =
      window.earliest === undefined || window.newest === undefined
        ? 'no backup exists yet'
        : `choose a time between ${new Date(window.earliest).toISOString()} and ${new Date(window.newest).toISOString()}`;
    return no('RestorePointInTimeOutOfRange', `The point in time ${requested} cannot be restored: ${range}.`);
  }
  return { ok: true, restore: { source, pointInTime: new Date(at).toISOString() } };
}

function fixedName(expected: string): (name: string) => WriteOutcome | undefined {
  return (name) =>
    name === expected ? undefined : fail(400, 'InvalidParameterValue', `The resource name must be '${expected}', got '${name}'.`);
}

const transparentDataEncryption: ResourceTypeSpec = {
  type: 'Microsoft.Sql/servers/databases/transparentDataEncryption',
  apiVersions: [API_VERSIONS.sql],
  writes: { PUT: 'async' },
  tracked: false,
  renderState: 'none',
  write(_ctx, { target, body }) {
    const bad = fixedName('current')(target.name);
    if (bad) return bad;
    const state = props(body).state;
    if (state !== 'Enabled' && state !== 'Disabled') {
      return fail(400, 'InvalidParameterValue', `TDE state must be 'Enabled' or 'Disabled'.`);
    }
    return { ok: true, body: { properties: { state } } };
  },
};

const shortTermRetention: ResourceTypeSpec = {
  type: 'Microsoft.Sql/servers/databases/backupShortTermRetentionPolicies',
  apiVersions: [API_VERSIONS.sqlShortTermRetention],
  writes: { PUT: 'async', PATCH: 'async' },
  tracked: false,
  renderState: 'none',
  write(ctx, { target, body }) {
    const bad = fixedName('default')(target.name);
    if (bad) return bad;
    const p = props(body);
    const database = parentOf(ctx, target)!;
    const maxDays = asObject(database.body.sku).tier === 'Basic' ? 7 : 35;
    const days = asNumber(p.retentionDays) ?? 7;
    if (!Number.isInteger(days) || days < 1 || days > maxDays) {
      return fail(400, 'InvalidBackupRetentionPeriod', `retentionDays must be 1-${maxDays}, got ${days}.`);
    }
    const diff = asNumber(p.diffBackupIntervalInHours) ?? 12;
    if (diff !== 12 && diff !== 24) {
      return fail(400, 'InvalidDiffBackupInterval', `diffBackupIntervalInHours must be 12 or 24, got ${diff}.`);
    }
    return { ok: true, body: { properties: { retentionDays: days, diffBackupIntervalInHours: diff } } };
  },
};

const longTermRetention: ResourceTypeSpec = {
  type: 'Microsoft.Sql/servers/databases/backupLongTermRetentionPolicies',
  apiVersions: [API_VERSIONS.sqlSecurity],
  writes: { PUT: 'async' },
  tracked: false,
  renderState: 'none',
  write(ctx, { target, body }) {
    const bad = fixedName('default')(target.name);
    if (bad) return bad;
    const p = props(body);
    const result: JsonObject = {};
    for (const field of ['weeklyRetention', 'monthlyRetention', 'yearlyRetention'] as const) {
      const value = asString(p[field]) ?? 'PT0S';
      if (!isIsoDuration(value)) return fail(400, 'InvalidParameterValue', `${field} '${value}' is not an ISO 8601 duration.`);
      // Azure keeps long-term backups for at most 10 years.
      if ((isoDurationMs(value) ?? 0) > MAX_LONG_TERM_RETENTION_MS) {
        return fail(
          400,
          'LongTermRetentionPolicyInvalid',
          `Long Term Retention policy is invalid: ${field} '${value}' is longer than the 10 years Azure allows.`,
        );
      }
      result[field] = value;
    }
    const week = asNumber(p.weekOfYear) ?? 1;
    if (!Number.isInteger(week) || week < 1 || week > 52) {
      return fail(400, 'LongTermRetentionMissingWeekOfYear', `weekOfYear must be 1-52, got ${week}.`);
    }
    result.weekOfYear = week;
    const database = parentOf(ctx, target)!;
    return {
      ok: true,
      body: { properties: result },
      // From now on, weekly full backups are copied under this policy (earlier ones are not).
      onCommit: () => {
        const history = Array.isArray(database.body._ltrHistory) ? database.body._ltrHistory : [];
        database.body._ltrHistory = [...history, { fromMs: ctx.clock.now().getTime(), ...result }];
      },
    };
  },
};

const entraOnlyAuthentication: ResourceTypeSpec = {
  type: 'Microsoft.Sql/servers/azureADOnlyAuthentications',
  apiVersions: [API_VERSIONS.sqlSecurity],
  writes: { PUT: 'async', DELETE: 'async' },
  tracked: false,
  renderState: 'none',
  write(ctx, { target, body }) {
    const bad = fixedName('Default')(target.name);
    if (bad) return bad;
    const enabled = props(body).azureADOnlyAuthentication;
    if (typeof enabled !== 'boolean') {
      return fail(400, 'InvalidParameterValue', 'azureADOnlyAuthentication must be true or false.');
    }
    if (enabled && getResource(ctx.store, `${target.parentId}/administrators/ActiveDirectory`) === undefined) {
      return fail(
        400,
        'AzureADOnlyAuthenticationWithoutAdmin',
        'Microsoft Entra-only authentication needs a Microsoft Entra administrator on the server.',
      );
    }
    return { ok: true, body: { properties: { azureADOnlyAuthentication: enabled } } };
  },
};

const entraAdministrators: ResourceTypeSpec = {
  type: 'Microsoft.Sql/servers/administrators',
  apiVersions: [API_VERSIONS.sqlSecurity],
  writes: { PUT: 'async', DELETE: 'async' },
  tracked: false,
  renderState: 'none',
  write(ctx, { target, body }) {
    const bad = fixedName('ActiveDirectory')(target.name);
    if (bad) return bad;
    const p = props(body);
    if (p.administratorType !== 'ActiveDirectory') {
      return fail(400, 'InvalidParameterValue', "administratorType must be 'ActiveDirectory'.");
    }
    if (asString(p.login) === undefined || !isGuid(p.sid)) {
      return fail(400, 'InvalidParameterValue', 'login and sid (an object id) are required.');
    }
    const tenantId = p.tenantId ?? ctx.settings.directoryTenantId;
    if (!isGuid(tenantId)) return fail(400, 'InvalidParameterValue', 'tenantId must be a GUID.');
    return { ok: true, body: { properties: { administratorType: 'ActiveDirectory', login: p.login, sid: p.sid, tenantId } } };
  },
  render(ctx, admin, body) {
    const only = getResource(ctx.store, `${admin.id.split('/').slice(0, -2).join('/')}/azureADOnlyAuthentications/Default`);
    asObject(body.properties).azureADOnlyAuthentication = props(only?.body ?? {}).azureADOnlyAuthentication === true;
  },
};

// --- Microsoft.Sql auditing and Defender for SQL (2021-11-01-preview, BlobAuditing.json and
// ServerAdvancedThreatProtectionSettings.json) --------------------------------------------------

const SERVER_AUDITING_TYPE = 'Microsoft.Sql/servers/auditingSettings';
const SERVER_THREAT_PROTECTION_TYPE = 'Microsoft.Sql/servers/advancedThreatProtectionSettings';

/** The action groups BlobAuditing.json lists for `auditActionsAndGroups` (server policies take no single actions). */
export const AUDIT_ACTION_GROUPS: ReadonlySet<string> = new Set([
  'APPLICATION_ROLE_CHANGE_PASSWORD_GROUP',
  'BACKUP_RESTORE_GROUP',
  'DATABASE_LOGOUT_GROUP',
  'DATABASE_OBJECT_CHANGE_GROUP',
  'DATABASE_OBJECT_OWNERSHIP_CHANGE_GROUP',
  'DATABASE_OBJECT_PERMISSION_CHANGE_GROUP',
  'DATABASE_OPERATION_GROUP',
  'DATABASE_PERMISSION_CHANGE_GROUP',
  'DATABASE_PRINCIPAL_CHANGE_GROUP',
  'DATABASE_PRINCIPAL_IMPERSONATION_GROUP',
  'DATABASE_ROLE_MEMBER_CHANGE_GROUP',
  'FAILED_DATABASE_AUTHENTICATION_GROUP',
  'SCHEMA_OBJECT_ACCESS_GROUP',
  'SCHEMA_OBJECT_CHANGE_GROUP',
  'SCHEMA_OBJECT_OWNERSHIP_CHANGE_GROUP',
  'SCHEMA_OBJECT_PERMISSION_CHANGE_GROUP',
  'SUCCESSFUL_DATABASE_AUTHENTICATION_GROUP',
  'USER_CHANGE_PASSWORD_GROUP',
  'BATCH_STARTED_GROUP',
  'BATCH_COMPLETED_GROUP',
  'DBCC_GROUP',
  'DATABASE_OWNERSHIP_CHANGE_GROUP',
  'DATABASE_CHANGE_GROUP',
  'LEDGER_OPERATION_GROUP',
]);

/** What the portal (and Azure, when the request names none) audits: every batch and every login. */
const DEFAULT_AUDIT_GROUPS = [
  'SUCCESSFUL_DATABASE_AUTHENTICATION_GROUP',
  'FAILED_DATABASE_AUTHENTICATION_GROUP',
  'BATCH_COMPLETED_GROUP',
];

/** A server auditing policy as GET returns it: every field, defaults for what a PUT left out. */
function auditingPolicyBody(p: JsonObject): JsonObject {
  const enabled = p.state === 'Enabled';
  const groups = Array.isArray(p.auditActionsAndGroups) ? p.auditActionsAndGroups.map(String) : undefined;
  return compact({
    isDevopsAuditEnabled: asBoolean(p.isDevopsAuditEnabled) ?? false,
    retentionDays: asNumber(p.retentionDays) ?? 0,
    auditActionsAndGroups: groups ?? (enabled ? DEFAULT_AUDIT_GROUPS : []),
    isStorageSecondaryKeyInUse: asBoolean(p.isStorageSecondaryKeyInUse) ?? false,
    isAzureMonitorTargetEnabled: asBoolean(p.isAzureMonitorTargetEnabled) ?? false,
    queueDelayMs: asNumber(p.queueDelayMs),
    isManagedIdentityInUse: asBoolean(p.isManagedIdentityInUse) ?? false,
    state: p.state,
    storageEndpoint: asString(p.storageEndpoint) ?? '',
    storageAccountSubscriptionId: asString(p.storageAccountSubscriptionId) ?? '00000000-0000-0000-0000-000000000000',
  });
}

/**
 * Server auditing (`auditingSettings/default`). PUT replaces the policy (fields left out take their
 * defaults); an enabled policy needs a target (a storage endpoint or Azure Monitor). Records sent to
 * Azure Monitor go where the `master` database's diagnostic settings say (not modelled: no records).
 */
const serverAuditing: ResourceTypeSpec = {
  type: SERVER_AUDITING_TYPE,
  apiVersions: [API_VERSIONS.sqlAuditing],
  writes: { PUT: 'async' },
  tracked: false,
  renderState: 'none',
  write(_ctx, { target, body }) {
    const bad = fixedName('default')(target.name);
    if (bad) return bad;
    if (!isObject(body.properties)) {
      return fail(
        400,
        'InvalidServerBlobAuditingPolicyCreateRequest',
        'The create server blob auditing policy request does not exist or has no properties object.',
      );
    }
    const p = props(body);
    if (p.state === 'Enabled' && asString(p.storageEndpoint) === undefined && p.isAzureMonitorTargetEnabled !== true) {
      return fail(
        400,
        'DataSecurityInvalidUserSuppliedParameter',
        'An invalid parameter value was provided by the client: with state Enabled, storageEndpoint or isAzureMonitorTargetEnabled is required.',
      );
    }
    const groups = Array.isArray(p.auditActionsAndGroups) ? p.auditActionsAndGroups : [];
    const unknown = groups.find((g) => typeof g !== 'string' || !AUDIT_ACTION_GROUPS.has(g));
    if (unknown !== undefined) {
      return fail(400, 'InvalidBlobAuditActionsAndGroups', `Invalid audit actions or action groups: '${String(unknown)}'.`);
    }
    const retention = asNumber(p.retentionDays) ?? 0;
    if (!Number.isInteger(retention) || retention < 0 || retention > 3285) {
      return fail(
        400,
        'DataSecurityInvalidUserSuppliedParameter',
        `retentionDays must be 0 (keep forever) to 3285, got ${retention}.`,
      );
    }
    return { ok: true, body: { properties: auditingPolicyBody(p) } };
  },
};

/** Defender for SQL on a server (`advancedThreatProtectionSettings/Default`). */
const serverThreatProtection: ResourceTypeSpec = {
  type: SERVER_THREAT_PROTECTION_TYPE,
  apiVersions: [API_VERSIONS.sqlAuditing],
  writes: { PUT: 'async' },
  tracked: false,
  renderState: 'none',
  write(ctx, { target, body, existing }) {
    const bad = fixedName('Default')(target.name);
    if (bad) return bad;
    const state = props(body).state;
    if (state !== 'Enabled' && state !== 'Disabled' && state !== 'New') {
      return fail(
        400,
        'AdvancedThreatProtectionInvalidUserSuppliedParameter',
        "An invalid parameter value was provided by the client: state must be 'Enabled', 'Disabled' or 'New'.",
      );
    }
    const old = asString(existingProps(existing).creationTime);
    const creationTime = old !== undefined && !old.startsWith('0001-') ? old : nowIso(ctx);
    return { ok: true, body: { properties: { state, creationTime } } };
  },
};

const KEY_URI = /^https:\/\/([a-zA-Z0-9-]{3,24})\.vault\.azure\.net(?::443)?\/keys\/([a-zA-Z0-9-]{1,127})\/([0-9a-fA-F]{32})$/;

/**
 * Why Azure SQL refuses a Key Vault key for a server or a database, or undefined when it may use
 * it: the key must exist in that version and not be expired, its vault must be recoverable and
 * reachable by trusted Azure services, and one of `principals` must hold a crypto role on the vault
 * (or an access policy with get, wrapKey and unwrapKey) that has reached the data plane.
 */
function vaultKeyRefusal(
  ctx: TypeContext,
  uri: string,
  principals: readonly string[],
  who: string,
  grantee: string,
): Refusal | undefined {
  const m = KEY_URI.exec(uri);
  if (m === null) return fail(400, 'AzureKeyVaultMalformedKeyUri', `'${uri}' is not a versioned Azure Key Vault key URI.`);
  const [, vaultName = '', keyName = '', version = ''] = m;
  const vault = findVaultByName(ctx.store, vaultName);
  const key = vault === undefined ? undefined : getResource(ctx.store, `${vault.id}/keys/${keyName}`);
  const versions = Array.isArray(key?.body._versions) ? key.body._versions : [];
  if (vault === undefined || key === undefined || !versions.includes(version.toLowerCase())) {
    return fail(400, 'AzureKeyVaultKeyNotFound', `The key '${uri}' was not found.`);
  }
  // Azure SQL: "Expiration date (if set) must be a future date and time."
  const expires = asNumber(asObject(asObject(key.body._versionExpiry))[version.toLowerCase()]);
  if (expires !== undefined && expires * 1000 <= ctx.clock.now().getTime()) {
    return fail(400, 'AzureKeyVaultKeyExpired', `The key '${uri}' expired at ${new Date(expires * 1000).toISOString()}.`);
  }
  const vp = props(vault.body);
  if (vp.enableSoftDelete !== true || vp.enablePurgeProtection !== true) {
    return fail(
      400,
      'AzureKeyVaultNotRecoverable',
      `The vault '${vaultName}' must have soft delete and purge protection enabled to protect TDE keys.`,
    );
  }
  const acls = asObject(vp.networkAcls);
  if ((vp.publicNetworkAccess === 'Disabled' || acls.defaultAction === 'Deny') && acls.bypass !== 'AzureServices') {
    return fail(
      400,
      'AzureKeyVaultKeyInaccessible',
      `The vault '${vaultName}' denies network access and does not let trusted Azure services bypass it.`,
    );
  }
  const wanted = new Set(principals.map((x) => x.toLowerCase()));
  const permitted =
    vp.enableRbacAuthorization === true
      ? assignmentsCovering(ctx.store, vault.id).some(
          (ra) =>
            wanted.has(asString(props(ra.body).principalId)?.toLowerCase() ?? '') &&
            CRYPTO_ROLES.has(roleGuid(asString(props(ra.body).roleDefinitionId) ?? '') ?? '') &&
            hasPropagated(ctx, ra),
        )
      : (Array.isArray(vp.accessPolicies) ? vp.accessPolicies : []).some((ap) => {
          const keys = asObject(asObject(ap).permissions).keys;
          const allowed = Array.isArray(keys) ? keys.map((k) => String(k).toLowerCase()) : [];
          return (
            wanted.has(asString(asObject(ap).objectId)?.toLowerCase() ?? '') &&
            ['get', 'wrapkey', 'unwrapkey'].every((perm) => allowed.includes(perm) || allowed.includes('all'))
          );
        });
  if (!permitted) {
    return fail(
      400,
      'AzureKeyVaultMissingPermissions',
      `${who} requires the following Azure Key Vault permissions: 'Get, WrapKey, UnwrapKey'. Grant them to ${grantee}.`,
    );
  }
  return undefined;
}

/**
 * A database's own customer-managed key (api-version 2022-08-01-preview): `identity` (None or
 * UserAssigned; each identity must exist), `keys` (versioned Key Vault key URIs; a null value
 * removes one) and `encryptionProtector` (one of those keys). Every key must be usable through one
 * of the database's identities (vaultKeyRefusal). Returns what GET shows, or the refusal.
 */
function databaseKeySettings(
  ctx: TypeContext,
  name: string,
  body: JsonObject,
  existing: StoredResource | undefined,
):
  | { ok: true; identity: JsonObject | undefined; keys: JsonObject | undefined; encryptionProtector: string | undefined }
  | Refusal {
  const requested = isObject(body.identity) ? body.identity : existing?.body.identity;
  const identity = asObject(requested);
  const type = asString(identity.type) ?? 'None';
  if (type !== 'None' && type !== 'UserAssigned') {
    return fail(400, 'InvalidParameterValue', `A database identity type is 'None' or 'UserAssigned', not '${type}'.`);
  }
  const rendered: JsonObject = {};
  const principals: string[] = [];
  if (type === 'UserAssigned') {
    for (const id of Object.keys(asObject(identity.userAssignedIdentities))) {
      const uami = getResource(ctx.store, id);
      if (uami === undefined || uami.type.toLowerCase() !== 'microsoft.managedidentity/userassignedidentities') {
        return fail(400, 'InvalidParameterValue', `The user-assigned identity '${id}' of database '${name}' does not exist.`);
      }
      const principalId = asString(props(uami.body).principalId) ?? '';
      principals.push(principalId);
      rendered[uami.id] = { principalId, clientId: asString(props(uami.body).clientId) ?? '' };
    }
  }
  const p = props(body);
  const old = existingProps(existing);
  const keys: JsonObject = { ...asObject(old.keys) };
  for (const [uri, value] of Object.entries(asObject(p.keys))) {
    if (value === null) delete keys[uri];
    else if (keys[uri] === undefined) keys[uri] = {};
  }
  const protector = asString(p.encryptionProtector) ?? asString(old.encryptionProtector);
  if (protector !== undefined && !Object.keys(keys).some((k) => k.toLowerCase() === protector.toLowerCase())) {
    return fail(400, 'InvalidParameterValue', `The encryption protector '${protector}' must be one of the database's keys.`);
  }
  if (Object.keys(keys).length > 0 && principals.length === 0) {
    return fail(
      400,
      'InvalidParameterValue',
      `Database '${name}' needs a user-assigned identity to use a customer-managed key at the database level.`,
    );
  }
  for (const uri of Object.keys(keys)) {
    if (asObject(asObject(old.keys)[uri]).thumbprint !== undefined) {
      keys[uri] = asObject(old.keys)[uri] ?? {};
      continue;
    }
    const refusal = vaultKeyRefusal(ctx, uri, principals, `The database '${name}'`, 'its user-assigned identity');
    if (refusal) return refusal;
    keys[uri] = {
      type: 'AzureKeyVault',
      thumbprint: randomBytes(20).toString('hex').toUpperCase(),
      creationDate: nowIso(ctx),
      subregion: asString(body.location) ?? '',
    };
  }
  return {
    ok: true,
    identity:
      type === 'UserAssigned' ? { type, tenantId: ctx.settings.directoryTenantId, userAssignedIdentities: rendered } : undefined,
    keys: Object.keys(keys).length > 0 ? keys : undefined,
    encryptionProtector: protector,
  };
}

const serverKeys: ResourceTypeSpec = {
  type: 'Microsoft.Sql/servers/keys',
  apiVersions: [API_VERSIONS.sqlSecurity],
  writes: { PUT: 'async', DELETE: 'async' },
  tracked: false,
  renderState: 'none',
  write(ctx, { target, body }) {
    const p = props(body);
    if (p.serverKeyType !== 'AzureKeyVault') {
      return fail(400, 'InvalidParameterValue', "Only serverKeyType 'AzureKeyVault' keys can be created.");
    }
    const uri = asString(p.uri) ?? '';
    const m = KEY_URI.exec(uri);
    if (m === null) {
      return fail(400, 'AzureKeyVaultMalformedKeyUri', `'${uri}' is not a versioned Azure Key Vault key URI.`);
    }
    const [, vaultName = '', keyName = '', version = ''] = m;
    if (target.name !== `${vaultName}_${keyName}_${version}`) {
      return fail(400, 'InvalidServerKeyName', `The server key name must be '${vaultName}_${keyName}_${version}'.`);
    }
    const server = parentOf(ctx, target)!;
    const principal = asString(asObject(server.body.identity).principalId);
    if (principal === undefined) {
      return fail(400, 'ServerIdentityMissing', 'The server needs a managed identity to use a customer-managed key.');
    }
    const refusal = vaultKeyRefusal(ctx, uri, [principal], `The server '${server.name}'`, "the server's identity");
    if (refusal) return refusal;
    return {
      ok: true,
      body: {
        kind: 'azurekeyvault',
        location: server.body.location,
        properties: {
          serverKeyType: 'AzureKeyVault',
          uri,
          thumbprint: randomBytes(20).toString('hex').toUpperCase(),
          creationDate: nowIso(ctx),
          subregion: server.body.location,
          autoRotationEnabled: false,
        },
      },
    };
  },
  validateDelete(ctx, key) {
    const protector = getResource(ctx.store, `${key.id.split('/').slice(0, -2).join('/')}/encryptionProtector/current`);
    return props(protector?.body ?? {}).serverKeyName === key.name
      ? armError(400, 'ServerKeyInUse', `The key '${key.name}' is the server's encryption protector.`)
      : undefined;
  },
};

const encryptionProtectors: ResourceTypeSpec = {
  type: 'Microsoft.Sql/servers/encryptionProtector',
  apiVersions: [API_VERSIONS.sqlSecurity],
  writes: { PUT: 'async' },
  tracked: false,
  renderState: 'none',
  write(ctx, { target, body }) {
    const bad = fixedName('current')(target.name);
    if (bad) return bad;
    const p = props(body);
    const type = p.serverKeyType;
    if (type !== 'ServiceManaged' && type !== 'AzureKeyVault') {
      return fail(400, 'InvalidParameterValue', "serverKeyType must be 'ServiceManaged' or 'AzureKeyVault'.");
    }
    const keyName = type === 'ServiceManaged' ? 'ServiceManaged' : (asString(p.serverKeyName) ?? '');
    const key = getResource(ctx.store, `${target.parentId}/keys/${keyName}`);
    if (key === undefined) return fail(400, 'ServerKeyNotFound', `The server key '${keyName}' does not exist.`);
    const server = parentOf(ctx, target)!;
    return {
      ok: true,
      body: {
        kind: type === 'AzureKeyVault' ? 'azurekeyvault' : 'servicemanaged',
        location: server.body.location,
        properties: compact({
          serverKeyName: keyName,
          serverKeyType: type,
          uri: props(key.body).uri,
          thumbprint: props(key.body).thumbprint,
          subregion: server.body.location,
          autoRotationEnabled: asBoolean(p.autoRotationEnabled) ?? false,
        }),
      },
    };
  },
};

// --- Microsoft.Network ----------------------------------------------------------------------

const wafPolicies: ResourceTypeSpec = {
  type: 'Microsoft.Network/ApplicationGatewayWebApplicationFirewallPolicies',
  apiVersions: [API_VERSIONS.network],
  writes: { PUT: 'sync', DELETE: 'async' },
  tracked: true,
  write(ctx, { target, body }) {
    if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,126}[a-zA-Z0-9_]?$/.test(target.name)) {
      return invalidName(target.name, '1-128 letters, digits, underscores, periods, hyphens');
    }
    // Application Gateway for Containers uses only WAF policies in its own subscription and region.
    const frontDoor = ctx.settings.behaviours.frontDoorRegion?.replaceAll(' ', '').toLowerCase();
    if (frontDoor !== undefined && body.location !== frontDoor) {
      return fail(
        400,
        'WafPolicyNotInApplicationGatewayForContainersRegion',
        `A WAF policy for Application Gateway for Containers must be in the front door's region '${frontDoor}', not '${String(body.location)}'.`,
      );
    }
    const p = props(body);
    const ruleSets = asObject(p.managedRules).managedRuleSets;
    if (!Array.isArray(ruleSets) || ruleSets.length === 0) {
      return fail(400, 'ApplicationGatewayFirewallPolicyManagedRulesMissing', 'managedRules.managedRuleSets is required.');
    }
    const customRules = Array.isArray(p.customRules) ? p.customRules : [];
    for (const rule of customRules) {
      const r = asObject(rule);
      const priority = asNumber(r.priority);
      if (
        asString(r.name) === undefined ||
        priority === undefined ||
        priority < 1 ||
        priority > 100 ||
        !['MatchRule', 'RateLimitRule', 'Invalid'].includes(String(r.ruleType)) ||
        !['Allow', 'Block', 'Log', 'JSChallenge'].includes(String(r.action)) ||
        !Array.isArray(r.matchConditions) ||
        r.matchConditions.length === 0
      ) {
        return fail(
          400,
          'ApplicationGatewayFirewallPolicyInvalidCustomRule',
          `Custom rule ${JSON.stringify(r.name)} is invalid.`,
        );
      }
    }
    return {
      ok: true,
      body: {
        location: body.location,
        tags: body.tags,
        etag: `W/"${randomUUID()}"`,
        properties: {
          policySettings: {
            state: 'Enabled',
            mode: 'Detection',
            requestBodyCheck: true,
            maxRequestBodySizeInKb: 128,
            fileUploadLimitInMb: 100,
            ...asObject(p.policySettings),
          },
          customRules,
          managedRules: p.managedRules,
          resourceState: 'Enabled',
          applicationGateways: [],
          httpListeners: [],
          pathBasedRules: [],
        },
      },
    };
  },
};

/** Every supported type, keyed by lower-case type name. */
export function resourceTypeSpecs(): Map<string, ResourceTypeSpec> {
  const specs = [
    resourceGroups,
    userAssignedIdentities,
    federatedIdentityCredentials,
    vaults,
    vaultKeys,
    roleAssignments,
    sqlServers,
    sqlDatabases,
    transparentDataEncryption,
    shortTermRetention,
    longTermRetention,
    entraOnlyAuthentication,
    entraAdministrators,
    serverKeys,
    encryptionProtectors,
    serverAuditing,
    serverThreatProtection,
    wafPolicies,
    failoverGroupSpec,
    ...privateLinkSpecs(),
    ...monitoringTypeSpecs(),
    ...containerServiceSpecs(),
  ];
  return new Map(specs.map((s) => [s.type.toLowerCase(), s]));
}
