/**
 * Runs one reconciler over a work queue with bounded concurrency.
 *
 * The reconciler contract (after controller-runtime): a key in, a result or an error out.
 * Reconcile is level-based: it must read the world afresh and not depend on which event
 * queued the key. Outcomes:
 * - success: the key's backoff is reset; `requeueAfterMs` schedules a later look (a timer, a poll);
 * - RetryableError: requeued after its `retryAfterMs` when given (Retry-After), else with backoff;
 *   a PlatformError (the platform team must act) likewise, and is counted apart;
 * - TerminalError: not requeued; the reconciler has recorded it in status and waits for a change;
 * - anything else: treated as retryable, with backoff.
 * The outcome of each reconcile goes to `hooks.onReconciled` for metrics: who must act is part of
 * it, so a mistyped spec or a missing permission is never counted as the operator failing.
 */
import type { Logger } from 'winston';
import { errorMessage, FailureWithPendingWork, PlatformError, RetryableError, TerminalError } from './errors.ts';
import type { WorkQueue } from './queue.ts';

export interface ReconcileResult {
  /** Look at this key again after this long, even if nothing changes. */
  requeueAfterMs?: number;
  /**
   * The requeue continues work under way (an operation being polled): it goes ahead of keys not
   * started yet, so a mass onboarding finishes tenants one by one instead of all at the end.
   */
  urgent?: boolean;
}

export interface Reconciler {
  /**
   * `signal` aborts when the reconcile runs past the controller's deadline: calls to slow external
   * systems (Azure) take it, so a hung call frees its worker instead of holding it.
   */
  reconcile(key: string, signal?: AbortSignal): Promise<ReconcileResult | undefined>;
}

/**
 * How a reconcile ended: `success`; `requeue` (success, looked at again later); `spec_error` (a
 * TerminalError: only a spec change helps, the object's owner must act); `platform_error` (a
 * PlatformError: the platform team must act); `retryable_error` (a RetryableError the operator
 * retries); `error` (anything unexpected, retried). Only the last two are the operator's own faults.
 */
export const RECONCILE_OUTCOMES = ['success', 'requeue', 'spec_error', 'platform_error', 'retryable_error', 'error'] as const;
export type ReconcileOutcome = (typeof RECONCILE_OUTCOMES)[number];

export interface ControllerHooks {
  onReconciled?: (controller: string, outcome: ReconcileOutcome, seconds: number) => void;
  onRetry?: (controller: string) => void;
}

export interface ControllerOptions {
  concurrency: number;
  logger: Logger;
  hooks?: ControllerHooks;
  /** Deadline of one reconcile (default 120 s): past it, its signal aborts. */
  reconcileTimeoutMs?: number;
}

export class Controller {
  #workers: Promise<void>[] = [];
  #running = false;

  readonly name: string;
  readonly reconciler: Reconciler;
  readonly queue: WorkQueue;
  readonly options: ControllerOptions;

  constructor(name: string, reconciler: Reconciler, queue: WorkQueue, options: ControllerOptions) {
    this.name = name;
    this.reconciler = reconciler;
    this.queue = queue;
    this.options = options;
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.queue.reopen();
    for (let i = 0; i < this.options.concurrency; i++) this.#workers.push(this.#work());
  }

  /** Stops handing out keys and waits for reconciles in flight to finish. */
  async stop(): Promise<void> {
    this.queue.shutDown();
    await Promise.all(this.#workers);
    this.#workers = [];
    this.#running = false;
  }

  async #work(): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      const started = process.hrtime.bigint();
      let outcome: ReconcileOutcome = 'success';
      try {
        const result = await this.reconciler.reconcile(key, AbortSignal.timeout(this.options.reconcileTimeoutMs ?? 120_000));
        this.queue.forget(key);
        if (result?.requeueAfterMs !== undefined) {
          outcome = 'requeue';
          this.queue.addAfter(key, result.requeueAfterMs, { urgent: result.urgent === true });
        }
      } catch (err) {
        outcome = this.#handleError(key, err);
      } finally {
        this.queue.done(key);
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        this.options.hooks?.onReconciled?.(this.name, outcome, seconds);
      }
    }
  }

  #handleError(key: string, err: unknown): ReconcileOutcome {
    if (err instanceof FailureWithPendingWork) {
      const outcome = this.#handleError(key, err.failure);
      // Earliest wins: the failure's own backoff, or the pending work's next look.
      this.queue.addAfter(key, err.requeueAfterMs, { urgent: true });
      return outcome;
    }
    const log = this.options.logger;
    if (err instanceof TerminalError) {
      this.queue.forget(key);
      log.warn('reconcile failed; waiting for a spec change', {
        controller: this.name,
        key,
        reason: err.reason,
        error: err.message,
      });
      return 'spec_error';
    }
    this.options.hooks?.onRetry?.(this.name);
    if (err instanceof RetryableError) {
      const delay = err.retryAfterMs !== undefined ? err.retryAfterMs : this.queue.addRateLimited(key);
      if (err.retryAfterMs !== undefined) this.queue.addAfter(key, err.retryAfterMs);
      log.info('reconcile will retry', { controller: this.name, key, reason: err.reason, error: err.message, retryInMs: delay });
      return err instanceof PlatformError ? 'platform_error' : 'retryable_error';
    }
    const delay = this.queue.addRateLimited(key);
    log.error('reconcile error', { controller: this.name, key, error: errorMessage(err), retryInMs: delay });
    return 'error';
  }
}
