/**
 * Which BackupPolicy a tenant follows and what it means in numbers: the policy is looked up in the
 * cache by `spec.backupPolicyRef` (else the configured default), parsed with its defaults, and
 * turned into the milliseconds the RPO check and the drills work with.
 */
import { type BackupPolicySpec, backupPolicySpecSchema } from '../api/v1alpha1/backup-policy.ts';
import { goDurationMs } from '../api/v1alpha1/common.ts';
import type { Tenant } from '../api/v1alpha1/tenant.ts';
import type { OperatorContext } from '../context.ts';

/** A drill still restoring after rto × this is abandoned, unless the policy says otherwise. */
export const DEFAULT_DRILL_TIMEOUT_FACTOR = 2;

/** The policy a tenant follows, found or not. */
export type ResolvedPolicy =
  | { name: string; found: true; spec: BackupPolicySpec; generation: number | undefined }
  | { name: string; found: false; reason: 'NotFound' | 'Invalid'; message: string };

/** The numbers a policy stands for. */
export interface BackupTargets {
  rpoMs: number;
  rtoMs: number;
  drill: {
    enabled: boolean;
    everyMs: number;
    timeoutFactor: number;
    minimumSizeBytes: number | undefined;
    inMaintenanceWindow: boolean;
    /** The window drills wait for when `inMaintenanceWindow`; undefined means the tenant's own. */
    maintenanceWindowRef: string | undefined;
  };
}

/** The name of the policy a tenant follows. */
export function backupPolicyName(tenant: Tenant, defaultPolicy: string): string {
  return tenant.spec.backupPolicyRef?.name ?? defaultPolicy;
}

/** Finds and parses the tenant's policy from the cache (no API call). */
export function resolveBackupPolicy(ctx: OperatorContext, tenant: Tenant): ResolvedPolicy {
  const name = backupPolicyName(tenant, ctx.config.defaultBackupPolicy);
  const raw = ctx.caches.backupPolicies.get(name);
  if (!raw) {
    return {
      name,
      found: false,
      reason: 'NotFound',
      message: `BackupPolicy ${name} does not exist; the database keeps the retention last applied to it, and no drills run. Create the policy or point spec.backupPolicyRef at another.`,
    };
  }
  const parsed = backupPolicySpecSchema.safeParse(raw.spec ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return {
      name,
      found: false,
      reason: 'Invalid',
      message: `BackupPolicy ${name} is invalid (${issue ? `${issue.path.join('.')}: ${issue.message}` : 'unknown problem'}); the database keeps the retention last applied to it.`,
    };
  }
  return { name, found: true, spec: parsed.data, generation: raw.metadata.generation };
}

/** Pure: the policy's durations in milliseconds, defaults filled in. */
export function backupTargets(spec: BackupPolicySpec): BackupTargets {
  const drill = spec.restoreDrill;
  return {
    rpoMs: goDurationMs(spec.rpo),
    rtoMs: goDurationMs(spec.rto),
    drill: {
      enabled: drill.enabled,
      everyMs: goDurationMs(drill.every),
      timeoutFactor: drill.verify.timeoutFactor ?? DEFAULT_DRILL_TIMEOUT_FACTOR,
      minimumSizeBytes: drill.verify.minimumSizeBytes,
      inMaintenanceWindow: drill.inMaintenanceWindow ?? false,
      maintenanceWindowRef: drill.maintenanceWindowRef?.name,
    },
  };
}

/** The shortest RPO or RTO Azure SQL can meet: log backups every 5-10 minutes, restores take minutes. */
const MINIMUM_OBJECTIVE_MS = 10 * 60_000;

/**
 * Pure: why the policy's objectives can never be met, or nothing. Admission (CEL on the CRD)
 * refuses such policies; this catches those stored before the rule, which the API server keeps
 * until their spec is edited (validation ratcheting).
 */
export function unattainableObjectives(spec: BackupPolicySpec): string[] {
  const { rpoMs, rtoMs } = backupTargets(spec);
  const retentionMs = spec.pointInTimeRetentionDays * 24 * 3_600_000;
  return [
    ...(rpoMs >= retentionMs
      ? [
          `rpo ${spec.rpo} is not shorter than pointInTimeRetentionDays (${spec.pointInTimeRetentionDays}): a restore point older than the retention no longer exists, so the RPO could never be checked`,
        ]
      : []),
    ...(rpoMs < MINIMUM_OBJECTIVE_MS ? [`rpo ${spec.rpo} is under 10m: Azure SQL takes log backups every 5-10 minutes`] : []),
    ...(rtoMs < MINIMUM_OBJECTIVE_MS ? [`rto ${spec.rto} is under 10m: no restore completes that fast`] : []),
  ];
}
