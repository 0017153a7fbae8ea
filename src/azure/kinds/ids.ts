/**
 * How ARM names resources: a kind's identity (type, api-version, label) and the id it derives
 * from its type, so a kind's type and the ids it builds can never disagree.
 */

/** What distinguishes one resource type from another: its name, api-version and id. */
export interface KindIdentity<P> {
  type: string;
  label: string;
  apiVersion: string;
  id(params: P): string;
}

/**
 * The id of the resource of `type` named `name` in `scope`, as ARM builds it. A provider's
 * top-level type (one segment after the namespace: `Microsoft.KeyVault/vaults`, or an extension
 * type such as `Microsoft.Insights/diagnosticSettings`) lives at `{scope}/providers/{type}/{name}`,
 * its scope a resource group or the resource it extends; a child type
 * (`Microsoft.KeyVault/vaults/keys`) lives at `{parent id}/{last segment}/{name}`.
 */
export function armId(type: string, scope: string, name: string): string {
  const segments = type.split('/');
  const base = scope.replace(/\/+$/, '');
  return segments.length === 2 ? `${base}/providers/${type}/${name}` : `${base}/${segments.at(-1)}/${name}`;
}

/**
 * A kind's identity, its id derived from its type (`armId`), so the two cannot disagree: `at`
 * gives the scope (or parent id) and the name from the parameters.
 */
export function identity<P>(
  type: string,
  apiVersion: string,
  label: string,
  at: (params: P) => readonly [scope: string, name: string],
): KindIdentity<P> {
  return { type, label, apiVersion, id: (p) => armId(type, ...at(p)) };
}

/** The identity of a type that lives directly in a resource group, named by `name`. */
export function inResourceGroup<P extends { resourceGroupId: string; name: string }>(
  type: string,
  apiVersion: string,
  label: string,
): KindIdentity<P> {
  return identity<P>(type, apiVersion, label, (p) => [p.resourceGroupId, p.name]);
}

/**
 * Identities of the child types of `parentType`, under the parent whose id `parentId` gives; a
 * child's `name` is fixed (`Default`, `current`: one per parent) or read from the parameters.
 */
export function childrenOf<P>(parentType: string, parentId: (params: P) => string) {
  return <Q extends P>(segment: string, apiVersion: string, label: string, name: string | ((params: Q) => string)) =>
    identity<Q>(`${parentType}/${segment}`, apiVersion, label, (p) => [parentId(p), typeof name === 'string' ? name : name(p)]);
}
