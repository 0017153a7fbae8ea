/**
 * One benchmark run for one fleet size, in a fresh control plane: setup, cold convergence, steady
 * state, restart, change latency, mass change and the floor. Returns every figure; the caller
 * prints and stores them. Everything started here is stopped in `finally`.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_RBAC_PROPAGATION_MS } from '../hack/arm-emulator/resource-types.ts';
import { backupPolicySpecSchema } from '../src/api/v1alpha1/backup-policy.ts';
import { subscriptionOfUrl } from '../src/azure/write-limiter.ts';
import { desiredRetention } from '../src/backup/retention.ts';
import type { KubeObject } from '../src/runtime/kube-client.ts';
import { OWNED_NAMESPACED_KINDS } from '../src/runtime/resources.ts';
import {
  adminClient,
  applyAll,
  installCrds,
  installRbac,
  installThirdPartyCrds,
  readYamlObjects,
} from '../test/harness/cluster-setup.ts';
import { emulatorAzureConfig, tenant } from '../test/harness/fixtures.ts';
import { type FleetLayout, fleetTenantShape } from './fleet-layout.ts';
import { byTenant, type CachedBytes, type FloorPlan, floorTenant, readOperatorObjects } from './floor-plan.ts';
import {
  type ApiRequest,
  ArmLog,
  type ArmRecord,
  AuditLog,
  adminGet,
  BenchControlPlane,
  fdCounts,
  freePort,
  machineBusySeconds,
  ProcWatch,
  parseMetrics,
  procSample,
  READ_VERBS,
  REPO_ROOT,
  sleep,
  spawnTracked,
  startEmulator,
  stopChild,
  sumOf,
  WRITE_VERBS,
} from './infra.ts';
import { OperatorProcess, operatorCounters, startWatchKubelet, TenantTracker } from './observe.ts';
import { physicalFloor } from './physical-floor.ts';
import { countBy, percentile, summary } from './report.ts';

export interface SizeOptions {
  tenants: number;
  steadySeconds: number;
  changes: number;
  concurrency: number;
  /** resyncPeriodSeconds of the steady-state process only (so a full resync happens inside the window). */
  resyncSeconds: number;
  /** resyncPeriodSeconds everywhere else: the operator's default, so no artificial resync disturbs other phases. */
  defaultResyncSeconds: number;
  armWritesPerSecond: number;
  armWriteBurst: number;
  armReadsPerSecond: number;
  floorClient: 'pooled' | 'operator';
  /** The operator's entry point: `dist/main.js` (what the image runs) or `src/main.ts`. */
  operatorEntry: string;
  /** Node/V8 flags for the operator process only. */
  operatorNodeOptions: string[];
  /** Environment the image sets (Dockerfile ENV), added to the operator process's. */
  operatorEnv: Record<string, string>;
  /** The emulator's operation durations: `realistic` (scaled by timeFactor) or `instant`. */
  profile: 'realistic' | 'instant';
  timeFactor: number;
  /** Microsoft.ManagedIdentity's write limit in the emulator (the operator keeps 90 % of it). */
  msiWritesPerSecond: number;
  /** Above this many tenants the plain-client floor is not run (it blocks on every operation). */
  plainFloorMaxTenants: number;
  /** How long cold convergence may take before the run fails (default 180 s + 1.5 s per tenant). */
  coldDeadlineMs?: number | undefined;
  /** Regions, subscriptions and shards (bench/fleet-layout.ts). */
  layout: FleetLayout;
  logDir: string;
}

const OPERATOR_USER = 'tenant-operator';
const TENANTS_PATH = '/apis/tenancy.dev/v1alpha1/tenants';
/** A mixed fleet: tiers, environments and regions rotate; every fourth tenant has a country allow-list. */
export function fleetTenant(name: string, i: number, regions: readonly string[]): KubeObject {
  return tenant(name, {
    ...fleetTenantShape(i, regions),
    ...(i % 4 === 0 ? { allowedCountries: ['NL', 'BE', 'DE'] } : {}),
  });
}

async function pool<T>(limit: number, items: T[], fn: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        await fn(items[i] as T, i);
      }
    }),
  );
}

/** Kubernetes requests summarised: totals, reads and writes, by verb and by verb + resource. */
export function apiSummary(requests: ApiRequest[]) {
  const leases = requests.filter((r) => r.resource === 'leases');
  const rest = requests.filter((r) => r.resource !== 'leases');
  const writes = rest.filter((r) => WRITE_VERBS.has(r.verb));
  const reads = rest.filter((r) => READ_VERBS.has(r.verb));
  return {
    total: requests.length,
    reads: reads.length,
    writes: writes.length,
    leaseRequests: leases.length,
    errors: rest.filter((r) => r.code >= 400).length,
    byVerb: countBy(rest, (r) => r.verb),
    byVerbResource: countBy(rest, (r) => `${r.verb} ${r.resource}`),
    writesByVerbResource: countBy(writes, (r) => `${r.verb} ${r.resource}`),
  };
}

const shortType = (r: ArmRecord) =>
  r.kind === 'operation' ? 'operation-status' : (r.resourceType ?? r.kind).replace(/^Microsoft\./, '');

/** Highest number of records in any one-second bucket (ARM's token buckets refill per second). */
function peakPerSecond(records: ArmRecord[]): number {
  const buckets = new Map<number, number>();
  for (const r of records) buckets.set(Math.floor(r.at / 1000), (buckets.get(Math.floor(r.at / 1000)) ?? 0) + 1);
  return Math.max(0, ...buckets.values());
}

/** ARM requests summarised: writes (as ARM counts them), reads, operation polls, by method + type. */
export function armSummary(records: ArmRecord[]) {
  const writes = records.filter((r) => r.write);
  const polls = records.filter((r) => r.kind === 'operation');
  const reads = records.filter((r) => !r.write && r.kind !== 'operation');
  const readMs = reads.map((r) => r.durationMs).sort((a, b) => a - b);
  return {
    readsPeakPerSecond: peakPerSecond(reads),
    // How long the emulator took per read: tells an emulator bottleneck from an operator one.
    readDurationMs: { mean: readMs.reduce((a, b) => a + b, 0) / (readMs.length || 1), p95: percentile(readMs, 95) },
    writesPeakPerSecond: peakPerSecond(writes),
    total: records.length,
    writes: writes.length,
    reads: reads.length,
    operationPolls: polls.length,
    throttledOrFailed: records.filter((r) => r.status >= 400).length,
    byMethodType: countBy(records, (r) => `${r.method} ${shortType(r)}`),
    writesByType: countBy(writes, (r) => `${r.method} ${shortType(r)}`),
  };
}

/** Condition reasons and messages that mean an Azure quota reached a tenant (the goal: none). */
const QUOTA_SIGNS = /QuotaExceeded|LimitExceeded|NoSubscriptionCapacity|exceed(ing)? .*quota/i;

/**
 * Where the fleet went and what each subscription served: tenants placed (by subscription and
 * isolation), Ready, distinct SQL servers, ARM writes and reads per subscription, and every tenant
 * condition that carries a quota error.
 */
export function fleetPlacement(tenants: (KubeObject | undefined)[], arm: ArmRecord[]) {
  type Placed = { subscriptionId?: string; isolation?: string; sqlServer?: { name?: string } };
  type Condition = { type: string; status: string; reason?: string; message?: string };
  const subscriptions: Record<
    string,
    { tenants: number; shared: number; dedicated: number; sqlServers: number; armWrites: number; armReads: number }
  > = {};
  const servers = new Map<string, Set<string>>();
  const row = (id: string) => {
    subscriptions[id] ??= { tenants: 0, shared: 0, dedicated: 0, sqlServers: 0, armWrites: 0, armReads: 0 };
    return subscriptions[id];
  };
  let placed = 0;
  let ready = 0;
  const quotaConditions: string[] = [];
  for (const t of tenants) {
    const status = (t as { status?: { placement?: Placed; conditions?: Condition[] } } | undefined)?.status;
    const p = status?.placement;
    if (p?.subscriptionId) {
      placed++;
      const r = row(p.subscriptionId.toLowerCase());
      r.tenants++;
      if (p.isolation === 'Dedicated') r.dedicated++;
      else r.shared++;
      const set = servers.get(p.subscriptionId.toLowerCase()) ?? new Set();
      set.add(p.sqlServer?.name ?? '');
      servers.set(p.subscriptionId.toLowerCase(), set);
    }
    for (const c of status?.conditions ?? []) {
      if (c.type === 'Ready' && c.status === 'True') ready++;
      if (QUOTA_SIGNS.test(`${c.reason ?? ''} ${c.message ?? ''}`) && quotaConditions.length < 20)
        quotaConditions.push(`${t?.metadata.name} ${c.type} ${c.reason}`);
    }
  }
  for (const [id, set] of servers) row(id).sqlServers = set.size;
  for (const r of arm) {
    const id = /^\/subscriptions\/([^/]+)/i.exec(r.path)?.[1]?.toLowerCase();
    if (id === undefined || r.kind === 'operation') continue;
    if (r.write) row(id).armWrites++;
    else row(id).armReads++;
  }
  return { placed, ready, quotaConditions, subscriptions };
}

type Phase = ReturnType<typeof phaseClock>;

/** `after - before` per key, keeping only keys that grew. */
function countDelta(after: Record<string, number>, before: Record<string, number>): Record<string, number> {
  return Object.fromEntries(
    Object.entries(after)
      .map(([k, v]) => [k, v - (before[k] ?? 0)] as const)
      .filter(([, v]) => v > 0),
  );
}

const metricsNowOf = async (operator: OperatorProcess) => operatorCounters(await operator.metrics());

/** CPU and memory of every process, between two points in time. */
function phaseClock(pids: Record<string, () => number | undefined>) {
  const start = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, procSample(pid())?.cpuSeconds ?? 0]));
  const machine0 = machineBusySeconds();
  return {
    /** CPU seconds per process since the start, plus `other`: what the rest of the machine used. */
    cpu(): Record<string, number> {
      const ours = Object.fromEntries(
        Object.entries(pids).map(([k, pid]) => [k, (procSample(pid())?.cpuSeconds ?? Number.NaN) - (start[k] ?? 0)]),
      );
      const sum = Object.values(ours).reduce((a, v) => a + (Number.isFinite(v) ? v : 0), 0);
      return { ...ours, other: Math.max(0, machineBusySeconds() - machine0 - sum) };
    },
  };
}

export async function runSize(o: SizeOptions, log: (msg: string) => void) {
  const N = o.tenants;
  mkdirSync(o.logDir, { recursive: true });
  const cleanups: (() => Promise<void> | void)[] = [];
  const result: Record<string, unknown> = { tenants: N, options: o };
  try {
    // --- setup -----------------------------------------------------------------------------------
    const setupStarted = performance.now();
    execFileSync('bash', [join(REPO_ROOT, 'hack/build-controlplane.sh')], { stdio: ['ignore', 'ignore', 'inherit'] });
    const cp = new BenchControlPlane();
    cleanups.push(() => cp.stop());
    const info = await cp.start();
    const admin = adminClient(info.adminKubeconfig);
    await installCrds(admin);
    await installThirdPartyCrds(admin);
    await installRbac(admin);
    // The harness starts kube-apiserver with --service-cluster-ip-range=10.0.0.0/24: 253 Services,
    // one per tenant. A second ServiceCIDR (multi-CIDR allocator, GA in 1.33) makes room for large fleets.
    await admin.request('POST', '/apis/networking.k8s.io/v1/servicecidrs', {
      body: {
        apiVersion: 'networking.k8s.io/v1',
        kind: 'ServiceCIDR',
        metadata: { name: 'bench-fleet' },
        spec: { cidrs: ['10.96.0.0/16'] },
      },
    });
    const samples = join(REPO_ROOT, 'config/samples');
    await applyAll(admin, [
      ...readYamlObjects(join(samples, 'backuppolicy-default.yaml')),
      ...readYamlObjects(join(samples, 'maintenancewindow-default.yaml')),
    ]);
    const emulatorSubscription = o.layout.subscriptionIds[0] as string;
    const emulator = await startEmulator(join(info.dir, 'arm'), join(o.logDir, 'emulator.log'), {
      profile: o.profile,
      timeFactor: o.timeFactor,
      managedIdentityWritesPerSecond: o.msiWritesPerSecond,
      placement: o.layout.placement,
      extraSubscriptions: o.layout.subscriptionIds.filter((id) => id !== emulatorSubscription),
    });
    // The operator's own clocks scaled like Azure's durations: with 0.01 it polls a running
    // operation every 0.1 s instead of 10 s and retries a propagating role assignment after 0.3 s.
    const scale = o.profile === 'realistic' ? o.timeFactor : 0.005;
    cleanups.push(async () => {
      await stopChild(emulator.child, 'SIGTERM', 5_000);
    });
    const arm = new ArmLog(emulator.info);
    const audit = new AuditLog(info.auditLog);
    const kubelet = startWatchKubelet(admin);
    cleanups.push(() => kubelet.stop());
    const tracker = new TenantTracker(admin);
    cleanups.push(() => tracker.stop());
    await tracker.start();

    const port = await freePort();
    // Not .json/.yaml: biome checks bench/** and would flag generated files (the operator's loader reads YAML or JSON by content).
    const configFor = (name: string, resyncPeriodSeconds: number): string => {
      const path = join(o.logDir, `${name}.conf`);
      const config = {
        http: { port, host: '127.0.0.1' },
        resyncPeriodSeconds,
        concurrency: o.concurrency,
        logLevel: 'warn',
        leaderElection: { enabled: true },
        azure: {
          ...emulatorAzureConfig({
            endpoint: emulator.info.endpoint,
            caFile: emulator.info.caPath,
            subscriptionId: emulator.info.subscriptionId,
            directoryTenantId: emulator.info.directoryTenantId,
            sqlEndpoint: emulator.info.sqlEndpoint,
          }),
          writesPerSecond: o.armWritesPerSecond,
          writeBurst: o.armWriteBurst,
          readsPerSecond: o.armReadsPerSecond,
          readBurst: o.armReadsPerSecond,
          // The production default: trust a verified Azure check for 30 minutes.
          driftCheckIntervalSeconds: 1800,
          operationPollSeconds: Math.max(0.05, 10 * scale),
          rbacPropagationRetrySeconds: Math.max(0.05, 30 * scale),
          // What the emulator's realistic profile takes (5 minutes, scaled).
          rbacPropagationSeconds: 300 * scale,
          managedIdentityWritesPerSecond: o.msiWritesPerSecond * 0.9,
          placement: o.layout.placementConfig,
          subscriptions: o.layout.shards,
        },
      };
      writeFileSync(path, `${JSON.stringify(config, null, 2)}\n`);
      return path;
    };
    const configPath = configFor('operator', o.defaultResyncSeconds);
    let operator = new OperatorProcess({
      kubeconfig: info.operatorKubeconfig,
      configPath,
      port,
      entry: o.operatorEntry,
      nodeOptions: o.operatorNodeOptions,
      env: o.operatorEnv,
      logFile: join(o.logDir, 'operator-1.log'),
    });
    cleanups.push(async () => {
      if (operator.alive) await operator.stop();
    });
    const watch = new ProcWatch(() => operator.pid);
    cleanups.push(() => watch.stop());
    const processes: Record<string, unknown>[] = [];
    /** Memory and CPU of the current operator process, read just before it is stopped. */
    const recordProcess = (role: string, resyncSeconds: number) => {
      const p = operator.proc();
      processes.push({
        role,
        resyncSeconds,
        peakRssBytes: p?.peakRssBytes ?? Number.NaN,
        cpuSeconds: p?.cpuSeconds ?? Number.NaN,
        peakHeapUsedBytes: operator.peakHeapUsedBytes,
        peakExternalBytes: operator.peakExternalBytes,
      });
      result.processes = processes;
    };
    /** Starts a new operator process with `config` (the previous one must be stopped) and waits until it leads. */
    const startOperator = (config: string, logName: string) => {
      operator = new OperatorProcess({
        kubeconfig: info.operatorKubeconfig,
        configPath: config,
        port,
        entry: o.operatorEntry,
        nodeOptions: o.operatorNodeOptions,
        env: o.operatorEnv,
        logFile: join(o.logDir, logName),
      });
      return operator.waitLeading();
    };
    /** After a start: every tenant reconciled once and the tenant queue empty (polled on /metrics). */
    const waitConverged = async () => {
      const pollMs = N <= 100 ? 200 : N <= 300 ? 300 : 500;
      const deadline = performance.now() + 60_000 + N * 500;
      let last = await metricsNow();
      while (performance.now() < deadline) {
        last = await metricsNow();
        if (last.tenantReconciles >= N && last.tenantQueueDepth === 0)
          return { ms: performance.now() - operator.spawnedAt, reconciles: last.tenantReconciles };
        await sleep(pollMs);
      }
      log('warning: the operator did not converge after its start in time');
      return { ms: Number.NaN, reconciles: last.tenantReconciles };
    };
    const startup = await operator.waitLeading();
    await sleep(2000);
    const idle = operator.proc();
    const idleMetrics = await metricsNowOf(operator);
    result.setup = {
      ms: performance.now() - setupStarted,
      operatorStartup: startup,
      kubeApiServer: info.server,
      operatorIdle: {
        note: 'operator leading, caches synced, no tenants yet',
        rssBytes: idle?.rssBytes,
        peakRssBytes: idle?.peakRssBytes,
        heapUsedBytes: idleMetrics.heapUsedBytes,
        externalBytes: idleMetrics.externalBytes,
        openSockets: fdCounts(operator.pid)?.sockets,
      },
    };
    log(
      `setup done in ${((performance.now() - setupStarted) / 1000).toFixed(1)} s; operator leading after ${Math.round(startup.leaderMs)} ms`,
    );

    const pids = {
      operator: () => operator.pid,
      kubeApiServer: () => info.apiServerPid,
      etcd: () => info.etcdPid,
      armEmulator: () => emulator.child.pid,
      bench: () => process.pid,
    };
    const names = Array.from({ length: N }, (_, i) => `bench-${String(i + 1).padStart(5, '0')}`);
    const nameSet = new Set(names);
    const metricsNow = async () => operatorCounters(await operator.metrics());

    /** Background sampling of the operator's heap (from /metrics) while a phase runs. */
    const sampleHeap = (everyMs: number) => {
      let stop = false;
      const done = (async () => {
        while (!stop) {
          await operator.metrics().catch(() => undefined);
          for (let waited = 0; waited < everyMs && !stop; waited += 250) await sleep(250);
        }
      })();
      return async () => {
        stop = true;
        await done;
      };
    };

    /** Until the operator is quiet: empty queues, and no write (Kubernetes or ARM) for 3 s. */
    const settle = async (what: string, timeoutMs = 120_000 + N * 200) => {
      const started = performance.now();
      const deadline = started + timeoutMs;
      while (performance.now() < deadline) {
        await sleep(1000);
        const now = Date.now();
        const m = await metricsNow().catch(() => undefined);
        const kubeWrites = audit
          .between(now - 3000, now, OPERATOR_USER)
          .filter((r) => WRITE_VERBS.has(r.verb) && r.resource !== 'leases').length;
        const armWrites = (await arm.between(now - 3000, now)).filter((r) => r.write).length;
        if (m && m.queueDepthAll === 0 && kubeWrites === 0 && armWrites === 0) {
          return { ms: performance.now() - started, quiet: true };
        }
      }
      log(`warning: operator not quiet after ${timeoutMs / 1000} s (${what})`);
      return { ms: performance.now() - started, quiet: false };
    };

    const apiServerTotals = async () =>
      sumOf(
        parseMetrics(await adminGet(cp, '/metrics'), (n) => n === 'apiserver_request_total'),
        'apiserver_request_total',
      );

    // --- cold convergence ------------------------------------------------------------------------
    {
      log(`cold: creating ${N} tenants`);
      const phase: Phase = phaseClock(pids);
      const m0 = await metricsNow();
      const apiTotal0 = await apiServerTotals();
      const stopHeap = sampleHeap(N >= 500 ? 5000 : 2000);
      watch.take();
      const wall0 = Date.now();
      const t0 = performance.now();
      await pool(16, names, async (name, i) => {
        await admin.request('POST', TENANTS_PATH, { body: fleetTenant(name, i, o.layout.regions) });
      });
      const createdMs = performance.now() - t0;
      const progress = setInterval(() => log(`cold: ${tracker.readyCount()}/${N} Ready`), 15_000);
      // While the fleet onboards, a non-disruptive change to an already-Ready tenant must still land
      // within a second: one every 2 s, to the first Ready tenant not yet touched.
      const onboardingLatencies: number[] = [];
      let onboarding = true;
      const prober = (async () => {
        const touched = new Set<string>();
        while (onboarding) {
          await sleep(2000);
          const name = names.find((n) => !touched.has(n) && tracker.states.get(n)?.readyAt !== undefined);
          if (!onboarding || name === undefined || tracker.readyCount() === N) continue;
          touched.add(name);
          const c0 = performance.now();
          const updated = await admin.request<KubeObject>('PATCH', `${TENANTS_PATH}/${name}`, {
            body: { spec: { displayName: `Customer ${name} during onboarding` } },
            contentType: 'application/merge-patch+json',
          });
          const generation = updated.metadata.generation ?? 0;
          await tracker
            .waitFor(
              `observedGeneration ${generation} of ${name}`,
              () => (tracker.states.get(name)?.observedGeneration ?? 0) >= generation,
              60_000,
            )
            .then(() => onboardingLatencies.push((tracker.states.get(name)?.lastEventAt ?? Number.NaN) - c0))
            .catch(() => onboardingLatencies.push(60_000));
        }
      })();
      try {
        await tracker.waitFor(`${N} tenants Ready`, () => tracker.readyCount() === N, o.coldDeadlineMs ?? 180_000 + N * 1500);
      } finally {
        clearInterval(progress);
        onboarding = false;
        await prober;
      }
      const readyAt = names.map((n) => ((tracker.states.get(n)?.readyAt ?? Number.NaN) - t0) as number);
      const coldMs = Math.max(...readyAt);
      const wall1 = wall0 + Math.ceil(coldMs) + 1;
      await stopHeap();
      const cpu = phase.cpu();
      const m1 = await metricsNow();
      const proc = operator.proc();
      const peaks = watch.take();
      await sleep(1000);
      const apiTotal1 = await apiServerTotals();
      const allRequests = audit.between(wall0, wall1);
      const operatorRequests = allRequests.filter((r) => r.user === OPERATOR_USER);
      const armRecords = await arm.between(wall0, wall1);
      result.cold = {
        ms: coldMs,
        createMs: createdMs,
        perTenantReadyMs: summary(readyAt),
        operatorApi: apiSummary(operatorRequests),
        otherApi: countBy(
          allRequests.filter((r) => r.user !== OPERATOR_USER),
          (r) => r.user,
        ),
        arm: armSummary(armRecords),
        // The writes a cold start needs: the ones Azure accepted (a refused or throttled attempt is waste).
        acceptedWrites: armRecords.filter((r) => r.write && r.status < 300).length,
        managedIdentityWrites: armRecords.filter(
          (r) => r.write && r.status < 300 && /\/providers\/microsoft\.managedidentity\//i.test(r.path),
        ).length,
        // Per subscription: each has its own budgets (the physical floor's rule, and the operator's).
        acceptedWritesBySubscription: countBy(
          armRecords.filter((r) => r.write && r.status < 300),
          (r) => subscriptionOfUrl(r.path).toLowerCase(),
        ),
        managedIdentityWritesBySubscription: countBy(
          armRecords.filter((r) => r.write && r.status < 300 && /\/providers\/microsoft\.managedidentity\//i.test(r.path)),
          (r) => subscriptionOfUrl(r.path).toLowerCase(),
        ),
        changesDuringOnboarding: onboardingLatencies.length > 0 ? summary(onboardingLatencies) : undefined,
        reconciles: m1.tenantReconciles - m0.tenantReconciles,
        reconcileMeanMs:
          ((m1.reconcileSecondsSum - m0.reconcileSecondsSum) / (m1.reconcileCount - m0.reconcileCount || 1)) * 1000,
        firstReadyMs: Math.min(...readyAt),
        reconcileOutcomes: m1.outcomes,
        // What the cold phase's status writes changed, by part (the process counts from its start).
        statusChanges: countDelta(m1.statusChanges, m0.statusChanges),
        retries: m1.retries - m0.retries,
        cpuSeconds: cpu,
        operatorPeakRssBytes: proc?.peakRssBytes ?? Number.NaN,
        operatorRssBytes: proc?.rssBytes ?? Number.NaN,
        operatorPeakHeapUsedBytes: operator.peakHeapUsedBytes,
        operatorHeapUsedBytes: m1.heapUsedBytes,
        operatorPeakExternalBytes: operator.peakExternalBytes,
        operatorPeakOpenSockets: peaks.peakOpenSockets,
        crossCheck: {
          note: 'API server requests in the window, all users: apiserver_request_total delta vs audit-log count',
          apiserverRequestTotalDelta: apiTotal1 - apiTotal0,
          auditAllUsers: allRequests.length,
        },
      };
      (result.cold as Record<string, unknown>).fleet = fleetPlacement(
        names.map((n) => tracker.get(n)),
        armRecords,
      );
      log(`cold: ${N} Ready in ${(coldMs / 1000).toFixed(1)} s`);
      const settled = await settle('after cold convergence');
      const afterReady = audit.between(wall1, Date.now(), OPERATOR_USER);
      (result.cold as Record<string, unknown>).settle = {
        ...settled,
        operatorWritesAfterAllReady: apiSummary(afterReady).writesByVerbResource,
      };
    }

    // --- steady state ----------------------------------------------------------------------------
    {
      // The steady window needs a full resync inside it: a process with a short resync period,
      // used for this phase only (at 1000 tenants a pass takes most of a minute, so a short
      // period would keep the operator busy with back-to-back passes in every other phase).
      recordProcess('cold', o.defaultResyncSeconds);
      log(`steady: new operator process with resyncPeriodSeconds ${o.resyncSeconds}`);
      await operator.stop();
      await startOperator(configFor('operator-steady', o.resyncSeconds), 'operator-2-steady.log');
      const converged = await waitConverged();
      await settle('before steady state');
      log(`steady: ${o.steadySeconds} s (resync every ${o.resyncSeconds} s)`);
      const phase = phaseClock(pids);
      const m0 = await metricsNow();
      const heapBefore = m0.heapUsedBytes;
      operator.peakHeapUsedBytes = 0;
      const stopHeap = sampleHeap(5000);
      watch.take();
      const wall0 = Date.now();
      await sleep(o.steadySeconds * 1000);
      const wall1 = Date.now();
      await stopHeap();
      const m1 = await metricsNow();
      const cpu = phase.cpu();
      await sleep(1000);
      const op = apiSummary(audit.between(wall0, wall1, OPERATOR_USER));
      const armRecords = armSummary(await arm.between(wall0, wall1));
      const minutes = (wall1 - wall0) / 60_000;
      result.steady = {
        processConvergedMs: converged.ms,
        seconds: (wall1 - wall0) / 1000,
        resyncSeconds: o.resyncSeconds,
        reconciles: m1.tenantReconciles - m0.tenantReconciles,
        resyncPasses: (m1.tenantReconciles - m0.tenantReconciles) / N,
        kubeWrites: op.writes,
        kubeWritesByVerbResource: op.writesByVerbResource,
        kubeReadsPerMinute: op.reads / minutes,
        kubeReadsByVerbResource: countBy(
          audit.between(wall0, wall1, OPERATOR_USER).filter((r) => READ_VERBS.has(r.verb)),
          (r) => `${r.verb} ${r.resource}`,
        ),
        leaseRequestsPerMinute: op.leaseRequests / minutes,
        statusChanges: countDelta(m1.statusChanges, m0.statusChanges),
        armWrites: armRecords.writes,
        armWritesByType: armRecords.writesByType,
        armReadsPerMinute: armRecords.reads / minutes,
        armReadsPeakPerSecond: armRecords.readsPeakPerSecond,
        armReadsByType: armRecords.byMethodType,
        operatorCpuSeconds: cpu.operator,
        operatorCpuPercent: ((cpu.operator ?? 0) / ((wall1 - wall0) / 1000)) * 100,
        cpuSeconds: cpu,
        operatorHeapUsedBytes: { before: heapBefore, peak: operator.peakHeapUsedBytes, after: m1.heapUsedBytes },
        operatorRssBytes: operator.proc()?.rssBytes ?? Number.NaN,
        ...((p) => ({ operatorPeakRssInWindowBytes: p.peakRssBytes, operatorPeakOpenSockets: p.peakOpenSockets }))(watch.take()),
      };
      log(
        `steady: ${op.writes} Kubernetes writes, ${armRecords.writes} ARM writes, ${(m1.tenantReconciles - m0.tenantReconciles) / N} resync passes`,
      );
    }

    // --- restart ---------------------------------------------------------------------------------
    {
      log(`restart: SIGTERM, then a new operator process (resyncPeriodSeconds ${o.defaultResyncSeconds})`);
      recordProcess('steady', o.resyncSeconds);
      const stopped = await operator.stop();
      const restartPhase = phaseClock({ ...pids, operator: () => undefined });
      const wall0 = Date.now();
      const startup = await startOperator(configPath, 'operator-3.log');
      const converged = await waitConverged();
      const convergedMs = converged.ms;
      const last = { tenantReconciles: converged.reconciles };
      await sleep(5000);
      const wall1 = Date.now();
      // The new process counts from zero: what its status writes changed, by part.
      const statusChanges = (await metricsNow()).statusChanges;
      const op = apiSummary(audit.between(wall0, wall1, OPERATOR_USER));
      const armRecords = armSummary(await arm.between(wall0, wall1));
      const proc = operator.proc();
      const peaks = watch.take();
      result.restart = {
        shutdownMs: stopped.shutdownMs,
        exitCode: stopped.exitCode,
        readyMs: startup.readyMs,
        leaderMs: startup.leaderMs,
        convergedMs,
        reconciles: last.tenantReconciles,
        kubeWrites: op.writes,
        kubeWritesByVerbResource: op.writesByVerbResource,
        kubeReads: op.reads,
        kubeReadsByVerbResource: op.byVerbResource,
        armWrites: armRecords.writes,
        armWritesByType: armRecords.writesByType,
        armReads: armRecords.reads,
        operatorCpuSeconds: proc?.cpuSeconds,
        operatorPeakRssBytes: proc?.peakRssBytes,
        operatorPeakOpenSockets: peaks.peakOpenSockets,
        cpuSeconds: { ...restartPhase.cpu(), operator: proc?.cpuSeconds ?? Number.NaN },
        armReadDurationMs: armRecords.readDurationMs,
        statusChanges,
        note: 'writes counted from the new process start until convergence + 5 s',
      };
      log(
        `restart: converged ${(convergedMs / 1000).toFixed(1)} s after spawn; ${op.writes} Kubernetes writes, ${armRecords.writes} ARM writes`,
      );
    }

    // --- change latency --------------------------------------------------------------------------
    {
      await settle('before change latency');
      log(`changes: ${o.changes} sequential spec changes`);
      const latencies: Record<string, number[]> = { displayName: [], allowedSourceRanges: [] };
      const wall0 = Date.now();
      const writesPerKind: Record<string, { arm: number; kube: number }> = {
        displayName: { arm: 0, kube: 0 },
        allowedSourceRanges: { arm: 0, kube: 0 },
      };
      const depthAtChange: number[] = [];
      const m0 = await metricsNow();
      for (let k = 0; k < o.changes; k++) {
        depthAtChange.push((await metricsNow()).tenantQueueDepth);
        const name = names[(k * 7919) % N] as string;
        const field = k % 2 === 0 ? 'displayName' : 'allowedSourceRanges';
        const spec =
          field === 'displayName'
            ? { displayName: `Customer ${name} rev ${k}` }
            : { ingress: { allowedSourceRanges: [`203.0.113.${k % 250}/32`] } };
        const w0 = Date.now();
        const t0 = performance.now();
        const updated = await admin.request<KubeObject>('PATCH', `${TENANTS_PATH}/${name}`, {
          body: { spec },
          contentType: 'application/merge-patch+json',
        });
        const generation = updated.metadata.generation ?? 0;
        await tracker.waitFor(
          `observedGeneration ${generation} of ${name}`,
          () => (tracker.states.get(name)?.observedGeneration ?? 0) >= generation,
          30_000,
        );
        latencies[field]?.push((tracker.states.get(name)?.lastEventAt ?? Number.NaN) - t0);
        // Let the reconcile finish (the status write is its last step) and Azure go idle again.
        await sleep(300);
        const w1 = Date.now();
        const counts = writesPerKind[field] as { arm: number; kube: number };
        counts.arm += (await arm.between(w0, w1)).filter((r) => r.write).length;
        counts.kube += audit
          .between(w0, w1, OPERATOR_USER)
          .filter((r) => WRITE_VERBS.has(r.verb) && r.resource !== 'leases').length;
      }
      const all = [...(latencies.displayName ?? []), ...(latencies.allowedSourceRanges ?? [])];
      const m1 = await metricsNow();
      result.changes = {
        count: o.changes,
        // The operator was not idle if other reconciles ran meanwhile (periodic requeues, resyncs).
        reconcilesDuringPhase: m1.tenantReconciles - m0.tenantReconciles,
        tenantQueueDepthAtChange: summary(depthAtChange),
        all: summary(all),
        displayName: { ...summary(latencies.displayName ?? []), writes: writesPerKind.displayName },
        allowedSourceRanges: { ...summary(latencies.allowedSourceRanges ?? []), writes: writesPerKind.allowedSourceRanges },
        seconds: (Date.now() - wall0) / 1000,
      };
      const s = summary(all);
      log(`changes: p50 ${Math.round(s.p50)} ms, p95 ${Math.round(s.p95)} ms, p99 ${Math.round(s.p99)} ms`);
    }

    // --- mass change -----------------------------------------------------------------------------
    {
      await settle('before mass change');
      const policyPath = '/apis/tenancy.dev/v1alpha1/backuppolicies/default';
      const policy = await admin.request<KubeObject & { spec: { pointInTimeRetentionDays?: number } }>('GET', policyPath);
      const from = policy.spec.pointInTimeRetentionDays ?? 14;
      const to = from === 21 ? 14 : 21;
      log(`mass change: BackupPolicy default pointInTimeRetentionDays ${from} -> ${to}`);
      const snapshot = new Map(names.map((n) => [n, tracker.states.get(n)?.resourceVersion]));
      const statusChangedAt = new Map<string, number>();
      const unsubscribe = tracker.onChange((name, state) => {
        if (nameSet.has(name) && !statusChangedAt.has(name) && state.resourceVersion !== snapshot.get(name))
          statusChangedAt.set(name, state.lastEventAt);
      });
      const phase = phaseClock(pids);
      const m0 = await metricsNow();
      const wall0 = Date.now();
      const t0 = performance.now();
      await admin.request('PATCH', policyPath, {
        body: { spec: { pointInTimeRetentionDays: to } },
        contentType: 'application/merge-patch+json',
      });
      const deadline = t0 + 60_000 + N * 1000;
      let reconciledMs = Number.NaN;
      let m1 = m0;
      while (performance.now() < deadline) {
        await sleep(250);
        m1 = await metricsNow();
        if (m1.tenantReconciles - m0.tenantReconciles >= N && m1.tenantQueueDepth === 0) {
          reconciledMs = performance.now() - t0;
          break;
        }
      }
      await sleep(3000);
      unsubscribe();
      const wall1 = Date.now();
      const records = await arm.between(wall0, wall1);
      const retention = records.filter((r) => r.write && /backup(Short|Long)TermRetentionPolicies/i.test(r.resourceType ?? ''));
      const firstPerDb = new Map<string, number>();
      for (const r of retention) {
        const db = r.path.toLowerCase().replace(/\/backup(short|long)termretentionpolicies\/.*$/, '');
        if (!firstPerDb.has(db)) firstPerDb.set(db, r.at);
      }
      let mode: string;
      let ms: number;
      if (firstPerDb.size >= N) {
        mode = 'arm-retention-writes';
        ms = Math.max(...firstPerDb.values()) - wall0;
      } else if (statusChangedAt.size >= N) {
        mode = 'tenant-status';
        ms = Math.max(...statusChangedAt.values()) - t0;
      } else {
        mode = 'reconciles-only';
        ms = reconciledMs;
      }
      const op = apiSummary(audit.between(wall0, wall1, OPERATOR_USER));
      result.massChange = {
        change: `BackupPolicy default spec.pointInTimeRetentionDays ${from} -> ${to}`,
        measuredBy: mode,
        ms,
        allReconciledMs: reconciledMs,
        reconciles: m1.tenantReconciles - m0.tenantReconciles,
        retentionWritesDistinctDatabases: firstPerDb.size,
        tenantsWithStatusChange: statusChangedAt.size,
        arm: armSummary(records),
        kubeWrites: op.writes,
        kubeWritesByVerbResource: op.writesByVerbResource,
        cpuSeconds: phase.cpu(),
      };
      log(`mass change: ${(ms / 1000).toFixed(1)} s (${mode}), ${firstPerDb.size} retention writes`);
    }

    // --- the floor -------------------------------------------------------------------------------
    {
      await settle('before the floor');
      log('floor: reading back what the operator applied');
      const cached: CachedBytes = { objects: 0, jsonBytes: 0, managedFieldsBytes: 0 };
      const objects = await readOperatorObjects(admin, [...OWNED_NAMESPACED_KINDS], cached);
      const tenantBytes = tracker.list().reduce((a, t) => a + JSON.stringify(t).length, 0);
      const tenantManagedFieldsBytes = tracker
        .list()
        .reduce((a, t) => a + JSON.stringify((t.metadata as { managedFields?: unknown }).managedFields ?? []).length, 0);
      result.cachedObjects = {
        note: 'JSON size of the objects the operator watches (its label) and the Tenants, as the API server returns them, and the managedFields share (the operator drops managedFields from its caches since 9edd087)',
        ownedObjects: cached.objects,
        ownedJsonBytes: cached.jsonBytes,
        ownedManagedFieldsBytes: cached.managedFieldsBytes,
        tenantJsonBytes: tenantBytes,
        tenantManagedFieldsBytes,
        perTenantJsonBytes: (cached.jsonBytes + tenantBytes) / N,
      };
      const grouped = byTenant(objects);
      const cold = result.cold as { arm: { writesByType: Record<string, number> } };
      const armSteps = Object.entries(cold.arm.writesByType)
        .filter(([, count]) => count >= N / 2)
        .map(([key]) => `Microsoft.${key.split(' ')[1]}`);
      // The plain client blocks on every Azure operation (what the operator did before the engine):
      // above a few hundred tenants it takes far longer than the run itself, so only the physical
      // floor is computed there.
      if (N <= o.plainFloorMaxTenants) {
        const policy = await admin.request<KubeObject & { spec: Record<string, unknown> }>(
          'GET',
          '/apis/tenancy.dev/v1alpha1/backuppolicies/default',
        );
        const policySpec = backupPolicySpecSchema.parse(policy.spec);
        const plan: FloorPlan = {
          kubeconfig: info.operatorKubeconfig,
          configPath,
          concurrency: o.concurrency,
          kubeClient: o.floorClient,
          armSteps,
          // What the operator writes for this policy (src/backup/retention.ts), if it writes retention at all.
          retention: desiredRetention(policySpec),
          redundancy: policySpec.backupStorageRedundancy,
          tenants: names.map((n) =>
            floorTenant(
              tracker.get(n) as KubeObject,
              grouped.get(n) ?? [],
              'tenant-',
              n.replace(/^bench-/, 'floor-'),
              OWNED_NAMESPACED_KINDS,
            ),
          ),
        };
        const planPath = join(o.logDir, 'floor-plan.data');
        writeFileSync(planPath, JSON.stringify(plan));
        const objectsPerTenant = plan.tenants.reduce((a, t) => a + t.isolation.length + t.app.length, 0) / N;
        log(`floor: ${objectsPerTenant.toFixed(1)} objects per tenant, ARM steps: ${armSteps.length}`);
        const phase = phaseClock(pids);
        const wall0 = Date.now();
        const child = spawnTracked(process.execPath, ['bench/floor.ts', planPath]);
        let out = '';
        let err = '';
        child.stdout?.on('data', (c: Buffer) => {
          out += c.toString();
        });
        child.stderr?.on('data', (c: Buffer) => {
          err = (err + c.toString()).slice(-4000);
        });
        const timer = setTimeout(() => child.kill('SIGKILL'), 180_000 + N * 2000);
        const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
        clearTimeout(timer);
        const wall1 = Date.now();
        const floorCpu = phase.cpu();
        if (code !== 0) throw new Error(`floor exited with ${code}: ${err}`);
        const floor = JSON.parse(out.trim().split('\n').pop() as string) as {
          totalMs: number;
          perTenantMs: number[];
          kubeWrites: number;
          kubeMs: number;
          armMs: number;
          armWritesGranted: number;
          armLimiterWaitedMs: number;
          errors: string[];
          resourceUsage: { maxRSS: number; userCPUTime: number; systemCPUTime: number };
        };
        const armRecords = armSummary(await arm.between(wall0, wall1));
        const coldMs = (result.cold as { ms: number }).ms;
        const coldApi = (result.cold as { operatorApi: { writes: number } }).operatorApi;
        const coldArm = (result.cold as { arm: { writes: number } }).arm;
        result.floor = {
          ms: floor.totalMs,
          ratio: coldMs / floor.totalMs,
          perTenantMs: summary(floor.perTenantMs),
          objectsPerTenant,
          kubeWrites: floor.kubeWrites,
          operatorColdKubeWrites: coldApi.writes,
          armWrites: armRecords.writes,
          operatorColdArmWrites: coldArm.writes,
          armWritesByType: armRecords.writesByType,
          armSteps,
          kubeBusyMs: floor.kubeMs,
          armBusyMs: floor.armMs,
          armLimiterWaitedMs: floor.armLimiterWaitedMs,
          processPeakRssBytes: floor.resourceUsage.maxRSS * 1024,
          processCpuSeconds: (floor.resourceUsage.userCPUTime + floor.resourceUsage.systemCPUTime) / 1e6,
          cpuSeconds: { ...floorCpu, floor: (floor.resourceUsage.userCPUTime + floor.resourceUsage.systemCPUTime) / 1e6 },
          errors: floor.errors,
          note: 'floor = the operator’s applied objects (managedFields of tenant-operator) re-applied under floor-* namespaces + the ARM writes it made, create paths only; excludes Tenant finalizer/status writes and Events',
        };
        log(`floor: ${(floor.totalMs / 1000).toFixed(1)} s; operator/floor = ${(coldMs / floor.totalMs).toFixed(2)}`);
      } else {
        result.floor = {
          skipped: `plain-client floor not run above ${o.plainFloorMaxTenants} tenants (it waits for every operation)`,
          armSteps,
        };
        log(`floor: plain-client floor skipped (N > ${o.plainFloorMaxTenants})`);
      }
      const coldMs = (result.cold as { ms: number }).ms;
      const coldWrites = result.cold as {
        acceptedWritesBySubscription: Record<string, number>;
        managedIdentityWritesBySubscription: Record<string, number>;
      };
      const physical = physicalFloor({
        timing: { profile: o.profile, timeFactor: o.timeFactor },
        rbacPropagationMs: Math.round(DEFAULT_RBAC_PROPAGATION_MS * o.timeFactor),
        // Every type the cold start wrote, however often: a shared server is written once per pool,
        // and the pool's first tenant waits for it.
        writtenTypes: new Set(Object.keys(cold.arm.writesByType).map((key) => `Microsoft.${key.split(' ')[1]}`)),
        armWritesBySubscription: Object.values(coldWrites.acceptedWritesBySubscription),
        armWritesPerSecond: o.armWritesPerSecond,
        armWriteBurst: o.armWriteBurst,
        managedIdentityWritesBySubscription: Object.values(coldWrites.managedIdentityWritesBySubscription),
        managedIdentityWritesPerSecond: o.msiWritesPerSecond,
        placement: o.layout.placement,
      });
      (result.floor as Record<string, unknown>).physical = physical;
      (result.floor as Record<string, unknown>).physicalRatio = coldMs / physical.floorMs;
      log(
        `physical floor: ${(physical.floorMs / 1000).toFixed(1)} s (${physical.bound}; chain ${(physical.chainMs / 1000).toFixed(1)} s: ${physical.chain.join(' > ')}); operator/physical = ${(coldMs / physical.floorMs).toFixed(2)}`,
      );
    }

    recordProcess('restart onward', o.defaultResyncSeconds);
    result.operatorLogs = o.logDir;
    return result;
  } finally {
    for (const cleanup of cleanups.reverse()) {
      try {
        await cleanup();
      } catch (err) {
        log(`cleanup failed: ${(err as Error).message}`);
      }
    }
  }
}
