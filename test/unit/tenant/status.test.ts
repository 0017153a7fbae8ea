import { describe, expect, test } from '@jest/globals';
import type { TenantStatus } from '../../../src/api/v1alpha1/tenant.ts';
import { changedStatusPaths, statusChanged } from '../../../src/tenant/status.ts';

const ready = { type: 'Ready', status: 'True', reason: 'Ready', message: 'ok', lastTransitionTime: '2026-12-01T00:00:00Z' };
const base = {
  observedGeneration: 3,
  conditions: [ready],
  azure: { databaseName: 'sqldb-a', verified: { fingerprint: 'f1', at: '2026-12-01T00:00:00Z' } },
} as unknown as TenantStatus;

describe('changedStatusPaths', () => {
  test.each([
    ['nothing changed', base, []],
    [
      'a nested field of azure',
      { ...base, azure: { ...base.azure, verified: { fingerprint: 'f1', at: '2026-12-02T00:00:00Z' } } },
      ['azure.verified'],
    ],
    ['one condition by type', { ...base, conditions: [{ ...ready, message: 'other' }] }, ['conditions.Ready']],
    ['a condition added', { ...base, conditions: [ready, { ...ready, type: 'Stalled' }] }, ['conditions.Stalled']],
    ['a scalar field', { ...base, observedGeneration: 4 }, ['observedGeneration']],
    ['a field removed', { observedGeneration: 3, conditions: [ready] }, ['azure']],
  ] as [string, TenantStatus, string[]][])('%s', (_name, next, paths) => {
    expect(changedStatusPaths(base, next)).toEqual(paths);
    expect(statusChanged(base, next)).toBe(paths.length > 0);
  });

  test('names paths, never values', () => {
    const secret = { ...base, azure: { ...base.azure, databaseName: 'value-that-must-not-show' } } as unknown as TenantStatus;
    expect(changedStatusPaths(base, secret).join(' ')).not.toContain('value-that-must-not-show');
  });
});
