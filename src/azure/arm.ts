/** ARM conventions every resource module shares: call context, 404 handling, provisioning states and owned tags. */
import { RetryableError, TerminalError } from '../runtime/errors.ts';
import type { AzureClients } from './clients.ts';

/** What every observe/apply call needs. */
export interface AzureContext {
  clients: AzureClients;
  /** Cancels in-flight calls and pollers (operator shutdown, lost leadership). */
  signal?: AbortSignal | undefined;
  /**
   * `retryAfterMs` of the RetryableError thrown when a resource is still being created, updated or
   * deleted by an earlier operation (default 15 000).
   */
  inProgressRetryAfterMs?: number | undefined;
}

/** SDK call options carrying the context's abort signal. */
export function callOptions(ctx: AzureContext): { abortSignal?: AbortSignal } {
  return ctx.signal === undefined ? {} : { abortSignal: ctx.signal };
}

/** Status code of an SDK error, whichever copy of RestError threw it. */
export function statusCodeOf(err: unknown): number | undefined {
  const status = (err as { statusCode?: unknown } | null)?.statusCode;
  return typeof status === 'number' ? status : undefined;
}

/**
 * 404 codes that say nothing about the resource: the subscription, the provider or the API is
 * missing. Taking those for "gone" would let a delete finish while everything still exists.
 */
const NOT_A_MISSING_RESOURCE = new Set([
  'SubscriptionNotFound',
  'InvalidResourceType',
  'InvalidResourceNamespace',
  'NoRegisteredProviderFound',
  'MissingSubscriptionRegistration',
  'InvalidApiVersionParameter',
]);

/** True when an SDK error says the resource (or its group or parent) does not exist. */
export function isNotFound(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return statusCodeOf(err) === 404 && !(typeof code === 'string' && NOT_A_MISSING_RESOURCE.has(code));
}

/**
 * Run a GET and map "not found" to `undefined`. Every other error propagates: a 403, a 5xx, a
 * timeout or a 404 about the subscription never means "the resource is gone".
 */
export async function getOrUndefined<T>(get: () => Promise<T>): Promise<T | undefined> {
  try {
    return await get();
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
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

/**
 * Refuse to start a write while an earlier operation runs on the resource: throw a RetryableError
 * (`AzureOperationInProgress`) so the caller looks again later. This is how a restarted operator
 * resumes a creation it started before instead of starting a second one.
 */
export function assertSettled(ctx: AzureContext, what: string, state: string | undefined): void {
  if (!isInProgress(state)) return;
  throw new RetryableError('AzureOperationInProgress', `${what} is ${state}; waiting for that operation to finish`, {
    retryAfterMs: ctx.inProgressRetryAfterMs ?? 15_000,
  });
}

/**
 * Tag keys the operator owns on Azure resources. Azure tag names may not contain `/`, so the
 * Kubernetes-style `tenancy.dev/...` keys are spelled with a hyphen.
 */
export const AZURE_TAGS = {
  managedBy: 'managed-by',
  tenant: 'tenancy.dev-tenant',
  environment: 'tenancy.dev-environment',
  /** Set on every resource of a released tenant (deletionPolicy Retain). */
  orphaned: 'tenancy.dev-orphaned',
} as const;

export type Tags = Record<string, string>;

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

/**
 * Azure cannot move most resources between regions: a location difference is terminal, never a
 * write (the tenant's data would have to move, which data residency forbids doing silently).
 */
export function refuseLocationChange(
  what: string,
  fields: readonly string[],
  observed: string | undefined,
  desired: string,
): void {
  if (!fields.includes('location')) return;
  throw new TerminalError(
    'AzureLocationConflict',
    `${what} is in ${observed}, the tenant wants ${desired}; Azure cannot move it`,
  );
}

/** The fields every tracked resource shares: `location` (never writable, see refuseLocationChange) and `tags`. */
export function placementDiff(
  desired: { location: string; tags: Tags },
  observed: { location?: string | undefined; tags?: Tags | undefined },
): ('location' | 'tags')[] {
  const fields: ('location' | 'tags')[] = [];
  if (!sameLocation(desired.location, observed.location)) fields.push('location');
  if (tagsDiffer(desired.tags, observed.tags)) fields.push('tags');
  return fields;
}

/** Azure normalizes locations ("West Europe" → "westeurope"); compare that way. */
export function sameLocation(a: string | undefined, b: string | undefined): boolean {
  const norm = (s: string | undefined): string => (s ?? '').replaceAll(' ', '').toLowerCase();
  return norm(a) === norm(b);
}
