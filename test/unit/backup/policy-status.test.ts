import { expect, test } from '@jest/globals';
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
