import { describe, expect, test } from '@jest/globals';
import { OperatorMetrics } from '../../../src/observability/metrics.ts';

describe('OperatorMetrics', () => {
  test('forgetTenant removes every series of that tenant and keeps the others', async () => {
    const m = new OperatorMetrics({ defaultMetrics: false });
    m.tenantCondition.set({ tenant: 'acme', condition: 'Ready', tier: 'Small', region: 'westeurope' }, 1);
    m.tenantCondition.set({ tenant: 'other', condition: 'Ready', tier: 'Small', region: 'westeurope' }, 1);
    m.maintenancePendingChanges.set({ tenant: 'acme' }, 2);
    m.backupRpo.set({ tenant: 'acme' }, 7200);
    await m.forgetTenant('acme');
    const text = await m.registry.metrics();
    expect(text).not.toContain('tenant="acme"');
    expect(text).toContain('tenant="other"');
  });

  test('label values are bounded: no metric has a label that could carry an error message', () => {
    const m = new OperatorMetrics({ defaultMetrics: false });
    const labels = m.registry
      .getMetricsAsArray()
      .flatMap((metric) => (metric as unknown as { labelNames: string[] }).labelNames ?? []);
    expect(new Set(labels)).toEqual(
      new Set([
        'controller',
        'outcome',
        'resource',
        'reason',
        'verb',
        'kind',
        'result',
        'tenant',
        'condition',
        'tier',
        'region',
        'service',
        'source',
        'method',
        'status',
        'window',
      ]),
    );
  });
});
