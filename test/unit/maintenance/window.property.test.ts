import { describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import {
  type BlackoutPeriod,
  type ExtraWindow,
  formatDuration,
  isWithinWindow,
  nextWindow,
  parseDuration,
  SEARCH_HORIZON_MS,
  upcomingWindows,
  type Weekday,
  type WeeklyRecurrence,
  type WindowSchedule,
  windowContaining,
} from '../../../src/maintenance/window.ts';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/**
 * Zones, each with instants near which to probe: its 2026/2027 transitions, or year boundaries for zones
 * without daylight saving. They only steer the random inputs towards interesting nights.
 */
const ZONES: Record<string, string[]> = {
  UTC: ['2026-12-31T23:00:00Z'],
  'Europe/London': ['2026-03-29T01:00:00Z', '2026-10-25T01:00:00Z', '2027-10-31T01:00:00Z'],
  'Europe/Berlin': ['2026-03-29T01:00:00Z', '2026-10-25T01:00:00Z'],
  'America/New_York': ['2026-03-08T07:00:00Z', '2026-11-01T06:00:00Z', '2027-03-14T07:00:00Z'],
  'America/St_Johns': ['2026-03-08T05:30:00Z', '2026-11-01T04:30:00Z'],
  'America/Santiago': ['2026-04-05T03:00:00Z', '2026-09-06T04:00:00Z'],
  'America/Sao_Paulo': ['2027-01-01T03:00:00Z'],
  'Australia/Sydney': ['2026-04-04T16:00:00Z', '2026-10-03T16:00:00Z', '2026-12-31T13:00:00Z'],
  'Australia/Adelaide': ['2026-04-04T16:30:00Z', '2026-10-03T16:30:00Z'],
  'Australia/Lord_Howe': ['2026-04-04T15:00:00Z', '2026-10-03T15:30:00Z', '2027-04-03T15:00:00Z'],
  'Asia/Kolkata': ['2026-12-31T18:30:00Z'],
  'Asia/Kathmandu': ['2026-12-31T18:15:00Z'],
  'Pacific/Chatham': ['2026-04-04T14:00:00Z', '2026-09-26T14:00:00Z'],
  'Pacific/Auckland': ['2026-04-04T14:00:00Z', '2026-09-26T14:00:00Z'],
  'Africa/Casablanca': ['2026-02-15T02:00:00Z', '2026-03-22T02:00:00Z'],
  'Asia/Tehran': ['2026-12-31T20:30:00Z'],
};
const WEEKDAYS: Weekday[] = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];
const pad = (n: number) => String(n).padStart(2, '0');

// ---- The oracle: minute by minute, reading the local clock with Intl and applying the rule directly. ----

const offsetFormatters = new Map<string, Intl.DateTimeFormat>();

/** UTC offset in ms, read from Intl's "GMT+05:45" rendering (a different Intl path from the code under test). */
function oracleOffset(timeZone: string, instant: number): number {
  let formatter = offsetFormatters.get(timeZone);
  if (formatter === undefined) {
    formatter = new Intl.DateTimeFormat('en-US', { timeZone, timeZoneName: 'longOffset' });
    offsetFormatters.set(timeZone, formatter);
  }
  const name = formatter.formatToParts(instant).find((part) => part.type === 'timeZoneName')!.value;
  const match = /^GMT(?:([+-])(\d{2}):(\d{2}))?$/.exec(name)!;
  const magnitude = Number(match[2] ?? 0) * HOUR + Number(match[3] ?? 0) * MINUTE;
  return match[1] === '-' ? -magnitude : magnitude;
}

/** Minutes in a duration as the generators below write it: "90m", "2h", "1h30m". */
function oracleMinutes(duration: string): number {
  const [, hours = '0', minutes = '0'] = /^(?:(\d+)h)?(?:(\d+)m)?$/.exec(duration)!;
  return Number(hours) * 60 + Number(minutes);
}

/**
 * Which minutes of [start, start + minutes*MINUTE) some window covers: covered[i] for the minute
 * [start + i*MINUTE, start + (i+1)*MINUTE). The local clock reading at each minute is t + offset(t), with
 * the offset read hourly and per minute only in hours where it changes; within a minute the clock runs on.
 * An occurrence scheduled at wall-clock S..E covers minute i iff the clock has read S or later by the
 * start of it, and reads E or earlier at some instant after that: it opens when the clock first reaches
 * its start, and closes the last time the clock shows its end (or, if the end is skipped, as it is
 * skipped). Extra windows cover their minutes outright.
 */
function runOracle(s: WindowSchedule, start: number, minutes: number): Uint8Array {
  // No global lookups (Math, Infinity) inside the per-minute loops: under jest's vm context each is slow.
  const walls = new Float64Array(minutes);
  let offset = oracleOffset(s.timeZone, start);
  for (let hour = 0; hour * 60 < minutes; hour++) {
    const nextOffset = oracleOffset(s.timeZone, start + (hour + 1) * HOUR);
    const end = Math.min(minutes, hour * 60 + 60);
    for (let i = hour * 60; i < end; i++) {
      const t = start + i * MINUTE;
      walls[i] = t + (offset === nextOffset ? offset : oracleOffset(s.timeZone, t));
    }
    offset = nextOffset;
  }
  // runningMax[i]: the highest reading up to the start of minute i. lowestLater[i]: the lowest reading
  // strictly after the start of minute i, in whole milliseconds: walls[i] + 1ms within the minute itself.
  const runningMax = new Float64Array(minutes);
  const lowestLater = new Float64Array(minutes);
  let max = walls[0]!;
  for (let i = 0; i < minutes; i++) {
    if (walls[i]! > max) max = walls[i]!;
    runningMax[i] = max;
  }
  const { min } = Math;
  let laterMin = Number.POSITIVE_INFINITY;
  for (let i = minutes - 1; i >= 0; i--) {
    lowestLater[i] = min(walls[i]! + 1, laterMin);
    if (walls[i]! < laterMin) laterMin = walls[i]!;
  }
  const covered = new Uint8Array(minutes);
  const cover = (from: number, to: number) => covered.fill(1, Math.max(0, from), Math.min(minutes, to));
  const firstDate = Math.floor(walls[0]! / DAY) - 8;
  const lastDate = Math.floor(walls[minutes - 1]! / DAY) + 1;
  for (let date = firstDate; date <= lastDate; date++) {
    const isoDate = new Date(date * DAY).toISOString().slice(0, 10);
    if ((s.blackouts ?? []).some((b) => b.start <= isoDate && isoDate <= b.end)) continue;
    const weekday = WEEKDAYS[(new Date(date * DAY).getUTCDay() + 6) % 7]!;
    for (const r of s.recurrences) {
      if (!r.days.includes(weekday)) continue;
      const [hh, mm] = r.start.split(':').map(Number);
      const opens = date * DAY + hh! * HOUR + mm! * MINUTE;
      const closes = opens + oracleMinutes(r.duration) * MINUTE;
      cover(firstIndex(runningMax, opens), firstIndex(lowestLater, closes + 1));
    }
  }
  for (const extra of s.extraWindows ?? []) {
    const opens = Date.parse(extra.start);
    cover(Math.ceil((opens - start) / MINUTE), Math.ceil((opens + oracleMinutes(extra.duration) * MINUTE - start) / MINUTE));
  }
  return covered;
}

/** The first index at which the non-decreasing `values` reach `bound`, or values.length. */
function firstIndex(values: Float64Array, bound: number): number {
  let low = 0;
  let high = values.length;
  while (low < high) {
    const middle = (low + high) >> 1;
    if (values[middle]! >= bound) high = middle;
    else low = middle + 1;
  }
  return low;
}

/** The run of covered minutes containing minute i, as [first, end) minute indexes. */
function runAround(covered: Uint8Array, i: number): [number, number] {
  let first = i;
  while (first > 0 && covered[first - 1]) first--;
  let end = i;
  while (end < covered.length && covered[end]) end++;
  return [first, end];
}

// ---- Random schedules around a probe instant. ----

/** Minute-aligned RFC 3339 text for `instant` written with an arbitrary offset. */
function rfc3339(instant: number, offsetMinutes: number): string {
  if (offsetMinutes === 0) return new Date(instant).toISOString().replace('.000Z', 'Z');
  const local = new Date(instant + offsetMinutes * MINUTE).toISOString().slice(0, 19);
  const sign = offsetMinutes < 0 ? '-' : '+';
  const magnitude = Math.abs(offsetMinutes);
  return `${local}${sign}${pad(Math.floor(magnitude / 60))}:${pad(magnitude % 60)}`;
}

const recurrenceArb: fc.Arbitrary<WeeklyRecurrence> = fc.record({
  days: fc.subarray(WEEKDAYS, { minLength: 1 }),
  // Mostly around midnight, where transitions happen.
  start: fc
    .tuple(
      fc.oneof(fc.constantFrom(22, 23, 0, 1, 2, 3), fc.integer({ min: 0, max: 23 })),
      fc.oneof(fc.constantFrom(0, 15, 30, 45), fc.integer({ min: 0, max: 59 })),
    )
    .map(([h, m]) => `${pad(h)}:${pad(m)}`),
  duration: fc
    .oneof(
      { weight: 4, arbitrary: fc.integer({ min: 1, max: 4 * 60 }) },
      { weight: 2, arbitrary: fc.integer({ min: 1, max: 24 * 4 }).map((q) => q * 15) },
      { weight: 1, arbitrary: fc.integer({ min: 1, max: 168 }).map((h) => h * 60) },
    )
    .map((minutes) => formatDuration(minutes * MINUTE)),
});

interface Case {
  schedule: WindowSchedule;
  probe: number;
}

/**
 * A schedule and a probe instant: anywhere in 2025-2029, within days of one of the zone's anchors, or
 * within hours of one with an extra daily recurrence starting around the anchor's local time, so that
 * windows straddle transitions often.
 */
const caseArb: fc.Arbitrary<Case> = fc
  .record({
    timeZone: fc.constantFrom(...Object.keys(ZONES)),
    anchorIndex: fc.nat(),
    placement: fc.constantFrom('anywhere', 'near anchor', 'at anchor'),
    anywhere: fc.integer({ min: Date.parse('2025-01-01T00:00:00Z'), max: Date.parse('2029-12-31T00:00:00Z') }),
    nearShift: fc.integer({ min: -4 * DAY, max: 4 * DAY }),
    atShift: fc.integer({ min: -6 * HOUR, max: 6 * HOUR }),
    targetStartShift: fc.integer({ min: -3 * 60, max: 60 }),
    targetMinutes: fc.integer({ min: 1, max: 4 * 60 }),
    recurrences: fc.array(recurrenceArb, { minLength: 1, maxLength: 3 }),
    blackouts: fc.array(fc.tuple(fc.integer({ min: -6, max: 6 }), fc.integer({ min: 0, max: 3 })), {
      maxLength: 2,
    }),
    extras: fc.array(
      fc.tuple(
        fc.integer({ min: -3 * 24 * 60, max: 3 * 24 * 60 }),
        fc.integer({ min: 1, max: 12 * 60 }),
        fc.constantFrom(0, 60, -300, 345, 630),
      ),
      { maxLength: 2 },
    ),
  })
  .map((r) => {
    const anchors = ZONES[r.timeZone]!;
    const anchor = Date.parse(anchors[r.anchorIndex % anchors.length]!);
    const probe = r.placement === 'anywhere' ? r.anywhere : anchor + (r.placement === 'near anchor' ? r.nearShift : r.atShift);
    const recurrences = [...r.recurrences];
    if (r.placement === 'at anchor') {
      const targetStart = anchor + r.targetStartShift * MINUTE;
      const local = new Date(targetStart + oracleOffset(r.timeZone, targetStart));
      recurrences.push({
        days: WEEKDAYS,
        start: `${pad(local.getUTCHours())}:${pad(local.getUTCMinutes())}`,
        duration: formatDuration(r.targetMinutes * MINUTE),
      });
    }
    const probeDate = Math.floor(probe / DAY);
    const isoDate = (day: number) => new Date(day * DAY).toISOString().slice(0, 10);
    const blackouts: BlackoutPeriod[] = r.blackouts.map(([from, length]) => ({
      start: isoDate(probeDate + from),
      end: isoDate(probeDate + from + length),
    }));
    const extraWindows: ExtraWindow[] = r.extras.map(([offsetMinutes, minutes, written]) => ({
      start: rfc3339(Math.floor(probe / MINUTE) * MINUTE + offsetMinutes * MINUTE, written),
      duration: formatDuration(minutes * MINUTE),
    }));
    return { schedule: { timeZone: r.timeZone, recurrences, blackouts, extraWindows }, probe };
  });

/** The oracle scans this many days either side of the probe. */
const SCAN_DAYS = 9;
/** Minutes at either end of the scan where the oracle lacks the clock's history or future. */
const EDGE = 24 * 60;

describe('windows agree with a minute-by-minute oracle', () => {
  test('windowContaining, isWithinWindow and nextWindow', () => {
    fc.assert(
      fc.property(caseArb, ({ schedule, probe }) => {
        const start = Math.floor(probe / MINUTE) * MINUTE - SCAN_DAYS * DAY;
        const minutes = 2 * SCAN_DAYS * 24 * 60;
        const covered = runOracle(schedule, start, minutes);
        const i = Math.floor((probe - start) / MINUTE);
        const instantAt = (index: number) => start + index * MINUTE;

        const open = covered[i] === 1;
        expect(isWithinWindow(schedule, new Date(probe))).toBe(open);
        const window = windowContaining(schedule, new Date(probe));
        let after = i;
        if (open) {
          const [first, end] = runAround(covered, i);
          expectRun(window, first, end);
          after = end;
        } else {
          expect(window).toBeUndefined();
        }

        let nextFirst = after;
        while (nextFirst < minutes && !covered[nextFirst]) nextFirst++;
        // Only a run starting clear of the scan's end is surely a new window rather than a cut-off one.
        if (nextFirst >= minutes - EDGE) return;
        const next = nextWindow(schedule, new Date(probe));
        const [, nextEnd] = runAround(covered, nextFirst);
        expectRun(next, nextFirst, nextEnd);

        /**
         * The oracle knows no clock readings before or after the scan, so near the scan's edges a window may
         * really open earlier or close later than the run it sees, never the reverse.
         */
        function expectRun(actual: { opensAt: Date; closesAt: Date } | undefined, first: number, end: number) {
          const opensAt = actual?.opensAt.getTime();
          const closesAt = actual?.closesAt.getTime();
          if (first >= EDGE) expect(opensAt).toBe(instantAt(first));
          else expect(opensAt).toBeLessThanOrEqual(instantAt(first));
          if (end <= minutes - EDGE) expect(closesAt).toBe(instantAt(end));
          else expect(closesAt).toBeGreaterThanOrEqual(instantAt(end));
        }
      }),
      { numRuns: 250 },
    );
  });
});

describe('invariants', () => {
  test('nextWindow opens after `after`, past the current window, with nothing open in between', () => {
    fc.assert(
      fc.property(caseArb, fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 5 }), (c, samples) => {
        const { schedule, probe } = c;
        const current = windowContaining(schedule, new Date(probe));
        expect(isWithinWindow(schedule, new Date(probe))).toBe(current !== undefined);
        const next = nextWindow(schedule, new Date(probe));
        const upcoming = upcomingWindows(schedule, new Date(probe), 3);
        expect(upcoming[0]).toEqual(current ?? next);
        if (current !== undefined) {
          expect(current.opensAt.getTime()).toBeLessThanOrEqual(probe);
          expect(current.closesAt.getTime()).toBeGreaterThan(probe);
          expect(upcoming[1]).toEqual(next);
        }
        // A window open for longer than the search horizon is clipped relative to the instant asked about.
        const clipped = (w: { opensAt: Date; closesAt: Date }) => w.closesAt.getTime() - w.opensAt.getTime() >= SEARCH_HORIZON_MS;
        if (next === undefined || clipped(next) || (current !== undefined && clipped(current))) return;
        const quietFrom = current?.closesAt.getTime() ?? probe;
        expect(next.opensAt.getTime()).toBeGreaterThan(quietFrom);
        expect(next.closesAt.getTime()).toBeGreaterThan(next.opensAt.getTime());
        expect(windowContaining(schedule, next.opensAt)).toEqual(next);
        expect(windowContaining(schedule, new Date(next.closesAt.getTime() - 1))).toEqual(next);
        expect(isWithinWindow(schedule, next.closesAt)).toBe(false);
        // Between the current window (or `after`) and the next one, nothing is open.
        const gap = next.opensAt.getTime() - quietFrom;
        for (const sample of [0, ...samples]) {
          const t = quietFrom + Math.min(gap - 1, Math.floor(sample * gap));
          expect(isWithinWindow(schedule, new Date(t))).toBe(false);
        }
        expect(isWithinWindow(schedule, new Date(next.opensAt.getTime() - 1))).toBe(false);
        // Consecutive windows are in order and never touch.
        for (const [k, w] of upcoming.entries()) {
          if (k > 0) expect(w.opensAt.getTime()).toBeGreaterThan(upcoming[k - 1]!.closesAt.getTime());
        }
      }),
      { numRuns: 200 },
    );
  });

  test('formatDuration and parseDuration round-trip', () => {
    fc.assert(
      fc.property(fc.integer({ min: -(2 ** 45), max: 2 ** 45 }), (ms) => {
        expect(parseDuration(formatDuration(ms))).toBe(ms);
      }),
    );
  });
});
