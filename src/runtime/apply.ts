/**
 * Server-side apply under the operator's single field manager, skipped when the cluster
 * already holds the desired state (see compare.ts), so a converged fleet costs no writes.
 */
import { DESIRED_HASH_ANNOTATION, differingPaths, hashOf, isContainedIn } from './compare.ts';
import { isNotFound, type KubeClient, type KubeObject } from './kube-client.ts';
import { resourceOf } from './resources.ts';

export const FIELD_MANAGER = 'tenant-operator';

export type ApplyOutcome = 'unchanged' | 'applied';

/** `kind namespace/name`: how the applier keys objects it watches for hand deletions. */
function keyOf(o: KubeObject): string {
  return `${o.kind} ${o.metadata.namespace ?? ''}/${o.metadata.name}`;
}

/** Called after every write, for the audit trail and metrics. */
export type WriteObserver = (write: { verb: 'apply' | 'delete'; object: KubeObject; error?: unknown }) => void;

export class Applier {
  readonly client: KubeClient;
  readonly onWrite: WriteObserver;
  /** Objects this applier deleted (their watch event is not drift), until that event arrives. */
  readonly #ownDeletions = new Set<string>();
  /** Objects someone else deleted, until they are applied again (then reported as drift). */
  readonly #deletedByOthers = new Set<string>();

  constructor(client: KubeClient, onWrite: WriteObserver = () => {}) {
    this.client = client;
    this.onWrite = onWrite;
  }

  /**
   * Stamps `desired` with the hash of its content and applies it unless `observed` already
   * contains it. Returns the object as the server holds it afterwards, and `drift` when the write
   * undid someone else's change: the object still carries the hash of this very desired state
   * (so nothing on our side changed) but its fields differ, or it was deleted by someone else.
   */
  async apply<T extends KubeObject>(
    desired: T,
    observed: KubeObject | undefined,
  ): Promise<{ outcome: ApplyOutcome; object: KubeObject; drift?: string[] }> {
    const stamped = withDesiredHash(desired);
    if (observed && isContainedIn(stamped, observed)) return { outcome: 'unchanged', object: observed };
    const key = keyOf(stamped);
    const drift = observed
      ? observed.metadata.annotations?.[DESIRED_HASH_ANNOTATION] === stamped.metadata.annotations?.[DESIRED_HASH_ANNOTATION]
        ? differingPaths(stamped, observed)
        : undefined
      : this.#deletedByOthers.has(key)
        ? ['deleted']
        : undefined;
    try {
      const object = await this.client.apply(resourceOf(stamped.kind), stamped, FIELD_MANAGER);
      this.onWrite({ verb: 'apply', object: stamped });
      this.#deletedByOthers.delete(key);
      return { outcome: 'applied', object, ...(drift ? { drift } : {}) };
    } catch (error) {
      this.onWrite({ verb: 'apply', object: stamped, error });
      throw error;
    }
  }

  /**
   * Tells the applier that the watch saw `object` deleted. Unless this applier deleted it, someone
   * else did: its next apply is reported as drift. Only objects carrying our desired-state hash count.
   */
  noteDeletion(object: KubeObject): void {
    if (object.metadata.annotations?.[DESIRED_HASH_ANNOTATION] === undefined) return;
    const key = keyOf(object);
    if (this.#ownDeletions.delete(key)) return;
    // Bounded: a deleted object that is never applied again (its tenant is gone) must not pile up.
    if (this.#deletedByOthers.size > 10_000) this.#deletedByOthers.clear();
    this.#deletedByOthers.add(key);
  }

  /** Deletes an object; a 404 counts as done (it is gone, which is what we asked for). */
  async delete(object: KubeObject): Promise<void> {
    try {
      this.#ownDeletions.add(keyOf(object));
      await this.client.delete(resourceOf(object.kind), object.metadata.name, object.metadata.namespace);
      this.onWrite({ verb: 'delete', object });
    } catch (error) {
      // No watch event follows a delete that did not happen.
      this.#ownDeletions.delete(keyOf(object));
      if (isNotFound(error)) return;
      this.onWrite({ verb: 'delete', object, error });
      throw error;
    }
  }
}

/** A copy of `desired` carrying the hash of its own content as an annotation. */
export function withDesiredHash<T extends KubeObject>(desired: T): T {
  const hash = hashOf(desired);
  return {
    ...desired,
    metadata: {
      ...desired.metadata,
      annotations: { ...desired.metadata.annotations, [DESIRED_HASH_ANNOTATION]: hash },
    },
  };
}
