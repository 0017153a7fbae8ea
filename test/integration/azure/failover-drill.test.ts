/**
 * Failover drills against the ARM emulator: the drill waits for the maintenance window, fails the
 * geo-replicated database over to the paired region and back with planned failovers, measures the
 * time to serve again against the RTO, records everything in the status it returns (the only
 * memory between passes), and resumes from that status after an operator restart, even when
 * Azure no longer knows the operation it recorded.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import {
  type FailoverDrillOutcome,
  type FailoverDrillSettings,
  type FailoverDrillStatus,
  stepFailoverDrill,
} from '../../../src/backup/failover-drill.ts';
import { failoverDrillTarget } from '../../../src/tenant/azure.ts';
import { type AzureTestEnv, converge, DEFAULT_BACKUP, startAzureTestEnv, tenantPlan } from './support.ts';

let env: AzureTestEnv;

beforeAll(async () => {
  env = await startAzureTestEnv();
});

afterAll(async () => {
  await env.emulator.stop();
});

const HOUR = 3_600_000;
const SETTINGS: FailoverDrillSettings = {
  everyMs: 720 * HOUR,
  rtoMs: 2 * HOUR,
  window: { open: true, nextOpensAt: undefined },
  ready: true,
  pollMs: 10,
};

async function geoTenant(name: string) {
  const plan = tenantPlan(env, name, { backup: { ...DEFAULT_BACKUP, geoReplication: true } });
  await converge(env, plan);
  const target = failoverDrillTarget(plan);
  if (target === undefined) throw new Error('no geo-replication');
  const listener = `${plan.geoNames.failoverGroup}.database.windows.net`;
  return { plan, target, listener };
}

/**
 * Passes of the drill as the reconciler makes them, each after `stepMs` of the injected clock,
 * the status round-tripped through JSON (what the API server stores), until it is no longer running.
 */
async function runDrill(
  target: NonNullable<ReturnType<typeof failoverDrillTarget>>,
  start: { status: FailoverDrillStatus | undefined; at: number },
  options: {
    settings?: FailoverDrillSettings;
    stepMs?: number;
    onPass?: (o: FailoverDrillOutcome, pass: number) => FailoverDrillStatus;
  } = {},
) {
  let status = start.status;
  let at = start.at;
  const events: string[] = [];
  for (let pass = 0; pass < 500; pass++) {
    const outcome = await stepFailoverDrill(env.arm, target, options.settings ?? SETTINGS, status, new Date(at));
    events.push(...outcome.events.map((e) => e.reason));
    status = JSON.parse(JSON.stringify(options.onPass?.(outcome, pass) ?? outcome.status)) as FailoverDrillStatus;
    if (status.running === undefined && pass > 0) return { status, events, at };
    at += options.stepMs ?? 1_000;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error('the drill never ended');
}

describe('a failover drill', () => {
  test('waits for the maintenance window: nothing is requested while it is closed', async () => {
    const { target } = await geoTenant('drill-closed');
    const opens = new Date(Date.parse('2026-12-09T02:00:00Z'));
    const mark = env.emulator.mark();
    const outcome = await stepFailoverDrill(
      env.arm,
      target,
      { ...SETTINGS, window: { open: false, nextOpensAt: opens } },
      undefined,
      new Date('2026-12-08T02:00:00Z'),
    );
    expect(outcome.status.running).toBeUndefined();
    expect(outcome.requeueAfterMs).toBe(24 * HOUR);
    expect(env.emulator.writes(mark)).toEqual([]);
  });

  test('in the window: fails over to northeurope and back, measures the RTO, no data lost', async () => {
    const { target, listener } = await geoTenant('drill-we');
    const regions: string[] = [];
    const { status, events } = await runDrill(
      target,
      { status: undefined, at: Date.parse('2026-12-09T02:00:00Z') },
      {
        stepMs: 1_000,
        onPass: (o) => {
          regions.push(env.emulator.sql.resolveHost(listener)?.location ?? '?');
          return o.status;
        },
      },
    );
    expect(events).toEqual(['FailoverDrillStarted', 'FailoverDrillSucceeded']);
    expect(regions).toContain('northeurope');
    expect(env.emulator.sql.resolveHost(listener)?.location).toBe('westeurope');
    expect(status.last).toMatchObject({ result: 'Succeeded', dataLossSeconds: 0 });
    // Measured on the injected clock: at least one pass (1 s) between the request and serving.
    expect(status.last?.measuredRtoSeconds).toBeGreaterThanOrEqual(1);
    expect(status.last?.measuredRtoSeconds).toBeLessThan(60);

    // The next one is due a period later, not before.
    const again = await stepFailoverDrill(
      env.arm,
      target,
      SETTINGS,
      status,
      new Date(Date.parse(status.last?.finishedAt ?? '') + HOUR),
    );
    expect(again.status.running).toBeUndefined();
    expect(again.requeueAfterMs).toBe(719 * HOUR);
  });

  test('slower than the RTO: ExceededRTO, a Warning, and the home region serves again', async () => {
    const { target, listener } = await geoTenant('drill-slow');
    const { status, events } = await runDrill(
      target,
      { status: undefined, at: Date.parse('2026-12-09T02:00:00Z') },
      { settings: { ...SETTINGS, rtoMs: 1_000 }, stepMs: 30_000 },
    );
    expect(status.last?.result).toBe('ExceededRTO');
    expect(events).toEqual(['FailoverDrillStarted', 'FailoverDrillExceededRTO']);
    expect(env.emulator.sql.resolveHost(listener)?.location).toBe('westeurope');
  });

  test('an operator restart mid-drill resumes from status, even when Azure forgot the operation', async () => {
    const { target, listener } = await geoTenant('drill-restart');
    // A fresh drill, interrupted right after it was begun: only its status survives.
    const at = Date.parse('2026-12-09T02:00:00Z');
    // Recorded before anything is requested, then the failover is requested on the next pass.
    const recorded = await stepFailoverDrill(env.arm, target, SETTINGS, undefined, new Date(at));
    expect(recorded.status.running).toMatchObject({ phase: 'FailingOver' });
    expect(recorded.status.running?.operation).toBeUndefined();
    const started = await stepFailoverDrill(env.arm, target, SETTINGS, recorded.status, new Date(at));
    expect(started.status.running).toMatchObject({ phase: 'FailingOver', operation: expect.anything() });
    const stored = JSON.parse(JSON.stringify(started.status)) as FailoverDrillStatus;
    // The restarted operator finds the operation Azure no longer knows (expired): the record
    // without it. It resumes from the roles Azure reports.
    const forgotten: FailoverDrillStatus = { ...stored, running: { ...stored.running!, operation: undefined } };
    const resumed = await runDrill(target, { status: forgotten, at: at + 1_000 });
    expect(resumed.status.last?.result).toBe('Succeeded');
    expect(env.emulator.sql.resolveHost(listener)?.location).toBe('westeurope');
    expect(resumed.events).toEqual(['FailoverDrillSucceeded']);
  });
});
