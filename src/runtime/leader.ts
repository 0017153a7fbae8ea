/**
 * Leader election on a coordination.k8s.io Lease, with controller-runtime's timings
 * (lease 15 s, renew deadline 10 s, retry 2 s), fenced so that a leader cut off from the API server
 * stops writing before anyone else can take over.
 *
 * A candidate takes the lease when it is free or when its holder has not renewed it for a whole
 * lease duration, measured on the candidate's own clock from the moment it last saw the record
 * change (as client-go does, so clock skew between replicas does not matter). A leader's term ends
 * at `lastRenew + renewDeadline`, `lastRenew` being when its last successful renew was *sent*:
 * - every renew is bounded by the time left before that deadline (a hung call cannot outlive it);
 * - a watchdog timer ends the term at the deadline whether or not any call has returned;
 * - `signal` is aborted when the term ends: every request made with it (the controllers' client,
 *   see KubeClient.fenced) is refused from then on and cut off if in flight.
 * Another replica can only take over a lease duration after it last saw a renew, which is after the
 * renew was sent: the renew deadline (10 s) is shorter than the lease (15 s), so the old leader has
 * stopped for at least 5 s when a new one starts.
 */
import type { Logger } from 'winston';
import { isNotFound, KubeApiError, type KubeClient, type KubeObject, resourcePath } from './kube-client.ts';

const LEASES = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', plural: 'leases', namespaced: true };

interface Lease extends KubeObject {
  spec?: {
    holderIdentity?: string;
    leaseDurationSeconds?: number;
    acquireTime?: string;
    renewTime?: string;
    leaseTransitions?: number;
  };
}

/** Lease times are MicroTime: RFC 3339 with exactly six fractional digits. */
export function microTime(date: Date): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

export interface LeaderElectionOptions {
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
}

/** The reason every fenced request fails with once this replica no longer leads. */
export class LeadershipLostError extends Error {
  override readonly name = 'LeadershipLostError';
}

export class LeaderElector {
  #observedRecord = '';
  #leadership = new AbortController();
  #watchdog: NodeJS.Timeout | undefined;
  #termEnded: ((reason: string) => void) | undefined;
  #observedAt = 0;
  #stopped = false;
  #leading = false;
  #wake: (() => void) | undefined;

  readonly client: KubeClient;
  readonly options: LeaderElectionOptions;
  readonly logger: Logger;
  readonly onLeadershipChange: (leading: boolean) => void;

  constructor(
    client: KubeClient,
    options: LeaderElectionOptions,
    logger: Logger,
    onLeadershipChange: (leading: boolean) => void = () => {},
  ) {
    this.client = client;
    this.options = options;
    this.logger = logger;
    this.onLeadershipChange = onLeadershipChange;
    this.#leadership.abort(new LeadershipLostError('not leading'));
  }

  /**
   * Aborted whenever this replica does not lead: pass it (KubeClient.fenced) to every request
   * that may only be made while leading. A fresh signal starts with each term.
   */
  get signal(): AbortSignal {
    return this.#leadership.signal;
  }

  get isLeader(): boolean {
    return this.#leading;
  }

  /** True once stop() was called: run() returns and will not lead again. */
  get stopped(): boolean {
    return this.#stopped;
  }

  /**
   * Campaigns until elected, calls `onStartedLeading`, renews until the lease is lost or
   * `stop()` is called, then calls `onStoppedLeading` (only if it had started leading).
   */
  async run(onStartedLeading: () => void, onStoppedLeading: (reason: string) => void): Promise<void> {
    let attemptAt = Date.now();
    for (;;) {
      if (this.#stopped) return;
      attemptAt = Date.now();
      if (await this.#tryAcquireOrRenew(AbortSignal.timeout(this.options.retryPeriodMs + this.options.renewDeadlineMs))) break;
      await this.#sleep(this.options.retryPeriodMs);
    }
    if (this.#stopped) return;
    // The term runs from when the winning request was sent, not from when it was answered.
    let lastRenew = attemptAt;
    const ended = new Promise<string>((resolve) => {
      this.#termEnded = resolve;
    });
    this.#startTerm(lastRenew);
    this.logger.info('became leader', { lease: this.options.name, identity: this.options.identity });
    onStartedLeading();
    let endReason: string | undefined;
    void ended.then((reason) => {
      endReason = reason;
      this.#wake?.();
    });
    while (!this.#stopped && endReason === undefined) {
      await this.#sleep(this.options.retryPeriodMs);
      if (this.#stopped || endReason !== undefined) break;
      const sentAt = Date.now();
      const left = lastRenew + this.options.renewDeadlineMs - sentAt;
      if (left <= 0) break;
      // Bounded by the time left in the term: a renew answered after it would change nothing.
      if (await this.#tryAcquireOrRenew(AbortSignal.any([AbortSignal.timeout(left), this.signal]))) {
        if (endReason !== undefined) break;
        lastRenew = sentAt;
        this.#armWatchdog(lastRenew);
      }
    }
    if (!this.#stopped || endReason !== undefined) {
      this.#endTerm();
      this.logger.error('lost leadership: lease not renewed within the renew deadline', { lease: this.options.name });
      onStoppedLeading('renew deadline exceeded');
      return;
    }
    if (this.#leading) {
      this.#endTerm();
      await this.#release();
      onStoppedLeading('stopped');
    }
  }

  #startTerm(lastRenew: number): void {
    this.#leadership = new AbortController();
    this.#setLeading(true);
    this.#armWatchdog(lastRenew);
  }

  /** The watchdog: ends the term at the renew deadline, whatever calls are still pending. */
  #armWatchdog(lastRenew: number): void {
    clearTimeout(this.#watchdog);
    const left = Math.max(0, lastRenew + this.options.renewDeadlineMs - Date.now());
    this.#watchdog = setTimeout(() => {
      // Fence first: nothing may be sent from this instant on.
      this.#leadership.abort(new LeadershipLostError('renew deadline exceeded'));
      this.#termEnded?.('renew deadline exceeded');
    }, left);
  }

  #endTerm(): void {
    clearTimeout(this.#watchdog);
    this.#termEnded = undefined;
    if (!this.#leadership.signal.aborted) this.#leadership.abort(new LeadershipLostError('leadership ended'));
    this.#setLeading(false);
  }

  /** Stops campaigning or renewing; a leader releases the lease so a standby takes over quickly. */
  stop(): void {
    this.#stopped = true;
    this.#wake?.();
  }

  #setLeading(leading: boolean): void {
    this.#leading = leading;
    this.onLeadershipChange(leading);
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.#wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  async #tryAcquireOrRenew(signal: AbortSignal): Promise<boolean> {
    const { namespace, name, identity } = this.options;
    const now = microTime(new Date());
    const leaseDurationSeconds = Math.ceil(this.options.leaseDurationMs / 1000);
    let lease: Lease | undefined;
    try {
      lease = await this.client.request<Lease>('GET', resourcePath(LEASES, namespace, name), { signal });
    } catch (err) {
      if (!isNotFound(err)) {
        this.logger.warn('cannot read leader lease', { error: (err as Error).message });
        return false;
      }
    }
    try {
      if (!lease) {
        await this.client.request('POST', resourcePath(LEASES, namespace), {
          signal,
          body: {
            apiVersion: LEASES.apiVersion,
            kind: 'Lease',
            metadata: { name, namespace },
            spec: { holderIdentity: identity, leaseDurationSeconds, acquireTime: now, renewTime: now, leaseTransitions: 0 },
          },
        });
        this.#observe(`${identity}/${now}`);
        return true;
      }
      const spec = lease.spec ?? {};
      const record = `${spec.holderIdentity ?? ''}/${spec.renewTime ?? ''}`;
      if (record !== this.#observedRecord) this.#observe(record);
      const held = Boolean(spec.holderIdentity) && spec.holderIdentity !== identity;
      const expired = Date.now() > this.#observedAt + (spec.leaseDurationSeconds ?? leaseDurationSeconds) * 1000;
      if (held && !expired) return false;
      const takingOver = spec.holderIdentity !== identity;
      lease.spec = {
        ...spec,
        holderIdentity: identity,
        leaseDurationSeconds,
        renewTime: now,
        ...(takingOver ? { acquireTime: now } : {}),
        leaseTransitions: (spec.leaseTransitions ?? 0) + (takingOver ? 1 : 0),
      };
      // PUT carries resourceVersion: a concurrent writer makes this fail with 409 instead of both winning.
      await this.client.request('PUT', resourcePath(LEASES, namespace, name), { body: lease, signal });
      this.#observe(`${identity}/${now}`);
      return true;
    } catch (err) {
      if (!(err instanceof KubeApiError && err.code === 409))
        this.logger.warn('cannot acquire or renew leader lease', { error: (err as Error).message });
      return false;
    }
  }

  #observe(record: string): void {
    this.#observedRecord = record;
    this.#observedAt = Date.now();
  }

  async #release(): Promise<void> {
    const { namespace, name, identity } = this.options;
    try {
      const lease = await this.client.request<Lease>('GET', resourcePath(LEASES, namespace, name));
      if (lease.spec?.holderIdentity !== identity) return;
      lease.spec = { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: microTime(new Date()) };
      await this.client.request('PUT', resourcePath(LEASES, namespace, name), { body: lease });
    } catch (err) {
      this.logger.warn('cannot release leader lease', { error: (err as Error).message });
    }
  }
}
