/**
 * The uptime SLO rules of config/prometheus/slo-rules.yaml through promtool: they parse, every unit
 * test in slo-rules.test.yaml passes, each alert has a firing and a silent case, the burn rates and
 * windows are the SRE workbook's for a 99.9 % / 30-day objective, the rules read only what the
 * blackbox probes and the operator export, and the chart and kustomize ship them unchanged.
 */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from '@jest/globals';
import { parse as parseYaml } from 'yaml';
import { WINDOW_OPEN_METRIC } from '../../../src/uptime/metrics.ts';
import { UPTIME_JOB } from '../../../src/uptime/probe.ts';
import { REPO_ROOT } from '../../harness/control-plane.ts';
import { type AlertRule, metricNames, SLO_RULES_FILE, sloRecordedNames, sloRuleGroups } from './promql.ts';
import { CHART_DIR, find, helmTemplate, run, scratch } from './tools.ts';

const TESTS_FILE = join(REPO_ROOT, 'config', 'prometheus', 'slo-rules.test.yaml');
const groups = sloRuleGroups();
const rules = groups.flatMap((g) => g.rules);
const alerts = rules.filter((r): r is AlertRule => 'alert' in r);
const alert = (name: string) => alerts.find((a) => a.alert === name) as AlertRule;
const recorded = (name: string) => rules.find((r) => 'record' in r && r.record === name)?.expr.trim();

interface RuleTests {
  tests: { alert_rule_test?: { alertname: string; exp_alerts?: unknown[] }[] }[];
}

const chart = scratch('slo-rules');
afterAll(() => rmSync(chart.dir, { recursive: true, force: true }));

describe('config/prometheus/slo-rules.yaml', () => {
  test('is valid for promtool check rules', () => {
    expect(run('promtool', ['check', 'rules', SLO_RULES_FILE])).toContain(`SUCCESS: ${rules.length} rules found`);
  });

  test('passes every unit test of slo-rules.test.yaml (promtool test rules)', () => {
    expect(run('promtool', ['test', 'rules', TESTS_FILE])).toContain('SUCCESS');
  });

  test('each alert has a unit test in which it fires and one in which it stays silent', () => {
    const cases = (parseYaml(readFileSync(TESTS_FILE, 'utf8')) as RuleTests).tests.flatMap((t) => t.alert_rule_test ?? []);
    for (const { alert: name } of alerts) {
      const mine = cases.filter((c) => c.alertname === name);
      expect([name, mine.some((c) => (c.exp_alerts ?? []).length > 0)]).toEqual([name, true]);
      expect([name, mine.some((c) => (c.exp_alerts ?? []).length === 0)]).toEqual([name, true]);
    }
  });

  test('the SLI is the probes of the operator’s Probes, outside the window the operator exports', () => {
    const sli = recorded('tenant:probe_success:outside_maintenance') ?? '';
    expect(sli).toContain(`probe_success{job="${UPTIME_JOB}"}`);
    expect(sli).toContain(`unless on (tenant)\n(max by (tenant) (${WINDOW_OPEN_METRIC}) == 1)`);
    // Every window of the table below, plus 30 days for the figure customers get.
    for (const w of ['5m', '30m', '1h', '2h', '6h', '1d', '3d', '30d'])
      expect([w, recorded(`tenant:uptime_errors:ratio_rate${w}`)]).toEqual([
        w,
        `1 - avg_over_time(tenant:probe_success:outside_maintenance[${w}])`,
      ]);
    expect(recorded('tenant:uptime_availability:ratio_30d')).toBe('1 - tenant:uptime_errors:ratio_rate30d');
    expect(recorded('tenant:uptime_error_budget_remaining:ratio_30d')).toBe(
      '1 - tenant:uptime_errors:ratio_rate30d / (1 - 0.999)',
    );
  });

  // The SRE workbook's "recommended parameters" for a 99.9 % SLO over 30 days.
  test.each([
    ['TenantUptimeBudgetBurnFast', 'critical', '1h', '5m', '14.4 * (1 - 0.999)'],
    ['TenantUptimeBudgetBurnFast', 'critical', '6h', '30m', '6 * (1 - 0.999)'],
    ['TenantUptimeBudgetBurnSlow', 'high', '1d', '2h', '3 * (1 - 0.999)'],
    ['TenantUptimeBudgetBurnSlow', 'high', '3d', '6h', '1 - 0.999'],
  ])('%s (%s): %s and %s windows above %s, Production only', (name, severity, long, short, threshold) => {
    const rule = alert(name);
    expect(rule.labels?.severity).toBe(severity);
    const pair = (w: string) => `tenant:uptime_errors:ratio_rate${w}{environment="Production"} > (${threshold})`;
    expect(rule.expr).toContain(`${pair(long)}\n  and\n  ${pair(short)}`);
  });

  test('each severity is an incident class (critical, high, medium, low) and says why', () => {
    for (const r of alerts) {
      const severity = r.labels?.severity ?? '';
      expect([r.alert, ['critical', 'high', 'medium', 'low'].includes(severity)]).toEqual([r.alert, true]);
      const capitalised = severity.charAt(0).toUpperCase() + severity.slice(1);
      expect([r.alert, r.annotations?.severity_reason?.startsWith(`${capitalised}:`)]).toEqual([r.alert, true]);
      expect([r.alert, Boolean(r.annotations?.summary && r.annotations.description)]).toEqual([r.alert, true]);
    }
  });

  test('reads only the blackbox probes, the operator’s metrics and what it records itself', () => {
    const allowed = new Set(['probe_success', WINDOW_OPEN_METRIC, 'tenant_operator_tenant_condition', ...sloRecordedNames()]);
    const read = rules.flatMap((r) => metricNames(r.expr));
    expect(read.filter((n) => !allowed.has(n))).toEqual([]);
  });

  test('helm renders it as the PrometheusRule <release>-slo when prometheusRule is enabled, and not otherwise', () => {
    const values = { metrics: { prometheusRule: { enabled: true, labels: { release: 'kube-prometheus-stack' } } } };
    const objects = helmTemplate(chart.dir, chart.helmEnv, { release: 'ops', namespace: 'monitoring-test', values });
    const rule = find<{ spec: unknown }>(objects, 'PrometheusRule', 'ops-tenant-operator-slo');
    expect(rule.metadata).toMatchObject({ namespace: 'monitoring-test', labels: { release: 'kube-prometheus-stack' } });
    expect(rule.spec).toEqual(parseYaml(readFileSync(SLO_RULES_FILE, 'utf8')));
    expect(helmTemplate(chart.dir, chart.helmEnv).filter((o) => o.kind === 'PrometheusRule')).toEqual([]);
  });

  test('the chart and kustomize ship exactly this file', () => {
    expect(readFileSync(join(CHART_DIR, 'files', 'slo-rules.yaml'), 'utf8')).toBe(readFileSync(SLO_RULES_FILE, 'utf8'));
    const kustomized = parseYaml(readFileSync(join(REPO_ROOT, 'config', 'prometheus', 'prometheusrule-slo.yaml'), 'utf8')) as {
      metadata: { name: string };
      spec: unknown;
    };
    expect(kustomized.metadata.name).toBe('tenant-operator-slo');
    expect(kustomized.spec).toEqual(parseYaml(readFileSync(SLO_RULES_FILE, 'utf8')));
    expect(groups.map((g) => [g.name, g.interval])).toEqual([
      ['tenant-uptime.sli', undefined],
      ['tenant-uptime.slo', '2m'],
      ['tenant-uptime.alerts', undefined],
    ]);
  });
});
