/**
 * BackupPolicy admission: bad policies are rejected by the CRD's schema and CEL rules before they
 * are stored, each with a message a person can act on; demanding and old-style policies are accepted.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { KubeClient, KubeObject } from '../../../src/runtime/kube-client.ts';
import { adminClient, sharedControlPlane, typeOf } from '../../harness/fixtures.ts';

const info = sharedControlPlane();
let admin: KubeClient;
const created: string[] = [];

beforeAll(() => {
  admin = adminClient(info.adminKubeconfig);
});

afterAll(async () => {
  for (const name of created) await admin.delete(typeOf('BackupPolicy'), name).catch(() => {});
});

const post = (spec: object, name?: string) =>
  admin.request<KubeObject & { spec: Record<string, any> }>('POST', '/apis/tenancy.dev/v1alpha1/backuppolicies', {
    body: {
      apiVersion: 'tenancy.dev/v1alpha1',
      kind: 'BackupPolicy',
      metadata: name ? { name } : { generateName: 'bad-drill-' },
      spec,
    },
  });

describe('a BackupPolicy is rejected at admission', () => {
  test.each([
    ['drills more often than hourly', { restoreDrill: { every: '30m' } }, 'restoreDrill.every must be at least 1h'],
    ['failover drills more often than daily', { failoverDrill: { every: '12h' } }, 'failoverDrill.every must be at least 24h'],
    ['failover drills rarer than 90 days', { failoverDrill: { every: '2200h' } }, 'failoverDrill.every must be at most 2160h'],
    ['geo-replication neither Enabled nor Disabled', { geoReplication: 'Paired' }, 'Unsupported value: "Paired"'],
    ['drills less often than every 90 days', { restoreDrill: { every: '2200h' } }, 'restoreDrill.every must be at most 2160h'],
    [
      'weekly long-term retention beyond 10 years',
      { longTermRetention: { weekly: 'P521W' } },
      'Azure keeps long-term backups for at most 10 years: at most P520W',
    ],
    [
      'monthly long-term retention beyond 10 years',
      { longTermRetention: { monthly: 'P121M' } },
      'Azure keeps long-term backups for at most 10 years: at most P120M',
    ],
    [
      'yearly long-term retention beyond 10 years',
      { longTermRetention: { yearly: 'P99Y', weekOfYear: 1 } },
      'Azure keeps long-term backups for at most 10 years: at most P10Y',
    ],
    ['an RPO Azure SQL cannot meet', { rpo: '5m' }, 'rpo must be at least 10m: Azure SQL takes log backups every 5-10 minutes'],
    ['an RTO no restore can meet', { rto: '1m', restoreDrill: { every: '24h' } }, 'rto must be at least 10m'],
    [
      'an RPO longer than the point-in-time retention (200h with 7 days)',
      { rpo: '200h', pointInTimeRetentionDays: 7 },
      'rpo must be shorter than pointInTimeRetentionDays',
    ],
    [
      'an RPO exactly as long as the retention',
      { rpo: '168h', pointInTimeRetentionDays: 7 },
      'rpo must be shorter than pointInTimeRetentionDays',
    ],
    ['an RPO longer than the default retention (14 days)', { rpo: '400h' }, 'rpo must be shorter than pointInTimeRetentionDays'],
    [
      'drills that may overlap (every not longer than the rto)',
      { rto: '4h', restoreDrill: { every: '3h' } },
      'restoreDrill.every must be longer than rto',
    ],
    [
      'the Online check turned off',
      { restoreDrill: { verify: { databaseOnline: false } } },
      'verify.databaseOnline cannot be turned off',
    ],
    ['a timeout factor below 1', { restoreDrill: { verify: { timeoutFactor: 0.5 } } }, 'should be greater than or equal to 1'],
    ['a timeout factor above 10', { restoreDrill: { verify: { timeoutFactor: 12 } } }, 'should be less than or equal to 10'],
    ['a negative minimum size', { restoreDrill: { verify: { minimumSizeBytes: -1 } } }, 'should be greater than or equal to 0'],
    [
      'a window reference without inMaintenanceWindow',
      { restoreDrill: { maintenanceWindowRef: { name: 'nights' } } },
      'restoreDrill.maintenanceWindowRef only applies with inMaintenanceWindow: true',
    ],
    [
      'a window reference with inMaintenanceWindow false',
      { restoreDrill: { inMaintenanceWindow: false, maintenanceWindowRef: { name: 'nights' } } },
      'restoreDrill.maintenanceWindowRef only applies with inMaintenanceWindow: true',
    ],
    [
      'a window reference that is no object name',
      { restoreDrill: { inMaintenanceWindow: true, maintenanceWindowRef: { name: 'Nights!' } } },
      'spec.restoreDrill.maintenanceWindowRef.name: Invalid value',
    ],
  ])('%s', async (_name, spec, message) => {
    await expect(post(spec)).rejects.toThrow(message);
  });
});

describe('a BackupPolicy is accepted', () => {
  test('a policy written before drills could be verified gets the new defaults', async () => {
    const stored = await post({ restoreDrill: { every: '168h', enabled: true } }, 'bk-admission-old-style');
    created.push('bk-admission-old-style');
    expect(stored.spec).toEqual({
      pointInTimeRetentionDays: 14,
      differentialBackupIntervalHours: 12,
      longTermRetention: { weekly: 'P12W' },
      backupStorageRedundancy: 'Zone',
      rpo: '2h',
      rto: '2h',
      restoreDrill: { every: '168h', enabled: true, verify: { databaseOnline: true } },
      // Geo-replication (issue #18) is off unless asked for; failover drills run only with it.
      geoReplication: 'Disabled',
      failoverDrill: { enabled: true, every: '720h' },
    });
  });

  test('a demanding policy with every new option', async () => {
    const spec = {
      pointInTimeRetentionDays: 35,
      differentialBackupIntervalHours: 24,
      longTermRetention: { weekly: 'P520W', monthly: 'P120M', yearly: 'P10Y', weekOfYear: 14 },
      rpo: '15m',
      rto: '45m',
      restoreDrill: {
        every: '24h',
        inMaintenanceWindow: true,
        maintenanceWindowRef: { name: 'nights' },
        verify: { databaseOnline: true, minimumSizeBytes: 1_048_576, timeoutFactor: 1.5 },
      },
    };
    const stored = await post(spec, 'bk-admission-demanding');
    created.push('bk-admission-demanding');
    expect(stored.spec).toMatchObject(spec);
  });

  test('an RPO just inside a short retention (1 day, 23h)', async () => {
    const stored = await post(
      { pointInTimeRetentionDays: 1, rpo: '23h', rto: '30m', restoreDrill: { every: '24h' } },
      'bk-admission-short',
    );
    created.push('bk-admission-short');
    expect(stored.spec).toMatchObject({ pointInTimeRetentionDays: 1, rpo: '23h' });
  });
});
