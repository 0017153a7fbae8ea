import { describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import { instantOf, isValidTimeZone, offsetAt, wallClockAt } from '../../../src/maintenance/zoned-time.ts';

const ms = (iso: string) => Date.parse(iso);
/** A wall-clock reading written as an ISO string without offset, e.g. '2026-03-29T01:30'. */
const wall = (local: string) => Date.parse(`${local}Z`);

describe('isValidTimeZone', () => {
  test.each([
    'Europe/London',
    'America/New_York',
    'Australia/Lord_Howe',
    'Asia/Kathmandu',
    'America/Port-au-Prince',
    'UTC',
    'Etc/UTC',
    'GMT',
    'Asia/Calcutta',
    'europe/london',
  ])('accepts %s', (name) => {
    expect(isValidTimeZone(name)).toBe(true);
  });

  test.each(['+02:00', '-0530', 'UTC+2', 'GMT+2', 'GMT-0', 'Etc/GMT+2', 'Etc/GMT-14', 'Europe/Londn', 'Z', ''])(
    'rejects %j',
    (name) => {
      expect(isValidTimeZone(name)).toBe(false);
    },
  );

  test('rejects a non-string, which Intl would read as the host zone', () => {
    expect(isValidTimeZone(undefined as unknown as string)).toBe(false);
  });
});

describe('wallClockAt and offsetAt', () => {
  test.each([
    ['Asia/Kathmandu, +05:45', 'Asia/Kathmandu', '2026-12-31T16:15:00Z', '2026-12-31T22:00', 345],
    ['Asia/Kolkata, +05:30', 'Asia/Kolkata', '2026-07-01T00:00:00Z', '2026-07-01T05:30', 330],
    ['Australia/Lord_Howe in summer, +11:00', 'Australia/Lord_Howe', '2026-01-15T00:00:00Z', '2026-01-15T11:00', 660],
    ['Australia/Lord_Howe in winter, +10:30', 'Australia/Lord_Howe', '2026-07-15T00:00:00Z', '2026-07-15T10:30', 630],
    ['Pacific/Chatham in summer, +13:45', 'Pacific/Chatham', '2026-01-15T00:00:00Z', '2026-01-15T13:45', 825],
    ['America/St_Johns in winter, -03:30', 'America/St_Johns', '2026-01-15T00:00:00Z', '2026-01-14T20:30', -210],
    ['Europe/London one second before spring forward', 'Europe/London', '2026-03-29T00:59:59Z', '2026-03-29T00:59:59', 0],
    ['Europe/London at spring forward', 'Europe/London', '2026-03-29T01:00:00Z', '2026-03-29T02:00', 60],
    ['Europe/London at midnight (00, never 24)', 'Europe/London', '2026-01-01T00:00:00Z', '2026-01-01T00:00', 0],
  ])('%s', (_name, timeZone, instant, local, offsetMinutes) => {
    expect(wallClockAt(timeZone, ms(instant))).toBe(wall(local));
    expect(offsetAt(timeZone, ms(instant))).toBe(offsetMinutes * 60_000);
  });

  test('milliseconds carry over, before 1970 too', () => {
    expect(wallClockAt('Asia/Kolkata', ms('2026-07-01T00:00:00.250Z'))).toBe(wall('2026-07-01T05:30:00.250'));
    // London kept British Standard Time, UTC+1, through 1970.
    expect(wallClockAt('Europe/London', -1)).toBe(wall('1970-01-01T00:59:59.999'));
  });

  test('an unknown zone throws', () => {
    expect(() => wallClockAt('Mars/Olympus_Mons', 0)).toThrow(RangeError);
  });
});

describe('instantOf', () => {
  test.each([
    ['a plain reading', 'Europe/London', '2026-06-01T12:00', 'earlier', '2026-06-01T11:00:00Z'],
    ['a plain reading, later', 'Europe/London', '2026-06-01T12:00', 'later', '2026-06-01T11:00:00Z'],
    ['London gap, earlier', 'Europe/London', '2026-03-29T01:30', 'earlier', '2026-03-29T01:00:00Z'],
    ['London gap, later', 'Europe/London', '2026-03-29T01:30', 'later', '2026-03-29T01:00:00Z'],
    ['London gap, its first minute', 'Europe/London', '2026-03-29T01:00', 'earlier', '2026-03-29T01:00:00Z'],
    ['London end of gap', 'Europe/London', '2026-03-29T02:00', 'earlier', '2026-03-29T01:00:00Z'],
    ['London repeated hour, earlier', 'Europe/London', '2026-10-25T01:30', 'earlier', '2026-10-25T00:30:00Z'],
    ['London repeated hour, later', 'Europe/London', '2026-10-25T01:30', 'later', '2026-10-25T01:30:00Z'],
    ['Lord Howe gap', 'Australia/Lord_Howe', '2026-10-04T02:10', 'earlier', '2026-10-03T15:30:00Z'],
    ['Lord Howe repeated half hour, earlier', 'Australia/Lord_Howe', '2026-04-05T01:40', 'earlier', '2026-04-04T14:40:00Z'],
    ['Lord Howe repeated half hour, later', 'Australia/Lord_Howe', '2026-04-05T01:40', 'later', '2026-04-04T15:10:00Z'],
    ['Santiago midnight gap', 'America/Santiago', '2026-09-06T00:00', 'earlier', '2026-09-06T04:00:00Z'],
    ['Apia skipped all of 2011-12-30', 'Pacific/Apia', '2011-12-30T10:00', 'earlier', '2011-12-30T10:00:00Z'],
    ['Apia, the morning after', 'Pacific/Apia', '2011-12-31T10:00', 'earlier', '2011-12-30T20:00:00Z'],
  ] as const)('%s', (_name, timeZone, local, disambiguation, instant) => {
    expect(instantOf(timeZone, wall(local), disambiguation)).toBe(ms(instant));
  });

  test('inverts wallClockAt: every instant is the earlier or the later reading of its wall clock', () => {
    const zones = ['Europe/London', 'America/New_York', 'Australia/Lord_Howe', 'Pacific/Chatham', 'America/Santiago'];
    fc.assert(
      fc.property(
        fc.constantFrom(...zones),
        fc.integer({ min: ms('2024-01-01T00:00:00Z'), max: ms('2030-01-01T00:00:00Z') }),
        (timeZone, instant) => {
          const reading = wallClockAt(timeZone, instant);
          const earlier = instantOf(timeZone, reading, 'earlier');
          const later = instantOf(timeZone, reading, 'later');
          expect(earlier <= instant && instant <= later).toBe(true);
          expect([earlier, later]).toContain(instant);
        },
      ),
      { numRuns: 300 },
    );
  });
});
