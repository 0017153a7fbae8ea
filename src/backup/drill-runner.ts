/**
 * The I/O around the drill state machine (drill.ts): finds the scratch databases of a tenant
 * database on its server (by name and by tag, so an orphan is never left behind), measures the
 * running drill's restored copy, and carries out the machine's actions through the Azure SDK. Each
 * action returns at once (a restore or delete is started, never waited for).
 */
import { createHash } from 'node:crypto';
import type { AzureContext } from '../azure/arm.ts';
import { azureErrorFacts, classifyAzureError } from '../azure/errors.ts';
import { AZURE_TAGS, type Tags } from '../azure/kinds/common.ts';
import type { BackupStorageRedundancy } from '../azure/kinds/sql.ts';
import {
  beginDeleteDatabase,
  beginPointInTimeRestore,
  type DatabaseObserved,
  observeDatabase,
  observeDatabaseUsedBytes,
  type ServerDatabaseListings,
} from '../azure/sql-backups.ts';
import { RetryableError, TerminalError } from '../runtime/errors.ts';
import {
  type DrillAction,
  type DrillDecision,
  type DrillEvent,
  type DrillStatus,
  drillCondition,
  drillRestoreRefused,
  isScratchDatabaseOf,
  SCRATCH_INFIX,
  type ScratchDatabase,
} from './drill.ts';

/** Tag on every scratch database: the live database it is a drill copy of. */
export const DRILL_OF_TAG = 'tenancy.dev-drill-of';

/**
 * The database a drill copy was restored from, as a digest of its ARM id. Azure never returns a
 * restore's `sourceDatabaseId` on GET (it is create-only), so the copy carries its origin itself.
 */
export const DRILL_SOURCE_TAG = 'tenancy.dev-drill-source';

/** The tag value naming a source database: short, stable, case-insensitive in the id. */
export function drillSourceDigest(databaseId: string): string {
  return createHash('sha256').update(databaseId.toLowerCase()).digest('hex').slice(0, 32);
}

/**
 * Where a copy came from: Azure's own answer when it gives one, else the copy's source tag read
 * against the tenant database (a tag naming another database says so; no tag says nothing).
 */
function sourceOf(db: Pick<DatabaseObserved, 'sourceDatabaseId' | 'tags'>, live: DatabaseObserved): string | undefined {
  if (db.sourceDatabaseId !== undefined) return db.sourceDatabaseId;
  const tag = db.tags[DRILL_SOURCE_TAG];
  if (tag === undefined) return undefined;
  return tag === drillSourceDigest(live.id) ? live.id : `a database other than ${live.name} (source digest ${tag})`;
}

export interface DrillTarget {
  tenant: string;
  resourceGroup: string;
  serverName: string;
  /** The live database: the restore source, never written to. */
  database: DatabaseObserved;
}

/** True when a database on the server is a drill copy of the live database (by name or tag), never the live one. */
export function isDrillCopy(db: Pick<DatabaseObserved, 'name' | 'tags'>, live: string): boolean {
  if (db.name.toLowerCase() === live.toLowerCase()) return false;
  return isScratchDatabaseOf(db.name, live) || db.tags[DRILL_OF_TAG]?.toLowerCase() === live.toLowerCase();
}

/** Whether a database may be some database's drill copy (by name or tag): what a listing keeps for drills. */
export function mayBeDrillCopy(db: Pick<DatabaseObserved, 'name' | 'tags'>): boolean {
  return db.name.toLowerCase().includes(SCRATCH_INFIX) || db.tags[DRILL_OF_TAG] !== undefined;
}

/**
 * Every drill copy of the live database on its server. The server's listing may be up to the
 * listings' age old (`fresh` reads it now); the running drill's copy (`measure.name`) is always
 * read now, and measured when Online and the policy checks a size.
 */
export async function observeScratchDatabases(
  azure: AzureContext,
  target: DrillTarget,
  measure: { name: string | undefined; size: boolean },
  listings: ServerDatabaseListings,
  fresh: boolean,
): Promise<ScratchDatabase[]> {
  const listed = await listings.list(azure, target.resourceGroup, target.serverName, fresh);
  const copies = listed.filter((db) => isDrillCopy(db, target.database.name) && db.name !== measure.name);
  if (measure.name !== undefined) {
    const running = await observeDatabase(azure, target.resourceGroup, target.serverName, measure.name);
    if (running !== undefined && isDrillCopy(running, target.database.name)) copies.push(running);
  }
  const scratch: ScratchDatabase[] = [];
  for (const db of copies) {
    const measured =
      measure.size && db.name === measure.name && (db.status === 'Online' || db.status === 'Paused')
        ? await observeDatabaseUsedBytes(azure, target.resourceGroup, target.serverName, db.name)
        : undefined;
    scratch.push({ name: db.name, status: db.status, sourceDatabaseId: sourceOf(db, target.database), usedBytes: measured });
  }
  return scratch;
}

/** What carrying out a decision's actions changed about it. */
export interface DrillExecution {
  decision: DrillDecision;
  /** Azure writes made, for audit lines. */
  writes: string[];
}

/** Tags of a scratch database: ownership plus the live database it copies. */
export function scratchTags(target: DrillTarget, startedAt: string | undefined): Tags {
  return {
    [AZURE_TAGS.managedBy]: 'tenant-operator',
    [AZURE_TAGS.tenant]: target.tenant,
    [DRILL_OF_TAG]: target.database.name,
    [DRILL_SOURCE_TAG]: drillSourceDigest(target.database.id),
    ...(startedAt ? { 'tenancy.dev-drill-started': startedAt } : {}),
  };
}

/**
 * Carry out the decision's actions. A restore Azure refuses (or whose operation already failed)
 * turns the drill into a Failed one; a restore that hit a transient error is not started (the
 * previous status stands, retried after `requeueAfterMs`). A delete that fails keeps the decision
 * and adds a Warning event; the next call deletes again. Throws nothing but programming errors.
 */
export async function executeDrillActions(
  azure: AzureContext,
  target: DrillTarget,
  previous: DrillStatus | undefined,
  decision: DrillDecision,
  settings: { everyMs: number; now: Date },
): Promise<DrillExecution> {
  const writes: string[] = [];
  let result = decision;
  const extraEvents: DrillEvent[] = [];
  let retryAfterMs: number | undefined;
  for (const action of decision.actions) {
    assertScratch(action, target);
    if (action.kind === 'delete') {
      try {
        await beginDeleteDatabase(azure, target.resourceGroup, target.serverName, action.name);
        writes.push(`delete scratch database ${action.name} (${action.why})`);
      } catch (err) {
        const classified = classifyAzureError(err);
        extraEvents.push({
          type: 'Warning',
          reason: 'DrillCleanupFailed',
          message: `Cannot delete scratch database ${action.name} yet (${classified.reason}): ${classified.message}`,
        });
        retryAfterMs = minOf(retryAfterMs, retryHint(classified));
      }
      continue;
    }
    try {
      await beginPointInTimeRestore(azure, {
        resourceGroup: target.resourceGroup,
        serverName: target.serverName,
        name: action.name,
        location: target.database.location,
        tags: scratchTags(target, result.status?.startedAt),
        sourceDatabaseId: target.database.id,
        restorePointInTime: action.restorePointInTime,
        backupStorageRedundancy: redundancyOf(target.database),
      });
      writes.push(
        `restore ${target.database.name} to ${action.restorePointInTime.toISOString()} into scratch database ${action.name}`,
      );
    } catch (err) {
      const facts = azureErrorFacts(err);
      const classified = classifyAzureError(err);
      if (classified instanceof TerminalError || facts.operationFailed) {
        const running = result.status ?? { phase: 'Running' as const };
        const refused = drillRestoreRefused(
          running,
          settings.everyMs,
          settings.now,
          `${classified.reason}: ${classified.message}`,
        );
        result = { ...refused, events: [...decision.events.filter((e) => e.reason !== 'DrillStarted'), ...refused.events] };
      } else {
        // Not started: keep what was there, try again later.
        result = {
          ...decision,
          status: previous,
          events: decision.events.filter((e) => e.reason !== 'DrillStarted'),
          condition: drillCondition(previous),
        };
        extraEvents.push({
          type: 'Warning',
          reason: 'DrillNotStarted',
          message: `Cannot start the restore drill yet (${classified.reason}): ${classified.message}`,
        });
        retryAfterMs = minOf(retryAfterMs, retryHint(classified));
      }
    }
  }
  return {
    decision: {
      ...result,
      events: [...result.events, ...extraEvents],
      requeueAfterMs: minOf(result.requeueAfterMs, retryAfterMs),
    },
    writes,
  };
}

function redundancyOf(db: DatabaseObserved): BackupStorageRedundancy | undefined {
  const r = db.requestedBackupStorageRedundancy;
  return r === 'Local' || r === 'Zone' || r === 'Geo' || r === 'GeoZone' ? r : undefined;
}

function retryHint(err: RetryableError | TerminalError): number {
  return err instanceof RetryableError && err.retryAfterMs !== undefined ? Math.max(1000, err.retryAfterMs) : 30_000;
}

function minOf(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Math.min(a, b);
}

/**
 * The last line of defence for "never touch the live database": every action must name a drill
 * copy of it. A violation is a bug, so it throws rather than being retried.
 */
function assertScratch(action: DrillAction, target: DrillTarget): void {
  const live = target.database.name;
  if (action.name.toLowerCase() === live.toLowerCase() || !isScratchDatabaseOf(action.name, live)) {
    if (action.kind === 'delete' && action.why === 'orphan' && action.name.toLowerCase() !== live.toLowerCase()) return;
    throw new Error(`refusing to ${action.kind} database ${action.name}: it is not a drill copy of ${live}`);
  }
}
