/**
 * The tenant's Azure SQL server (system identity, TLS 1.2, no public access, Entra-only auth,
 * customer-managed TDE key) and database (SKU, backup redundancy, TDE, backup retention).
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

type Sql = AzureContext['clients']['sql'];

// --- server ---------------------------------------------------------------------------------

export interface EntraAdminDesired {
  /** Display name of the Entra group (or user) that administers the server. */
  login: string;
  /** Its object id. */
  objectId: string;
  /** The Entra tenant it lives in. */
  tenantId: string;
  principalType: 'Group' | 'User' | 'Application';
}

export interface SqlServerDesired {
  resourceGroup: string;
  name: string;
  location: string;
  tags: Tags;
  /** Set at creation so the server never has a SQL login: Entra-only from the first second. */
  entraAdmin: EntraAdminDesired;
}

export interface SqlServerObserved {
  id: string;
  name: string;
  location: string;
  tags: Tags;
  /** `Ready` when settled. */
  state: string | undefined;
  fullyQualifiedDomainName: string | undefined;
  identityType: string | undefined;
  /** Object id of the server's system-assigned identity (it unwraps the TDE key). */
  principalId: string | undefined;
  minimalTlsVersion: string | undefined;
  publicNetworkAccess: string | undefined;
}

export type SqlServerField = 'location' | 'tags' | 'identity' | 'minimalTlsVersion' | 'publicNetworkAccess';

/** Security settings every tenant server has. */
export const SQL_SERVER_SETTINGS = { minimalTlsVersion: '1.2', publicNetworkAccess: 'Disabled' } as const;

type Server = Awaited<ReturnType<Sql['servers']['get']>>;

function toServer(server: Server, name: string): SqlServerObserved {
  return {
    id: server.id ?? '',
    name: server.name ?? name,
    location: server.location,
    tags: server.tags ?? {},
    state: server.state,
    fullyQualifiedDomainName: server.fullyQualifiedDomainName,
    identityType: server.identity?.type,
    principalId: server.identity?.principalId,
    minimalTlsVersion: server.minimalTlsVersion,
    publicNetworkAccess: server.publicNetworkAccess,
  };
}

function hasSystemIdentity(identityType: string | undefined): boolean {
  return (identityType ?? '').split(',').some((t) => t.trim() === 'SystemAssigned');
}

export async function observeSqlServer(
  ctx: AzureContext,
  resourceGroup: string,
  name: string,
): Promise<SqlServerObserved | undefined> {
  const server = await getOrUndefined(() => ctx.clients.sql.servers.get(resourceGroup, name, callOptions(ctx)));
  return server === undefined ? undefined : toServer(server, name);
}

/** Fields that differ. Pure; ignores `state`, `fullyQualifiedDomainName`, the identity's ids. */
export function diffSqlServer(desired: SqlServerDesired, observed: SqlServerObserved): SqlServerField[] {
  const fields: SqlServerField[] = placementDiff(desired, observed);
  if (!hasSystemIdentity(observed.identityType)) fields.push('identity');
  if (observed.minimalTlsVersion !== SQL_SERVER_SETTINGS.minimalTlsVersion) fields.push('minimalTlsVersion');
  if (observed.publicNetworkAccess !== SQL_SERVER_SETTINGS.publicNetworkAccess) fields.push('publicNetworkAccess');
  return fields;
}

/**
 * Create the server when missing (with its Entra admin and Entra-only auth in the same request),
 * else PATCH what differs; no call when nothing differs. Refuses to write while an earlier
 * operation runs on the server. Waits for the operation to finish.
 */
export async function applySqlServer(
  ctx: AzureContext,
  desired: SqlServerDesired,
  observed: SqlServerObserved | undefined,
): Promise<SqlServerObserved> {
  const servers = ctx.clients.sql.servers;
  if (observed === undefined) {
    const admin = desired.entraAdmin;
    const server = await servers.beginCreateOrUpdateAndWait(
      desired.resourceGroup,
      desired.name,
      {
        location: desired.location,
        tags: desired.tags,
        identity: { type: 'SystemAssigned' },
        version: '12.0',
        ...SQL_SERVER_SETTINGS,
        administrators: {
          administratorType: 'ActiveDirectory',
          login: admin.login,
          sid: admin.objectId,
          tenantId: admin.tenantId,
          principalType: admin.principalType,
          azureADOnlyAuthentication: true,
        },
      },
      callOptions(ctx),
    );
    return toServer(server, desired.name);
  }
  assertSettled(ctx, `SQL server ${desired.name}`, observed.state);
  const fields = diffSqlServer(desired, observed);
  refuseLocationChange(`SQL server ${desired.name}`, fields, observed.location, desired.location);
  if (fields.length === 0) return observed;
  const server = await servers.beginUpdateAndWait(
    desired.resourceGroup,
    desired.name,
    {
      ...(fields.includes('tags') ? { tags: mergeTags(desired.tags, observed.tags) } : {}),
      ...(fields.includes('identity')
        ? { identity: { type: observed.identityType === 'UserAssigned' ? 'SystemAssigned,UserAssigned' : 'SystemAssigned' } }
        : {}),
      ...SQL_SERVER_SETTINGS,
    },
    callOptions(ctx),
  );
  return toServer(server, desired.name);
}

export async function tagSqlServer(
  ctx: AzureContext,
  resourceGroup: string,
  observed: SqlServerObserved,
  tags: Tags,
): Promise<void> {
  await ctx.clients.sql.servers.beginUpdateAndWait(
    resourceGroup,
    observed.name,
    { tags: { ...observed.tags, ...tags } },
    callOptions(ctx),
  );
}

/** Delete the server (its keys, admins and any remaining databases go with it) and wait. */
export async function deleteSqlServer(ctx: AzureContext, resourceGroup: string, name: string): Promise<void> {
  await ctx.clients.sql.servers.beginDeleteAndWait(resourceGroup, name, callOptions(ctx));
}

// --- Entra admin and Entra-only authentication ----------------------------------------------

export interface EntraAdminObserved {
  login: string | undefined;
  sid: string | undefined;
  tenantId: string | undefined;
  administratorType: string | undefined;
}

export type EntraAdminField = 'login' | 'sid' | 'tenantId' | 'administratorType';

export async function observeEntraAdmin(
  ctx: AzureContext,
  resourceGroup: string,
  serverName: string,
): Promise<EntraAdminObserved | undefined> {
  const admin = await getOrUndefined(() =>
    ctx.clients.sql.serverAzureADAdministrators.get(resourceGroup, serverName, 'ActiveDirectory', callOptions(ctx)),
  );
  if (admin === undefined) return undefined;
  return { login: admin.login, sid: admin.sid, tenantId: admin.tenantId, administratorType: admin.administratorType };
}

/** Fields that differ. Pure; object ids compare case-insensitively. */
export function diffEntraAdmin(desired: EntraAdminDesired, observed: EntraAdminObserved): EntraAdminField[] {
  const fields: EntraAdminField[] = [];
  if (observed.administratorType !== 'ActiveDirectory') fields.push('administratorType');
  if (observed.login !== desired.login) fields.push('login');
  if (observed.sid?.toLowerCase() !== desired.objectId.toLowerCase()) fields.push('sid');
  if (observed.tenantId?.toLowerCase() !== desired.tenantId.toLowerCase()) fields.push('tenantId');
  return fields;
}

export async function applyEntraAdmin(
  ctx: AzureContext,
  resourceGroup: string,
  serverName: string,
  desired: EntraAdminDesired,
  observed: EntraAdminObserved | undefined,
): Promise<EntraAdminObserved> {
  if (observed !== undefined && diffEntraAdmin(desired, observed).length === 0) return observed;
  const admin = await ctx.clients.sql.serverAzureADAdministrators.beginCreateOrUpdateAndWait(
    resourceGroup,
    serverName,
    'ActiveDirectory',
    { administratorType: 'ActiveDirectory', login: desired.login, sid: desired.objectId, tenantId: desired.tenantId },
    callOptions(ctx),
  );
  return { login: admin.login, sid: admin.sid, tenantId: admin.tenantId, administratorType: admin.administratorType };
}

export interface EntraOnlyObserved {
  azureADOnlyAuthentication: boolean;
}

export async function observeEntraOnly(
  ctx: AzureContext,
  resourceGroup: string,
  serverName: string,
): Promise<EntraOnlyObserved | undefined> {
  const only = await getOrUndefined(() =>
    ctx.clients.sql.serverAzureADOnlyAuthentications.get(resourceGroup, serverName, 'Default', callOptions(ctx)),
  );
  return only === undefined ? undefined : { azureADOnlyAuthentication: only.azureADOnlyAuthentication === true };
}

/** Entra-only authentication is always wanted on. Pure. */
export function diffEntraOnly(observed: EntraOnlyObserved | undefined): Array<'azureADOnlyAuthentication'> {
  return observed?.azureADOnlyAuthentication === true ? [] : ['azureADOnlyAuthentication'];
}

export async function applyEntraOnly(
  ctx: AzureContext,
  resourceGroup: string,
  serverName: string,
  observed: EntraOnlyObserved | undefined,
): Promise<EntraOnlyObserved> {
  if (diffEntraOnly(observed).length === 0) return { azureADOnlyAuthentication: true };
  await ctx.clients.sql.serverAzureADOnlyAuthentications.beginCreateOrUpdateAndWait(
    resourceGroup,
    serverName,
    'Default',
    { azureADOnlyAuthentication: true },
    callOptions(ctx),
  );
  return { azureADOnlyAuthentication: true };
}

// --- customer-managed TDE key -----------------------------------------------------------------

/** Azure SQL names a Key Vault server key `<vault>_<key>_<version>`. */
export function serverKeyName(keyUriWithVersion: string): string {
  const m = /^https:\/\/([^.]+)\.[^/]+\/keys\/([^/]+)\/([^/?]+)/.exec(keyUriWithVersion);
  if (m === null) throw new TerminalError('AzureInvalidKeyUri', `'${keyUriWithVersion}' is not a versioned Key Vault key URI`);
  return `${m[1]}_${m[2]}_${m[3]}`;
}

export interface ServerKeyObserved {
  name: string;
  serverKeyType: string | undefined;
  uri: string | undefined;
}

export type ServerKeyField = 'serverKeyType' | 'uri';

export async function observeServerKey(
  ctx: AzureContext,
  resourceGroup: string,
  serverName: string,
  name: string,
): Promise<ServerKeyObserved | undefined> {
  const key = await getOrUndefined(() => ctx.clients.sql.serverKeys.get(resourceGroup, serverName, name, callOptions(ctx)));
  return key === undefined ? undefined : { name: key.name ?? name, serverKeyType: key.serverKeyType, uri: key.uri };
}

/** Fields that differ from "this Key Vault key version". Pure. */
export function diffServerKey(keyUriWithVersion: string, observed: ServerKeyObserved): ServerKeyField[] {
  const fields: ServerKeyField[] = [];
  if (observed.serverKeyType !== 'AzureKeyVault') fields.push('serverKeyType');
  if (observed.uri !== keyUriWithVersion) fields.push('uri');
  return fields;
}

/** Register the vault key version with the server (needs the server identity's crypto role first). */
export async function applyServerKey(
  ctx: AzureContext,
  resourceGroup: string,
  serverName: string,
  keyUriWithVersion: string,
  observed: ServerKeyObserved | undefined,
): Promise<ServerKeyObserved> {
  if (observed !== undefined && diffServerKey(keyUriWithVersion, observed).length === 0) return observed;
  const name = serverKeyName(keyUriWithVersion);
  const key = await ctx.clients.sql.serverKeys.beginCreateOrUpdateAndWait(
    resourceGroup,
    serverName,
    name,
    { serverKeyType: 'AzureKeyVault', uri: keyUriWithVersion },
    callOptions(ctx),
  );
  return { name: key.name ?? name, serverKeyType: key.serverKeyType, uri: key.uri };
}

export interface EncryptionProtectorObserved {
  serverKeyName: string | undefined;
  serverKeyType: string | undefined;
  autoRotationEnabled: boolean;
}

export type EncryptionProtectorField = 'serverKeyType' | 'serverKeyName' | 'autoRotationEnabled';

export async function observeEncryptionProtector(
  ctx: AzureContext,
  resourceGroup: string,
  serverName: string,
): Promise<EncryptionProtectorObserved | undefined> {
  const protector = await getOrUndefined(() =>
    ctx.clients.sql.encryptionProtectors.get(resourceGroup, serverName, 'current', callOptions(ctx)),
  );
  if (protector === undefined) return undefined;
  return {
    serverKeyName: protector.serverKeyName,
    serverKeyType: protector.serverKeyType,
    autoRotationEnabled: protector.autoRotationEnabled === true,
  };
}

/**
 * Fields that differ from "protected by this Key Vault key, auto-rotating". Pure. With auto
 * rotation, Azure SQL follows new key versions itself; desired follows the vault key's current
 * version, so both agree after a rotation.
 */
export function diffEncryptionProtector(serverKey: string, observed: EncryptionProtectorObserved): EncryptionProtectorField[] {
  const fields: EncryptionProtectorField[] = [];
  if (observed.serverKeyType !== 'AzureKeyVault') fields.push('serverKeyType');
  if (observed.serverKeyName !== serverKey) fields.push('serverKeyName');
  if (!observed.autoRotationEnabled) fields.push('autoRotationEnabled');
  return fields;
}

export async function applyEncryptionProtector(
  ctx: AzureContext,
  resourceGroup: string,
  serverName: string,
  serverKey: string,
  observed: EncryptionProtectorObserved | undefined,
): Promise<EncryptionProtectorObserved> {
  if (observed !== undefined && diffEncryptionProtector(serverKey, observed).length === 0) return observed;
  const protector = await ctx.clients.sql.encryptionProtectors.beginCreateOrUpdateAndWait(
    resourceGroup,
    serverName,
    'current',
    { serverKeyType: 'AzureKeyVault', serverKeyName: serverKey, autoRotationEnabled: true },
    callOptions(ctx),
  );
  return {
    serverKeyName: protector.serverKeyName,
    serverKeyType: protector.serverKeyType,
    autoRotationEnabled: protector.autoRotationEnabled === true,
  };
}

// --- database -----------------------------------------------------------------------------------

export type BackupStorageRedundancy = 'Local' | 'Zone' | 'Geo' | 'GeoZone';

export interface DatabaseSku {
  /** e.g. `GP_Gen5`, `GP_S_Gen5`, `S0`. */
  name: string;
  /** e.g. `GeneralPurpose`, `Standard`. */
  tier: string;
  /** vCores or DTUs; left to Azure's default when unset. */
  capacity?: number | undefined;
}

export interface DatabaseDesired {
  resourceGroup: string;
  serverName: string;
  name: string;
  location: string;
  tags: Tags;
  sku: DatabaseSku;
  backupStorageRedundancy: BackupStorageRedundancy;
}

export interface DatabaseObserved {
  id: string;
  name: string;
  location: string;
  tags: Tags;
  /** `Online` when usable; `Creating`, `Scaling`, ... while an operation runs. */
  status: string | undefined;
  sku: DatabaseSku | undefined;
  requestedBackupStorageRedundancy: string | undefined;
  earliestRestoreDate: Date | undefined;
  /** When the database was created (a restored database: when its restore began). */
  creationDate?: Date | undefined;
  /** How it was created, when Azure reports it (`PointInTimeRestore` for a restore). */
  createMode?: string | undefined;
  /** The database a restore or copy was made from, when Azure reports it. */
  sourceDatabaseId?: string | undefined;
}

export type DatabaseField = 'location' | 'tags' | 'sku' | 'backupStorageRedundancy';

type Database = Awaited<ReturnType<Sql['databases']['get']>>;

function toDatabase(db: Database, name: string): DatabaseObserved {
  return {
    id: db.id ?? '',
    name: db.name ?? name,
    location: db.location,
    tags: db.tags ?? {},
    status: db.status,
    sku: db.sku === undefined ? undefined : { name: db.sku.name, tier: db.sku.tier ?? '', capacity: db.sku.capacity },
    requestedBackupStorageRedundancy: db.requestedBackupStorageRedundancy,
    earliestRestoreDate: db.earliestRestoreDate,
    creationDate: db.creationDate,
    createMode: db.createMode,
    sourceDatabaseId: db.sourceDatabaseId,
  };
}

export async function observeDatabase(
  ctx: AzureContext,
  resourceGroup: string,
  serverName: string,
  name: string,
): Promise<DatabaseObserved | undefined> {
  const db = await getOrUndefined(() => ctx.clients.sql.databases.get(resourceGroup, serverName, name, callOptions(ctx)));
  return db === undefined ? undefined : toDatabase(db, name);
}

/**
 * Fields that differ. Pure; ignores `status`, `earliestRestoreDate` and the other server-filled
 * fields. Capacity is compared only when desired sets it.
 */
export function diffDatabase(desired: DatabaseDesired, observed: DatabaseObserved): DatabaseField[] {
  const fields: DatabaseField[] = placementDiff(desired, observed);
  const sku = observed.sku;
  if (
    sku === undefined ||
    sku.name !== desired.sku.name ||
    sku.tier !== desired.sku.tier ||
    (desired.sku.capacity !== undefined && sku.capacity !== desired.sku.capacity)
  ) {
    fields.push('sku');
  }
  if (observed.requestedBackupStorageRedundancy !== desired.backupStorageRedundancy) fields.push('backupStorageRedundancy');
  return fields;
}

function skuBody(sku: DatabaseSku): { name: string; tier: string; capacity?: number } {
  return { name: sku.name, tier: sku.tier, ...(sku.capacity === undefined ? {} : { capacity: sku.capacity }) };
}

/**
 * Create the database when missing, else PATCH only the fields that differ; no call when nothing
 * differs. Refuses to write while an earlier operation runs on it. Waits for the operation.
 */
export async function applyDatabase(
  ctx: AzureContext,
  desired: DatabaseDesired,
  observed: DatabaseObserved | undefined,
): Promise<DatabaseObserved> {
  const databases = ctx.clients.sql.databases;
  if (observed === undefined) {
    const db = await databases.beginCreateOrUpdateAndWait(
      desired.resourceGroup,
      desired.serverName,
      desired.name,
      {
        location: desired.location,
        tags: desired.tags,
        sku: skuBody(desired.sku),
        requestedBackupStorageRedundancy: desired.backupStorageRedundancy,
      },
      callOptions(ctx),
    );
    return toDatabase(db, desired.name);
  }
  assertSettled(ctx, `database ${desired.name}`, observed.status);
  const fields = diffDatabase(desired, observed);
  refuseLocationChange(`database ${desired.name}`, fields, observed.location, desired.location);
  if (fields.length === 0) return observed;
  const db = await databases.beginUpdateAndWait(
    desired.resourceGroup,
    desired.serverName,
    desired.name,
    {
      ...(fields.includes('tags') ? { tags: mergeTags(desired.tags, observed.tags) } : {}),
      ...(fields.includes('sku') ? { sku: skuBody(desired.sku) } : {}),
      ...(fields.includes('backupStorageRedundancy')
        ? { requestedBackupStorageRedundancy: desired.backupStorageRedundancy }
        : {}),
    },
    callOptions(ctx),
  );
  return toDatabase(db, desired.name);
}

export async function tagDatabase(
  ctx: AzureContext,
  resourceGroup: string,
  serverName: string,
  observed: DatabaseObserved,
  tags: Tags,
): Promise<void> {
  await ctx.clients.sql.databases.beginUpdateAndWait(
    resourceGroup,
    serverName,
    observed.name,
    { tags: { ...observed.tags, ...tags } },
    callOptions(ctx),
  );
}

export async function deleteDatabase(ctx: AzureContext, resourceGroup: string, serverName: string, name: string): Promise<void> {
  await ctx.clients.sql.databases.beginDeleteAndWait(resourceGroup, serverName, name, callOptions(ctx));
}

export interface TdeObserved {
  state: string | undefined;
}

export async function observeTde(
  ctx: AzureContext,
  resourceGroup: string,
  serverName: string,
  database: string,
): Promise<TdeObserved | undefined> {
  const tde = await getOrUndefined(() =>
    ctx.clients.sql.transparentDataEncryptions.get(resourceGroup, serverName, database, 'current', callOptions(ctx)),
  );
  return tde === undefined ? undefined : { state: tde.state };
}

/** TDE is always wanted on. Pure. */
export function diffTde(observed: TdeObserved | undefined): Array<'state'> {
  return observed?.state === 'Enabled' ? [] : ['state'];
}

export async function applyTde(
  ctx: AzureContext,
  resourceGroup: string,
  serverName: string,
  database: string,
  observed: TdeObserved | undefined,
): Promise<TdeObserved> {
  if (diffTde(observed).length === 0) return { state: 'Enabled' };
  const tde = await ctx.clients.sql.transparentDataEncryptions.beginCreateOrUpdateAndWait(
    resourceGroup,
    serverName,
    database,
    'current',
    { state: 'Enabled' },
    callOptions(ctx),
  );
  return { state: tde.state };
}

// --- backup retention -------------------------------------------------------------------------

export interface ShortTermRetention {
  /** Point-in-time restore window, 1-35 days. */
  retentionDays: number;
  /** Differential backup interval. */
  diffBackupIntervalInHours: 12 | 24;
}

export async function observeShortTermRetention(
  ctx: AzureContext,
  resourceGroup: string,
  serverName: string,
  database: string,
): Promise<ShortTermRetention | undefined> {
  const policy = await getOrUndefined(() =>
    ctx.clients.sql.backupShortTermRetentionPolicies.get(resourceGroup, serverName, database, 'default', callOptions(ctx)),
  );
  if (policy === undefined) return undefined;
  return {
    retentionDays: policy.retentionDays ?? 0,
    diffBackupIntervalInHours: policy.diffBackupIntervalInHours === 24 ? 24 : 12,
  };
}

export function diffShortTermRetention(
  desired: ShortTermRetention,
  observed: ShortTermRetention | undefined,
): Array<keyof ShortTermRetention> {
  if (observed === undefined) return ['retentionDays', 'diffBackupIntervalInHours'];
  const fields: Array<keyof ShortTermRetention> = [];
  if (observed.retentionDays !== desired.retentionDays) fields.push('retentionDays');
  if (observed.diffBackupIntervalInHours !== desired.diffBackupIntervalInHours) fields.push('diffBackupIntervalInHours');
  return fields;
}

export async function applyShortTermRetention(
  ctx: AzureContext,
  resourceGroup: string,
  serverName: string,
  database: string,
  desired: ShortTermRetention,
  observed: ShortTermRetention | undefined,
): Promise<ShortTermRetention> {
  if (observed !== undefined && diffShortTermRetention(desired, observed).length === 0) return observed;
  await ctx.clients.sql.backupShortTermRetentionPolicies.beginCreateOrUpdateAndWait(
    resourceGroup,
    serverName,
    database,
    'default',
    { retentionDays: desired.retentionDays, diffBackupIntervalInHours: desired.diffBackupIntervalInHours },
    callOptions(ctx),
  );
  return desired;
}

/** ISO 8601 durations; `PT0S` means "not kept". */
export interface LongTermRetention {
  weeklyRetention: string;
  monthlyRetention: string;
  yearlyRetention: string;
  /** Week whose backup is the yearly one (1-52). */
  weekOfYear: number;
}

/** True when the policy keeps at least one kind of long-term backup. */
export function keepsLongTermBackups(policy: LongTermRetention | undefined): boolean {
  if (policy === undefined) return false;
  return [policy.weeklyRetention, policy.monthlyRetention, policy.yearlyRetention].some((d) => !/^P(T0S|0[DWMY])?$/.test(d));
}

export async function observeLongTermRetention(
  ctx: AzureContext,
  resourceGroup: string,
  serverName: string,
  database: string,
): Promise<LongTermRetention | undefined> {
  const policy = await getOrUndefined(() =>
    ctx.clients.sql.longTermRetentionPolicies.get(resourceGroup, serverName, database, 'default', callOptions(ctx)),
  );
  if (policy === undefined) return undefined;
  return {
    weeklyRetention: policy.weeklyRetention ?? 'PT0S',
    monthlyRetention: policy.monthlyRetention ?? 'PT0S',
    yearlyRetention: policy.yearlyRetention ?? 'PT0S',
    weekOfYear: policy.weekOfYear ?? 1,
  };
}

export function diffLongTermRetention(
  desired: LongTermRetention,
  observed: LongTermRetention | undefined,
): Array<keyof LongTermRetention> {
  const keys: Array<keyof LongTermRetention> = ['weeklyRetention', 'monthlyRetention', 'yearlyRetention', 'weekOfYear'];
  if (observed === undefined) return keys;
  return keys.filter((k) => observed[k] !== desired[k]);
}

export async function applyLongTermRetention(
  ctx: AzureContext,
  resourceGroup: string,
  serverName: string,
  database: string,
  desired: LongTermRetention,
  observed: LongTermRetention | undefined,
): Promise<LongTermRetention> {
  if (observed !== undefined && diffLongTermRetention(desired, observed).length === 0) return observed;
  await ctx.clients.sql.longTermRetentionPolicies.beginCreateOrUpdateAndWait(
    resourceGroup,
    serverName,
    database,
    'default',
    { ...desired },
    callOptions(ctx),
  );
  return desired;
}

// --- restore points, point-in-time restore, usage ---------------------------------------------

export interface RestorePointsObserved {
  /** The oldest point a restore can reach (the CONTINUOUS restore point). */
  earliestRestoreDate: Date | undefined;
  /**
   * The newest point a restore can reach: the latest `restorePointCreationDate` Azure lists. Real
   * Azure SQL Database lists only the CONTINUOUS point without one, so this is often undefined.
   */
  newestRestorePoint: Date | undefined;
}

/** The database's restore points (`restorePoints.listByDatabase`); undefined when the database does not exist. */
export async function observeRestorePoints(
  ctx: AzureContext,
  resourceGroup: string,
  serverName: string,
  database: string,
): Promise<RestorePointsObserved | undefined> {
  return getOrUndefined(async () => {
    let earliest: Date | undefined;
    let newest: Date | undefined;
    for await (const point of ctx.clients.sql.restorePoints.listByDatabase(
      resourceGroup,
      serverName,
      database,
      callOptions(ctx),
    )) {
      const e = point.earliestRestoreDate;
      const n = point.restorePointCreationDate;
      if (e !== undefined && (earliest === undefined || e < earliest)) earliest = e;
      if (n !== undefined && (newest === undefined || n > newest)) newest = n;
    }
    return { earliestRestoreDate: earliest, newestRestorePoint: newest };
  });
}

/** Every database on a server (`databases.listByServer`), `master` excluded. */
export async function listServerDatabases(
  ctx: AzureContext,
  resourceGroup: string,
  serverName: string,
): Promise<DatabaseObserved[]> {
  const list: DatabaseObserved[] = [];
  for await (const db of ctx.clients.sql.databases.listByServer(resourceGroup, serverName, callOptions(ctx))) {
    if (db.name?.toLowerCase() === 'master') continue;
    list.push(toDatabase(db, db.name ?? ''));
  }
  return list;
}

/** Bytes the database holds (its `database_size` usage); undefined when Azure does not say. */
export async function observeDatabaseUsedBytes(
  ctx: AzureContext,
  resourceGroup: string,
  serverName: string,
  database: string,
): Promise<number | undefined> {
  const usage = await getOrUndefined(async () => {
    for await (const u of ctx.clients.sql.databaseUsages.listByDatabase(resourceGroup, serverName, database, callOptions(ctx))) {
      if (u.name === 'database_size') return u.currentValue;
    }
    return undefined;
  });
  return usage;
}

export interface PointInTimeRestoreDesired {
  resourceGroup: string;
  serverName: string;
  /** The new database: never an existing one (Azure refuses a restore over an existing database). */
  name: string;
  location: string;
  tags: Tags;
  sourceDatabaseId: string;
  restorePointInTime: Date;
  /** Where the new database's own backups go; `Local` keeps a short-lived copy cheap and in-region. */
  backupStorageRedundancy?: BackupStorageRedundancy | undefined;
}

/**
 * Start a point-in-time restore into a new database and return once Azure accepted it (one status
 * poll), without waiting for the restore: it takes minutes to hours. Throws when Azure refuses the
 * request or the operation has already failed.
 */
export async function beginPointInTimeRestore(ctx: AzureContext, desired: PointInTimeRestoreDesired): Promise<void> {
  const poller = await ctx.clients.sql.databases.beginCreateOrUpdate(
    desired.resourceGroup,
    desired.serverName,
    desired.name,
    {
      location: desired.location,
      tags: desired.tags,
      createMode: 'PointInTimeRestore',
      sourceDatabaseId: desired.sourceDatabaseId,
      restorePointInTime: desired.restorePointInTime,
      ...(desired.backupStorageRedundancy === undefined
        ? {}
        : { requestedBackupStorageRedundancy: desired.backupStorageRedundancy }),
    },
    callOptions(ctx),
  );
  const state = poller.getOperationState();
  if (state.status === 'failed' || state.status === 'canceled') {
    throw state.error ?? new Error(`The restore into ${desired.name} ${state.status}.`);
  }
}

/**
 * Start deleting a database and return once Azure accepted it (one status poll), without waiting
 * for the deletion. Deleting a database that is still being restored cancels the restore.
 */
export async function beginDeleteDatabase(
  ctx: AzureContext,
  resourceGroup: string,
  serverName: string,
  name: string,
): Promise<void> {
  await ctx.clients.sql.databases.beginDelete(resourceGroup, serverName, name, callOptions(ctx));
}
