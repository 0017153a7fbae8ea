import { describe, expect, test } from '@jest/globals';
import {
  type BlackoutPeriod,
  type ExtraWindow,
  formatDuration,
  isWithinWindow,
  nextWindow,
  parseDuration,
  upcomingWindows,
  validateSchedule,
  type Weekday,
  type WeeklyRecurrence,
  type WindowSchedule,
  windowContaining,
} from '../../../src/maintenance/window.ts';

// Every expected instant below is a literal worked out by hand from the 2026/2027 transitions in tzdata
// (listed per table); none is computed by the code under test.

const at = (iso: string) => new Date(iso);
const schedule = (
  timeZone: string,
  recurrences: WeeklyRecurrence[],
  extra: { blackouts?: BlackoutPeriod[]; extraWindows?: ExtraWindow[] } = {},
): WindowSchedule => ({ timeZone, recurrences, ...extra });
const weekly = (day: Weekday, start: string, duration: string): WeeklyRecurrence => ({
  days: [day],
  start,
  duration,
});
const interval = (opensAt: string, closesAt: string) => ({ opensAt: at(opensAt), closesAt: at(closesAt) });

/** Asserts the window [opensAt, closesAt) is the next one after `after` and is open exactly over that range. */
function expectOnlyWindow(s: WindowSchedule, after: string, opensAt: string, closesAt: string): void {
  const expected = interval(opensAt, closesAt);
  expect(nextWindow(s, at(after))).toEqual(expected);
  expect(windowContaining(s, at(opensAt))).toEqual(expected);
  expect(windowContaining(s, new Date(at(closesAt).getTime() - 1))).toEqual(expected);
  expect(windowContaining(s, new Date(at(opensAt).getTime() - 1))).toBeUndefined();
  expect(windowContaining(s, at(closesAt))).toBeUndefined();
}

type TransitionCase = [
  name: string,
  day: Weekday,
  start: string,
  duration: string,
  after: string,
  opensAt: string,
  closesAt: string,
];

describe('parseDuration', () => {
  test.each([
    ['3h', 3 * 3_600_000],
    ['90m', 90 * 60_000],
    ['2h30m', 9_000_000],
    ['1h0m0s', 3_600_000],
    ['1.5h', 5_400_000],
    ['0.1h', 360_000],
    ['.5m', 30_000],
    ['1.m', 60_000],
    ['45s', 45_000],
    ['500ms', 500],
    ['1m1ms', 60_001],
    ['168h', 604_800_000],
    ['0', 0],
    ['-0', 0],
    ['+2h', 7_200_000],
    ['-90m', -5_400_000],
  ])('%s is %i ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  test.each([
    ['empty', '', 'expected a Go-style duration'],
    ['a number without unit', '3', 'expected a Go-style duration'],
    ['a unit without number', 'h', 'expected a Go-style duration'],
    ['a bare dot', '.h', 'expected a Go-style duration'],
    ['days, which Go does not have', '3d', 'expected a Go-style duration'],
    ['microseconds, finer than a Date', '5us', 'expected a Go-style duration'],
    ['spaces', '1h 30m', 'expected a Go-style duration'],
    ['a trailing number', '1h30', 'expected a Go-style duration'],
    ['two signs', '+-1h', 'expected a Go-style duration'],
    ['an exponent', '1e3s', 'expected a Go-style duration'],
    ['surrounding whitespace', ' 3h', 'expected a Go-style duration'],
    ['a sub-millisecond fraction', '0.0001s', 'finer than a millisecond'],
    ['more than Number.MAX_SAFE_INTEGER ms', '9999999999999h', 'too large'],
  ])('rejects %s', (_name, text, reason) => {
    expect(() => parseDuration(text)).toThrow(`invalid duration ${JSON.stringify(text)}: ${reason}`);
  });
});

describe('formatDuration', () => {
  test.each([
    [0, '0s'],
    [3 * 3_600_000, '3h'],
    [9_000_000, '2h30m'],
    [90_000, '1m30s'],
    [1500, '1s500ms'],
    [3_600_001, '1h1ms'],
    [-3_600_000, '-1h'],
    [604_800_000, '168h'],
  ])('%i ms is %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  test.each([[1.5], [Number.NaN], [2 ** 53]])('rejects %d', (ms) => {
    expect(() => formatDuration(ms)).toThrow(RangeError);
  });
});

describe('recurrence basics', () => {
  test('Wednesdays 02:00-05:00 Europe/London is 02:00Z in winter and 01:00Z in summer', () => {
    const s = schedule('Europe/London', [weekly('Wednesday', '02:00', '3h')]);
    expectOnlyWindow(s, '2026-03-24T12:00:00Z', '2026-03-25T02:00:00Z', '2026-03-25T05:00:00Z');
    expectOnlyWindow(s, '2026-03-31T12:00:00Z', '2026-04-01T01:00:00Z', '2026-04-01T04:00:00Z');
  });

  test('the window is half-open: open at opensAt, closed at closesAt', () => {
    const s = schedule('UTC', [weekly('Monday', '10:00', '1h')]);
    expect(isWithinWindow(s, at('2026-03-02T09:59:59.999Z'))).toBe(false);
    expect(isWithinWindow(s, at('2026-03-02T10:00:00Z'))).toBe(true);
    expect(isWithinWindow(s, at('2026-03-02T10:59:59.999Z'))).toBe(true);
    expect(isWithinWindow(s, at('2026-03-02T11:00:00Z'))).toBe(false);
  });

  test('a window crosses midnight and the week boundary: Sunday 23:00 + 3h ends Monday 02:00', () => {
    const s = schedule('UTC', [weekly('Sunday', '23:00', '3h')]);
    expectOnlyWindow(s, '2026-02-28T00:00:00Z', '2026-03-01T23:00:00Z', '2026-03-02T02:00:00Z');
    expect(windowContaining(s, at('2026-03-02T01:30:00Z'))).toEqual(interval('2026-03-01T23:00:00Z', '2026-03-02T02:00:00Z'));
  });

  test('a 168h recurrence runs a whole week of wall clock', () => {
    // Blackouts on the Sundays either side keep neighbouring occurrences from merging with this one.
    const s = schedule('Europe/London', [weekly('Sunday', '03:00', '168h')], {
      blackouts: [
        { start: '2026-03-15', end: '2026-03-15' },
        { start: '2026-03-29', end: '2026-03-29' },
      ],
    });
    // Sunday 2026-03-22 03:00 GMT to Sunday 2026-03-29 03:00 BST: 167h elapsed over the spring-forward.
    expectOnlyWindow(s, '2026-03-20T00:00:00Z', '2026-03-22T03:00:00Z', '2026-03-29T02:00:00Z');
  });

  test('every listed day has its own occurrence', () => {
    const s = schedule('UTC', [{ days: ['Tuesday', 'Friday'], start: '04:00', duration: '1h' }]);
    expect(upcomingWindows(s, at('2026-03-01T00:00:00Z'), 3)).toEqual([
      interval('2026-03-03T04:00:00Z', '2026-03-03T05:00:00Z'),
      interval('2026-03-06T04:00:00Z', '2026-03-06T05:00:00Z'),
      interval('2026-03-10T04:00:00Z', '2026-03-10T05:00:00Z'),
    ]);
  });
});

// Europe/London: 2026-03-29 01:00 GMT becomes 02:00 BST at 01:00Z; 2026-10-25 02:00 BST becomes 01:00 GMT
// at 01:00Z (01:00-01:59 occurs as BST at 00:00Z-00:59Z, then as GMT at 01:00Z-01:59Z); 2027-03-28 and
// 2027-10-31 likewise.
const london: TransitionCase[] = [
  [
    'spring forward: 00:30 + 2h ends at 02:30 BST, 1h elapsed',
    'Sunday',
    '00:30',
    '2h',
    '2026-03-28T00:00:00Z',
    '2026-03-29T00:30:00Z',
    '2026-03-29T01:30:00Z',
  ],
  [
    'spring forward: start 01:30 in the gap opens at 02:00 BST',
    'Sunday',
    '01:30',
    '1h',
    '2026-03-28T00:00:00Z',
    '2026-03-29T01:00:00Z',
    '2026-03-29T01:30:00Z',
  ],
  [
    'spring forward: end 01:30 in the gap closes at 02:00 BST',
    'Sunday',
    '00:30',
    '1h',
    '2026-03-28T00:00:00Z',
    '2026-03-29T00:30:00Z',
    '2026-03-29T01:00:00Z',
  ],
  [
    'spring forward: 00:00 + 3h closes at 03:00 BST',
    'Sunday',
    '00:00',
    '3h',
    '2026-03-28T00:00:00Z',
    '2026-03-29T00:00:00Z',
    '2026-03-29T02:00:00Z',
  ],
  [
    'spring forward 2027: start 01:00, the first skipped minute, opens at 02:00 BST',
    'Sunday',
    '01:00',
    '2h',
    '2027-03-27T00:00:00Z',
    '2027-03-28T01:00:00Z',
    '2027-03-28T02:00:00Z',
  ],
  [
    'fall back: 00:30 + 3h spans the repeated hour, 4h elapsed',
    'Sunday',
    '00:30',
    '3h',
    '2026-10-24T00:00:00Z',
    '2026-10-24T23:30:00Z',
    '2026-10-25T03:30:00Z',
  ],
  [
    'fall back: ambiguous start 01:30 opens at the first 01:30 (BST)',
    'Sunday',
    '01:30',
    '1h',
    '2026-10-24T00:00:00Z',
    '2026-10-25T00:30:00Z',
    '2026-10-25T02:30:00Z',
  ],
  [
    'fall back: ambiguous end 01:30 closes at the second 01:30 (GMT)',
    'Sunday',
    '00:00',
    '1h30m',
    '2026-10-24T00:00:00Z',
    '2026-10-24T23:00:00Z',
    '2026-10-25T01:30:00Z',
  ],
  [
    'fall back: end 01:00, the first repeated minute, closes at its second showing (GMT)',
    'Sunday',
    '00:00',
    '1h',
    '2026-10-24T00:00:00Z',
    '2026-10-24T23:00:00Z',
    '2026-10-25T01:00:00Z',
  ],
  [
    'fall back: 02:00 + 3h after the repeated hour is plain GMT',
    'Sunday',
    '02:00',
    '3h',
    '2026-10-24T00:00:00Z',
    '2026-10-25T02:00:00Z',
    '2026-10-25T05:00:00Z',
  ],
  [
    'fall back 2027: ambiguous start 01:00 + 1h, 2h elapsed',
    'Sunday',
    '01:00',
    '1h',
    '2027-10-30T00:00:00Z',
    '2027-10-31T00:00:00Z',
    '2027-10-31T02:00:00Z',
  ],
];

// America/New_York: 2026-03-08 02:00 EST becomes 03:00 EDT at 07:00Z; 2026-11-01 02:00 EDT becomes 01:00 EST
// at 06:00Z (01:00-01:59 as EDT at 05:00Z-05:59Z, as EST at 06:00Z-06:59Z); 2027-03-14 and 2027-11-07 likewise.
const newYork: TransitionCase[] = [
  [
    'spring forward: start 02:00 in the gap opens at 03:00 EDT, 2h elapsed',
    'Sunday',
    '02:00',
    '3h',
    '2026-03-07T00:00:00Z',
    '2026-03-08T07:00:00Z',
    '2026-03-08T09:00:00Z',
  ],
  [
    'spring forward: 01:00 + 2h closes at 03:00 EDT, 1h elapsed',
    'Sunday',
    '01:00',
    '2h',
    '2026-03-07T00:00:00Z',
    '2026-03-08T06:00:00Z',
    '2026-03-08T07:00:00Z',
  ],
  [
    'spring forward: end 02:30 in the gap closes at 03:00 EDT',
    'Sunday',
    '01:30',
    '1h',
    '2026-03-07T00:00:00Z',
    '2026-03-08T06:30:00Z',
    '2026-03-08T07:00:00Z',
  ],
  [
    'spring forward 2027: start 02:30 in the gap opens at 03:00 EDT',
    'Sunday',
    '02:30',
    '1h',
    '2027-03-13T00:00:00Z',
    '2027-03-14T07:00:00Z',
    '2027-03-14T07:30:00Z',
  ],
  [
    'fall back: 01:30 + 1h opens at the first 01:30 (EDT), closes 02:30 EST, 2h elapsed',
    'Sunday',
    '01:30',
    '1h',
    '2026-10-31T00:00:00Z',
    '2026-11-01T05:30:00Z',
    '2026-11-01T07:30:00Z',
  ],
  [
    'fall back: 00:00 + 2h, 3h elapsed',
    'Sunday',
    '00:00',
    '2h',
    '2026-10-31T00:00:00Z',
    '2026-11-01T04:00:00Z',
    '2026-11-01T07:00:00Z',
  ],
  [
    'fall back: Saturday 23:00 + 3h crosses midnight and the repeated hour',
    'Saturday',
    '23:00',
    '3h',
    '2026-10-30T00:00:00Z',
    '2026-11-01T03:00:00Z',
    '2026-11-01T07:00:00Z',
  ],
  [
    'fall back 2027: 01:59 + 2m, 62m elapsed',
    'Sunday',
    '01:59',
    '2m',
    '2027-11-06T00:00:00Z',
    '2027-11-07T05:59:00Z',
    '2027-11-07T07:01:00Z',
  ],
];

// Australia/Sydney: 2026-04-05 03:00 AEDT becomes 02:00 AEST at 2026-04-04T16:00Z (02:00-02:59 as AEDT at
// 15:00Z-15:59Z, as AEST at 16:00Z-16:59Z); 2026-10-04 02:00 AEST becomes 03:00 AEDT at 2026-10-03T16:00Z;
// 2027-04-04 and 2027-10-03 likewise.
const sydney: TransitionCase[] = [
  [
    'fall back: ambiguous start 02:00 + 3h, 4h elapsed',
    'Sunday',
    '02:00',
    '3h',
    '2026-04-03T00:00:00Z',
    '2026-04-04T15:00:00Z',
    '2026-04-04T19:00:00Z',
  ],
  [
    'fall back: ambiguous end 02:30 closes at the second 02:30 (AEST)',
    'Sunday',
    '00:00',
    '2h30m',
    '2026-04-03T00:00:00Z',
    '2026-04-04T13:00:00Z',
    '2026-04-04T16:30:00Z',
  ],
  [
    'fall back: 03:00 + 1h after the repeated hour is plain AEST',
    'Sunday',
    '03:00',
    '1h',
    '2026-04-03T00:00:00Z',
    '2026-04-04T17:00:00Z',
    '2026-04-04T18:00:00Z',
  ],
  [
    'fall back 2027: ambiguous start 02:30 + 30m, 1h30m elapsed',
    'Sunday',
    '02:30',
    '30m',
    '2027-04-02T00:00:00Z',
    '2027-04-03T15:30:00Z',
    '2027-04-03T17:00:00Z',
  ],
  [
    'spring forward: start 02:00 in the gap opens at 03:00 AEDT',
    'Sunday',
    '02:00',
    '3h',
    '2026-10-02T00:00:00Z',
    '2026-10-03T16:00:00Z',
    '2026-10-03T18:00:00Z',
  ],
  [
    'spring forward: end 02:30 in the gap closes at 03:00 AEDT',
    'Sunday',
    '01:00',
    '1h30m',
    '2026-10-02T00:00:00Z',
    '2026-10-03T15:00:00Z',
    '2026-10-03T16:00:00Z',
  ],
  [
    'spring forward: Saturday 23:00 + 6h crosses midnight and the gap, 5h elapsed',
    'Saturday',
    '23:00',
    '6h',
    '2026-10-02T00:00:00Z',
    '2026-10-03T13:00:00Z',
    '2026-10-03T18:00:00Z',
  ],
  [
    'spring forward 2027: start 02:30 in the gap opens at 03:00 AEDT',
    'Sunday',
    '02:30',
    '1h',
    '2027-10-01T00:00:00Z',
    '2027-10-02T16:00:00Z',
    '2027-10-02T16:30:00Z',
  ],
  [
    'year boundary in summer time: Thursday 2026-12-31 22:00 + 4h',
    'Thursday',
    '22:00',
    '4h',
    '2026-12-30T00:00:00Z',
    '2026-12-31T11:00:00Z',
    '2026-12-31T15:00:00Z',
  ],
];

// Asia/Kolkata is UTC+05:30 all year: the London, New York and Sydney transition nights change nothing.
const kolkata: TransitionCase[] = [
  [
    'London spring-forward night: 02:00 + 3h is 3h',
    'Sunday',
    '02:00',
    '3h',
    '2026-03-27T00:00:00Z',
    '2026-03-28T20:30:00Z',
    '2026-03-28T23:30:00Z',
  ],
  [
    'London fall-back night: 01:30 + 1h is 1h',
    'Sunday',
    '01:30',
    '1h',
    '2026-10-23T00:00:00Z',
    '2026-10-24T20:00:00Z',
    '2026-10-24T21:00:00Z',
  ],
  [
    'Sydney fall-back night: 02:00 + 3h is 3h',
    'Sunday',
    '02:00',
    '3h',
    '2026-04-03T00:00:00Z',
    '2026-04-04T20:30:00Z',
    '2026-04-04T23:30:00Z',
  ],
  [
    'New York spring-forward night: 02:00 + 3h is 3h',
    'Sunday',
    '02:00',
    '3h',
    '2026-03-06T00:00:00Z',
    '2026-03-07T20:30:00Z',
    '2026-03-07T23:30:00Z',
  ],
  [
    'year boundary: Thursday 2026-12-31 23:00 + 2h',
    'Thursday',
    '23:00',
    '2h',
    '2026-12-30T00:00:00Z',
    '2026-12-31T17:30:00Z',
    '2026-12-31T19:30:00Z',
  ],
  [
    'week boundary: Sunday 2027-01-03 23:30 + 1h',
    'Sunday',
    '23:30',
    '1h',
    '2027-01-02T00:00:00Z',
    '2027-01-03T18:00:00Z',
    '2027-01-03T19:00:00Z',
  ],
];

// Australia/Lord_Howe shifts by 30 minutes: 2026-04-05 02:00 +11:00 becomes 01:30 +10:30 at
// 2026-04-04T15:00Z (01:30-01:59 as +11:00 at 14:30Z-14:59Z, as +10:30 at 15:00Z-15:29Z); 2026-10-04
// 02:00 +10:30 becomes 02:30 +11:00 at 2026-10-03T15:30Z; 2027-04-04 likewise.
const lordHowe: TransitionCase[] = [
  [
    'fall back: ambiguous start 01:45 + 1h, 1h30m elapsed',
    'Sunday',
    '01:45',
    '1h',
    '2026-04-03T00:00:00Z',
    '2026-04-04T14:45:00Z',
    '2026-04-04T16:15:00Z',
  ],
  [
    'fall back: ambiguous end 01:45 closes at the second 01:45',
    'Sunday',
    '01:00',
    '45m',
    '2026-04-03T00:00:00Z',
    '2026-04-04T14:00:00Z',
    '2026-04-04T15:15:00Z',
  ],
  [
    'fall back: start 01:30, the first repeated minute, + 30m, 1h elapsed',
    'Sunday',
    '01:30',
    '30m',
    '2026-04-03T00:00:00Z',
    '2026-04-04T14:30:00Z',
    '2026-04-04T15:30:00Z',
  ],
  [
    'fall back: 02:00 + 1h after the repeated half hour',
    'Sunday',
    '02:00',
    '1h',
    '2026-04-03T00:00:00Z',
    '2026-04-04T15:30:00Z',
    '2026-04-04T16:30:00Z',
  ],
  [
    'fall back 2027: ambiguous start 01:30 + 1h, 1h30m elapsed',
    'Sunday',
    '01:30',
    '1h',
    '2027-04-02T00:00:00Z',
    '2027-04-03T14:30:00Z',
    '2027-04-03T16:00:00Z',
  ],
  [
    'spring forward: start 02:15 in the gap opens at 02:30',
    'Sunday',
    '02:15',
    '1h',
    '2026-10-02T00:00:00Z',
    '2026-10-03T15:30:00Z',
    '2026-10-03T16:15:00Z',
  ],
  [
    'spring forward: end 02:15 in the gap closes at 02:30',
    'Sunday',
    '01:30',
    '45m',
    '2026-10-02T00:00:00Z',
    '2026-10-03T15:00:00Z',
    '2026-10-03T15:30:00Z',
  ],
  [
    'spring forward: 01:00 + 2h, 1h30m elapsed',
    'Sunday',
    '01:00',
    '2h',
    '2026-10-02T00:00:00Z',
    '2026-10-03T14:30:00Z',
    '2026-10-03T16:00:00Z',
  ],
  [
    'year boundary in summer time: Thursday 2026-12-31 23:30 + 1h',
    'Thursday',
    '23:30',
    '1h',
    '2026-12-30T00:00:00Z',
    '2026-12-31T12:30:00Z',
    '2026-12-31T13:30:00Z',
  ],
];

describe.each([
  ['Europe/London', london],
  ['America/New_York', newYork],
  ['Australia/Sydney', sydney],
  ['Asia/Kolkata', kolkata],
  ['Australia/Lord_Howe', lordHowe],
])('%s transitions', (timeZone, cases) => {
  test.each(cases)('%s', (_name, day, start, duration, after, opensAt, closesAt) => {
    expectOnlyWindow(schedule(timeZone, [weekly(day, start, duration)]), after, opensAt, closesAt);
  });
});

// Australia/Adelaide (+09:30/+10:30): 2026-04-05 03:00 becomes 02:00 at 2026-04-04T16:30Z; 2026-10-04 02:00
// becomes 03:00 at 2026-10-03T16:30Z. Asia/Kathmandu is +05:45 all year. America/Santiago moves at midnight:
// 2026-04-05 00:00 -03 becomes 2026-04-04 23:00 -04 at 03:00Z; 2026-09-06 00:00 -04 becomes 01:00 -03 at 04:00Z.
test.each([
  [
    'Adelaide fall back: ambiguous start 02:30 + 1h',
    'Australia/Adelaide',
    'Sunday',
    '02:30',
    '1h',
    '2026-04-03T00:00:00Z',
    '2026-04-04T16:00:00Z',
    '2026-04-04T18:00:00Z',
  ],
  [
    'Adelaide spring forward: start 02:00 in the gap + 2h',
    'Australia/Adelaide',
    'Sunday',
    '02:00',
    '2h',
    '2026-10-02T00:00:00Z',
    '2026-10-03T16:30:00Z',
    '2026-10-03T17:30:00Z',
  ],
  [
    'Adelaide year boundary: Thursday 2026-12-31 23:00 + 2h',
    'Australia/Adelaide',
    'Thursday',
    '23:00',
    '2h',
    '2026-12-30T00:00:00Z',
    '2026-12-31T12:30:00Z',
    '2026-12-31T14:30:00Z',
  ],
  [
    'Kathmandu year boundary: Thursday 2026-12-31 22:00 + 4h',
    'Asia/Kathmandu',
    'Thursday',
    '22:00',
    '4h',
    '2026-12-30T00:00:00Z',
    '2026-12-31T16:15:00Z',
    '2026-12-31T20:15:00Z',
  ],
  [
    'Kathmandu week boundary: Sunday 2027-01-03 23:45 + 30m',
    'Asia/Kathmandu',
    'Sunday',
    '23:45',
    '30m',
    '2027-01-02T00:00:00Z',
    '2027-01-03T18:00:00Z',
    '2027-01-03T18:30:00Z',
  ],
  [
    'Santiago midnight gap: Sunday 00:00 opens at 01:00',
    'America/Santiago',
    'Sunday',
    '00:00',
    '2h',
    '2026-09-04T00:00:00Z',
    '2026-09-06T04:00:00Z',
    '2026-09-06T05:00:00Z',
  ],
  [
    'Santiago midnight gap: Saturday 23:00 + 2h closes at 01:00',
    'America/Santiago',
    'Saturday',
    '23:00',
    '2h',
    '2026-09-04T00:00:00Z',
    '2026-09-06T03:00:00Z',
    '2026-09-06T04:00:00Z',
  ],
  [
    'Santiago repeated hour before midnight: Saturday 23:30 + 1h',
    'America/Santiago',
    'Saturday',
    '23:30',
    '1h',
    '2026-04-03T00:00:00Z',
    '2026-04-05T02:30:00Z',
    '2026-04-05T04:30:00Z',
  ],
] as const)('%s', (_name, timeZone, day, start, duration, after, opensAt, closesAt) => {
  expectOnlyWindow(schedule(timeZone, [weekly(day, start, duration)]), after, opensAt, closesAt);
});

describe('occurrences skipped entirely by a spring-forward gap do not happen', () => {
  test.each([
    [
      'Europe/London 01:15 + 30m',
      'Europe/London',
      '01:15',
      '30m',
      '2026-03-28T00:00:00Z',
      '2026-03-29T01:00:00Z',
      '2026-04-05T00:15:00Z',
      '2026-04-05T00:45:00Z',
    ],
    [
      'America/New_York 02:30 + 30m, ending exactly at 03:00',
      'America/New_York',
      '02:30',
      '30m',
      '2026-03-07T00:00:00Z',
      '2026-03-08T07:00:00Z',
      '2026-03-15T06:30:00Z',
      '2026-03-15T07:00:00Z',
    ],
    [
      'Australia/Lord_Howe 02:00 + 15m',
      'Australia/Lord_Howe',
      '02:00',
      '15m',
      '2026-10-02T00:00:00Z',
      '2026-10-03T15:30:00Z',
      '2026-10-10T15:00:00Z',
      '2026-10-10T15:15:00Z',
    ],
  ])('%s', (_name, timeZone, start, duration, after, transition, nextOpensAt, nextClosesAt) => {
    const s = schedule(timeZone, [weekly('Sunday', start, duration)]);
    expect(isWithinWindow(s, at(transition))).toBe(false);
    expect(nextWindow(s, at(after))).toEqual(interval(nextOpensAt, nextClosesAt));
  });
});

describe('merging', () => {
  test('recurrences that touch merge into one window', () => {
    const s = schedule('UTC', [weekly('Monday', '22:00', '2h'), weekly('Tuesday', '00:00', '2h')]);
    const expected = interval('2026-03-02T22:00:00Z', '2026-03-03T02:00:00Z');
    expect(windowContaining(s, at('2026-03-02T23:59:59Z'))).toEqual(expected);
    expect(windowContaining(s, at('2026-03-03T00:00:00Z'))).toEqual(expected);
    expect(nextWindow(s, at('2026-03-01T00:00:00Z'))).toEqual(expected);
  });

  test('overlapping recurrences merge (validateSchedule still reports them)', () => {
    const s = schedule('UTC', [weekly('Monday', '01:00', '3h'), weekly('Monday', '02:00', '4h')]);
    expect(windowContaining(s, at('2026-03-02T05:00:00Z'))).toEqual(interval('2026-03-02T01:00:00Z', '2026-03-02T06:00:00Z'));
  });

  test('wall-clock-adjacent recurrences overlap in real time on a fall-back night and merge', () => {
    // 00:00 + 1h30m closes at the second 01:30 (01:30Z); 01:30 + 1h opens at the first 01:30 (00:30Z).
    const s = schedule('Europe/London', [weekly('Sunday', '00:00', '1h30m'), weekly('Sunday', '01:30', '1h')]);
    expect(windowContaining(s, at('2026-10-25T01:00:00Z'))).toEqual(interval('2026-10-24T23:00:00Z', '2026-10-25T02:30:00Z'));
  });

  test('an extra window touching an occurrence extends it', () => {
    const s = schedule('UTC', [weekly('Monday', '02:00', '1h')], {
      extraWindows: [{ start: '2026-03-02T03:00:00Z', duration: '2h' }],
    });
    expect(windowContaining(s, at('2026-03-02T02:30:00Z'))).toEqual(interval('2026-03-02T02:00:00Z', '2026-03-02T05:00:00Z'));
  });

  test('a schedule open without interruption yields a window reaching about two years either way', () => {
    const s = schedule('UTC', [{ days: ['Monday', 'Wednesday', 'Friday'], start: '00:00', duration: '72h' }]);
    const window = windowContaining(s, at('2026-06-01T00:00:00Z'));
    expect(window?.opensAt.getTime()).toBeLessThanOrEqual(Date.parse('2024-06-01T00:00:00Z'));
    expect(window?.closesAt.getTime()).toBeGreaterThanOrEqual(Date.parse('2028-06-01T00:00:00Z'));
    expect(nextWindow(s, at('2026-06-01T00:00:00Z'))).toBeUndefined();
  });
});

describe('blackouts and extra windows', () => {
  const nightly = {
    days: ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'] as Weekday[],
    start: '23:00',
    duration: '2h',
  };

  test('a blackout suppresses occurrences scheduled on its dates, both ends inclusive', () => {
    const s = schedule('UTC', [nightly], {
      blackouts: [{ start: '2026-03-03', end: '2026-03-05', reason: 'freeze' }],
    });
    expect(upcomingWindows(s, at('2026-03-02T12:00:00Z'), 2)).toEqual([
      interval('2026-03-02T23:00:00Z', '2026-03-03T01:00:00Z'),
      interval('2026-03-06T23:00:00Z', '2026-03-07T01:00:00Z'),
    ]);
  });

  test('an occurrence scheduled the day before a blackout runs into it uncut', () => {
    const s = schedule('UTC', [nightly], { blackouts: [{ start: '2026-03-03', end: '2026-03-03' }] });
    expect(windowContaining(s, at('2026-03-03T00:30:00Z'))).toEqual(interval('2026-03-02T23:00:00Z', '2026-03-03T01:00:00Z'));
  });

  test('blackout dates are local dates of the schedule zone', () => {
    // Sunday 2026-04-05 00:00 in Sydney is 2026-04-04T13:00Z: a UTC date would miss it.
    const s = schedule('Australia/Sydney', [weekly('Sunday', '00:00', '1h')], {
      blackouts: [{ start: '2026-04-05', end: '2026-04-05' }],
    });
    expect(isWithinWindow(s, at('2026-04-04T13:30:00Z'))).toBe(false);
    expect(nextWindow(s, at('2026-04-03T00:00:00Z'))).toEqual(interval('2026-04-11T14:00:00Z', '2026-04-11T15:00:00Z'));
  });

  test('extra windows are honoured inside blackouts', () => {
    const s = schedule('UTC', [nightly], {
      blackouts: [{ start: '2026-03-01', end: '2026-03-31' }],
      extraWindows: [{ start: '2026-03-10T04:00:00+02:00', duration: '90m' }],
    });
    expect(nextWindow(s, at('2026-03-01T00:00:00Z'))).toEqual(interval('2026-03-10T02:00:00Z', '2026-03-10T03:30:00Z'));
    expect(isWithinWindow(s, at('2026-03-10T02:00:00Z'))).toBe(true);
  });

  test('nextWindow is undefined when everything within two years is blacked out', () => {
    const s = schedule('UTC', [nightly], { blackouts: [{ start: '2026-01-01', end: '2028-12-31' }] });
    expect(nextWindow(s, at('2026-01-01T00:00:00Z'))).toBeUndefined();
    // The occurrence of 2025-12-31 is still open at 00:00 and is the only window.
    expect(upcomingWindows(s, at('2026-01-01T00:00:00Z'), 3)).toEqual([interval('2025-12-31T23:00:00Z', '2026-01-01T01:00:00Z')]);
  });

  test('nextWindow looks 732 days ahead, that limit included', () => {
    // 2026-01-01T00:00Z + 732 days is 2028-01-03T00:00Z.
    const s = schedule('UTC', [], { extraWindows: [{ start: '2028-01-03T00:00:00Z', duration: '1h' }] });
    expect(nextWindow(s, at('2026-01-01T00:00:00Z'))).toEqual(interval('2028-01-03T00:00:00Z', '2028-01-03T01:00:00Z'));
    expect(nextWindow(s, at('2025-12-31T23:59:59.999Z'))).toBeUndefined();
  });

  test('a schedule with neither recurrences nor extra windows never opens', () => {
    const s = schedule('UTC', []);
    expect(windowContaining(s, at('2026-01-01T00:00:00Z'))).toBeUndefined();
    expect(nextWindow(s, at('2026-01-01T00:00:00Z'))).toBeUndefined();
  });
});

describe('nextWindow and upcomingWindows', () => {
  const s = schedule('UTC', [{ days: ['Monday', 'Thursday'], start: '02:00', duration: '3h' }]);
  const monday = interval('2026-03-02T02:00:00Z', '2026-03-02T05:00:00Z');
  const thursday = interval('2026-03-05T02:00:00Z', '2026-03-05T05:00:00Z');
  const nextMonday = interval('2026-03-09T02:00:00Z', '2026-03-09T05:00:00Z');

  test.each([
    ['before a window', '2026-03-01T12:00:00Z', monday],
    ['one millisecond before it opens', '2026-03-02T01:59:59.999Z', monday],
    ['as it opens (it is open, so the following one)', '2026-03-02T02:00:00Z', thursday],
    ['while it is open', '2026-03-02T04:59:59.999Z', thursday],
    ['as it closes', '2026-03-02T05:00:00Z', thursday],
    ['across the week boundary', '2026-03-05T05:00:00Z', nextMonday],
  ])('nextWindow %s', (_name, after, expected) => {
    expect(nextWindow(s, at(after))).toEqual(expected);
  });

  test('upcomingWindows starts with the window open at `from`', () => {
    expect(upcomingWindows(s, at('2026-03-02T03:00:00Z'), 3)).toEqual([monday, thursday, nextMonday]);
  });

  test('upcomingWindows starts with the next window when none is open', () => {
    expect(upcomingWindows(s, at('2026-03-02T05:00:00Z'), 2)).toEqual([thursday, nextMonday]);
  });

  test('upcomingWindows returns nothing for count 0 and rejects a negative or fractional count', () => {
    expect(upcomingWindows(s, at('2026-03-02T03:00:00Z'), 0)).toEqual([]);
    expect(() => upcomingWindows(s, at('2026-03-02T03:00:00Z'), -1)).toThrow(RangeError);
    expect(() => upcomingWindows(s, at('2026-03-02T03:00:00Z'), 1.5)).toThrow(RangeError);
  });
});

describe('validateSchedule', () => {
  const valid = schedule('Europe/London', [weekly('Wednesday', '02:00', '3h')], {
    blackouts: [{ start: '2026-12-20', end: '2027-01-03', reason: 'holidays' }],
    extraWindows: [{ start: '2026-03-01T02:00:00.123456+01:00', duration: '1h' }],
  });

  test('a valid schedule has no problems', () => {
    expect(validateSchedule(valid)).toEqual([]);
  });

  test.each<[string, WindowSchedule, string[]]>([
    [
      'an offset instead of a zone',
      { ...valid, timeZone: 'UTC+2' },
      [
        'timeZone: "UTC+2" is not an IANA time-zone name (UTC offsets are not accepted because they ignore daylight saving; use a zone such as "Europe/London")',
      ],
    ],
    [
      'an unknown zone',
      { ...valid, timeZone: 'Europe/Londn' },
      [
        'timeZone: "Europe/Londn" is not an IANA time-zone name (UTC offsets are not accepted because they ignore daylight saving; use a zone such as "Europe/London")',
      ],
    ],
    [
      'empty days',
      { ...valid, recurrences: [{ days: [], start: '02:00', duration: '1h' }] },
      ['recurrences[0].days: must list at least one weekday'],
    ],
    [
      'an unknown and a repeated day',
      {
        ...valid,
        recurrences: [{ days: ['Monday', 'Funday' as Weekday, 'Monday'], start: '02:00', duration: '1h' }],
      },
      [
        'recurrences[0].days: "Funday" is not a weekday (expected one of Monday, Tuesday, Wednesday, Thursday, Friday, Saturday, Sunday)',
        'recurrences[0].days: Monday is listed more than once',
      ],
    ],
    [
      'bad HH:MM times',
      {
        ...valid,
        recurrences: [weekly('Monday', '24:00', '1h'), weekly('Tuesday', '2:00', '1h'), weekly('Friday', '02:60', '1h')],
      },
      [
        'recurrences[0].start: "24:00" is not a 24-hour "HH:MM" time',
        'recurrences[1].start: "2:00" is not a 24-hour "HH:MM" time',
        'recurrences[2].start: "02:60" is not a 24-hour "HH:MM" time',
      ],
    ],
    [
      'durations out of bounds or malformed',
      {
        ...valid,
        recurrences: [weekly('Monday', '02:00', '0s'), weekly('Tuesday', '02:00', '169h'), weekly('Friday', '02:00', '3 hours')],
      },
      [
        'recurrences[0].duration: "0s" must be greater than zero',
        'recurrences[1].duration: "169h" exceeds the maximum of 168h',
        'recurrences[2].duration: invalid duration "3 hours": expected a Go-style duration such as "3h", "90m" or "2h30m" (units h, m, s, ms)',
      ],
    ],
    [
      'a blackout ending before it starts, and dates that do not exist',
      {
        ...valid,
        blackouts: [
          { start: '2026-02-01', end: '2026-01-31' },
          { start: '2026-02-29', end: '2026-3-01' },
        ],
      },
      [
        'blackouts[0].end: 2026-01-31 is before start 2026-02-01',
        'blackouts[1].start: "2026-02-29" is not a "YYYY-MM-DD" calendar date',
        'blackouts[1].end: "2026-3-01" is not a "YYYY-MM-DD" calendar date',
      ],
    ],
    [
      'an extra window without offset and with a negative duration',
      { ...valid, extraWindows: [{ start: '2026-03-01T02:00:00', duration: '-1h' }] },
      [
        'extraWindows[0].start: "2026-03-01T02:00:00" is not an RFC 3339 timestamp with an offset (e.g. "2026-03-01T02:00:00Z")',
        'extraWindows[0].duration: "-1h" must be greater than zero',
      ],
    ],
    [
      'recurrences that overlap, including across the week boundary',
      {
        ...valid,
        recurrences: [
          weekly('Sunday', '22:00', '4h'),
          weekly('Monday', '01:00', '1h'),
          weekly('Monday', '02:00', '1h'),
          weekly('Wednesday', '02:00', '1h'),
          weekly('Wednesday', '02:30', '10m'),
        ],
      },
      [
        'recurrences[0] (Sunday 22:00 for 4h) overlaps recurrences[1] (Monday 01:00 for 1h)',
        'recurrences[3] (Wednesday 02:00 for 1h) overlaps recurrences[4] (Wednesday 02:30 for 10m)',
      ],
    ],
    [
      'the days of one recurrence that overlap each other',
      { ...valid, recurrences: [{ days: ['Monday', 'Tuesday'], start: '22:00', duration: '25h' }] },
      ['recurrences[0]: its Monday 22:00 for 25h occurrence overlaps its Tuesday occurrence'],
    ],
  ])('reports %s', (_name, s, problems) => {
    expect(validateSchedule(s)).toEqual(problems);
  });

  test('touching recurrences and a full-week recurrence do not overlap', () => {
    expect(
      validateSchedule({
        timeZone: 'UTC',
        recurrences: [weekly('Sunday', '22:00', '2h'), weekly('Monday', '00:00', '1h')],
      }),
    ).toEqual([]);
    expect(validateSchedule({ timeZone: 'UTC', recurrences: [weekly('Sunday', '22:00', '168h')] })).toEqual([]);
  });
});

describe('invalid input', () => {
  test('the window functions throw on a schedule with problems other than overlaps', () => {
    const s = schedule('GMT+2', [weekly('Monday', '25:00', '1h')]);
    expect(() => windowContaining(s, at('2026-03-02T00:00:00Z'))).toThrow(
      'invalid maintenance schedule: timeZone: "GMT+2" is not an IANA time-zone name',
    );
    expect(() => nextWindow(s, at('2026-03-02T00:00:00Z'))).toThrow('recurrences[0].start: "25:00"');
  });

  test('the window functions reject an invalid Date', () => {
    const s = schedule('UTC', [weekly('Monday', '02:00', '1h')]);
    expect(() => isWithinWindow(s, new Date(Number.NaN))).toThrow(new RangeError('at must be a valid Date'));
    expect(() => nextWindow(s, new Date(Number.NaN))).toThrow(new RangeError('after must be a valid Date'));
  });
});
