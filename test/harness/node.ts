/**
 * A real one-node cluster on top of a running control plane (control-plane.ts): containerd and
 * runc from Debian, kubelet, kube-controller-manager, kube-scheduler and kube-proxy (iptables
 * mode) built from Kubernetes' module, CoreDNS as kube-dns, kube-router's NetworkPolicy
 * controller, and a CNI bridge, all started by `startNode()` with state under one work directory.
 * An "outside" network namespace stands for the world beyond the cluster (Azure endpoints, the
 * front door's subnet): its addresses answer TCP and UDP so tests can see what policies let through.
 * `stop()` (and the process `exit` handler) removes every process, mount, interface, chain and
 * directory (node-host.ts); a node that does not come up fails with a message naming what is missing.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { accessSync, constants, copyFileSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KubeClient, KubeObject, ResourceType } from '../../src/runtime/kube-client.ts';
import { adminClient } from './cluster-setup.ts';
import { type ControlPlaneInfo, REPO_ROOT } from './control-plane.ts';
import {
  acquireNodeLock,
  BRIDGE,
  cleanUpHost,
  NODE_LINK,
  NODE_MARKER,
  nodeLeftovers,
  OUTSIDE_LINK,
  OUTSIDE_NETNS,
  recordHostState,
  releaseNodeLock,
} from './node-host.ts';

export { nodeLeftovers };

export const NODE_NAME = 'tenant-operator-node';
/** The node's address (a dummy interface): the kubelet serves here, and pods reach the API server here. */
export const NODE_IP = '10.199.0.1';
export const POD_CIDR = '10.244.0.0/24';
const CLUSTER_CIDR = '10.244.0.0/16';
/** kube-dns' ClusterIP, inside the control plane's service range 10.0.0.0/24. */
export const CLUSTER_DNS_IP = '10.0.0.10';
/** The API server as pods see it: a relay on the node address to the loopback-only kube-apiserver. */
const API_RELAY_PORT = 6443;
const OUTSIDE_HOST_IP = '10.198.255.1';
const OUTSIDE_PEER_IP = '10.198.255.2';

/** Images the node imports (hack/build-images.sh): the tenant test application and its tags. */
export const TEST_APP_IMAGE = 'tenant-operator.local/testapp';
export const TEST_APP_VERSIONS = ['1.0.0', '1.0.1'];
const PAUSE_IMAGE = 'tenant-operator.local/pause:3.10';

const NODE_BINARIES = ['kubelet', 'kube-controller-manager', 'kube-scheduler', 'kube-proxy', 'kube-router', 'coredns'];
const HOST_COMMANDS = [
  'containerd',
  'containerd-shim-runc-v2',
  'runc',
  'ctr',
  'iptables',
  'iptables-save',
  'iptables-restore',
  'ipset',
  'ip',
  'umount',
];
const CNI_PLUGINS = ['bridge', 'host-local', 'loopback', 'portmap'];

export interface NodeOptions {
  /** Addresses the outside namespace owns (stand-ins for Azure endpoints and the front door's subnet). */
  outsideAddresses?: string[];
  /** Ports the outside addresses answer on, TCP (HTTP) and UDP (echo). */
  outsidePorts?: number[];
  /**
   * Further `image:tag` names for the test application, for Tenants written for a real registry
   * (`make dev` runs config/samples this way). A `latest` tag is still pulled, as on any node.
   */
  imageAliases?: string[];
  /** How long to wait for another run's node to stop (one node per machine); default 3 minutes. */
  lockTimeoutMs?: number;
}

export interface ProbeResult {
  target: string;
  ok: boolean;
  error?: string;
}

const t = (apiVersion: string, kind: string, plural: string, namespaced: boolean): ResourceType => ({
  apiVersion,
  kind,
  plural,
  namespaced,
});
const TYPES = {
  Node: t('v1', 'Node', 'nodes', false),
  Pod: t('v1', 'Pod', 'pods', true),
  Secret: t('v1', 'Secret', 'secrets', true),
  Service: t('v1', 'Service', 'services', true),
  Deployment: t('apps/v1', 'Deployment', 'deployments', true),
};

type PodObject = KubeObject & {
  spec?: { nodeName?: string };
  status?: { phase?: string; podIP?: string; conditions?: { type: string; status: string }[] };
};

/** What is missing on this machine for a node, as sentences; empty when the node can start. */
export function missingNodePrerequisites(root = REPO_ROOT): string[] {
  const missing: string[] = [];
  if (process.getuid?.() !== 0) missing.push('the node needs root (network namespaces, iptables, cgroups, mounts)');
  for (const name of NODE_BINARIES)
    if (!existsSync(join(root, 'bin', name))) missing.push(`bin/${name} (run hack/build-node.sh, part of make setup)`);
  const path = (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/sbin', '/usr/bin']);
  for (const command of HOST_COMMANDS)
    if (!path.some((dir) => existsSync(join(dir, command))))
      missing.push(`${command} (Debian packages in hack/node/apt-packages.txt)`);
  for (const plugin of CNI_PLUGINS)
    if (!existsSync(join('/usr/lib/cni', plugin))) missing.push(`/usr/lib/cni/${plugin} (Debian containernetworking-plugins)`);
  const kernel: [string, string][] = [
    ['/proc/sys/net/bridge/bridge-nf-call-iptables', 'bridge netfilter (br_netfilter)'],
    ['/sys/fs/cgroup/memory', 'the cgroup v1 memory controller'],
    ['/sys/fs/cgroup/pids', 'the cgroup v1 pids controller'],
    ['/proc/net/ip_tables_names', 'iptables (netfilter)'],
  ];
  for (const [file, what] of kernel) if (!existsSync(file)) missing.push(`${what}: ${file} is missing`);
  if (!readFileSync('/proc/filesystems', 'utf8').includes('overlay')) missing.push('overlayfs (containerd snapshots)');
  try {
    accessSync('/sys/fs/cgroup/memory', constants.W_OK);
  } catch {
    if (existsSync('/sys/fs/cgroup/memory')) missing.push('a writable cgroup memory controller');
  }
  return missing;
}

function sh(cmd: string, args: string[], input?: string): string {
  try {
    return execFileSync(cmd, args, {
      encoding: 'utf8',
      stdio: ['pipe', 'pipe', 'pipe'],
      ...(input === undefined ? {} : { input }),
    });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')} failed: ${e.stderr?.trim() || e.message}`);
  }
}

function tail(file: string, lines = 15): string {
  if (!existsSync(file)) return '(no log)';
  return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
}

export class Node {
  readonly dir: string;
  readonly #cp: ControlPlaneInfo;
  readonly #options: NodeOptions;
  readonly #processes = new Map<string, ChildProcess>();
  #relay: Server | undefined;
  readonly #relayed = new Set<Socket>();
  #admin: KubeClient;
  #testApp = '';
  #stopped = false;
  readonly #onExit = () => this.#tearDown();
  // An interrupted run (Ctrl-C, jest killing a worker) must not leave the node behind either.
  readonly #onSignal = (signal: NodeJS.Signals) => {
    this.#tearDown();
    process.kill(process.pid, signal);
  };

  constructor(cp: ControlPlaneInfo, options: NodeOptions = {}) {
    this.#cp = cp;
    this.#options = options;
    // Created by start(), after the sweep that removes work directories of earlier runs.
    this.dir = join(tmpdir(), `${NODE_MARKER}${process.pid}-${Date.now().toString(36)}`);
    this.#admin = adminClient(cp.adminKubeconfig);
  }

  /** Starts every part and waits until the node is Ready and cluster DNS answers. */
  async start(): Promise<void> {
    const missing = missingNodePrerequisites();
    if (missing.length > 0) throw new Error(`the test node cannot start; missing:\n- ${missing.join('\n- ')}`);
    await acquireNodeLock(this.#options.lockTimeoutMs ?? 180_000);
    // A killed earlier run may have left a node behind: it would hold the bridge and the chains.
    cleanUpHost();
    recordHostState();
    mkdirSync(this.dir, { recursive: true });
    process.once('exit', this.#onExit);
    process.once('SIGINT', this.#onSignal);
    process.once('SIGTERM', this.#onSignal);
    try {
      await this.#start();
    } catch (err) {
      const logs = [...this.#processes.keys()].map((name) => `--- ${name}:\n${tail(this.#log(name), 8)}`).join('\n');
      await this.stop();
      throw new Error(`${(err as Error).message}\n${logs}`);
    }
  }

  async #start(): Promise<void> {
    const images = sh('bash', [join(REPO_ROOT, 'hack/build-images.sh')]).trim();
    this.#testApp = join(this.dir, 'testapp');
    copyFileSync(join(images, 'testapp'), this.#testApp);
    this.#setUpHostNetwork();
    await this.#startApiRelay();
    await this.#startContainerd();
    for (const image of ['pause', 'testapp', 'coredns'])
      sh('ctr', ['--address', this.#containerdSocket, '-n', 'k8s.io', 'images', 'import', join(images, `${image}.tar`)]);
    const aliases = [...TEST_APP_VERSIONS.slice(1).map((v) => `${TEST_APP_IMAGE}:${v}`), ...(this.#options.imageAliases ?? [])];
    for (const alias of aliases)
      sh('ctr', [
        '--address',
        this.#containerdSocket,
        '-n',
        'k8s.io',
        'images',
        'tag',
        '--force',
        `${TEST_APP_IMAGE}:${TEST_APP_VERSIONS[0]}`,
        alias,
      ]);
    this.#startKubelet();
    this.#startControllers();
    await this.#waitFor('node Ready', 60_000, async () => {
      const node = await this.#admin.get<KubeObject & { status?: { conditions?: { type: string; status: string }[] } }>(
        TYPES.Node,
        NODE_NAME,
      );
      return node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
    });
    this.#startNetworkPolicyEngine();
    await this.#startCoreDns();
  }

  /** Stops everything and removes what the node left on the host; safe to call twice. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    for (const [name, child] of [...this.#processes].reverse()) {
      if (name === 'containerd') continue;
      await this.#terminate(child);
    }
    this.#tearDown();
  }

  #tearDown(): void {
    process.removeListener('exit', this.#onExit);
    process.removeListener('SIGINT', this.#onSignal);
    process.removeListener('SIGTERM', this.#onSignal);
    for (const child of this.#processes.values()) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    this.#relay?.close();
    for (const socket of this.#relayed) socket.destroy();
    // kube-proxy knows its own chains best; the sweep in cleanUpHost catches the rest.
    try {
      execFileSync(join(REPO_ROOT, 'bin', 'kube-proxy'), ['--cleanup'], { stdio: 'ignore', timeout: 20_000 });
    } catch {
      // the sweep below removes what is left
    }
    cleanUpHost();
    execFileSync('rm', ['-rf', this.dir]);
    releaseNodeLock();
  }

  /** What a test (in any process) needs to use this node: see `NodeClient`. */
  get info(): NodeInfo {
    return { testApp: this.#testApp, adminKubeconfig: this.#cp.adminKubeconfig };
  }

  get client(): NodeClient {
    return new NodeClient(this.info);
  }

  get #containerdSocket(): string {
    return join(this.dir, 'containerd', 'containerd.sock');
  }

  #log(name: string): string {
    return join(this.dir, 'logs', `${name}.log`);
  }

  #spawn(name: string, command: string, args: string[], netns?: string): void {
    mkdirSync(join(this.dir, 'logs'), { recursive: true });
    const log = openSync(this.#log(name), 'a');
    const [cmd, argv] = netns ? ['ip', ['netns', 'exec', netns, command, ...args]] : [command, args];
    const child = spawn(cmd, argv, { stdio: ['ignore', log, log] });
    this.#processes.set(name, child);
  }

  async #terminate(child: ChildProcess): Promise<void> {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }

  async #waitFor(what: string, timeoutMs: number, probe: () => Promise<unknown>): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    while (Date.now() < deadline) {
      for (const [name, child] of this.#processes)
        if (child.exitCode !== null) throw new Error(`${name} exited (${child.exitCode}) while waiting for ${what}`);
      try {
        if (await probe()) return;
      } catch (err) {
        last = (err as Error).message;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error(`the test node did not come up: no ${what} after ${timeoutMs} ms${last ? ` (${last})` : ''}`);
  }

  /** The node's address, IP forwarding, and the outside namespace with its addresses and servers. */
  #setUpHostNetwork(): void {
    writeFileSync('/proc/sys/net/ipv4/ip_forward', '1');
    // A bridge without ports stands in for a dummy interface (this kernel has no dummy driver).
    sh('ip', ['link', 'add', NODE_LINK, 'type', 'bridge']);
    sh('ip', ['addr', 'add', `${NODE_IP}/32`, 'dev', NODE_LINK]);
    sh('ip', ['link', 'set', NODE_LINK, 'up']);
    const addresses = this.#options.outsideAddresses ?? [];
    if (addresses.length === 0) return;
    sh('ip', ['netns', 'add', OUTSIDE_NETNS]);
    sh('ip', ['link', 'add', OUTSIDE_LINK, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', OUTSIDE_NETNS]);
    sh('ip', ['addr', 'add', `${OUTSIDE_HOST_IP}/30`, 'dev', OUTSIDE_LINK]);
    sh('ip', ['link', 'set', OUTSIDE_LINK, 'up']);
    const inside = (...args: string[]) => sh('ip', ['netns', 'exec', OUTSIDE_NETNS, 'ip', ...args]);
    inside('link', 'set', 'lo', 'up');
    inside('addr', 'add', `${OUTSIDE_PEER_IP}/30`, 'dev', 'eth0');
    for (const address of addresses) {
      inside('addr', 'add', `${address}/32`, 'dev', 'eth0');
      sh('ip', ['route', 'add', `${address}/32`, 'via', OUTSIDE_PEER_IP, 'dev', OUTSIDE_LINK]);
    }
    inside('link', 'set', 'eth0', 'up');
    inside('route', 'add', 'default', 'via', OUTSIDE_HOST_IP);
    const ports = this.#options.outsidePorts ?? [443];
    // One socket per address: a UDP reply from a wildcard socket would leave from the namespace's
    // primary address, and the client, expecting the address it asked, would never see it.
    const listen = addresses.flatMap((a) => ports.map((p) => `${a}:${p}`)).join(',');
    this.#spawn('outside', this.#testApp, ['serve', `--listen=${listen}`], OUTSIDE_NETNS);
  }

  /** kube-apiserver listens on loopback only; pods (CoreDNS) reach it through this relay on the node address. */
  async #startApiRelay(): Promise<void> {
    const target = new URL(this.#cp.server);
    this.#relay = createServer((client) => {
      const upstream = createConnection(Number(target.port), '127.0.0.1');
      // Watches stay open for as long as CoreDNS runs: stop() ends them, or close() would wait forever.
      this.#relayed.add(client).add(upstream);
      client.once('close', () => this.#relayed.delete(client));
      upstream.once('close', () => this.#relayed.delete(upstream));
      client.pipe(upstream).pipe(client);
      const close = () => {
        client.destroy();
        upstream.destroy();
      };
      client.on('error', close);
      upstream.on('error', close);
    });
    await new Promise<void>((resolve, reject) => {
      this.#relay?.once('error', reject);
      this.#relay?.listen(API_RELAY_PORT, NODE_IP, () => resolve());
    });
  }

  async #startContainerd(): Promise<void> {
    const d = join(this.dir, 'containerd');
    mkdirSync(join(this.dir, 'cni'), { recursive: true });
    writeFileSync(
      join(this.dir, 'cni', '10-tenant-operator.conflist'),
      JSON.stringify({
        cniVersion: '0.4.0',
        name: 'tenant-operator-node',
        plugins: [
          {
            type: 'bridge',
            bridge: BRIDGE,
            isGateway: true,
            ipMasq: true,
            hairpinMode: true,
            ipam: {
              type: 'host-local',
              ranges: [[{ subnet: POD_CIDR }]],
              routes: [{ dst: '0.0.0.0/0' }],
              dataDir: join(this.dir, 'ipam'),
            },
          },
          { type: 'portmap', capabilities: { portMappings: true } },
        ],
      }),
    );
    writeFileSync(
      join(this.dir, 'containerd.toml'),
      `version = 2
root = "${d}/root"
state = "${d}/state"
[grpc]
  address = "${this.#containerdSocket}"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "${PAUSE_IMAGE}"
  # root here lacks CAP_SYS_RESOURCE: runc could not raise the sandbox's oom_score_adj.
  restrict_oom_score_adj = true
  enable_selinux = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "${this.dir}/cni"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "${d}/runc"
`,
    );
    this.#spawn('containerd', 'containerd', ['--config', join(this.dir, 'containerd.toml'), '--log-level', 'warn']);
    await this.#waitFor('containerd socket', 20_000, async () => {
      execFileSync('ctr', ['--address', this.#containerdSocket, 'version'], { stdio: 'ignore' });
      return true;
    });
  }

  #startKubelet(): void {
    const root = join(this.dir, 'kubelet');
    mkdirSync(root, { recursive: true });
    writeFileSync(join(this.dir, 'resolv.conf'), 'nameserver 127.0.0.1\n');
    writeFileSync(
      join(this.dir, 'kubelet.yaml'),
      JSON.stringify({
        apiVersion: 'kubelet.config.k8s.io/v1beta1',
        kind: 'KubeletConfiguration',
        // containerd 1.x cannot tell the kubelet its cgroup driver; systemd is not PID 1 here.
        cgroupDriver: 'cgroupfs',
        failSwapOn: false,
        containerRuntimeEndpoint: `unix://${this.#containerdSocket}`,
        address: NODE_IP,
        readOnlyPort: 0,
        healthzPort: 0,
        // The API server reaches the kubelet (exec, logs) without client certificates: the kubelet
        // listens only on the node's private address.
        authentication: { anonymous: { enabled: true }, webhook: { enabled: false } },
        authorization: { mode: 'AlwaysAllow' },
        clusterDNS: [CLUSTER_DNS_IP],
        clusterDomain: 'cluster.local',
        resolvConf: join(this.dir, 'resolv.conf'),
        podLogsDir: join(this.dir, 'pod-logs'),
        volumePluginDir: join(this.dir, 'volume-plugins'),
        // Shared test machines run with full disks: eviction would taint the node and stop scheduling.
        evictionHard: { 'memory.available': '1Mi', 'nodefs.available': '1%', 'imagefs.available': '1%' },
        imageGCHighThresholdPercent: 100,
        imageGCLowThresholdPercent: 99,
        serializeImagePulls: false,
        registerNode: true,
      }),
    );
    this.#spawn('kubelet', join(REPO_ROOT, 'bin', 'kubelet'), [
      `--config=${join(this.dir, 'kubelet.yaml')}`,
      `--kubeconfig=${this.#cp.adminKubeconfig}`,
      `--root-dir=${root}`,
      `--cert-dir=${join(this.dir, 'kubelet-pki')}`,
      `--node-ip=${NODE_IP}`,
      `--hostname-override=${NODE_NAME}`,
      // AKS labels every node with a zone ("0" when the pool is not zonal); without one, the
      // operator's hard zone spread for Production would leave pods Pending.
      '--node-labels=topology.kubernetes.io/zone=0',
      '--v=1',
    ]);
  }

  #startControllers(): void {
    const cp = this.#cp;
    this.#spawn('kube-controller-manager', join(REPO_ROOT, 'bin', 'kube-controller-manager'), [
      `--kubeconfig=${cp.adminKubeconfig}`,
      '--leader-elect=false',
      '--bind-address=127.0.0.1',
      '--secure-port=0',
      `--service-cluster-ip-range=10.0.0.0/24`,
      `--service-account-private-key-file=${join(cp.dir, 'sa.key')}`,
      `--root-ca-file=${join(cp.dir, 'ca.crt')}`,
      '--v=1',
    ]);
    this.#spawn('kube-scheduler', join(REPO_ROOT, 'bin', 'kube-scheduler'), [
      `--kubeconfig=${cp.adminKubeconfig}`,
      '--leader-elect=false',
      '--bind-address=127.0.0.1',
      '--secure-port=0',
      '--v=1',
    ]);
    writeFileSync(
      join(this.dir, 'kube-proxy.yaml'),
      JSON.stringify({
        apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
        kind: 'KubeProxyConfiguration',
        mode: 'iptables',
        clientConnection: { kubeconfig: cp.adminKubeconfig },
        hostnameOverride: NODE_NAME,
        clusterCIDR: CLUSTER_CIDR,
        bindAddress: NODE_IP,
        healthzBindAddress: '127.0.0.1:10256',
        metricsBindAddress: '127.0.0.1:10249',
        // Leave the machine's conntrack sysctls alone (root here cannot raise them anyway).
        conntrack: { maxPerCore: 0, min: 0, tcpEstablishedTimeout: '0s', tcpCloseWaitTimeout: '0s' },
        iptables: { localhostNodePorts: false, syncPeriod: '1s', minSyncPeriod: '0s' },
      }),
    );
    this.#spawn('kube-proxy', join(REPO_ROOT, 'bin', 'kube-proxy'), [`--config=${join(this.dir, 'kube-proxy.yaml')}`, '--v=1']);
  }

  /**
   * kube-router with only its NetworkPolicy controller: iptables chains per policy and pod, ipsets
   * for selected pods and ipBlocks; routing and service proxying stay with the bridge and kube-proxy.
   */
  #startNetworkPolicyEngine(): void {
    this.#spawn('kube-router', join(REPO_ROOT, 'bin', 'kube-router'), [
      `--kubeconfig=${this.#cp.adminKubeconfig}`,
      `--hostname-override=${NODE_NAME}`,
      '--run-firewall=true',
      '--run-router=false',
      '--run-service-proxy=false',
      '--enable-cni=false',
      '--enable-ipv4=true',
      '--enable-ipv6=false',
      '--metrics-port=0',
      '--health-port=0',
      '--iptables-sync-period=5s',
      '--service-cluster-ip-range=10.0.0.0/24',
      '--v=1',
    ]);
  }

  /** CoreDNS in kube-system as kube-dns (k8s-app: kube-dns), non-root, answering cluster.local. */
  async #startCoreDns(): Promise<void> {
    const ns = 'kube-system';
    const labels = { 'k8s-app': 'kube-dns' };
    const admin = this.#admin;
    const kubeconfig = readFileSync(this.#cp.adminKubeconfig, 'utf8').replace(
      /server: .*/,
      `server: https://${NODE_IP}:${API_RELAY_PORT}\n    tls-server-name: localhost`,
    );
    const corefile = `.:53 {
    errors
    health :8080
    ready :8181
    kubernetes cluster.local in-addr.arpa ip6.arpa {
        kubeconfig /etc/coredns/kubeconfig
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
    }
    cache 5
}
`;
    await admin.apply(
      TYPES.Secret,
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'coredns', namespace: ns },
        stringData: { Corefile: corefile, kubeconfig },
      },
      'test-node',
    );
    const coredns = readFileSync(join(REPO_ROOT, 'hack/node/versions.env'), 'utf8').match(/COREDNS_VERSION=(\S+)/)?.[1];
    await admin.apply(
      TYPES.Deployment,
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'coredns', namespace: ns, labels },
        spec: {
          replicas: 1,
          selector: { matchLabels: labels },
          template: {
            metadata: { labels },
            spec: {
              securityContext: {
                runAsNonRoot: true,
                seccompProfile: { type: 'RuntimeDefault' },
                // Port 53 without root or capabilities: a namespaced sysctl the kubelet allows by default.
                sysctls: [{ name: 'net.ipv4.ip_unprivileged_port_start', value: '53' }],
              },
              containers: [
                {
                  name: 'coredns',
                  image: `tenant-operator.local/coredns:${coredns}`,
                  imagePullPolicy: 'Never',
                  args: ['-conf', '/etc/coredns/Corefile'],
                  ports: [
                    { name: 'dns', containerPort: 53, protocol: 'UDP' },
                    { name: 'dns-tcp', containerPort: 53, protocol: 'TCP' },
                  ],
                  readinessProbe: { httpGet: { path: '/ready', port: 8181 }, periodSeconds: 1 },
                  securityContext: {
                    allowPrivilegeEscalation: false,
                    readOnlyRootFilesystem: true,
                    capabilities: { drop: ['ALL'] },
                  },
                  volumeMounts: [{ name: 'config', mountPath: '/etc/coredns', readOnly: true }],
                },
              ],
              volumes: [{ name: 'config', secret: { secretName: 'coredns' } }],
            },
          },
        },
      },
      'test-node',
    );
    await admin.apply(
      TYPES.Service,
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'kube-dns', namespace: ns, labels },
        spec: {
          clusterIP: CLUSTER_DNS_IP,
          selector: labels,
          ports: [
            { name: 'dns', port: 53, protocol: 'UDP' },
            { name: 'dns-tcp', port: 53, protocol: 'TCP' },
          ],
        },
      },
      'test-node',
    );
    await this.#waitFor('CoreDNS ready', 45_000, async () => (await this.client.readyPods(ns, 'k8s-app=kube-dns')).length > 0);
  }
}

/** Where a running node's parts are, as plain data a test worker can read (the node runs elsewhere). */
export interface NodeInfo {
  /** The test application's binary on the host: its `probe` client runs on the node and in the outside namespace. */
  testApp: string;
  adminKubeconfig: string;
}

/** Probes and pod look-ups on a running node; holds no process, so any test worker can make one. */
export class NodeClient {
  readonly #info: NodeInfo;
  readonly #admin: KubeClient;

  constructor(info: NodeInfo) {
    this.#info = info;
    this.#admin = adminClient(info.adminKubeconfig);
  }

  /** Runs the test application's probe client inside a pod: one result per target (`tcp:ip:port`, `udp:ip:port`, `dns:name`). */
  probeFromPod(namespace: string, pod: string, targets: string[], container = 'app'): ProbeResult[] {
    const out = sh('kubectl', [
      `--kubeconfig=${this.#info.adminKubeconfig}`,
      '-n',
      namespace,
      'exec',
      pod,
      '-c',
      container,
      '--',
      '/testapp',
      'probe',
      '--timeout=1500ms',
      ...targets,
    ]);
    return parseProbe(out);
  }

  /** Runs the probe client on the node itself, where no NetworkPolicy applies (a control for blocked rows). */
  probeFromNode(targets: string[]): ProbeResult[] {
    return parseProbe(sh(this.#info.testApp, ['probe', '--timeout=1500ms', ...targets]));
  }

  /** Runs the probe client in the outside namespace with `source` as the packets' source address. */
  probeFromOutside(source: string, targets: string[]): ProbeResult[] {
    return parseProbe(
      sh('ip', ['netns', 'exec', OUTSIDE_NETNS, this.#info.testApp, 'probe', `--from=${source}`, '--timeout=1500ms', ...targets]),
    );
  }

  /** Running, Ready pods of a namespace (optionally matching a label selector), with their IPs. */
  async readyPods(namespace: string, selector?: string): Promise<{ name: string; ip: string }[]> {
    const query = selector ? `?labelSelector=${encodeURIComponent(selector)}` : '';
    const list = await this.#admin.request<{ items: PodObject[] }>('GET', `/api/v1/namespaces/${namespace}/pods${query}`);
    return list.items
      .filter((p) => p.status?.phase === 'Running' && p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))
      .filter((p) => !p.metadata.deletionTimestamp)
      .map((p) => ({ name: p.metadata.name, ip: p.status?.podIP ?? '' }));
  }
}

function parseProbe(out: string): ProbeResult[] {
  return out
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as ProbeResult);
}

/** Starts a node on a running control plane; the caller stops it (its `exit` handler is the last resort). */
export async function startNode(cp: ControlPlaneInfo, options: NodeOptions = {}): Promise<Node> {
  const node = new Node(cp, options);
  await node.start();
  return node;
}
