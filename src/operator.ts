/**
 * Assembles one operator instance: caches, queue, controllers, HTTP endpoints and leader
 * election, all from an injected KubeConfig, configuration, clock and logger. main.ts calls it
 * for production; tests start several in one process.
 */

import type { Server } from 'node:http';
import { hostname } from 'node:os';
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'winston';
import type { OperatorConfig } from './config.ts';
import type { Caches, OperatorContext } from './context.ts';
import { EventRecorder } from './observability/events.ts';
import { startHttpServer } from './observability/http-server.ts';
import { OperatorMetrics } from './observability/metrics.ts';
import { Applier } from './runtime/apply.ts';
import { type Clock, systemClock } from './runtime/clock.ts';
import { Controller } from './runtime/controller.ts';
import { Informer, type InformerOptions } from './runtime/informer.ts';
import { KubeClient, type KubeObject, type ResourceType } from './runtime/kube-client.ts';
import { LeaderElector } from './runtime/leader.ts';
import { WorkQueue } from './runtime/queue.ts';
import { RESOURCES } from './runtime/resources.ts';
import { MANAGED_SELECTOR, TENANT_LABEL } from './tenant/labels.ts';
import { TenantReconciler } from './tenant/reconciler.ts';

export interface OperatorOptions {
  kubeConfig: KubeConfig;
  config: OperatorConfig;
  logger: Logger;
  clock?: Clock;
  /** Leader-election identity; defaults to hostname + pid. */
  identity?: string;
  /** Serve /healthz, /readyz, /metrics (default true). */
  http?: boolean;
  /** Called when this instance loses leadership; production exits so Kubernetes restarts it. */
  onLostLeadership?: (reason: string) => void;
}

export class Operator {
  readonly ctx: OperatorContext;
  readonly metrics: OperatorMetrics;
  readonly identity: string;
  readonly #options: OperatorOptions;
  readonly #queue: WorkQueue;
  readonly #controller: Controller;
  readonly #elector: LeaderElector | undefined;
  #server: Server | undefined;
  #electionDone: Promise<void> | undefined;
  #leading = false;

  constructor(options: OperatorOptions) {
    this.#options = options;
    const { kubeConfig, config, logger } = options;
    const clock = options.clock ?? systemClock;
    this.identity = options.identity ?? `${hostname()}-${process.pid}`;
    this.metrics = new OperatorMetrics();
    const client = new KubeClient(kubeConfig);
    const applier = new Applier(client, ({ verb, object, error }) =>
      this.metrics.kubernetesWrites.inc({ verb, kind: object.kind, result: error ? 'error' : 'ok' }),
    );
    const informerOptions = (resource: ResourceType, labelSelector?: string): InformerOptions => ({
      resyncMs: config.resyncPeriodSeconds * 1000,
      ...(labelSelector ? { labelSelector } : {}),
      onRestart: (reason) => this.metrics.informerRestarts.inc({ resource: resource.plural, reason }),
    });
    const informer = (resource: ResourceType, labelSelector?: string) =>
      new Informer(client, resource, logger, informerOptions(resource, labelSelector));
    const caches: Caches = {
      tenants: informer(RESOURCES.Tenant),
      backupPolicies: informer(RESOURCES.BackupPolicy),
      maintenanceWindows: informer(RESOURCES.MaintenanceWindow),
      namespaces: informer(RESOURCES.Namespace, MANAGED_SELECTOR),
      resourceQuotas: informer(RESOURCES.ResourceQuota, MANAGED_SELECTOR),
      limitRanges: informer(RESOURCES.LimitRange, MANAGED_SELECTOR),
      networkPolicies: informer(RESOURCES.NetworkPolicy, MANAGED_SELECTOR),
    };
    this.ctx = {
      client,
      applier,
      caches,
      config,
      clock,
      logger,
      metrics: this.metrics,
      recorder: new EventRecorder(client, 'tenant-operator', clock, logger),
    };
    this.#queue = new WorkQueue({ onDepthChange: (depth) => this.metrics.queueDepth.set({ controller: 'tenant' }, depth) });
    this.#controller = new Controller('tenant', new TenantReconciler(this.ctx), this.#queue, {
      concurrency: config.concurrency,
      logger,
      hooks: {
        onReconciled: (controller, outcome, seconds) => {
          this.metrics.reconcileTotal.inc({ controller, outcome });
          this.metrics.reconcileDuration.observe({ controller }, seconds);
        },
        onRetry: (controller) => this.metrics.retriesTotal.inc({ controller }),
      },
    });
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

  get synced(): boolean {
    return Object.values(this.ctx.caches).every((c) => c.hasSynced);
  }

  /** Every Tenant event, and every event on an object the operator owns, queues that tenant. */
  #wireEvents(caches: Caches): void {
    caches.tenants.on((_type, obj) => this.#queue.add(obj.metadata.name));
    const owned = (_type: string, obj: KubeObject) => {
      const tenant = obj.metadata.labels?.[TENANT_LABEL];
      if (tenant) this.#queue.add(tenant);
    };
    for (const cache of [caches.namespaces, caches.resourceQuotas, caches.limitRanges, caches.networkPolicies]) cache.on(owned);
    const referencing =
      (field: 'backupPolicyRef' | 'maintenanceWindowRef', fallback: string) => (_type: string, obj: KubeObject) => {
        for (const tenant of caches.tenants.list()) {
          const ref = (tenant.spec as Record<string, { name?: string } | undefined> | undefined)?.[field]?.name ?? fallback;
          if (ref === obj.metadata.name) this.#queue.add(tenant.metadata.name);
        }
      };
    caches.backupPolicies.on(referencing('backupPolicyRef', this.ctx.config.defaultBackupPolicy));
    caches.maintenanceWindows.on(referencing('maintenanceWindowRef', this.ctx.config.defaultMaintenanceWindow));
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
    await Promise.all(Object.values(this.ctx.caches).map((c) => c.start()));
    logger.info('caches synced', { identity: this.identity });
    if (!this.#elector) {
      this.#startLeading();
      return;
    }
    this.#electionDone = this.#elector.run(
      () => this.#startLeading(),
      (reason) => {
        this.#leading = false;
        void this.#controller.stop();
        if (reason !== 'stopped') this.#options.onLostLeadership?.(reason);
      },
    );
  }

  #startLeading(): void {
    this.#leading = true;
    this.#controller.start();
  }

  /** Graceful shutdown: stop taking work, finish reconciles in flight, release the lease. */
  async stop(): Promise<void> {
    await this.#controller.stop();
    this.#leading = false;
    this.#elector?.stop();
    await this.#electionDone;
    for (const cache of Object.values(this.ctx.caches)) cache.stop();
    await new Promise<void>((resolve) => (this.#server ? this.#server.close(() => resolve()) : resolve()));
  }

  /** The port the HTTP server listens on (useful when configured as 0). */
  get httpPort(): number | undefined {
    const address = this.#server?.address();
    return typeof address === 'object' && address ? address.port : undefined;
  }
}
