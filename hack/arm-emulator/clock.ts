/** The emulator's controllable clock: the "now" behind every timestamp the emulator writes into resources. */

/**
 * A clock that only moves when told to. Timestamps the emulator fills in (`creationDate`,
 * `earliestRestoreDate`, a deleted vault's `deletionDate` and `scheduledPurgeDate`, key
 * `created`) come from it, so tests can move time forward instead of sleeping.
 *
 * Long-running operations do NOT use this clock: they complete after a real-time delay,
 * because the SDK pollers wait in real time.
 */
export interface ControllableClock {
  /** The current emulated time (a fresh Date each call). */
  now(): Date;
  /** Move time forward by `ms` milliseconds (negative values are rejected). */
  advance(ms: number): void;
  /** Jump to `date` (may move backwards: useful to replay a scenario). */
  set(date: Date): void;
}

/**
 * A clock frozen at `start` until advanced or set; with `running`, it also moves with real time
 * from `start` (for an emulator behind `make dev`, where backups should keep coming as an operator
 * on the real clock expects; `advance` and `set` still jump it).
 */
export function createControllableClock(start: Date = new Date(), options: { running?: boolean } = {}): ControllableClock {
  let current = start.getTime();
  let anchor = Date.now();
  const read = (): number => (options.running ? current + (Date.now() - anchor) : current);
  return {
    now: () => new Date(read()),
    advance(ms: number): void {
      if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`clock.advance needs a non-negative number, got ${ms}`);
      current = read() + ms;
      anchor = Date.now();
    },
    set(date: Date): void {
      current = date.getTime();
      anchor = Date.now();
    },
  };
}
