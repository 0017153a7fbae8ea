/**
 * ISO 8601 durations as Azure spells its periods (`P1Y`, `P18M`, `P30D`, `PT12H`): parsing to an
 * approximate length, for comparisons and for computing an instant that Azure computes the same way
 * within a day (a year is 365 days, a month 30).
 */

const DURATION = /^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$/;

const DAY_MS = 86_400_000;

/** Length in milliseconds, or undefined when `value` is not an ISO 8601 duration with a component. */
export function isoDurationMs(value: string): number | undefined {
  const m = DURATION.exec(value);
  if (m === null || value === 'P' || value.endsWith('T')) return undefined;
  const n = (i: number): number => Number(m[i] ?? 0);
  return (
    n(1) * 365 * DAY_MS + n(2) * 30 * DAY_MS + n(3) * 7 * DAY_MS + n(4) * DAY_MS + n(5) * 3_600_000 + n(6) * 60_000 + n(7) * 1000
  );
}

/** Whole days, rounded down (for messages). */
export function isoDurationDays(value: string): number | undefined {
  const ms = isoDurationMs(value);
  return ms === undefined ? undefined : Math.floor(ms / DAY_MS);
}
