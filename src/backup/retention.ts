/**
 * A BackupPolicy's retention on the tenant database: the pure mapping to Azure SQL's short-term
 * (point-in-time) and long-term retention policies. The ARM engine writes them as two resources of
 * the tenant (src/tenant/azure.ts), compared in Azure's normal form (src/azure/kinds/sql.ts).
 */
import type { BackupPolicySpec } from '../api/v1alpha1/backup-policy.ts';
import { type LongTermRetention, NOT_KEPT, type ShortTermRetention } from '../azure/kinds/sql.ts';

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
