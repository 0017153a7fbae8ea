/**
 * Restore drills as a pure state machine. Each call takes the drill recorded in the Tenant's status
 * and what Azure shows now, and returns the next drill status, the Azure actions to take (start a
 * point-in-time restore into a scratch database, delete a scratch database), the events worth a
 * person's attention, the `RestoreDrillSucceeded` condition and when to look again. One call is one
 * step, so a drill never blocks a reconcile, and because the state lives in the status a restarted
 * operator resumes where the last one stopped.
 *
 *   (idle) --due--> Running/Restoring --Online+verified--> Running/CleaningUp --gone--> Succeeded|Failed
 *                          |  timeout, refused, vanished        ^
 *                          +------------------------------------+
 *
 * Safety: actions only ever name scratch databases (`<db>-drill-<yyyymmddhhmm>`); the live
 * database is never restored over nor deleted. Every scratch database found that is not the running
 * drill's (an operator that died between the restore request and the status write) is deleted.
 */
import type { DRILL_RESULTS, TenantStatus } from '../api/v1alpha1/tenant.ts';
import { isInProgress } from '../azure/kinds/common.ts';
import type { ConditionInput, ConditionStatus } from '../runtime/conditions.ts';
import { formatAge, isoSeconds } from './rpo.ts';

export const RESTORE_DRILL_SUCCEEDED = 'RestoreDrillSucceeded';

export type DrillStatus = NonNullable<NonNullable<TenantStatus['backup']>['drill']>;
export type DrillResult = (typeof DRILL_RESULTS)[number];

/** Suffix of scratch database names: `-drill-` and a UTC minute stamp. */
export const SCRATCH_INFIX = '-drill-';
const STAMP_LENGTH = 12;
const MAX_DATABASE_NAME = 128;

/** How a drill is run; from the BackupPolicy and the operator's options. */
export interface DrillSettings {
  everyMs: number;
  rtoMs: number;
  /** A drill still restoring after rto × timeoutFactor is abandoned as failed. */
  timeoutFactor: number;
  minimumSizeBytes: number | undefined;
  /** A database younger than this gets no first drill (its first backups are being taken). */
  firstDrillGraceMs: number;
  /** How long a scratch database may be missing right after the restore request (ARM lag). */
  missingGraceMs: number;
  /** Poll interval while restoring or cleaning up. */
  pollMs: number;
  /** Longest requeue while idle (a resync comes anyway). */
  maxIdleRequeueMs: number;
  /**
   * Set when drills may start only inside a maintenance window: whether one is open now, when
   * the next opens, and a description for messages. `nextOpensAt` undefined: none is coming.
   */
  window?: { open: boolean; nextOpensAt: Date | undefined; description: string } | undefined;
}

/** Why no drill may run (no policy, drills disabled): running drills are canceled. */
export interface DrillsOff {
  off: true;
  reason: string;
  message: string;
}

/** A scratch database as observed. */
export interface ScratchDatabase {
  name: string;
  /** Azure's database status (`Restoring`, `Online`, `Dropping`, ...). */
  status: string | undefined;
  /** The database it was restored from, when Azure reports it. */
  sourceDatabaseId: string | undefined;
  /** Bytes it holds, when measured (only for the running drill's Online scratch database). */
  usedBytes: number | undefined;
}

export interface DrillObservation {
  now: Date;
  /** The live database; undefined when it does not exist. */
  database: { name: string; id: string; status: string | undefined; creationDate: Date | undefined } | undefined;
  /** Every scratch database of this live database found on the server (by name or tag). */
  scratch: ScratchDatabase[];
  /** What a restore can reach now. */
  restoreWindow: { earliest: Date | undefined; newest: Date | undefined };
}

export type DrillAction =
  | { kind: 'restore'; name: string; restorePointInTime: Date }
  | { kind: 'delete'; name: string; why: 'cleanup' | 'orphan' | 'timeout' | 'canceled' };

export interface DrillEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

export interface DrillDecision {
  status: DrillStatus | undefined;
  actions: DrillAction[];
  events: DrillEvent[];
  condition: ConditionInput;
  requeueAfterMs: number | undefined;
}

// --- names --------------------------------------------------------------------------------------

/** The part of scratch names before `-drill-`: the live name, cut so the whole stays within 128 characters. */
function scratchBase(database: string): string {
  return database.slice(0, MAX_DATABASE_NAME - SCRATCH_INFIX.length - STAMP_LENGTH);
}

/** `<db>-drill-<yyyymmddhhmm>` (UTC): deterministic for a drill started in that minute. */
export function scratchDatabaseName(database: string, startedAt: Date): string {
  const stamp = startedAt.toISOString().slice(0, 16).replace(/[-T:]/g, '');
  return `${scratchBase(database)}${SCRATCH_INFIX}${stamp}`;
}

/** True only for names `scratchDatabaseName` gives for this live database, and never the live database itself. */
export function isScratchDatabaseOf(name: string, database: string): boolean {
  if (name.toLowerCase() === database.toLowerCase()) return false;
  const prefix = `${scratchBase(database)}${SCRATCH_INFIX}`.toLowerCase();
  const lower = name.toLowerCase();
  return lower.startsWith(prefix) && /^\d{12}$/.test(lower.slice(prefix.length));
}

// --- conditions ----------------------------------------------------------------------------------

function resultStatus(result: DrillResult | undefined): ConditionStatus {
  if (result === undefined) return 'Unknown';
  return result === 'Succeeded' ? 'True' : 'False';
}

const RESULT_REASON: Record<DrillResult, string> = {
  Succeeded: 'DrillSucceeded',
  Failed: 'DrillFailed',
  ExceededRTO: 'DrillExceededRTO',
};

function verdictCondition(drill: DrillStatus): ConditionInput {
  const result = drill.result ?? 'Failed';
  return {
    type: RESTORE_DRILL_SUCCEEDED,
    status: resultStatus(result),
    reason: RESULT_REASON[result],
    message: drill.message ?? `The restore drill started ${drill.startedAt ?? '?'} ended: ${result}.`,
  };
}

function describePrevious(previous: DrillStatus['previous']): string {
  if (previous === undefined) return 'it is the first drill';
  const rto = previous.measuredRtoSeconds === undefined ? '' : ` (restored in ${formatAge(previous.measuredRtoSeconds * 1000)})`;
  return `the previous drill${previous.finishedAt ? ` (${previous.finishedAt})` : ''} ended ${previous.result}${rto}`;
}

function runningCondition(drill: DrillStatus): ConditionInput {
  const what =
    drill.step === 'CleaningUp'
      ? `A restore drill ended ${drill.result ?? 'canceled'}; its scratch database ${drill.scratchDatabase} is being deleted`
      : `A restore drill has been running since ${drill.startedAt}, restoring ${drill.restorePointInTime} into scratch database ${drill.scratchDatabase}`;
  return {
    type: RESTORE_DRILL_SUCCEEDED,
    status: resultStatus(drill.previous?.result),
    reason: 'DrillRunning',
    message: `${what}; ${describePrevious(drill.previous)}.`,
  };
}

/** The finished part of a drill, kept as `previous` while the next one runs. */
function summaryOf(drill: DrillStatus | undefined): DrillStatus['previous'] {
  if (drill === undefined || drill.phase === 'Running' || drill.result === undefined) return drill?.previous;
  return {
    result: drill.result,
    ...(drill.startedAt ? { startedAt: drill.startedAt } : {}),
    ...(drill.finishedAt ? { finishedAt: drill.finishedAt } : {}),
    ...(drill.measuredRtoSeconds === undefined ? {} : { measuredRtoSeconds: drill.measuredRtoSeconds }),
  };
}

/** The completed drill before a canceled one, as the drill status to go back to. */
function restorePrevious(drill: DrillStatus): DrillStatus | undefined {
  const p = drill.previous;
  if (p === undefined) return undefined;
  return {
    phase: p.result === 'Succeeded' ? 'Succeeded' : 'Failed',
    result: p.result,
    ...(p.startedAt ? { startedAt: p.startedAt } : {}),
    ...(p.finishedAt ? { finishedAt: p.finishedAt } : {}),
    ...(p.measuredRtoSeconds === undefined ? {} : { measuredRtoSeconds: p.measuredRtoSeconds }),
  };
}

function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

// --- the machine ---------------------------------------------------------------------------------

const isDropping = (s: ScratchDatabase | undefined): boolean => s?.status?.toLowerCase() === 'dropping';

const at = (iso: string | undefined): number => (iso === undefined ? Number.NaN : Date.parse(iso));

/**
 * One step of the drill of one tenant database. `settings` is `DrillsOff` when no drill may run
 * (the policy is missing or disables drills): a running drill is canceled (its scratch database
 * deleted) and the drill before it is shown again.
 */
export function decideDrill(
  previous: DrillStatus | undefined,
  settings: DrillSettings | DrillsOff,
  obs: DrillObservation,
): DrillDecision {
  const running = previous?.phase === 'Running' ? previous : undefined;
  const actions: DrillAction[] = [];
  const events: DrillEvent[] = [];

  // Scratch databases nobody is waiting for: left by an operator that stopped between the restore
  // request and the status write, or by a drill whose status was lost. Always deleted.
  const orphans = obs.scratch.filter((s) => s.name !== running?.scratchDatabase);
  for (const orphan of orphans) {
    if (isDropping(orphan)) continue;
    actions.push({ kind: 'delete', name: orphan.name, why: 'orphan' });
    events.push({
      type: 'Normal',
      reason: 'DrillScratchDeleted',
      message: `Deleting scratch database ${orphan.name}, left behind by an earlier restore drill.`,
    });
  }
  // While orphans are being deleted, look again soon.
  const decide: Decide = (status, condition, requeueAfterMs) => ({
    status: status === undefined ? undefined : withoutUndefined(status),
    actions,
    events,
    condition,
    requeueAfterMs: orphans.length > 0 ? minDefined(requeueAfterMs, settingsPoll(settings)) : requeueAfterMs,
  });

  if ('off' in settings) {
    if (running !== undefined) return cancel(running, settings, obs, actions, events, decide);
    return decide(
      previous,
      { type: RESTORE_DRILL_SUCCEEDED, status: 'Unknown', reason: settings.reason, message: settings.message },
      undefined,
    );
  }
  if (running !== undefined) return advance(running, settings, obs, actions, events, decide);
  return maybeStart(previous, settings, obs, orphans, actions, events, decide);
}

function settingsPoll(settings: DrillSettings | DrillsOff): number {
  return 'off' in settings ? 15_000 : settings.pollMs;
}

function minDefined(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Math.min(a, b);
}

type Decide = (status: DrillStatus | undefined, condition: ConditionInput, requeueAfterMs: number | undefined) => DrillDecision;

/** A running drill when drills may no longer run: delete its scratch database, then show the drill before it. */
function cancel(
  running: DrillStatus,
  off: DrillsOff,
  obs: DrillObservation,
  actions: DrillAction[],
  events: DrillEvent[],
  decide: Decide,
): DrillDecision {
  const scratch = obs.scratch.find((s) => s.name === running.scratchDatabase);
  const condition: ConditionInput = {
    type: RESTORE_DRILL_SUCCEEDED,
    status: 'Unknown',
    reason: off.reason,
    message: off.message,
  };
  if (scratch === undefined) return decide(restorePrevious(running), condition, undefined);
  if (!isDropping(scratch)) {
    actions.push({ kind: 'delete', name: scratch.name, why: 'canceled' });
    events.push({
      type: 'Normal',
      reason: 'DrillCanceled',
      message: `Restore drill canceled (${off.message}); deleting scratch database ${scratch.name}.`,
    });
  }
  return decide({ ...running, step: 'CleaningUp', result: undefined, message: `Canceled: ${off.message}` }, condition, 15_000);
}

function advance(
  running: DrillStatus,
  settings: DrillSettings,
  obs: DrillObservation,
  actions: DrillAction[],
  events: DrillEvent[],
  decide: Decide,
): DrillDecision {
  const now = obs.now;
  const name = running.scratchDatabase ?? '';
  const scratch = obs.scratch.find((s) => s.name === name);
  const startedAt = at(running.startedAt);
  const elapsedMs = Number.isNaN(startedAt) ? 0 : Math.max(0, now.getTime() - startedAt);

  if (running.step === 'CleaningUp') {
    if (scratch !== undefined) {
      if (!isDropping(scratch)) actions.push({ kind: 'delete', name, why: 'cleanup' });
      const condition = running.result === undefined ? runningCondition(running) : verdictCondition(running);
      return decide(running, condition, settings.pollMs);
    }
    if (running.result === undefined) {
      const back = restorePrevious(running);
      return decide(back, back ? verdictCondition(back) : noDrillYet(undefined), settings.pollMs);
    }
    const done: DrillStatus = {
      ...running,
      phase: running.result === 'Succeeded' ? 'Succeeded' : 'Failed',
      step: undefined,
      previous: undefined,
      nextDrillAt: Number.isNaN(startedAt) ? undefined : isoSeconds(new Date(startedAt + settings.everyMs)),
    };
    return decide(done, verdictCondition(done), idleRequeue(settings, now, startedAt + settings.everyMs));
  }

  // Restoring.
  const verdict = (result: DrillResult, message: string, measured: boolean, cleanup: boolean): DrillDecision => {
    const drill: DrillStatus = {
      ...running,
      step: 'CleaningUp',
      result,
      finishedAt: isoSeconds(now),
      measuredRtoSeconds: measured ? Math.round(elapsedMs / 1000) : undefined,
      message,
    };
    events.push({ type: result === 'Succeeded' ? 'Normal' : 'Warning', reason: RESULT_REASON[result], message });
    if (!cleanup) {
      const done: DrillStatus = {
        ...drill,
        phase: 'Failed',
        step: undefined,
        previous: undefined,
        nextDrillAt: Number.isNaN(startedAt) ? undefined : isoSeconds(new Date(startedAt + settings.everyMs)),
      };
      return decide(done, verdictCondition(done), idleRequeue(settings, now, startedAt + settings.everyMs));
    }
    return decide(drill, verdictCondition(drill), settings.pollMs);
  };
  const timeoutMs = settings.rtoMs * settings.timeoutFactor;

  if (scratch === undefined) {
    if (elapsedMs < settings.missingGraceMs) return decide(running, runningCondition(running), settings.pollMs);
    return verdict(
      'Failed',
      `Restore drill failed: scratch database ${name} disappeared ${formatAge(elapsedMs)} after the restore was requested (the restore failed or someone deleted it).`,
      false,
      false,
    );
  }
  if (isDropping(scratch)) {
    return verdict(
      'Failed',
      `Restore drill failed: scratch database ${name} was deleted while it was being restored.`,
      false,
      true,
    );
  }
  if (isInProgress(scratch.status)) {
    if (elapsedMs > timeoutMs) {
      actions.push({ kind: 'delete', name, why: 'timeout' });
      return verdict(
        'Failed',
        `Restore drill failed: ${name} was still ${scratch.status} after ${formatAge(elapsedMs)}, beyond ${settings.timeoutFactor} × the rto of ${formatAge(settings.rtoMs)}; the restore was abandoned.`,
        false,
        true,
      );
    }
    return decide(running, runningCondition(running), Math.max(1000, Math.min(settings.pollMs, timeoutMs - elapsedMs + 1000)));
  }

  // Settled: verify, then clean up.
  actions.push({ kind: 'delete', name, why: 'cleanup' });
  const problems = verificationProblems(scratch, obs, settings);
  const took = formatAge(elapsedMs);
  if (problems.length > 0) {
    return verdict('Failed', `Restore drill failed: ${name} restored in ${took} but ${problems.join('; ')}.`, true, true);
  }
  const what = `restored ${obs.database?.name ?? 'the database'} to ${running.restorePointInTime} in ${took}`;
  if (elapsedMs > settings.rtoMs) {
    return verdict('ExceededRTO', `Restore drill ${what}, beyond the rto of ${formatAge(settings.rtoMs)}.`, true, true);
  }
  const size = settings.minimumSizeBytes === undefined ? '' : ` holding ${scratch.usedBytes} bytes`;
  return verdict(
    'Succeeded',
    `Restore drill ${what} (rto ${formatAge(settings.rtoMs)}); the copy was Online${size}.`,
    true,
    true,
  );
}

/** What a settled scratch database fails of the policy's `verify`. */
export function verificationProblems(scratch: ScratchDatabase, obs: DrillObservation, settings: DrillSettings): string[] {
  const problems: string[] = [];
  // A serverless copy may auto-pause before it is looked at: paused is restored and usable (it resumes on connect).
  if (scratch.status !== 'Online' && scratch.status !== 'Paused') {
    problems.push(`it is ${scratch.status ?? 'in an unknown state'}, not Online`);
  }
  const sourceId = obs.database?.id;
  if (
    scratch.sourceDatabaseId !== undefined &&
    sourceId !== undefined &&
    scratch.sourceDatabaseId.toLowerCase() !== sourceId.toLowerCase()
  ) {
    problems.push(`it was restored from ${scratch.sourceDatabaseId}, not from the tenant database`);
  }
  const min = settings.minimumSizeBytes;
  if (min !== undefined) {
    if (scratch.usedBytes === undefined) problems.push('its size could not be read');
    else if (scratch.usedBytes < min) problems.push(`it holds ${scratch.usedBytes} bytes, less than minimumSizeBytes ${min}`);
  }
  return problems;
}

/** The condition a drill status stands for on its own (no new observation). */
export function drillCondition(drill: DrillStatus | undefined): ConditionInput {
  if (drill === undefined) return noDrillYet(undefined);
  if (drill.phase === 'Running') return runningCondition(drill);
  return drill.result === undefined ? noDrillYet(undefined) : verdictCondition(drill);
}

function noDrillYet(dueAt: Date | undefined, why?: string): ConditionInput {
  return {
    type: RESTORE_DRILL_SUCCEEDED,
    status: 'Unknown',
    reason: 'NoDrillYet',
    message:
      why ??
      (dueAt === undefined
        ? 'No restore drill has run yet.'
        : `No restore drill has run yet; the first is due at ${isoSeconds(dueAt)}.`),
  };
}

function idleRequeue(settings: DrillSettings, now: Date, dueAtMs: number): number {
  return Math.max(1000, Math.min(settings.maxIdleRequeueMs, dueAtMs - now.getTime()));
}

/** The point to restore: the newest restorable instant, else ten minutes ago (within the window). */
export function drillRestorePoint(obs: DrillObservation): Date | undefined {
  const { earliest, newest } = obs.restoreWindow;
  if (newest !== undefined) return newest;
  if (earliest === undefined) return undefined;
  const tenMinutesAgo = obs.now.getTime() - 10 * 60_000;
  return tenMinutesAgo < earliest.getTime() ? undefined : new Date(tenMinutesAgo);
}

function maybeStart(
  previous: DrillStatus | undefined,
  settings: DrillSettings,
  obs: DrillObservation,
  orphans: ScratchDatabase[],
  actions: DrillAction[],
  events: DrillEvent[],
  decide: Decide,
): DrillDecision {
  const now = obs.now;
  const db = obs.database;
  const idleCondition = (dueAt: Date | undefined, why?: string): ConditionInput =>
    previous?.result === undefined ? noDrillYet(dueAt, why) : verdictCondition(previous);
  if (db === undefined) return decide(previous, idleCondition(undefined), undefined);

  const lastStart = at(previous?.startedAt);
  const created = db.creationDate?.getTime();
  const dueAtMs = !Number.isNaN(lastStart)
    ? lastStart + settings.everyMs
    : created === undefined
      ? now.getTime()
      : created + settings.firstDrillGraceMs;
  const idle = (nextAt: Date | undefined, why?: string, requeueAt = nextAt?.getTime()) =>
    decide(
      previous === undefined ? undefined : { ...previous, nextDrillAt: nextAt === undefined ? undefined : isoSeconds(nextAt) },
      idleCondition(nextAt, why),
      requeueAt === undefined ? settings.maxIdleRequeueMs : idleRequeue(settings, now, requeueAt),
    );

  if (now.getTime() < dueAtMs) return idle(new Date(dueAtMs));
  const window = settings.window;
  if (window !== undefined && !window.open) {
    return idle(
      window.nextOpensAt,
      window.nextOpensAt === undefined
        ? `No restore drill has run yet; drills wait for ${window.description}, which has no opening ahead.`
        : undefined,
    );
  }
  // A restore reads backups, not the database: a Paused (serverless) source is fine, one in the
  // middle of an operation (Creating, Scaling, Dropping) is not.
  if (db.status === undefined || isInProgress(db.status)) {
    return idle(new Date(dueAtMs), undefined, now.getTime() + settings.pollMs);
  }
  const name = scratchDatabaseName(db.name, now);
  // Wait for scratch databases being deleted; never start two drills into the same name.
  if (orphans.length > 0 || obs.scratch.some((s) => s.name === name)) {
    return idle(new Date(dueAtMs), undefined, now.getTime() + settings.pollMs);
  }
  const point = drillRestorePoint(obs);
  if (point === undefined) {
    return idle(
      new Date(dueAtMs),
      'No restore drill has run yet: Azure reports no point the database can be restored to.',
      now.getTime() + settings.maxIdleRequeueMs,
    );
  }
  const drill: DrillStatus = {
    phase: 'Running',
    step: 'Restoring',
    // Full precision: the measured RTO counts from here.
    startedAt: now.toISOString(),
    scratchDatabase: name,
    // Full precision: this instant is what the restore asked for.
    restorePointInTime: point.toISOString(),
    previous: summaryOf(previous),
  };
  actions.push({ kind: 'restore', name, restorePointInTime: point });
  events.push({
    type: 'Normal',
    reason: 'DrillStarted',
    message: `Restore drill started: restoring ${db.name} to ${isoSeconds(point)} into scratch database ${name} (rto ${formatAge(settings.rtoMs)}).`,
  });
  return decide(drill, runningCondition(drill), settings.pollMs);
}

/**
 * The drill after its restore request failed for good (refused, or its operation already failed):
 * a Failed drill with nothing to clean up. Pure.
 */
export function drillRestoreRefused(running: DrillStatus, everyMs: number, now: Date, reason: string): DrillDecision {
  const message = `Restore drill failed: Azure refused or failed the restore into ${running.scratchDatabase}: ${reason}`;
  const startedAt = at(running.startedAt);
  const done: DrillStatus = withoutUndefined({
    ...running,
    phase: 'Failed',
    step: undefined,
    result: 'Failed',
    previous: undefined,
    finishedAt: isoSeconds(now),
    message,
    nextDrillAt: Number.isNaN(startedAt) ? undefined : isoSeconds(new Date(startedAt + everyMs)),
  });
  return {
    status: done,
    actions: [],
    events: [{ type: 'Warning', reason: 'DrillFailed', message }],
    condition: verdictCondition(done),
    requeueAfterMs: undefined,
  };
}
