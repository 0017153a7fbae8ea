/**
 * The benchmark still runs end to end (issue: the benchmark is not part of the test run, a short
 * smoke run is): `node bench/run.ts` with 5 tenants, in its own control plane, ARM emulator and
 * operator process. Asserts what holds at any size and on a busy machine (everything converges,
 * no writes in steady state or after a restart, the floor is measured), not timings.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect, test } from '@jest/globals';
import { REPO_ROOT } from '../harness/control-plane.ts';

const run = promisify(execFile);

test('npm run bench, 5 tenants on shared servers in 2 subscriptions: converges, writes nothing when idle or restarted, measures the floor', async () => {
  const out = join(mkdtempSync(join(tmpdir(), 'bench-smoke-')), 'result.json');
  await run(
    process.execPath,
    // The default layout (shared servers, Azure's default quotas) over two subscriptions; 12 s of
    // steady state hold one full resync pass (the period is at least 10 s): enough to see zero writes.
    [
      'bench/run.ts',
      '--tenants',
      '5',
      '--steady-seconds',
      '12',
      '--changes',
      '3',
      '--subscriptions',
      '2',
      '--operator',
      'src',
      '--out',
      out,
    ],
    { cwd: REPO_ROOT, timeout: 240_000, maxBuffer: 16 << 20 },
  );
  const report = JSON.parse(readFileSync(out, 'utf8')) as {
    failure?: string;
    results: {
      tenants: number;
      cold: {
        ms: number;
        perTenantReadyMs: { n: number };
        operatorApi: { writes: number };
        fleet: {
          placed: number;
          ready: number;
          quotaConditions: string[];
          subscriptions: Record<string, { tenants: number; shared: number; armWrites: number }>;
        };
      };
      steady: { kubeWrites: number; armWrites: number; resyncPasses: number };
      restart: { kubeWrites: number; armWrites: number; exitCode: number };
      changes: { latencyMs?: { n: number } } & Record<string, unknown>;
      floor: Record<string, unknown>;
    }[];
  };
  expect(report.failure).toBeUndefined();
  const [result] = report.results;
  expect(result?.tenants).toBe(5);
  expect(result?.cold.perTenantReadyMs.n).toBe(5);
  expect(result?.cold.operatorApi.writes).toBeGreaterThan(5 * 10);
  // Every tenant placed on a shared server, spread over both subscriptions, each written to; no quota error.
  expect(result?.cold.fleet).toMatchObject({ placed: 5, ready: 5, quotaConditions: [] });
  const subscriptions = Object.values(result?.cold.fleet.subscriptions ?? {});
  expect(subscriptions.filter((s) => s.tenants > 0)).toHaveLength(2);
  expect(subscriptions.every((s) => s.shared === s.tenants && s.armWrites > 0)).toBe(true);
  expect(result?.steady).toMatchObject({ kubeWrites: 0, armWrites: 0 });
  expect(result?.steady.resyncPasses).toBeGreaterThanOrEqual(1);
  expect(result?.restart).toMatchObject({ kubeWrites: 0, armWrites: 0, exitCode: 0 });
  expect(Object.keys(result?.floor ?? {}).length).toBeGreaterThan(0);
}, 300_000);
