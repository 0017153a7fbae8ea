/**
 * ARM conventions every resource kind shares: owned tags, locations, the states in which an
 * operation is still running, and reading fields out of ARM bodies.
 */
import type { ArmBody } from '../arm-client.ts';
import type { ResourceKind } from '../engine.ts';

export type Tags = Record<string, string>;

/**
 * Tag keys the operator owns on Azure resources. Azure tag names may not contain `/`, so the
 * Kubernetes-style `tenancy.dev/...` keys are spelled with a hyphen.
 */
export const AZURE_TAGS = {
  managedBy: 'managed-by',
  tenant: 'tenancy.dev-tenant',
  /** The operator instance (azure.instanceName) that owns the resource; see PassOptions.owner. */
  instance: 'tenancy.dev-instance',
  environment: 'tenancy.dev-environment',
  /** Set on every resource of a released tenant (deletionPolicy Retain). */
  orphaned: 'tenancy.dev-orphaned',
  /** On a vault kept after deletionPolicy Delete: the last day a retained backup may need its key. */
  keepUntil: 'tenancy.dev-keep-until',
} as const;

/**
 * Tags differ when a tag we want is missing or has another value, or when the resource is still
 * marked orphaned. Tags someone else added are left alone (Azure Policy often adds some).
 */
export function tagsDiffer(desired: Tags, observed: Tags | undefined): boolean {
  const actual = observed ?? {};
  if (AZURE_TAGS.orphaned in actual && !(AZURE_TAGS.orphaned in desired)) return true;
  return Object.entries(desired).some(([k, v]) => actual[k] !== v);
}

/** The full tag set to write: foreign tags kept, ours applied, the orphan mark dropped unless desired. */
export function mergeTags(desired: Tags, observed: Tags | undefined): Tags {
  const merged: Tags = { ...(observed ?? {}) };
  if (!(AZURE_TAGS.orphaned in desired)) delete merged[AZURE_TAGS.orphaned];
  return { ...merged, ...desired };
}

/** Azure normalizes locations ("West Europe" → "westeurope"); compare that way. */
export function sameLocation(a: string | undefined, b: string | undefined): boolean {
  const norm = (s: string | undefined): string => (s ?? '').replaceAll(' ', '').toLowerCase();
  return norm(a) === norm(b);
}

/** Where a resource is and how it is tagged: what every tracked resource shares. */
export interface Placement {
  location: string;
  tags: Tags;
}

/**
 * `location` and `tags` differences. A location difference is never written (Azure cannot move
 * most resources, and moving data silently is what residency forbids): kinds leave it out of
 * their update, so it surfaces as an immutable difference.
 */
export function placementDiff(desired: Placement, observed: ArmBody): string[] {
  const fields: string[] = [];
  if (!sameLocation(desired.location, str(observed.location))) fields.push('location');
  if (tagsDiffer(desired.tags, observed.tags as Tags | undefined)) fields.push('tags');
  return fields;
}

/** A PATCH of `body`, or undefined when `location` differs: Azure cannot move the resource in place. */
export function patchUnlessMoved(fields: readonly string[], body: () => ArmBody) {
  return fields.includes('location') ? undefined : { method: 'PATCH' as const, body: body() };
}

/** PATCH `{ tags }` with ours merged in, or undefined when `location` differs (not fixable in place). */
export function tagsOnlyUpdate(desired: Placement, observed: ArmBody, fields: readonly string[]) {
  return patchUnlessMoved(fields, () => ({ tags: mergeTags(desired.tags, observed.tags as Tags | undefined) }));
}

/**
 * States in which an earlier operation is still running on a resource (ARM `provisioningState`,
 * SQL server `state`, SQL database `status`). Anything else counts as settled.
 */
const IN_PROGRESS_STATES = new Set(
  [
    'Accepted',
    'Creating',
    'Updating',
    'Deleting',
    'Provisioning',
    'Running',
    'InProgress',
    'RegisteringDns',
    'Scaling',
    'Copying',
    'Restoring',
    'Pausing',
    'Resuming',
    'Starting',
    'Stopping',
    'Dropping',
    'Moving',
    'RecoveryPending',
    'Recovering',
    'OnlineChangingDwPerformanceTiers',
    'OfflineChangingDwPerformanceTiers',
  ].map((s) => s.toLowerCase()),
);

export function isInProgress(state: string | undefined): boolean {
  return state !== undefined && IN_PROGRESS_STATES.has(state.toLowerCase());
}

/** `body.properties` as a record (empty when absent). */
export function props(body: ArmBody): ArmBody {
  const p = body.properties;
  return typeof p === 'object' && p !== null ? (p as ArmBody) : {};
}

/** A string field, or undefined. */
export function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** `properties.provisioningState`. */
export function provisioningState(body: ArmBody): string | undefined {
  return str(props(body).provisioningState);
}

/** Case-insensitive equality of ids and GUIDs. */
export function sameId(a: string | undefined, b: string | undefined): boolean {
  return (a ?? '').toLowerCase() === (b ?? '').toLowerCase();
}

/** `{ location, tags }` of a create body. */
export function placement(p: Placement): ArmBody {
  return { location: p.location, tags: p.tags };
}

/** What distinguishes one resource type from another: its name, api-version and id. */
export interface KindIdentity<P> {
  type: string;
  label: string;
  apiVersion: string;
  id(params: P): string;
}

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
