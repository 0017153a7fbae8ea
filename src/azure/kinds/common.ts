/**
 * ARM conventions every resource kind shares: owned tags, locations, the states in which an
 * operation is still running, and reading fields out of ARM bodies.
 */
import type { ArmBody } from '../arm-client.ts';

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

/** The full tag set to write: foreign tags kept, ours applied, the orphan mark dropped unless desired. */
export function mergeTags(desired: Tags, observed: Tags | undefined): Tags {
  const merged: Tags = { ...(observed ?? {}) };
  if (!(AZURE_TAGS.orphaned in desired)) delete merged[AZURE_TAGS.orphaned];
  return { ...merged, ...desired };
}

/** Where a resource is and how it is tagged: what every tracked resource shares. */
export interface Placement {
  location: string;
  tags: Tags;
}

/** A PATCH of `body`, or undefined when `location` differs: Azure cannot move the resource in place. */
export function patchUnlessMoved(fields: readonly string[], body: () => ArmBody) {
  return fields.includes('location') ? undefined : { method: 'PATCH' as const, body: body() };
}

/**
 * The tag write of a type that has no PATCH (WAF policies, private endpoints): PUT back its
 * location and the `properties` it has (as the caller copies them), with `tags` added.
 */
export function putBackWithTags(observed: ArmBody, tags: Tags, properties: ArmBody) {
  return {
    method: 'PUT' as const,
    body: { location: observed.location, tags: { ...((observed.tags ?? {}) as Tags), ...tags }, properties },
  };
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

/** `{ location, tags }` of a create body. */
export function placement(p: Placement): ArmBody {
  return { location: p.location, tags: p.tags };
}
