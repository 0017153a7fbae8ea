import { describe, expect, test } from '@jest/globals';
import type { AzureContext } from '../../../src/azure/arm.ts';
import type { AzureClients } from '../../../src/azure/clients.ts';
import type { DatabaseObserved } from '../../../src/azure/sql-backups.ts';
import { type DrillDecision, type DrillStatus, decideDrill } from '../../../src/backup/drill.ts';
import { type DrillTarget, executeDrillActions, isDrillCopy } from '../../../src/backup/drill-runner.ts';

const NOW = new Date('2026-11-25T12:00:00Z');
const H = 3_600_000;
const DB = 'sqldb-acme-prd';
const live: DatabaseObserved = {
  id: `/subscriptions/s/resourceGroups/rg/providers/Microsoft.Sql/servers/sql/databases/${DB}`,
  name: DB,
  location: 'westeurope',
  tags: {},
  status: 'Online',
  sku: undefined,
  requestedBackupStorageRedundancy: 'Zone',
  earliestRestoreDate: new Date(NOW.getTime() - 14 * 24 * H),
  creationDate: new Date(NOW.getTime() - 30 * 24 * H),
};
const target: DrillTarget = { tenant: 'acme', resourceGroup: 'rg', serverName: 'sql', database: live };

interface Calls {
  restores: { name: string; body: Record<string, unknown> }[];
  deletes: string[];
}

function fakeAzure(o: { restoreError?: unknown; deleteError?: unknown } = {}): { azure: AzureContext; calls: Calls } {
  const calls: Calls = { restores: [], deletes: [] };
  const databases = {
    beginCreateOrUpdate: async (_rg: string, _server: string, name: string, body: Record<string, unknown>) => {
      calls.restores.push({ name, body });
      if (o.restoreError) throw o.restoreError;
      return { getOperationState: () => ({ status: 'running' }) };
    },
    beginDelete: async (_rg: string, _server: string, name: string) => {
      calls.deletes.push(name);
      if (o.deleteError) throw o.deleteError;
      return {};
    },
  };
  return { azure: { clients: { sql: { databases } } as unknown as AzureClients }, calls };
}

const restError = (statusCode: number | undefined, code: string, message = 'nope') =>
  Object.assign(new Error(message), { name: 'RestError', statusCode, code });

const settings = {
  everyMs: 168 * H,
  rtoMs: 2 * H,
  timeoutFactor: 2,
  minimumSizeBytes: undefined,
  firstDrillGraceMs: H,
  missingGraceMs: 120_000,
  pollMs: 30_000,
  maxIdleRequeueMs: 6 * H,
};
const previous: DrillStatus = {
  phase: 'Succeeded',
  result: 'Succeeded',
  startedAt: '2026-11-01T00:00:00Z',
  finishedAt: '2026-11-01T00:40:00Z',
  measuredRtoSeconds: 2400,
};
const obs = {
  now: NOW,
  database: { name: DB, id: live.id, status: 'Online', creationDate: live.creationDate },
  scratch: [],
  restoreWindow: { earliest: live.earliestRestoreDate, newest: new Date(NOW.getTime() - 300_000) },
};
const start = (): DrillDecision => decideDrill(previous, settings, obs);
const run = (azure: AzureContext, decision: DrillDecision) =>
  executeDrillActions(azure, target, previous, decision, { everyMs: settings.everyMs, now: NOW });

describe('executeDrillActions', () => {
  test('a started restore: source, point in time, same location and redundancy, drill tags', async () => {
    const { azure, calls } = fakeAzure();
    const { decision, writes } = await run(azure, start());
    expect(calls.restores).toHaveLength(1);
    expect(calls.restores[0]?.name).toBe(`${DB}-drill-202611251200`);
    expect(calls.restores[0]?.body).toMatchObject({
      createMode: 'PointInTimeRestore',
      sourceDatabaseId: live.id,
      restorePointInTime: new Date(NOW.getTime() - 300_000),
      location: 'westeurope',
      requestedBackupStorageRedundancy: 'Zone',
      tags: { 'managed-by': 'tenant-operator', 'tenancy.dev-tenant': 'acme', 'tenancy.dev-drill-of': DB },
    });
    expect(decision.status?.phase).toBe('Running');
    expect(writes).toHaveLength(1);
  });

  test.each([
    ['refused by Azure (400)', restError(400, 'RestorePointInTimeOutOfRange')],
    ['its operation already failed', restError(undefined, '', 'The long-running operation has failed. RestoreFailed. broken')],
  ])('a restore %s makes a failed drill at once', async (_name, error) => {
    const { azure } = fakeAzure({ restoreError: error });
    const { decision, writes } = await run(azure, start());
    expect(decision.status).toMatchObject({ phase: 'Failed', result: 'Failed' });
    expect(decision.events.map((e) => e.reason)).toEqual(['DrillFailed']);
    expect(decision.condition).toMatchObject({ status: 'False', reason: 'DrillFailed' });
    expect(writes).toEqual([]);
  });

  test('a transient error leaves the drill unstarted, to retry', async () => {
    const { azure } = fakeAzure({ restoreError: restError(409, 'AnotherOperationInProgress') });
    const { decision } = await run(azure, start());
    expect(decision.status).toEqual(previous);
    expect(decision.events.map((e) => e.reason)).toEqual(['DrillNotStarted']);
    expect(decision.condition).toMatchObject({ status: 'True', reason: 'DrillSucceeded' });
    expect(decision.requeueAfterMs).toBe(30_000);
  });

  test('a failed delete keeps the decision and says so', async () => {
    const running: DrillStatus = {
      phase: 'Running',
      step: 'CleaningUp',
      result: 'Succeeded',
      startedAt: NOW.toISOString(),
      scratchDatabase: `${DB}-drill-202611251100`,
    };
    const d = decideDrill(running, settings, {
      ...obs,
      scratch: [{ name: `${DB}-drill-202611251100`, status: 'Online', sourceDatabaseId: live.id, usedBytes: undefined }],
    });
    const { azure, calls } = fakeAzure({ deleteError: restError(429, 'TooManyRequests') });
    const { decision } = await run(azure, d);
    expect(calls.deletes).toEqual([`${DB}-drill-202611251100`]);
    expect(decision.status).toEqual(d.status);
    expect(decision.events.map((e) => e.reason)).toEqual(['DrillCleanupFailed']);
  });

  test('an action naming the live database is refused before any call', async () => {
    const { azure, calls } = fakeAzure();
    const rogue: DrillDecision = { ...start(), actions: [{ kind: 'delete', name: DB, why: 'cleanup' }] };
    await expect(run(azure, rogue)).rejects.toThrow(`refusing to delete database ${DB}`);
    const rogueRestore: DrillDecision = { ...start(), actions: [{ kind: 'restore', name: DB, restorePointInTime: NOW }] };
    await expect(run(azure, rogueRestore)).rejects.toThrow(`refusing to restore database ${DB}`);
    expect(calls).toEqual({ restores: [], deletes: [] });
  });
});

test.each([
  [{ name: `${DB}-drill-202611251200`, tags: {} }, true],
  [{ name: 'renamed-copy', tags: { 'tenancy.dev-drill-of': DB } }, true],
  [{ name: DB, tags: { 'tenancy.dev-drill-of': DB } }, false],
  [{ name: 'someone-elses', tags: {} }, false],
])('isDrillCopy(%j)', (db, expected) => {
  expect(isDrillCopy(db, DB)).toBe(expected);
});
