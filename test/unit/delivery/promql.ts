/**
 * The PromQL that the delivery artefacts ship (Grafana dashboard, alert rules) and the metric
 * names it reads, so tests can hold both against what a running operator exports and promtool.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { REPO_ROOT } from '../../harness/control-plane.ts';

export const DASHBOARD_FILE = join(REPO_ROOT, 'config', 'grafana', 'tenant-operator-dashboard.json');
export const ALERTS_FILE = join(REPO_ROOT, 'config', 'prometheus', 'alerts.yaml');

export interface Query {
  /** Where it is: panel title and refId, variable name, or alert name. */
  where: string;
  expr: string;
}

interface Panel {
  title?: string;
  targets?: { refId?: string; expr?: string }[];
  panels?: Panel[];
}

interface Dashboard {
  panels: Panel[];
  templating: { list: { name: string; type: string; query?: string | { query?: string } }[] };
}

export function readDashboard(): Dashboard {
  return JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8')) as Dashboard;
}

/** Every panel query (rows included) of the dashboard. */
export function dashboardQueries(dashboard = readDashboard()): Query[] {
  const walk = (panels: Panel[]): Query[] =>
    panels.flatMap((p) => [
      ...(p.targets ?? []).filter((t) => t.expr).map((t) => ({ where: `panel "${p.title}" ${t.refId}`, expr: t.expr as string })),
      ...walk(p.panels ?? []),
    ]);
  return walk(dashboard.panels);
}

/** The metrics that the dashboard's `label_values(metric, label)` variables read. */
export function dashboardVariableMetrics(dashboard = readDashboard()): Query[] {
  return dashboard.templating.list
    .filter((v) => v.type === 'query')
    .map((v) => ({ where: `variable ${v.name}`, expr: typeof v.query === 'string' ? v.query : (v.query?.query ?? '') }));
}

/**
 * A dashboard query as plain PromQL: Grafana's interval variables become 5m and the dashboard's
 * own variables (only used inside regex label matchers) match everything.
 */
export function asPromql(expr: string, dashboard = readDashboard()): string {
  let out = expr.replace(/\$__(rate_interval|interval|range)\b/g, '5m');
  for (const v of dashboard.templating.list) out = out.replace(new RegExp(`\\$\\{?${v.name}\\}?`, 'g'), '.*');
  return out;
}

export interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export function alertRules(): AlertRule[] {
  const { groups } = parseYaml(readFileSync(ALERTS_FILE, 'utf8')) as { groups: { rules: AlertRule[] }[] };
  return groups.flatMap((g) => g.rules);
}

/** The uptime SLO rules (recording rules and burn-rate alerts), a rule file of their own. */
export const SLO_RULES_FILE = join(REPO_ROOT, 'config', 'prometheus', 'slo-rules.yaml');

export interface SloRuleGroup {
  name: string;
  interval?: string;
  rules: ({ record: string; expr: string } | AlertRule)[];
}

export function sloRuleGroups(): SloRuleGroup[] {
  return (parseYaml(readFileSync(SLO_RULES_FILE, 'utf8')) as { groups: SloRuleGroup[] }).groups;
}

/** Series the SLO rules record: dashboards may read them besides what the operator exports. */
export function sloRecordedNames(): Set<string> {
  return new Set(sloRuleGroups().flatMap((g) => g.rules.flatMap((r) => ('record' in r ? [r.record] : []))));
}

const NOT_METRICS = new Set([
  'and',
  'or',
  'unless',
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'bool',
  'offset',
]);

/**
 * Metric names an expression reads: identifiers that are not functions, keywords or label names.
 * Strings, label matchers, ranges and grouping label lists are removed first.
 */
export function metricNames(expr: string): string[] {
  const labelValues = /label_values\(\s*([a-zA-Z_:][\w:]*)/.exec(expr);
  if (labelValues) return [labelValues[1] as string];
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names = new Set<string>();
  for (const m of stripped.matchAll(/(?<![\w:.$])([a-zA-Z_:][\w:]*)(?![\w:])(?!\s*\()/g))
    if (!NOT_METRICS.has(m[1] as string)) names.add(m[1] as string);
  return [...names];
}

/**
 * Names a Prometheus text exposition exports: every HELP/TYPE name (present even before a
 * labelled metric has samples), a histogram's _bucket/_sum/_count, and every sample's name.
 */
export function exportedNames(exposition: string): Set<string> {
  const names = new Set<string>();
  for (const line of exposition.split('\n')) {
    const meta = /^# (HELP|TYPE) ([a-zA-Z_:][\w:]*)(?: (\w+))?/.exec(line);
    if (meta) {
      const [, kind, name, type] = meta as unknown as [string, string, string, string | undefined];
      names.add(name);
      if (kind === 'TYPE' && type === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(name + s);
      if (kind === 'TYPE' && type === 'summary') for (const s of ['_sum', '_count']) names.add(name + s);
    } else if (line && !line.startsWith('#')) {
      names.add(line.split(/[{ ]/)[0] as string);
    }
  }
  return names;
}
