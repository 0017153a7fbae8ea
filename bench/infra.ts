/**
 * What the benchmark runs and tears down: a control plane whose audit log records every request
 * (reads included), the ARM emulator and the operator as child processes, and /proc readings of
 * their CPU time and memory. Every child is registered, so `stopAll()` (and, as a last resort, the
 * process `exit` hook) ends it even when a phase fails or Ctrl-C arrives.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readlinkSync, readSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { ControlPlane, REPO_ROOT } from '../test/harness/control-plane.ts';
import { EMULATOR_CLUSTER, TEST_SQL_ADMIN_GROUP } from '../test/harness/fixtures.ts';

export { REPO_ROOT };

// --- child processes -----------------------------------------------------------------------------

const children = new Set<ChildProcess>();

process.on('exit', () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

/** Spawns a child the benchmark owns: it is killed at exit whatever happens. */
export function spawnTracked(command: string, args: string[], options: { logFile?: string; env?: NodeJS.ProcessEnv } = {}) {
  const out = options.logFile ? openSync(options.logFile, 'a') : 'ignore';
  const child = spawn(command, args, {
    cwd: REPO_ROOT,
    env: options.env ?? process.env,
    stdio: ['ignore', options.logFile ? out : 'pipe', options.logFile ? out : 'pipe'],
  });
  if (typeof out === 'number') closeSync(out);
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** SIGTERM (or `signal`), then SIGKILL after `graceMs`; resolves with how long the exit took. */
export async function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM', graceMs = 30_000): Promise<number> {
  const started = performance.now();
  if (child.exitCode !== null || child.signalCode !== null) return 0;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
  return performance.now() - started;
}

/** Ends every child still running (SIGTERM, SIGKILL after 5 s). */
export async function stopAllChildren(): Promise<void> {
  await Promise.all([...children].map((c) => stopChild(c, 'SIGTERM', 5_000)));
}

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolvePort(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

// --- /proc ---------------------------------------------------------------------------------------

const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

export interface ProcSample {
  /** user + system CPU seconds since the process started. */
  cpuSeconds: number;
  rssBytes: number;
  /** Peak resident set size of the process's life (VmHWM). */
  peakRssBytes: number;
}

/** CPU time and memory of a live process, from /proc; undefined once it is gone. */
export function procSample(pid: number | undefined): ProcSample | undefined {
  if (!pid) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may contain spaces: fields are counted after its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024;
    return { cpuSeconds: (utime + stime) / CLK_TCK, rssBytes: kb('VmRSS'), peakRssBytes: kb('VmHWM') };
  } catch {
    return undefined;
  }
}

/** Open file descriptors of a process, and how many are sockets (Linux). */
export function fdCounts(pid: number | undefined): { fds: number; sockets: number } | undefined {
  if (!pid) return undefined;
  try {
    const entries = readdirSync(`/proc/${pid}/fd`);
    let sockets = 0;
    for (const fd of entries) {
      try {
        if (readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith('socket:')) sockets++;
      } catch {}
    }
    return { fds: entries.length, sockets };
  } catch {
    return undefined;
  }
}

/** Samples a process every `everyMs`: peaks of RSS and open sockets since the last `take()`. */
export class ProcWatch {
  #peakRss = 0;
  #peakSockets = 0;
  #timer: NodeJS.Timeout;

  constructor(pid: () => number | undefined, everyMs = 500) {
    this.#timer = setInterval(() => {
      const p = pid();
      this.#peakRss = Math.max(this.#peakRss, procSample(p)?.rssBytes ?? 0);
      this.#peakSockets = Math.max(this.#peakSockets, fdCounts(p)?.sockets ?? 0);
    }, everyMs);
    this.#timer.unref();
  }

  take(): { peakRssBytes: number; peakOpenSockets: number } {
    const out = { peakRssBytes: this.#peakRss, peakOpenSockets: this.#peakSockets };
    this.#peakRss = 0;
    this.#peakSockets = 0;
    return out;
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}

/** CPU seconds the whole machine spent busy (all cores, /proc/stat), to spot load from outside the bench. */
export function machineBusySeconds(): number {
  try {
    const cpu = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal: busy = all but idle and iowait.
    const busy = cpu.slice(0, 8).reduce((a, v, i) => (i === 3 || i === 4 ? a : a + (v || 0)), 0);
    return busy / CLK_TCK;
  } catch {
    return Number.NaN;
  }
}

// --- control plane -------------------------------------------------------------------------------

/**
 * The harness's audit policy drops get/list/watch (it exists to count writes). The benchmark
 * needs reads too, attributed to the user who made them, so its control plane logs every request
 * at level Metadata: one JSON line per request, no bodies.
 */
const BENCH_AUDIT_POLICY = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
- level: Metadata
`;

export class BenchControlPlane extends ControlPlane {
  override async startApiServer(): Promise<void> {
    writeFileSync(join(this.dir, 'audit-policy.yaml'), BENCH_AUDIT_POLICY);
    await super.startApiServer();
  }
}

/** One API request, as the audit log tells it. */
export interface ApiRequest {
  /** Epoch ms the API server received it. */
  at: number;
  user: string;
  verb: string;
  /** `resource` or `resource/subresource`. */
  resource: string;
  namespace: string | undefined;
  code: number;
}

interface RawAuditEvent {
  stage: string;
  verb: string;
  user?: { username?: string };
  objectRef?: { resource?: string; subresource?: string; namespace?: string };
  responseStatus?: { code?: number };
  requestReceivedTimestamp?: string;
}

/**
 * Reads the audit log incrementally (from the last byte offset). A request counts once: at
 * ResponseComplete, or at ResponseStarted for a watch (a watch completes only when it closes).
 */
export class AuditLog {
  readonly path: string;
  readonly requests: ApiRequest[] = [];
  #offset = 0;
  #rest = '';

  constructor(path: string) {
    this.path = path;
  }

  poll(): void {
    if (!existsSync(this.path)) return;
    const fd = openSync(this.path, 'r');
    try {
      const chunk = Buffer.alloc(4 * 1024 * 1024);
      for (;;) {
        const n = readSync(fd, chunk, 0, chunk.length, this.#offset);
        if (n <= 0) break;
        this.#offset += n;
        const text = this.#rest + chunk.toString('utf8', 0, n);
        const lines = text.split('\n');
        this.#rest = lines.pop() ?? '';
        for (const line of lines) if (line.trim() !== '') this.#take(JSON.parse(line) as RawAuditEvent);
      }
    } finally {
      closeSync(fd);
    }
  }

  #take(e: RawAuditEvent): void {
    const counts = e.verb === 'watch' ? e.stage === 'ResponseStarted' : e.stage === 'ResponseComplete';
    if (!counts) return;
    const ref = e.objectRef;
    this.requests.push({
      at: Date.parse(e.requestReceivedTimestamp ?? '') || 0,
      user: e.user?.username ?? '',
      verb: e.verb,
      resource: ref?.resource ? `${ref.resource}${ref.subresource ? `/${ref.subresource}` : ''}` : '(non-resource)',
      namespace: ref?.namespace,
      code: e.responseStatus?.code ?? 0,
    });
  }

  /** Requests received in [from, to) (epoch ms), optionally by one user. */
  between(from: number, to: number, user?: string): ApiRequest[] {
    this.poll();
    return this.requests.filter((r) => r.at >= from && r.at < to && (user === undefined || r.user === user));
  }
}

export const WRITE_VERBS = new Set(['create', 'update', 'patch', 'delete', 'deletecollection']);
export const READ_VERBS = new Set(['get', 'list', 'watch']);

/** GET over HTTPS with the admin certificate of the control plane (API server /metrics). */
export function adminGet(cp: ControlPlane, path: string): Promise<string> {
  const tls = {
    ca: readFileSync(join(cp.dir, 'ca.crt')),
    cert: readFileSync(join(cp.dir, 'admin.crt')),
    key: readFileSync(join(cp.dir, 'admin.key')),
  };
  return new Promise((resolve, reject) => {
    const req = httpsRequest(`${cp.server}${path}`, { ...tls, timeout: 30_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error(`GET ${path}: timeout`)));
    req.end();
  });
}

/** Plain HTTP GET (the operator's /metrics and /readyz); resolves with status and body. */
export function httpGet(url: string, timeoutMs = 10_000): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error(`GET ${url}: timeout`)));
    req.end();
  });
}

// --- Prometheus text format ----------------------------------------------------------------------

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses the text exposition format (enough of it for prom-client and kube-apiserver). */
export function parseMetrics(text: string, only?: (name: string) => boolean): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const brace = line.indexOf('{');
    const space = line.lastIndexOf(' ');
    const name = brace >= 0 && brace < space ? line.slice(0, brace) : line.slice(0, line.indexOf(' '));
    if (only && !only(name)) continue;
    const labels: Record<string, string> = {};
    if (brace >= 0 && brace < space) {
      const body = line.slice(brace + 1, line.lastIndexOf('}'));
      for (const m of body.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[m[1] as string] = m[2] as string;
    }
    samples.push({ name, labels, value: Number(line.slice(space + 1)) });
  }
  return samples;
}

export function sumOf(samples: Sample[], name: string, match: Record<string, string> = {}): number {
  return samples
    .filter((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v))
    .reduce((a, s) => a + s.value, 0);
}

// --- ARM emulator --------------------------------------------------------------------------------

export interface EmulatorInfo {
  endpoint: string;
  caPath: string;
  subscriptionId: string;
  directoryTenantId: string;
  /** The SQL data plane's TDS endpoint (`127.0.0.1:PORT`). */
  sqlEndpoint: string;
  pid: number;
}

/** Starts `node hack/arm-emulator/main.ts --out-dir DIR` and waits for its JSON line. */
export async function startEmulator(
  dir: string,
  logFile: string,
  azure: {
    profile: 'realistic' | 'instant';
    timeFactor: number;
    managedIdentityWritesPerSecond: number;
    /** The fleet layout (bench/README.md "Fleet layout"): which quotas the emulator enforces. */
    placement: 'shared' | 'dedicated';
    /** Subscriptions the emulated account holds besides the emulator's own (subscription shards). */
    extraSubscriptions: readonly string[];
  },
): Promise<{ child: ChildProcess; info: EmulatorInfo }> {
  // Azure's behaviours, none friendlier: realistic durations, role assignments that propagate,
  // the managed-identity write limit, WAF policies only in the front door's region; the newest
  // backup comes from each database's own backup history over TDS, as on Azure.
  const child = spawnTracked(process.execPath, [
    'hack/arm-emulator/main.ts',
    '--out-dir',
    dir,
    '--profile',
    azure.profile,
    '--time-factor',
    String(azure.timeFactor),
    '--managed-identity-writes-per-second',
    String(azure.managedIdentityWritesPerSecond),
    // Emulated time follows real time, as Azure's does: role assignments carry real creation times.
    '--clock-running',
    // The platform's private endpoint subnets and DNS zones, which every tenant's endpoints need.
    '--platform-network',
    // The operator's identity is in the SQL admin group (fixtures: TEST_SQL_ADMIN_GROUP).
    '--sql-admin-group',
    TEST_SQL_ADMIN_GROUP,
    // Shared placement (the default) fits Azure's default quotas: no raise. The old dedicated layout
    // (`--placement dedicated`: every tenant its own resource group and SQL server, in one
    // subscription) needs a raise Azure stops at 20 servers per region and 980 groups; it is named.
    '--quotas',
    azure.placement === 'shared' ? 'azure' : 'raised-for-one-shared-subscription',
    ...azure.extraSubscriptions.flatMap((id) => ['--subscription', id]),
    // The platform's AKS cluster the operator configuration names (emulatorAzureConfig); the
    // bench's tenants are Shared, so it only answers their deletions' look for a node pool.
    '--platform-cluster',
    `${EMULATOR_CLUSTER.resourceGroup}/${EMULATOR_CLUSTER.name}/${EMULATOR_CLUSTER.location}`,
  ]);
  child.stderr?.on('data', (c: Buffer) => writeFileSync(logFile, c, { flag: 'a' }));
  const info = await new Promise<EmulatorInfo>((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => reject(new Error('ARM emulator did not start within 30 s')), 30_000);
    child.stdout?.on('data', (c: Buffer) => {
      text += c.toString();
      const nl = text.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(timer);
        try {
          resolve(JSON.parse(text.slice(0, nl)) as EmulatorInfo);
        } catch (err) {
          reject(err);
        }
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`ARM emulator exited with ${code} before it was ready`));
    });
  });
  child.stdout?.resume();
  return { child, info };
}

/** One ARM request the emulator recorded. */
export interface ArmRecord {
  seq: number;
  /** Epoch ms it arrived. */
  at: number;
  method: string;
  path: string;
  resourceType: string | undefined;
  kind: string;
  status: number;
  write: boolean;
  /** Time the emulator took to answer (includes its poll holds for operation status). */
  durationMs: number;
}

/** Collects the emulator's request log incrementally through `/_emulator/requests?since=N`. */
export class ArmLog {
  readonly records: ArmRecord[] = [];
  readonly #endpoint: string;
  readonly #ca: Buffer;
  #lastSeq = 0;

  constructor(info: EmulatorInfo) {
    this.#endpoint = info.endpoint;
    this.#ca = readFileSync(info.caPath);
  }

  async poll(): Promise<void> {
    const body = await new Promise<string>((resolve, reject) => {
      const req = httpsRequest(
        `${this.#endpoint}/_emulator/requests?since=${this.#lastSeq}`,
        { ca: this.#ca, timeout: 30_000 },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
        },
      );
      req.on('error', reject);
      req.on('timeout', () => req.destroy(new Error('emulator admin API timeout')));
      req.end();
    });
    const value = (
      JSON.parse(body) as {
        value: (Omit<ArmRecord, 'at'> & { time: string })[];
      }
    ).value;
    for (const r of value) {
      this.records.push({
        seq: r.seq,
        at: Date.parse(r.time),
        method: r.method,
        path: r.path,
        resourceType: r.resourceType,
        kind: r.kind,
        status: r.status,
        write: r.write,
        durationMs: r.durationMs,
      });
      this.#lastSeq = Math.max(this.#lastSeq, r.seq);
    }
  }

  async between(from: number, to: number): Promise<ArmRecord[]> {
    await this.poll();
    return this.records.filter((r) => r.at >= from && r.at < to);
  }
}
