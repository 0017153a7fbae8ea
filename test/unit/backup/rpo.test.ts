import { describe, expect, test } from '@jest/globals';
import { checkRpo, formatAge, restorePointToRecord } from '../../../src/backup/rpo.ts';

const NOW = new Date('2026-11-25T12:00:00Z');
const H = 3_600_000;
const ago = (ms: number) => new Date(NOW.getTime() - ms);
const db = { name: 'sqldb-acme-prd', creationDate: ago(30 * 24 * H) };

describe('checkRpo around the 2 h boundary', () => {
  test.each([
    ['a point 10 minutes old', 10 * 60_000, 'True', 'WithinRPO'],
    ['a point exactly 2 h old (at most the RPO)', 2 * H, 'True', 'WithinRPO'],
    ['a point 2 h and 1 s old', 2 * H + 1000, 'False', 'RPOBreached'],
    ['a point 2 h and 1 ms old', 2 * H + 1, 'False', 'RPOBreached'],
    ['a point 5 h old', 5 * H, 'False', 'RPOBreached'],
    ['a point in the future (clock skew)', -60_000, 'True', 'WithinRPO'],
  ])('%s', (_name, ageMs, status, reason) => {
    const result = checkRpo({
      now: NOW,
      rpoMs: 2 * H,
      database: db,
      newestRestorePoint: ago(ageMs),
      earliestRestorePoint: ago(14 * 24 * H),
    });
    expect(result.condition).toMatchObject({ type: 'BackupHealthy', status, reason });
    expect(result.ageMs).toBe(Math.max(0, ageMs));
  });

  test('a breach names the age and the target', () => {
    const result = checkRpo({
      now: NOW,
      rpoMs: 2 * H,
      database: db,
      newestRestorePoint: ago(3 * H + 10 * 60_000),
      earliestRestorePoint: undefined,
    });
    expect(result.condition.message).toContain('is 3h10m old, beyond the RPO of 2h');
    expect(result.breachAt).toBeUndefined();
  });

  test('within the RPO, it says when the breach would come', () => {
    const result = checkRpo({
      now: NOW,
      rpoMs: 2 * H,
      database: db,
      newestRestorePoint: ago(H),
      earliestRestorePoint: undefined,
    });
    expect(result.breachAt?.getTime()).toBe(NOW.getTime() + H + 1);
  });

  test.each([
    ['paused 1h after its newest backup: nothing written since, within', H, 'True', 'WithinRPO'],
    ['paused 3h after its newest backup: those 3h are at risk', 3 * H, 'False', 'RPOBreached'],
  ])('a paused serverless database is judged at its pause: %s', (_name, pausedAfter, status, reason) => {
    const newest = ago(10 * H);
    const result = checkRpo({
      now: NOW,
      rpoMs: 2 * H,
      database: db,
      newestRestorePoint: newest,
      earliestRestorePoint: undefined,
      pausedSince: new Date(newest.getTime() + pausedAfter),
    });
    expect(result.condition).toMatchObject({ status, reason });
    expect(result.condition.message).toContain('The database is paused since');
    expect(result.breachAt).toBeUndefined();
  });
});

describe('checkRpo without a newest restore point', () => {
  test.each([
    ['no database', undefined, undefined, 'Unknown', 'BackupsUnknown', 'does not exist yet'],
    [
      'the database lists no completed backup yet, Azure only the continuous point',
      db,
      ago(14 * 24 * H),
      'Unknown',
      'BackupsUnknown',
      'lists no completed backup yet',
    ],
    [
      'a database 30 minutes old without a backup yet',
      { name: 'new', creationDate: ago(30 * 60_000) },
      undefined,
      'Unknown',
      'BackupsUnknown',
      'first backup is expected shortly',
    ],
    [
      'a database 3 h old that never had a backup',
      { name: 'old', creationDate: ago(3 * H) },
      undefined,
      'False',
      'RPOBreached',
      'has no restore point although it was created 3h ago',
    ],
  ])('%s', (_name, database, earliest, status, reason, message) => {
    const result = checkRpo({ now: NOW, rpoMs: 2 * H, database, newestRestorePoint: undefined, earliestRestorePoint: earliest });
    expect(result.condition).toMatchObject({ status, reason });
    expect(result.condition.message).toContain(message);
    expect(result.ageMs).toBeUndefined();
  });
});

test.each([
  [0, '0s'],
  [59_999, '59s'],
  [60_000, '1m'],
  [2 * H, '2h'],
  [2 * H + 10 * 60_000 + 59_000, '2h10m'],
])('formatAge(%i) = %s', (ms, text) => {
  expect(formatAge(ms)).toBe(text);
});

describe('restorePointToRecord: status keeps a restore point until three quarters of the RPO', () => {
  const M = 60_000;
  // RPO 1 h: refreshed once the recorded point is older than 45 minutes.
  test.each<[string, number | undefined, number | undefined, number | undefined, number | undefined]>([
    // name, live age, recorded age (undefined: none yet), expected recorded age, expected refresh in
    ['nothing recorded yet: the live point', 5 * M, undefined, 5 * M, 40 * M],
    ['a newer backup, recorded point 20 minutes old: kept (no write)', 5 * M, 20 * M, 20 * M, 25 * M],
    ['recorded point 45 minutes less 1 ms old: still kept, refreshed in 1 ms', 5 * M, 45 * M - 1, 45 * M - 1, 1],
    ['recorded point exactly 45 minutes old: the live point', 5 * M, 45 * M, 5 * M, 40 * M],
    ['no newer backup and past the threshold: the same point, nothing to refresh', 50 * M, 50 * M, 50 * M, undefined],
    ['live point older than the recorded one (a restore, a recreated database): the live one', 30 * M, 10 * M, 30 * M, 15 * M],
    ['no live point: nothing recorded', undefined, 10 * M, undefined, undefined],
  ])('%s', (_name, liveAge, recordedAge, expectedAge, refreshIn) => {
    const at = (age: number | undefined) => (age === undefined ? undefined : ago(age));
    const result = restorePointToRecord({ now: NOW, rpoMs: H, live: at(liveAge), previouslyRecorded: at(recordedAge) });
    expect(result.recorded?.getTime()).toBe(at(expectedAge)?.getTime());
    expect(result.refreshAt?.getTime()).toBe(refreshIn === undefined ? undefined : NOW.getTime() + refreshIn);
  });

  test('whatever is kept, the verdict is the live point’s: kept points are within the RPO, and so is the live one', () => {
    for (let recordedAge = 0; recordedAge <= 2 * H; recordedAge += 5 * M) {
      for (let liveAge = 0; liveAge <= recordedAge; liveAge += 5 * M) {
        const { recorded } = restorePointToRecord({
          now: NOW,
          rpoMs: H,
          live: ago(liveAge),
          previouslyRecorded: ago(recordedAge),
        });
        const verdict = (point: Date | undefined) =>
          checkRpo({ now: NOW, rpoMs: H, database: db, newestRestorePoint: point, earliestRestorePoint: undefined }).condition
            .reason;
        expect(verdict(recorded)).toBe(verdict(ago(liveAge)));
      }
    }
  });
});
