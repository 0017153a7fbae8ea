/**
 * The access policy, pure: from an AccessRequest, the time and the configuration, where the request
 * stands and whether its grant must exist now. No I/O; the reconciler (reconciler.ts) makes it so.
 *
 * Level-based: the answer depends on the spec, on the two instants the operator recorded before
 * granting (`status.grantedAt`, `status.expiresAt`) and on the clock, never on which event woke
 * the reconciler. So an operator that was down past an expiry removes the grant on start, and no
 * restart, resync or edit can make access last longer than the duration that was approved.
 */
import {
  type AccessPhase,
  type AccessRequestSpec,
  type AccessRequestStatus,
  MIN_ACCESS_DURATION,
  TERMINAL_ACCESS_PHASES,
} from '../api/v1alpha1/access-request.ts';
import { goDurationMs } from '../api/v1alpha1/common.ts';
import type { AccessRole, OperatorConfig } from '../config.ts';
import type { ConditionInput } from '../runtime/conditions.ts';

/** The configuration the policy reads, with durations in milliseconds. */
export interface AccessSettings {
  roles: Readonly<Record<string, AccessRole>>;
  maxDurationMs: number;
  pendingTimeoutMs: number;
  approversGroup: string;
  /** Whether the operator can reach Azure (roles on Azure resources need it). */
  azureConfigured: boolean;
}

export function accessSettings(config: OperatorConfig): AccessSettings {
  return {
    roles: config.access.roles,
    maxDurationMs: goDurationMs(config.access.maxDuration),
    pendingTimeoutMs: goDurationMs(config.access.pendingTimeout),
    approversGroup: config.access.approversGroup,
    azureConfigured: config.azure !== undefined,
  };
}

/** What the policy needs of an AccessRequest. */
export interface AccessRequestView {
  name: string;
  creationTimestamp: string | undefined;
  spec: AccessRequestSpec;
  status: AccessRequestStatus | undefined;
}

/** A rule the request breaks: who must act follows from the reason's class in the catalogue. */
export interface PolicyFinding {
  reason: 'PolicyViolation' | 'RoleNotConfigured';
  message: string;
}

type PolicyRule = (spec: AccessRequestSpec, settings: AccessSettings) => PolicyFinding | undefined;

const violation = (message: string): PolicyFinding => ({ reason: 'PolicyViolation', message });

/**
 * The rules, cert-manager style: small pure checks in a chain, the first finding wins. Admission
 * enforces the same rules (config/access); the operator checks them again before it grants, so a
 * cluster whose policy was bypassed, or a configuration tightened after the request was made,
 * still grants nothing it should not.
 */
export const POLICY_RULES: readonly [string, PolicyRule][] = [
  [
    'four eyes',
    (spec) =>
      spec.approval !== undefined && spec.approval.approver === spec.requester
        ? violation(`${spec.requester} approved their own request; a request needs another approver`)
        : undefined,
  ],
  [
    'role configured',
    (spec, s) =>
      s.roles[spec.role] === undefined
        ? {
            reason: 'RoleNotConfigured',
            message: `role ${spec.role} is not in the operator's access.roles (${Object.keys(s.roles).sort().join(', ')})`,
          }
        : undefined,
  ],
  [
    'Azure configured for Azure roles',
    (spec, s) =>
      s.roles[spec.role]?.kind === 'Database' && !s.azureConfigured
        ? { reason: 'RoleNotConfigured', message: `role ${spec.role} is on Azure, and this operator has no Azure configuration` }
        : undefined,
  ],
  [
    'duration within bounds',
    (spec, s) => {
      const ms = goDurationMs(spec.duration);
      if (ms > s.maxDurationMs)
        return violation(`duration ${spec.duration} is longer than the maximum ${formatDuration(s.maxDurationMs)}`);
      if (ms < goDurationMs(MIN_ACCESS_DURATION))
        return violation(`duration ${spec.duration} is shorter than ${MIN_ACCESS_DURATION}`);
      return undefined;
    },
  ],
  [
    'principal for Azure roles',
    (spec, s) =>
      s.roles[spec.role]?.kind === 'Database' && spec.azurePrincipalId === undefined
        ? violation(`role ${spec.role} is on Azure: spec.azurePrincipalId (your Entra object id) is required`)
        : undefined,
  ],
];

export function checkRequestPolicy(spec: AccessRequestSpec, settings: AccessSettings): PolicyFinding | undefined {
  for (const [, rule] of POLICY_RULES) {
    const finding = rule(spec, settings);
    if (finding !== undefined) return finding;
  }
  return undefined;
}

export interface AccessDecision {
  /** The phase the request is in once the grant is as `grant` says. */
  phase: AccessPhase;
  /** Whether the grant must exist now. */
  grant: boolean;
  /** For a grant: when it started (recorded before granting, never moved) and when it must be gone. */
  grantedAt?: string;
  expiresAt?: string;
  /** The Ready condition once the grant is as `grant` says. */
  ready: ConditionInput;
  /** When the answer changes by itself (an expiry, an approval deadline). */
  wakeAt?: Date;
}

/** RFC 3339 without milliseconds, as every timestamp the operator writes. */
export function isoSeconds(at: Date): string {
  return at.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** "2h30m" from milliseconds, for messages. */
export function formatDuration(ms: number): string {
  const total = Math.round(ms / 1000);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  return `${h ? `${h}h` : ''}${m ? `${m}m` : ''}${s || total === 0 ? `${s}s` : ''}`;
}

function what(spec: AccessRequestSpec): string {
  return `${spec.role} on tenant ${spec.tenant} for ${spec.requester}`;
}

function final(
  phase: AccessPhase,
  spec: AccessRequestSpec,
  status: AccessRequestStatus | undefined,
  timedOut = false,
): AccessDecision {
  const granted = status?.grantedAt !== undefined;
  const ready: Record<string, ConditionInput> = {
    Expired: timedOut
      ? {
          type: 'Ready',
          status: 'True',
          reason: 'AccessExpired',
          message: `Nobody approved ${what(spec)} in time; file a new request.`,
        }
      : {
          type: 'Ready',
          status: 'True',
          reason: 'AccessExpired',
          message: granted
            ? `${what(spec)} expired at ${status?.expiresAt} and was removed.`
            : `${what(spec)} expired before it was granted.`,
        },
    Revoked: {
      type: 'Ready',
      status: 'True',
      reason: 'AccessRevoked',
      message: `${what(spec)} was ${granted ? 'revoked and removed' : 'withdrawn before it was granted'} (by ${spec.revocation?.by ?? 'unknown'}).`,
    },
    Denied: {
      type: 'Ready',
      status: 'True',
      reason: 'AccessDenied',
      message: `${what(spec)} was denied by ${spec.approval?.approver ?? 'unknown'}; nothing was granted.`,
    },
  };
  return { phase, grant: false, ready: ready[phase] as ConditionInput };
}

/**
 * Where a request stands now. Final phases stay final; a revocation ends everything; a denial or a
 * policy finding grants nothing; an approved request is granted from the first time the operator
 * acts on it (`grantedAt` = now, `expiresAt` = now + duration) until `expiresAt`.
 */
export function decideAccess(req: AccessRequestView, now: Date, settings: AccessSettings): AccessDecision {
  const { spec, status } = req;
  const previous = status?.phase;
  if (previous !== undefined && TERMINAL_ACCESS_PHASES.includes(previous)) {
    return final(previous, spec, status, previous === 'Expired' && status?.grantedAt === undefined);
  }
  if (spec.revocation !== undefined) return final('Revoked', spec, status);
  if (spec.approval?.decision === 'Denied') return final('Denied', spec, status);

  // Once granted, what was recorded governs until expiresAt: a configuration changed meanwhile
  // neither extends nor re-judges an access an approver already gave.
  if (status?.grantedAt !== undefined && status.expiresAt !== undefined) {
    const expiresAt = new Date(status.expiresAt);
    if (now.getTime() >= expiresAt.getTime()) return final('Expired', spec, status);
    return {
      phase: 'Active',
      grant: true,
      grantedAt: status.grantedAt,
      expiresAt: status.expiresAt,
      ready: {
        type: 'Ready',
        status: 'True',
        reason: 'AccessGranted',
        message: `${what(spec)} until ${status.expiresAt} (approved by ${spec.approval?.approver ?? 'unknown'}).`,
      },
      wakeAt: expiresAt,
    };
  }

  const finding = checkRequestPolicy(spec, settings);
  if (finding?.reason === 'PolicyViolation') {
    return {
      phase: 'Denied',
      grant: false,
      ready: { type: 'Ready', status: 'False', reason: 'PolicyViolation', message: `${finding.message}; nothing was granted.` },
    };
  }
  if (finding !== undefined) {
    // The platform team can fix the configuration: the request waits, nothing is granted meanwhile.
    return {
      phase: spec.approval ? 'Approved' : 'Pending',
      grant: false,
      ready: { type: 'Ready', status: 'False', reason: finding.reason, message: finding.message },
    };
  }

  if (spec.approval === undefined) {
    const created = Date.parse(req.creationTimestamp ?? '');
    const deadline = new Date((Number.isNaN(created) ? now.getTime() : created) + settings.pendingTimeoutMs);
    if (now.getTime() >= deadline.getTime()) return final('Expired', spec, status, true);
    return {
      phase: 'Pending',
      grant: false,
      ready: {
        type: 'Ready',
        status: 'False',
        reason: 'AwaitingApproval',
        message: `${what(spec)}, ${spec.duration}: waiting for a member of ${settings.approversGroup} other than the requester to approve or deny it by ${isoSeconds(deadline)}.`,
      },
      wakeAt: deadline,
    };
  }

  // Approved and not granted yet: the clock starts now, when access is first given.
  const grantedAt = isoSeconds(now);
  const expiresAt = isoSeconds(new Date(Date.parse(grantedAt) + goDurationMs(spec.duration)));
  return {
    phase: 'Active',
    grant: true,
    grantedAt,
    expiresAt,
    ready: {
      type: 'Ready',
      status: 'True',
      reason: 'AccessGranted',
      message: `${what(spec)} until ${expiresAt} (approved by ${spec.approval.approver}).`,
    },
    wakeAt: new Date(expiresAt),
  };
}

/** How long until `wakeAt`, for a requeue: at least a second, at most six hours (clocks move; resyncs catch up). */
export function requeueDelayMs(wakeAt: Date | undefined, now: Date): number | undefined {
  if (wakeAt === undefined) return undefined;
  return Math.min(Math.max(wakeAt.getTime() - now.getTime(), 1000), 6 * 3600_000);
}
