/** When the Azure step looks again while resources are still moving (pure). */
import { describe, expect, test } from '@jest/globals';
import type { PassResult, PendingOperation, ResourceReport } from '../../../src/azure/engine.ts';
import { PlatformError, RetryableError, TerminalError } from '../../../src/runtime/errors.ts';
import { nextLook, nextLookBesideFailure } from '../../../src/tenant/azure-step.ts';

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

describe('nextLookBesideFailure: the rest of a tenant beside its reported failure', () => {
  const refused = new TerminalError('AzureInvalidRequest', 'WAF policy refused');
  const report = (phase: ResourceReport['phase'], extra: Partial<ResourceReport> = {}): ResourceReport => ({
    key: `k${Math.random()}`,
    label: 'thing',
    id: undefined,
    phase,
    ...extra,
  });
  const failed = report('Failed', { error: refused });
  test.each<[string, PassResult, number | undefined]>([
    ['an operation runs: the poll interval', pass([op(0)], [failed]), 10_000],
    ['a resource is busy with an operation of someone else', pass([], [failed, report('Busy')]), 10_000],
    ['a resource exists but is not usable yet', pass([], [failed, report('NotReady')]), 10_000],
    [
      'a resource is held until an instant: then',
      pass(
        [],
        [failed, report('Waiting', { waitingFor: `the role to propagate (until ${new Date(NOW + 30_000).toISOString()})` })],
      ),
      30_000,
    ],
    [
      'another resource failed transiently: after its own delay',
      pass(
        [],
        [failed, report('Failed', { error: new RetryableError('AzureRbacPropagating', 'not yet', { retryAfterMs: 2_000 }) })],
      ),
      2_000,
    ],
    [
      'another resource needs the platform team: not soon',
      pass([], [failed, report('Failed', { error: new PlatformError('AzureAuthorizationFailed', 'no role') })]),
      undefined,
    ],
    ['the others only wait behind the failure', pass([], [failed, report('Waiting', { waitingFor: 'wafPolicy' })]), undefined],
    ['everything else is ready', pass([], [failed, report('Ready')]), undefined],
  ])('%s', (_name, p, expected) => {
    expect(nextLookBesideFailure(p, refused, NOW, 10_000, (e) => e, NOW)).toBe(expected);
  });
});
