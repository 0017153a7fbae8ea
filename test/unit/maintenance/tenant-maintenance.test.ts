/**
 * What status keeps of an emergency reason: a digest, never the text, including a status written
 * by a version that still stored the text; the audit line shows the reason redacted.
 */
import { Writable } from 'node:stream';
import { expect, test } from '@jest/globals';
import type { Tenant } from '../../../src/api/v1alpha1/tenant.ts';
import { parseConfig } from '../../../src/config.ts';
import type { GateDecision } from '../../../src/maintenance/gate.ts';
import { maintenanceStatus } from '../../../src/maintenance/tenant-maintenance.ts';
import { EventRecorder } from '../../../src/observability/events.ts';
import { createLogger } from '../../../src/observability/logger.ts';
import { OperatorMetrics } from '../../../src/observability/metrics.ts';
import { textDigest } from '../../../src/observability/redaction.ts';
import { ManualClock } from '../../../src/runtime/clock.ts';
import type { KubeObject } from '../../../src/runtime/kube-client.ts';

const SECRET = ['sec', 'ret=', 'Zq8vN3kLm2Xw7RtY'].join('');
const REASON = `INC-4711 rollback, ${SECRET}`;

function context() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  const clock = new ManualClock('2026-11-22T12:00:00Z');
  const logger = createLogger({ stream });
  return {
    lines,
    ctx: {
      clock,
      config: parseConfig({}),
      recorder: new EventRecorder(undefined, 'tenant-operator', clock, logger),
      metrics: new OperatorMetrics({ defaultMetrics: false }),
    },
  };
}

function tenant(annotation: string | undefined, emergencyApplied?: string): Tenant {
  return {
    apiVersion: 'tenancy.dev/v1alpha1',
    kind: 'Tenant',
    metadata: { name: 'acme', generation: 2, ...(annotation ? { annotations: { 'tenancy.dev/apply-now': annotation } } : {}) },
    spec: { environment: 'Development' },
    ...(emergencyApplied ? { status: { maintenance: { emergencyApplied } } } : {}),
  } as unknown as Tenant;
}

const gate = (reason: GateDecision['reason'], applying: string[] = []): GateDecision => ({
  effective: { image: 'app', version: '1.0.1', tier: 'Small' },
  pending: [],
  applying,
  reason,
  window: undefined,
  open: false,
});

test('an honoured emergency reason is recorded as its digest; the audit line shows it redacted', () => {
  const { ctx, lines } = context();
  const t = tenant(REASON);
  const status = maintenanceStatus(ctx, t, t as unknown as KubeObject, gate('EmergencyOverride', ['version 1.0.0 -> 1.0.1']));
  expect(status.emergencyApplied).toBe(textDigest(REASON));
  expect(lines.join('')).not.toContain('Zq8vN3kLm2Xw7RtY');
  expect(lines.join('')).toContain('INC-4711 rollback, secret=[REDACTED]');
});

test('a status that still holds a reason as text gets its digest instead', () => {
  const { ctx } = context();
  const t = tenant(undefined, REASON);
  const status = maintenanceStatus(ctx, t, t as unknown as KubeObject, gate('NoPendingChanges'));
  expect(status.emergencyApplied).toBe(textDigest(REASON));
});

test('a recorded digest is kept as it is', () => {
  const { ctx } = context();
  const t = tenant(REASON, textDigest(REASON));
  expect(maintenanceStatus(ctx, t, t as unknown as KubeObject, gate('NoPendingChanges')).emergencyApplied).toBe(
    textDigest(REASON),
  );
});
