/**
 * The Grafana dashboard and the alert rules read only metrics that a running operator exports
 * (scraped from its /metrics), and every dashboard query is valid PromQL for promtool.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { stringify } from 'yaml';
import type { Operator } from '../../../src/operator.ts';
import { sharedControlPlane, startOperator } from '../../harness/fixtures.ts';
import {
  alertRules,
  asPromql,
  dashboardQueries,
  dashboardVariableMetrics,
  exportedNames,
  metricNames,
  type Query,
  sloRecordedNames,
} from '../../unit/delivery/promql.ts';
import { run, scratch } from '../../unit/delivery/tools.ts';

/** Series Prometheus itself records about each scrape target, not the operator. */
const SCRAPE_SERIES = new Set(['up']);

const info = sharedControlPlane();
const { dir } = scratch('observability');
let operator: Operator;
let exported: Set<string>;

beforeAll(async () => {
  operator = await startOperator({ info, leaseName: `observability-${Math.random().toString(36).slice(2, 8)}` });
  const response = await fetch(`http://127.0.0.1:${operator.httpPort}/metrics`);
  expect(response.status).toBe(200);
  exported = exportedNames(await response.text());
});

afterAll(async () => {
  await operator?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** `where: name` for every metric a query reads that the operator does not export. */
function unknownMetrics(queries: Query[], allowed: Set<string> = new Set()): string[] {
  return queries.flatMap((q) =>
    metricNames(q.expr)
      .filter((name) => !exported.has(name) && !allowed.has(name))
      .map((name) => `${q.where}: ${name}`),
  );
}

describe('the Grafana dashboard', () => {
  const queries = dashboardQueries();

  test('covers the fleet, reconciles, Azure, backups and maintenance with enough queries to matter', () => {
    const read = new Set(queries.flatMap((q) => metricNames(q.expr)));
    for (const name of [
      'tenant_operator_tenant_info',
      'tenant_operator_tenant_condition',
      'tenant_operator_tenant_stalled',
      'tenant_operator_reconcile_total',
      'tenant_operator_reconcile_duration_seconds_bucket',
      'tenant_operator_queue_depth',
      'tenant_operator_informer_restarts_total',
      'tenant_operator_azure_requests_total',
      'tenant_operator_azure_throttled_total',
      'tenant_operator_backup_newest_restore_point_timestamp_seconds',
      'tenant_operator_backup_rpo_seconds',
      'tenant_operator_restore_drill_last_success',
      'tenant_operator_restore_drill_last_duration_seconds',
      'tenant_operator_maintenance_pending_changes',
      'tenant_operator_maintenance_next_window_timestamp_seconds',
      'tenant_operator_kubernetes_writes_total',
    ])
      expect([name, read.has(name)]).toEqual([name, true]);
  });

  test('reads only metrics the running operator exports', () => {
    expect(exported.has('tenant_operator_reconcile_total')).toBe(true);
    // Besides the operator's metrics, the uptime panels read what config/prometheus/slo-rules.yaml records.
    expect(unknownMetrics([...queries, ...dashboardVariableMetrics()], sloRecordedNames())).toEqual([]);
  });

  test('every query is valid PromQL (promtool check rules)', () => {
    const file = join(dir, 'dashboard-rules.yaml');
    const rules = queries.map((q, i) => ({ record: `dashboard:query_${i}`, expr: asPromql(q.expr) }));
    for (const r of rules) expect(r.expr).not.toContain('$');
    writeFileSync(file, stringify({ groups: [{ name: 'dashboard', rules }] }));
    expect(run('promtool', ['check', 'rules', file])).toContain(`SUCCESS: ${rules.length} rules found`);
  });
});

describe('the alert rules', () => {
  test('read only metrics the running operator exports, and the scrape’s own `up`', () => {
    const queries = alertRules().map((r) => ({ where: r.alert, expr: r.expr }));
    expect(unknownMetrics(queries, SCRAPE_SERIES)).toEqual([]);
  });
});
