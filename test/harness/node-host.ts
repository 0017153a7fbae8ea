/**
 * What the one-node cluster (node.ts) leaves on the host outside its work directory, and how to
 * remove it: processes, cgroups, mounts, network namespaces and interfaces, iptables chains,
 * ipsets, host directories the kubelet and CNI create, and `net.ipv4.ip_forward`. Everything here
 * is synchronous so it also runs from a process `exit` handler, and idempotent so it can sweep up
 * after a run that was killed.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Every work directory of the node starts with this: processes and mounts are found by it. */
export const NODE_MARKER = 'tenant-operator-testnode-';
/** The CNI bridge, the node's own address, and the "outside world" namespace with its veth. */
export const BRIDGE = 'tocni0';
export const NODE_LINK = 'tonode0';
export const OUTSIDE_NETNS = 'to-outside';
export const OUTSIDE_LINK = 'to-outside0';
const LINKS = [BRIDGE, NODE_LINK, OUTSIDE_LINK];
/** Chains of kube-proxy (KUBE-*), kube-router (KUBE-ROUTER-*, KUBE-NWPLCY-*, KUBE-POD-FW-*) and the CNI plugins (CNI-*). */
const CHAIN = /^(KUBE-|CNI-)/;
const IPSET = /^(inet6:)?(KUBE-|kube-router)/i;
/** Host paths the kubelet, containerd and libcni create whatever their configuration says. */
const HOST_PATHS = [
  '/var/lib/cni',
  '/var/lib/kubelet',
  '/var/log/pods',
  '/var/log/containers',
  '/run/containerd',
  '/usr/libexec/kubernetes',
  // `ip netns add` creates it and bind-mounts it onto itself.
  '/run/netns',
];
const CGROUP_ROOT = '/sys/fs/cgroup';
/** Records what existed before the node started, so teardown removes only what the node added. */
const STATE_FILE = join(tmpdir(), 'tenant-operator-node.host-state.json');
/**
 * One node per machine: the bridge, the addresses and the chains have fixed names, and the sweep
 * removes any node's leftovers. A directory (mkdir is atomic) holds the owner's pid; a dead owner's
 * lock is taken over.
 */
const LOCK_DIR = join(tmpdir(), 'tenant-operator-node.lock');

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The pid of the live process that owns the machine's node, if any. */
export function nodeLockHolder(): number | undefined {
  try {
    const pid = Number(readFileSync(join(LOCK_DIR, 'pid'), 'utf8'));
    return pid > 0 && alive(pid) ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Waits until this process owns the machine's node (another test run may be using it). */
export async function acquireNodeLock(timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      mkdirSync(LOCK_DIR);
      writeFileSync(join(LOCK_DIR, 'pid'), String(process.pid));
      return;
    } catch {
      const holder = nodeLockHolder();
      // No live owner (or it has not written its pid yet: give it a moment before taking over).
      if (holder === undefined && existsSync(LOCK_DIR) && Date.now() - statSync(LOCK_DIR).mtimeMs > 2000)
        rmSync(LOCK_DIR, { recursive: true, force: true });
      if (Date.now() > deadline)
        throw new Error(`another test node (pid ${holder ?? 'unknown'}) still runs on this machine after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

export function releaseNodeLock(): void {
  if (nodeLockHolder() === process.pid) rmSync(LOCK_DIR, { recursive: true, force: true });
}

interface HostState {
  createdPaths: string[];
  ipForward: string;
}

function run(cmd: string, args: string[], input?: string): string {
  return execFileSync(cmd, args, {
    encoding: 'utf8',
    stdio: ['pipe', 'pipe', 'pipe'],
    ...(input === undefined ? {} : { input }),
  });
}

function attempt(cmd: string, args: string[], input?: string): string {
  try {
    return run(cmd, args, input);
  } catch {
    return '';
  }
}

/** Notes what the host looks like before the node touches it (call once, before starting). */
export function recordHostState(): void {
  const state: HostState = {
    createdPaths: HOST_PATHS.filter((p) => !existsSync(p)),
    ipForward: readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim(),
  };
  if (!existsSync(STATE_FILE)) writeFileSync(STATE_FILE, JSON.stringify(state));
}

function readHostState(): HostState | undefined {
  return existsSync(STATE_FILE) ? (JSON.parse(readFileSync(STATE_FILE, 'utf8')) as HostState) : undefined;
}

/** PIDs of processes whose command line names a node work directory (ours, containerd's shims, the outside server). */
function markedProcesses(): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(NODE_MARKER)) pids.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return pids;
}

/** kubepods cgroup directories of every v1 hierarchy (and the unified one), deepest first. */
function podCgroups(): string[] {
  const dirs: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) if (entry.isDirectory()) walk(join(dir, entry.name));
    dirs.push(dir);
  };
  if (!existsSync(CGROUP_ROOT)) return dirs;
  for (const controller of readdirSync(CGROUP_ROOT)) {
    const root = join(CGROUP_ROOT, controller, 'kubepods');
    try {
      if (statSync(root).isDirectory()) walk(root);
    } catch {
      // no kubepods in this hierarchy
    }
  }
  return dirs;
}

function cgroupProcesses(): number[] {
  return podCgroups().flatMap((dir) => {
    try {
      return readFileSync(join(dir, 'cgroup.procs'), 'utf8')
        .split('\n')
        .filter((l) => l !== '')
        .map(Number);
    } catch {
      return [];
    }
  });
}

/** Every mount point, deepest first. */
function mountPoints(): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4] ?? '')
    .filter((m) => m !== '')
    .sort((a, b) => b.length - a.length);
}

/** Mount points the node made: under its work directories, pod network namespaces, containerd's run dir. */
function nodeMounts(): string[] {
  return mountPoints().filter(
    (m) =>
      m.includes(NODE_MARKER) ||
      m.startsWith('/run/netns/cni-') ||
      m.startsWith('/run/containerd/') ||
      m.startsWith('/var/lib/kubelet'),
  );
}

/** Work directories of nodes (this run's or a killed one's) in the temporary directory. */
function workDirs(): string[] {
  return readdirSync(tmpdir())
    .filter((name) => name.startsWith(NODE_MARKER))
    .map((name) => join(tmpdir(), name));
}

function kill(pids: number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

function links(): string[] {
  return attempt('ip', ['-o', 'link', 'show'])
    .split('\n')
    .map((l) => l.split(':')[1]?.trim().split('@')[0] ?? '')
    .filter((name) => LINKS.includes(name));
}

function bridgePorts(): string[] {
  return attempt('ip', ['-o', 'link', 'show', 'master', BRIDGE])
    .split('\n')
    .map((l) => l.split(':')[1]?.trim().split('@')[0] ?? '')
    .filter((n) => n !== '');
}

function netnsNames(): string[] {
  return existsSync('/run/netns') ? readdirSync('/run/netns').filter((n) => n === OUTSIDE_NETNS || n.startsWith('cni-')) : [];
}

const TABLES = ['filter', 'nat', 'mangle', 'raw'];

/** `iptables-save` of one table, or '' when the table or the command is missing. */
function saveTable(tool: string, table: string): string {
  return attempt(`${tool}-save`, ['-t', table]);
}

function nodeChains(tool: string): string[] {
  return TABLES.flatMap((table) =>
    saveTable(tool, table)
      .split('\n')
      .filter((l) => l.startsWith(':') && CHAIN.test(l.slice(1)))
      .map((l) => `${tool} ${table} ${l.slice(1).split(' ')[0]}`),
  );
}

/** Rewrites each table without the node's chains and the rules that jump to them. */
function removeChains(tool: string): void {
  for (const table of TABLES) {
    const saved = saveTable(tool, table);
    if (!saved) continue;
    const kept = saved.split('\n').filter((line) => {
      if (line.startsWith(':')) return !CHAIN.test(line.slice(1));
      if (!line.startsWith('-A ')) return true;
      const chain = line.split(' ')[1] ?? '';
      const target = / -[jg] (\S+)/.exec(line)?.[1] ?? '';
      return !CHAIN.test(chain) && !CHAIN.test(target);
    });
    if (kept.length !== saved.split('\n').length) attempt(`${tool}-restore`, ['-w', '5'], `${kept.join('\n')}\n`);
  }
}

function ipsets(): string[] {
  return attempt('ipset', ['list', '-n'])
    .split('\n')
    .filter((n) => IPSET.test(n));
}

/** Everything of a node still on the host; empty when teardown was complete. */
export function nodeLeftovers(): string[] {
  const state = readHostState();
  return [
    ...markedProcesses().map(
      (pid) => `process ${pid}: ${readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').slice(0, 120)}`,
    ),
    ...podCgroups().map((d) => `cgroup ${d}`),
    ...nodeMounts().map((m) => `mount ${m}`),
    ...netnsNames().map((n) => `netns ${n}`),
    ...links().map((l) => `link ${l}`),
    ...nodeChains('iptables').map((c) => `chain ${c}`),
    ...nodeChains('ip6tables').map((c) => `chain ${c}`),
    ...ipsets().map((s) => `ipset ${s}`),
    ...(state ? state.createdPaths.filter((p) => existsSync(p)).map((p) => `path ${p}`) : []),
    ...workDirs().map((d) => `work directory ${d}`),
    ...(state ? [`state file ${STATE_FILE}`] : []),
  ];
}

/** Removes everything a node (this run's or a killed earlier run's) left on the host. */
export function cleanUpHost(): void {
  for (let round = 0; round < 3; round++) {
    kill(markedProcesses());
    kill(cgroupProcesses());
  }
  for (const mount of nodeMounts()) attempt('umount', ['-l', mount]);
  for (const name of netnsNames()) {
    if (name === OUTSIDE_NETNS) attempt('ip', ['netns', 'del', name]);
    else rmSync(join('/run/netns', name), { force: true });
  }
  for (const port of bridgePorts()) attempt('ip', ['link', 'del', port]);
  for (const link of links()) attempt('ip', ['link', 'del', link]);
  removeChains('iptables');
  removeChains('ip6tables');
  for (const set of ipsets()) attempt('ipset', ['destroy', set]);
  // A cgroup can be removed only once its last process is gone, which takes a moment after SIGKILL.
  for (let round = 0; round < 50 && podCgroups().length > 0; round++) {
    kill(cgroupProcesses());
    for (const dir of podCgroups()) {
      try {
        rmdirSync(dir);
      } catch {
        // still busy; next round
      }
    }
    if (podCgroups().length > 0) execFileSync('sleep', ['0.1']);
  }
  for (const dir of workDirs()) rmSync(dir, { recursive: true, force: true });
  const state = readHostState();
  if (state) {
    for (const path of state.createdPaths) {
      for (const mount of mountPoints()) if (mount === path || mount.startsWith(`${path}/`)) attempt('umount', ['-l', mount]);
      rmSync(path, { recursive: true, force: true });
    }
    writeFileSync('/proc/sys/net/ipv4/ip_forward', state.ipForward);
    rmSync(STATE_FILE, { force: true });
  }
}
