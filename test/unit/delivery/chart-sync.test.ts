/**
 * The chart and config/ hold no hand-copied facts: every file hack/sync-chart.ts derives (CRDs,
 * RBAC rules, alert rules, dashboard, config schema, versions) matches its source. Compares only.
 */
import { describe, expect, test } from '@jest/globals';
import { staleFiles } from '../../../hack/sync-chart.ts';

describe('hack/sync-chart.ts', () => {
  test('every derived file matches its source (otherwise run `node hack/sync-chart.ts`)', () => {
    expect(staleFiles()).toEqual({ changed: [], orphaned: [] });
  });
});
