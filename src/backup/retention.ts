/**
 * A BackupPolicy's retention on the tenant database: the pure mapping to Azure SQL's short-term
 * (point-in-time) and long-term retention policies, and observe -> diff -> apply that writes only
 * the policy that differs (a converged database costs two reads and no write).
 */
import type { BackupPolicySpec } from '../api/v1alpha1/backup-policy.ts';
import type { AzureContext } from '../azure/arm.ts';
import {
  applyLongTermRetention,
  applyShortTermRetention,
  type LongTermRetention,
  observeLongTermRetention,
  observeShortTermRetention,
  type ShortTermRetention,
} from '../azure/sql.ts';

/** What Azure calls "not kept". */
export const NOT_KEPT = 'PT0S';

export interface DesiredRetention {
  shortTerm: ShortTermRetention;
  longTerm: LongTermRetention;
}

/**
 * Pure: the Azure retention a policy asks for. Long-term durations the policy leaves out are
 * `PT0S` (not kept); `weekOfYear` defaults to 1, which Azure ignores without yearly retention.
 */
export function desiredRetention(policy: BackupPolicySpec): DesiredRetention {
  const ltr = policy.longTermRetention;
  return {
    shortTerm: {
      retentionDays: policy.pointInTimeRetentionDays,
      diffBackupIntervalInHours: policy.differentialBackupIntervalHours,
    },
    longTerm: {
      weeklyRetention: ltr.weekly ?? NOT_KEPT,
      monthlyRetention: ltr.monthly ?? NOT_KEPT,
      yearlyRetention: ltr.yearly ?? NOT_KEPT,
      weekOfYear: ltr.weekOfYear ?? 1,
    },
  };
}

/** "Not kept" has several spellings (`PT0S`, `P0W`, `P0D`, empty). */
function normalizeDuration(value: string): string {
  return /^P(T0S|0[DWMY])?$/.test(value) || value === '' ? NOT_KEPT : value;
}

/** Pure: the short-term fields that differ (all of them when Azure reports no policy). */
export function diffShortTerm(desired: ShortTermRetention, observed: ShortTermRetention | undefined): string[] {
  if (observed === undefined) return ['retentionDays', 'diffBackupIntervalInHours'];
  const fields: string[] = [];
  if (observed.retentionDays !== desired.retentionDays) fields.push('retentionDays');
  if (observed.diffBackupIntervalInHours !== desired.diffBackupIntervalInHours) fields.push('diffBackupIntervalInHours');
  return fields;
}

/**
 * Pure: the long-term fields that differ. `weekOfYear` only counts when yearly backups are kept:
 * Azure reports whatever it holds there otherwise, and a write for a field it ignores would
 * repeat on every reconcile.
 */
export function diffLongTerm(desired: LongTermRetention, observed: LongTermRetention | undefined): string[] {
  if (observed === undefined) return ['weeklyRetention', 'monthlyRetention', 'yearlyRetention', 'weekOfYear'];
  const fields: string[] = [];
  for (const key of ['weeklyRetention', 'monthlyRetention', 'yearlyRetention'] as const) {
    if (normalizeDuration(observed[key]) !== normalizeDuration(desired[key])) fields.push(key);
  }
  if (normalizeDuration(desired.yearlyRetention) !== NOT_KEPT && observed.weekOfYear !== desired.weekOfYear) {
    fields.push('weekOfYear');
  }
  return fields;
}

export interface RetentionLocation {
  resourceGroup: string;
  serverName: string;
  databaseName: string;
}

export interface RetentionOutcome {
  /** Retention in force after this call (what Azure reported, or what was just written). */
  shortTerm: ShortTermRetention | undefined;
  longTerm: LongTermRetention | undefined;
  /** The writes made: `shortTerm (retentionDays)` style, empty in steady state. */
  changes: string[];
}

/**
 * Observe both retention policies and write each one that differs (one PUT each, waited for).
 * With `write: false` (the database is busy with another operation) nothing is written and the
 * observed values come back with the changes that are due. Without `desired` (no policy) it only
 * observes: the database keeps what it has.
 */
export async function reconcileRetention(
  ctx: AzureContext,
  at: RetentionLocation,
  desired: DesiredRetention | undefined,
  options: { write: boolean } = { write: true },
): Promise<RetentionOutcome & { pending: string[] }> {
  const { resourceGroup: rg, serverName: server, databaseName: db } = at;
  const shortObserved = await observeShortTermRetention(ctx, rg, server, db);
  const longObserved = await observeLongTermRetention(ctx, rg, server, db);
  if (desired === undefined) return { shortTerm: shortObserved, longTerm: longObserved, changes: [], pending: [] };
  const shortFields = diffShortTerm(desired.shortTerm, shortObserved);
  const longFields = diffLongTerm(desired.longTerm, longObserved);
  const due = [
    ...(shortFields.length > 0 ? [`shortTerm (${shortFields.join(', ')})`] : []),
    ...(longFields.length > 0 ? [`longTerm (${longFields.join(', ')})`] : []),
  ];
  if (!options.write) return { shortTerm: shortObserved, longTerm: longObserved, changes: [], pending: due };
  // The apply helpers skip the call when nothing differs by their own (strict) comparison, so
  // pass `undefined` as observed only when ours says a write is due.
  const shortTerm =
    shortFields.length > 0 ? await applyShortTermRetention(ctx, rg, server, db, desired.shortTerm, undefined) : shortObserved;
  const longTerm =
    longFields.length > 0 ? await applyLongTermRetention(ctx, rg, server, db, desired.longTerm, undefined) : longObserved;
  return { shortTerm, longTerm, changes: due, pending: [] };
}
