/**
 * `npm run bench` — the operator against a real control plane and the ARM emulator, measured.
 *
 *   node bench/run.ts [--tenants 200 | --sizes 100,300,1000] [--steady-seconds 120] [--changes 40]
 *                     [--concurrency 4] [--resync-seconds S/2] [--default-resync-seconds 600]
 *                     [--arm-writes-per-second 50]
 *                     [--arm-write-burst 100] [--arm-reads-per-second 1000] [--floor-client pooled|operator] [--operator dist|src]
 *                     [--operator-node-options=<the Dockerfile ENTRYPOINT's flags>] [--out FILE]
 *                     [--profile realistic|instant] [--time-factor 0.01] [--msi-writes-per-second 10]
 *                     [--placement shared|dedicated] [--subscriptions 4] [--regions 3]
 *
 * Quick mode (CI smoke test, under two minutes): `--tenants 10 --steady-seconds 20 --changes 10`.
 * Each size runs in a fresh control plane. Prints a table and writes every figure as JSON to
 * bench/results/<timestamp>.json (logs of the operator, emulator and the floor's plan next to it).
 * `--report FILE` prints the table of an earlier run's JSON without running anything.
 * See bench/README.md for what is measured and how.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DEDICATED_MAX_TENANTS, fleetLayout } from './fleet-layout.ts';
import { REPO_ROOT, stopAllChildren } from './infra.ts';
import { mb, msf, num, type Row, renderTable, sec, topCounts } from './report.ts';
import { runSize } from './scenario.ts';

const { values } = parseArgs({
  options: {
    tenants: { type: 'string' },
    sizes: { type: 'string' },
    'steady-seconds': { type: 'string', default: '120' },
    changes: { type: 'string' },
    concurrency: { type: 'string', default: '8' },
    'resync-seconds': { type: 'string' },
    'default-resync-seconds': { type: 'string', default: '600' },
    'arm-writes-per-second': { type: 'string', default: '50' },
    'arm-write-burst': { type: 'string', default: '100' },
    'arm-reads-per-second': { type: 'string', default: '1000' },
    'floor-client': { type: 'string', default: 'pooled' },
    operator: { type: 'string', default: 'dist' },
    // Default: what the image's entrypoint passes (Dockerfile, the one place the flags are chosen).
    'operator-node-options': { type: 'string' },
    out: { type: 'string' },
    report: { type: 'string' },
    // Azure's operation durations (hack/arm-emulator/README.md), scaled: 0.01 makes a 2-minute
    // database create take 1.2 s. `instant` is the old 5 ms world that hid blocking workers.
    profile: { type: 'string', default: 'realistic' },
    'time-factor': { type: 'string', default: '0.01' },
    // Microsoft.ManagedIdentity's write limit, scaled like the ARM write budget (Azure: ~2/s).
    'msi-writes-per-second': { type: 'string', default: '10' },
    'plain-floor-max-tenants': { type: 'string', default: '300' },
    // The fleet layout (bench/fleet-layout.ts): shared SQL servers across 3 regions and 4
    // subscriptions at Azure's default quotas, or the old dedicated layout (<= 250 tenants).
    placement: { type: 'string', default: 'shared' },
    subscriptions: { type: 'string', default: '4' },
    regions: { type: 'string', default: '3' },
    // A machine shared with other work needs longer than the default 180 s + 1.5 s per tenant.
    'cold-deadline-seconds': { type: 'string' },
  },
  allowPositionals: false,
});

const positiveInt = (name: string, raw: string | undefined, fallback: number): number => {
  const value = raw === undefined ? fallback : Number(raw);
  if (!Number.isInteger(value) || value <= 0) {
    process.stderr.write(`bench: --${name} must be a positive integer\n`);
    process.exit(2);
  }
  return value;
};

const sizes = values.sizes
  ? values.sizes.split(',').map((s) => positiveInt('sizes', s.trim(), 0))
  : [positiveInt('tenants', values.tenants, 200)];
const steadySeconds = positiveInt('steady-seconds', values['steady-seconds'], 120);
const changes = positiveInt('changes', values.changes, steadySeconds < 60 ? 10 : 40);
const concurrency = positiveInt('concurrency', values.concurrency, 8);
// At least one full resync inside the steady window: two periods fit in it (config minimum 10 s),
// so the first tick inside the window has a whole period left to finish its pass.
const resyncSeconds = positiveInt('resync-seconds', values['resync-seconds'], Math.max(10, Math.floor(steadySeconds / 2)));
const defaultResyncSeconds = positiveInt('default-resync-seconds', values['default-resync-seconds'], 600);
const armWritesPerSecond = positiveInt('arm-writes-per-second', values['arm-writes-per-second'], 50);
const armWriteBurst = positiveInt('arm-write-burst', values['arm-write-burst'], 100);
// The emulator is the read bottleneck here; production defaults to 20/s (ARM grants 25/s).
const armReadsPerSecond = positiveInt('arm-reads-per-second', values['arm-reads-per-second'], 1000);

const floorClient = values['floor-client'] === 'operator' ? 'operator' : 'pooled';
const profile = values.profile === 'instant' ? 'instant' : 'realistic';
const timeFactor = Number(values['time-factor']);
if (!(timeFactor > 0 && timeFactor <= 1)) {
  process.stderr.write('bench: --time-factor must be in (0, 1]\n');
  process.exit(2);
}
const msiWritesPerSecond = positiveInt('msi-writes-per-second', values['msi-writes-per-second'], 10);
const plainFloorMaxTenants = positiveInt('plain-floor-max-tenants', values['plain-floor-max-tenants'], 300);
if (values.placement !== 'shared' && values.placement !== 'dedicated') {
  process.stderr.write('bench: --placement must be shared or dedicated\n');
  process.exit(2);
}
const layout = fleetLayout(
  values.placement,
  positiveInt('subscriptions', values.subscriptions, 4),
  positiveInt('regions', values.regions, 3),
);
if (layout.placement === 'dedicated' && !values.report && sizes.some((n) => n > DEDICATED_MAX_TENANTS)) {
  // One subscription at Azure's ceiling of 250 SQL servers per region: the operator would refuse
  // the rest with NoSubscriptionCapacity, as it should.
  process.stderr.write(
    `bench: --placement dedicated fits at most ${DEDICATED_MAX_TENANTS} tenants (one server each, one subscription)\n`,
  );
  process.exit(2);
}
// By default the operator runs as the image runs it: compiled JavaScript (`npm run build`), since
// Node's type stripping alone costs ~17 MB of resident memory, with the image's V8 flags.
// `--operator src` runs the sources; `--operator-node-options=` (empty) drops the flags.
const operatorEntry = values.operator === 'src' ? 'src/main.ts' : 'dist/main.js';
const operatorNodeOptions = (values['operator-node-options'] ?? imageNodeOptions()).split(/\s+/).filter(Boolean);

/** The Node/V8 flags of the image's ENTRYPOINT (Dockerfile): the bench runs the operator as the image does. */
function imageNodeOptions(): string {
  const entry = /^ENTRYPOINT\s+(\[.*\])\s*$/m.exec(readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8'));
  const argv = entry?.[1] === undefined ? [] : (JSON.parse(entry[1]) as string[]);
  const main = argv.indexOf('dist/main.js');
  if (main < 1) throw new Error('bench: the Dockerfile ENTRYPOINT does not run node ... dist/main.js');
  return argv.slice(1, main).join(' ');
}

/** The image's `ENV KEY=VALUE` lines (Dockerfile): the operator's environment as the image sets it. */
function imageEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [, key, value] of readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8').matchAll(
    /^ENV\s+([A-Z_][A-Z0-9_]*)=(\S+)\s*$/gm,
  ))
    if (key !== undefined && value !== undefined) env[key] = value;
  return env;
}
const operatorEnv = imageEnv();

const stamp = new Date().toISOString().replace(/[:.]/g, '-');
const resultsDir = join(REPO_ROOT, 'bench', 'results');
const outFile = values.out ?? join(resultsDir, `${stamp}.json`);
const logRoot = join(resultsDir, `${stamp}-logs`);
mkdirSync(resultsDir, { recursive: true });

const benchStarted = performance.now();
const operatorRevision = revision();
const log = (msg: string) =>
  process.stderr.write(`[bench ${((performance.now() - benchStarted) / 1000).toFixed(0).padStart(4)}s] ${msg}\n`);

let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (interrupted) return;
    interrupted = true;
    log(`${signal}: stopping every process the benchmark started`);
    // Children are ended here; the control plane's own exit hook kills kube-apiserver and etcd.
    void stopAllChildren().finally(() => process.exit(130));
  });
}

/** Which operator was measured: the commit, and a digest of uncommitted changes under src/. */
function revision() {
  const git = (...args: string[]) => {
    try {
      return execFileSync('git', args, { cwd: REPO_ROOT, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }).trim();
    } catch {
      return '';
    }
  };
  const diff = git('diff', 'HEAD', '--', 'src');
  return {
    commit: git('rev-parse', '--short', 'HEAD'),
    subject: git('log', '-1', '--format=%s').slice(0, 120),
    srcUncommittedFiles: git('status', '--porcelain', '--', 'src').split('\n').filter(Boolean).length,
    srcDiffSha256: diff ? createHash('sha256').update(diff).digest('hex').slice(0, 12) : '',
  };
}

function machine() {
  const versions = readFileSync(join(REPO_ROOT, 'hack/controlplane/versions.env'), 'utf8');
  let kernel = '';
  try {
    kernel = execFileSync('uname', ['-sr'], { encoding: 'utf8' }).trim();
  } catch {}
  return {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? '',
    memoryBytes: totalmem(),
    node: process.version,
    kernel,
    controlPlane: Object.fromEntries(
      versions
        .split('\n')
        .filter((l) => /^[A-Z_]+=/.test(l))
        .map((l) => l.split('=').map((s) => s.replace(/"/g, '')) as [string, string]),
    ),
  };
}

// biome-ignore lint/suspicious/noExplicitAny: the result tree is plain JSON built by scenario.ts
type Json = any;
const saved: Json = values.report ? JSON.parse(readFileSync(values.report, 'utf8')) : undefined;
const results: Json[] = saved?.results ?? [];
let failure: Error | undefined;
if (!saved && operatorEntry === 'dist/main.js') {
  log('building the operator (npm run build -> dist/)');
  execFileSync(process.execPath, [join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], {
    cwd: REPO_ROOT,
    stdio: 'inherit',
  });
}
for (const tenants of saved ? [] : sizes) {
  if (interrupted) break;
  log(`=== ${tenants} tenants ===`);
  try {
    results.push(
      await runSize(
        {
          tenants,
          steadySeconds,
          changes,
          concurrency,
          resyncSeconds,
          defaultResyncSeconds,
          armWritesPerSecond,
          armWriteBurst,
          armReadsPerSecond,
          floorClient,
          operatorEntry,
          operatorNodeOptions,
          operatorEnv,
          profile,
          timeFactor,
          msiWritesPerSecond,
          plainFloorMaxTenants,
          layout,
          coldDeadlineMs:
            values['cold-deadline-seconds'] === undefined
              ? undefined
              : positiveInt('cold-deadline-seconds', values['cold-deadline-seconds'], 0) * 1000,
          logDir: join(logRoot, `n${tenants}`),
        },
        (msg) => log(`[N=${tenants}] ${msg}`),
      ),
    );
  } catch (err) {
    failure = err as Error;
    log(`N=${tenants} failed: ${failure.stack ?? failure.message}`);
    break;
  }
}

const report = saved ?? {
  startedAt: new Date(Date.now() - (performance.now() - benchStarted)).toISOString(),
  command: `node bench/run.ts ${process.argv.slice(2).join(' ')}`.trim(),
  machine: machine(),
  operator: operatorRevision,
  settings: {
    sizes,
    steadySeconds,
    changes,
    concurrency,
    resyncSeconds,
    defaultResyncSeconds,
    armWritesPerSecond,
    armWriteBurst,
    armReadsPerSecond,
    floorClient,
    operatorEntry,
    operatorNodeOptions,
    operatorEnv,
    profile,
    timeFactor,
    msiWritesPerSecond,
    layout,
  },
  results,
  ...(failure ? { failure: failure.message } : {}),
};
if (!saved) {
  writeFileSync(outFile, `${JSON.stringify(report, null, 2)}\n`);
  // bench/** is linted: give the file the repository's JSON formatting so `make lint` stays green.
  try {
    execFileSync(join(REPO_ROOT, 'node_modules/.bin/biome'), ['format', '--write', outFile], { stdio: 'ignore' });
  } catch {
    log('note: could not format the JSON with biome (make lint may flag it)');
  }
}

// --- the table -------------------------------------------------------------------------------------

const col = (f: (r: Json) => string): string[] => results.map((r) => f(r));
const per = (total: number, n: number) => num(total / n, 1);
const processes = (r: Json): Json[] => r.processes ?? [];
const peakRss = (r: Json) => Math.max(0, ...processes(r).map((p) => p.peakRssBytes ?? 0));
const peakHeap = (r: Json) =>
  Math.max(r.cold?.operatorPeakHeapUsedBytes ?? 0, ...processes(r).map((p) => p.peakHeapUsedBytes ?? 0));
const rssOf = (r: Json, role: string) => processes(r).find((p) => p.role === role)?.peakRssBytes ?? Number.NaN;
const verdict = (ok: boolean) => (ok ? 'PASS' : 'FAIL');

const rows: Row[] = [
  { section: 'cold convergence (create N Tenants -> all Ready)', label: '', values: [] },
  { label: 'time to all Ready', values: col((r) => sec(r.cold.ms)) },
  {
    label: '  placed / Ready / subscriptions used',
    values: col((r) =>
      r.cold.fleet
        ? `${r.cold.fleet.placed} / ${r.cold.fleet.ready} / ${Object.values(r.cold.fleet.subscriptions as Record<string, Json>).filter((s) => s.tenants > 0).length}`
        : 'n/a',
    ),
  },
  {
    label: '  quota errors in tenant conditions (goal 0)',
    values: col((r) => (r.cold.fleet ? `${r.cold.fleet.quotaConditions.length}` : 'n/a')),
  },
  { label: '  per tenant', values: col((r) => msf(r.cold.ms / r.tenants)) },
  {
    label: '  tenant Ready p50 / p95',
    values: col((r) => `${sec(r.cold.perTenantReadyMs.p50)} / ${sec(r.cold.perTenantReadyMs.p95)}`),
  },
  { label: '  first tenant Ready', values: col((r) => sec(r.cold.firstReadyMs)) },
  { label: '  reconciles per tenant', values: col((r) => per(r.cold.reconciles, r.tenants)) },
  { label: '  mean reconcile', values: col((r) => msf(r.cold.reconcileMeanMs)) },
  { label: 'API requests (operator)', values: col((r) => `${r.cold.operatorApi.total}`) },
  { label: '  writes / reads', values: col((r) => `${r.cold.operatorApi.writes} / ${r.cold.operatorApi.reads}`) },
  { label: '  writes per tenant', values: col((r) => per(r.cold.operatorApi.writes, r.tenants)) },
  { label: '  lease requests', values: col((r) => `${r.cold.operatorApi.leaseRequests}`) },
  { label: 'ARM requests', values: col((r) => `${r.cold.arm.total}`) },
  {
    label: '  writes / reads / polls',
    values: col((r) => `${r.cold.arm.writes} / ${r.cold.arm.reads} / ${r.cold.arm.operationPolls}`),
  },
  {
    label: '  per tenant (w / r)',
    values: col((r) => `${per(r.cold.arm.writes, r.tenants)} / ${per(r.cold.arm.reads, r.tenants)}`),
  },
  {
    label: '  emulator time per read mean / p95',
    values: col((r) =>
      r.cold.arm.readDurationMs ? `${msf(r.cold.arm.readDurationMs.mean)} / ${msf(r.cold.arm.readDurationMs.p95)}` : 'n/a',
    ),
  },
  { label: 'operator CPU', values: col((r) => `${num(r.cold.cpuSeconds.operator, 1)} s`) },
  {
    label: 'apiserver / etcd / emulator CPU',
    values: col(
      (r) =>
        `${num(r.cold.cpuSeconds.kubeApiServer, 0)} / ${num(r.cold.cpuSeconds.etcd, 0)} / ${num(r.cold.cpuSeconds.armEmulator, 0)} s`,
    ),
  },
  {
    label: '  CPU outside the bench (other load)',
    values: col((r) => (r.cold.cpuSeconds.other === undefined ? 'n/a' : `${num(r.cold.cpuSeconds.other, 0)} s`)),
  },
  { label: 'operator peak RSS (VmHWM)', values: col((r) => mb(r.cold.operatorPeakRssBytes)) },
  { label: 'operator heap used (peak)', values: col((r) => mb(r.cold.operatorPeakHeapUsedBytes)) },
  { section: 'steady state', label: '', values: [] },
  { label: 'new process converged (spawn ->)', values: col((r) => sec(r.steady.processConvergedMs)) },
  { label: 'window / resync period', values: col((r) => `${num(r.steady.seconds)} s / ${r.steady.resyncSeconds} s`) },
  { label: '  resync passes (reconciles / N)', values: col((r) => num(r.steady.resyncPasses, 1)) },
  { label: 'API writes (goal 0)', values: col((r) => `${r.steady.kubeWrites}`) },
  { label: 'ARM writes (goal 0)', values: col((r) => `${r.steady.armWrites}`) },
  { label: 'API reads / min', values: col((r) => num(r.steady.kubeReadsPerMinute, 1)) },
  { label: '  lease requests / min', values: col((r) => num(r.steady.leaseRequestsPerMinute, 1)) },
  { label: 'ARM reads / min', values: col((r) => num(r.steady.armReadsPerMinute, 0)) },
  { label: '  ARM reads, peak per second', values: col((r) => `${r.steady.armReadsPeakPerSecond}`) },
  { label: 'operator CPU (avg)', values: col((r) => `${num(r.steady.operatorCpuPercent, 1)} %`) },
  { label: 'operator heap used (peak)', values: col((r) => mb(r.steady.operatorHeapUsedBytes.peak)) },
  { section: 'restart (SIGTERM, new process)', label: '', values: [] },
  { label: 'graceful shutdown', values: col((r) => sec(r.restart.shutdownMs)) },
  { label: 'spawn -> caches synced', values: col((r) => sec(r.restart.readyMs)) },
  { label: 'spawn -> leader', values: col((r) => sec(r.restart.leaderMs)) },
  { label: 'spawn -> all confirmed', values: col((r) => sec(r.restart.convergedMs)) },
  { label: 'API writes (goal 0)', values: col((r) => `${r.restart.kubeWrites}`) },
  { label: 'ARM writes (goal 0)', values: col((r) => `${r.restart.armWrites}`) },
  { label: 'ARM reads', values: col((r) => `${r.restart.armReads}`) },
  {
    label: '  emulator time per read mean / p95',
    values: col((r) =>
      r.restart.armReadDurationMs ? `${msf(r.restart.armReadDurationMs.mean)} / ${msf(r.restart.armReadDurationMs.p95)}` : 'n/a',
    ),
  },
  {
    label: '  CPU operator / apiserver / emulator',
    values: col((r) =>
      r.restart.cpuSeconds
        ? `${num(r.restart.cpuSeconds.operator, 0)} / ${num(r.restart.cpuSeconds.kubeApiServer, 0)} / ${num(r.restart.cpuSeconds.armEmulator, 0)} s`
        : 'n/a',
    ),
  },
  { section: 'change latency (spec change -> observedGeneration), sequential', label: '', values: [] },
  { label: 'changes', values: col((r) => `${r.changes.count}`) },
  {
    label: '  other reconciles meanwhile',
    values: col((r) =>
      r.changes.reconcilesDuringPhase === undefined ? 'n/a' : `${r.changes.reconcilesDuringPhase - r.changes.count}`,
    ),
  },
  {
    label: '  queue depth at change (max)',
    values: col((r) => (r.changes.tenantQueueDepthAtChange ? `${r.changes.tenantQueueDepthAtChange.max}` : 'n/a')),
  },
  {
    label: 'p50 / p95 / p99',
    values: col((r) => `${msf(r.changes.all.p50)} / ${msf(r.changes.all.p95)} / ${msf(r.changes.all.p99)}`),
  },
  {
    label: '  displayName p50 / max',
    values: col((r) => `${msf(r.changes.displayName.p50)} / ${msf(r.changes.displayName.max)}`),
  },
  {
    label: '  allowedSourceRanges p50 / max',
    values: col((r) => `${msf(r.changes.allowedSourceRanges.p50)} / ${msf(r.changes.allowedSourceRanges.max)}`),
  },
  { section: 'mass change (BackupPolicy edit touching every tenant)', label: '', values: [] },
  { label: 'time', values: col((r) => sec(r.massChange.ms)) },
  { label: '  measured by', values: col((r) => r.massChange.measuredBy) },
  {
    label: '  reconciles / ARM writes / ARM reads',
    values: col((r) => `${r.massChange.reconciles} / ${r.massChange.arm.writes} / ${r.massChange.arm.reads}`),
  },
  {
    section: 'physical floor (one tenant’s critical path at the emulator’s durations; writes at their budgets)',
    label: '',
    values: [],
  },
  {
    label: 'physical floor',
    values: col((r) => (r.floor.physical ? `${sec(r.floor.physical.floorMs)} (${r.floor.physical.bound})` : 'n/a')),
  },
  {
    label: '  chain / ARM writes / MSI writes',
    values: col((r) =>
      r.floor.physical
        ? `${sec(r.floor.physical.chainMs)} / ${sec(r.floor.physical.writeBoundMs)} / ${sec(r.floor.physical.managedIdentityBoundMs)}`
        : 'n/a',
    ),
  },
  {
    label: 'operator / physical floor (goal <= 1.25)',
    values: col((r) => (r.floor.physical ? num(r.floor.physicalRatio, 2) : 'n/a')),
  },
  {
    // The other physical limit: the CPU every process of the system under test used, spread over
    // all cores. A run near 1.0 here is bound by the machine, whatever the physical floor says.
    label: 'CPU floor (operator+apiserver+etcd+emulator CPU / cores), ratio',
    values: col((r) => {
      const c = r.cold.cpuSeconds;
      const floorS = (c.operator + c.kubeApiServer + c.etcd + c.armEmulator) / report.machine.cpus;
      return Number.isFinite(floorS) ? `${num(floorS, 1)} s, ${num(r.cold.ms / 1000 / floorS, 2)}x` : 'n/a';
    }),
  },
  {
    // What the machine leaves the goal with no operator at all: the CPU the control plane, the
    // emulator and the bench itself spent over all cores, against the physical floor. Above 1.25x,
    // the 1.25x goal is out of reach on this machine whatever the operator does (on AKS the
    // control plane and Azure run elsewhere).
    label: '  without the operator (apiserver+etcd+emulator+bench CPU / cores), x physical',
    values: col((r) => {
      const c = r.cold.cpuSeconds;
      const othersS = (c.kubeApiServer + c.etcd + c.armEmulator + c.bench) / report.machine.cpus;
      if (!Number.isFinite(othersS)) return 'n/a';
      const physicalS = r.floor.physical ? r.floor.physical.floorMs / 1000 : Number.NaN;
      return `${num(othersS, 1)} s${Number.isFinite(physicalS) ? `, ${num(othersS / physicalS, 2)}x` : ''}`;
    }),
  },
  {
    label: 'change p99 during onboarding (goal < 1 s)',
    values: col((r) => (r.cold.changesDuringOnboarding ? msf(r.cold.changesDuringOnboarding.p99) : 'n/a')),
  },
  { section: 'floor (same objects + ARM writes, plain client, same concurrency and write limit)', label: '', values: [] },
  { label: 'floor time', values: col((r) => (r.floor.skipped ? 'not run' : sec(r.floor.ms))) },
  {
    label: '  ARM write budget alone',
    values: col((r) =>
      r.floor.skipped
        ? 'not run'
        : sec((Math.max(0, r.floor.armWrites - r.options.armWriteBurst) / r.options.armWritesPerSecond) * 1000),
    ),
  },
  { label: 'operator / floor (goal <= 1.5)', values: col((r) => (r.floor.skipped ? 'not run' : num(r.floor.ratio, 2))) },
  {
    label: '  API writes: floor / operator',
    values: col((r) => (r.floor.skipped ? 'not run' : `${r.floor.kubeWrites} / ${r.floor.operatorColdKubeWrites}`)),
  },
  {
    label: '  ARM writes: floor / operator',
    values: col((r) => (r.floor.skipped ? 'not run' : `${r.floor.armWrites} / ${r.floor.operatorColdArmWrites}`)),
  },
  { label: '  floor process peak RSS', values: col((r) => (r.floor.skipped ? 'not run' : mb(r.floor.processPeakRssBytes))) },
  {
    label: '  CPU: floor proc / apiserver',
    values: col((r) =>
      r.floor.skipped ? 'not run' : `${num(r.floor.cpuSeconds.floor, 1)} / ${num(r.floor.cpuSeconds.kubeApiServer, 1)} s`,
    ),
  },
  { section: 'memory over the whole run', label: '', values: [] },
  {
    label: 'operator idle, 0 tenants (RSS / heap)',
    values: col((r) => `${mb(r.setup.operatorIdle.rssBytes)} / ${mb(r.setup.operatorIdle.heapUsedBytes)}`),
  },
  { label: 'operator peak RSS (max of processes)', values: col((r) => mb(peakRss(r))) },
  {
    label: '  cold / steady / restart process',
    values: col((r) => `${mb(rssOf(r, 'cold'))} / ${mb(rssOf(r, 'steady'))} / ${mb(rssOf(r, 'restart onward'))}`),
  },
  { label: 'operator peak heap used', values: col((r) => mb(peakHeap(r))) },
  {
    label: '  per tenant above idle (RSS)',
    values: col((r) => `${num((peakRss(r) - (r.setup?.operatorIdle?.rssBytes ?? 0)) / r.tenants / 1024, 0)} KiB`),
  },
  {
    label: 'API JSON per tenant (managedFields share)',
    values: col((r) =>
      r.cachedObjects
        ? `${num(r.cachedObjects.perTenantJsonBytes / 1024, 1)} KB (${num(((r.cachedObjects.ownedManagedFieldsBytes + r.cachedObjects.tenantManagedFieldsBytes) / (r.cachedObjects.ownedJsonBytes + r.cachedObjects.tenantJsonBytes)) * 100, 0)} %)`
        : 'n/a',
    ),
  },
  { section: 'goals', label: '', values: [] },
  {
    label: 'cold <= 1.25x physical floor',
    values: col((r) => (r.floor.physical ? verdict(r.floor.physicalRatio <= 1.25) : 'n/a')),
  },
  { label: 'cold <= 1.5x plain-client floor', values: col((r) => (r.floor.skipped ? 'not run' : verdict(r.floor.ratio <= 1.5))) },
  { label: 'zero writes in steady state', values: col((r) => verdict(r.steady.kubeWrites === 0 && r.steady.armWrites === 0)) },
  { label: 'zero writes after restart', values: col((r) => verdict(r.restart.kubeWrites === 0 && r.restart.armWrites === 0)) },
  {
    label: 'peak RSS <= 300 MiB (goal at 1000)',
    values: col((r) => `${verdict(peakRss(r) <= 300 * 1024 * 1024)}${r.tenants >= 1000 ? '' : ' (N<1000)'}`),
  },
  {
    label: 'peak RSS <= 400 MiB (goal at 3000)',
    values: col((r) => (r.tenants >= 3000 ? verdict(peakRss(r) <= 400 * 1024 * 1024) : 'n/a (N<3000)')),
  },
  { label: 'p99 change latency < 1 s', values: col((r) => verdict(r.changes.all.p99 < 1000)) },
];

if (results.length > 0) {
  const m = report.machine;
  const rev = report.operator ?? {};
  const st = report.settings;
  process.stdout.write(
    `\ntenant-operator ${rev.commit ?? '?'}${rev.srcUncommittedFiles ? ` (+${rev.srcUncommittedFiles} uncommitted src files)` : ''} benchmark: ${m.cpus} x ${m.cpuModel}, ${mb(m.memoryBytes)}, Node ${m.node}; concurrency ${st.concurrency}, ARM writes ${st.armWritesPerSecond}/s (burst ${st.armWriteBurst}), resync ${st.resyncSeconds} s in the steady phase, ${st.defaultResyncSeconds ?? 'same'} s otherwise${st.layout ? `; ${st.layout.placement} placement, ${st.layout.subscriptionIds.length} subscription(s), ${st.layout.regions.length} regions` : ''}\n\n`,
  );
  process.stdout.write(
    `${renderTable(
      results.map((r) => `N=${r.tenants}`),
      rows,
    )}\n`,
  );
  for (const r of results) {
    process.stdout.write(`\nN=${r.tenants} details\n`);
    process.stdout.write(`  cold API requests (operator): ${topCounts(r.cold.operatorApi.byVerbResource, 12)}\n`);
    process.stdout.write(`  cold ARM requests: ${topCounts(r.cold.arm.byMethodType, 12)}\n`);
    for (const [id, sub] of Object.entries((r.cold.fleet?.subscriptions ?? {}) as Record<string, Json>))
      process.stdout.write(
        `  subscription ${id}: ${sub.tenants} tenants (${sub.shared} shared, ${sub.dedicated} dedicated) on ${sub.sqlServers} SQL servers; cold ARM writes ${sub.armWrites}, reads ${sub.armReads}\n`,
      );
    if (r.cold.fleet?.quotaConditions.length)
      process.stdout.write(`  quota errors: ${r.cold.fleet.quotaConditions.join(' | ')}\n`);
    if (r.cold.statusChanges) process.stdout.write(`  cold status writes changed: ${topCounts(r.cold.statusChanges, 12)}\n`);
    if (r.steady.kubeWrites > 0) process.stdout.write(`  steady API writes: ${topCounts(r.steady.kubeWritesByVerbResource)}\n`);
    if (r.steady.statusChanges && Object.keys(r.steady.statusChanges).length > 0)
      process.stdout.write(`  steady status writes changed: ${topCounts(r.steady.statusChanges)}\n`);
    if (r.steady.armWrites > 0) process.stdout.write(`  steady ARM writes: ${topCounts(r.steady.armWritesByType)}\n`);
    process.stdout.write(`  steady API reads: ${topCounts(r.steady.kubeReadsByVerbResource)}\n`);
    if (r.restart.kubeWrites > 0) {
      process.stdout.write(`  restart API writes: ${topCounts(r.restart.kubeWritesByVerbResource)}\n`);
      if (r.restart.statusChanges)
        process.stdout.write(`  restart status writes changed: ${topCounts(r.restart.statusChanges)}\n`);
    }
    if (r.restart.armWrites > 0) process.stdout.write(`  restart ARM writes: ${topCounts(r.restart.armWritesByType)}\n`);
    process.stdout.write(`  mass change ARM: ${topCounts(r.massChange.arm.byMethodType)}\n`);
    process.stdout.write(
      `  change writes: displayName ${r.changes.displayName.writes.kube} API / ${r.changes.displayName.writes.arm} ARM; allowedSourceRanges ${r.changes.allowedSourceRanges.writes.kube} API / ${r.changes.allowedSourceRanges.writes.arm} ARM (over ${r.changes.count / 2} changes each)\n`,
    );
    process.stdout.write(
      r.floor.skipped
        ? `  floor: ${r.floor.skipped}\n`
        : `  floor: ${num(r.floor.objectsPerTenant, 1)} objects/tenant, ARM steps ${r.floor.armSteps.length}; busy time API ${sec(r.floor.kubeBusyMs)}, ARM ${sec(r.floor.armBusyMs)} (limiter wait ${sec(r.floor.armLimiterWaitedMs)})${r.floor.errors.length ? `; errors: ${r.floor.errors.slice(0, 3).join(' | ')}` : ''}\n`,
    );
  }
}
process.stdout.write(saved ? '\n' : `\nJSON: ${outFile}\nlogs: ${logRoot}\n`);
if (failure) {
  process.stderr.write(`bench failed: ${failure.message}\n`);
  process.exit(1);
}
process.exit(0);
