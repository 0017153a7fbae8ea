import { describe, expect, test } from '@jest/globals';
import { classifyAzureError, PLATFORM_RETRY_MS, parseRetryAfter } from '../../../src/azure/errors.ts';
import { PlatformError, RetryableError, TerminalError } from '../../../src/runtime/errors.ts';

/** A stand-in for the SDK's RestError: same fields, headers behind `get`. */
function restError(statusCode: number | undefined, code?: string, headers: Record<string, string> = {}): Error {
  const err = new Error(`${code ?? 'error'} message`) as Error & Record<string, unknown>;
  err.name = 'RestError';
  err.statusCode = statusCode;
  err.code = code;
  err.response = { headers: { get: (name: string) => headers[name.toLowerCase()] } };
  return err;
}

function lroFailure(code: string): Error {
  return new Error(`The long-running operation has failed. ${code}. Something went wrong.`);
}

type Expected = ['retryable' | 'terminal' | 'platform', string, number?];

const NOW = Date.parse('2026-01-01T00:00:00Z');

describe('classifyAzureError', () => {
  test.each<[string, unknown, Expected]>([
    [
      '429 with Retry-After seconds',
      restError(429, 'TooManyRequests', { 'retry-after': '7' }),
      ['retryable', 'AzureThrottled', 7000],
    ],
    ['429 with retry-after-ms', restError(429, undefined, { 'retry-after-ms': '250' }), ['retryable', 'AzureThrottled', 250]],
    [
      '429 with an HTTP date',
      restError(429, undefined, { 'retry-after': 'Thu, 01 Jan 2026 00:00:30 GMT' }),
      ['retryable', 'AzureThrottled', 30_000],
    ],
    [
      '503 with Retry-After 0',
      restError(503, 'ServiceUnavailable', { 'retry-after': '0' }),
      ['retryable', 'AzureUnavailable', 0],
    ],
    ['500 without Retry-After', restError(500, 'InternalServerError'), ['retryable', 'AzureUnavailable', undefined]],
    ['502', restError(502), ['retryable', 'AzureUnavailable']],
    ['408 request timeout', restError(408), ['retryable', 'AzureUnavailable']],
    ['409 another operation in progress', restError(409, 'AnotherOperationInProgress'), ['retryable', 'AzureConflict']],
    ['409 SQL conflicting server operation', restError(409, 'ConflictingServerOperation'), ['retryable', 'AzureConflict']],
    ['409 with an unknown code', restError(409, 'SomethingNew'), ['retryable', 'AzureConflict']],
    ['409 resource group being deleted', restError(409, 'ResourceGroupBeingDeleted'), ['retryable', 'AzureConflict']],
    [
      '400 PrincipalNotFound (Entra replication lag)',
      restError(400, 'PrincipalNotFound'),
      ['retryable', 'AzureDependencyNotReady'],
    ],
    [
      '400 AzureKeyVaultMissingPermissions (RBAC propagation)',
      restError(400, 'AzureKeyVaultMissingPermissions'),
      ['retryable', 'AzureRbacPropagating'],
    ],
    ['404 ParentResourceNotFound on a write', restError(404, 'ParentResourceNotFound'), ['retryable', 'AzureDependencyNotReady']],
    ['404 with an unknown code', restError(404, 'Whatever'), ['retryable', 'AzureDependencyNotReady']],
    ['400 invalid SKU name', restError(400, 'InvalidSkuName'), ['terminal', 'AzureInvalidSku']],
    ['409 SKU not available', restError(409, 'SkuNotAvailable'), ['terminal', 'AzureInvalidSku']],
    [
      '400 region not available for resource group',
      restError(400, 'LocationNotAvailableForResourceGroup'),
      ['terminal', 'AzureRegionNotAllowed'],
    ],
    [
      '400 SQL region does not allow provisioning',
      restError(400, 'RegionDoesNotAllowProvisioning'),
      ['terminal', 'AzureRegionNotAllowed'],
    ],
    ['403 denied by Azure Policy', restError(403, 'RequestDisallowedByPolicy'), ['terminal', 'AzurePolicyDenied']],
    ['400 quota code', restError(400, 'QuotaExceeded'), ['platform', 'AzureQuotaExceeded']],
    ['409 SQL server quota', restError(409, 'SubscriptionServerQuotaExceeded'), ['platform', 'AzureQuotaExceeded']],
    ['400 limit code', restError(400, 'DatabaseLimitReached'), ['platform', 'AzureQuotaExceeded']],
    ['400 anything else', restError(400, 'InvalidParameterValue'), ['terminal', 'AzureInvalidRequest']],
    ['409 resource group quota', restError(409, 'ResourceGroupQuotaExceeded'), ['platform', 'AzureQuotaExceeded']],
    ['400 SQL servers per region', restError(400, 'ServerQuotaExceeded'), ['platform', 'AzureQuotaExceeded']],
    ['400 databases per server', restError(400, 'DatabaseQuotaExceeded'), ['platform', 'AzureQuotaExceeded']],
    ['400 role assignments per subscription', restError(400, 'RoleAssignmentLimitExceeded'), ['platform', 'AzureQuotaExceeded']],
    [
      '400 federated credentials per identity',
      restError(400, 'FederatedIdentityCredentialsLimitExceeded'),
      ['platform', 'AzureQuotaExceeded'],
    ],
    ['400 node pools per cluster', restError(400, 'AgentPoolLimitExceeded'), ['platform', 'AzureQuotaExceeded']],
    [
      '400 AKS VM size not offered in the region (a bare BadRequest)',
      Object.assign(restError(400, 'BadRequest'), {
        message: "The VM size of Agentpool:t1 is not allowed in your subscription in location 'westus'.",
      }),
      ['platform', 'AzureVmSizeNotAvailable'],
    ],
    ['401', restError(401, 'InvalidAuthenticationToken'), ['platform', 'AzureAuthenticationFailed']],
    ['403 AuthorizationFailed', restError(403, 'AuthorizationFailed'), ['platform', 'AzureAuthorizationFailed']],
    [
      '409 provider not registered',
      restError(409, 'MissingSubscriptionRegistration'),
      ['platform', 'AzureProviderNotRegistered'],
    ],
    ['409 subscription disabled', restError(409, 'ReadOnlyDisabledSubscription'), ['platform', 'AzureSubscriptionDisabled']],
    [
      '400 update of a paused serverless database',
      restError(400, 'UpdateNotAllowedOnPausedDatabase'),
      ['retryable', 'DatabasePaused'],
    ],
    ['403 with an unknown code', restError(403, 'Forbidden'), ['platform', 'AzureAuthorizationFailed']],
    ['409 vault name taken', restError(409, 'VaultAlreadyExists'), ['terminal', 'AzureNameUnavailable']],
    ['409 SQL server name taken', restError(409, 'NameAlreadyExists'), ['terminal', 'AzureNameUnavailable']],
    ['409 existing in another location', restError(409, 'InvalidResourceGroupLocation'), ['terminal', 'AzureLocationConflict']],
    ['404 about the subscription', restError(404, 'SubscriptionNotFound'), ['platform', 'AzureSubscriptionNotFound']],
    [
      '404 for an API version ARM does not serve',
      restError(400, 'NoRegisteredProviderFound'),
      ['terminal', 'AzureInvalidRequest'],
    ],
    ['failed LRO with a transient code', lroFailure('InternalServerError'), ['retryable', 'AzureOperationFailed']],
    ['failed LRO with a quota code', lroFailure('ServerQuotaExceeded'), ['platform', 'AzureQuotaExceeded']],
    ['failed LRO with a known terminal code', lroFailure('RequestDisallowedByPolicy'), ['terminal', 'AzurePolicyDenied']],
    ['failed LRO without details', new Error('The long-running operation has failed'), ['retryable', 'AzureOperationFailed']],
    [
      'abort (request timeout)',
      Object.assign(new Error('The operation was aborted.'), { name: 'AbortError' }),
      ['retryable', 'AzureRequestTimeout'],
    ],
    ['connection refused', restError(undefined, 'ECONNREFUSED'), ['retryable', 'AzureUnavailable']],
    ['a bug in our code', new TypeError('x is undefined'), ['retryable', 'AzureError']],
    ['a thrown string', 'boom', ['retryable', 'AzureError']],
    ['an unexpected 3xx', restError(304), ['retryable', 'AzureError']],
  ])('%s', (_name, err, [kind, reason, retryAfterMs]) => {
    const result = classifyAzureError(err, NOW);
    expect(result).toBeInstanceOf(kind === 'terminal' ? TerminalError : kind === 'platform' ? PlatformError : RetryableError);
    // Only the platform team can fix these: retried, but minutes apart.
    if (kind === 'retryable') expect(result).not.toBeInstanceOf(PlatformError);
    if (kind === 'platform') expect((result as PlatformError).retryAfterMs).toBeGreaterThanOrEqual(PLATFORM_RETRY_MS);
    expect(result.reason).toBe(reason);
    if (
      kind !== 'platform' &&
      (retryAfterMs !== undefined || (result instanceof RetryableError && result.retryAfterMs === undefined))
    ) {
      expect(result instanceof RetryableError ? result.retryAfterMs : undefined).toBe(retryAfterMs);
    }
    expect(result.cause).toBe(err);
  });

  test('already classified errors pass through unchanged', () => {
    const retryable = new RetryableError('AzureOperationInProgress', 'x', { retryAfterMs: 5 });
    const terminal = new TerminalError('AzureInvalidSku', 'y');
    expect(classifyAzureError(retryable)).toBe(retryable);
    expect(classifyAzureError(terminal)).toBe(terminal);
  });

  test('the message carries the ARM code', () => {
    expect(classifyAzureError(restError(400, 'InvalidSkuName')).message).toBe('InvalidSkuName: InvalidSkuName message');
  });
});

describe('parseRetryAfter', () => {
  const headers = (h: Record<string, string>) => (name: string) => h[name];
  test.each<[string, Record<string, string>, number | undefined]>([
    ['seconds', { 'retry-after': '3' }, 3000],
    ['zero', { 'retry-after': '0' }, 0],
    ['ms header wins', { 'retry-after': '3', 'x-ms-retry-after-ms': '120' }, 120],
    ['date in the past', { 'retry-after': 'Wed, 31 Dec 2025 23:59:00 GMT' }, 0],
    ['garbage', { 'retry-after': 'soon' }, undefined],
    ['absent', {}, undefined],
  ])('%s', (_name, h, expected) => {
    expect(parseRetryAfter(headers(h), NOW)).toBe(expected);
  });
});
