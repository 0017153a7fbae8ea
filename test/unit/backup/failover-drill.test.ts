/**
 * The failover drill's decisions with a fake ARM: when it starts (due, window open, replica caught
 * up), that it records before it requests, and what a failed failover or failback does.
 */
import { describe, expect, test } from '@jest/globals';
import type { ArmBody, OperationState, WriteOutcome } from '../../../src/azure/arm-client.ts';
import { type DrillArm, type FailoverDrillStatus, stepFailoverDrill } from '../../../src/backup/failover-drill.ts';

const TARGET = {
  homeGroupId: '/s/home/failoverGroups/fog',
  partnerGroupId: '/s/partner/failoverGroups/fog',
  partnerDatabaseId: '/s/partner/databases/db',
  homeRegion: 'westeurope',
  partnerRegion: 'northeurope',
};
const SETTINGS = {
  everyMs: 720 * 3_600_000,
  rtoMs: 7_200_000,
  window: { open: true, nextOpensAt: undefined },
  ready: true,
  pollMs: 10_000,
};
const NOW = new Date('2026-12-09T02:00:00Z');

/** A fake ARM: groups' roles by id, one operation state, and the actions requested. */
function fakeArm(roles: Record<string, string>, operation: OperationState = { status: 'Succeeded' }) {
  const actions: string[] = [];
  const arm: DrillArm = {
    get: async (id: string): Promise<ArmBody | undefined> =>
      id === TARGET.partnerDatabaseId ? { properties: { status: 'Online' } } : { properties: { replicationRole: roles[id] } },
    beginAction: async (id: string): Promise<WriteOutcome> => {
      actions.push(id);
      return { done: false, operation: { url: `https://op/${actions.length}`, kind: 'AsyncOperation' } };
    },
    pollOperation: async () => operation,
  };
  return { arm, actions };
}

describe('starting', () => {
  test.each([
    ['not due yet', { last: { result: 'Succeeded', startedAt: '', finishedAt: '2026-12-01T00:00:00Z', message: '' } }, SETTINGS],
    ['the window is closed', undefined, { ...SETTINGS, window: { open: false, nextOpensAt: new Date('2026-12-16T02:00:00Z') } }],
    ['the replica is not caught up', undefined, { ...SETTINGS, ready: false }],
  ] as const)('%s: nothing is recorded or requested', async (_name, previous, settings) => {
    const { arm, actions } = fakeArm({});
    const outcome = await stepFailoverDrill(arm, TARGET, settings, previous as FailoverDrillStatus | undefined, NOW);
    expect(outcome.status.running).toBeUndefined();
    expect(actions).toEqual([]);
  });

  test('due, window open, caught up: recorded first (an Event), requested on the next pass on the partner', async () => {
    const { arm, actions } = fakeArm({ [TARGET.partnerGroupId]: 'Secondary' });
    const recorded = await stepFailoverDrill(arm, TARGET, SETTINGS, undefined, NOW);
    expect(recorded.status.running).toMatchObject({ phase: 'FailingOver', startedAt: NOW.toISOString() });
    expect(recorded.events.map((e) => e.reason)).toEqual(['FailoverDrillStarted']);
    expect(actions).toEqual([]);
    const requested = await stepFailoverDrill(arm, TARGET, SETTINGS, recorded.status, NOW);
    expect(actions).toEqual([`${TARGET.partnerGroupId}/failover`]);
    expect(requested.status.running?.operation).toEqual({ url: 'https://op/1', kind: 'AsyncOperation' });
  });
});

describe('failures', () => {
  test('the failover fails and nothing moved: Failed, a Warning, home still serves, no failback', async () => {
    const { arm, actions } = fakeArm(
      { [TARGET.partnerGroupId]: 'Secondary' },
      { status: 'Failed', code: 'PlannedFailoverTimedOut', message: 'timed out' },
    );
    const running: FailoverDrillStatus = {
      running: {
        phase: 'FailingOver',
        startedAt: NOW.toISOString(),
        homeRegion: 'westeurope',
        partnerRegion: 'northeurope',
        operation: { url: 'u', kind: 'AsyncOperation' },
      },
    };
    const outcome = await stepFailoverDrill(arm, TARGET, SETTINGS, running, NOW);
    expect(outcome.status.running).toBeUndefined();
    expect(outcome.status.last?.result).toBe('Failed');
    expect(outcome.status.last?.message).toContain('PlannedFailoverTimedOut');
    expect(outcome.events).toEqual([expect.objectContaining({ type: 'Warning', reason: 'FailoverDrillFailed' })]);
    expect(actions).toEqual([]);
  });

  test('the failback fails: requested again with a Warning, the drill keeps running until home', async () => {
    const { arm, actions } = fakeArm(
      { [TARGET.homeGroupId]: 'Secondary' },
      { status: 'Failed', code: 'OperationTimedOut', message: 'x' },
    );
    const running: FailoverDrillStatus = {
      running: {
        phase: 'FailingBack',
        startedAt: NOW.toISOString(),
        servedAt: NOW.toISOString(),
        homeRegion: 'westeurope',
        partnerRegion: 'northeurope',
        operation: { url: 'u', kind: 'AsyncOperation' },
      },
    };
    const outcome = await stepFailoverDrill(arm, TARGET, SETTINGS, running, NOW);
    expect(actions).toEqual([`${TARGET.homeGroupId}/failover`]);
    expect(outcome.status.running).toMatchObject({ phase: 'FailingBack', operation: { url: 'https://op/1' } });
    expect(outcome.events.map((e) => e.reason)).toEqual(['FailoverDrillRetrying']);
  });

  test('home again: Succeeded with the RTO measured from the request to serving in the paired region', async () => {
    const { arm } = fakeArm({ [TARGET.homeGroupId]: 'Primary' });
    const running: FailoverDrillStatus = {
      running: {
        phase: 'FailingBack',
        startedAt: '2026-12-09T02:00:00Z',
        servedAt: '2026-12-09T02:01:30Z',
        homeRegion: 'westeurope',
        partnerRegion: 'northeurope',
      },
    };
    const outcome = await stepFailoverDrill(arm, TARGET, SETTINGS, running, new Date('2026-12-09T02:03:00Z'));
    expect(outcome.status.last).toMatchObject({ result: 'Succeeded', measuredRtoSeconds: 90, dataLossSeconds: 0 });
    expect(outcome.requeueAfterMs).toBe(SETTINGS.everyMs);
  });
});
