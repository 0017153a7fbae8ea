/**
 * Remembers that a tenant's Azure resources were last read and found converged with a given
 * desired state, so that the next reconciles can trust that result instead of reading every
 * resource from ARM again.
 *
 * Why: one full check of a tenant is about twenty ARM reads. Kubernetes objects come from a watch
 * cache for free, but Azure has no watch: re-reading everything on every resync would, at 1000
 * tenants and a 10-minute resync, need ~33 reads per second, above what ARM grants a subscription
 * (25 per second, shared with every other tool in it). So a verified result is reused until
 * - the desired state changes (a different fingerprint: a spec, BackupPolicy or configuration
 *   change is acted on at once), or
 * - it is older than the drift-check interval: Azure-side drift (someone opening a firewall in the
 *   portal) is found and repaired within that interval plus one resync, or
 * - the entry is forgotten: after any failure, and when the tenant is released or deleted.
 * Entries are keyed by the Tenant's uid, so a Tenant re-created under the same name starts afresh.
 */

/** The cache key of a Tenant: its uid, so a Tenant re-created under the same name starts afresh. */
export function verifiedKey(tenant: { metadata: { uid?: string | undefined; name: string } }): string {
  return tenant.metadata.uid ?? tenant.metadata.name;
}

export interface VerifiedEntry<V> {
  fingerprint: string;
  verifiedAt: number;
  value: V;
}

export class VerifiedCache<V> {
  readonly #entries = new Map<string, VerifiedEntry<V>>();
  readonly #intervalMs: number;
  #setsSinceSweep = 0;

  /** `intervalMs` 0 disables the cache: every lookup misses. */
  constructor(intervalMs: number) {
    this.#intervalMs = intervalMs;
  }

  /** The value verified for this exact fingerprint less than the interval ago, else undefined. */
  get(key: string, fingerprint: string, now: number): V | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    if (entry.fingerprint !== fingerprint || now - entry.verifiedAt >= this.#intervalMs || now < entry.verifiedAt) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  set(key: string, fingerprint: string, value: V, now: number): void {
    if (this.#intervalMs <= 0) return;
    this.#entries.set(key, { fingerprint, verifiedAt: now, value });
    // Tenants removed without passing through forget() (a force-removed finalizer) must not leak.
    if (++this.#setsSinceSweep >= 256) {
      this.#setsSinceSweep = 0;
      for (const [k, e] of this.#entries) if (now - e.verifiedAt >= this.#intervalMs) this.#entries.delete(k);
    }
  }

  forget(key: string): void {
    this.#entries.delete(key);
  }

  get size(): number {
    return this.#entries.size;
  }
}
