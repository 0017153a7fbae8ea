/**
 * Error classes that tell the controller machinery what to do next.
 *
 * A reconciler throws (or returns) one of these instead of a string: the controller maps
 * `RetryableError` to a requeue with backoff (or after `retryAfterMs`, honouring a server's
 * Retry-After), and `TerminalError` to a condition that waits for the spec to change.
 * Both carry a CamelCase `reason` that lands in a status condition a person can act on.
 */

/** A problem that may go away by itself: throttling, a 5xx, a conflict, an operation in progress. */
export class RetryableError extends Error {
  override readonly name = 'RetryableError';
  /** CamelCase condition reason, e.g. `AzureThrottled`. */
  readonly reason: string;
  /** Wait at least this long before retrying (from Retry-After); undefined means "use backoff". */
  readonly retryAfterMs: number | undefined;

  constructor(reason: string, message: string, options?: { retryAfterMs?: number; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.reason = reason;
    this.retryAfterMs = options?.retryAfterMs;
  }
}

/** A problem only a spec change can fix: a forbidden region, an invalid SKU, a bad reference. */
export class TerminalError extends Error {
  override readonly name = 'TerminalError';
  /** CamelCase condition reason, e.g. `RegionNotAllowed`. */
  readonly reason: string;

  constructor(reason: string, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.reason = reason;
  }
}

export function isRetryable(err: unknown): err is RetryableError {
  return err instanceof RetryableError;
}

export function isTerminal(err: unknown): err is TerminalError {
  return err instanceof TerminalError;
}

/** Message of any thrown value, for logs and conditions (never includes a stack). */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
