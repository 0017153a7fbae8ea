/** The ARM emulator's backup model, which the backup integration tests lean on. */
import { describe, expect, test } from '@jest/globals';
import { createControllableClock } from '../../../hack/arm-emulator/clock.ts';
import { type BackupPause, newestBackupTime, resumeBackups, stopBackups } from '../../../hack/arm-emulator/sql-backups.ts';

const M = 60_000;
const T0 = Date.parse('2026-11-25T00:00:00Z');
const every10 = (now: number, pauses: BackupPause[] = []) => newestBackupTime(T0, T0 + now, 10 * M, pauses);

describe('newestBackupTime (a backup every 10 minutes from creation)', () => {
  test.each([
    ['at creation: the first full backup', 0, 0],
    ['9 minutes later: still the first', 9 * M, 0],
    ['exactly on a tick', 30 * M, 30 * M],
    ['between ticks', 35 * M, 30 * M],
  ])('%s', (_name, now, expected) => {
    expect(every10(now)).toBe(T0 + expected);
  });

  test('before creation there is none', () => {
    expect(every10(-1)).toBeUndefined();
  });

  test.each([
    [
      'stopped at 25m, now 3h: the 20m backup stays the newest',
      [{ database: undefined, from: T0 + 25 * M, to: undefined }],
      180 * M,
      20 * M,
    ],
    [
      'stopped exactly on a tick (30m): that backup is not taken',
      [{ database: undefined, from: T0 + 30 * M, to: undefined }],
      180 * M,
      20 * M,
    ],
    [
      'stopped 25m-95m, now 2h: backups are back',
      [{ database: undefined, from: T0 + 25 * M, to: T0 + 95 * M }],
      120 * M,
      120 * M,
    ],
    [
      'stopped 25m-95m, now 99m: the first tick after resuming is 100m',
      [{ database: undefined, from: T0 + 25 * M, to: T0 + 95 * M }],
      99 * M,
      20 * M,
    ],
    [
      'two pauses back to back',
      [
        { database: undefined, from: T0 + 25 * M, to: T0 + 55 * M },
        { database: undefined, from: T0 + 55 * M, to: undefined },
      ],
      180 * M,
      20 * M,
    ],
  ])('%s', (_name, pauses: BackupPause[], now, expected) => {
    expect(every10(now, pauses)).toBe(T0 + expected);
  });

  test('stopped since before creation: no backup at all', () => {
    expect(every10(60 * M, [{ database: undefined, from: T0 - 1, to: undefined }])).toBeUndefined();
  });
});

describe('stop and resume', () => {
  test('stopping twice opens one pause; resuming closes it', () => {
    const pauses: BackupPause[] = [];
    stopBackups(pauses, 100, 'DB');
    stopBackups(pauses, 200, 'db');
    expect(pauses).toEqual([{ database: 'db', from: 100, to: undefined }]);
    resumeBackups(pauses, 300, 'db');
    expect(pauses).toEqual([{ database: 'db', from: 100, to: 300 }]);
  });

  test('resume without a name ends every open pause', () => {
    const pauses: BackupPause[] = [];
    stopBackups(pauses, 100, 'a');
    stopBackups(pauses, 100);
    resumeBackups(pauses, 200);
    expect(pauses.every((p) => p.to === 200)).toBe(true);
  });
});

describe('the emulated clock', () => {
  test('frozen by default; running with real time when asked, still movable', () => {
    const start = new Date('2026-11-25T00:00:00Z');
    const frozen = createControllableClock(start);
    const running = createControllableClock(start, { running: true });
    const realStart = Date.now();
    while (Date.now() - realStart < 5) {
      // let real time pass
    }
    expect(frozen.now().getTime()).toBe(start.getTime());
    expect(running.now().getTime()).toBeGreaterThanOrEqual(start.getTime() + 5);
    running.set(start);
    running.advance(60_000);
    expect(running.now().getTime() - start.getTime()).toBeGreaterThanOrEqual(60_000);
    expect(running.now().getTime() - start.getTime()).toBeLessThan(60_000 + 1000);
  });
});
