/**
 * Leader election on a coordination.k8s.io Lease, with controller-runtime's timings
 * (lease 15 s, renew deadline 10 s, retry 2 s).
 *
 * A candidate takes the lease when it is free or when its holder has not renewed it for a whole
 * lease duration, measured on the candidate's own clock from the moment it last saw the record
 * change (as client-go does, so clock skew between replicas does not matter). A leader that
 * cannot renew within the renew deadline calls `onStoppedLeading` at once, before anyone else
 * can take over; the caller stops reconciling and should exit.
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

export class LeaderElector {
  #observedRecord = '';
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
    while (!this.#stopped && !(await this.#tryAcquireOrRenew())) await this.#sleep(this.options.retryPeriodMs);
    if (this.#stopped) return;
    this.#setLeading(true);
    this.logger.info('became leader', { lease: this.options.name, identity: this.options.identity });
    onStartedLeading();
    let lastRenew = Date.now();
    while (!this.#stopped) {
      await this.#sleep(this.options.retryPeriodMs);
      if (this.#stopped) break;
      if (await this.#tryAcquireOrRenew()) lastRenew = Date.now();
      else if (Date.now() - lastRenew > this.options.renewDeadlineMs) {
        this.#setLeading(false);
        this.logger.error('lost leadership: lease not renewed within the renew deadline', { lease: this.options.name });
        onStoppedLeading('renew deadline exceeded');
        return;
      }
    }
    if (this.#leading) {
      this.#setLeading(false);
      await this.#release();
      onStoppedLeading('stopped');
    }
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

  async #tryAcquireOrRenew(): Promise<boolean> {
    const { namespace, name, identity } = this.options;
    const now = microTime(new Date());
    const leaseDurationSeconds = Math.ceil(this.options.leaseDurationMs / 1000);
    let lease: Lease | undefined;
    try {
      lease = await this.client.request<Lease>('GET', resourcePath(LEASES, namespace, name));
    } catch (err) {
      if (!isNotFound(err)) {
        this.logger.warn('cannot read leader lease', { error: (err as Error).message });
        return false;
      }
    }
    try {
      if (!lease) {
        await this.client.request('POST', resourcePath(LEASES, namespace), {
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
      await this.client.request('PUT', resourcePath(LEASES, namespace, name), { body: lease });
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
