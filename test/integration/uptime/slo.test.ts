/**
 * Uptime measured end to end, with the real tools: local HTTP endpoints that go down and up on cue
 * stand for three tenants' URLs; the real blackbox exporter (Debian's prometheus-blackbox-exporter)
 * probes them; a real Prometheus (Debian's) scrapes it through the scrape configuration the
 * Prometheus Operator makes of the operator's Probes (test/harness/probe-scrape-config.ts, itself
 * held against the Prometheus Operator's output in test/unit/uptime/probe.test.ts), scrapes the
 * operator's scrape-time maintenance-window gauge (the real registerUptimeMetrics over a cache),
 * and evaluates config/prometheus/slo-rules.yaml every second.
 *
 * steady stays up; outage goes down for a few seconds; maint goes down for as long, inside its
 * maintenance window. Then: steady and maint are at 100 %, outage's availability is the share of
 * its down time, its burn-rate page fired, and nothing fired for the others.
 *
 * Two differences from production, both on purpose: the targets are http://127.0.0.1 endpoints
 * (the blackbox module http_2xx needs no TLS, so no certificates are involved; production probes
 * https://<host><healthPath> and its module should require TLS 1.2, see README "Uptime"), and the
 * rules' 2-minute group runs every second (avg_over_time gives the same answer at any evaluation
 * interval; the test could not wait minutes).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { Registry } from 'prom-client';
import { stringify } from 'yaml';
import type { Caches } from '../../../src/context.ts';
import { startHttpServer } from '../../../src/observability/http-server.ts';
import type { KubeObject } from '../../../src/runtime/kube-client.ts';
import { parseTenant } from '../../../src/tenant/parse.ts';
import { registerUptimeMetrics } from '../../../src/uptime/metrics.ts';
import { buildProbe, UPTIME_JOB } from '../../../src/uptime/probe.ts';
import { aConfig } from '../../fixtures/tenant.ts';
import { REPO_ROOT } from '../../harness/control-plane.ts';
import { tenant, waitFor } from '../../harness/fixtures.ts';
import { type ProbeObject, probeScrapeConfig } from '../../harness/probe-scrape-config.ts';
import { Prometheus, type PromSample } from '../../harness/prometheus.ts';
import { asPromql, dashboardQueries, readDashboard } from '../../unit/delivery/promql.ts';
import { tool } from '../../unit/delivery/tools.ts';

const dir = mkdtempSync(join(tmpdir(), 'tenant-operator-uptime-'));
const processes: ChildProcess[] = [];
const servers: Server[] = [];

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  return (server.address() as AddressInfo).port;
}

/** A port free right now (the tools take theirs on the command line). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function startBlackboxExporter(args: string[]): ChildProcess {
  const log = openSync(join(dir, 'blackbox.log'), 'a');
  const child = spawn(tool('prometheus-blackbox-exporter'), args, { stdio: ['ignore', log, log] });
  processes.push(child);
  return child;
}

// --- the tenants: their URLs, and what the operator knows of them --------------------------------

const NAMES = ['steady', 'outage', 'maint'] as const;
type Name = (typeof NAMES)[number];
const up: Record<Name, boolean> = { steady: true, outage: true, maint: true };
const urls = {} as Record<Name, string>;

const tenants = NAMES.map((name) => {
  const raw = tenant(name, { environment: 'Production', replicas: 2 });
  if (name === 'maint') (raw.spec as Record<string, unknown>).maintenanceWindowRef = { name: 'maint-window' };
  return raw;
});

/** maint's MaintenanceWindow as the cache holds it: a one-off window opened and closed on cue. */
let maintWindow: KubeObject = maintenanceWindow([]);
function maintenanceWindow(extraWindows: { start: string; duration: string }[]): KubeObject {
  return {
    apiVersion: 'tenancy.dev/v1alpha1',
    kind: 'MaintenanceWindow',
    metadata: { name: 'maint-window' },
    // A weekly window that is never open during the test (a year-round Sunday slot would do too).
    spec: { timeZone: 'UTC', recurrences: [{ days: ['Sunday'], start: '00:00', duration: '1m' }], extraWindows },
  };
}

// --- Prometheus ------------------------------------------------------------------------------------

const prometheus = new Prometheus();

/** An instant query, now or at `time` (Unix seconds). */
function query(expr: string, time?: number): Promise<PromSample[]> {
  return prometheus.query(expr, time);
}

/** The value of a query returning one series per tenant, by tenant. */
async function byTenant(expr: string, time?: number): Promise<Partial<Record<Name, number>>> {
  return Object.fromEntries((await query(expr, time)).map((s) => [s.metric.tenant, Number(s.value[1])]));
}

/** Waits until Prometheus has stored at least `count` probe results of each tenant equal to `value` in the last `range`. */
function probesSeen(names: Name[], value: 0 | 1, count: number, range: string) {
  return waitFor(`${count} probes = ${value} of ${names.join(', ')}`, async () => {
    const seen = await byTenant(`count_over_time((probe_success{job="${UPTIME_JOB}"} == ${value})[${range}:1s])`);
    return names.every((n) => (seen[n] ?? 0) >= count) ? seen : undefined;
  });
}

function windowSeen(open: 0 | 1) {
  return waitFor(`maint's window ${open ? 'open' : 'closed'} in Prometheus`, async () => {
    const seen = await byTenant('max by (tenant) (tenant_operator_tenant_maintenance_window_open)');
    return seen.maint === open ? seen : undefined;
  });
}

/** When the endpoints were switched: the test's own record, to hold Prometheus' figures against. */
const timeline: { downMs: number; startedAt: number } = { downMs: 0, startedAt: 0 };

beforeAll(async () => {
  // The three URLs: /healthz answers 200 while the tenant is up, 503 while it is down.
  for (const name of NAMES) {
    const port = await listen(
      createServer((req, res) => {
        res.writeHead(req.url === '/healthz' && up[name] ? 200 : 503).end();
      }),
    );
    urls[name] = `http://127.0.0.1:${port}/healthz`;
  }

  // The operator's side: the scrape-time gauge over a Tenant and MaintenanceWindow cache.
  const registry = new Registry();
  const caches = {
    tenants: { hasSynced: true, list: () => tenants },
    maintenanceWindows: { hasSynced: true, get: (name: string) => (name === 'maint-window' ? maintWindow : undefined) },
  } as unknown as Pick<Caches, 'tenants' | 'maintenanceWindows'>;
  const config = aConfig();
  registerUptimeMetrics(registry, caches, config, { now: () => new Date() });
  const metricsServer = await startHttpServer({
    host: '127.0.0.1',
    port: 0,
    registry,
    probes: { healthy: () => true, ready: () => true },
  });
  servers.push(metricsServer);
  const metricsPort = (metricsServer.address() as AddressInfo).port;

  // The real blackbox exporter with the module the operator's Probes name.
  const blackboxPort = await freePort();
  writeFileSync(
    join(dir, 'blackbox.yml'),
    stringify({ modules: { http_2xx: { prober: 'http', timeout: '500ms', http: { preferred_ip_protocol: 'ip4' } } } }),
  );
  startBlackboxExporter([`--config.file=${join(dir, 'blackbox.yml')}`, `--web.listen-address=127.0.0.1:${blackboxPort}`]);

  // The operator's Probes, as the Prometheus Operator would configure Prometheus for them; the
  // targets are the local endpoints instead of https://<host>/healthz.
  const uptime = aConfig({ uptime: { prober: { url: `127.0.0.1:${blackboxPort}` }, interval: '1s' } });
  const scrapeConfigs = tenants.map((raw) => {
    const parsed = parseTenant(raw);
    if (!parsed.ok) throw new Error(parsed.message);
    const probe = buildProbe(parsed.tenant, uptime) as unknown as ProbeObject;
    probe.spec.targets.staticConfig.static = [urls[parsed.tenant.metadata.name as Name]];
    return probeScrapeConfig(probe);
  });
  const rules = readFileSync(join(REPO_ROOT, 'config', 'prometheus', 'slo-rules.yaml'), 'utf8');
  expect(rules.match(/^ {4}interval: 2m$/gm)).toHaveLength(1);
  writeFileSync(join(dir, 'slo-rules.yaml'), rules.replace(/^ {4}interval: 2m$/m, '    interval: 1s'));
  // Every second, as test/harness/prometheus.ts runs it: the operator's /metrics under job
  // tenant-operator, the Probes' scrape configurations, the SLO rules.
  await prometheus.start({
    job: 'tenant-operator',
    targets: [`127.0.0.1:${metricsPort}`],
    ruleFiles: [join(dir, 'slo-rules.yaml')],
    scrapeConfigs: scrapeConfigs as unknown as Record<string, unknown>[],
  });

  // On cue: all up; maint's window opens; outage and maint go down; both come back; the window closes.
  timeline.startedAt = Date.now();
  await probesSeen([...NAMES], 1, 3, '1m');
  maintWindow = maintenanceWindow([{ start: new Date(Date.now() - 1000).toISOString(), duration: '1h' }]);
  await windowSeen(1);
  const downAt = Date.now();
  up.outage = false;
  up.maint = false;
  await probesSeen(['outage', 'maint'], 0, 5, '1m');
  up.outage = true;
  up.maint = true;
  timeline.downMs = Date.now() - downAt;
  await waitFor('outage and maint answering again in Prometheus', async () => {
    const latest = await byTenant(`probe_success{job="${UPTIME_JOB}"}`);
    return latest.outage === 1 && latest.maint === 1 ? latest : undefined;
  });
  maintWindow = maintenanceWindow([]);
  await windowSeen(0);
  // A few more seconds measured after it all.
  await probesSeen([...NAMES], 1, 4, '5s');
}, 90_000);

afterAll(async () => {
  for (const child of processes) {
    if (child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
  }
  for (const server of servers) await new Promise((resolve) => server.close(resolve));
  await prometheus.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('uptime with a real Prometheus and blackbox exporter', () => {
  test('every probe result carries the Probe’s job, tenant, environment and namespace, and the target URL as instance', async () => {
    const samples = await query(`probe_success{job="${UPTIME_JOB}"}`);
    expect(samples.map((s) => s.metric).sort((a, b) => (a.tenant ?? '').localeCompare(b.tenant ?? ''))).toEqual(
      [...NAMES].sort().map((name) => ({
        __name__: 'probe_success',
        job: UPTIME_JOB,
        instance: urls[name],
        tenant: name,
        environment: 'Production',
        namespace: `tenant-${name}-prod`,
      })),
    );
  });

  test('maint was really down, and its window really open, yet no failure of it was counted', async () => {
    const range = `${Math.ceil((Date.now() - timeline.startedAt) / 1000) + 5}s`;
    expect(await byTenant(`min_over_time(probe_success{job="${UPTIME_JOB}"}[${range}])`)).toEqual({
      steady: 1,
      outage: 0,
      maint: 0,
    });
    expect((await byTenant(`max_over_time(tenant_operator_tenant_maintenance_window_open[${range}])`)).maint).toBe(1);
    // The SLI recorded outage's failures and none of maint's.
    expect(await byTenant(`min_over_time(tenant:probe_success:outside_maintenance[${range}])`)).toEqual({
      steady: 1,
      outage: 0,
      maint: 1,
    });
    // While the window was open maint had no SLI sample at all: fewer than steady's.
    const counted = await byTenant(`count_over_time(tenant:probe_success:outside_maintenance[${range}])`);
    expect(counted.maint).toBeLessThan((counted.steady ?? 0) - 3);
  });

  test('availability over 30 days and error budget: 100 % for steady and maint, outage’s down time for outage', async () => {
    const availability = await byTenant('tenant:uptime_availability:ratio_30d');
    const budget = await byTenant('tenant:uptime_error_budget_remaining:ratio_30d');
    expect([availability.steady, availability.maint, budget.steady, budget.maint]).toEqual([1, 1, 1, 1]);
    // The rules evaluate every second: the SLI has one sample per measured second, and the downtime
    // the availability figure implies is the time outage's endpoint answered 503, within two probes.
    const measured = (await byTenant('count_over_time(tenant:probe_success:outside_maintenance[5m])')).outage ?? 0;
    const impliedDownSeconds = (1 - (availability.outage ?? 1)) * measured;
    expect(Math.abs(impliedDownSeconds - timeline.downMs / 1000)).toBeLessThan(2);
    expect(availability.outage).toBeLessThan(0.9);
    // Seconds down out of a few dozen measured: the 0.1 % budget is spent many times over.
    expect(budget.outage).toBeLessThan(-50);
  });

  test('the fast-burn page fired for outage only; nothing fired for steady or maint', async () => {
    const range = `${Math.ceil((Date.now() - timeline.startedAt) / 1000) + 5}s`;
    const fired = await query(`max_over_time(ALERTS{alertname=~"TenantUptime.*", alertstate="firing"}[${range}])`);
    expect(fired.map((s) => `${s.metric.alertname} ${s.metric.tenant} ${s.metric.severity}`).sort()).toEqual(
      ['TenantUptimeBudgetBurnFast outage critical', 'TenantUptimeBudgetBurnSlow outage high'].sort(),
    );
  });
});

/** The dashboard's uptime row, each query with what it must show after the timeline above. */
describe('the dashboard’s uptime row, on the same data', () => {
  const dashboard = readDashboard() as unknown as { panels: { type: string; title: string }[] };
  const rowAt = dashboard.panels.findIndex((p) => p.type === 'row' && p.title.startsWith('Uptime'));
  const next = dashboard.panels.findIndex((p, i) => i > rowAt && p.type === 'row');
  const titles = new Set(dashboard.panels.slice(rowAt + 1, next === -1 ? undefined : next).map((p) => p.title));
  const queries = dashboardQueries().filter((q) => [...titles].some((t) => q.where.startsWith(`panel "${t}" `)));

  type Check = (r: PromSample[], availability: Partial<Record<Name, number>>) => void;
  const one =
    (expected: (a: Partial<Record<Name, number>>) => number): Check =>
    (r, a) => {
      expect(r).toHaveLength(1);
      expect(Number(r[0]?.value[1])).toBeCloseTo(expected(a), 9);
    };
  const perTenant: Check = (r) => expect(r.map((s) => s.metric.tenant).sort()).toEqual([...NAMES].sort());
  const EXPECTED: Record<string, Check> = {
    'panel "Fleet uptime (Production, 30 days)" A': one((a) => ((a.steady ?? 0) + (a.outage ?? 0) + (a.maint ?? 0)) / 3),
    'panel "Lowest tenant uptime (Production, 30 days)" A': one((a) => a.outage ?? 0),
    'panel "Production tenants below 99.9 %" A': one(() => 1),
    'panel "Production tenants burning budget fast (1h)" A': one(() => 1),
    'panel "Uptime per tenant (30 days)" A': perTenant,
    'panel "Uptime per tenant (30 days)" B': perTenant,
    'panel "Uptime per tenant (30 days)" C': (r) => {
      perTenant(r, {});
      const errors = Object.fromEntries(r.map((s) => [s.metric.tenant, Number(s.value[1])]));
      expect([errors.steady, errors.maint, (errors.outage ?? 0) > 0]).toEqual([0, 0, true]);
    },
    'panel "Error budget left by tenant (worst first)" A': (r) => {
      perTenant(r, {});
      expect(r[0]?.metric.tenant).toBe('outage');
    },
    'panel "Error rate per tenant (1h window) against the burn-rate thresholds" A': (r) =>
      expect(r.map((s) => s.metric.tenant)).toEqual(['outage']),
    'panel "Error rate per tenant (1h window) against the burn-rate thresholds" B': one(() => 14.4 * (1 - 0.999)),
    'panel "Availability per tenant (30 days, rolling)" A': perTenant,
    'panel "Availability per tenant (30 days, rolling)" B': one(() => 0.999),
  };

  test('each query of the row has its expectation, and each expectation its query', () => {
    expect(queries.map((q) => q.where).sort()).toEqual(Object.keys(EXPECTED).sort());
  });

  test.each(queries.map((q) => [q.where, q.expr] as const))('%s', async (where, expr) => {
    // One instant for both: the rules keep recording while the test runs.
    const at = Number((await query('time()'))[0]?.value[0]);
    const availability = await byTenant('tenant:uptime_availability:ratio_30d', at);
    (EXPECTED[where] as Check)(await query(asPromql(expr), at), availability);
  });
});
