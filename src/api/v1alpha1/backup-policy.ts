/**
 * The BackupPolicy kind: how long a tenant database's backups are kept, where, and which
 * recovery targets (RPO, RTO) the operator checks and proves with restore drills.
 */
import { z } from 'zod';
import { type CustomObject, conditionsField, GO_DURATION_PATTERN, goDuration, localObjectReference } from './common.ts';

export const BACKUP_REDUNDANCIES = ['Local', 'Zone', 'Geo', 'GeoZone'] as const;

/** CEL: a well-formed Go duration (the pattern rule reports malformed ones; this keeps `duration()` from failing). */
const wellFormed = (expr: string) => `!${expr}.matches('${GO_DURATION_PATTERN}')`;

type CelRule = { rule: string; message: string };

/** A goDuration field with extra CEL rules after the ones goDuration itself carries. */
function durationField(description: string, rules: CelRule[]) {
  const base = goDuration(description);
  const inherited = (base.meta()?.['x-kubernetes-validations'] as CelRule[] | undefined) ?? [];
  return base.meta({ 'x-kubernetes-validations': [...inherited, ...rules] });
}

/** Field-level CEL rule: a duration of at least `min`. */
const atLeast = (min: string, message: string) => ({
  rule: `${wellFormed('self')} || duration(self) >= duration('${min}')`,
  message,
});

/**
 * A long-term retention in one ISO 8601 unit, capped at what Azure allows: 10 years (520 weeks, 120
 * months, 10 years). A longer retention would be refused by Azure when the policy is applied.
 */
function longTermRetentionField(unit: 'W' | 'M' | 'Y', digits: number, max: number, description: string) {
  const pattern = `^P[0-9]{1,${digits}}${unit}$`;
  const message = `Azure keeps long-term backups for at most 10 years: at most P${max}${unit}`;
  return z
    .string()
    .regex(new RegExp(pattern))
    .refine((value) => Number(value.slice(1, -1)) <= max, { message })
    .optional()
    .describe(`${description} At most P${max}${unit} (10 years, Azure's limit).`)
    .meta({
      'x-kubernetes-validations': [
        { rule: `!self.matches('${pattern}') || int(self.substring(1, size(self) - 1)) <= ${max}`, message },
      ],
    });
}

/** What a restore drill checks on the restored database before it counts as a success. */
export const restoreDrillVerifySchema = z
  .object({
    databaseOnline: z
      .boolean()
      .default(true)
      .describe('The restored database must come Online. Always true: a drill that does not prove this proves nothing.')
      .meta({
        'x-kubernetes-validations': [
          {
            rule: 'self == true',
            message: 'verify.databaseOnline cannot be turned off: every drill checks that the restored database comes Online',
          },
        ],
      }),
    minimumSizeBytes: z
      .number()
      .int()
      .min(0)
      .optional()
      .describe(
        'The restored database must hold at least this many bytes (Azure’s database_size usage): catches a restore of an empty or truncated database.',
      ),
    timeoutFactor: z
      .number()
      .min(1)
      .max(10)
      .optional()
      .describe(
        'A drill still restoring after rto × timeoutFactor is abandoned and counts as failed (its scratch database is deleted). Default 2. A drill that finishes after the rto but within this time counts as ExceededRTO.',
      ),
  })
  .describe('Checks a restored database must pass.');

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
        weekly: longTermRetentionField('W', 3, 520, 'How long weekly full backups are kept, ISO 8601 weeks, for example "P12W".'),
        monthly: longTermRetentionField('M', 3, 120, 'How long the first full backup of each month is kept, for example "P12M".'),
        yearly: longTermRetentionField('Y', 2, 10, 'How long the yearly full backup is kept, for example "P5Y".'),
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
    geoReplication: z
      .enum(['Enabled', 'Disabled'])
      .default('Disabled')
      .describe(
        'Enabled: a readable geo-secondary of each tenant database in the region paired with the tenant’s region, in a failover group whose read-write listener the application uses. Only when the paired region is in the tenant’s residency zone; otherwise the tenant’s GeoReplicated condition says why and nothing is created.',
      ),
    failoverDrill: z
      .object({
        enabled: z.boolean().default(true).describe('Whether failover drills run (only for geo-replicated tenants).'),
        every: durationField('How often a failover drill runs per tenant, for example "720h"; 24h to 2160h (90 days).', [
          atLeast('24h', 'failoverDrill.every must be at least 24h: each drill moves the live database twice'),
          {
            rule: `${wellFormed('self')} || duration(self) <= duration('2160h')`,
            message: 'failoverDrill.every must be at most 2160h (90 days): failover must be proven regularly',
          },
        ]).default('720h'),
        maintenanceWindowRef: localObjectReference('MaintenanceWindow')
          .optional()
          .describe(
            'The MaintenanceWindow failover drills run in instead of the tenant’s own (default): a drill disconnects the application twice, so name a window inside the maintenance times the customers were promised.',
          ),
      })
      .default({ enabled: true, every: '720h' })
      .describe(
        'Planned failovers of each geo-replicated tenant database to its paired region and back, always inside a maintenance window: the tenant’s own, or failoverDrill.maintenanceWindowRef (the application reconnects twice). Each measures the time to serve again from the paired region against rto, and the data lost (zero for a planned failover) against rpo.',
      ),
    rpo: durationField('Recovery point objective: the newest restore point may be at most this old. At least 10m.', [
      atLeast('10m', 'rpo must be at least 10m: Azure SQL takes log backups every 5-10 minutes, so a shorter RPO cannot be met'),
    ]).default('2h'),
    rto: durationField('Recovery time objective: a restore must complete within this time. At least 10m.', [
      atLeast('10m', 'rto must be at least 10m: restoring even a small Azure SQL database takes minutes'),
    ]).default('2h'),
    restoreDrill: z
      .object({
        every: durationField('How often a restore drill runs per tenant, for example "168h"; 1h to 2160h (90 days).', [
          atLeast('1h', 'restoreDrill.every must be at least 1h: each drill restores a whole database'),
          {
            rule: `${wellFormed('self')} || duration(self) <= duration('2160h')`,
            message: 'restoreDrill.every must be at most 2160h (90 days): recovery must be proven regularly',
          },
        ]).default('168h'),
        enabled: z.boolean().default(true).describe('Whether restore drills run.'),
        inMaintenanceWindow: z
          .boolean()
          .optional()
          .describe(
            'Start drills only while a maintenance window is open (the tenant’s own, or maintenanceWindowRef). Default false: a drill never touches the live database, so it may run any time.',
          ),
        maintenanceWindowRef: localObjectReference('MaintenanceWindow')
          .optional()
          .describe('The MaintenanceWindow drills wait for instead of the tenant’s own; needs inMaintenanceWindow: true.'),
        verify: restoreDrillVerifySchema.default({ databaseOnline: true }),
      })
      .default({ every: '168h', enabled: true, verify: { databaseOnline: true } })
      .describe(
        'Scheduled point-in-time restores of each tenant database into a scratch database on the same server: they prove backups restore and measure the achieved RTO. The live database is never touched.',
      )
      .meta({
        'x-kubernetes-validations': [
          {
            rule: '!has(self.maintenanceWindowRef) || (has(self.inMaintenanceWindow) && self.inMaintenanceWindow)',
            message: 'restoreDrill.maintenanceWindowRef only applies with inMaintenanceWindow: true',
          },
        ],
      }),
  })
  .describe('Backup retention, redundancy and recovery targets for the tenants that reference this policy.')
  .meta({
    'x-kubernetes-validations': [
      {
        rule: `!has(self.restoreDrill) || !has(self.rto) || ${wellFormed('self.rto')} || ${wellFormed('self.restoreDrill.every')} || duration(self.restoreDrill.every) > duration(self.rto)`,
        message: 'restoreDrill.every must be longer than rto: a drill may take up to the rto before the next one is due',
        fieldPath: '.restoreDrill.every',
      },
      {
        // A restore point older than the retention no longer exists: an RPO that long is never
        // breached, so tenants would report WithinRPO while their newest backup is gone.
        rule: `!has(self.rpo) || !has(self.pointInTimeRetentionDays) || ${wellFormed('self.rpo')} || duration(self.rpo).getSeconds() < self.pointInTimeRetentionDays * 86400`,
        message:
          'rpo must be shorter than pointInTimeRetentionDays: a restore point older than the retention no longer exists, so such an RPO could never be checked',
        fieldPath: '.rpo',
      },
    ],
  });

export const backupPolicyStatusSchema = z.object({
  observedGeneration: z.number().int().optional().describe('The metadata.generation the status reflects.'),
  conditions: conditionsField,
  tenants: z.number().int().optional().describe('How many tenants use this policy.'),
  tenantsWithinRpo: z.number().int().optional().describe('How many of them are within the RPO.'),
  lastDrillResult: z
    .string()
    .optional()
    .describe('Outcome of the latest finished restore drill across its tenants: Succeeded, Failed or ExceededRTO.'),
  lastDrillAt: z.string().optional().describe('When that drill finished (RFC 3339).'),
  lastDrillTenant: z.string().optional().describe('The tenant that drill belonged to.'),
  tenantsWithFailedDrill: z
    .number()
    .int()
    .optional()
    .describe('How many of its tenants’ latest finished drill failed or exceeded the RTO.'),
});

export type BackupPolicySpec = z.infer<typeof backupPolicySpecSchema>;
export type BackupPolicyStatus = z.infer<typeof backupPolicyStatusSchema>;
export type BackupPolicy = CustomObject<BackupPolicySpec, BackupPolicyStatus>;
