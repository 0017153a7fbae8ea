/**
 * A list-watch cache of one resource type that never dies silently.
 *
 * client-node's own informer stops for good on any error other than 410 Gone (see the shared
 * guide); this one keeps going:
 * - any list or watch error is retried with exponential backoff and jitter (no reconnect storms);
 * - 410 Gone, or an ERROR event, relists from scratch and emits the difference;
 * - a watch with no traffic for `stallTimeoutMs` is treated as stalled and restarted (bookmarks
 *   keep a healthy watch busy); the server also closes each watch after a random 5-10 minutes;
 * - every `resyncMs` each cached object is handed to the handler again as a `resync` event, so
 *   level-triggered controllers re-check everything even when nothing changed.
 * Handlers must only enqueue keys: they run synchronously and a throw is caught and logged.
 */
import type { Logger } from 'winston';
import { intern, internParts } from './intern.ts';
import { type KubeClient, type KubeObject, type ResourceType, resourcePath, type WatchEvent } from './kube-client.ts';

export type InformerEventType = 'add' | 'update' | 'delete' | 'resync';
/** `previous` is the version the cache held before an update (undefined for other events). */
export type InformerHandler<T> = (type: InformerEventType, obj: T, previous?: T) => void;

export interface InformerOptions {
  labelSelector?: string;
  resyncMs?: number;
  stallTimeoutMs?: number;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** Called with the restart reason, for metrics. */
  onRestart?: (reason: 'error' | 'gone' | 'stalled' | 'closed') => void;
}

export function objectKey(obj: KubeObject): string {
  const ns = obj.metadata.namespace;
  return ns ? `${ns}/${obj.metadata.name}` : obj.metadata.name;
}

class GoneError extends Error {}

/**
 * What the cache keeps of an object: everything but `metadata.managedFields`, which the
 * operator never reads and which is often the largest part of an object (the client-go
 * informers' TransformFunc does the same), plus the type the list or watch omitted; its parts
 * shared with every other cached object that has the same (`intern`, runtime/intern.ts): a
 * cached object is read-only.
 */
export function forCache<T extends KubeObject>(obj: T, type: Pick<ResourceType, 'apiVersion' | 'kind'>): T {
  const { metadata: withManagedFields, ...rest } = obj as KubeObject & Record<string, unknown>;
  const { managedFields: _dropped, ...metadata } = withManagedFields as T['metadata'] & { managedFields?: unknown };
  const parts: Record<string, unknown> = rest;
  for (const key of Object.keys(parts)) parts[key] = intern(parts[key]);
  return { ...parts, apiVersion: type.apiVersion, kind: type.kind, metadata: internParts(metadata) } as unknown as T;
}

/** How many deleted objects' uids an informer remembers, so late answers of writes cannot revive them. */
const TOMBSTONES = 4096;

/**
 * An object the server has already deleted: a deletion timestamp and no finalizer left. The answer
 * of the write that removed the last finalizer looks like this.
 */
function isGone(obj: KubeObject): boolean {
  return obj.metadata.deletionTimestamp !== undefined && (obj.metadata.finalizers ?? []).length === 0;
}

/** Resource versions are opaque, but etcd's are integers: compare them as such when both are. */
function isNewer(candidate: string | undefined, current: string | undefined): boolean {
  if (!candidate) return false;
  if (!current) return true;
  if (/^\d+$/.test(candidate) && /^\d+$/.test(current)) return BigInt(candidate) > BigInt(current);
  return candidate !== current;
}

export class Informer<T extends KubeObject = KubeObject> {
  readonly #cache = new Map<string, T>();
  /**
   * The same objects by namespace: a reconcile looks at one tenant's namespace, and listing the
   * whole cache for it costs O(fleet) per pass (O(fleet²) for an onboarding).
   */
  readonly #byNamespace = new Map<string, Map<string, T>>();
  readonly #handlers: InformerHandler<T>[] = [];
  /** uids of deleted objects (oldest first): a uid is never reused, so none of them may come back. */
  readonly #deleted = new Set<string>();
  readonly #client: KubeClient;
  readonly #opts: Required<Omit<InformerOptions, 'labelSelector' | 'onRestart'>> & InformerOptions;
  #resourceVersion: string | undefined;
  #synced = false;
  #stopped = false;
  #abort: AbortController | undefined;
  #resyncTimer: NodeJS.Timeout | undefined;
  #wake: (() => void) | undefined;
  #syncedWaiters: (() => void)[] = [];

  readonly type: ResourceType;
  readonly logger: Logger;

  constructor(client: KubeClient, type: ResourceType, logger: Logger, options: InformerOptions = {}) {
    this.type = type;
    this.logger = logger;
    this.#client = client;
    this.#opts = {
      resyncMs: 10 * 60_000,
      stallTimeoutMs: 90_000,
      initialBackoffMs: 500,
      maxBackoffMs: 30_000,
      ...options,
    };
  }

  /** Registers a handler; call before start(). */
  on(handler: InformerHandler<T>): void {
    this.#handlers.push(handler);
  }

  get hasSynced(): boolean {
    return this.#synced;
  }

  get(name: string, namespace?: string): T | undefined {
    return this.#cache.get(namespace ? `${namespace}/${name}` : name);
  }

  list(): T[] {
    return [...this.#cache.values()];
  }

  /** The cached objects of one namespace (none for cluster-scoped kinds). */
  listInNamespace(namespace: string): T[] {
    const objects = this.#byNamespace.get(namespace);
    return objects === undefined ? [] : [...objects.values()];
  }

  /**
   * Read-your-own-writes: records an object the caller just wrote (the server's answer) so the
   * next reconcile does not act on the version before it while the watch event is still on its
   * way. Never replaces a newer cached version; emits no event (the watch will). Never brings back
   * a deleted object: the answer of a finalizer-removal write often arrives after the watch's
   * DELETED event, and recording it then would keep a ghost in the cache for good.
   * Takes `obj` over: its parts become the cache's, shared and frozen (`forCache`), so the caller
   * may go on reading it but must not change it.
   */
  observe(obj: T): void {
    if (isGone(obj) || (obj.metadata.uid !== undefined && this.#deleted.has(obj.metadata.uid))) return;
    const key = objectKey(obj);
    const cached = this.#cache.get(key);
    if (cached && !isNewer(obj.metadata.resourceVersion, cached.metadata.resourceVersion)) return;
    this.#put(key, forCache(obj, this.type));
  }

  /** Starts the list-watch loop in the background; resolves once the first list is cached. */
  start(): Promise<void> {
    void this.#run();
    this.#resyncTimer = setInterval(() => {
      for (const obj of this.#cache.values()) this.#emit('resync', obj);
    }, this.#opts.resyncMs);
    this.#resyncTimer.unref();
    return this.waitForSync();
  }

  waitForSync(): Promise<void> {
    if (this.#synced) return Promise.resolve();
    return new Promise((resolve) => this.#syncedWaiters.push(resolve));
  }

  stop(): void {
    this.#stopped = true;
    if (this.#resyncTimer) clearInterval(this.#resyncTimer);
    this.#abort?.abort();
    this.#wake?.();
  }

  async #run(): Promise<void> {
    let failures = 0;
    while (!this.#stopped) {
      try {
        if (this.#resourceVersion === undefined) await this.#relist();
        await this.#watchOnce();
        failures = 0;
      } catch (err) {
        if (this.#stopped) break;
        if (err instanceof GoneError) {
          this.#resourceVersion = undefined;
          this.#opts.onRestart?.('gone');
          continue;
        }
        if ((err as Error)?.name === 'TimeoutError') {
          this.logger.debug('watch stalled, restarting', { resource: this.type.plural });
          this.#opts.onRestart?.('stalled');
          continue;
        }
        const delay = Math.min(this.#opts.maxBackoffMs, this.#opts.initialBackoffMs * 2 ** failures);
        const jittered = Math.round(delay * (0.5 + Math.random()));
        failures++;
        this.#opts.onRestart?.('error');
        this.logger.warn('list/watch failed, retrying', {
          resource: this.type.plural,
          error: (err as Error)?.message ?? String(err),
          retryInMs: jittered,
          failures,
        });
        await this.#sleep(jittered);
      }
    }
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.#wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  async #relist(): Promise<void> {
    const items: T[] = [];
    let continueToken: string | undefined;
    let resourceVersion: string | undefined;
    do {
      const page = await this.#client.request<{ items: T[]; metadata?: { resourceVersion?: string; continue?: string } }>(
        'GET',
        resourcePath(this.type),
        { query: { labelSelector: this.#opts.labelSelector, limit: 500, continue: continueToken } },
      );
      for (const item of page.items) items.push(forCache(item, this.type));
      continueToken = page.metadata?.continue || undefined;
      resourceVersion = page.metadata?.resourceVersion;
    } while (continueToken);
    const seen = new Set<string>();
    for (const item of items) {
      const key = objectKey(item);
      seen.add(key);
      const old = this.#cache.get(key);
      this.#put(key, item);
      if (!old) this.#emit('add', item);
      else if (old.metadata.resourceVersion !== item.metadata.resourceVersion) this.#emit('update', item, old);
    }
    for (const [key, old] of this.#cache) {
      if (!seen.has(key)) {
        this.#forget(key, old);
        this.#emit('delete', old);
      }
    }
    this.#resourceVersion = resourceVersion;
    if (!this.#synced) {
      this.#synced = true;
      for (const waiter of this.#syncedWaiters.splice(0)) waiter();
    }
  }

  async #watchOnce(): Promise<void> {
    const abort = new AbortController();
    this.#abort = abort;
    if (this.#stopped) return;
    let failed: Error | undefined;
    const onEvent = ({ type: phase, object }: WatchEvent<T & { code?: number; message?: string }>) => {
      if (failed) return;
      if (phase === 'ERROR') {
        failed = new GoneError(object.code === 410 ? 'resource version too old' : (object.message ?? 'watch error'));
        abort.abort(failed);
        return;
      }
      const rv = object.metadata?.resourceVersion;
      if (rv) this.#resourceVersion = rv;
      if (phase === 'BOOKMARK') return;
      const item = forCache(object as T, this.type);
      const key = objectKey(item);
      if (phase === 'DELETED') {
        this.#forget(key, item);
        this.#emit('delete', item);
      } else {
        const cached = this.#cache.get(key);
        this.#put(key, item);
        // The version observe() already recorded (the operator's own write, answered by the
        // server) changes nothing: handlers saw to it when they wrote it.
        if (cached?.metadata.resourceVersion === item.metadata.resourceVersion) return;
        this.#emit(cached ? 'update' : 'add', item, cached);
      }
    };
    try {
      await this.#client.watch<T & { code?: number; message?: string }>(
        resourcePath(this.type),
        {
          resourceVersion: this.#resourceVersion,
          allowWatchBookmarks: true,
          // The server ends each watch after this; spread the reconnects.
          timeoutSeconds: 300 + Math.floor(Math.random() * 300),
          labelSelector: this.#opts.labelSelector,
        },
        onEvent,
        // No byte for this long means a stalled watch (bookmarks arrive about once a minute).
        { signal: abort.signal, inactivityMs: this.#opts.stallTimeoutMs },
      );
    } catch (err) {
      if (failed) throw failed;
      if (this.#stopped) return;
      throw err;
    }
    if (!this.#stopped) this.#opts.onRestart?.('closed');
  }

  /** Drops a deleted object and remembers its uid (a bounded number of them). */
  #forget(key: string, obj: T): void {
    this.#cache.delete(key);
    const namespace = obj.metadata.namespace;
    const inNamespace = namespace === undefined ? undefined : this.#byNamespace.get(namespace);
    if (inNamespace !== undefined) {
      inNamespace.delete(key);
      if (inNamespace.size === 0) this.#byNamespace.delete(namespace as string);
    }
    const uid = obj.metadata.uid;
    if (uid === undefined) return;
    this.#deleted.add(uid);
    if (this.#deleted.size > TOMBSTONES) this.#deleted.delete(this.#deleted.values().next().value as string);
  }

  #put(key: string, obj: T): void {
    this.#cache.set(key, obj);
    const namespace = obj.metadata.namespace;
    if (namespace === undefined) return;
    let inNamespace = this.#byNamespace.get(namespace);
    if (inNamespace === undefined) {
      inNamespace = new Map();
      this.#byNamespace.set(namespace, inNamespace);
    }
    inNamespace.set(key, obj);
  }

  #emit(type: InformerEventType, obj: T, previous?: T): void {
    for (const handler of this.#handlers) {
      try {
        handler(type, obj, previous);
      } catch (err) {
        this.logger.error('informer handler threw', { resource: this.type.plural, error: (err as Error).message });
      }
    }
  }
}
