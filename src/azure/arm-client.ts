/**
 * One generic client for Azure Resource Manager: GET, PUT, PATCH and DELETE of any resource by its
 * id, and one look at a long-running operation. It sends through the real Azure SDK pipeline of
 * the operator's `ResourceManagementClient` (bearer token, retries of 408/429/5xx with Retry-After,
 * the operator's read and write budgets, the per-request timeout, metrics), so every resource type
 * shares one transport without one hand-written SDK wrapper per type.
 *
 * Nothing here waits for a long-running operation: a write returns either the resource (ARM
 * finished synchronously) or the operation's URL, which the caller records and looks at later
 * (Azure Service Operator v2 does the same with its poller resume tokens).
 */
import {
  createDefaultHttpClient,
  createHttpHeaders,
  createPipelineRequest,
  type Pipeline,
  type PipelineResponse,
} from '@azure/core-rest-pipeline';

/** A JSON object as ARM sends and receives it. */
export type ArmBody = Record<string, unknown>;

/** How a long-running operation is polled (ARM's two conventions). */
export type OperationKind = 'AsyncOperation' | 'Location';

/** A write ARM accepted but has not finished. Plain data: it is stored in status and survives restarts. */
export interface OperationHandle {
  /** The URL to poll (`Azure-AsyncOperation`, else `Location`). */
  url: string;
  kind: OperationKind;
  /** Milliseconds ARM asked us to wait before polling (Retry-After), if it said. */
  retryAfterMs?: number | undefined;
}

/** The outcome of beginning a write. */
export type WriteOutcome = { done: true; body: ArmBody | undefined } | { done: false; operation: OperationHandle };

/** What one poll of an operation found. */
export type OperationState =
  | { status: 'InProgress'; retryAfterMs?: number | undefined }
  | { status: 'Succeeded' }
  | { status: 'Failed'; code: string; message: string };

/** The error an ARM error response becomes: the shape the classifier (errors.ts) reads. */
export class ArmRequestError extends Error {
  override readonly name = 'RestError';
  readonly statusCode: number;
  readonly code: string | undefined;
  readonly response: { headers: { get(name: string): string | undefined } };

  constructor(statusCode: number, code: string | undefined, message: string, headers: PipelineResponse['headers']) {
    super(message);
    this.statusCode = statusCode;
    this.code = code;
    this.response = { headers: { get: (name: string) => headers.get(name) } };
  }
}

/** Sends one request through an SDK client's pipeline. */
export interface PipelineSender {
  sendRequest(request: ReturnType<typeof createPipelineRequest>): Promise<PipelineResponse>;
}

/**
 * A sender over an SDK client's `pipeline`: its bearer-token, retry, TLS and the operator's own
 * policies (budgets, timeout, metrics) all apply, exactly as for the SDK's own calls.
 */
export function pipelineSender(pipeline: Pipeline): PipelineSender {
  const httpClient = createDefaultHttpClient();
  return { sendRequest: (request) => pipeline.sendRequest(httpClient, request) };
}

export interface ArmClientOptions {
  /** The SDK client whose pipeline carries every request. */
  sender: PipelineSender;
  /** ARM base URL (`https://management.azure.com` or the emulator's). */
  endpoint: string;
  /** Cancels in-flight requests (a reconcile's deadline). */
  signal?: AbortSignal | undefined;
  /**
   * Read when each request starts (leadership, see runtime/leader.ts): once it is aborted no
   * request starts, and those in flight are cut off.
   */
  fence?: (() => AbortSignal) | undefined;
}

function parseJson(text: string | undefined): ArmBody | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as ArmBody) : undefined;
  } catch {
    return undefined;
  }
}

function retryAfterMs(headers: PipelineResponse['headers']): number | undefined {
  const value = headers.get('retry-after');
  if (value === undefined) return undefined;
  const seconds = Number(value);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : undefined;
}

/** The ARM error body `{ error: { code, message } }` (or a bare `{ code, message }`). */
function errorOf(body: ArmBody | undefined): { code: string | undefined; message: string | undefined } {
  const inner = (body?.error ?? body) as { code?: unknown; message?: unknown } | undefined;
  return {
    code: typeof inner?.code === 'string' ? inner.code : undefined,
    message: typeof inner?.message === 'string' ? inner.message : undefined,
  };
}

/** What the engine needs of ARM (ArmClient, or a fake in unit tests). */
export interface ArmApi {
  get(id: string, apiVersion: string): Promise<ArmBody | undefined>;
  list(id: string, apiVersion: string): Promise<ArmBody[]>;
  beginWrite(method: 'PUT' | 'PATCH' | 'DELETE', id: string, apiVersion: string, body?: ArmBody): Promise<WriteOutcome>;
  pollOperation(operation: OperationHandle): Promise<OperationState>;
}

export class ArmClient implements ArmApi {
  readonly #sender: PipelineSender;
  readonly #endpoint: string;
  readonly #signal: AbortSignal | undefined;
  readonly #fence: (() => AbortSignal) | undefined;

  constructor(options: ArmClientOptions) {
    this.#sender = options.sender;
    this.#endpoint = options.endpoint.replace(/\/+$/, '');
    this.#signal = options.signal;
    this.#fence = options.fence;
  }

  /** The same client with another abort signal (one per reconcile); the fence stays. */
  withSignal(signal: AbortSignal | undefined): ArmClient {
    return new ArmClient({ sender: this.#sender, endpoint: this.#endpoint, signal, fence: this.#fence });
  }

  #abortSignal(): AbortSignal | undefined {
    const signals = [this.#signal, this.#fence?.()].filter((s): s is AbortSignal => s !== undefined);
    if (signals.length === 0) return undefined;
    const signal = signals.length === 1 ? (signals[0] as AbortSignal) : AbortSignal.any(signals);
    // Checked before anything is sent: a request refused here never reaches ARM.
    if (signal.aborted) throw Object.assign(new Error('Azure request aborted before it was sent'), { name: 'AbortError' });
    return signal;
  }

  async #send(
    method: string,
    url: string,
    body?: ArmBody,
  ): Promise<{ status: number; body: ArmBody | undefined; response: PipelineResponse }> {
    const abortSignal = this.#abortSignal();
    const request = createPipelineRequest({
      url,
      method: method as 'GET',
      headers: createHttpHeaders({ accept: 'application/json', ...(body ? { 'content-type': 'application/json' } : {}) }),
      ...(body ? { body: JSON.stringify(body) } : {}),
      ...(abortSignal ? { abortSignal } : {}),
    });
    const response = await this.#sender.sendRequest(request);
    return { status: response.status, body: parseJson(response.bodyAsText ?? undefined), response };
  }

  #url(id: string, apiVersion: string): string {
    return `${this.#endpoint}${id}?api-version=${encodeURIComponent(apiVersion)}`;
  }

  #fail(status: number, body: ArmBody | undefined, response: PipelineResponse, what: string): never {
    const e = errorOf(body);
    throw new ArmRequestError(status, e.code, e.message ?? `${what} answered HTTP ${status}`, response.headers);
  }

  /** GET a resource; `undefined` when ARM answers 404 (any other failure throws). */
  async get(id: string, apiVersion: string): Promise<ArmBody | undefined> {
    const { status, body, response } = await this.#send('GET', this.#url(id, apiVersion));
    if (status === 404) {
      const code = errorOf(body).code;
      // A 404 about the subscription, the provider or the API says nothing about the resource.
      if (code === undefined || !NOT_A_MISSING_RESOURCE.has(code)) return undefined;
    }
    if (status >= 300) this.#fail(status, body, response, `GET ${id}`);
    return body ?? {};
  }

  /** GET a collection (one page after another); 404 gives an empty list. */
  async list(id: string, apiVersion: string): Promise<ArmBody[]> {
    const items: ArmBody[] = [];
    let url: string | undefined = this.#url(id, apiVersion);
    while (url !== undefined) {
      const { status, body, response } = await this.#send('GET', url);
      if (status === 404 && !NOT_A_MISSING_RESOURCE.has(errorOf(body).code ?? '')) return [];
      if (status >= 300) this.#fail(status, body, response, `GET ${id}`);
      const value = body?.value;
      if (Array.isArray(value)) items.push(...(value as ArmBody[]));
      url = typeof body?.nextLink === 'string' ? body.nextLink : undefined;
    }
    return items;
  }

  /** Begin a PUT, PATCH or DELETE; never waits for the operation to finish. */
  async beginWrite(method: 'PUT' | 'PATCH' | 'DELETE', id: string, apiVersion: string, body?: ArmBody): Promise<WriteOutcome> {
    const { status, body: answer, response } = await this.#send(method, this.#url(id, apiVersion), body);
    if (method === 'DELETE' && status === 404) return { done: true, body: undefined };
    if (status >= 300) this.#fail(status, answer, response, `${method} ${id}`);
    const asyncUrl = response.headers.get('azure-asyncoperation');
    const locationUrl = response.headers.get('location');
    // ARM's long-running operation conventions: an Azure-AsyncOperation header on any answer, or a
    // Location header on 201/202. Either way the write is recorded and looked at on a later pass.
    const url = asyncUrl ?? (status === 201 || status === 202 ? locationUrl : undefined);
    if (url !== undefined) {
      return {
        done: false,
        operation: { url, kind: asyncUrl ? 'AsyncOperation' : 'Location', retryAfterMs: retryAfterMs(response.headers) },
      };
    }
    return { done: true, body: answer };
  }

  /** One look at a long-running operation. */
  async pollOperation(operation: OperationHandle): Promise<OperationState> {
    const { status, body, response } = await this.#send('GET', operation.url);
    if (operation.kind === 'Location') {
      if (status === 202) return { status: 'InProgress', retryAfterMs: retryAfterMs(response.headers) };
      if (status < 300) return { status: 'Succeeded' };
      const e = errorOf(body);
      if (status === 404)
        return { status: 'Failed', code: 'OperationExpired', message: 'the operation is no longer known to Azure' };
      return { status: 'Failed', code: e.code ?? `HTTP${status}`, message: e.message ?? `operation answered HTTP ${status}` };
    }
    if (status === 404)
      return { status: 'Failed', code: 'OperationExpired', message: 'the operation is no longer known to Azure' };
    if (status >= 300) this.#fail(status, body, response, 'operation status');
    const state = String(body?.status ?? '').toLowerCase();
    if (state === 'succeeded') return { status: 'Succeeded' };
    if (state === 'failed' || state === 'canceled' || state === 'cancelled') {
      const e = errorOf(body);
      return {
        status: 'Failed',
        code: e.code ?? (state === 'failed' ? 'OperationFailed' : 'OperationCanceled'),
        message: e.message ?? `the operation ended ${state}`,
      };
    }
    return { status: 'InProgress', retryAfterMs: retryAfterMs(response.headers) };
  }

  /**
   * Begin a long-running POST action (a failover group's `failover`); never waits for it. Like a
   * write: the operation's URL to record, or the answer when ARM finished at once.
   */
  async beginAction(id: string, apiVersion: string, body?: ArmBody): Promise<WriteOutcome> {
    const { status, body: answer, response } = await this.#send('POST', this.#url(id, apiVersion), body ?? {});
    if (status >= 300) this.#fail(status, answer, response, `POST ${id}`);
    const asyncUrl = response.headers.get('azure-asyncoperation');
    const locationUrl = response.headers.get('location');
    const url = asyncUrl ?? (status === 202 ? locationUrl : undefined);
    if (url !== undefined) {
      return {
        done: false,
        operation: { url, kind: asyncUrl ? 'AsyncOperation' : 'Location', retryAfterMs: retryAfterMs(response.headers) },
      };
    }
    return { done: true, body: answer };
  }

  /** POST an action (e.g. a name check); returns the answer body. */
  async post(id: string, apiVersion: string, body?: ArmBody): Promise<ArmBody | undefined> {
    const { status, body: answer, response } = await this.#send('POST', this.#url(id, apiVersion), body ?? {});
    if (status >= 300) this.#fail(status, answer, response, `POST ${id}`);
    return answer;
  }
}

/**
 * 404 codes that say nothing about the resource: the subscription, the provider or the API is
 * missing. Taking those for "gone" would let a delete finish while everything still exists.
 */
export const NOT_A_MISSING_RESOURCE = new Set([
  'SubscriptionNotFound',
  'InvalidResourceType',
  'InvalidResourceNamespace',
  'NoRegisteredProviderFound',
  'MissingSubscriptionRegistration',
  'InvalidApiVersionParameter',
]);
