/** ServerDatabaseListings: one listing per server shared by its callers, reused until it ages, never kept when it failed. */
import { beforeEach, describe, expect, test } from '@jest/globals';
import type { AzureContext } from '../../../src/azure/arm.ts';
import { ServerDatabaseListings } from '../../../src/azure/sql-backups.ts';

/** A context whose `databases.listByServer` answers from `answers` (an Error is thrown) and counts calls. */
function fakeAzure(answers: Array<string[] | Error>) {
  const calls: string[] = [];
  const sql = {
    databases: {
      listByServer(resourceGroup: string, server: string) {
        calls.push(`${resourceGroup}/${server}`);
        const answer = answers.shift() ?? [];
        return (async function* () {
          if (answer instanceof Error) throw answer;
          for (const name of answer) yield { id: `/x/${name}`, name, location: 'westeurope', tags: {} };
        })();
      },
    },
  };
  const ctx = { clients: { subscriptionId: 'sub', sql } } as unknown as AzureContext;
  return { ctx, calls };
}

describe('ServerDatabaseListings', () => {
  let now = 0;
  const listings = (maxAgeMs = 1000) =>
    new ServerDatabaseListings({ maxAgeMs, now: () => now, keep: (db) => db.name.includes('-drill-') });

  beforeEach(() => {
    now = 0;
  });

  test('callers on one server share a listing until it is maxAgeMs old; only what keep accepts is held', async () => {
    const { ctx, calls } = fakeAzure([['master', 'a', 'a-drill-1'], ['a-drill-2']]);
    const l = listings();
    const [first, second] = await Promise.all([l.list(ctx, 'rg', 's1'), l.list(ctx, 'RG', 'S1')]);
    now = 999;
    const third = await l.list(ctx, 'rg', 's1');
    expect(calls).toHaveLength(1);
    expect([first, second, third].map((x) => x.map((d) => d.name))).toEqual([['a-drill-1'], ['a-drill-1'], ['a-drill-1']]);
    now = 1000;
    expect((await l.list(ctx, 'rg', 's1')).map((d) => d.name)).toEqual(['a-drill-2']);
    expect(calls).toHaveLength(2);
  });

  test('fresh lists now; forget makes the next caller list; other servers are listed apart', async () => {
    const { ctx, calls } = fakeAzure([[], [], [], []]);
    const l = listings();
    await l.list(ctx, 'rg', 's1');
    await l.list(ctx, 'rg', 's1', true);
    l.forget(ctx, 'rg', 's1');
    await l.list(ctx, 'rg', 's1');
    await l.list(ctx, 'rg', 's2');
    expect(calls).toEqual(['rg/s1', 'rg/s1', 'rg/s1', 'rg/s2']);
  });

  test('a failed listing is not kept: its callers see the error, the next caller lists again', async () => {
    const { ctx, calls } = fakeAzure([new Error('throttled'), ['b-drill-1']]);
    const l = listings();
    await expect(l.list(ctx, 'rg', 's1')).rejects.toThrow('throttled');
    expect((await l.list(ctx, 'rg', 's1')).map((d) => d.name)).toEqual(['b-drill-1']);
    expect(calls).toHaveLength(2);
  });
});
