/** When the Azure step looks again while resources are still moving (pure). */
import { describe, expect, test } from '@jest/globals';
import type { PassResult, PendingOperation, ResourceReport } from '../../../src/azure/engine.ts';
import { isMoving, nextLook } from '../../../src/tenant/azure-step.ts';

const NOW = Date.parse('2026-12-03T12:00:00Z');
const op = (ageMs: number): PendingOperation => ({
  key: 'sqlServer',
  id: '/x',
  method: 'PUT',
  url: 'u',
  kind: 'AsyncOperation',
  startedAt: new Date(NOW - ageMs).toISOString(),
});
const pass = (pending: PendingOperation[], reports: ResourceReport[] = []): PassResult => ({
  outputs: new Map(),
  trusted: new Set(),
  reports: new Map(reports.map((r) => [r.key, r])),
  pending,
  changes: [],
  converged: false,
});

describe('nextLook', () => {
  test.each([
    ['an operation just begun: the poll interval', [op(0)], 10_000],
    ['an operation running 60 s: half its age', [op(60_000)], 30_000],
    ['an operation running an hour: at most 30 polls apart', [op(3_600_000)], 300_000],
    ['the youngest operation decides', [op(3_600_000), op(40_000)], 20_000],
  ])('%s', (_name, pending, expected) => {
    expect(nextLook(pass(pending), NOW, 10_000)).toBe(expected);
  });

  test('a resource held until an instant is looked at then', () => {
    const held: ResourceReport = {
      key: 'sqlServerKey',
      label: 'SQL server key',
      id: undefined,
      phase: 'Waiting',
      waitingFor: `the SQL server’s Key Vault role to propagate (until ${new Date(NOW + 90_000).toISOString()})`,
    };
    expect(nextLook(pass([], [held]), NOW, 10_000, NOW)).toBe(90_000);
    expect(nextLook(pass([op(0)], [held]), NOW, 10_000, NOW)).toBe(10_000);
  });

  test('nothing pending and nothing held: the poll interval', () => {
    expect(nextLook(pass([]), NOW, 10_000)).toBe(10_000);
  });
});

describe('isMoving: something beside a failure still needs a look', () => {
  const report = (phase: ResourceReport['phase'], waitingFor?: string): ResourceReport => ({
    key: 'k',
    label: 'thing',
    id: undefined,
    phase,
    ...(waitingFor ? { waitingFor } : {}),
  });
  test.each<[string, PassResult, boolean]>([
    ['an operation runs', pass([op(0)]), true],
    ['a resource is busy with an operation of someone else', pass([], [report('Busy')]), true],
    ['a resource exists but is not usable yet', pass([], [report('NotReady')]), true],
    [
      'a resource is held until an instant',
      pass([], [report('Waiting', `the role to propagate (until ${new Date(NOW).toISOString()})`)]),
      true,
    ],
    ['resources only wait behind a failed one', pass([], [report('Failed'), report('Waiting', 'wafPolicy')]), false],
    ['everything is ready', pass([], [report('Ready')]), false],
  ])('%s: %s', (_name, p, expected) => {
    expect(isMoving(p)).toBe(expected);
  });
});
