import { describe, expect, test } from '@jest/globals';
import {
  type DrillObservation,
  type DrillSettings,
  type DrillStatus,
  decideDrill,
  drillRestoreRefused,
  isScratchDatabaseOf,
  type ScratchDatabase,
  scratchDatabaseName,
} from '../../../src/backup/drill.ts';

const H = 3_600_000;
const M = 60_000;
const NOW = new Date('2026-11-25T12:00:00Z');
const DB = 'sqldb-acme-prd';
const DB_ID = `/subscriptions/s/resourceGroups/rg-acme-prd/providers/Microsoft.Sql/servers/sql-acme/databases/${DB}`;
const SCRATCH = `${DB}-drill-202611251100`; // started 11:00, an hour before NOW
const iso = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');
const ago = (ms: number) => new Date(NOW.getTime() - ms);

const settings = (o: Partial<DrillSettings> = {}): DrillSettings => ({
  everyMs: 168 * H,
  rtoMs: 2 * H,
  timeoutFactor: 2,
  minimumSizeBytes: undefined,
  firstDrillGraceMs: H,
  missingGraceMs: 2 * M,
  pollMs: 30_000,
  maxIdleRequeueMs: 6 * H,
  ...o,
});

const scratch = (o: Partial<ScratchDatabase> = {}): ScratchDatabase => ({
  name: SCRATCH,
  status: 'Restoring',
  sourceDatabaseId: DB_ID,
  usedBytes: undefined,
  ...o,
});

const obs = (o: Partial<DrillObservation> = {}): DrillObservation => ({
  now: NOW,
  database: { name: DB, id: DB_ID, status: 'Online', creationDate: ago(30 * 24 * H) },
  scratch: [],
  restoreWindow: { earliest: ago(14 * 24 * H), newest: ago(5 * M) },
  ...o,
});

const running = (o: Partial<DrillStatus> = {}): DrillStatus => ({
  phase: 'Running',
  step: 'Restoring',
  startedAt: iso(ago(H)),
  scratchDatabase: SCRATCH,
  restorePointInTime: iso(ago(H + 5 * M)),
  previous: { result: 'Succeeded', finishedAt: iso(ago(169 * H)), measuredRtoSeconds: 1800 },
  ...o,
});

const succeeded = (o: Partial<DrillStatus> = {}): DrillStatus => ({
  phase: 'Succeeded',
  result: 'Succeeded',
  startedAt: iso(ago(24 * H)),
  finishedAt: iso(ago(23 * H)),
  measuredRtoSeconds: 1800,
  ...o,
});

interface Case {
  previous: DrillStatus | undefined;
  settings?: Partial<DrillSettings>;
  obs?: Partial<DrillObservation>;
  phase: string | undefined;
  step?: string;
  result?: string;
  actions: string[];
  events: string[];
  condition: [status: string, reason: string];
}

const cases: Record<string, Case> = {
  'never run, database younger than the grace period: not due': {
    previous: undefined,
    obs: { database: { name: DB, id: DB_ID, status: 'Online', creationDate: ago(30 * M) } },
    phase: undefined,
    actions: [],
    events: [],
    condition: ['Unknown', 'NoDrillYet'],
  },
  'never run, database older than the grace period: due, starts': {
    previous: undefined,
    phase: 'Running',
    step: 'Restoring',
    actions: [`restore ${DB}-drill-202611251200`],
    events: ['DrillStarted'],
    condition: ['Unknown', 'DrillRunning'],
  },
  'last drill a day ago, every 168h: not due': {
    previous: succeeded(),
    phase: 'Succeeded',
    actions: [],
    events: [],
    condition: ['True', 'DrillSucceeded'],
  },
  'last drill 168h ago: due, starts, keeps the previous result': {
    previous: succeeded({ startedAt: iso(ago(168 * H)) }),
    phase: 'Running',
    step: 'Restoring',
    actions: [`restore ${DB}-drill-202611251200`],
    events: ['DrillStarted'],
    condition: ['True', 'DrillRunning'],
  },
  'due but the maintenance window is closed: waits for its opening': {
    previous: succeeded({ startedAt: iso(ago(200 * H)) }),
    settings: { window: { open: false, nextOpensAt: new Date('2026-12-02T01:00:00Z'), description: 'MaintenanceWindow w' } },
    phase: 'Succeeded',
    actions: [],
    events: [],
    condition: ['True', 'DrillSucceeded'],
  },
  'due and the maintenance window is open: starts': {
    previous: succeeded({ startedAt: iso(ago(200 * H)) }),
    settings: { window: { open: true, nextOpensAt: undefined, description: 'MaintenanceWindow w' } },
    phase: 'Running',
    actions: [`restore ${DB}-drill-202611251200`],
    events: ['DrillStarted'],
    condition: ['True', 'DrillRunning'],
  },
  'due and the serverless database is Paused: starts (a restore reads backups)': {
    previous: undefined,
    obs: { database: { name: DB, id: DB_ID, status: 'Paused', creationDate: ago(30 * 24 * H) } },
    phase: 'Running',
    actions: [`restore ${DB}-drill-202611251200`],
    events: ['DrillStarted'],
    condition: ['Unknown', 'DrillRunning'],
  },
  'due but the live database is Scaling: waits': {
    previous: undefined,
    obs: { database: { name: DB, id: DB_ID, status: 'Scaling', creationDate: ago(30 * 24 * H) } },
    phase: undefined,
    actions: [],
    events: [],
    condition: ['Unknown', 'NoDrillYet'],
  },
  'running, still restoring within the timeout: waits': {
    previous: running(),
    obs: { scratch: [scratch()] },
    phase: 'Running',
    step: 'Restoring',
    actions: [],
    events: [],
    condition: ['True', 'DrillRunning'],
  },
  'running -> Online within the RTO: succeeded, scratch deleted': {
    previous: running(),
    obs: { scratch: [scratch({ status: 'Online' })] },
    phase: 'Running',
    step: 'CleaningUp',
    result: 'Succeeded',
    actions: [`delete ${SCRATCH} (cleanup)`],
    events: ['DrillSucceeded'],
    condition: ['True', 'DrillSucceeded'],
  },
  'running -> Online after the RTO: exceeded, scratch deleted': {
    previous: running({ startedAt: iso(ago(3 * H)) }),
    obs: { scratch: [scratch({ status: 'Online' })] },
    phase: 'Running',
    step: 'CleaningUp',
    result: 'ExceededRTO',
    actions: [`delete ${SCRATCH} (cleanup)`],
    events: ['DrillExceededRTO'],
    condition: ['False', 'DrillExceededRTO'],
  },
  'running, still restoring after rto x timeoutFactor: failed, restore canceled': {
    previous: running({ startedAt: iso(ago(4 * H + M)) }),
    obs: { scratch: [scratch()] },
    phase: 'Running',
    step: 'CleaningUp',
    result: 'Failed',
    actions: [`delete ${SCRATCH} (timeout)`],
    events: ['DrillFailed'],
    condition: ['False', 'DrillFailed'],
  },
  'running -> the restore failed (scratch gone): failed, nothing to clean': {
    previous: running(),
    obs: { scratch: [] },
    phase: 'Failed',
    result: 'Failed',
    actions: [],
    events: ['DrillFailed'],
    condition: ['False', 'DrillFailed'],
  },
  'running, scratch not visible yet right after the request: waits': {
    previous: running({ startedAt: iso(ago(30_000)) }),
    obs: { scratch: [] },
    phase: 'Running',
    step: 'Restoring',
    actions: [],
    events: [],
    condition: ['True', 'DrillRunning'],
  },
  'running -> Online but smaller than minimumSizeBytes: failed': {
    previous: running(),
    settings: { minimumSizeBytes: 1_000_000 },
    obs: { scratch: [scratch({ status: 'Online', usedBytes: 4096 })] },
    phase: 'Running',
    step: 'CleaningUp',
    result: 'Failed',
    actions: [`delete ${SCRATCH} (cleanup)`],
    events: ['DrillFailed'],
    condition: ['False', 'DrillFailed'],
  },
  'running -> restored but Suspect, not Online: failed': {
    previous: running(),
    obs: { scratch: [scratch({ status: 'Suspect' })] },
    phase: 'Running',
    step: 'CleaningUp',
    result: 'Failed',
    actions: [`delete ${SCRATCH} (cleanup)`],
    events: ['DrillFailed'],
    condition: ['False', 'DrillFailed'],
  },
  'cleaning up, scratch still there: deletes again': {
    previous: running({ step: 'CleaningUp', result: 'Succeeded', message: 'ok' }),
    obs: { scratch: [scratch({ status: 'Online' })] },
    phase: 'Running',
    step: 'CleaningUp',
    result: 'Succeeded',
    actions: [`delete ${SCRATCH} (cleanup)`],
    events: [],
    condition: ['True', 'DrillSucceeded'],
  },
  'cleaning up, scratch dropping: waits without a second delete': {
    previous: running({ step: 'CleaningUp', result: 'Failed', message: 'bad' }),
    obs: { scratch: [scratch({ status: 'Dropping' })] },
    phase: 'Running',
    step: 'CleaningUp',
    result: 'Failed',
    actions: [],
    events: [],
    condition: ['False', 'DrillFailed'],
  },
  'cleaning up, scratch gone: finished': {
    previous: running({ step: 'CleaningUp', result: 'Succeeded', message: 'ok', measuredRtoSeconds: 1800 }),
    obs: { scratch: [] },
    phase: 'Succeeded',
    result: 'Succeeded',
    actions: [],
    events: [],
    condition: ['True', 'DrillSucceeded'],
  },
  'resume after a restart, the restore finished meanwhile': {
    previous: running({ startedAt: iso(ago(50 * M)) }),
    obs: { scratch: [scratch({ status: 'Online' })] },
    phase: 'Running',
    step: 'CleaningUp',
    result: 'Succeeded',
    actions: [`delete ${SCRATCH} (cleanup)`],
    events: ['DrillSucceeded'],
    condition: ['True', 'DrillSucceeded'],
  },
  'resume after a restart, the scratch database is gone': {
    previous: running({ startedAt: iso(ago(50 * M)) }),
    obs: { scratch: [] },
    phase: 'Failed',
    result: 'Failed',
    actions: [],
    events: ['DrillFailed'],
    condition: ['False', 'DrillFailed'],
  },
  'orphan after a crash between the restore request and the status write: deleted, no new drill yet': {
    previous: undefined,
    obs: { scratch: [scratch({ name: `${DB}-drill-202611251159`, status: 'Restoring' })] },
    phase: undefined,
    actions: [`delete ${DB}-drill-202611251159 (orphan)`],
    events: ['DrillScratchDeleted'],
    condition: ['Unknown', 'NoDrillYet'],
  },
  'orphan next to a running drill: the orphan goes, the drill stays': {
    previous: running(),
    obs: { scratch: [scratch(), scratch({ name: `${DB}-drill-202611181100`, status: 'Online' })] },
    phase: 'Running',
    step: 'Restoring',
    actions: [`delete ${DB}-drill-202611181100 (orphan)`],
    events: ['DrillScratchDeleted'],
    condition: ['True', 'DrillRunning'],
  },
};

describe('decideDrill', () => {
  test.each(Object.entries(cases))('%s', (_name, c) => {
    const d = decideDrill(c.previous, settings(c.settings), obs(c.obs));
    expect(d.status?.phase).toBe(c.phase);
    if (c.step !== undefined) expect(d.status?.step).toBe(c.step);
    if (c.result !== undefined) expect(d.status?.result).toBe(c.result);
    expect(d.actions.map((a) => (a.kind === 'restore' ? `restore ${a.name}` : `delete ${a.name} (${a.why})`))).toEqual(c.actions);
    expect(d.events.map((e) => e.reason)).toEqual(c.events);
    expect([d.condition.status, d.condition.reason]).toEqual(c.condition);
    expect(d.condition.type).toBe('RestoreDrillSucceeded');
    // Never the live database.
    for (const a of d.actions) expect(a.name).not.toBe(DB);
  });

  test('a started drill restores the newest restore point and records it', () => {
    const d = decideDrill(undefined, settings(), obs());
    expect(d.actions[0]).toEqual({ kind: 'restore', name: `${DB}-drill-202611251200`, restorePointInTime: ago(5 * M) });
    expect(d.status).toMatchObject({
      startedAt: NOW.toISOString(),
      restorePointInTime: ago(5 * M).toISOString(),
      scratchDatabase: `${DB}-drill-202611251200`,
    });
    expect(d.requeueAfterMs).toBe(30_000);
  });

  test('the measured RTO is the time from the request to Online, and the next drill is due every after the start', () => {
    const verdict = decideDrill(
      running({ startedAt: iso(ago(31 * M)) }),
      settings(),
      obs({ scratch: [scratch({ status: 'Online' })] }),
    );
    expect(verdict.status?.measuredRtoSeconds).toBe(31 * 60);
    expect(verdict.condition.message).toContain('in 31m');
    const done = decideDrill(verdict.status, settings(), obs({ scratch: [] }));
    expect(done.status).toMatchObject({ phase: 'Succeeded', nextDrillAt: iso(new Date(ago(31 * M).getTime() + 168 * H)) });
    expect(done.status?.previous).toBeUndefined();
    expect(done.status?.step).toBeUndefined();
  });

  test('while idle, it looks again when the next drill is due (capped)', () => {
    expect(decideDrill(succeeded({ startedAt: iso(ago(167 * H)) }), settings(), obs()).requeueAfterMs).toBe(H);
    expect(decideDrill(succeeded(), settings(), obs()).requeueAfterMs).toBe(6 * H);
  });

  test('a closed window shows the opening as the next drill', () => {
    const opening = new Date('2026-12-02T01:00:00Z');
    const d = decideDrill(
      succeeded({ startedAt: iso(ago(200 * H)) }),
      settings({ window: { open: false, nextOpensAt: opening, description: 'w' } }),
      obs(),
    );
    expect(d.status?.nextDrillAt).toBe(iso(opening));
  });

  test('no restore point at all: no drill, says why', () => {
    const d = decideDrill(undefined, settings(), obs({ restoreWindow: { earliest: undefined, newest: undefined } }));
    expect(d.actions).toEqual([]);
    expect(d.condition.message).toContain('no point the database can be restored to');
  });

  test('without a newest point (real Azure), it restores ten minutes back', () => {
    const d = decideDrill(undefined, settings(), obs({ restoreWindow: { earliest: ago(14 * 24 * H), newest: undefined } }));
    expect(d.actions[0]).toMatchObject({ kind: 'restore', restorePointInTime: ago(10 * M) });
  });
});

describe('drills off', () => {
  const off = { off: true as const, reason: 'DrillsDisabled', message: 'Restore drills are disabled.' };

  test('a running drill is canceled: its scratch database is deleted', () => {
    const d = decideDrill(running(), off, obs({ scratch: [scratch()] }));
    expect(d.actions).toEqual([{ kind: 'delete', name: SCRATCH, why: 'canceled' }]);
    expect(d.status).toMatchObject({ phase: 'Running', step: 'CleaningUp' });
    expect(d.status?.result).toBeUndefined();
    expect(d.condition).toMatchObject({ status: 'Unknown', reason: 'DrillsDisabled' });
  });

  test('once the canceled drill is gone, the drill before it is shown again', () => {
    const d = decideDrill(running({ step: 'CleaningUp' }), off, obs({ scratch: [] }));
    expect(d.status).toMatchObject({ phase: 'Succeeded', result: 'Succeeded', measuredRtoSeconds: 1800 });
  });

  test('idle: nothing happens, orphans still go', () => {
    const d = decideDrill(succeeded(), off, obs({ scratch: [scratch({ name: `${DB}-drill-202601010000` })] }));
    expect(d.actions).toEqual([{ kind: 'delete', name: `${DB}-drill-202601010000`, why: 'orphan' }]);
    expect(d.status).toEqual(succeeded());
  });
});

describe('drillRestoreRefused', () => {
  test('a refused restore is a failed drill with nothing to clean up', () => {
    const d = drillRestoreRefused(running({ startedAt: iso(NOW) }), 168 * H, NOW, 'AzureInvalidRequest: bad time');
    expect(d.status).toMatchObject({ phase: 'Failed', result: 'Failed' });
    expect(d.status?.step).toBeUndefined();
    expect(d.events).toEqual([expect.objectContaining({ type: 'Warning', reason: 'DrillFailed' })]);
    expect(d.condition).toMatchObject({ status: 'False', reason: 'DrillFailed' });
  });
});

describe('scratch database names', () => {
  test('deterministic per minute, UTC', () => {
    expect(scratchDatabaseName(DB, new Date('2026-11-25T12:34:56Z'))).toBe(`${DB}-drill-202611251234`);
  });

  test('within 128 characters for the longest database names', () => {
    const long = 'x'.repeat(128);
    const name = scratchDatabaseName(long, NOW);
    expect(name.length).toBe(128);
    expect(isScratchDatabaseOf(name, long)).toBe(true);
  });

  test.each([
    [`${DB}-drill-202611251234`, true],
    [`${DB.toUpperCase()}-DRILL-202611251234`, true],
    [DB, false],
    [`${DB}-drill-`, false],
    [`${DB}-drill-2026112512`, false],
    [`${DB}-drill-202611251234-x`, false],
    [`other-drill-202611251234`, false],
    [`${DB}-copy`, false],
  ])('%s is a scratch database of the tenant: %s', (name, expected) => {
    expect(isScratchDatabaseOf(name, DB)).toBe(expected);
  });
});
