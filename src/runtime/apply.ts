/**
 * Server-side apply under the operator's single field manager, skipped when the cluster
 * already holds the desired state (see compare.ts), so a converged fleet costs no writes.
 */
import { DESIRED_HASH_ANNOTATION, hashOf, isContainedIn } from './compare.ts';
import { isNotFound, type KubeClient, type KubeObject } from './kube-client.ts';
import { resourceOf } from './resources.ts';

export const FIELD_MANAGER = 'tenant-operator';

export type ApplyOutcome = 'unchanged' | 'applied';

/** Called after every write, for the audit trail and metrics. */
export type WriteObserver = (write: { verb: 'apply' | 'delete'; object: KubeObject; error?: unknown }) => void;

export class Applier {
  readonly client: KubeClient;
  readonly onWrite: WriteObserver;

  constructor(client: KubeClient, onWrite: WriteObserver = () => {}) {
    this.client = client;
    this.onWrite = onWrite;
  }

  /**
   * Stamps `desired` with the hash of its content and applies it unless `observed` already
   * contains it. Returns the object as the server holds it afterwards.
   */
  async apply<T extends KubeObject>(
    desired: T,
    observed: KubeObject | undefined,
  ): Promise<{ outcome: ApplyOutcome; object: KubeObject }> {
    const stamped = withDesiredHash(desired);
    if (observed && isContainedIn(stamped, observed)) return { outcome: 'unchanged', object: observed };
    try {
      const object = await this.client.apply(resourceOf(stamped.kind), stamped, FIELD_MANAGER);
      this.onWrite({ verb: 'apply', object: stamped });
      return { outcome: 'applied', object };
    } catch (error) {
      this.onWrite({ verb: 'apply', object: stamped, error });
      throw error;
    }
  }

  /** Deletes an object; a 404 counts as done (it is gone, which is what we asked for). */
  async delete(object: KubeObject): Promise<void> {
    try {
      await this.client.delete(resourceOf(object.kind), object.metadata.name, object.metadata.namespace);
      this.onWrite({ verb: 'delete', object });
    } catch (error) {
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
