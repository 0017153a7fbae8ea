/**
 * What a reconciler needs, carried in one object: clients, caches, clock, configuration,
 * logger, metrics, events. No module-level singletons, so tests swap any of them.
 */
import type { Logger } from 'winston';
import type { OperatorConfig } from './config.ts';
import type { EventRecorder } from './observability/events.ts';
import type { OperatorMetrics } from './observability/metrics.ts';
import type { Applier } from './runtime/apply.ts';
import type { Clock } from './runtime/clock.ts';
import type { Informer } from './runtime/informer.ts';
import type { KubeClient } from './runtime/kube-client.ts';

export interface Caches {
  tenants: Informer;
  backupPolicies: Informer;
  maintenanceWindows: Informer;
  namespaces: Informer;
  resourceQuotas: Informer;
  limitRanges: Informer;
  networkPolicies: Informer;
}

export interface OperatorContext {
  client: KubeClient;
  applier: Applier;
  caches: Caches;
  config: OperatorConfig;
  clock: Clock;
  logger: Logger;
  metrics: OperatorMetrics;
  recorder: EventRecorder;
}
