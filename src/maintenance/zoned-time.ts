/** Time-zone primitives over `Intl`: the local wall-clock reading of an instant, and the instant of a wall-clock reading. */

/**
 * A local wall-clock reading encoded as a number: the milliseconds `Date.UTC` would return for the local
 * calendar fields (so 2026-03-29T02:30 on a clock in any zone is `Date.UTC(2026, 2, 29, 2, 30)`).
 * Wall-clock arithmetic ("start + 3h on the clock face") is then plain addition, and
 * `Math.floor(wall / MS_PER_DAY)` is the local calendar date as a day number.
 */
export type WallClock = number;

/** Which instant to take for a wall-clock reading that a backward transition makes occur twice. */
export type Disambiguation = 'earlier' | 'later';

export const MS_PER_MINUTE = 60_000;
export const MS_PER_HOUR = 60 * MS_PER_MINUTE;
export const MS_PER_DAY = 24 * MS_PER_HOUR;

const MS_PER_SECOND = 1000;
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone);
  if (formatter === undefined) {
    // h23, not hour12:false: some ICU versions render midnight as "24" under hour12:false.
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, formatter);
  }
  return formatter;
}

/**
 * True when `name` is a time-zone name `Intl` accepts (matched the way `Intl` matches, ASCII
 * case-insensitively; links such as "Asia/Calcutta" and "Etc/UTC" included) and is not a UTC offset.
 * Offsets are rejected in every spelling, "+02:00", "-0530", "UTC+2", "GMT+2" and the IANA "Etc/GMT+2"
 * family alike: a fixed offset silently moves a local-time promise by an hour when daylight saving
 * starts or ends. "UTC", "Etc/UTC" and "GMT" are accepted.
 */
export function isValidTimeZone(name: string): boolean {
  // Every offset spelling has a sign followed by a digit; no IANA location name does. The type check
  // guards untyped input: Intl treats an undefined timeZone as the host's zone.
  if (typeof name !== 'string' || /[+-]\d/.test(name)) return false;
  try {
    formatterFor(name);
    return true;
  } catch {
    return false;
  }
}

/** Reads the offset from Intl: the wall clock of the whole second minus that second (tz offsets are whole seconds). */
function readOffset(timeZone: string, epochMs: number): number {
  const wholeSecond = Math.floor(epochMs / MS_PER_SECOND) * MS_PER_SECOND;
  const fields = { year: 0, month: 0, day: 0, hour: 0, minute: 0, second: 0 };
  for (const part of formatterFor(timeZone).formatToParts(wholeSecond)) {
    if (part.type in fields) fields[part.type as keyof typeof fields] = Number(part.value);
  }
  const wall = new Date(0);
  // setUTCFullYear, not Date.UTC: Date.UTC maps years 0-99 to 1900-1999.
  wall.setUTCFullYear(fields.year, fields.month - 1, fields.day);
  wall.setUTCHours(fields.hour, fields.minute, fields.second);
  return wall.getTime() - wholeSecond;
}

/** Per zone, the offset at 00:00Z of each UTC day number asked about so far; cleared when it grows large. */
const dailyOffsets = new Map<string, Map<number, number>>();
const MAX_DAILY_OFFSETS = 100_000;

function dailyOffset(timeZone: string, day: number): number {
  let offsets = dailyOffsets.get(timeZone);
  if (offsets === undefined) {
    offsets = new Map();
    dailyOffsets.set(timeZone, offsets);
  }
  let offset = offsets.get(day);
  if (offset === undefined) {
    if (offsets.size >= MAX_DAILY_OFFSETS) offsets.clear();
    offset = readOffset(timeZone, day * MS_PER_DAY);
    offsets.set(day, offset);
  }
  return offset;
}

/**
 * The UTC offset of `timeZone` at the instant `epochMs`, in milliseconds (positive east of Greenwich).
 * Throws a RangeError for a zone `Intl` rejects.
 */
export function offsetAt(timeZone: string, epochMs: number): number {
  // Intl is slow (microseconds a call), so sample it daily: a zone never changes its offset twice within a
  // day, so equal offsets at the two midnights around `epochMs` hold all day in between.
  const day = Math.floor(epochMs / MS_PER_DAY);
  const offset = dailyOffset(timeZone, day);
  return offset === dailyOffset(timeZone, day + 1) ? offset : readOffset(timeZone, epochMs);
}

/** The wall clock in `timeZone` at the instant `epochMs`. Throws a RangeError for a zone `Intl` rejects. */
export function wallClockAt(timeZone: string, epochMs: number): WallClock {
  return epochMs + offsetAt(timeZone, epochMs);
}

/**
 * The instant at which the clock in `timeZone` reads `wall`.
 *
 * - A reading that occurs once maps to that instant.
 * - A reading repeated by a backward transition maps to its first occurrence (`'earlier'`) or its
 *   second (`'later'`).
 * - A reading skipped by a forward transition maps to the transition itself: the first instant after the
 *   gap, whose own reading is the end of the gap (02:30 on a night when 02:00 becomes 03:00 maps to the
 *   instant the clock shows 03:00). `disambiguation` does not apply.
 *
 * Assumes the zone changes its offset at most once within a day either side of `wall`, as every zone in
 * the tz database does (even Pacific/Apia, which skipped all of 30 December 2011).
 */
export function instantOf(timeZone: string, wall: WallClock, disambiguation: Disambiguation): number {
  // The offsets in force a day before and after bracket every offset that can apply at `wall`.
  const offsetBefore = offsetAt(timeZone, wall - MS_PER_DAY);
  const offsetAfter = offsetAt(timeZone, wall + MS_PER_DAY);
  const candidates = [wall - offsetBefore, wall - offsetAfter].filter((instant) => wallClockAt(timeZone, instant) === wall);
  if (candidates.length > 0) {
    return disambiguation === 'earlier' ? Math.min(...candidates) : Math.max(...candidates);
  }
  // A gap: the clock reads less than `wall` at `low` and more at `high`. Binary-search the transition,
  // at whole seconds since tz transitions happen on whole seconds.
  let low = Math.floor((wall - Math.max(offsetBefore, offsetAfter)) / MS_PER_SECOND);
  let high = Math.ceil((wall - Math.min(offsetBefore, offsetAfter)) / MS_PER_SECOND);
  while (high - low > 1) {
    const middle = Math.floor((low + high) / 2);
    if (wallClockAt(timeZone, middle * MS_PER_SECOND) >= wall) high = middle;
    else low = middle;
  }
  return high * MS_PER_SECOND;
}
