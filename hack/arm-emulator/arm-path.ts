/** Parsing of ARM request paths into resource ids, types, parents and collections. */

/** What an ARM request path points at. */
export interface ArmTarget {
  subscriptionId: string;
  /** The resource group the target lives in, if any. */
  resourceGroup: string | undefined;
  /**
   * Canonical resource type: `Microsoft.Resources/resourceGroups`, `Microsoft.Sql/servers/databases`,
   * `Microsoft.Authorization/roleAssignments`. Undefined for the subscription itself.
   */
  type: string | undefined;
  /** Canonical id of the resource (undefined for a collection). */
  id: string | undefined;
  /** Resource name (last segment) when `id` is set. */
  name: string | undefined;
  /**
   * The resource this one is nested in (`servers/x` for a database), or for an extension resource
   * (role assignment) the scope it is attached to. For top-level resources: the resource group id.
   */
  parentId: string;
  /** True when the parent is a nested parent of the same provider (ARM's "ParentResourceNotFound"). */
  nestedInParent: boolean;
  /** The path names a collection (`GET .../databases`) rather than one resource. */
  collection: boolean;
}

/** Lower-case key for case-insensitive id lookups (ARM ids are case-insensitive). */
export function idKey(id: string): string {
  return id.toLowerCase();
}

/**
 * Parse a request path. Returns undefined for paths that are not under `/subscriptions/{id}`.
 * Double slashes are tolerated (the authorization SDK joins `/{scope}` with a scope that already
 * starts with a slash).
 */
export function parseArmPath(rawPath: string): ArmTarget | undefined {
  const segments = rawPath
    .split('/')
    .filter((s) => s.length > 0)
    .map((s) => decodeURIComponent(s));
  if (segments.length < 2 || segments[0]?.toLowerCase() !== 'subscriptions') return undefined;
  const subscriptionId = segments[1]!;
  let scopeId = `/subscriptions/${subscriptionId}`;
  let resourceGroup: string | undefined;
  let i = 2;
  let target: ArmTarget = {
    subscriptionId,
    resourceGroup: undefined,
    type: undefined,
    id: scopeId,
    name: subscriptionId,
    parentId: '',
    nestedInParent: false,
    collection: false,
  };
  if (segments[i]?.toLowerCase() === 'resourcegroups') {
    const rg = segments[i + 1];
    if (rg === undefined) {
      return {
        ...target,
        type: 'Microsoft.Resources/resourceGroups',
        id: undefined,
        name: undefined,
        parentId: scopeId,
        collection: true,
      };
    }
    resourceGroup = rg;
    const rgId = `${scopeId}/resourceGroups/${rg}`;
    target = {
      subscriptionId,
      resourceGroup,
      type: 'Microsoft.Resources/resourceGroups',
      id: rgId,
      name: rg,
      parentId: scopeId,
      nestedInParent: false,
      collection: false,
    };
    scopeId = rgId;
    i += 2;
  }
  // Each `providers/{namespace}/{type}/{name}[/{type}/{name}...]` section; a later `providers` section
  // is an extension resource attached to what came before (role assignments on a vault).
  while (i < segments.length) {
    if (segments[i]?.toLowerCase() !== 'providers') return undefined;
    const namespace = segments[i + 1];
    if (namespace === undefined) return undefined;
    i += 2;
    const sectionScope = target.id ?? scopeId;
    const types: string[] = [];
    let id = `${sectionScope}/providers/${namespace}`;
    let parentId = sectionScope;
    let name: string | undefined;
    let collection = false;
    while (i < segments.length && segments[i]?.toLowerCase() !== 'providers') {
      const typeSegment = segments[i]!;
      const nameSegment = segments[i + 1];
      types.push(typeSegment);
      if (nameSegment === undefined) {
        collection = true;
        i += 1;
        break;
      }
      if (types.length > 1) parentId = id;
      id = `${id}/${typeSegment}/${nameSegment}`;
      name = nameSegment;
      i += 2;
    }
    if (types.length === 0) return undefined;
    target = {
      subscriptionId,
      resourceGroup,
      type: `${namespace}/${types.join('/')}`,
      id: collection ? undefined : id,
      name: collection ? undefined : name,
      parentId: collection ? (types.length > 1 ? id : sectionScope) : parentId,
      nestedInParent: types.length > 1,
      collection,
    };
    if (collection && i < segments.length) return undefined;
  }
  return target;
}

/** The subscription-relative id prefix of a resource group, for "everything in this group" scans. */
export function resourceGroupId(subscriptionId: string, resourceGroup: string): string {
  return `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}`;
}
