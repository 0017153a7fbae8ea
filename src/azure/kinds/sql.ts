/**
 * `Microsoft.Sql`: logical servers (system identity, TLS 1.2, no public access, Entra-only),
 * their Entra admin, customer-managed key and encryption protector, auditing and Defender for SQL,
 * databases (SKU in Azure's normal form, backup redundancy), TDE, and backup retention policies.
 */
import { TerminalError } from '../../runtime/errors.ts';
import type { ArmBody } from '../arm-client.ts';
import type { ResourceKind } from '../engine.ts';
import { mergeTags, type Placement, patchUnlessMoved, placement, props, str, type Tags } from './common.ts';
import { fieldsThatDiffer, placementDiff, sameId } from './compare.ts';
import { armId, childrenOf, inResourceGroup } from './ids.ts';
import { settingsKind } from './shapes.ts';

/** Servers, databases, TDE (@azure/arm-sql 10.0.0). */
export const SQL_API_VERSION = '2022-08-01-preview';
/** Entra-only auth, Entra admins, server keys, encryption protector, long-term retention. */
export const SQL_SECURITY_API_VERSION = '2020-11-01-preview';
/** Short-term retention policies. */
export const SQL_SHORT_TERM_RETENTION_API_VERSION = '2021-02-01-preview';
/** Server auditing settings and advanced threat protection (@azure/arm-sql 10.0.0). */
export const SQL_AUDITING_API_VERSION = '2021-11-01-preview';

/** Security settings every server has. */
export const SQL_SERVER_SETTINGS = { minimalTlsVersion: '1.2', publicNetworkAccess: 'Disabled' } as const;

export interface EntraAdmin {
  /** Display name of the Entra group (or user) that administers the server. */
  login: string;
  /** Its object id. */
  objectId: string;
  /** The Entra tenant it lives in. */
  tenantId: string;
  principalType: 'Group' | 'User' | 'Application';
}

export interface SqlServerParams extends Placement {
  resourceGroupId: string;
  name: string;
  /** Set at creation so the server never has a SQL login: Entra-only from the first second. */
  entraAdmin: EntraAdmin;
}

function hasSystemIdentity(observed: ArmBody): boolean {
  const type = str((observed.identity as { type?: unknown } | undefined)?.type) ?? '';
  return type.split(',').some((t) => t.trim() === 'SystemAssigned');
}

export const sqlServerKind: ResourceKind<SqlServerParams> = {
  ...inResourceGroup<SqlServerParams>('Microsoft.Sql/servers', SQL_API_VERSION, 'SQL server'),
  create: (p) => ({
    ...placement(p),
    identity: { type: 'SystemAssigned' },
    properties: {
      version: '12.0',
      ...SQL_SERVER_SETTINGS,
      administrators: {
        administratorType: 'ActiveDirectory',
        login: p.entraAdmin.login,
        sid: p.entraAdmin.objectId,
        tenantId: p.entraAdmin.tenantId,
        principalType: p.entraAdmin.principalType,
        azureADOnlyAuthentication: true,
      },
    },
  }),
  diff: (p, observed) => {
    const o = props(observed);
    const fields = placementDiff(p, observed);
    if (!hasSystemIdentity(observed)) fields.push('identity');
    if (o.minimalTlsVersion !== SQL_SERVER_SETTINGS.minimalTlsVersion) fields.push('minimalTlsVersion');
    if (o.publicNetworkAccess !== SQL_SERVER_SETTINGS.publicNetworkAccess) fields.push('publicNetworkAccess');
    return fields;
  },
  update: (p, observed, fields) => {
    const identityType = str((observed.identity as { type?: unknown } | undefined)?.type);
    return patchUnlessMoved(fields, () => ({
      ...(fields.includes('tags') ? { tags: mergeTags(p.tags, observed.tags as Tags | undefined) } : {}),
      ...(fields.includes('identity')
        ? { identity: { type: identityType === 'UserAssigned' ? 'SystemAssigned,UserAssigned' : 'SystemAssigned' } }
        : {}),
      properties: { ...SQL_SERVER_SETTINGS },
    }));
  },
  state: (observed) => str(props(observed).state),
  ready: (observed) =>
    str(props(observed).state) === 'Ready' &&
    str((observed.identity as { principalId?: unknown } | undefined)?.principalId) !== undefined,
};

export function sqlServerId(resourceGroupId: string, name: string): string {
  return armId(sqlServerKind.type, resourceGroupId, name);
}

/** The server's system identity (it unwraps the TDE key) and its DNS name. */
export function sqlServerOutputs(observed: ArmBody | undefined) {
  return {
    principalId: str((observed?.identity as { principalId?: unknown } | undefined)?.principalId),
    fullyQualifiedDomainName: observed === undefined ? undefined : str(props(observed).fullyQualifiedDomainName),
  };
}

export interface SqlChildParams {
  serverId: string;
}

const serverChild = childrenOf<SqlChildParams>(sqlServerKind.type, (p) => p.serverId);

export const sqlEntraAdminKind: ResourceKind<SqlChildParams & { admin: EntraAdmin }> = settingsKind({
  ...serverChild('administrators', SQL_SECURITY_API_VERSION, 'SQL Entra admin', 'ActiveDirectory'),
  body: (p) => ({
    properties: { administratorType: 'ActiveDirectory', login: p.admin.login, sid: p.admin.objectId, tenantId: p.admin.tenantId },
  }),
  diff: (p, observed) => {
    const o = props(observed);
    return fieldsThatDiffer({
      administratorType: o.administratorType !== 'ActiveDirectory',
      login: o.login !== p.admin.login,
      sid: !sameId(str(o.sid), p.admin.objectId),
      tenantId: !sameId(str(o.tenantId), p.admin.tenantId),
    });
  },
});

export const sqlEntraOnlyKind: ResourceKind<SqlChildParams> = settingsKind({
  ...serverChild('azureADOnlyAuthentications', SQL_SECURITY_API_VERSION, 'SQL Entra-only authentication', 'Default'),
  body: () => ({ properties: { azureADOnlyAuthentication: true } }),
  diff: (_p, observed) => (props(observed).azureADOnlyAuthentication === true ? [] : ['azureADOnlyAuthentication']),
});

/** Azure SQL names a Key Vault server key `<vault>_<key>_<version>`. */
export function serverKeyName(keyUriWithVersion: string): string {
  const m = /^https:\/\/([^.]+)\.[^/]+\/keys\/([^/]+)\/([^/?]+)/.exec(keyUriWithVersion);
  if (m === null) throw new TerminalError('AzureInvalidKeyUri', `'${keyUriWithVersion}' is not a versioned Key Vault key URI`);
  return `${m[1]}_${m[2]}_${m[3]}`;
}

export const sqlServerKeyKind: ResourceKind<SqlChildParams & { keyUriWithVersion: string }> = settingsKind({
  ...serverChild<SqlChildParams & { keyUriWithVersion: string }>('keys', SQL_SECURITY_API_VERSION, 'SQL server key', (p) =>
    serverKeyName(p.keyUriWithVersion),
  ),
  body: (p) => ({ properties: { serverKeyType: 'AzureKeyVault', uri: p.keyUriWithVersion } }),
  diff: (p, observed) => {
    const o = props(observed);
    return fieldsThatDiffer({
      serverKeyType: o.serverKeyType !== 'AzureKeyVault',
      uri: o.uri !== p.keyUriWithVersion,
    });
  },
});

/**
 * Protected by this Key Vault key, auto-rotating: with auto rotation, Azure SQL follows new key
 * versions itself; desired follows the vault key's current version, so both agree after a rotation.
 */
export const sqlEncryptionProtectorKind: ResourceKind<SqlChildParams & { serverKeyName: string }> = settingsKind({
  ...serverChild('encryptionProtector', SQL_SECURITY_API_VERSION, 'SQL encryption protector', 'current'),
  body: (p) => ({ properties: { serverKeyType: 'AzureKeyVault', serverKeyName: p.serverKeyName, autoRotationEnabled: true } }),
  diff: (p, observed) => {
    const o = props(observed);
    return fieldsThatDiffer({
      serverKeyType: o.serverKeyType !== 'AzureKeyVault',
      serverKeyName: o.serverKeyName !== p.serverKeyName,
      autoRotationEnabled: o.autoRotationEnabled !== true,
    });
  },
  ready: (observed) => props(observed).serverKeyType === 'AzureKeyVault',
});

/**
 * What server auditing records: every batch (so every statement, admin changes included) and every
 * successful and failed login. Azure's documented recommendation and the portal's default; the
 * batch group already covers the statement-level groups, which would only duplicate records.
 */
export const SQL_AUDIT_ACTION_GROUPS = [
  'BATCH_COMPLETED_GROUP',
  'SUCCESSFUL_DATABASE_AUTHENTICATION_GROUP',
  'FAILED_DATABASE_AUTHENTICATION_GROUP',
] as const;

/**
 * Server-level auditing (`auditingSettings/default`) to Azure Monitor: it applies to every database
 * of the server, so one write per server. Where the records go is the diagnostic setting on the
 * server's `master` database (see monitor.ts), as the REST spec of `isAzureMonitorTargetEnabled` says.
 */
export const sqlServerAuditingKind: ResourceKind<SqlChildParams> = settingsKind({
  ...serverChild('auditingSettings', SQL_AUDITING_API_VERSION, 'SQL auditing', 'default'),
  body: () => ({
    properties: { state: 'Enabled', isAzureMonitorTargetEnabled: true, auditActionsAndGroups: [...SQL_AUDIT_ACTION_GROUPS] },
  }),
  diff: (_p, observed) => {
    const o = props(observed);
    const fields: string[] = [];
    if (o.state !== 'Enabled') fields.push('state');
    if (o.isAzureMonitorTargetEnabled !== true) fields.push('isAzureMonitorTargetEnabled');
    // Groups someone added are kept out of the comparison; one of ours missing is a difference.
    const groups = new Set((Array.isArray(o.auditActionsAndGroups) ? o.auditActionsAndGroups : []).map(String));
    if (SQL_AUDIT_ACTION_GROUPS.some((g) => !groups.has(g))) fields.push('auditActionsAndGroups');
    return fields;
  },
});

/**
 * Microsoft Defender for SQL on the server (`advancedThreatProtectionSettings/Default`): threat
 * detection for every database of the server, its alerts in Defender for Cloud.
 */
export const sqlThreatProtectionKind: ResourceKind<SqlChildParams> = settingsKind({
  ...serverChild(
    'advancedThreatProtectionSettings',
    SQL_AUDITING_API_VERSION,
    'SQL Defender (advanced threat protection)',
    'Default',
  ),
  body: () => ({ properties: { state: 'Enabled' } }),
  diff: (_p, observed) => (props(observed).state === 'Enabled' ? [] : ['state']),
});

/** `Enabled` or `Disabled` as status reports it (Azure's `New`, never configured, is Disabled). */
export function threatDetectionState(observed: ArmBody | undefined): 'Enabled' | 'Disabled' | undefined {
  if (observed === undefined) return undefined;
  return props(observed).state === 'Enabled' ? 'Enabled' : 'Disabled';
}

/** The Key Vault key version an encryption protector uses (the last segment of its `uri`). */
export function protectorKeyVersion(observed: ArmBody | undefined): string | undefined {
  if (observed === undefined || props(observed).serverKeyType !== 'AzureKeyVault') return undefined;
  return str(props(observed).uri)?.split('/').pop();
}

// --- databases ---------------------------------------------------------------------------------

export type BackupStorageRedundancy = 'Local' | 'Zone' | 'Geo' | 'GeoZone';

export interface DatabaseSku {
  /** e.g. `GP_Gen5`, `GP_S_Gen5_2`, `S0`: any spelling Azure accepts. */
  name: string;
  /** e.g. `GeneralPurpose`, `Standard`. */
  tier?: string | undefined;
  /** vCores or DTUs; Azure's default when unset. */
  capacity?: number | undefined;
}

/** DTU service objectives and their DTUs (Azure SQL Database DTU resource limits). */
const DTU_SKUS: Readonly<Record<string, { tier: string; capacity: number }>> = {
  Basic: { tier: 'Basic', capacity: 5 },
  S0: { tier: 'Standard', capacity: 10 },
  S1: { tier: 'Standard', capacity: 20 },
  S2: { tier: 'Standard', capacity: 50 },
  S3: { tier: 'Standard', capacity: 100 },
  S4: { tier: 'Standard', capacity: 200 },
  S6: { tier: 'Standard', capacity: 400 },
  S7: { tier: 'Standard', capacity: 800 },
  S9: { tier: 'Standard', capacity: 1600 },
  S12: { tier: 'Standard', capacity: 3000 },
  P1: { tier: 'Premium', capacity: 125 },
  P2: { tier: 'Premium', capacity: 250 },
  P4: { tier: 'Premium', capacity: 500 },
  P6: { tier: 'Premium', capacity: 1000 },
  P11: { tier: 'Premium', capacity: 1750 },
  P15: { tier: 'Premium', capacity: 4000 },
};

const VCORE_EDITIONS: Readonly<Record<string, string>> = {
  GP: 'GeneralPurpose',
  BC: 'BusinessCritical',
  HS: 'Hyperscale',
};

/**
 * A SKU as Azure reports it on GET: `S0` → `Standard`/Standard/10, `GP_Gen5_2` → `GP_Gen5`/
 * GeneralPurpose/2, `GP_S_Gen5_2` → `GP_S_Gen5`/GeneralPurpose/2. Comparing in this form is what
 * keeps a converged database from being patched on every pass.
 */
export function normalizeSqlSku(sku: DatabaseSku): DatabaseSku {
  const dtu = DTU_SKUS[sku.name];
  if (dtu !== undefined) {
    return { name: dtu.tier, tier: dtu.tier, capacity: sku.name === 'Basic' ? (sku.capacity ?? dtu.capacity) : dtu.capacity };
  }
  const vcore = /^(GP|BC|HS)(_S)?_([A-Za-z0-9]+?)(?:_(\d+))?$/.exec(sku.name);
  if (vcore !== null) {
    const [, edition, serverless, family, cores] = vcore;
    return {
      name: `${edition}${serverless ?? ''}_${family}`,
      tier: VCORE_EDITIONS[edition ?? ''] ?? sku.tier,
      capacity: cores === undefined ? sku.capacity : Number(cores),
    };
  }
  return sku;
}

/** Same SKU, in normal form; capacity compared only when desired names one. */
export function sameSku(desired: DatabaseSku, observed: DatabaseSku | undefined): boolean {
  if (observed === undefined) return false;
  const d = normalizeSqlSku(desired);
  const o = normalizeSqlSku(observed);
  return (
    d.name === o.name && (d.tier === undefined || d.tier === o.tier) && (d.capacity === undefined || d.capacity === o.capacity)
  );
}

export interface DatabaseParams extends Placement {
  serverId: string;
  name: string;
  sku: DatabaseSku;
  backupStorageRedundancy: BackupStorageRedundancy;
  /**
   * Replicas spread over the region's availability zones. Undefined: Azure's default (not
   * zone-redundant) at creation, and whatever the database has afterwards is left alone.
   */
  zoneRedundant?: boolean | undefined;
  /**
   * True while a change of `zoneRedundant` waits for the maintenance window: a new database is
   * created as asked, an existing one keeps what it has (turning zone redundancy on or off ends
   * with a brief disconnect).
   */
  holdZoneRedundancy?: boolean | undefined;
  /**
   * Database-level customer-managed key: the database's own user-assigned identity and the
   * versioned Key Vault key it is encrypted with (`keys` + `encryptionProtector`). Undefined: the
   * server's encryption protector applies (a server of the tenant's own).
   */
  customerManagedKey?: DatabaseKeyParams | undefined;
}

export interface DatabaseKeyParams {
  /** ARM id of the user-assigned identity that reaches the key. */
  identityId: string;
  keyUriWithVersion: string;
}

/** The identity and key a database with its own customer-managed key reports. */
export function databaseKeyOf(observed: ArmBody | undefined): {
  identityIds: string[];
  encryptionProtector?: string | undefined;
} {
  const identities = (observed?.identity as { userAssignedIdentities?: Record<string, unknown> } | undefined)
    ?.userAssignedIdentities;
  return {
    identityIds: Object.keys(identities ?? {}),
    encryptionProtector: observed === undefined ? undefined : str(props(observed).encryptionProtector),
  };
}

function databaseKeyBody(key: DatabaseKeyParams): ArmBody {
  return {
    identity: { type: 'UserAssigned', userAssignedIdentities: { [key.identityId]: {} } },
    properties: { keys: { [key.keyUriWithVersion]: {} }, encryptionProtector: key.keyUriWithVersion },
  };
}

/**
 * Whether Azure offers zone redundancy for a SKU: every vCore tier (General Purpose, serverless
 * included, Business Critical, Hyperscale) and DTU Premium; not DTU Basic and Standard
 * (learn.microsoft.com/azure/azure-sql/database/high-availability-sla-local-zone-redundancy).
 */
export function skuSupportsZoneRedundancy(sku: DatabaseSku): boolean {
  const tier = normalizeSqlSku(sku).tier ?? sku.tier;
  return tier !== 'Basic' && tier !== 'Standard';
}

/** What Azure reports: `properties.zoneRedundant`, false when absent (its default). */
export function observedZoneRedundant(observed: ArmBody | undefined): boolean | undefined {
  if (observed === undefined) return undefined;
  return props(observed).zoneRedundant === true;
}

function skuOf(observed: ArmBody): DatabaseSku | undefined {
  const s = observed.sku as { name?: unknown; tier?: unknown; capacity?: unknown } | undefined;
  if (typeof s?.name !== 'string') return undefined;
  return { name: s.name, tier: str(s.tier), capacity: typeof s.capacity === 'number' ? s.capacity : undefined };
}

function skuBody(sku: DatabaseSku): ArmBody {
  return {
    name: sku.name,
    ...(sku.tier === undefined ? {} : { tier: sku.tier }),
    ...(sku.capacity === undefined ? {} : { capacity: sku.capacity }),
  };
}

/** Database statuses in which it serves (a serverless database that auto-paused resumes on connect). */
const USABLE_DATABASE_STATUSES = new Set(['Online', 'Paused', 'AutoClosed']);

export const sqlDatabaseKind: ResourceKind<DatabaseParams> = {
  ...serverChild<DatabaseParams>('databases', SQL_API_VERSION, 'SQL database', (p) => p.name),
  create: (p) => {
    const key = p.customerManagedKey === undefined ? undefined : databaseKeyBody(p.customerManagedKey);
    return {
      ...placement(p),
      ...(key ? { identity: key.identity } : {}),
      sku: skuBody(p.sku),
      properties: {
        requestedBackupStorageRedundancy: p.backupStorageRedundancy,
        ...(p.zoneRedundant === undefined ? {} : { zoneRedundant: p.zoneRedundant }),
        ...(key ? (key.properties as ArmBody) : {}),
      },
    };
  },
  diff: (p, observed) => {
    const fields = placementDiff(p, observed);
    if (!sameSku(p.sku, skuOf(observed))) fields.push('sku');
    if (props(observed).requestedBackupStorageRedundancy !== p.backupStorageRedundancy) fields.push('backupStorageRedundancy');
    if (p.zoneRedundant !== undefined && !p.holdZoneRedundancy && observedZoneRedundant(observed) !== p.zoneRedundant)
      fields.push('zoneRedundant');
    const cmk = p.customerManagedKey;
    if (cmk !== undefined) {
      const observedKey = databaseKeyOf(observed);
      if (!observedKey.identityIds.some((id) => sameId(id, cmk.identityId))) fields.push('identity');
      if (observedKey.encryptionProtector?.toLowerCase() !== cmk.keyUriWithVersion.toLowerCase())
        fields.push('encryptionProtector');
    }
    return fields;
  },
  update: (p, observed, fields) =>
    patchUnlessMoved(fields, () => {
      const properties = {
        ...(fields.includes('backupStorageRedundancy') ? { requestedBackupStorageRedundancy: p.backupStorageRedundancy } : {}),
        ...(fields.includes('zoneRedundant') ? { zoneRedundant: p.zoneRedundant } : {}),
      };
      // A new key version (rotation) or a lost identity: the database names both again.
      const key =
        p.customerManagedKey !== undefined && (fields.includes('identity') || fields.includes('encryptionProtector'))
          ? databaseKeyBody(p.customerManagedKey)
          : undefined;
      const all = { ...properties, ...((key?.properties as ArmBody | undefined) ?? {}) };
      return {
        ...(fields.includes('tags') ? { tags: mergeTags(p.tags, observed.tags as Tags | undefined) } : {}),
        ...(fields.includes('sku') ? { sku: skuBody(p.sku) } : {}),
        ...(key ? { identity: key.identity } : {}),
        ...(Object.keys(all).length > 0 ? { properties: all } : {}),
      };
    }),
  state: (observed) => str(props(observed).status),
  ready: (observed) => USABLE_DATABASE_STATUSES.has(str(props(observed).status) ?? ''),
};

/** What the database reports that others need. */
export function databaseOutputs(observed: ArmBody | undefined) {
  const p = observed === undefined ? {} : props(observed);
  return { status: str(p.status), earliestRestoreDate: str(p.earliestRestoreDate), creationDate: str(p.creationDate) };
}

export interface SqlDatabaseChildParams {
  databaseId: string;
}

const databaseChild = childrenOf<SqlDatabaseChildParams>(sqlDatabaseKind.type, (p) => p.databaseId);

export const sqlTdeKind: ResourceKind<SqlDatabaseChildParams> = settingsKind({
  ...databaseChild('transparentDataEncryption', SQL_API_VERSION, 'SQL transparent data encryption', 'current'),
  body: () => ({ properties: { state: 'Enabled' } }),
  diff: (_p, observed) => (props(observed).state === 'Enabled' ? [] : ['state']),
});

export interface ShortTermRetention {
  /** Point-in-time restore window, 1-35 days. */
  retentionDays: number;
  /** Differential backup interval. */
  diffBackupIntervalInHours: 12 | 24;
}

export const sqlShortTermRetentionKind: ResourceKind<SqlDatabaseChildParams & { retention: ShortTermRetention }> = settingsKind({
  ...databaseChild(
    'backupShortTermRetentionPolicies',
    SQL_SHORT_TERM_RETENTION_API_VERSION,
    'SQL short-term retention',
    'default',
  ),
  body: (p) => ({ properties: { ...p.retention } }),
  diff: (p, observed) => {
    const o = props(observed);
    const fields: string[] = [];
    if (o.retentionDays !== p.retention.retentionDays) fields.push('retentionDays');
    const interval = o.diffBackupIntervalInHours === 24 ? 24 : 12;
    if (interval !== p.retention.diffBackupIntervalInHours) fields.push('diffBackupIntervalInHours');
    return fields;
  },
});

/** ISO 8601 durations; `PT0S` means "not kept". */
export interface LongTermRetention {
  weeklyRetention: string;
  monthlyRetention: string;
  yearlyRetention: string;
  /** Week whose backup is the yearly one (1-52). */
  weekOfYear: number;
}

/** What Azure calls "not kept". */
export const NOT_KEPT = 'PT0S';

/** "Not kept" has several spellings (`PT0S`, `P0W`, `P0D`, empty). */
export function normalizeRetention(value: string | undefined): string {
  return value === undefined || value === '' || /^P(T0S|0[DWMY])?$/.test(value) ? NOT_KEPT : value;
}

/** True when the policy keeps at least one kind of long-term backup. */
export function keepsLongTermBackups(policy: LongTermRetention | undefined): boolean {
  if (policy === undefined) return false;
  return [policy.weeklyRetention, policy.monthlyRetention, policy.yearlyRetention].some(
    (d) => normalizeRetention(d) !== NOT_KEPT,
  );
}

export function longTermRetentionOf(observed: ArmBody | undefined): LongTermRetention | undefined {
  if (observed === undefined) return undefined;
  const o = props(observed);
  return {
    weeklyRetention: normalizeRetention(str(o.weeklyRetention)),
    monthlyRetention: normalizeRetention(str(o.monthlyRetention)),
    yearlyRetention: normalizeRetention(str(o.yearlyRetention)),
    weekOfYear: typeof o.weekOfYear === 'number' ? o.weekOfYear : 1,
  };
}

export const sqlLongTermRetentionKind: ResourceKind<SqlDatabaseChildParams & { retention: LongTermRetention }> = settingsKind({
  ...databaseChild('backupLongTermRetentionPolicies', SQL_SECURITY_API_VERSION, 'SQL long-term retention', 'default'),
  body: (p) => ({ properties: { ...p.retention } }),
  diff: (p, observed) => {
    const o = longTermRetentionOf(observed) as LongTermRetention;
    const fields: string[] = [];
    for (const key of ['weeklyRetention', 'monthlyRetention', 'yearlyRetention'] as const) {
      if (o[key] !== normalizeRetention(p.retention[key])) fields.push(key);
    }
    // weekOfYear only means something with yearly backups; Azure reports whatever it holds otherwise.
    if (normalizeRetention(p.retention.yearlyRetention) !== NOT_KEPT && o.weekOfYear !== p.retention.weekOfYear) {
      fields.push('weekOfYear');
    }
    return fields;
  },
});

// --- geo-replication -------------------------------------------------------------------------

/** Failover groups and their failover actions (@azure/arm-sql 10.0.0). */
export const SQL_FAILOVER_GROUP_API_VERSION = '2020-11-01-preview';

export interface FailoverGroupParams {
  /** The server the group is created on (its primary at creation). */
  serverId: string;
  name: string;
  partnerServerId: string;
  databaseIds: readonly string[];
  tags: Tags;
}

/** The read-write listener: always the group's current primary. */
export function failoverGroupListener(name: string): string {
  return `${name}.database.windows.net`;
}

/** The read-only listener: the group's current secondary. */
export function failoverGroupReadOnlyListener(name: string): string {
  return `${name}.secondary.database.windows.net`;
}

function failoverGroupDatabases(observed: ArmBody): string[] {
  const list = props(observed).databases;
  return Array.isArray(list) ? list.map(String) : [];
}

function failoverGroupPartner(observed: ArmBody): string | undefined {
  const partners = props(observed).partnerServers;
  return Array.isArray(partners) ? str((partners[0] as { id?: unknown } | undefined)?.id) : undefined;
}

/**
 * A failover group with a customer-managed (`Manual`) read-write policy: the operator (a drill) or
 * the platform team decides a failover, never a grace period. Azure creates the geo-secondary of
 * each listed database on the partner server itself. Its partner cannot change (a new group would
 * be needed): a different partner is a difference only a person can resolve.
 */
export const sqlFailoverGroupKind: ResourceKind<FailoverGroupParams> = {
  ...serverChild<FailoverGroupParams>('failoverGroups', SQL_FAILOVER_GROUP_API_VERSION, 'SQL failover group', (p) => p.name),
  create: (p) => ({
    tags: p.tags,
    properties: {
      readWriteEndpoint: { failoverPolicy: 'Manual' },
      readOnlyEndpoint: { failoverPolicy: 'Disabled' },
      partnerServers: [{ id: p.partnerServerId }],
      databases: [...p.databaseIds],
    },
  }),
  diff: (p, observed) => {
    const fields: string[] = [];
    if (!sameId(failoverGroupPartner(observed), p.partnerServerId)) fields.push('partnerServers');
    const have = failoverGroupDatabases(observed);
    if (p.databaseIds.some((d) => !have.some((h) => sameId(h, d)))) fields.push('databases');
    return fields;
  },
  update: (p, observed, fields) =>
    fields.includes('partnerServers')
      ? undefined
      : {
          method: 'PUT',
          body: {
            tags: mergeTags(p.tags, observed.tags as Tags | undefined),
            properties: {
              readWriteEndpoint: props(observed).readWriteEndpoint ?? { failoverPolicy: 'Manual' },
              readOnlyEndpoint: props(observed).readOnlyEndpoint ?? { failoverPolicy: 'Disabled' },
              partnerServers: [{ id: p.partnerServerId }],
              databases: [...new Set([...failoverGroupDatabases(observed), ...p.databaseIds])],
            },
          },
        },
  // A group has no provisioning state; its secondaries seed (SEEDING) before they catch up.
  state: () => undefined,
  ready: (observed) => str(props(observed).replicationState) === 'CATCH_UP',
};

/** What a failover group reports: who is primary now, and how far replication is. */
export function failoverGroupOutputs(observed: ArmBody | undefined) {
  if (observed === undefined) return undefined;
  const p = props(observed);
  const partners = Array.isArray(p.partnerServers) ? (p.partnerServers as Record<string, unknown>[]) : [];
  return {
    /** Role of the server the group was read from. */
    role: str(p.replicationRole),
    replicationState: str(p.replicationState),
    partnerLocation: str(partners[0]?.location),
    partnerRole: str(partners[0]?.replicationRole),
  };
}
