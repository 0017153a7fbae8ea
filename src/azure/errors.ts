/**
 * The one place Azure failures are classified, with three outcomes (kopf's explicit retry types):
 * retry soon (`RetryableError`), terminal until the spec changes (`TerminalError`), or the
 * platform team must act (`PlatformError`: retried slowly). Each carries a condition
 * reason a person can act on.
 */
import { PlatformError, RetryableError, TerminalError } from '../runtime/errors.ts';

/** A classified Azure failure. */
export type AzureFailure = RetryableError | TerminalError | PlatformError;

/** How long a write refused while a role assignment propagates waits before it is tried again. */
export const RBAC_PROPAGATION_RETRY_MS = 30_000;

/** How long a failure only the platform team can fix waits before the next attempt. */
export const PLATFORM_RETRY_MS = 5 * 60_000;

/** What the classification looks at, extracted from a `RestError`, a failed poller or a network error. */
export interface AzureErrorFacts {
  statusCode: number | undefined;
  /** ARM error code (`error.code` of the body), or a Node error code for network failures. */
  code: string | undefined;
  message: string;
  /** From `Retry-After` (seconds or HTTP date), `retry-after-ms` or `x-ms-retry-after-ms`. */
  retryAfterMs: number | undefined;
  /** A long-running operation that ended `Failed` (the SDK poller throws a plain Error for it). */
  operationFailed: boolean;
}

/** Codes that mean "not now, later": dependencies still propagating or another operation running. */
const RETRYABLE_CODES: Readonly<Record<string, string>> = {
  // Another operation holds the resource; it will finish.
  AnotherOperationInProgress: 'AzureConflict',
  OperationInProgress: 'AzureConflict',
  ConflictingServerOperation: 'AzureConflict',
  ConflictingDatabaseOperation: 'AzureConflict',
  ConcurrentFederatedIdentityCredentialsWritesForSingleManagedIdentity: 'AzureConflict',
  ResourceGroupBeingDeleted: 'AzureConflict',
  // Entra and RBAC replicate for seconds to minutes after a create: a new identity is not yet a
  // "principal", a new role assignment does not yet grant access.
  PrincipalNotFound: 'AzureDependencyNotReady',
  AzureKeyVaultMissingPermissions: 'AzureRbacPropagating',
  ParentResourceNotFound: 'AzureDependencyNotReady',
  // A paused serverless database resumes on its next connection; the update is retried then.
  UpdateNotAllowedOnPausedDatabase: 'DatabasePaused',
  ResourceGroupNotFound: 'AzureDependencyNotReady',
  ResourceNotFound: 'AzureDependencyNotReady',
};

/** Codes only a change of the Tenant (or of the platform's setup) can fix. */
const TERMINAL_CODES: Readonly<Record<string, string>> = {
  RequestDisallowedByPolicy: 'AzurePolicyDenied',
  LocationNotAvailableForResourceGroup: 'AzureRegionNotAllowed',
  LocationNotAvailableForResourceType: 'AzureRegionNotAllowed',
  RegionDoesNotAllowProvisioning: 'AzureRegionNotAllowed',
  LocationIsOfferRestricted: 'AzureRegionNotAllowed',
  ProvisioningDisabled: 'AzureRegionNotAllowed',
  // The resource already exists in another region: Azure cannot move it.
  InvalidResourceLocation: 'AzureLocationConflict',
  InvalidResourceGroupLocation: 'AzureLocationConflict',
  SkuNotAvailable: 'AzureInvalidSku',
  InvalidSkuName: 'AzureInvalidSku',
  InvalidSkuTier: 'AzureInvalidSku',
  InvalidSkuCapacity: 'AzureInvalidSku',
  InvalidSku: 'AzureInvalidSku',
  ServiceObjectiveNotSupported: 'AzureInvalidSku',
  VaultAlreadyExists: 'AzureNameUnavailable',
  NameAlreadyExists: 'AzureNameUnavailable',
  // Key Vault's answer for a name held by a soft-deleted vault this operator cannot recover.
  ConflictError: 'AzureNameUnavailable',
  RoleAssignmentUpdateNotPermitted: 'AzureInvalidRequest',
  // A difference the engine will not fix by re-creating (src/azure/engine.ts).
  AzureImmutableDifference: 'AzureImmutableDifference',
  InvalidResourceType: 'AzureInvalidRequest',
  InvalidResourceNamespace: 'AzureInvalidRequest',
  NoRegisteredProviderFound: 'AzureInvalidRequest',
};

/** Codes only the platform team can fix: permissions, registrations, subscriptions. */
const PLATFORM_CODES: Readonly<Record<string, string>> = {
  MissingSubscriptionRegistration: 'AzureProviderNotRegistered',
  SubscriptionNotRegistered: 'AzureProviderNotRegistered',
  AuthorizationFailed: 'AzureAuthorizationFailed',
  LinkedAuthorizationFailed: 'AzureAuthorizationFailed',
  InvalidAuthenticationToken: 'AzureAuthenticationFailed',
  ExpiredAuthenticationToken: 'AzureAuthenticationFailed',
  // 404s about the platform, not a resource: a wrong subscription.
  SubscriptionNotFound: 'AzureSubscriptionNotFound',
  SubscriptionDisabled: 'AzureSubscriptionDisabled',
  ReadOnlyDisabledSubscription: 'AzureSubscriptionDisabled',
  DisallowedOperation: 'AzureSubscriptionDisabled',
  // A resource the configuration names (a private endpoint subnet, a private DNS zone) does not
  // exist or is in another region: the Network provider's answer names it.
  InvalidResourceReference: 'AzureReferenceNotFound',
  // The private endpoint subnet has no free address left.
  SubnetIsFull: 'AzureQuotaExceeded',
  // Subscription, regional and per-resource limits (guide §9; hack/arm-emulator/quotas.ts): no spec
  // change fixes a full subscription, region, server or cluster.
  ResourceGroupQuotaExceeded: 'AzureQuotaExceeded',
  ServerQuotaExceeded: 'AzureQuotaExceeded',
  DatabaseQuotaExceeded: 'AzureQuotaExceeded',
  RoleAssignmentLimitExceeded: 'AzureQuotaExceeded',
  FederatedIdentityCredentialsLimitExceeded: 'AzureQuotaExceeded',
  // AKS: Compute's regional vCPU quota of the pool's VM family; node pools per cluster.
  QuotaExceeded: 'AzureQuotaExceeded',
  AgentPoolLimitExceeded: 'AzureQuotaExceeded',
};

/**
 * AKS refuses a VM size its region or subscription does not offer with a bare `BadRequest` (no code
 * of its own: dotnet/core#8000, MicrosoftDocs/azure-docs#45485); its message is the only sign. The
 * platform team chose the size (azure.cluster.nodePools), so it must act.
 */
const VM_SIZE_NOT_OFFERED = /The VM size of .* is not allowed in your subscription in location/i;

function headerGetter(err: object): ((name: string) => string | undefined) | undefined {
  const response = (err as { response?: { headers?: { get?: unknown } } }).response;
  const get = response?.headers?.get;
  if (typeof get !== 'function') return undefined;
  return (name) => {
    const value: unknown = get.call(response?.headers, name);
    return typeof value === 'string' ? value : undefined;
  };
}

/** Parse Retry-After style headers; `now` is injectable for HTTP-date values. */
export function parseRetryAfter(header: (name: string) => string | undefined, now = Date.now()): number | undefined {
  for (const name of ['retry-after-ms', 'x-ms-retry-after-ms']) {
    const ms = Number(header(name));
    if (header(name) !== undefined && Number.isFinite(ms) && ms >= 0) return ms;
  }
  const value = header('retry-after');
  if (value === undefined) return undefined;
  const seconds = Number(value);
  if (value.trim() !== '' && Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

const LRO_FAILED = /^The long-running operation has failed(?:\. ([^.\s]+)\. ([\s\S]*))?/;

/** Pull the facts out of a thrown value without depending on one copy of `RestError`. */
export function azureErrorFacts(err: unknown, now = Date.now()): AzureErrorFacts {
  if (typeof err !== 'object' || err === null) {
    return { statusCode: undefined, code: undefined, message: String(err), retryAfterMs: undefined, operationFailed: false };
  }
  const e = err as { statusCode?: unknown; code?: unknown; message?: unknown; operationFailed?: unknown };
  const message = typeof e.message === 'string' ? e.message : String(err);
  const lro = LRO_FAILED.exec(message);
  if (lro !== null && e.statusCode === undefined) {
    return {
      statusCode: undefined,
      code: lro[1],
      message: lro[2] ?? message,
      retryAfterMs: undefined,
      operationFailed: true,
    };
  }
  const header = headerGetter(err);
  return {
    // The engine reports a failed operation as an error with status 0 and `operationFailed`.
    statusCode: typeof e.statusCode === 'number' && e.statusCode > 0 ? e.statusCode : undefined,
    code: typeof e.code === 'string' ? e.code : undefined,
    message,
    retryAfterMs: header === undefined ? undefined : parseRetryAfter(header, now),
    operationFailed: e.operationFailed === true,
  };
}

/** The three code tables, for the catalogue test (src/api/v1alpha1/conditions.ts must agree). */
export const ARM_ERROR_CODES = { retryable: RETRYABLE_CODES, terminal: TERMINAL_CODES, platform: PLATFORM_CODES } as const;

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
  'REQUEST_SEND_ERROR',
]);

/** A request that never got an HTTP answer (connection refused or reset, timeout). */
function isTransportError(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as { name?: unknown; code?: unknown };
  return e.name === 'RestError' || (typeof e.code === 'string' && NETWORK_CODES.has(e.code));
}

function describe(facts: AzureErrorFacts): string {
  const what = facts.code ?? (facts.statusCode === undefined ? 'Error' : `HTTP ${facts.statusCode}`);
  const text = `${what}: ${facts.message}`;
  return text.length > 600 ? `${text.slice(0, 597)}...` : text;
}

/**
 * Classify an error thrown by an Azure call (or by our own code around it).
 *
 * - Already classified: returned unchanged.
 * - 429 → Retryable `AzureThrottled`; 408 and 5xx → Retryable `AzureUnavailable`; both keep the
 *   server's Retry-After as `retryAfterMs`.
 * - Known codes first: PLATFORM_CODES (permissions, registrations, subscriptions) → Platform;
 *   TERMINAL_CODES (what the spec asks for) → Terminal; RETRYABLE_CODES (replication, conflicts,
 *   paused databases) → Retryable.
 * - A quota code (`...Quota...`, `...LimitReached`/`LimitExceeded`) → Platform `AzureQuotaExceeded`:
 *   no spec change fixes a full subscription.
 * - A failed long-running operation → by its code, else Retryable `AzureOperationFailed`.
 * - Other 409/412 → Retryable `AzureConflict`; other 404 → Retryable `AzureDependencyNotReady`.
 * - 401 → Platform `AzureAuthenticationFailed`; 403 → Platform `AzureAuthorizationFailed`;
 *   400/422 → Terminal `AzureInvalidRequest`.
 * - An abort (how the per-request timeout surfaces) → Retryable `AzureRequestTimeout`; no HTTP
 *   answer → Retryable `AzureUnavailable`; anything else → Retryable `AzureError`.
 */
export function classifyAzureError(err: unknown, now = Date.now()): AzureFailure {
  if (err instanceof RetryableError || err instanceof TerminalError) return err;
  if (err instanceof Error && err.name === 'AbortError') {
    return new RetryableError('AzureRequestTimeout', `Azure request timed out or was aborted: ${err.message}`, { cause: err });
  }
  const facts = azureErrorFacts(err, now);
  const message = describe(facts);
  const retryable = (reason: string): RetryableError =>
    new RetryableError(reason, message, {
      cause: err,
      ...(facts.retryAfterMs === undefined ? {} : { retryAfterMs: facts.retryAfterMs }),
    });
  const platform = (reason: string): PlatformError =>
    new PlatformError(reason, message, { cause: err, retryAfterMs: Math.max(facts.retryAfterMs ?? 0, PLATFORM_RETRY_MS) });
  const terminal = (reason: string): TerminalError => new TerminalError(reason, message, { cause: err });
  const status = facts.statusCode;

  if (status === 429) return retryable('AzureThrottled');
  if (VM_SIZE_NOT_OFFERED.test(facts.message)) return platform('AzureVmSizeNotAvailable');
  if (status === 408 || (status !== undefined && status >= 500)) return retryable('AzureUnavailable');
  const code = facts.code;
  if (code !== undefined) {
    const platformReason = PLATFORM_CODES[code];
    if (platformReason !== undefined) return platform(platformReason);
    const terminalReason = TERMINAL_CODES[code];
    if (terminalReason !== undefined) return terminal(terminalReason);
    const retryReason = RETRYABLE_CODES[code];
    if (retryReason === 'AzureRbacPropagating' && facts.retryAfterMs === undefined) {
      // Role assignments take minutes to reach the data plane: look again in 30 s, not at once.
      return new RetryableError(retryReason, message, { cause: err, retryAfterMs: RBAC_PROPAGATION_RETRY_MS });
    }
    if (retryReason !== undefined) return retryable(retryReason);
    if (/quota|limit(Reached|Exceeded)/i.test(code)) return platform('AzureQuotaExceeded');
  }
  if (facts.operationFailed) return retryable('AzureOperationFailed');
  if (status === 409 || status === 412) return retryable('AzureConflict');
  if (status === 404) return retryable('AzureDependencyNotReady');
  if (status === 401) return platform('AzureAuthenticationFailed');
  if (status === 403) return platform('AzureAuthorizationFailed');
  if (status === 400 || status === 422) return terminal('AzureInvalidRequest');
  if (status === undefined && isTransportError(err)) return retryable('AzureUnavailable');
  return retryable('AzureError');
}
