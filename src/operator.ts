/**
 * Assembles one operator instance: caches, queue, controllers, HTTP endpoints and leader
 * election, all from an injected API server connection, configuration, clock and logger. main.ts calls it
 * for production; tests start several in one process.
 */

import type { Server } from 'node:http';
import { hostname } from 'node:os';
import type { Logger } from 'winston';
import { ACCESS_REQUEST_LABEL } from './access/grant.ts';
import { AccessRequestReconciler } from './access/reconciler.ts';
import type { AzureClients } from './azure/clients.ts';
import { sqlDataPlaneOptionsOf } from './azure/sql-data-plane.ts';
import { BackupPolicyReconciler } from './backup/policy-status.ts';
import { TenantBackup } from './backup/tenant-backup.ts';
import type { OperatorConfig } from './config.ts';
import type { Caches, OperatorContext } from './context.ts';
import { MaintenanceWindowReconciler } from './maintenance/window-status.ts';
import { AccessMetrics } from './observability/access-metrics.ts';
import { EventRecorder } from './observability/events.ts';
import { startHttpServer } from './observability/http-server.ts';
import { labelCombinations, OperatorMetrics } from './observability/metrics.ts';
import { Applier } from './runtime/apply.ts';
import { type Clock, systemClock } from './runtime/clock.ts';
import { DESIRED_HASH_ANNOTATION } from './runtime/compare.ts';
import { Controller, RECONCILE_OUTCOMES } from './runtime/controller.ts';
import { Informer, type InformerOptions } from './runtime/informer.ts';
import { isNotFound, KubeClient, type KubeObject, type ResourceType } from './runtime/kube-client.ts';
import type { KubeConnection } from './runtime/kubeconfig.ts';
import { LeaderElector } from './runtime/leader.ts';
import { WorkQueue } from './runtime/queue.ts';
import { OPTIONAL_KINDS, OWNED_NAMESPACED_KINDS, RESOURCES } from './runtime/resources.ts';
import { armClientOf, createAzureClientsFromConfig, TenantAzureStep } from './tenant/azure-step.ts';
import { TenantDatabaseAccess } from './tenant/database-access.ts';
import { registerEncryptionKeyMetrics } from './tenant/key-metrics.ts';
import { MANAGED_SELECTOR, TENANT_LABEL } from './tenant/labels.ts';
import { registerTenantMetrics } from './tenant/metrics.ts';
import { TenantReconciler, type TenantSteps } from './tenant/reconciler.ts';
import { registerUptimeMetrics } from './uptime/metrics.ts';

const NEVER_ABORTED = new AbortController().signal;

/** How long tenant events are gathered before a window or policy recounts its tenants. */
const COUNTS_COALESCE_MS = 1000;

/** The controllers, as the metrics name them. */
const CONTROLLERS = ['tenant', 'maintenancewindow', 'backuppolicy'];
/** The operator's ARM clients (azure/clients.ts), as the metrics name them. */
const AZURE_SERVICES = ['resources', 'sql'];
const INFORMER_RESTART_REASONS = ['error', 'gone', 'stalled', 'closed'];

export interface OperatorOptions {
  /** The API server and credentials (runtime/kubeconfig.ts). */
  connection: KubeConnection;
  config: OperatorConfig;
  logger: Logger;
  clock?: Clock;
  /** Leader-election identity; defaults to hostname + pid. */
  identity?: string;
  /** Serve /healthz, /readyz, /metrics (default true). */
  http?: boolean;
  /** Called when this instance loses leadership; production exits so Kubernetes restarts it. */
  onLostLeadership?: (reason: string) => void;
  /** The operator's version, for `tenant_operator_build_info` (main.ts reads package.json). */
  version?: string;
}

export class Operator {
  readonly ctx: OperatorContext;
  readonly metrics: OperatorMetrics;
  readonly identity: string;
  readonly #options: OperatorOptions;
  readonly #queue: WorkQueue;
  readonly #windowQueue: WorkQueue;
  readonly #policyQueue: WorkQueue;
  readonly #accessQueue: WorkQueue;
  /** AccessRequests and the RoleBindings they granted (src/access/). */
  readonly #access: { requests: Informer; roleBindings: Informer };
  readonly #controllers: Controller[];
  /** The Azure step, for the subscription check (start of leadership, then every 5 minutes). */
  readonly #azureStep: TenantAzureStep | undefined;
  #subscriptionCheck: ReturnType<typeof setInterval> | undefined;
  readonly #elector: LeaderElector | undefined;
  /** Unfenced: discovery and caches, on every replica. */
  readonly #reader: KubeClient;
  #server: Server | undefined;
  readonly #makeInformer: (resource: ResourceType, labelSelector?: string) => Informer;
  #electionDone: Promise<void> | undefined;
  #leading = false;

  constructor(options: OperatorOptions) {
    this.#options = options;
    const { connection, config, logger } = options;
    const clock = options.clock ?? systemClock;
    this.identity = options.identity ?? `${hostname()}-${process.pid}`;
    this.metrics = new OperatorMetrics({ build: { version: options.version ?? 'unknown' } });
    const metrics = this.metrics;
    metrics.initialize(metrics.reconcileTotal, labelCombinations({ controller: CONTROLLERS, outcome: RECONCILE_OUTCOMES }));
    metrics.initialize(metrics.retriesTotal, labelCombinations({ controller: CONTROLLERS }));
    // Caches and the elector read and renew on every replica; everything the controllers send goes
    // through `writer`, fenced by leadership (runtime/leader.ts): nothing leaves after a term ends.
    const client = new KubeClient(connection, { userAgent: `tenant-operator/${this.identity}` });
    // Every write either client sends, whoever sends it (applier, status, finalizers, Events, Lease).
    client.onWrite = ({ verb, resource, subresource, status }) =>
      metrics.kubernetesWrites.inc({ verb, resource, subresource, result: status >= 200 && status < 300 ? 'ok' : 'error' });
    const writer = client.fenced(() => this.#fence());
    this.#reader = client;
    const applier = new Applier(writer);
    const informerOptions = (resource: ResourceType, labelSelector?: string): InformerOptions => {
      metrics.initialize(
        metrics.informerRestarts,
        labelCombinations({ resource: [resource.plural], reason: INFORMER_RESTART_REASONS }),
      );
      return {
        resyncMs: config.resyncPeriodSeconds * 1000,
        ...(labelSelector ? { labelSelector } : {}),
        onRestart: (reason) => metrics.informerRestarts.inc({ resource: resource.plural, reason }),
      };
    };
    const informer = (resource: ResourceType, labelSelector?: string) =>
      new Informer(client, resource, logger, informerOptions(resource, labelSelector));
    const caches: Caches = {
      tenants: informer(RESOURCES.Tenant),
      backupPolicies: informer(RESOURCES.BackupPolicy),
      maintenanceWindows: informer(RESOURCES.MaintenanceWindow),
      namespaces: informer(RESOURCES.Namespace, MANAGED_SELECTOR),
      // Filled at start(), once discovery has said which optional kinds the cluster serves.
      owned: new Map(),
    };
    this.#makeInformer = informer;
    registerTenantMetrics(metrics.registry, caches, config);
    registerEncryptionKeyMetrics(metrics.registry, () => caches.tenants.list());
    registerUptimeMetrics(metrics.registry, caches, config, clock);
    this.ctx = {
      client: writer,
      applier,
      caches,
      config,
      clock,
      logger,
      metrics: this.metrics,
      recorder: new EventRecorder(writer, 'tenant-operator', clock, logger),
    };
    const steps: TenantSteps = {};
    let azureClients: AzureClients | undefined;
    if (config.azure) {
      metrics.initialize(metrics.azureThrottled, labelCombinations({ service: AZURE_SERVICES }));
      const clients = createAzureClientsFromConfig(config.azure, (service, method, status) => {
        const statusClass = status === 0 ? 'error' : status === 429 ? '429' : `${Math.floor(status / 100)}xx`;
        this.metrics.azureRequests.inc({ service, method, status: statusClass });
        if (status === 429) this.metrics.azureThrottled.inc({ service });
      });
      // ARM requests carry the leadership term too: nothing reaches Azure after a term ends.
      steps.azure = new TenantAzureStep(this.ctx, config.azure, clients, () => this.#fence());
      steps.backup = new TenantBackup(this.ctx, clients, { fence: () => this.#fence() });
      steps.database = new TenantDatabaseAccess(this.ctx, sqlDataPlaneOptionsOf(clients, config.azure.sqlDataPlane), {
        fence: () => this.#fence(),
      });
      azureClients = clients;
      this.#azureStep = steps.azure;
    } else {
      logger.warn('no Azure configuration: tenants get Kubernetes objects only, and no front door without a WAF policy');
    }
    const hooks = {
      onReconciled: (controller: string, outcome: string, seconds: number) => {
        this.metrics.reconcileTotal.inc({ controller, outcome });
        this.metrics.reconcileDuration.observe({ controller }, seconds);
      },
      onRetry: (controller: string) => this.metrics.retriesTotal.inc({ controller }),
    };
    const queueFor = (controller: string) =>
      new WorkQueue({ onDepthChange: (depth) => this.metrics.queueDepth.set({ controller }, depth) });
    this.#queue = queueFor('tenant');
    this.#windowQueue = queueFor('maintenancewindow');
    this.#policyQueue = queueFor('backuppolicy');
    this.#accessQueue = queueFor('accessrequest');
    this.#access = {
      requests: informer(RESOURCES.AccessRequest),
      roleBindings: informer(RESOURCES.RoleBinding, ACCESS_REQUEST_LABEL),
    };
    const accessReconciler = new AccessRequestReconciler(this.ctx, {
      accessRequests: this.#access.requests,
      roleBindings: this.#access.roleBindings,
      metrics: new AccessMetrics(this.metrics.registry),
      arm: azureClients && config.azure ? armClientOf(azureClients, config.azure, () => this.#fence()) : undefined,
    });
    this.#controllers = [
      new Controller('tenant', new TenantReconciler(this.ctx, steps), this.#queue, {
        concurrency: config.concurrency,
        logger,
        hooks: {
          ...hooks,
          // A tenant's own status write reaches the cache through observe(), which fires no event:
          // the policies' counts (coalesced) are looked at after every tenant reconcile instead.
          onReconciled: (controller: string, outcome: string, seconds: number) => {
            hooks.onReconciled(controller, outcome, seconds);
            this.#queueCounters(this.ctx.caches);
          },
        },
      }),
      new Controller('maintenancewindow', new MaintenanceWindowReconciler(this.ctx), this.#windowQueue, {
        concurrency: 1,
        logger,
        hooks,
      }),
      new Controller('backuppolicy', new BackupPolicyReconciler(this.ctx), this.#policyQueue, { concurrency: 1, logger, hooks }),
      new Controller('accessrequest', accessReconciler, this.#accessQueue, { concurrency: 2, logger, hooks }),
    ];
    this.#wireEvents(caches);
    const le = config.leaderElection;
    if (le.enabled) {
      this.#elector = new LeaderElector(
        client,
        {
          namespace: le.namespace,
          name: le.leaseName,
          identity: this.identity,
          leaseDurationMs: le.leaseDurationSeconds * 1000,
          renewDeadlineMs: le.renewDeadlineSeconds * 1000,
          retryPeriodMs: le.retryPeriodSeconds * 1000,
        },
        logger,
        (leading) => this.metrics.leader.set(leading ? 1 : 0),
      );
    }
  }

  get isLeader(): boolean {
    return this.#leading;
  }

  /** The signal the controllers' requests carry: the elector's term, or never aborted without election. */
  #fence(): AbortSignal {
    return this.#elector ? this.#elector.signal : NEVER_ABORTED;
  }

  get synced(): boolean {
    return this.#allCaches().every((c) => c.hasSynced);
  }

  #allCaches(): Informer[] {
    const { tenants, backupPolicies, maintenanceWindows, namespaces, owned } = this.ctx.caches;
    return [
      tenants,
      backupPolicies,
      maintenanceWindows,
      namespaces,
      this.#access.requests,
      this.#access.roleBindings,
      ...owned.values(),
    ];
  }

  /**
   * Every Tenant event but a status-only update, and every event on an object the operator owns,
   * queues that tenant.
   */
  #wireEvents(caches: Caches): void {
    // A status-only update is almost always the operator's own status write: reconciling again
    // for it would repeat every read (Azure included) to find nothing to do. What a reconcile acts
    // on is the spec (generation) and metadata: deletion, finalizers, labels and annotations (the
    // emergency-override annotation among them). controller-runtime's GenerationChangedPredicate
    // plus annotation and label predicates, in one.
    const triggers = new Map<string, string>();
    const trigger = (obj: KubeObject) => {
      const m = obj.metadata;
      return JSON.stringify([m.generation, m.deletionTimestamp, m.finalizers, m.labels, m.annotations]);
    };
    caches.tenants.on((type, obj) => {
      const name = obj.metadata.name;
      if (type === 'delete') triggers.delete(name);
      else {
        const signature = trigger(obj);
        const statusOnly = type === 'update' && triggers.get(name) === signature;
        triggers.set(name, signature);
        if (statusOnly) return this.#queueCounters(caches);
      }
      // A change someone just made (spec, deletion, annotations) goes ahead of everything else,
      // even of tenants whose creation is under way: its author is waiting for it.
      this.#queue.add(name, { lane: type === 'update' ? 'change' : 'normal' });
      this.#queueCounters(caches);
    });
    caches.maintenanceWindows.on((_type, obj) => this.#windowQueue.add(obj.metadata.name));
    caches.backupPolicies.on((_type, obj) => this.#policyQueue.add(obj.metadata.name));
    caches.namespaces.on(this.#queueOwner);
    // Only a spec change (a new generation), a new or a deleted policy concerns its tenants: the
    // policies' own status writes (counts, drill results) must not re-queue the whole fleet.
    const referencing = (field: 'backupPolicyRef' | 'maintenanceWindowRef', fallback: string) => {
      const seen = new Map<string, number | undefined>();
      return (type: string, obj: KubeObject) => {
        const name = obj.metadata.name;
        if (type === 'resync') return;
        if (type === 'update' && seen.get(name) === obj.metadata.generation) return;
        if (type === 'delete') seen.delete(name);
        else seen.set(name, obj.metadata.generation);
        for (const tenant of caches.tenants.list()) {
          const ref = (tenant.spec as Record<string, { name?: string } | undefined> | undefined)?.[field]?.name ?? fallback;
          if (ref === name) this.#queue.add(tenant.metadata.name);
        }
      };
    };
    caches.backupPolicies.on(referencing('backupPolicyRef', this.ctx.config.defaultBackupPolicy));
    caches.maintenanceWindows.on(referencing('maintenanceWindowRef', this.ctx.config.defaultMaintenanceWindow));
    this.#wireAccessEvents();
  }

  /**
   * Every AccessRequest event but its own status writes queues it; a change to a RoleBinding it
   * granted (deleted, edited, or left behind by a deleted request) queues the request it names.
   */
  #wireAccessEvents(): void {
    const signatures = new Map<string, string>();
    this.#access.requests.on((type, obj) => {
      const name = obj.metadata.name;
      const m = obj.metadata;
      const signature = JSON.stringify([m.generation, m.deletionTimestamp, m.finalizers, m.labels, m.annotations]);
      if (type === 'delete') signatures.delete(name);
      else {
        const statusOnly = type === 'update' && signatures.get(name) === signature;
        signatures.set(name, signature);
        if (statusOnly) return;
      }
      // An approval or a revocation someone just made goes ahead of periodic resyncs.
      this.#accessQueue.add(name, { urgent: type === 'update' });
    });
    this.#access.roleBindings.on((type, obj) => {
      const request = obj.metadata.labels?.[ACCESS_REQUEST_LABEL];
      if (request) this.#accessQueue.add(request, { urgent: type === 'delete' });
    });
  }

  /**
   * Window and policy statuses count their tenants, by status too: any tenant change may move a
   * count. Coalesced over a second, so a fleet that changes at once (a mass onboarding, a restart)
   * costs a status write per policy per second rather than one per tenant event.
   */
  #queueCounters(caches: Caches): void {
    for (const mw of caches.maintenanceWindows.list()) this.#windowQueue.addAfter(mw.metadata.name, COUNTS_COALESCE_MS);
    for (const bp of caches.backupPolicies.list()) this.#policyQueue.addAfter(bp.metadata.name, COUNTS_COALESCE_MS);
  }

  /**
   * Queues the tenant that owns an object, unless the event is the operator's own apply arriving
   * by watch before the write's answer did (observe() drops it when the answer comes first): only
   * the operator sets the desired-state hash annotation, so an object that appears with it, or an
   * update that moves it, is the operator's own write. Anyone else's edit leaves the hash alone,
   * a deletion always counts, and both are reconciled (drift is repaired).
   */
  readonly #queueOwner = (type: string, obj: KubeObject, previous?: KubeObject): void => {
    const hash = (o: KubeObject | undefined) => o?.metadata.annotations?.[DESIRED_HASH_ANNOTATION];
    if (type === 'delete') this.ctx.applier.noteDeletion(obj);
    const ours = hash(obj) !== undefined && (type === 'add' || (type === 'update' && hash(previous) !== hash(obj)));
    if (ours) return;
    const tenant = obj.metadata.labels?.[TENANT_LABEL];
    // Progress of a tenant already being worked on (urgent), unless it is a periodic resync.
    if (tenant) this.#queue.add(tenant, { urgent: type !== 'resync' });
  };

  /**
   * One cache per owned kind the cluster serves. Optional kinds (Gateway API, Secrets Store CSI,
   * the WAF policy of Application Gateway for Containers) are looked up in discovery; a kind the
   * cluster lacks gets no cache, and the reconciler reports it in a condition instead of failing.
   */
  async #startOwnedCaches(): Promise<void> {
    const { caches, logger } = this.ctx;
    const client = this.#reader;
    for (const kind of OWNED_NAMESPACED_KINDS) {
      const type = RESOURCES[kind];
      if (OPTIONAL_KINDS.includes(kind) && !(await serves(client, type))) {
        logger.warn('kind not served by this cluster; tenants will report it', { kind, apiVersion: type.apiVersion });
        continue;
      }
      const cache = this.#makeInformer(type, MANAGED_SELECTOR);
      cache.on(this.#queueOwner);
      caches.owned.set(kind, cache);
    }
    await Promise.all([...caches.owned.values()].map((c) => c.start()));
  }

  /**
   * Starts caches (every replica keeps warm caches, so a failover is quick), the HTTP endpoints,
   * and — once elected, or at once without leader election — the controllers.
   */
  async start(): Promise<void> {
    const { config, logger } = this.ctx;
    if (this.#options.http ?? true) {
      this.#server = await startHttpServer({
        host: config.http.host,
        port: config.http.port,
        registry: this.metrics.registry,
        probes: { healthy: () => true, ready: () => this.synced },
      });
    }
    const { tenants, backupPolicies, maintenanceWindows, namespaces } = this.ctx.caches;
    await Promise.all(
      [tenants, backupPolicies, maintenanceWindows, namespaces, this.#access.requests, this.#access.roleBindings].map((c) =>
        c.start(),
      ),
    );
    await this.#startOwnedCaches();
    logger.info('caches synced', { identity: this.identity });
    if (!this.#elector) {
      this.#startLeading();
      return;
    }
    this.#electionDone = this.#campaign(this.#elector);
  }

  /**
   * Campaigns, leads, and — after losing the lease — stops reconciling at once. In production
   * `onLostLeadership` exits the process (a fresh replica campaigns); without it the operator
   * campaigns again and, once re-elected, re-queues everything it caches.
   */
  async #campaign(elector: LeaderElector): Promise<void> {
    let stopped = false;
    let stopping: Promise<unknown> = Promise.resolve();
    while (!stopped) {
      await elector.run(
        () => this.#startLeading(),
        (reason) => {
          this.#leading = false;
          stopping = Promise.all(this.#controllers.map((c) => c.stop()));
          if (reason === 'stopped') stopped = true;
          else if (this.#options.onLostLeadership) {
            stopped = true;
            this.#options.onLostLeadership(reason);
          }
        },
      );
      // Reconciles in flight finish before this replica may lead again.
      await stopping;
      if (elector.stopped) stopped = true;
    }
  }

  #startLeading(): void {
    this.#leading = true;
    // Placement subscriptions: one that does not exist or cannot be read is reported now (log and
    // tenant_operator_subscription_readable), and their capacity metrics are refreshed on a slow
    // timer, never per reconcile.
    const azureStep = this.#azureStep;
    if (azureStep) {
      const check = () => void azureStep.checkSubscriptions().catch(() => {});
      check();
      clearInterval(this.#subscriptionCheck);
      this.#subscriptionCheck = setInterval(() => (this.#leading ? check() : undefined), 300_000);
      this.#subscriptionCheck.unref?.();
    }
    for (const controller of this.#controllers) controller.start();
    // Whatever changed while another replica (or nobody) led is looked at again.
    for (const t of this.ctx.caches.tenants.list()) this.#queue.add(t.metadata.name);
    for (const mw of this.ctx.caches.maintenanceWindows.list()) this.#windowQueue.add(mw.metadata.name);
    for (const bp of this.ctx.caches.backupPolicies.list()) this.#policyQueue.add(bp.metadata.name);
    // Grants that expired while nobody led are removed first thing, and so are grants whose
    // AccessRequest is gone (the RoleBinding's label names it; the reconciler finds no request).
    for (const ar of this.#access.requests.list()) this.#accessQueue.add(ar.metadata.name, { urgent: true });
    for (const rb of this.#access.roleBindings.list()) {
      const request = rb.metadata.labels?.[ACCESS_REQUEST_LABEL];
      if (request) this.#accessQueue.add(request, { urgent: true });
    }
  }

  /** Graceful shutdown: stop taking work, finish reconciles in flight, release the lease. */
  async stop(): Promise<void> {
    clearInterval(this.#subscriptionCheck);
    await Promise.all(this.#controllers.map((c) => c.stop()));
    this.#leading = false;
    this.#elector?.stop();
    await this.#electionDone;
    for (const cache of this.#allCaches()) cache.stop();
    await new Promise<void>((resolve) => (this.#server ? this.#server.close(() => resolve()) : resolve()));
  }

  /** The port the HTTP server listens on (useful when configured as 0). */
  get httpPort(): number | undefined {
    const address = this.#server?.address();
    return typeof address === 'object' && address ? address.port : undefined;
  }
}

/** Whether the API server serves `type` (discovery of its group version). */
async function serves(client: KubeClient, type: ResourceType): Promise<boolean> {
  try {
    const list = await client.request<{ resources?: { name: string }[] }>('GET', `/apis/${type.apiVersion}`);
    return list.resources?.some((r) => r.name === type.plural) ?? false;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}
