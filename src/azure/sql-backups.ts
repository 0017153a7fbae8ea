/**
 * The reads and non-blocking writes backups need on a tenant's databases, through the Azure SQL
 * SDK client: the database as Azure reports it, its restore points, the server's databases, the
 * used size, and the begin (never the wait) of a point-in-time restore or a deletion.
 */
import { type AzureContext, callOptions, getOrUndefined } from './arm.ts';
import type { Tags } from './kinds/common.ts';
import type { BackupStorageRedundancy } from './kinds/sql.ts';

type Sql = AzureContext['clients']['sql'];

export interface DatabaseSku {
  /** e.g. `GP_Gen5`, `GP_S_Gen5`, `S0`. */
  name: string;
  /** e.g. `GeneralPurpose`, `Standard`. */
  tier: string;
  /** vCores or DTUs; left to Azure's default when unset. */
  capacity?: number | undefined;
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
  /** When a serverless database paused (`status: Paused`). */
  pausedDate?: Date | undefined;
}

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
    pausedDate: db.pausedDate,
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

/**
 * Listings of servers' databases, shared by every caller on the same server and reused for up to
 * `maxAgeMs`. On a shared server (hundreds of tenant databases) a listing per tenant per pass costs
 * O(databases on the server) per tenant: measured at 1000 tenants, the SDK's deserialization of
 * those lists was a third of the operator's CPU in the steady state. One listing in flight per
 * server is shared; a failed one is not kept; only the databases `keep` accepts are held.
 */
export class ServerDatabaseListings {
  readonly #entries = new Map<string, { listedAt: number; databases: Promise<DatabaseObserved[]> }>();
  readonly #maxAgeMs: number;
  readonly #now: () => number;
  readonly #keep: (db: DatabaseObserved) => boolean;

  constructor(options: { maxAgeMs: number; now: () => number; keep?: (db: DatabaseObserved) => boolean }) {
    this.#maxAgeMs = options.maxAgeMs;
    this.#now = options.now;
    this.#keep = options.keep ?? (() => true);
  }

  /** The server's databases `keep` accepts, from a listing at most `maxAgeMs` old (`fresh`: listed now). */
  list(ctx: AzureContext, resourceGroup: string, serverName: string, fresh = false): Promise<DatabaseObserved[]> {
    const key = listingKey(ctx, resourceGroup, serverName);
    const now = this.#now();
    const cached = this.#entries.get(key);
    if (!fresh && cached !== undefined && now - cached.listedAt < this.#maxAgeMs) return cached.databases;
    const entry = {
      listedAt: now,
      databases: listServerDatabases(ctx, resourceGroup, serverName).then((all) => all.filter(this.#keep)),
    };
    this.#entries.set(key, entry);
    entry.databases.catch(() => {
      if (this.#entries.get(key) === entry) this.#entries.delete(key);
    });
    return entry.databases;
  }

  /** Drops the server's listing (after a write to it), so the next caller lists it again. */
  forget(ctx: AzureContext, resourceGroup: string, serverName: string): void {
    this.#entries.delete(listingKey(ctx, resourceGroup, serverName));
  }
}

function listingKey(ctx: AzureContext, resourceGroup: string, serverName: string): string {
  return `${ctx.clients.subscriptionId}/${resourceGroup}/${serverName}`.toLowerCase();
}
