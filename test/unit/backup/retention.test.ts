import { describe, expect, test } from '@jest/globals';
import { type BackupPolicySpec, backupPolicySpecSchema } from '../../../src/api/v1alpha1/backup-policy.ts';
import { backupTargets } from '../../../src/backup/policy.ts';
import { desiredRetention } from '../../../src/backup/retention.ts';

const policy = (spec: object): BackupPolicySpec => backupPolicySpecSchema.parse(spec);

describe('desiredRetention', () => {
  test.each([
    [
      'the defaults: 14 days PITR, 12 h differentials, 12 weeks weekly',
      {},
      { retentionDays: 14, diffBackupIntervalInHours: 12 },
      { weeklyRetention: 'P12W', monthlyRetention: 'PT0S', yearlyRetention: 'PT0S', weekOfYear: 1 },
    ],
    [
      'a demanding policy: 35 days, daily differentials, weekly, monthly and yearly',
      {
        pointInTimeRetentionDays: 35,
        differentialBackupIntervalHours: 24,
        longTermRetention: { weekly: 'P26W', monthly: 'P12M', yearly: 'P7Y', weekOfYear: 14 },
      },
      { retentionDays: 35, diffBackupIntervalInHours: 24 },
      { weeklyRetention: 'P26W', monthlyRetention: 'P12M', yearlyRetention: 'P7Y', weekOfYear: 14 },
    ],
    [
      'no long-term retention at all (an explicit empty object)',
      { pointInTimeRetentionDays: 7, longTermRetention: {} },
      { retentionDays: 7, diffBackupIntervalInHours: 12 },
      { weeklyRetention: 'PT0S', monthlyRetention: 'PT0S', yearlyRetention: 'PT0S', weekOfYear: 1 },
    ],
    [
      'monthly only',
      { longTermRetention: { monthly: 'P6M' } },
      { retentionDays: 14, diffBackupIntervalInHours: 12 },
      { weeklyRetention: 'PT0S', monthlyRetention: 'P6M', yearlyRetention: 'PT0S', weekOfYear: 1 },
    ],
  ])('%s', (_name, spec, shortTerm, longTerm) => {
    expect(desiredRetention(policy(spec))).toEqual({ shortTerm, longTerm });
  });
});

describe('backupTargets', () => {
  test('the defaults: RPO and RTO 2 h, weekly drills, timeout factor 2, no window', () => {
    expect(backupTargets(policy({}))).toEqual({
      rpoMs: 7_200_000,
      rtoMs: 7_200_000,
      drill: {
        enabled: true,
        everyMs: 168 * 3_600_000,
        timeoutFactor: 2,
        minimumSizeBytes: undefined,
        inMaintenanceWindow: false,
        maintenanceWindowRef: undefined,
      },
    });
  });

  test('verify options and a maintenance window', () => {
    const targets = backupTargets(
      policy({
        rto: '90m',
        restoreDrill: {
          every: '24h',
          inMaintenanceWindow: true,
          maintenanceWindowRef: { name: 'nights' },
          verify: { minimumSizeBytes: 1024, timeoutFactor: 1.5 },
        },
      }),
    );
    expect(targets.rtoMs).toBe(5_400_000);
    expect(targets.drill).toMatchObject({
      everyMs: 86_400_000,
      timeoutFactor: 1.5,
      minimumSizeBytes: 1024,
      inMaintenanceWindow: true,
      maintenanceWindowRef: 'nights',
    });
  });

  test('a policy written before verify existed still parses, with databaseOnline on', () => {
    expect(policy({ restoreDrill: { every: '168h', enabled: true } }).restoreDrill.verify).toEqual({ databaseOnline: true });
  });
});
