/**
 * Azure SQL backups as the emulator models them: automatic backups every `backupIntervalMs` of
 * emulated time from a database's creation, pauses that stop them (so a test can breach an RPO),
 * the point-in-time restore window they give, and the restore-point and usage lists the SDK reads.
 */
import { asNumber, asObject, asString, type JsonObject } from './json.ts';

/** Settings that can change while the emulator runs (they live in the engine's config). */
export interface SqlBackupSettings {
  /** Emulated time between two automatic backups of a database (default 10 minutes). */
  backupIntervalMs: number;
  /**
   * Emulated time a point-in-time restore runs before its database is Online (default 0: it ends
   * after the real-time `lroDelayMs` like any other operation). Set it, then move the clock.
   */
  restoreDurationMs: number;
}

/**
 * Backups stopped from `from` (emulated ms) until `to` (open while undefined), for one database name
 * (lower case) or, with `database` undefined, for every database.
 */
export interface BackupPause {
  database: string | undefined;
  from: number;
  to: number | undefined;
}

/** Emulated time between automatic backups unless configured: 10 minutes. */
export const DEFAULT_BACKUP_INTERVAL_MS = 10 * 60_000;

/** Bytes a new database holds until told otherwise (`setDatabaseSize`). */
export const DEFAULT_DATABASE_USED_BYTES = 256 * 1024 * 1024;

/**
 * The time of the newest backup taken at or before `now`: backups happen at `created + k * interval`
 * (k >= 0: the first full backup right at creation), except while a pause covers that instant.
 * Undefined when no backup has been taken yet.
 */
export function newestBackupTime(
  created: number,
  now: number,
  interval: number,
  pauses: readonly Pick<BackupPause, 'from' | 'to'>[],
): number | undefined {
  if (!Number.isFinite(created) || now < created || interval <= 0) return undefined;
  let tick = Math.floor((now - created) / interval);
  // Each pass moves below one pause; a pause is never matched twice, so this ends.
  for (let guard = 0; guard <= pauses.length; guard++) {
    const at = created + tick * interval;
    const pause = pauses.find((p) => at >= p.from && at < (p.to ?? Number.POSITIVE_INFINITY));
    if (pause === undefined) return at;
    if (pause.from <= created) return undefined;
    tick = Math.ceil((pause.from - created) / interval) - 1;
  }
  return undefined;
}

/**
 * The database's backups, newest first, at most `limit`: the one at creation is full (`D`), one a
 * week after it full again, the rest log backups (`L`), as `sys.dm_database_backups` lists them.
 */
export function backupHistory(
  created: number,
  now: number,
  interval: number,
  pauses: readonly Pick<BackupPause, 'from' | 'to'>[],
  limit: number,
): { finishedMs: number; type: 'D' | 'I' | 'L' }[] {
  const out: { finishedMs: number; type: 'D' | 'I' | 'L' }[] = [];
  let until = now;
  while (out.length < limit) {
    const at = newestBackupTime(created, until, interval, pauses);
    if (at === undefined) break;
    out.push({ finishedMs: at, type: (at - created) % (7 * 86_400_000) === 0 ? 'D' : 'L' });
    until = at - 1;
  }
  return out;
}

/** Pauses that apply to a database of this name. */
export function pausesFor(pauses: readonly BackupPause[], databaseName: string): BackupPause[] {
  const name = databaseName.toLowerCase();
  return pauses.filter((p) => p.database === undefined || p.database === name);
}

/** Start a pause (unless one is already open for the same target). */
export function stopBackups(pauses: BackupPause[], now: number, database?: string): void {
  const target = database?.toLowerCase();
  if (pauses.some((p) => p.database === target && p.to === undefined)) return;
  pauses.push({ database: target, from: now, to: undefined });
}

/** End the open pauses of that target (every open pause when `database` is undefined). */
export function resumeBackups(pauses: BackupPause[], now: number, database?: string): void {
  const target = database?.toLowerCase();
  for (const p of pauses) {
    if (p.to === undefined && (database === undefined || p.database === target)) p.to = now;
  }
}

/** The point-in-time restore window of a database: earliest and newest restorable instants. */
export interface RestoreWindow {
  earliest: number | undefined;
  newest: number | undefined;
}

/**
 * The earliest point is the later of creation and `now - retentionDays` (as before restore points
 * were modelled); the newest is the newest backup.
 */
export function restoreWindow(
  database: JsonObject,
  retentionDays: number,
  now: number,
  settings: SqlBackupSettings,
  pauses: readonly BackupPause[],
): RestoreWindow {
  const p = asObject(database.properties);
  const created = Date.parse(asString(p.creationDate) ?? '');
  if (Number.isNaN(created)) return { earliest: undefined, newest: undefined };
  const name = asString(database.name) ?? '';
  return {
    earliest: Math.max(created, now - retentionDays * 86_400_000),
    newest: newestBackupTime(created, now, settings.backupIntervalMs, pausesFor(pauses, name)),
  };
}

/**
 * `GET .../databases/{db}/restorePoints` (2020-11-01-preview). Real Azure SQL Database answers with one
 * CONTINUOUS point carrying only `earliestRestoreDate`: the newest backup is not exposed through ARM
 * (the data plane's `sys.dm_database_backups` lists it: sql-data-plane.ts).
 */
export function restorePointsBody(databaseId: string, location: string, window: RestoreWindow): JsonObject {
  const type = 'Microsoft.Sql/servers/databases/restorePoints';
  const value: JsonObject[] = [];
  if (window.earliest !== undefined && window.newest !== undefined) {
    value.push({
      id: `${databaseId}/restorePoints/ContinuousRestorePoint`,
      name: 'ContinuousRestorePoint',
      type,
      location,
      properties: { restorePointType: 'CONTINUOUS', earliestRestoreDate: new Date(window.earliest).toISOString() },
    });
  }
  return { value };
}

/** `GET .../databases/{db}/usages` (2021-02-01-preview): the used size as Azure reports it. */
export function usagesBody(databaseId: string, database: JsonObject, usedBytes: number): JsonObject {
  const maxSize = asNumber(asObject(database.properties).maxSizeBytes) ?? 34_359_738_368;
  return {
    value: [
      {
        id: `${databaseId}/usages/database_size`,
        name: 'database_size',
        type: 'Microsoft.Sql/servers/databases/usages',
        properties: { displayName: 'Database Size', currentValue: usedBytes, limit: maxSize, unit: 'Bytes' },
      },
    ],
  };
}
