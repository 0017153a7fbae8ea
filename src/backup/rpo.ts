/**
 * The RPO check: is the newest point the tenant database can be restored to recent enough for the
 * policy's recovery point objective? Pure; the result is the `BackupHealthy` condition, the age of
 * the newest restore point and when the RPO will be breached.
 */
import type { ConditionInput } from '../runtime/conditions.ts';

export const BACKUP_HEALTHY = 'BackupHealthy';

export interface RpoInput {
  now: Date;
  rpoMs: number;
  /** The database, when it exists. */
  database: { name: string; creationDate?: Date | undefined } | undefined;
  /** The newest restorable instant Azure reports (undefined when it reports none). */
  newestRestorePoint: Date | undefined;
  /** The oldest restorable instant (the continuous restore point), when reported. */
  earliestRestorePoint: Date | undefined;
  /**
   * Since when a serverless database is paused: nothing is written after that, so the data at risk
   * is what was written between the newest backup and the pause.
   */
  pausedSince?: Date | undefined;
}

export interface RpoResult {
  condition: ConditionInput;
  /** Age of the newest restore point in ms (0 when it lies in the future); undefined when unknown. */
  ageMs: number | undefined;
  /** When the RPO is breached unless a newer restore point appears; undefined when unknown or breached. */
  breachAt: Date | undefined;
}

/** "2h10m", "45m", "30s": minutes precision above a minute, so messages stay stable between checks. */
export function formatAge(ms: number): string {
  if (ms < 60_000) return `${Math.max(0, Math.floor(ms / 1000))}s`;
  const minutes = Math.floor(ms / 60_000);
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  return h === 0 ? `${m}m` : m === 0 ? `${h}h` : `${h}h${m}m`;
}

/** RFC 3339 without milliseconds. */
export function isoSeconds(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * Pure. The newest restore point may be at most `rpoMs` old (exactly the RPO is within).
 *
 * - no database → `BackupsUnknown` (Unknown)
 * - a restore point → `WithinRPO` (True) or `RPOBreached` (False, with age and target)
 * - no newest restore point, but Azure reports restores back to some instant → `BackupsUnknown`:
 *   real Azure SQL Database lists only its continuous restore point, without the newest instant
 * - nothing at all: `BackupsUnknown` while the database is younger than the RPO (its first
 *   backup may still be running), `RPOBreached` once it is older
 */
export function checkRpo(input: RpoInput): RpoResult {
  const { rpoMs, database, newestRestorePoint: newest, pausedSince } = input;
  const now = pausedSince !== undefined && pausedSince < input.now ? pausedSince : input.now;
  const pausedNote =
    pausedSince === undefined ? '' : ` The database is paused since ${isoSeconds(pausedSince)}: nothing was written after that.`;
  const rpo = formatAge(rpoMs);
  const unknown = (message: string): RpoResult => ({
    condition: { type: BACKUP_HEALTHY, status: 'Unknown', reason: 'BackupsUnknown', message },
    ageMs: undefined,
    breachAt: undefined,
  });
  if (database === undefined) return unknown('The tenant database does not exist yet; there is nothing to back up.');
  if (newest === undefined) {
    if (input.earliestRestorePoint !== undefined) {
      return unknown(
        `Azure reports point-in-time restore back to ${isoSeconds(input.earliestRestorePoint)} but the database lists no completed backup yet, so the RPO of ${rpo} cannot be checked.`,
      );
    }
    const created = database.creationDate;
    if (created === undefined || now.getTime() - created.getTime() <= rpoMs) {
      return unknown(`Database ${database.name} has no restore point yet; its first backup is expected shortly.`);
    }
    return {
      condition: {
        type: BACKUP_HEALTHY,
        status: 'False',
        reason: 'RPOBreached',
        message: `Database ${database.name} has no restore point although it was created ${formatAge(now.getTime() - created.getTime())} ago, beyond the RPO of ${rpo}.`,
      },
      ageMs: undefined,
      breachAt: undefined,
    };
  }
  const ageMs = Math.max(0, now.getTime() - newest.getTime());
  if (ageMs <= rpoMs) {
    return {
      condition: {
        type: BACKUP_HEALTHY,
        status: 'True',
        reason: 'WithinRPO',
        message: `The newest restore point (${isoSeconds(newest)}) is within the RPO of ${rpo}.${pausedNote}`,
      },
      ageMs,
      breachAt: pausedSince === undefined ? new Date(newest.getTime() + rpoMs + 1) : undefined,
    };
  }
  return {
    condition: {
      type: BACKUP_HEALTHY,
      status: 'False',
      reason: 'RPOBreached',
      message: `The newest restore point (${isoSeconds(newest)}) is ${formatAge(ageMs)} old, beyond the RPO of ${rpo}: a failure now would lose more data than the BackupPolicy allows.${pausedNote}`,
    },
    ageMs,
    breachAt: undefined,
  };
}

/**
 * The part of the RPO after which the newest restore point recorded in status is refreshed.
 * Three quarters leaves a quarter of the RPO (at least 2.5 minutes, the RPO being at least 10)
 * for the refresh to land before the recorded point itself would look like a breach.
 */
export const RESTORE_POINT_REFRESH_FRACTION = 0.75;

export interface RecordedRestorePoint {
  /** What `status.backup.newestRestorePoint` holds after this pass (undefined when unknown). */
  recorded: Date | undefined;
  /** When the recorded point should be refreshed; undefined when there is nothing to refresh. */
  refreshAt: Date | undefined;
}

/**
 * Pure. Which newest restore point status records.
 *
 * Azure SQL takes a log backup every 5–10 minutes, so recording every one would rewrite every
 * tenant's status that often, for ever: a heartbeat in status, each write a new etcd revision and
 * a watch event to every reader (Argo CD, Flux, this operator). Kubernetes moved the node
 * heartbeat out of Node status for that cost (KEP-589, node Leases). So the point recorded stays
 * until it is older than {@link RESTORE_POINT_REFRESH_FRACTION} of the RPO, then the live one is
 * recorded. While the live point is within the RPO, the recorded one is too, so the verdict (and
 * the RPO alert, which reads the recorded point) is the same as the live one's; once the live
 * point ages past the refresh threshold, the two are equal. A live point older than the recorded
 * one (the database was restored or recreated) is recorded at once.
 */
export function restorePointToRecord(input: {
  now: Date;
  rpoMs: number;
  live: Date | undefined;
  previouslyRecorded: Date | undefined;
}): RecordedRestorePoint {
  const { now, rpoMs, live, previouslyRecorded } = input;
  const refreshAfterMs = rpoMs * RESTORE_POINT_REFRESH_FRACTION;
  if (live === undefined) return { recorded: undefined, refreshAt: undefined };
  const keep =
    previouslyRecorded !== undefined &&
    previouslyRecorded.getTime() <= live.getTime() &&
    now.getTime() - previouslyRecorded.getTime() < refreshAfterMs;
  const recorded = keep ? previouslyRecorded : live;
  const refreshAt = new Date(recorded.getTime() + refreshAfterMs);
  return { recorded, refreshAt: refreshAt > now ? refreshAt : undefined };
}
