/**
 * Failover drills: a planned failover of a geo-replicated tenant database to its paired region
 * and back, only inside the tenant's maintenance window, measuring the time to serve again (RTO:
 * until the failover group's primary is the paired region and the database there is Online) and
 * the data lost (RPO: zero for a planned failover, which Azure synchronizes before it switches
 * roles). Level-based and never waiting: each pass looks at the drill recorded in status
 * (`status.failoverDrill.running`, with the Azure operation to poll), takes at most one step, and
 * records the next; an operator restart resumes from that record, and a drill whose operation
 * Azure no longer knows is resumed from the roles Azure reports. A drill always ends with the
 * database back in its home region (a failed failback is retried, never abandoned).
 */
import type { ArmBody, OperationHandle, OperationState, WriteOutcome } from '../azure/arm-client.ts';
import { props, str } from '../azure/kinds/common.ts';
import { SQL_API_VERSION, SQL_FAILOVER_GROUP_API_VERSION } from '../azure/kinds/sql.ts';

/** What the drill needs of ARM (ArmClient, or a fake in unit tests). */
export interface DrillArm {
  get(id: string, apiVersion: string): Promise<ArmBody | undefined>;
  beginAction(id: string, apiVersion: string, body?: ArmBody): Promise<WriteOutcome>;
  pollOperation(operation: OperationHandle): Promise<OperationState>;
}

export interface FailoverDrillRunning {
  /** FailingOver: to the paired region; FailingBack: home again. */
  phase: 'FailingOver' | 'FailingBack';
  /** When the failover was requested (RFC 3339): the RTO is measured from here. */
  startedAt: string;
  homeRegion: string;
  partnerRegion: string;
  /** When the paired region served (RFC 3339), once it did. */
  servedAt?: string | undefined;
  /** The Azure operation of the current phase, while Azure runs it. */
  operation?: { url: string; kind: 'AsyncOperation' | 'Location' } | undefined;
}

export type FailoverDrillResult = 'Succeeded' | 'ExceededRTO' | 'Failed';

export interface FailoverDrillLast {
  result: FailoverDrillResult;
  startedAt: string;
  finishedAt: string;
  /** Time to serve again from the paired region (achieved RTO). */
  measuredRtoSeconds?: number | undefined;
  /** Data lost (achieved RPO): 0 for a planned failover. */
  dataLossSeconds?: number | undefined;
  message: string;
}

export interface FailoverDrillStatus {
  running?: FailoverDrillRunning | undefined;
  last?: FailoverDrillLast | undefined;
}

/** Where the drill acts: the failover group as each server sees it, and the secondary database. */
export interface FailoverDrillTarget {
  /** The group on the home (primary) server. */
  homeGroupId: string;
  /** The group on the secondary server (a failover is requested on the server that becomes primary). */
  partnerGroupId: string;
  /** The geo-secondary database (it must be Online once it is primary). */
  partnerDatabaseId: string;
  homeRegion: string;
  partnerRegion: string;
}

export interface FailoverDrillSettings {
  everyMs: number;
  rtoMs: number;
  /** Whether the tenant's maintenance window is open now, and when it opens next. */
  window: { open: boolean; nextOpensAt: Date | undefined };
  /** The secondary follows the primary (CATCH_UP) with the home region primary: a drill may start. */
  ready: boolean;
  pollMs: number;
}

export interface FailoverDrillEvent {
  type: 'Normal' | 'Warning';
  reason:
    | 'FailoverDrillStarted'
    | 'FailoverDrillSucceeded'
    | 'FailoverDrillExceededRTO'
    | 'FailoverDrillFailed'
    | 'FailoverDrillRetrying';
  message: string;
}

export interface FailoverDrillOutcome {
  status: FailoverDrillStatus;
  events: FailoverDrillEvent[];
  requeueAfterMs: number | undefined;
}

/** Pure: when the next drill is due (the first one at once). */
export function nextFailoverDrillDue(last: FailoverDrillLast | undefined, everyMs: number): number {
  return last === undefined ? 0 : Date.parse(last.finishedAt) + everyMs;
}

const roleOf = (group: ArmBody | undefined) => (group === undefined ? undefined : str(props(group).replicationRole));

/** One step of the tenant's failover drill. Throws only for a failed ARM read or request (retried by the caller). */
export async function stepFailoverDrill(
  arm: DrillArm,
  target: FailoverDrillTarget,
  settings: FailoverDrillSettings,
  previous: FailoverDrillStatus | undefined,
  now: Date,
): Promise<FailoverDrillOutcome> {
  const last = previous?.last;
  const running = previous?.running;
  const keep = (r: FailoverDrillRunning | undefined, events: FailoverDrillEvent[] = [], requeueAfterMs = settings.pollMs) => ({
    status: { running: r, last },
    events,
    requeueAfterMs,
  });

  if (running === undefined) {
    const due = nextFailoverDrillDue(last, settings.everyMs);
    if (due > now.getTime()) return { status: { last }, events: [], requeueAfterMs: due - now.getTime() };
    if (!settings.window.open) {
      const opens = settings.window.nextOpensAt?.getTime();
      return {
        status: { last },
        events: [],
        requeueAfterMs: opens === undefined ? undefined : Math.max(opens - now.getTime(), 1000),
      };
    }
    if (!settings.ready) return { status: { last }, events: [], requeueAfterMs: settings.pollMs };
    // Recorded before anything is requested: a restart between the request and the status write
    // must find the drill (and fail back), never a database left in the paired region unrecorded.
    return keep(
      {
        phase: 'FailingOver',
        startedAt: now.toISOString(),
        homeRegion: target.homeRegion,
        partnerRegion: target.partnerRegion,
      },
      [
        {
          type: 'Normal',
          reason: 'FailoverDrillStarted',
          message: `Failover drill: planned failover to ${target.partnerRegion} in the maintenance window; the database comes back to ${target.homeRegion} afterwards.`,
        },
      ],
      1,
    );
  }

  // The phase's operation, if Azure still runs it.
  let operationFailed: string | undefined;
  if (running.operation !== undefined) {
    const state = await arm.pollOperation(running.operation);
    if (state.status === 'InProgress') return keep(running);
    if (state.status === 'Failed') operationFailed = `${state.code}: ${state.message}`;
  }
  const phaseTargetGroup = running.phase === 'FailingOver' ? target.partnerGroupId : target.homeGroupId;
  const role = roleOf(await arm.get(phaseTargetGroup, SQL_FAILOVER_GROUP_API_VERSION));

  if (role !== 'Primary') {
    if (running.phase === 'FailingOver' && operationFailed !== undefined) {
      // Nothing moved: the drill failed, and the home region still serves.
      const message = `Failover drill failed: the planned failover to ${target.partnerRegion} did not complete (${operationFailed}); ${target.homeRegion} still serves.`;
      return {
        status: {
          last: { result: 'Failed', startedAt: running.startedAt, finishedAt: now.toISOString(), message },
        },
        events: [{ type: 'Warning', reason: 'FailoverDrillFailed', message }],
        requeueAfterMs: settings.everyMs,
      };
    }
    if (running.operation === undefined || operationFailed !== undefined) {
      // The phase's failover is not requested yet (or Azure forgot it after a restart, or a
      // failback failed): request it. The home region must come back.
      const begun = await arm
        .beginAction(`${phaseTargetGroup}/failover`, SQL_FAILOVER_GROUP_API_VERSION)
        .catch((err: unknown) => {
          // Azure still runs the failover we lost track of (busy), or it just finished (the server
          // is primary already): look again, never request a second one.
          const code = (err as { code?: unknown }).code;
          if (code === 'FailoverGroupBusy' || code === 'FailoverGroupFailoverRequestOnPrimary') return undefined;
          throw err;
        });
      if (begun === undefined) return keep({ ...running, operation: undefined });
      const events: FailoverDrillEvent[] =
        operationFailed === undefined
          ? []
          : [
              {
                type: 'Warning',
                reason: 'FailoverDrillRetrying',
                message: `Failover drill: failing back to ${target.homeRegion} failed (${operationFailed}); requested again.`,
              },
            ];
      return keep(
        { ...running, operation: begun.done ? undefined : { url: begun.operation.url, kind: begun.operation.kind } },
        events,
      );
    }
    // The operation says done but the roles do not show it yet: look again.
    return keep({ ...running, operation: undefined });
  }

  if (running.phase === 'FailingOver') {
    // Serving again means the new primary's database is Online, not only the roles switched.
    const database = await arm.get(target.partnerDatabaseId, SQL_API_VERSION);
    if (str(props(database ?? {}).status) !== 'Online') return keep({ ...running, operation: undefined });
    // Served from the paired region: recorded first, the failback is requested on the next pass.
    return keep(
      { ...running, phase: 'FailingBack', servedAt: running.servedAt ?? now.toISOString(), operation: undefined },
      [],
      1,
    );
  }

  // Home again: the drill is over.
  const servedAt = Date.parse(running.servedAt ?? now.toISOString());
  const rtoMs = servedAt - Date.parse(running.startedAt);
  const measuredRtoSeconds = Math.round(rtoMs / 100) / 10;
  const result: FailoverDrillResult = rtoMs <= settings.rtoMs ? 'Succeeded' : 'ExceededRTO';
  const message =
    result === 'Succeeded'
      ? `Failover drill succeeded: ${target.partnerRegion} served ${measuredRtoSeconds} s after the failover was requested (RTO ${settings.rtoMs / 1000} s), no data lost (planned failover), and ${target.homeRegion} serves again.`
      : `Failover drill exceeded the RTO: ${target.partnerRegion} served only ${measuredRtoSeconds} s after the failover was requested (RTO ${settings.rtoMs / 1000} s); ${target.homeRegion} serves again.`;
  return {
    status: {
      last: {
        result,
        startedAt: running.startedAt,
        finishedAt: now.toISOString(),
        measuredRtoSeconds,
        dataLossSeconds: 0,
        message,
      },
    },
    events: [
      {
        type: result === 'Succeeded' ? 'Normal' : 'Warning',
        reason: result === 'Succeeded' ? 'FailoverDrillSucceeded' : 'FailoverDrillExceededRTO',
        message,
      },
    ],
    requeueAfterMs: settings.everyMs,
  };
}
