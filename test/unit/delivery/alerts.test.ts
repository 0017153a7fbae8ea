/**
 * The alert rules of config/prometheus/alerts.yaml through promtool: they parse, every unit test
 * in alerts.test.yaml passes, each alert has a firing case, and each severity is an incident class
 * of the platform with its reason.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from '@jest/globals';
import { parse as parseYaml } from 'yaml';
import { REPO_ROOT } from '../../harness/control-plane.ts';
import { ALERTS_FILE, alertRules } from './promql.ts';
import { run } from './tools.ts';

const TESTS_FILE = join(REPO_ROOT, 'config', 'prometheus', 'alerts.test.yaml');
const rules = alertRules();

interface RuleTests {
  tests: { alert_rule_test?: { alertname: string; exp_alerts?: unknown[] }[] }[];
}

describe('config/prometheus/alerts.yaml', () => {
  test('is valid for promtool check rules', () => {
    expect(run('promtool', ['check', 'rules', ALERTS_FILE])).toContain(`SUCCESS: ${rules.length} rules found`);
  });

  test('passes every unit test of alerts.test.yaml (promtool test rules)', () => {
    expect(run('promtool', ['test', 'rules', TESTS_FILE])).toContain('SUCCESS');
  });

  test('each alert has a unit test in which it fires and one in which it stays silent', () => {
    const cases = (parseYaml(readFileSync(TESTS_FILE, 'utf8')) as RuleTests).tests.flatMap((t) => t.alert_rule_test ?? []);
    for (const { alert } of rules) {
      const mine = cases.filter((c) => c.alertname === alert);
      expect([alert, mine.some((c) => (c.exp_alerts ?? []).length > 0)]).toEqual([alert, true]);
      expect([alert, mine.some((c) => (c.exp_alerts ?? []).length === 0)]).toEqual([alert, true]);
    }
  });

  test('covers what the platform pages on', () => {
    expect(rules.map((r) => r.alert).sort()).toEqual([
      'TenantAccessGrantOverdue',
      'TenantBackupRpoBreached',
      'TenantDatabaseExcessPrivileges',
      'TenantDriftRepeated',
      'TenantEncryptionKeyExpiringUnrotated',
      'TenantFailoverDrillFailed',
      'TenantGeoReplicationLagAboveRpo',
      'TenantMaintenanceChangesStuck',
      'TenantNoSubscriptionCapacity',
      'TenantNotReady',
      'TenantOperatorAzureThrottled',
      'TenantOperatorDown',
      'TenantOperatorNoLeader',
      'TenantOperatorReconcileErrors',
      'TenantRestoreDrillFailed',
      'TenantRestoreDrillOverRto',
      'TenantStalledOnOwner',
      'TenantStalledOnPlatform',
    ]);
    const rule = (name: string) => rules.find((r) => r.alert === name);
    expect(rule('TenantNotReady')?.for).toBe('15m');
    expect(rule('TenantBackupRpoBreached')?.for).toBe('10m');
    // The job the chart's ServiceMonitor gives the targets, whatever fullnameOverride says (chart.test.ts).
    expect(rule('TenantOperatorDown')?.expr).toBe('absent(up{job="tenant-operator"} == 1)');
    expect(rule('TenantOperatorNoLeader')).toMatchObject({ expr: 'max(tenant_operator_leader) < 1', for: '5m' });
  });

  test('only the operator’s own errors count as operator faults; spec and platform problems page whoever must act', () => {
    const rule = (name: string) => rules.find((r) => r.alert === name);
    expect(rule('TenantOperatorReconcileErrors')?.expr).toContain('outcome=~"retryable_error|error"');
    expect(rule('TenantStalledOnPlatform')).toMatchObject({ labels: { severity: 'high' } });
    expect(rule('TenantStalledOnPlatform')?.expr).toContain('actor="platform-team"');
    expect(rule('TenantStalledOnOwner')).toMatchObject({ labels: { severity: 'low' } });
    expect(rule('TenantStalledOnOwner')?.expr).toContain('actor="owner"');
    // A stalled tenant alerts through its actor's alert, not a second time through TenantNotReady.
    expect(rule('TenantNotReady')?.expr).toContain('unless on (tenant) max by (tenant) (tenant_operator_tenant_stalled)');
  });

  test('each severity is an incident class (critical, high, medium, low) and says why', () => {
    for (const r of rules) {
      const severity = r.labels?.severity ?? '';
      expect([r.alert, ['critical', 'high', 'medium', 'low'].includes(severity)]).toEqual([r.alert, true]);
      const capitalised = severity.charAt(0).toUpperCase() + severity.slice(1);
      expect([r.alert, r.annotations?.severity_reason?.startsWith(`${capitalised}:`)]).toEqual([r.alert, true]);
      expect([r.alert, Boolean(r.annotations?.summary && r.annotations.description)]).toEqual([r.alert, true]);
    }
  });
});
