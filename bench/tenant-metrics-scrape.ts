/**
 * What one /metrics scrape costs with N cached tenants (default 1000), each with 15 conditions,
 * backups checked and a maintenance window (test/fixtures/tenant-status.ts `fleet`): the per-tenant
 * series are computed at scrape time from the Tenant cache (src/tenant/metrics.ts), so a scrape's
 * CPU grows with the fleet. Prints the scrape time (median and p99 over the runs, wall clock), the
 * CPU one scrape costs the process (mean; steadier than wall time on a shared machine), the series
 * and the exposition size, next to a scrape of the operator's own metrics alone.
 *
 *   node bench/tenant-metrics-scrape.ts [--tenants 1000] [--runs 50]
 */
import { parseArgs } from 'node:util';
import { parseConfig } from '../src/config.ts';
import { OperatorMetrics } from '../src/observability/metrics.ts';
import { registerTenantMetrics } from '../src/tenant/metrics.ts';
import { fleet } from '../test/fixtures/tenant-status.ts';

const { values } = parseArgs({
  options: { tenants: { type: 'string', default: '1000' }, runs: { type: 'string', default: '50' } },
});
const tenants = Number(values.tenants);
const runs = Number(values.runs);

async function measure(
  metrics: OperatorMetrics,
): Promise<{ p50: number; p99: number; cpu: number; bytes: number; series: number }> {
  let text = '';
  for (let i = 0; i < 5; i++) text = await metrics.registry.metrics(); // warm-up (JIT)
  const ms: number[] = [];
  const cpuBefore = process.cpuUsage();
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    text = await metrics.registry.metrics();
    ms.push(performance.now() - started);
  }
  const cpuUsed = process.cpuUsage(cpuBefore);
  ms.sort((a, b) => a - b);
  const at = (q: number) => ms[Math.min(ms.length - 1, Math.floor(q * ms.length))] as number;
  return {
    p50: at(0.5),
    p99: at(0.99),
    // CPU of this process per scrape: what the scrape costs the operator, whatever else the machine runs.
    cpu: (cpuUsed.user + cpuUsed.system) / 1000 / runs,
    bytes: Buffer.byteLength(text),
    series: text.split('\n').filter((l) => l && !l.startsWith('#')).length,
  };
}

const config = parseConfig({});
const caches = {
  tenants: { hasSynced: true, list: () => list },
  backupPolicies: { get: (name: string) => (name === 'gold' ? { spec: { rpo: '1h', rto: '2h' } } : undefined) },
} as never;
const list = fleet(tenants);

const alone = await measure(new OperatorMetrics());
const withTenants = new OperatorMetrics();
registerTenantMetrics(withTenants.registry, caches, config);
const full = await measure(withTenants);

const row = (name: string, r: typeof full) =>
  `${name.padEnd(28)} ${r.p50.toFixed(1).padStart(7)} ms ${r.p99.toFixed(1).padStart(7)} ms ${r.cpu.toFixed(1).padStart(7)} ms ${String(r.series).padStart(7)} ${(r.bytes / 1024).toFixed(0).padStart(7)} KiB`;
process.stdout.write(
  `${'scrape of'.padEnd(28)} ${'p50'.padStart(10)} ${'p99'.padStart(10)} ${'CPU/scrape'.padStart(10)} ${'series'.padStart(7)} ${'size'.padStart(11)}\n`,
);
process.stdout.write(`${row('operator metrics alone', alone)}\n`);
process.stdout.write(`${row(`+ ${tenants} tenants`, full)}\n`);
