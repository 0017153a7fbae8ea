/** Maintenance-window math: when a tenant's maintenance schedule is open, as pure functions of the schedule and an instant. */

import { instantOf, isValidTimeZone, MS_PER_DAY, MS_PER_HOUR, MS_PER_MINUTE, type WallClock, wallClockAt } from './zoned-time.ts';

export { isValidTimeZone };

export type Weekday = 'Monday' | 'Tuesday' | 'Wednesday' | 'Thursday' | 'Friday' | 'Saturday' | 'Sunday';

/** Every weekday, Monday first (ISO 8601 order). */
export const WEEKDAYS: readonly Weekday[] = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];

/**
 * A window that opens every listed weekday at a local wall-clock time.
 *
 * An occurrence is scheduled on a local date D whose weekday is in `days`. It is defined on the wall clock,
 * the way the customer reads it ("Sundays 02:00-05:00 local time"): it spans from `start` on D to
 * `start + duration` counted on the clock face, which may fall on a later date. In elapsed time it is
 * therefore shorter than `duration` on a night the clocks go forward and longer on a night they go back.
 * Mapping the two wall-clock readings to instants:
 * - opensAt is the first instant the clock reads `start`; if the clocks skip `start` that night, the first
 *   instant after the skipped range.
 * - closesAt is the last instant the clock reads the end time; if the clocks skip it, the first instant
 *   after the skipped range. So a repeated hour never cuts a window short.
 * An occurrence whose whole wall-clock range is skipped (01:15-01:45 on a night 01:00 becomes 02:00)
 * does not happen.
 */
export interface WeeklyRecurrence {
  /** Weekdays on which an occurrence is scheduled; at least one, none repeated. */
  days: Weekday[];
  /** Local wall-clock opening time, "HH:MM" on a 24-hour clock (00:00-23:59). */
  start: string;
  /** Wall-clock length, a Go-style duration (see parseDuration); greater than zero, at most 168h. */
  duration: string;
}

/**
 * Local dates, inclusive at both ends, on which no recurrence occurrence is scheduled. A blackout
 * suppresses each occurrence scheduled on one of its dates entirely, and nothing else: an occurrence
 * scheduled the day before runs into the blackout uncut, and extra windows are honoured regardless.
 */
export interface BlackoutPeriod {
  /** First blacked-out local date, "YYYY-MM-DD". */
  start: string;
  /** Last blacked-out local date, "YYYY-MM-DD"; not before `start`. */
  end: string;
  reason?: string;
}

/**
 * A one-off window: opens at the instant `start` and lasts `duration` of elapsed time (no wall clock
 * involved). Explicit, so it is honoured even on blacked-out dates.
 */
export interface ExtraWindow {
  /**
   * RFC 3339 timestamp with "Z" or a numeric offset, e.g. "2026-03-01T02:00:00Z"; fractional seconds
   * finer than a millisecond are truncated.
   */
  start: string;
  /** A Go-style duration (see parseDuration); greater than zero, at most 168h. */
  duration: string;
}

/**
 * When maintenance may run. The windows of a schedule are the union of all recurrence occurrences not
 * blacked out and all extra windows, where occurrences that overlap or touch are merged into one window.
 */
export interface WindowSchedule {
  /** IANA time-zone name the recurrences and blackouts are read in (see isValidTimeZone). */
  timeZone: string;
  recurrences: WeeklyRecurrence[];
  blackouts?: BlackoutPeriod[];
  extraWindows?: ExtraWindow[];
}

/** A window of a schedule, half-open: open at every instant t with opensAt <= t < closesAt. */
export interface WindowInterval {
  opensAt: Date;
  closesAt: Date;
}

/** The longest duration a recurrence or an extra window may have: one week. */
export const MAX_WINDOW_DURATION_MS = 168 * MS_PER_HOUR;

/** How far ahead nextWindow looks for a window to open, and how far a merged window is followed: 732 days. */
export const SEARCH_HORIZON_MS = 732 * MS_PER_DAY;

const DURATION_UNITS_MS: Readonly<Record<string, bigint>> = { h: 3_600_000n, m: 60_000n, s: 1000n, ms: 1n };

/**
 * Parses a Go-style duration into milliseconds: "3h", "90m", "2h30m", "1.5h", "45s", "500ms".
 * The grammar is that of Go's time.ParseDuration (an optional sign, then "0" or a sequence of decimal
 * numbers each followed by a unit, without spaces), with the units limited to h, m, s and ms.
 * Throws an Error naming the input when it does not parse, is not a whole number of milliseconds, or
 * exceeds Number.MAX_SAFE_INTEGER milliseconds. Negative and zero durations parse; bounds are
 * validateSchedule's concern.
 */
export function parseDuration(s: string): number {
  const invalid = (why: string) => new Error(`invalid duration ${JSON.stringify(s)}: ${why}`);
  const malformed = 'expected a Go-style duration such as "3h", "90m" or "2h30m" (units h, m, s, ms)';
  const body = /^[+-]/.test(s) ? s.slice(1) : s;
  if (body === '0') return 0;
  if (body === '') throw invalid(malformed);
  // Exact decimal arithmetic: "0.1h" must be 360000 ms, not 360000.00000000006.
  const term = /(\d+)?(?:\.(\d*))?(ms|h|m|s)/y;
  let total = 0n;
  while (term.lastIndex < body.length) {
    const match = term.exec(body);
    // A bare "." has neither digits before nor after it.
    if (match === null || (match[1] === undefined && !match[2])) throw invalid(malformed);
    const unitMs = DURATION_UNITS_MS[match[3]!]!;
    const fraction = match[2] ?? '';
    const scale = 10n ** BigInt(fraction.length);
    const fractionMs = BigInt(`0${fraction}`) * unitMs;
    if (fractionMs % scale !== 0n) throw invalid('finer than a millisecond');
    total += BigInt(match[1] ?? '0') * unitMs + fractionMs / scale;
  }
  if (total > BigInt(Number.MAX_SAFE_INTEGER)) throw invalid('too large');
  return s.startsWith('-') ? -Number(total) : Number(total);
}

/**
 * Formats milliseconds as a duration parseDuration reads back to the same number: the non-zero parts
 * among h, m, s and ms, largest first ("2h30m", "1m30s", "1s500ms", "-1h"), or "0s" for zero.
 * Throws a RangeError unless `ms` is a safe integer.
 */
export function formatDuration(ms: number): string {
  if (!Number.isSafeInteger(ms)) throw new RangeError(`cannot format ${ms} as a duration: not a safe integer`);
  if (ms === 0) return '0s';
  let rest = Math.abs(ms);
  let text = ms < 0 ? '-' : '';
  for (const [unit, unitMs] of [
    ['h', MS_PER_HOUR],
    ['m', MS_PER_MINUTE],
    ['s', 1000],
    ['ms', 1],
  ] as const) {
    const count = Math.floor(rest / unitMs);
    if (count > 0) text += `${count}${unit}`;
    rest -= count * unitMs;
  }
  return text;
}

/** A span of instants in epoch milliseconds, half-open like WindowInterval. */
interface Span {
  opensAt: number;
  closesAt: number;
}

interface CompiledRecurrence {
  /** Position in WindowSchedule.recurrences, for messages. */
  index: number;
  /** Indexes into WEEKDAYS, ascending, distinct. */
  weekdays: number[];
  startText: string;
  /** Wall-clock offset of `start` from local midnight. */
  startMs: number;
  durationMs: number;
}

/** A schedule parsed once per call: local dates as day numbers (Math.floor(WallClock / MS_PER_DAY)). */
interface CompiledSchedule {
  timeZone: string;
  recurrences: CompiledRecurrence[];
  blackouts: { firstDay: number; lastDay: number }[];
  extras: Span[];
  /** occurrencesOn results by day, filled in as asked for: a compiled schedule lives for one call. */
  occurrencesByDay: Map<number, Span[]>;
}

function calendarDay(year: number, month: number, day: number): number | undefined {
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  const exists = date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
  return exists ? date.getTime() / MS_PER_DAY : undefined;
}

function parseLocalDate(text: string): number | undefined {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  return match === null ? undefined : calendarDay(Number(match[1]), Number(match[2]), Number(match[3]));
}

function parseWallTime(text: string): number | undefined {
  const match = /^([01]\d|2[0-3]):([0-5]\d)$/.exec(text);
  return match === null ? undefined : Number(match[1]) * MS_PER_HOUR + Number(match[2]) * MS_PER_MINUTE;
}

/** RFC 3339 date-time: "T" and "Z" in either case, a numeric offset or "Z" required, no leap second. */
const RFC_3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt]([01]\d|2[0-3]):([0-5]\d):([0-5]\d)(?:\.(\d+))?(?:[Zz]|([+-])([01]\d|2[0-3]):([0-5]\d))$/;

function parseInstant(text: string): number | undefined {
  const match = RFC_3339.exec(text);
  if (match === null) return undefined;
  const [, year, month, day, hour, minute, second, fraction = '', sign, offsetHours, offsetMinutes] = match;
  const date = calendarDay(Number(year), Number(month), Number(day));
  if (date === undefined) return undefined;
  const offset = (Number(offsetHours ?? 0) * MS_PER_HOUR + Number(offsetMinutes ?? 0) * MS_PER_MINUTE) * (sign === '-' ? -1 : 1);
  const wall =
    date * MS_PER_DAY +
    Number(hour) * MS_PER_HOUR +
    Number(minute) * MS_PER_MINUTE +
    Number(second) * 1000 +
    Number(fraction.slice(0, 3).padEnd(3, '0'));
  return wall - offset;
}

/** The duration in milliseconds, or the reason it is not acceptable for a window. */
function parseWindowDuration(path: string, text: string): number | string {
  let ms: number;
  try {
    ms = parseDuration(text);
  } catch (error) {
    return `${path}: ${(error as Error).message}`;
  }
  if (ms <= 0) return `${path}: ${JSON.stringify(text)} must be greater than zero`;
  if (ms > MAX_WINDOW_DURATION_MS) {
    return `${path}: ${JSON.stringify(text)} exceeds the maximum of ${formatDuration(MAX_WINDOW_DURATION_MS)}`;
  }
  return ms;
}

/** Parses every field, collecting a message per malformed one; malformed items are left out of the result. */
function compile(schedule: WindowSchedule): { compiled: CompiledSchedule; problems: string[] } {
  const problems: string[] = [];
  if (!isValidTimeZone(schedule.timeZone)) {
    problems.push(
      `timeZone: ${JSON.stringify(schedule.timeZone)} is not an IANA time-zone name ` +
        '(UTC offsets are not accepted because they ignore daylight saving; use a zone such as "Europe/London")',
    );
  }
  const recurrences: CompiledRecurrence[] = [];
  schedule.recurrences.forEach((recurrence, index) => {
    const path = `recurrences[${index}]`;
    const before = problems.length;
    if (recurrence.days.length === 0) problems.push(`${path}.days: must list at least one weekday`);
    const weekdays = new Set<number>();
    for (const day of recurrence.days) {
      const weekday = WEEKDAYS.indexOf(day);
      if (weekday < 0) {
        problems.push(`${path}.days: ${JSON.stringify(day)} is not a weekday (expected one of ${WEEKDAYS.join(', ')})`);
      } else if (weekdays.has(weekday)) {
        problems.push(`${path}.days: ${day} is listed more than once`);
      } else {
        weekdays.add(weekday);
      }
    }
    const startMs = parseWallTime(recurrence.start);
    if (startMs === undefined) {
      problems.push(`${path}.start: ${JSON.stringify(recurrence.start)} is not a 24-hour "HH:MM" time`);
    }
    const duration = parseWindowDuration(`${path}.duration`, recurrence.duration);
    if (typeof duration === 'string') problems.push(duration);
    if (problems.length === before && startMs !== undefined && typeof duration === 'number') {
      const sorted = [...weekdays].sort((a, b) => a - b);
      recurrences.push({
        index,
        weekdays: sorted,
        startText: recurrence.start,
        startMs,
        durationMs: duration,
      });
    }
  });
  const blackouts: CompiledSchedule['blackouts'] = [];
  (schedule.blackouts ?? []).forEach((blackout, index) => {
    const path = `blackouts[${index}]`;
    const firstDay = parseLocalDate(blackout.start);
    const lastDay = parseLocalDate(blackout.end);
    if (firstDay === undefined) {
      problems.push(`${path}.start: ${JSON.stringify(blackout.start)} is not a "YYYY-MM-DD" calendar date`);
    }
    if (lastDay === undefined) {
      problems.push(`${path}.end: ${JSON.stringify(blackout.end)} is not a "YYYY-MM-DD" calendar date`);
    }
    if (firstDay === undefined || lastDay === undefined) return;
    if (lastDay < firstDay) problems.push(`${path}.end: ${blackout.end} is before start ${blackout.start}`);
    else blackouts.push({ firstDay, lastDay });
  });
  const extras: Span[] = [];
  (schedule.extraWindows ?? []).forEach((extra, index) => {
    const path = `extraWindows[${index}]`;
    const opensAt = parseInstant(extra.start);
    if (opensAt === undefined) {
      problems.push(
        `${path}.start: ${JSON.stringify(extra.start)} is not an RFC 3339 timestamp with an offset ` +
          '(e.g. "2026-03-01T02:00:00Z")',
      );
    }
    const duration = parseWindowDuration(`${path}.duration`, extra.duration);
    if (typeof duration === 'string') problems.push(duration);
    else if (opensAt !== undefined) extras.push({ opensAt, closesAt: opensAt + duration });
  });
  return {
    compiled: { timeZone: schedule.timeZone, recurrences, blackouts, extras, occurrencesByDay: new Map() },
    problems,
  };
}

/** Wall-clock overlaps between occurrences in the weekly cycle, as messages. */
function overlapProblems(recurrences: CompiledRecurrence[]): string[] {
  const week = 7 * MS_PER_DAY;
  // Each occurrence as a wall-clock span measured from Monday 00:00; it may run past the week's end.
  const occurrences = recurrences.flatMap((recurrence) =>
    recurrence.weekdays.map((weekday) => {
      const start = weekday * MS_PER_DAY + recurrence.startMs;
      return { recurrence, weekday, start, end: start + recurrence.durationMs };
    }),
  );
  const describe = (o: (typeof occurrences)[number]) =>
    `${WEEKDAYS[o.weekday]} ${o.recurrence.startText} for ${formatDuration(o.recurrence.durationMs)}`;
  const problems: string[] = [];
  const reported = new Set<string>();
  for (const [i, a] of occurrences.entries()) {
    for (const b of occurrences.slice(i + 1)) {
      const pair = `${a.recurrence.index}/${b.recurrence.index}`;
      if (reported.has(pair)) continue;
      // Spans are shorter than a week (or exactly one), so comparing with b a week either way covers the wrap.
      const overlaps = [-week, 0, week].some((shift) => a.start < b.end + shift && b.start + shift < a.end);
      if (!overlaps) continue;
      reported.add(pair);
      problems.push(
        a.recurrence === b.recurrence
          ? `recurrences[${a.recurrence.index}]: its ${describe(a)} occurrence overlaps its ${WEEKDAYS[b.weekday]} occurrence`
          : `recurrences[${a.recurrence.index}] (${describe(a)}) overlaps recurrences[${b.recurrence.index}] (${describe(b)})`,
      );
    }
  }
  return problems;
}

/**
 * Every problem with `schedule`, as human-readable messages prefixed with the field path
 * ("recurrences[1].start: ..."), suitable for a status condition; empty when the schedule is fine.
 * Reports: a time zone isValidTimeZone rejects; an empty, unknown or repeated weekday; a start that is not
 * HH:MM; a duration that does not parse or is not within (0, 168h]; a blackout date that is not a calendar
 * date or ends before it starts; an extra window start that is not RFC 3339 with an offset; and
 * recurrences (or two days of one recurrence) whose occurrences overlap on the wall clock. Overlaps are
 * the only problems the other functions tolerate: they merge the occurrences.
 */
export function validateSchedule(schedule: WindowSchedule): string[] {
  const { compiled, problems } = compile(schedule);
  return [...problems, ...overlapProblems(compiled.recurrences)];
}

function compileOrThrow(schedule: WindowSchedule): CompiledSchedule {
  const { compiled, problems } = compile(schedule);
  if (problems.length > 0) throw new Error(`invalid maintenance schedule: ${problems.join('; ')}`);
  return compiled;
}

function epochMsOf(date: Date, name: string): number {
  const ms = date instanceof Date ? date.getTime() : Number.NaN;
  if (Number.isNaN(ms)) throw new RangeError(`${name} must be a valid Date`);
  return ms;
}

function localDay(schedule: CompiledSchedule, epochMs: number): number {
  return Math.floor(wallClockAt(schedule.timeZone, epochMs) / MS_PER_DAY);
}

/** The occurrences scheduled on local date `day` (a day number), empty when blacked out. */
function occurrencesOn(schedule: CompiledSchedule, day: number): Span[] {
  let spans = schedule.occurrencesByDay.get(day);
  if (spans === undefined) {
    spans = computeOccurrencesOn(schedule, day);
    schedule.occurrencesByDay.set(day, spans);
  }
  return spans;
}

function computeOccurrencesOn(schedule: CompiledSchedule, day: number): Span[] {
  if (schedule.blackouts.some(({ firstDay, lastDay }) => firstDay <= day && day <= lastDay)) return [];
  // Day 0, 1970-01-01, was a Thursday: index 3 in WEEKDAYS.
  const weekday = (((day + 3) % 7) + 7) % 7;
  const spans: Span[] = [];
  for (const recurrence of schedule.recurrences) {
    if (!recurrence.weekdays.includes(weekday)) continue;
    const start: WallClock = day * MS_PER_DAY + recurrence.startMs;
    const opensAt = instantOf(schedule.timeZone, start, 'earlier');
    const closesAt = instantOf(schedule.timeZone, start + recurrence.durationMs, 'later');
    // Equal only when the clocks skip the whole wall-clock range: that occurrence does not happen.
    if (closesAt > opensAt) spans.push({ opensAt, closesAt });
  }
  return spans;
}

/** Occurrences and extra windows that intersect [from, to], ends included so that touching spans count. */
function spansIntersecting(schedule: CompiledSchedule, from: number, to: number): Span[] {
  const spans = schedule.extras.filter((span) => span.closesAt >= from && span.opensAt <= to);
  // An occurrence ends on the wall clock within 8 days of its date's midnight (start < 24h, duration <=
  // 168h); one more day covers a transition between that wall-clock end and `from`. At the other end, a
  // day's occurrences open no earlier than its midnight first shows, which is after `to` except when a
  // backward transition across midnight showed it already: hence the date after `to`'s.
  const lastDay = localDay(schedule, to) + 1;
  for (let day = localDay(schedule, from) - 9; day <= lastDay; day++) {
    for (const span of occurrencesOn(schedule, day)) {
      if (span.closesAt >= from && span.opensAt <= to) spans.push(span);
    }
  }
  return spans;
}

/** Merges overlapping or touching spans; the result is sorted and pairwise disjoint with gaps between. */
function mergeSpans(spans: Span[]): Span[] {
  const merged: Span[] = [];
  for (const span of [...spans].sort((a, b) => a.opensAt - b.opensAt)) {
    const last = merged.at(-1);
    if (last !== undefined && span.opensAt <= last.closesAt) last.closesAt = Math.max(last.closesAt, span.closesAt);
    else merged.push({ ...span });
  }
  return merged;
}

/** The merged window containing `at`, followed at most SEARCH_HORIZON_MS either way. */
function windowAround(schedule: CompiledSchedule, at: number): Span | undefined {
  for (let reach = 8 * MS_PER_DAY; ; reach = Math.min(2 * reach, SEARCH_HORIZON_MS)) {
    const from = at - reach;
    const to = at + reach;
    const window = mergeSpans(spansIntersecting(schedule, from, to)).find((span) => span.opensAt <= at && at < span.closesAt);
    // Once the window lies within [from, to], every span touching it intersects [from, to] and was merged.
    if (window === undefined || (window.opensAt >= from && window.closesAt <= to) || reach === SEARCH_HORIZON_MS) {
      return window;
    }
  }
}

/** The earliest opensAt of an occurrence or extra window in (after, until]. */
function firstOpeningAfter(schedule: CompiledSchedule, after: number, until: number): number | undefined {
  let first: number | undefined;
  for (const { opensAt } of schedule.extras) {
    if (opensAt > after && opensAt <= until && (first === undefined || opensAt < first)) first = opensAt;
  }
  // Occurrences of a date open no earlier than those of the date before (each opens by the instant the
  // clock first reaches the next midnight), so the first date with a candidate holds the earliest one.
  // Dates before the day before `after`'s opened all theirs by the time the clock first showed that day;
  // the date after `until`'s is included for the reason given in spansIntersecting.
  const lastDay = localDay(schedule, until) + 1;
  for (let day = localDay(schedule, after) - 1; day <= lastDay; day++) {
    const candidates = occurrencesOn(schedule, day)
      .map((span) => span.opensAt)
      .filter((opensAt) => opensAt > after && opensAt <= until);
    if (candidates.length > 0) return Math.min(first ?? Number.POSITIVE_INFINITY, ...candidates);
  }
  return first;
}

/**
 * The window started by the first occurrence or extra window opening in (quietFrom, until]. `quietFrom`
 * must lie in no window, as an instant outside windows or a window's closesAt does (merging is maximal),
 * so that the opening starts a new window instead of extending one.
 */
function windowOpeningAfter(schedule: CompiledSchedule, quietFrom: number, until: number): Span | undefined {
  const opensAt = firstOpeningAfter(schedule, quietFrom, until);
  return opensAt === undefined ? undefined : windowAround(schedule, opensAt);
}

function toInterval(span: Span): WindowInterval {
  return { opensAt: new Date(span.opensAt), closesAt: new Date(span.closesAt) };
}

/**
 * The window of `schedule` open at `at` (opensAt <= at < closesAt), or undefined when none is.
 * Occurrences and extra windows that overlap or touch are merged, so the result spans the whole
 * uninterrupted stretch of maintenance time around `at`. A schedule that is open without interruption
 * for more than SEARCH_HORIZON_MS on either side of `at` yields a window clipped near that horizon.
 * Throws an Error listing the problems for a schedule validateSchedule reports anything but overlaps
 * for, and a RangeError for an invalid Date.
 */
export function windowContaining(schedule: WindowSchedule, at: Date): WindowInterval | undefined {
  const window = windowAround(compileOrThrow(schedule), epochMsOf(at, 'at'));
  return window === undefined ? undefined : toInterval(window);
}

/** Whether a window of `schedule` is open at `at`: windowContaining(schedule, at) !== undefined. Throws likewise. */
export function isWithinWindow(schedule: WindowSchedule, at: Date): boolean {
  return windowContaining(schedule, at) !== undefined;
}

/**
 * The first window of `schedule` that opens strictly after `after`: if a window is open at `after`, the
 * one following it. The window is whole, as windowContaining returns it for any instant in it. Only
 * windows opening within SEARCH_HORIZON_MS (about two years) after `after` are found; undefined when
 * there is none, e.g. when every date in that range is blacked out. Throws like windowContaining.
 */
export function nextWindow(schedule: WindowSchedule, after: Date): WindowInterval | undefined {
  const compiled = compileOrThrow(schedule);
  const at = epochMsOf(after, 'after');
  const current = windowAround(compiled, at);
  const window = windowOpeningAfter(compiled, current?.closesAt ?? at, at + SEARCH_HORIZON_MS);
  return window === undefined ? undefined : toInterval(window);
}

/**
 * Up to `count` consecutive windows of `schedule`, in order: the window open at `from` if there is one,
 * then the windows that follow it, as far as those opening within SEARCH_HORIZON_MS after `from`.
 * So the first is windowContaining(schedule, from) ?? nextWindow(schedule, from), and the one after the
 * window open at `from` is nextWindow(schedule, from). Throws like windowContaining, and a RangeError
 * unless `count` is a non-negative integer.
 */
export function upcomingWindows(schedule: WindowSchedule, from: Date, count: number): WindowInterval[] {
  if (!Number.isSafeInteger(count) || count < 0) {
    throw new RangeError(`count must be a non-negative integer, got ${count}`);
  }
  const compiled = compileOrThrow(schedule);
  const at = epochMsOf(from, 'from');
  const until = at + SEARCH_HORIZON_MS;
  const windows: Span[] = [];
  let window = count > 0 ? (windowAround(compiled, at) ?? windowOpeningAfter(compiled, at, until)) : undefined;
  while (window !== undefined) {
    windows.push(window);
    window = windows.length < count ? windowOpeningAfter(compiled, window.closesAt, until) : undefined;
  }
  return windows.map(toInterval);
}
