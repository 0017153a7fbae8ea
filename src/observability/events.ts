/**
 * The audit trail: every change the operator makes produces one structured audit log line
 * (who asked: the object and its generation; what changed; the result) and, for changes worth a
 * person's attention, a Kubernetes Event on the object (`kubectl describe` shows it).
 * Cluster-scoped objects' events go to the `default` namespace, as kubectl expects.
 */
import type { Logger } from 'winston';
import type { Clock } from '../runtime/clock.ts';
import type { KubeClient, KubeObject } from '../runtime/kube-client.ts';
import { redact } from './logger.ts';

export interface AuditEntry {
  /** The object on whose behalf the change is made. */
  subject: { kind: string; name: string; generation?: number };
  /** What was done, e.g. "apply NetworkPolicy tenant-acme-prod/default-deny". */
  action: string;
  result: 'ok' | 'error';
  detail?: string;
}

export class EventRecorder {
  readonly client: KubeClient | undefined;
  readonly component: string;
  readonly clock: Clock;
  readonly logger: Logger;

  constructor(client: KubeClient | undefined, component: string, clock: Clock, logger: Logger) {
    this.client = client;
    this.component = component;
    this.clock = clock;
    this.logger = logger;
  }

  /** Writes the audit line; never throws. */
  audit(entry: AuditEntry): void {
    // Redaction scans every string: not for a line the configured level drops anyway.
    if (!this.logger.isInfoEnabled()) return;
    this.logger.info('audit', redact({ audit: true, ...entry }) as object);
  }

  /** Emits a Kubernetes Event on `obj`; failures are logged, never thrown (events are best effort). */
  async event(obj: KubeObject, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void> {
    if (!this.client) return;
    const now = this.clock.now().toISOString();
    const { name, namespace: objectNamespace, uid } = obj.metadata;
    const namespace = objectNamespace ?? 'default';
    try {
      await this.client.request('POST', `/api/v1/namespaces/${namespace}/events`, {
        body: {
          apiVersion: 'v1',
          kind: 'Event',
          metadata: { generateName: `${name}.`, namespace },
          involvedObject: { apiVersion: obj.apiVersion, kind: obj.kind, name, uid, namespace: objectNamespace },
          reason,
          message: String(redact(message)),
          type,
          source: { component: this.component },
          firstTimestamp: now,
          lastTimestamp: now,
          count: 1,
          reportingComponent: this.component,
        },
      });
    } catch (err) {
      this.logger.warn('cannot record event', { reason, error: (err as Error).message });
    }
  }
}
