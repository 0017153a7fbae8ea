/**
 * Kinds of two common shapes, built from their identity: a placed resource (only its location
 * and tags are ours) and a settings resource (one body, PUT to create and PUT to fix).
 */
import type { ArmBody } from '../arm-client.ts';
import type { ResourceKind } from '../engine.ts';
import { type Placement, placement, provisioningState, tagsOnlyUpdate } from './common.ts';
import { placementDiff } from './compare.ts';
import type { KindIdentity } from './ids.ts';

/**
 * A resource whose only fields we own are its location and tags (resource groups, identities):
 * created with them, tags fixed with a PATCH, a location never changed.
 */
export function placedKind<P extends Placement>(kind: KindIdentity<P> & Pick<ResourceKind<P>, 'ready'>): ResourceKind<P> {
  return {
    ...kind,
    create: placement,
    diff: (p, observed) => placementDiff(p, observed),
    update: tagsOnlyUpdate,
    state: provisioningState,
  };
}

/**
 * A child resource that is all settings (TDE, Entra-only, a server key, a retention policy): one
 * body, PUT to create it and PUT again to fix any difference.
 */
export function settingsKind<P>(
  kind: KindIdentity<P> & Pick<ResourceKind<P>, 'diff' | 'ready'> & { body(params: P): ArmBody },
): ResourceKind<P> {
  const { body, ...rest } = kind;
  return { ...rest, create: body, update: (p) => ({ method: 'PUT', body: body(p) }), state: provisioningState };
}
