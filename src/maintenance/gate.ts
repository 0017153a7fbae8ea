/**
 * Which of a Tenant's changes may be applied now. Disruptive changes — the application image or
 * version, the tier (which resizes the app and scales the database), the isolation (every pod
 * moves between the shared nodes and the tenant's own node pool), and turning the database's
 * zone redundancy on or off (an online operation that ends with a brief disconnect), and the
 * database connection the application is given (new environment rolls every pod) — wait for
 * the tenant's maintenance window; everything else (labels, allow-lists, secrets, backup retention) applies at
 * once. A tenant never provisioned before gets everything at once: there is nothing to disrupt.
 * An emergency annotation `tenancy.dev/apply-now: "<reason>"` applies at once, once per reason.
 * Advance notice: a held change lands only in a window that opens at least the notice period after
 * the change was first seen (announced); a window already open, or opening sooner, is skipped.
 * Pure: the caller supplies what is running, the window schedule and the time.
 */
import type { Isolation, Tier } from '../api/v1alpha1/tenant.ts';
import { textDigest } from '../observability/redaction.ts';
import { nextWindow, type WindowInterval, type WindowSchedule, windowContaining } from './window.ts';

export const APPLY_NOW_ANNOTATION = 'tenancy.dev/apply-now';

/**
 * How status records an honoured emergency reason: its digest, never the text, which is free text
 * someone typed under pressure and may hold anything (a ticket link with a token, a password).
 */
export function emergencyReasonRecord(reason: string): string {
  return textDigest(reason);
}

/** Whether `reason` is the one status records as honoured (its digest; the text itself before digests). */
function isConsumed(reason: string, consumed: string | undefined): boolean {
  return consumed !== undefined && (consumed === emergencyReasonRecord(reason) || consumed === reason);
}

/** The settings whose change disrupts the tenant. */
export interface DisruptiveSettings {
  image: string;
  version: string;
  tier: Tier;
  /**
   * The database is zone-redundant. Undefined in desired settings when the operator does not
   * manage Azure (nothing to change); undefined in running settings when never recorded (a
   * database made before zone redundancy was decided: not zone-redundant).
   */
  zoneRedundant?: boolean | undefined;
  /**
   * Shared nodes or the tenant's own node pool: a change moves every pod. Undefined in running
   * settings when never recorded (a tenant from before isolation existed: Shared).
   */
  isolation?: Isolation | undefined;
  /**
   * The database the application is given, `host/name` (tenant-settings.ts). Desired: undefined
   * when the operator does not manage Azure. Running: undefined when never recorded (pods from
   * before the operator gave database settings: a first connection waits for the window), `''`
   * when recorded as none yet (a tenant provisioned before its database was known: its first
   * connection is applied at once, as part of provisioning: nothing runs that it could disrupt).
   */
  database?: string | undefined;
}

export type GateReason =
  | 'NoPendingChanges'
  | 'FirstProvisioning'
  | 'WindowOpen'
  | 'EmergencyOverride'
  | 'WaitingForWindow'
  | 'WaitingForNotice'
  | 'MaintenanceWindowNotFound'
  | 'InvalidMaintenanceWindow'
  | 'NoUpcomingWindow';

export interface GateInput {
  desired: DisruptiveSettings;
  /** What runs now, read from the cluster; undefined when the tenant was never provisioned. */
  running: DisruptiveSettings | undefined;
  /** The tenant's window; undefined when the referenced MaintenanceWindow does not exist. */
  schedule: WindowSchedule | undefined;
  now: Date;
  /** Value of the apply-now annotation, if set. */
  emergencyReason?: string | undefined;
  /** The apply-now value already honoured (from status, as emergencyReasonRecord), so one annotation is one override. */
  emergencyConsumed?: string | undefined;
  /** When the changes that would wait were first seen and announced (now, for a change not seen before). */
  announcedAt?: Date | undefined;
  /** Advance notice owed before a window may apply them; 0 or undefined: none. */
  noticeMs?: number | undefined;
}

export interface GateDecision {
  /** What to apply now: desired where allowed, running where the change must wait. */
  effective: DisruptiveSettings;
  /** Human-readable changes that wait, e.g. "version 1.0.0 -> 1.1.0". */
  pending: string[];
  /** Changes applied by this decision (for events and the audit trail). */
  applying: string[];
  reason: GateReason;
  /**
   * The window open now, or else the next one (undefined when none is known); while changes wait,
   * the window they are scheduled for (the first that respects the advance notice).
   */
  window: WindowInterval | undefined;
  /** Whether `window` is open at `now`. */
  open: boolean;
}

/** The disruptive differences between two settings, in a stable order. */
export function disruptiveChanges(from: DisruptiveSettings, to: DisruptiveSettings): string[] {
  const changes: string[] = [];
  if (from.image !== to.image) changes.push(`image ${from.image} -> ${to.image}`);
  if (from.version !== to.version) changes.push(`version ${from.version} -> ${to.version}`);
  if (from.tier !== to.tier) changes.push(`tier ${from.tier} -> ${to.tier}`);
  if ((from.isolation ?? 'Shared') !== (to.isolation ?? 'Shared'))
    changes.push(`isolation ${from.isolation ?? 'Shared'} -> ${to.isolation ?? 'Shared'}`);
  if (to.zoneRedundant !== undefined && (from.zoneRedundant ?? false) !== to.zoneRedundant)
    changes.push(`zone redundancy ${onOff(from.zoneRedundant ?? false)} -> ${onOff(to.zoneRedundant)}`);
  if (to.database !== undefined && !firstConnection(from, to) && (from.database ?? '') !== to.database)
    changes.push(`database ${from.database || '(none)'} -> ${to.database || '(none)'}`);
  return changes;
}

const onOff = (b: boolean) => (b ? 'on' : 'off');

/** The application, provisioned while its database was unknown, is given its first one: not a disruption. */
function firstConnection(from: DisruptiveSettings, to: DisruptiveSettings): boolean {
  return from.database === '' && (to.database ?? '') !== '';
}

export function decideDisruptiveChanges(input: GateInput): GateDecision {
  const { desired, running, schedule, now } = input;
  let window: WindowInterval | undefined;
  let open = false;
  let scheduleError: string | undefined;
  if (schedule) {
    try {
      const current = windowContaining(schedule, now);
      open = current !== undefined;
      window = current ?? nextWindow(schedule, now);
    } catch (err) {
      scheduleError = (err as Error).message;
    }
  }
  const decide = (reason: GateReason, apply: boolean): GateDecision => {
    const changes = running ? disruptiveChanges(running, desired) : [];
    // Held changes keep what runs, except a first database connection, which is never held.
    const held = running && firstConnection(running, desired) ? { ...running, database: desired.database } : running;
    return {
      effective: apply || !held ? desired : held,
      pending: apply ? [] : changes,
      applying: apply ? changes : [],
      reason,
      window,
      open,
    };
  };
  if (!running) return decide('FirstProvisioning', true);
  if (disruptiveChanges(running, desired).length === 0) return decide('NoPendingChanges', true);
  if (input.emergencyReason && !isConsumed(input.emergencyReason, input.emergencyConsumed))
    return decide('EmergencyOverride', true);
  if (!schedule) return decide('MaintenanceWindowNotFound', false);
  if (scheduleError) return decide('InvalidMaintenanceWindow', false);
  // The first instant a window may open and still give the announced notice.
  const eligibleFrom = input.announcedAt && input.noticeMs ? input.announcedAt.getTime() + input.noticeMs : -Infinity;
  if (window && window.opensAt.getTime() < eligibleFrom) {
    const tooSoon = open;
    window = nextWindow(schedule, new Date(Math.max(now.getTime(), eligibleFrom - 1)));
    open = false;
    if (tooSoon) return decide(window ? 'WaitingForNotice' : 'NoUpcomingWindow', false);
  }
  if (open) return decide('WindowOpen', true);
  return decide(window ? 'WaitingForWindow' : 'NoUpcomingWindow', false);
}
