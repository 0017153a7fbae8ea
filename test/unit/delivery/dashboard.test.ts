/**
 * The Grafana dashboard's structure: a stable uid, one Prometheus data source variable used by
 * every query, tier and region filters, and panels that fit the 24-column grid without overlapping.
 * (Its queries are checked against a running operator and promtool in the integration tests.)
 */
import { describe, expect, test } from '@jest/globals';
import { dashboardQueries, readDashboard } from './promql.ts';

interface GridPanel {
  id: number;
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  datasource?: { type: string; uid: string };
  targets?: { datasource?: { uid: string } }[];
}

/** Grafana's reference to the dashboard's data source variable (a literal string, not a template). */
const DATASOURCE = ['$', '{datasource}'].join('');

const dashboard = readDashboard() as unknown as {
  uid: string;
  title: string;
  panels: GridPanel[];
  templating: { list: { name: string; type: string; query?: unknown }[] };
};

describe('config/grafana/tenant-operator-dashboard.json', () => {
  test('has a stable uid, a Prometheus data source variable and tier and region filters', () => {
    expect(dashboard.uid).toBe('tenant-operator');
    expect(dashboard.templating.list.map((v) => [v.name, v.type])).toEqual([
      ['datasource', 'datasource'],
      ['tier', 'query'],
      ['region', 'query'],
    ]);
  });

  test('every panel and query uses the data source variable', () => {
    for (const p of dashboard.panels.filter((x) => x.type !== 'row')) {
      expect([p.title, p.datasource]).toEqual([p.title, { type: 'prometheus', uid: DATASOURCE }]);
      for (const t of p.targets ?? []) expect([p.title, t.datasource?.uid]).toEqual([p.title, DATASOURCE]);
    }
  });

  test('has one section per concern, with unique panel ids', () => {
    expect(dashboard.panels.filter((p) => p.type === 'row').map((p) => p.title)).toEqual([
      'Fleet overview',
      'Reconcile health',
      'Azure API',
      'Backups: RPO and restore drills',
      'Maintenance',
      'Uptime (SLO: 99.9 % over 30 days, maintenance windows excluded)',
    ]);
    expect(new Set(dashboard.panels.map((p) => p.id)).size).toBe(dashboard.panels.length);
    expect(dashboardQueries().length).toBeGreaterThan(30);
  });

  test('panels fit the 24-column grid and do not overlap', () => {
    const cells = new Map<string, string>();
    for (const { title, gridPos: g } of dashboard.panels) {
      expect([title, g.x >= 0 && g.w > 0 && g.x + g.w <= 24]).toEqual([title, true]);
      for (let x = g.x; x < g.x + g.w; x++)
        for (let y = g.y; y < g.y + g.h; y++) {
          const cell = `${x},${y}`;
          expect([title, cells.get(cell)]).toEqual([title, undefined]);
          cells.set(cell, title);
        }
    }
  });
});
