/**
 * Builds the Azure SDK clients the operator uses, in one place, with one credential, endpoint and
 * write budget. Only two: every declarative resource kind goes through the resources client's
 * pipeline (src/azure/engine.ts), and SQL's backups and restores through the SQL client. A typed
 * client costs memory whether it is called or not: four that were built and never called
 * (@azure/arm-network alone is 12 MiB of heap once imported) held the idle operator at 147 instead
 * of 136 MiB of RSS. Tests that want others build them from `azureClientOptions`
 * (test/harness/azure-sdk-clients.ts).
 */
import { ResourceManagementClient } from '@azure/arm-resources';
import { SqlManagementClient, type SqlManagementClientOptionalParams } from '@azure/arm-sql';
import type { TokenCredential } from '@azure/core-auth';
import { DefaultAzureCredential } from '@azure/identity';
import { subscriptionOfUrl, type WriteLimiter } from './write-limiter.ts';

export {
  createPerSubscriptionLimiter,
  createWriteLimiter,
  type WriteLimiter,
  type WriteLimiterOptions,
} from './write-limiter.ts';

/** The pipeline policy shape the SDKs accept in `additionalPolicies` (taken from their own types). */
type PipelinePolicy = NonNullable<SqlManagementClientOptionalParams['additionalPolicies']>[number]['policy'];

export interface AzureClientConfig {
  subscriptionId: string;
  /**
   * ARM base URL. Unset in production (the SDKs' public-cloud default); the emulator's URL in tests
   * and local runs.
   */
  endpoint?: string | undefined;
  /**
   * Defaults to `DefaultAzureCredential`, which on AKS picks up workload identity
   * (`AZURE_CLIENT_ID`, `AZURE_TENANT_ID`, `AZURE_FEDERATED_TOKEN_FILE`).
   */
  credential?: TokenCredential | undefined;
  /** PEM CA to trust instead of the public roots (the emulator's self-signed certificate). */
  ca?: string | undefined;
  /** The operator-wide write budget; every ARM write, retries included, waits on it. */
  writeLimiter: WriteLimiter;
  /** The operator-wide read budget (the same token bucket), for every GET, polls included. */
  readLimiter?: WriteLimiter | undefined;
  /**
   * Microsoft.ManagedIdentity's own write budget: that provider throttles at about 2 writes per
   * second per subscription, far below ARM's general 10, so identity and federated-credential
   * writes also wait here.
   */
  managedIdentityWriteLimiter?: WriteLimiter | undefined;
  /**
   * Per-attempt timeout of every HTTP request, in ms (default 60 000). The SDKs have none, so a
   * request ARM never answers would otherwise hang a reconcile forever.
   */
  requestTimeoutMs?: number | undefined;
  /** The SDKs' own retry of 408/429/5xx and network errors (their defaults when unset). */
  retry?: { maxRetries?: number; retryDelayInMs?: number; maxRetryDelayInMs?: number } | undefined;
  /** Called after every HTTP attempt, for metrics: service (the client: resources, sql), method, status (0 = no response). */
  onResponse?: ((service: string, method: string, status: number) => void) | undefined;
}

/** The operator's Azure clients, plus what all modules need alongside them. */
export interface AzureClients {
  readonly subscriptionId: string;
  /** Its pipeline carries every request of the generic engine (budgets, timeout, metrics). */
  readonly resources: ResourceManagementClient;
  readonly sql: SqlManagementClient;
  /** The operator's identity, for the data planes ARM does not front (Azure SQL's T-SQL). */
  readonly credential: TokenCredential;
  /** The CA the clients trust instead of the public roots, when one is configured. */
  readonly ca: string | undefined;
  readonly writeLimiter: WriteLimiter;
  readonly readLimiter: WriteLimiter | undefined;
  /**
   * The same clients bound to another subscription (a subscription shard): same credential,
   * endpoint and budgets. Built once per subscription; itself for its own.
   */
  inSubscription(subscriptionId: string): AzureClients;
}

const WRITE_METHODS = new Set(['PUT', 'PATCH', 'DELETE', 'POST']);

/**
 * Makes every write, and every read if a read budget is given, wait for a token (retries too:
 * ARM counts those). Added per retry, so SDK-internal retries cannot bypass the budget. ARM keeps
 * separate buckets for reads (25/s per subscription and principal) and writes (10/s).
 */
export function writeLimiterPolicy(
  limiter: WriteLimiter,
  readLimiter?: WriteLimiter,
  managedIdentityLimiter?: WriteLimiter,
): PipelinePolicy {
  return {
    name: 'tenantOperatorWriteLimiter',
    async sendRequest(request, next) {
      // A per-subscription budget takes the bucket of the subscription the request names.
      const subscription = subscriptionOfUrl(request.url);
      const of = (l: WriteLimiter) => l.forSubscription?.(subscription) ?? l;
      if (WRITE_METHODS.has(request.method)) {
        if (managedIdentityLimiter && /\/providers\/microsoft\.managedidentity\//i.test(request.url)) {
          await of(managedIdentityLimiter).acquire(request.abortSignal);
        }
        await of(limiter).acquire(request.abortSignal);
      } else if (readLimiter) await of(readLimiter).acquire(request.abortSignal);
      return next(request);
    },
  };
}

/** Reports every attempt's outcome (per retry, so throttled attempts are counted too). */
export function responseObserverPolicy(
  service: string,
  observe: (service: string, method: string, status: number) => void,
): PipelinePolicy {
  return {
    name: 'tenantOperatorResponseObserver',
    async sendRequest(request, next) {
      try {
        const response = await next(request);
        observe(service, request.method, response.status);
        return response;
      } catch (err) {
        observe(service, request.method, (err as { statusCode?: number }).statusCode ?? 0);
        throw err;
      }
    },
  };
}

/** Gives every request attempt a timeout unless the caller set one. */
export function requestTimeoutPolicy(timeoutMs: number): PipelinePolicy {
  return {
    name: 'tenantOperatorRequestTimeout',
    async sendRequest(request, next) {
      if (!request.timeout) request.timeout = timeoutMs;
      return next(request);
    },
  };
}

/** The credential used in production when none is given. */
export function createDefaultCredential(): TokenCredential {
  return new DefaultAzureCredential();
}

/**
 * The options every SDK client is built with: endpoint, CA, retries, and the pipeline policies
 * (budgets, per-attempt timeout, the response observer labelled with `service`).
 */
export function azureClientOptions(config: AzureClientConfig, service: string): SqlManagementClientOptionalParams {
  return {
    ...(config.endpoint === undefined ? {} : { endpoint: config.endpoint }),
    ...(config.ca === undefined ? {} : { tlsOptions: { ca: config.ca } }),
    ...(config.retry === undefined ? {} : { retryOptions: config.retry }),
    additionalPolicies: [
      {
        policy: writeLimiterPolicy(config.writeLimiter, config.readLimiter, config.managedIdentityWriteLimiter),
        position: 'perRetry' as const,
      },
      { policy: requestTimeoutPolicy(config.requestTimeoutMs ?? 60_000), position: 'perRetry' as const },
      ...(config.onResponse
        ? [{ policy: responseObserverPolicy(service, config.onResponse), position: 'perRetry' as const }]
        : []),
    ],
  };
}

/** Build the clients. Cheap: no network I/O happens until the first call. */
export function createAzureClients(config: AzureClientConfig): AzureClients {
  const credential = config.credential ?? createDefaultCredential();
  const options = (service: string) => azureClientOptions(config, service);
  const id = config.subscriptionId;
  const others = new Map<string, AzureClients>();
  const clients: AzureClients = {
    subscriptionId: id,
    resources: new ResourceManagementClient(credential, id, options('resources')),
    sql: new SqlManagementClient(credential, id, options('sql')),
    credential,
    ca: config.ca,
    writeLimiter: config.writeLimiter,
    readLimiter: config.readLimiter,
    inSubscription(subscriptionId) {
      const key = subscriptionId.toLowerCase();
      if (key === id.toLowerCase()) return clients;
      let other = others.get(key);
      if (other === undefined) {
        other = createAzureClients({ ...config, subscriptionId, credential });
        others.set(key, other);
      }
      return other;
    },
  };
  return clients;
}
