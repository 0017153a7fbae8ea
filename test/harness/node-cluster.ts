/**
 * The suite's one real node cluster: a control plane of its own with the real controllers and a
 * one-node cluster (node.ts) on it, started at most once per jest run, on the first request of a
 * test file that needs pods, and stopped in global teardown. The jest parent process owns it (a
 * broker on loopback, started in global setup); test files attach to it one at a time and get its
 * coordinates, and on detach every tenant and tenant namespace they left is removed, so the next
 * file starts from an empty cluster with a free node.
 *
 * It is a cluster apart from the shared control plane on purpose: there the kubelet stand-in writes
 * Deployment status and no namespace or garbage collector runs; here the real deployment controller
 * and kubelet decide, and the stand-in never runs.
 */
import { createServer, request, type Server } from 'node:http';
import { type KubeClient, type KubeObject, resourcePath } from '../../src/runtime/kube-client.ts';
import {
  adminClient,
  installAccessPolicy,
  installAdmissionPolicy,
  installCrds,
  installPlatformDefaults,
  installRbac,
  installThirdPartyCrds,
  typeOf,
} from './cluster-setup.ts';
import { ControlPlane, type ControlPlaneInfo } from './control-plane.ts';
import { NodeClient, type NodeInfo, startNode } from './node.ts';

/**
 * Addresses of the node's "outside" namespace, for every test on the node: stand-ins for the
 * configured Azure ranges (SQL 10.198.1/24, Key Vault 10.198.2/24, Entra ID 10.198.3/24), the
 * private endpoint subnet 10.198.4.0/28 (.4-.9), an address outside every allowed range
 * (10.198.9.10), the front door's subnet (10.197.1/24) and an address outside it (10.197.9.10).
 */
export const OUTSIDE_ADDRESSES = [
  '10.198.1.10',
  '10.198.2.10',
  '10.198.3.10',
  '10.198.9.10',
  '10.197.1.10',
  '10.197.9.10',
  '10.198.4.4',
  '10.198.4.5',
  '10.198.4.6',
  '10.198.4.7',
  '10.198.4.8',
  '10.198.4.9',
];
/** Ports every outside address answers on, TCP (HTTP) and UDP (echo). */
export const OUTSIDE_PORTS = [443, 1433, 8443];
/** Another run's node holds the host-wide lock for as long as its suite needs pods: wait for it. */
const NODE_LOCK_TIMEOUT_MS = 15 * 60_000;
/** How long a file may wait for its turn, for the host lock, and for the cluster to start. */
export const ATTACH_TIMEOUT_MS = 30 * 60_000;

export interface NodeClusterInfo {
  /** The node cluster's control plane (not the shared one). */
  cluster: ControlPlaneInfo;
  node: NodeInfo;
  /** Seconds the first attach spent starting the control plane and the node (0 for later files). */
  startSeconds: number;
  /** Of those, the node's own start (containerd to CoreDNS ready). */
  nodeStartSeconds: number;
}

/** A started node cluster, as the broker drives it. */
export interface RunningNodeCluster {
  info: NodeClusterInfo;
  /** Empties it for the next file. */
  reset(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Serves the node cluster to test files: POST /attach?file=F&pid=P waits for the file's turn (and
 * starts the cluster the first time), POST /detach?file=F&pid=P empties it for the next file.
 */
export class NodeClusterBroker {
  readonly #server: Server;
  readonly #start: () => Promise<RunningNodeCluster>;
  #running: Promise<RunningNodeCluster> | undefined;
  #holder: { file: string; pid: number } | undefined;

  /** `start` is replaced only by the broker's own test. */
  constructor(start: () => Promise<RunningNodeCluster> = startNodeCluster) {
    this.#start = start;
    this.#server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://broker');
      const file = url.searchParams.get('file') ?? 'unknown';
      const pid = Number(url.searchParams.get('pid'));
      const answer = (status: number, body: string) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(body);
      };
      const work =
        url.pathname === '/attach' ? this.#attach(file, pid) : url.pathname === '/detach' ? this.#detach(file, pid) : undefined;
      if (!work) return answer(404, JSON.stringify({ error: `no ${url.pathname}` }));
      work.then(
        (body) => answer(200, JSON.stringify(body ?? {})),
        (err: Error) => answer(500, JSON.stringify({ error: err.message })),
      );
    });
    // Attaching may wait for another file and for the host lock: far longer than Node's defaults.
    this.#server.requestTimeout = 0;
    this.#server.headersTimeout = 0;
  }

  /** Listens on loopback; the URL goes to the test workers through the shared info file. */
  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    const address = this.#server.address();
    if (!address || typeof address === 'string') throw new Error('the node cluster broker has no port');
    return `http://127.0.0.1:${address.port}`;
  }

  /** Stops the node and its control plane (if a file ever asked for them), also after failed tests. */
  async stop(): Promise<void> {
    this.#server.close();
    const running = await this.#running?.catch(() => undefined);
    await running?.stop();
  }

  async #attach(file: string, pid: number): Promise<NodeClusterInfo> {
    // One file at a time; a holder whose process died (a crashed worker) never detaches: take over.
    while (this.#holder !== undefined && alive(this.#holder.pid)) await new Promise((r) => setTimeout(r, 500));
    const abandoned = this.#holder;
    this.#holder = { file, pid };
    try {
      const first = this.#running === undefined;
      this.#running ??= this.#start();
      const running = await this.#running;
      if (abandoned) await running.reset();
      const { info } = running;
      return first ? info : { ...info, startSeconds: 0 };
    } catch (err) {
      this.#holder = undefined;
      throw err;
    }
  }

  async #detach(file: string, pid: number): Promise<void> {
    if (this.#holder?.file !== file || this.#holder.pid !== pid)
      throw new Error(`${file} detaches from the node cluster, but ${this.#holder?.file ?? 'no file'} holds it`);
    try {
      const running = await this.#running;
      await running?.reset();
    } finally {
      this.#holder = undefined;
    }
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function startNodeCluster(): Promise<RunningNodeCluster> {
  const started = Date.now();
  const cp = new ControlPlane();
  try {
    const cluster = await cp.start();
    const admin = adminClient(cluster.adminKubeconfig);
    await installCrds(admin);
    await installThirdPartyCrds(admin);
    await installRbac(admin);
    await installPlatformDefaults(admin);
    await installAdmissionPolicy(admin, cluster.operatorKubeconfig);
    await installAccessPolicy(admin);
    const nodeStarted = Date.now();
    const node = await startNode(cluster, {
      outsideAddresses: OUTSIDE_ADDRESSES,
      outsidePorts: OUTSIDE_PORTS,
      lockTimeoutMs: NODE_LOCK_TIMEOUT_MS,
    });
    const seconds = (since: number) => Math.round((Date.now() - since) / 100) / 10;
    return {
      info: { cluster, node: node.info, startSeconds: seconds(started), nodeStartSeconds: seconds(nodeStarted) },
      reset: () => resetNodeCluster(admin),
      stop: async () => {
        await node.stop();
        await cp.stop();
      },
    };
  } catch (err) {
    await cp.stop();
    throw err;
  }
}

type TenantObject = KubeObject & { metadata: { finalizers?: string[] } };

/**
 * Removes what a test file left: its Tenants (finalizers dropped: the file's operator has stopped,
 * and the node cluster's Azure is that file's own emulator, gone with it), its MaintenanceWindows
 * and BackupPolicies (the platform's `default` policy stays), and every namespace the operator
 * made, waiting until the real namespace controller has removed them and their pods.
 */
async function resetNodeCluster(admin: KubeClient): Promise<void> {
  const list = async <T extends KubeObject>(kind: string, labelSelector?: string) =>
    (
      await admin.request<{ items: T[] }>('GET', resourcePath(typeOf(kind)), {
        ...(labelSelector ? { query: { labelSelector } } : {}),
      })
    ).items;
  const tenants = await list<TenantObject>('Tenant');
  for (const t of tenants) {
    if ((t.metadata.finalizers ?? []).length > 0)
      await admin.request('PATCH', `/apis/tenancy.dev/v1alpha1/tenants/${t.metadata.name}`, {
        body: { metadata: { finalizers: null } },
        contentType: 'application/merge-patch+json',
      });
    await admin.delete(typeOf('Tenant'), t.metadata.name).catch(() => undefined);
  }
  for (const w of await list('MaintenanceWindow')) await admin.delete(typeOf('MaintenanceWindow'), w.metadata.name);
  for (const p of await list('BackupPolicy'))
    if (p.metadata.name !== 'default') await admin.delete(typeOf('BackupPolicy'), p.metadata.name);
  const selector = 'app.kubernetes.io/managed-by=tenant-operator';
  const namespaces = await list('Namespace', selector);
  for (const ns of namespaces) await admin.delete(typeOf('Namespace'), ns.metadata.name).catch(() => undefined);
  const deadline = Date.now() + 180_000;
  for (;;) {
    const left = await list('Namespace', selector);
    const tenantsLeft = await list('Tenant');
    if (left.length === 0 && tenantsLeft.length === 0) return;
    if (Date.now() > deadline)
      throw new Error(
        `the node cluster could not be emptied for the next file: ${[
          ...left.map((o) => `namespace ${o.metadata.name}`),
          ...tenantsLeft.map((o) => `Tenant ${o.metadata.name}`),
        ].join(', ')} still there`,
      );
    await new Promise((r) => setTimeout(r, 500));
  }
}

function post<T>(url: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST' }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => {
        text += c.toString();
      });
      res.on('end', () => {
        const body = JSON.parse(text || '{}') as T & { error?: string };
        if (res.statusCode === 200) resolve(body);
        else reject(new Error(`the node cluster: ${body.error ?? res.statusCode}`));
      });
    });
    req.on('error', reject);
    req.end();
  });
}

export interface AttachedNodeCluster {
  info: NodeClusterInfo;
  /** The node cluster's control plane, as startOperator and adminClient take it. */
  cluster: ControlPlaneInfo;
  node: NodeClient;
  /** Gives the cluster back, emptied of this file's tenants; call in afterAll after stopping the file's operator. */
  detach(): Promise<void>;
}

/**
 * Waits for this file's turn on the suite's node cluster (starting it if no file has yet). `file`
 * names the test file in errors; `brokerUrl` comes from the shared info file (fixtures.ts).
 */
export async function attachNodeCluster(brokerUrl: string, file: string): Promise<AttachedNodeCluster> {
  const query = `?file=${encodeURIComponent(file)}&pid=${process.pid}`;
  const info = await post<NodeClusterInfo>(`${brokerUrl}/attach${query}`);
  if (info.startSeconds > 0)
    process.stdout.write(`The node cluster started in ${info.startSeconds} s (the node itself in ${info.nodeStartSeconds} s)\n`);
  return {
    info,
    cluster: info.cluster,
    node: new NodeClient(info.node),
    detach: () => post<void>(`${brokerUrl}/detach${query}`),
  };
}
