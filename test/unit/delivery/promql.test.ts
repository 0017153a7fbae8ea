/** The metric-name extraction the dashboard and alert checks rely on, on expressions of each shape they use. */
import { describe, expect, test } from '@jest/globals';
import { exportedNames, metricNames } from './promql.ts';

describe('metricNames', () => {
  test.each([
    ['max(tenant_operator_leader) < 1', ['tenant_operator_leader']],
    ['absent(up{job=~".*tenant-operator.*"} == 1)', ['up']],
    [
      'histogram_quantile(0.95, sum by (le, controller) (rate(tenant_operator_reconcile_duration_seconds_bucket[$__rate_interval])))',
      ['tenant_operator_reconcile_duration_seconds_bucket'],
    ],
    ['sum by (controller) (a_depth * on (instance) group_left () b_leader)', ['a_depth', 'b_leader']],
    ['count((x > y) and on (tenant) z{tier=~"$tier", region=~"$region"}) or vector(0)', ['x', 'y', 'z']],
    ['time() - max by (tenant) (ts_seconds) > 1e3 unless on (tenant) other offset 1h', ['ts_seconds', 'other']],
    ['label_values(tenant_operator_tenant_condition, tier)', ['tenant_operator_tenant_condition']],
  ])('%s', (expr, names) => {
    expect(metricNames(expr)).toEqual(names);
  });
});

describe('exportedNames', () => {
  test('counts HELP and TYPE lines without samples, and a histogram’s series', () => {
    const names = exportedNames(
      [
        '# HELP a_total A counter.',
        '# TYPE a_total counter',
        '# HELP h_seconds A histogram.',
        '# TYPE h_seconds histogram',
        'g{x="1"} 2',
      ].join('\n'),
    );
    expect([...names].sort()).toEqual(['a_total', 'g', 'h_seconds', 'h_seconds_bucket', 'h_seconds_count', 'h_seconds_sum']);
  });
});
