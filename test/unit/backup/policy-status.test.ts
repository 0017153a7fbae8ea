import { describe, expect, test } from '@jest/globals';
import { backupPolicySpecSchema } from '../../../src/api/v1alpha1/backup-policy.ts';
import { unattainableObjectives } from '../../../src/backup/policy.ts';
import { drillSummary } from '../../../src/backup/policy-status.ts';

const tenant = (name: string, drill?: object) => ({ metadata: { name }, status: { backup: drill ? { drill } : {} } });

test.each([
  ['no tenant has drilled yet', [tenant('a'), tenant('b')], { tenantsWithFailedDrill: 0 }],
  [
    'the latest finished drill wins; failures are counted',
    [
      tenant('a', { phase: 'Succeeded', result: 'Succeeded', finishedAt: '2026-11-20T10:00:00Z' }),
      tenant('b', { phase: 'Failed', result: 'ExceededRTO', finishedAt: '2026-11-24T10:00:00Z' }),
      tenant('c', { phase: 'Failed', result: 'Failed', finishedAt: '2026-11-21T10:00:00Z' }),
    ],
    { tenantsWithFailedDrill: 2, lastDrillResult: 'ExceededRTO', lastDrillAt: '2026-11-24T10:00:00Z', lastDrillTenant: 'b' },
  ],
  [
    'a running drill counts with the drill before it',
    [
      tenant('a', {
        phase: 'Running',
        previous: { result: 'Failed', finishedAt: '2026-11-24T10:00:00Z' },
      }),
      tenant('b', { phase: 'Running' }),
    ],
    { tenantsWithFailedDrill: 1, lastDrillResult: 'Failed', lastDrillAt: '2026-11-24T10:00:00Z', lastDrillTenant: 'a' },
  ],
])('%s', (_name, users, expected) => {
  expect(drillSummary(users)).toEqual(expected);
});

describe('unattainableObjectives: policies stored before admission refused them', () => {
  const spec = (o: object) => backupPolicySpecSchema.parse(o);
  test.each<[string, object, string[]]>([
    ['the promise of the terms (2h RPO, 14 days)', {}, []],
    [
      'an RPO just inside the retention',
      { pointInTimeRetentionDays: 1, rpo: '23h', rto: '30m', restoreDrill: { every: '24h' } },
      [],
    ],
    [
      'RPO 200h with 7 days of point-in-time retention',
      { rpo: '200h', pointInTimeRetentionDays: 7 },
      ['rpo 200h is not shorter than pointInTimeRetentionDays (7)'],
    ],
    [
      'an RPO equal to the retention',
      { rpo: '168h', pointInTimeRetentionDays: 7 },
      ['rpo 168h is not shorter than pointInTimeRetentionDays (7)'],
    ],
    ['an RPO under 10 minutes', { rpo: '5m' }, ['rpo 5m is under 10m']],
    ['an RTO under 10 minutes', { rto: '1m', restoreDrill: { every: '24h' } }, ['rto 1m is under 10m']],
  ])('%s', (_name, input, expected) => {
    const problems = unattainableObjectives(spec(input));
    expect(problems).toHaveLength(expected.length);
    expected.forEach((start, i) => {
      expect(problems[i]).toContain(start);
    });
  });
});
