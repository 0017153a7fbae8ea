/**
 * The README's metrics catalog tells the truth: every metric it lists is exported by a running
 * operator (scraped from /metrics), with the type it claims, and every operator metric is listed.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import type { Operator } from '../../src/operator.ts';
import { REPO_ROOT } from '../harness/control-plane.ts';
import { sharedControlPlane, startOperator } from '../harness/fixtures.ts';

let operator: Operator;

beforeAll(async () => {
  operator = await startOperator({ info: sharedControlPlane(), leaseName: 'metrics-catalog' });
});

afterAll(async () => {
  await operator?.stop();
});

/** Rows of the README's Metrics table: metric name -> documented type. */
function catalog(): Map<string, string> {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Metrics'), readme.indexOf('\n## ', readme.indexOf('## Metrics') + 5));
  const rows = new Map<string, string>();
  for (const line of section.split('\n')) {
    const cells = line.split('|').map((c) => c.trim());
    if (cells.length < 4 || !cells[1]?.startsWith('`tenant_operator_') || cells[1].includes('*')) continue;
    const names = [...cells[1].matchAll(/`([a-z_]+)`/g)].map((m) => m[1] as string);
    const first = names[0] as string;
    for (const name of names)
      rows.set(name.startsWith('_') ? first.replace(/_[a-z]+_[a-z_]+$/, '') + name : name, cells[2] ?? '');
  }
  return rows;
}

test('every metric in the README is exported with its documented type, and every exported one is documented', async () => {
  const text = await (await fetch(`http://127.0.0.1:${operator.httpPort}/metrics`)).text();
  const exported = new Map<string, string>();
  for (const m of text.matchAll(/^# TYPE (tenant_operator_[a-z_]+) ([a-z]+)$/gm)) exported.set(m[1] as string, m[2] as string);
  const documented = catalog();
  expect(documented.size).toBeGreaterThan(15);
  for (const [name, type] of documented) {
    expect({ name, exported: exported.has(name) }).toEqual({ name, exported: true });
    if (type) expect({ name, type: exported.get(name) }).toEqual({ name, type });
  }
  // Every operator metric (not the Node.js process defaults) is in the catalog.
  const defaults = /^tenant_operator_(process_|nodejs_)/;
  const undocumented = [...exported.keys()].filter((n) => !defaults.test(n) && !documented.has(n));
  expect(undocumented).toEqual([]);
});
