/** Turns whatever an Azure SDK call threw into a RetryableError or a TerminalError with a condition reason. */
import { RetryableError, TerminalError } from '../runtime/errors.ts';

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
  AzureKeyVaultMissingPermissions: 'AzureDependencyNotReady',
  ParentResourceNotFound: 'AzureDependencyNotReady',
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
  MissingSubscriptionRegistration: 'AzureProviderNotRegistered',
  SubscriptionNotRegistered: 'AzureProviderNotRegistered',
  AuthorizationFailed: 'AzureAuthorizationFailed',
  LinkedAuthorizationFailed: 'AzureAuthorizationFailed',
  RoleAssignmentUpdateNotPermitted: 'AzureInvalidRequest',
  // 404s about the platform, not a resource: a wrong subscription or an API this ARM does not serve.
  SubscriptionNotFound: 'AzureSubscriptionNotFound',
  InvalidResourceType: 'AzureInvalidRequest',
  InvalidResourceNamespace: 'AzureInvalidRequest',
  NoRegisteredProviderFound: 'AzureInvalidRequest',
};

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
  const e = err as { statusCode?: unknown; code?: unknown; message?: unknown };
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
    statusCode: typeof e.statusCode === 'number' ? e.statusCode : undefined,
    code: typeof e.code === 'string' ? e.code : undefined,
    message,
    retryAfterMs: header === undefined ? undefined : parseRetryAfter(header, now),
    operationFailed: false,
  };
}

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
 * Classify an error thrown by an Azure SDK call (or by our own code around it).
 *
 * - Already a RetryableError/TerminalError: returned unchanged.
 * - 429 → Retryable `AzureThrottled`; 408 and 5xx → Retryable `AzureUnavailable`; both keep the
 *   server's Retry-After as `retryAfterMs`.
 * - Known codes first (see RETRYABLE_CODES / TERMINAL_CODES), e.g. `PrincipalNotFound` is
 *   retryable even though it is a 400, and `RequestDisallowedByPolicy` is terminal though a 403.
 * - Other 409/412 → Retryable `AzureConflict`; other 404 → Retryable `AzureDependencyNotReady`.
 * - A quota code (`...Quota...`, `...LimitReached`/`LimitExceeded`) on a 400/403/409 or a failed
 *   operation → Terminal `AzureQuotaExceeded`.
 * - A failed long-running operation → by its code, else Retryable `AzureOperationFailed`.
 * - 400 → Terminal `AzureInvalidRequest`; 401 → Terminal `AzureAuthenticationFailed`;
 *   403 → Terminal `AzureAuthorizationFailed`.
 * - An abort (how the per-request timeout surfaces) → Retryable `AzureRequestTimeout`; no HTTP
 *   answer (connection refused or reset) → Retryable `AzureUnavailable`.
 * - Anything else → Retryable `AzureError`: unknown failures are retried, never dropped.
 */
export function classifyAzureError(err: unknown, now = Date.now()): RetryableError | TerminalError {
  if (err instanceof RetryableError || err instanceof TerminalError) return err;
  // The SDK's per-request timeout fires as an abort; a caller's own cancellation is told apart by
  // the caller (it knows its signal), so here an abort means "timed out".
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
  const terminal = (reason: string): TerminalError => new TerminalError(reason, message, { cause: err });
  const status = facts.statusCode;

  if (status === 429) return retryable('AzureThrottled');
  if (status === 408 || (status !== undefined && status >= 500)) return retryable('AzureUnavailable');
  const code = facts.code;
  if (code !== undefined) {
    const terminalReason = TERMINAL_CODES[code];
    if (terminalReason !== undefined) return terminal(terminalReason);
    const retryReason = RETRYABLE_CODES[code];
    if (retryReason !== undefined) return retryable(retryReason);
  }
  // Quota codes vary by provider (QuotaExceeded, SubscriptionServerQuotaExceeded, ...LimitReached)
  // and come as 400, 403, 409 or inside a failed operation.
  const quota = code !== undefined && /quota|limit(Reached|Exceeded)/i.test(code);
  if (quota && (facts.operationFailed || status === 400 || status === 403 || status === 409)) {
    return terminal('AzureQuotaExceeded');
  }
  if (facts.operationFailed) return retryable('AzureOperationFailed');
  if (status === 409 || status === 412) return retryable('AzureConflict');
  if (status === 404) return retryable('AzureDependencyNotReady');
  if (status === 401) return terminal('AzureAuthenticationFailed');
  if (status === 403) return terminal('AzureAuthorizationFailed');
  if (status === 400 || status === 422) return terminal('AzureInvalidRequest');
  if (status === undefined && isTransportError(err)) return retryable('AzureUnavailable');
  return retryable('AzureError');
}
