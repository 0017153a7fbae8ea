/**
 * The BackupPolicy kind: how long a tenant database's backups are kept, where, and which
 * recovery targets (RPO, RTO) the operator checks and proves with restore drills.
 */
import { z } from 'zod';
import { type CustomObject, conditionsField, goDuration } from './common.ts';

export const BACKUP_REDUNDANCIES = ['Local', 'Zone', 'Geo', 'GeoZone'] as const;

export const backupPolicySpecSchema = z
  .object({
    pointInTimeRetentionDays: z
      .number()
      .int()
      .min(1)
      .max(35)
      .default(14)
      .describe('Days of point-in-time restore (full, differential and log backups), 1-35.'),
    differentialBackupIntervalHours: z
      .union([z.literal(12), z.literal(24)])
      .default(12)
      .describe('Hours between differential backups: 12 or 24.'),
    longTermRetention: z
      .object({
        weekly: z
          .string()
          .regex(/^P[0-9]{1,3}W$/)
          .optional()
          .describe('How long weekly full backups are kept, ISO 8601 weeks, for example "P12W".'),
        monthly: z
          .string()
          .regex(/^P[0-9]{1,3}M$/)
          .optional()
          .describe('How long the first full backup of each month is kept, for example "P12M".'),
        yearly: z
          .string()
          .regex(/^P[0-9]{1,2}Y$/)
          .optional()
          .describe('How long the yearly full backup is kept, for example "P5Y".'),
        weekOfYear: z.number().int().min(1).max(52).optional().describe('Week whose backup is the yearly one (1-52).'),
      })
      .default({ weekly: 'P12W' })
      .describe('Long-term retention of full backups.')
      .meta({
        'x-kubernetes-validations': [
          { rule: '!has(self.yearly) || has(self.weekOfYear)', message: 'weekOfYear is required when yearly retention is set' },
          { rule: '!has(self.weekOfYear) || has(self.yearly)', message: 'weekOfYear only applies with yearly retention' },
        ],
      }),
    backupStorageRedundancy: z
      .enum(BACKUP_REDUNDANCIES)
      .default('Zone')
      .describe(
        'Backup storage redundancy. Geo and GeoZone copy backups to the paired region; the tenant’s residency rules must allow it.',
      ),
    rpo: goDuration('Recovery point objective: the newest restore point may be at most this old.').default('2h'),
    rto: goDuration('Recovery time objective: a restore must complete within this time.').default('2h'),
    restoreDrill: z
      .object({
        every: goDuration('How often a restore drill runs per tenant, for example "168h".').default('168h'),
        enabled: z.boolean().default(true).describe('Whether restore drills run.'),
      })
      .default({ every: '168h', enabled: true })
      .describe('Scheduled restores into a scratch database that prove the RTO.'),
  })
  .describe('Backup retention, redundancy and recovery targets for the tenants that reference this policy.');

export const backupPolicyStatusSchema = z.object({
  observedGeneration: z.number().int().optional().describe('The metadata.generation the status reflects.'),
  conditions: conditionsField,
  tenants: z.number().int().optional().describe('How many tenants use this policy.'),
  tenantsWithinRpo: z.number().int().optional().describe('How many of them are within the RPO.'),
  lastDrillResult: z.string().optional().describe('Outcome of the latest restore drill across its tenants.'),
});

export type BackupPolicySpec = z.infer<typeof backupPolicySpecSchema>;
export type BackupPolicyStatus = z.infer<typeof backupPolicyStatusSchema>;
export type BackupPolicy = CustomObject<BackupPolicySpec, BackupPolicyStatus>;
