/**
 * A small JSON client for the Kubernetes API that keeps objects in their wire format.
 *
 * client-node's typed models rename fields (`from` -> `_from`, `default` -> `_default`) and turn
 * timestamps into Dates, while watch events arrive as plain JSON; comparing the two would see
 * drift that is not there. Everything the controllers read, compare and apply therefore stays
 * plain JSON, exactly as the API server speaks it. The server, TLS and credentials come from a
 * KubeConnection (kubeconfig.ts); every request and watch shares its one connection pool.
 */
import { type Dispatcher, fetch } from 'undici';
import type { KubeConnection } from './kubeconfig.ts';

/** A Kubernetes object in wire format. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    generation?: number;
    resourceVersion?: string;
    creationTimestamp?: string;
    deletionTimestamp?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    finalizers?: string[];
  };
  [field: string]: unknown;
}

export interface ResourceType {
  apiVersion: string;
  kind: string;
  /** Plural resource name, as in the URL path. */
  plural: string;
  namespaced: boolean;
}

/** A failed API call: HTTP code, the Status reason (NotFound, Conflict, Invalid...) and its message. */
export class KubeApiError extends Error {
  override readonly name = 'KubeApiError';
  readonly code: number;
  readonly reason: string;
  readonly retryAfterMs: number | undefined;
  constructor(code: number, reason: string, message: string, retryAfterMs?: number) {
    super(message);
    this.code = code;
    this.reason = reason;
    this.retryAfterMs = retryAfterMs;
  }
}

export function isNotFound(err: unknown): boolean {
  return err instanceof KubeApiError && err.code === 404;
}

export function resourcePath(type: ResourceType, namespace?: string, name?: string): string {
  const base = type.apiVersion.includes('/') ? `/apis/${type.apiVersion}` : `/api/${type.apiVersion}`;
  const ns = type.namespaced && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  return `${base}${ns}/${type.plural}${name ? `/${encodeURIComponent(name)}` : ''}`;
}

/** One watch event as the API server streams it. */
export interface WatchEvent<T> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: T;
}

type Query = Record<string, string | number | boolean | undefined>;

/** A write request as it was sent, for metrics: what, where, and the answer (0: none came). */
export interface KubeWrite {
  /** create (POST), update (PUT), apply (server-side apply PATCH), patch (any other PATCH), delete (DELETE). */
  verb: 'create' | 'update' | 'apply' | 'patch' | 'delete';
  /** The resource, as in the URL and the API server's audit log (`tenants`, `events`, `leases`). */
  resource: string;
  /** `status`, `finalize`..., or '' for the object itself. */
  subresource: string;
  /** HTTP status of the answer; 0 when none came (network error, timeout, fence). */
  status: number;
}

/** Namespace subresources: `/api/v1/namespaces/NAME/status` is not a resource called "status". */
const NAMESPACE_SUBRESOURCES = new Set(['status', 'finalize']);

/**
 * Resource and subresource of an API path, as the audit log's objectRef names them:
 * `/apis/tenancy.dev/v1alpha1/tenants/acme/status` -> `tenants`, `status`.
 */
export function resourceOfPath(path: string): { resource: string; subresource: string } {
  const parts = (path.split('?')[0] ?? '').split('/').filter((p) => p !== '');
  let rest = parts[0] === 'api' ? parts.slice(2) : parts.slice(3);
  if (rest[0] === 'namespaces' && rest.length >= 3 && !NAMESPACE_SUBRESOURCES.has(rest[2] as string)) rest = rest.slice(2);
  return { resource: rest[0] ?? '', subresource: rest[2] ?? '' };
}

function verbOf(method: string, contentType: string | undefined): KubeWrite['verb'] {
  if (method === 'POST') return 'create';
  if (method === 'PUT') return 'update';
  if (method === 'DELETE') return 'delete';
  return contentType === 'application/apply-patch+yaml' ? 'apply' : 'patch';
}

/** The longest any single request may take, leadership or not. */
const REQUEST_TIMEOUT_MS = 30_000;

export interface KubeClientOptions {
  /** Sent as User-Agent, so the API server's audit log tells replicas apart. */
  userAgent?: string;
  /**
   * The signal every request of this client must carry (leadership, see runtime/leader.ts), read
   * when the request starts: once it is aborted, no request starts and those in flight are cut off.
   */
  fence?: () => AbortSignal;
}

export class KubeClient {
  readonly connection: KubeConnection;
  readonly options: KubeClientOptions;
  /** Called after every request, for metrics and for tests that count calls. */
  onRequest: (method: string, path: string, status: number) => void = () => {};
  /**
   * Called for every write request once it was sent, answered or not: the one place every write
   * passes (objects, status, finalizers, Events, the Lease), so a count of them is complete.
   */
  onWrite: (write: KubeWrite) => void = () => {};

  constructor(connection: KubeConnection, options: KubeClientOptions = {}) {
    this.connection = connection;
    this.options = options;
  }

  /** The same server, with every request tied to `fence` (the controllers' client while leading). */
  fenced(fence: () => AbortSignal): KubeClient {
    const client = new KubeClient(this.connection, { ...this.options, fence });
    client.onRequest = (...args) => this.onRequest(...args);
    client.onWrite = (write) => this.onWrite(write);
    return client;
  }

  #fenceSignal: AbortSignal | undefined;
  #fenceDispatcher: Dispatcher | undefined;

  /**
   * The connections of the fence's current term: a pool opened for the term and destroyed when it
   * ends. Aborting a request alone is not enough: over HTTP/2 (one connection for everything) it
   * resets the stream, and a request whose frames are already on the wire is still delivered when
   * a frozen path thaws. Tearing the term's connections down drops them.
   */
  #dispatcherFor(fence: AbortSignal | undefined): Dispatcher {
    if (!fence) return this.connection.dispatcher;
    if (fence !== this.#fenceSignal || !this.#fenceDispatcher) {
      const dispatcher = this.connection.newDispatcher();
      this.#fenceSignal = fence;
      this.#fenceDispatcher = dispatcher;
      fence.addEventListener('abort', () => void dispatcher.destroy(fence.reason as Error).catch(() => {}), { once: true });
    }
    return this.#fenceDispatcher;
  }

  get server(): string {
    return this.connection.server;
  }

  async request<T>(
    method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
    path: string,
    options: { query?: Query; body?: unknown; contentType?: string; signal?: AbortSignal } = {},
  ): Promise<T> {
    const signals = [AbortSignal.timeout(REQUEST_TIMEOUT_MS)];
    const fence = this.options.fence?.();
    if (fence) signals.push(fence);
    if (options.signal) signals.push(options.signal);
    const signal = AbortSignal.any(signals);
    // Checked before anything is sent: a request refused here never reaches the server.
    if (signal.aborted) throw signal.reason;
    const headers = await this.#headers();
    if (options.body !== undefined) headers['content-type'] = options.contentType ?? 'application/json';
    let text: string;
    let response: Awaited<ReturnType<typeof fetch>>;
    let status = 0;
    try {
      response = await fetch(this.#url(path, options.query), {
        method,
        headers,
        dispatcher: this.#dispatcherFor(fence),
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
        signal,
      });
      status = response.status;
      text = await response.text();
    } catch (err) {
      // Say why (leadership lost, the renew deadline, the timeout), not undici's generic abort error.
      if (signal.aborted) throw signal.reason;
      throw err;
    } finally {
      if (method !== 'GET') this.onWrite({ verb: verbOf(method, options.contentType), ...resourceOfPath(path), status });
    }
    this.onRequest(method, path, response.status);
    if (!response.ok) throw this.#failure(method, path, response.status, text, response.headers.get('retry-after'));
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /**
   * Streams a watch: calls `onEvent` for each event until the server ends the stream (resolves),
   * `signal` aborts it (rejects with the signal's reason), or no byte arrives for `inactivityMs`
   * (rejects with a TimeoutError; ask for bookmarks so that a healthy watch is never that quiet).
   */
  async watch<T>(
    path: string,
    query: Query,
    onEvent: (event: WatchEvent<T>) => void,
    options: { signal: AbortSignal; inactivityMs: number },
  ): Promise<void> {
    const inactivity = new AbortController();
    const signal = AbortSignal.any([options.signal, inactivity.signal]);
    let timer: NodeJS.Timeout | undefined;
    const rearm = () => {
      clearTimeout(timer);
      timer = setTimeout(
        () => inactivity.abort(new DOMException(`watch ${path}: silent for ${options.inactivityMs} ms`, 'TimeoutError')),
        options.inactivityMs,
      );
    };
    rearm();
    try {
      const response = await fetch(this.#url(path, { ...query, watch: true }), {
        headers: await this.#headers(),
        dispatcher: this.connection.dispatcher,
        signal,
      });
      this.onRequest('WATCH', path, response.status);
      if (!response.ok)
        throw this.#failure('WATCH', path, response.status, await response.text(), response.headers.get('retry-after'));
      if (!response.body) return;
      const decoder = new TextDecoder();
      let buffered = '';
      for await (const chunk of response.body) {
        rearm();
        buffered += decoder.decode(chunk, { stream: true });
        let newline = buffered.indexOf('\n');
        while (newline >= 0 && !signal.aborted) {
          const line = buffered.slice(0, newline);
          buffered = buffered.slice(newline + 1);
          if (line.trim()) onEvent(JSON.parse(line) as WatchEvent<T>);
          newline = buffered.indexOf('\n');
        }
      }
    } catch (err) {
      // Say why the signal fired (a stall or a stop), not undici's generic abort error.
      if (signal.aborted) throw signal.reason;
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  get<T extends KubeObject>(type: ResourceType, name: string, namespace?: string): Promise<T> {
    return this.request<T>('GET', resourcePath(type, namespace, name));
  }

  /** Server-side apply under `fieldManager`, forcing ownership of the fields we set. */
  apply<T extends KubeObject>(type: ResourceType, obj: KubeObject, fieldManager: string, subresource?: 'status'): Promise<T> {
    const path = resourcePath(type, obj.metadata.namespace, obj.metadata.name) + (subresource ? `/${subresource}` : '');
    return this.request<T>('PATCH', path, {
      query: { fieldManager, force: true },
      body: obj,
      contentType: 'application/apply-patch+yaml',
    });
  }

  delete(type: ResourceType, name: string, namespace?: string): Promise<unknown> {
    return this.request('DELETE', resourcePath(type, namespace, name), { body: { propagationPolicy: 'Background' } });
  }

  #url(path: string, query: Query = {}): URL {
    const url = new URL(this.server + path);
    for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, String(v));
    return url;
  }

  async #headers(): Promise<Record<string, string>> {
    const authorization = await this.connection.authorization();
    return {
      accept: 'application/json',
      ...(this.options.userAgent ? { 'user-agent': this.options.userAgent } : {}),
      ...(authorization ? { authorization } : {}),
    };
  }

  /** The Status the API server answered with, as a KubeApiError; a 401 drops the cached credential. */
  #failure(method: string, path: string, code: number, body: string, retryAfterHeader: string | null): KubeApiError {
    if (code === 401) this.connection.invalidate();
    let reason = 'Unknown';
    let message = `${method} ${path}: HTTP ${code}`;
    try {
      const status = JSON.parse(body) as { reason?: string; message?: string };
      reason = status.reason ?? reason;
      if (status.message) message = status.message;
    } catch {}
    const retryAfter = Number(retryAfterHeader);
    return new KubeApiError(code, reason, message, Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : undefined);
  }
}
