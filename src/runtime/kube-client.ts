/**
 * A small JSON client for the Kubernetes API that keeps objects in their wire format.
 *
 * client-node's typed models rename fields (`from` -> `_from`, `default` -> `_default`) and turn
 * timestamps into Dates, while watch events arrive as plain JSON; comparing the two would see
 * drift that is not there. Everything the controllers read, compare and apply therefore stays
 * plain JSON, exactly as the API server speaks it. Authentication comes from client-node's
 * KubeConfig (certificates, tokens, exec plugins).
 */
import { HttpMethod, type KubeConfig, RequestContext } from '@kubernetes/client-node';
import { fetch } from 'undici';

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

export class KubeClient {
  readonly kubeConfig: KubeConfig;
  #dispatcher: ReturnType<RequestContext['getDispatcher']>;
  /** Called after every request, for metrics and for tests that count calls. */
  onRequest: (method: string, path: string, status: number) => void = () => {};

  constructor(kubeConfig: KubeConfig) {
    this.kubeConfig = kubeConfig;
  }

  get server(): string {
    const cluster = this.kubeConfig.getCurrentCluster();
    if (!cluster) throw new Error('kubeconfig has no current cluster');
    return cluster.server;
  }

  async request<T>(
    method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
    path: string,
    options: { query?: Record<string, string | number | boolean | undefined>; body?: unknown; contentType?: string } = {},
  ): Promise<T> {
    const url = new URL(this.server + path);
    for (const [k, v] of Object.entries(options.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const ctx = new RequestContext(url.toString(), HttpMethod[method]);
    await this.kubeConfig.applySecurityAuthentication(ctx);
    // client-node builds a new connection pool for every request context: keep the first one, so
    // requests share kept-alive TLS connections instead of opening one each (sockets, memory, CPU).
    this.#dispatcher ??= ctx.getDispatcher();
    const headers: Record<string, string> = { ...ctx.getHeaders(), accept: 'application/json' };
    if (options.body !== undefined) headers['content-type'] = options.contentType ?? 'application/json';
    const response = await fetch(url, {
      method,
      headers,
      dispatcher: this.#dispatcher,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await response.text();
    this.onRequest(method, path, response.status);
    if (!response.ok) {
      let reason = 'Unknown';
      let message = `${method} ${path}: HTTP ${response.status}`;
      try {
        const status = JSON.parse(text) as { reason?: string; message?: string };
        reason = status.reason ?? reason;
        if (status.message) message = status.message;
      } catch {}
      const retryAfter = Number(response.headers.get('retry-after'));
      throw new KubeApiError(
        response.status,
        reason,
        message,
        Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : undefined,
      );
    }
    return (text ? JSON.parse(text) : undefined) as T;
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
}
