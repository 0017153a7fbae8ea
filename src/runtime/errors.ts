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
  override readonly name: string = 'RetryableError';
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

/**
 * A problem neither waiting briefly nor a spec change fixes: the platform team must act (grant a
 * permission, raise a quota, register a provider, re-enable a subscription). Retried, but slowly
 * (`retryAfterMs`, minutes), so the fix is picked up without a storm of requests meanwhile; its
 * reason says who must act.
 */
export class PlatformError extends RetryableError {
  override readonly name = 'PlatformError';
}

/**
 * A failure to report while other work of the same object still needs a look soon (an Azure
 * operation of an independent resource is running). The controller counts, logs and backs off on
 * `failure` as usual, but also looks again after `requeueAfterMs` at the latest: a TerminalError
 * alone would wait for a spec change, and a PlatformError for minutes, leaving the running
 * operation unpolled.
 */
export class FailureWithPendingWork extends Error {
  override readonly name = 'FailureWithPendingWork';
  readonly failure: RetryableError | TerminalError;
  readonly requeueAfterMs: number;

  constructor(failure: RetryableError | TerminalError, requeueAfterMs: number) {
    super(failure.message, { cause: failure });
    this.failure = failure;
    this.requeueAfterMs = requeueAfterMs;
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

export function isPlatform(err: unknown): err is PlatformError {
  return err instanceof PlatformError;
}

/** The same classified error with `what` (the step or resource) in front of its message. */
export function inContext<E extends RetryableError | TerminalError>(err: E, what: string): E {
  const message = `${what}: ${err.message}`;
  if (err instanceof TerminalError) return new TerminalError(err.reason, message, { cause: err.cause ?? err }) as E;
  const options = { cause: err.cause ?? err, ...(err.retryAfterMs === undefined ? {} : { retryAfterMs: err.retryAfterMs }) };
  if (err instanceof PlatformError) return new PlatformError(err.reason, message, options) as E;
  return new RetryableError(err.reason, message, options) as E;
}

export function isTerminal(err: unknown): err is TerminalError {
  return err instanceof TerminalError;
}

/** Message of any thrown value, for logs and conditions (never includes a stack). */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
