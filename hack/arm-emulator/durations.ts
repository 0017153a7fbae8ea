/** ISO 8601 durations as Azure SQL retention policies use them (`PT0S`, `P7D`, `P12W`, `P12M`, `P5Y`). */

const DURATION = /^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$/;

/** True for a syntactically valid ISO 8601 duration with at least one component. */
export function isIsoDuration(value: string): boolean {
  return value !== 'P' && value !== 'PT' && DURATION.test(value);
}

/**
 * Approximate length in milliseconds (a month is 30 days, a year 365): enough to compute a
 * retention expiry in the emulator. Returns undefined for an invalid duration.
 */
export function isoDurationMs(value: string): number | undefined {
  const m = DURATION.exec(value);
  if (m === null || !isIsoDuration(value)) return undefined;
  const n = (i: number): number => Number(m[i] ?? 0);
  const day = 86_400_000;
  return n(1) * 365 * day + n(2) * 30 * day + n(3) * 7 * day + n(4) * day + n(5) * 3_600_000 + n(6) * 60_000 + n(7) * 1000;
}
