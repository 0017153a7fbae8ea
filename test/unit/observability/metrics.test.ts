import { describe, expect, test } from '@jest/globals';
import { labelCombinations, OperatorMetrics } from '../../../src/observability/metrics.ts';

describe('OperatorMetrics', () => {
  test('label values are bounded: no metric has a label that could carry an error message', () => {
    const m = new OperatorMetrics({ defaultMetrics: false });
    const labels = m.registry
      .getMetricsAsArray()
      .flatMap((metric) => (metric as unknown as { labelNames: string[] }).labelNames ?? []);
    expect(new Set(labels)).toEqual(
      new Set([
        'version',
        'node_version',
        'controller',
        'outcome',
        'resource',
        'subresource',
        'reason',
        'verb',
        'result',
        'service',
        'source',
        'method',
        'status',
        'window',
        // drift_repaired_total: a Kubernetes kind or an Azure resource label, never free text.
        'kind',
        // subscription_usage/limit/readable: configured subscription ids, their regions, three quotas.
        'subscription',
        'region',
        'quota',
        // kubernetes_steps_reused_total: isolation or application.
        'step',
        // status_changes_total: a status field or condition type of the schema, never a value.
        'changed',
      ]),
    );
  });

  test('knows nothing of tenants: every per-tenant series comes from src/tenant/metrics.ts', () => {
    const m = new OperatorMetrics({ defaultMetrics: false });
    const names = m.registry.getMetricsAsArray().map((metric) => (metric as unknown as { name: string }).name);
    expect(names.filter((n) => /tenant_(info|condition|stalled)|backup_|restore_drill|pending_changes/.test(n))).toEqual([]);
  });

  test('build_info names the version and the Node.js that runs it', async () => {
    const m = new OperatorMetrics({ defaultMetrics: false, build: { version: '1.2.3' } });
    expect(await m.registry.metrics()).toContain(
      `tenant_operator_build_info{version="1.2.3",node_version="${process.version}"} 1`,
    );
  });

  test('initialize starts counters at 0 for every known label combination, so rates are 0 and not absent', async () => {
    const m = new OperatorMetrics({ defaultMetrics: false });
    m.initialize(m.reconcileTotal, labelCombinations({ controller: ['tenant', 'backuppolicy'], outcome: ['success', 'error'] }));
    const lines = (await m.registry.metrics()).split('\n').filter((l) => l.startsWith('tenant_operator_reconcile_total{'));
    expect(lines.sort()).toEqual([
      'tenant_operator_reconcile_total{controller="backuppolicy",outcome="error"} 0',
      'tenant_operator_reconcile_total{controller="backuppolicy",outcome="success"} 0',
      'tenant_operator_reconcile_total{controller="tenant",outcome="error"} 0',
      'tenant_operator_reconcile_total{controller="tenant",outcome="success"} 0',
    ]);
  });
});
