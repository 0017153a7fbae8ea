/**
 * A real Kubernetes control plane for tests and `make dev`: etcd and kube-apiserver built by
 * hack/build-controlplane.sh, started on free loopback ports with freshly generated certificates,
 * an audit log (to count the operator's writes), and kubeconfigs for an admin and for the
 * operator's own restricted identity. `stop()` always kills both processes and removes the
 * temporary directory.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/** Repository root: jest and the Makefile both run from it. */
export const REPO_ROOT = resolve(process.env.TENANT_OPERATOR_ROOT ?? process.cwd());

/** The user the operator authenticates as in tests; bound to the ClusterRole in config/rbac. */
export const OPERATOR_USER = 'tenant-operator';

export interface ControlPlaneInfo {
  dir: string;
  server: string;
  adminKubeconfig: string;
  operatorKubeconfig: string;
  auditLog: string;
  etcdPid: number;
  apiServerPid: number;
}

export interface AuditEvent {
  verb: string;
  user: { username: string };
  objectRef?: { resource?: string; subresource?: string; namespace?: string; name?: string; apiGroup?: string };
  responseStatus?: { code?: number };
  stage: string;
  requestURI: string;
}

async function freePort(): Promise<number> {
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

function openssl(dir: string, ...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
}

function generateCertificates(dir: string): void {
  openssl(
    dir,
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
    '-days',
    '2',
    '-subj',
    '/CN=test-ca',
  );
  writeFileSync(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes.default.svc\n');
  const issue = (name: string, subject: string, ext?: string) => {
    openssl(dir, 'req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject);
    openssl(
      dir,
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      `${name}.crt`,
      '-days',
      '2',
      ...(ext ? ['-extfile', ext] : []),
    );
  };
  issue('serving', '/CN=kube-apiserver', 'san.ext');
  issue('admin', '/O=system:masters/CN=admin');
  issue('operator', `/CN=${OPERATOR_USER}`);
  openssl(dir, 'genrsa', '-out', 'sa.key', '2048');
  openssl(dir, 'rsa', '-in', 'sa.key', '-pubout', '-out', 'sa.pub');
}

function kubeconfig(server: string, dir: string, user: string): string {
  const b64 = (f: string) => readFileSync(join(dir, f)).toString('base64');
  return `apiVersion: v1
kind: Config
clusters:
- name: test
  cluster:
    server: ${server}
    certificate-authority-data: ${b64('ca.crt')}
users:
- name: ${user}
  user:
    client-certificate-data: ${b64(`${user}.crt`)}
    client-key-data: ${b64(`${user}.key`)}
contexts:
- name: test
  context: { cluster: test, user: ${user} }
current-context: test
`;
}

const AUDIT_POLICY = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
- level: None
  verbs: [get, list, watch]
- level: Metadata
`;

function binary(name: string): string {
  const path = join(REPO_ROOT, 'bin', name);
  if (!existsSync(path)) throw new Error(`${path} is missing: run hack/build-controlplane.sh (make controlplane) first`);
  return path;
}

export class ControlPlane {
  readonly dir: string;
  #etcd: ChildProcess | undefined;
  #apiServer: ChildProcess | undefined;
  #etcdPort = 0;
  #apiPort = 0;
  #stopped = false;
  readonly #onExit = () => this.killNow();
  // Ctrl-C or a CI runner's SIGTERM does not run `exit` handlers: kill the children, then die of the signal.
  readonly #onSignal = (signal: NodeJS.Signals) => {
    this.killNow();
    process.kill(process.pid, signal);
  };

  constructor(dir?: string) {
    this.dir = dir ?? mkdtempSync(join(tmpdir(), 'tenant-operator-cp-'));
  }

  get server(): string {
    return `https://127.0.0.1:${this.#apiPort}`;
  }

  get info(): ControlPlaneInfo {
    return {
      dir: this.dir,
      server: this.server,
      adminKubeconfig: join(this.dir, 'admin.kubeconfig'),
      operatorKubeconfig: join(this.dir, 'operator.kubeconfig'),
      auditLog: join(this.dir, 'audit.log'),
      etcdPid: this.#etcd?.pid ?? 0,
      apiServerPid: this.#apiServer?.pid ?? 0,
    };
  }

  /** Starts etcd and kube-apiserver and waits until /readyz answers. */
  async start(options: { apiServerPort?: number } = {}): Promise<ControlPlaneInfo> {
    process.once('exit', this.#onExit);
    process.once('SIGINT', this.#onSignal);
    process.once('SIGTERM', this.#onSignal);
    generateCertificates(this.dir);
    this.#etcdPort = await freePort();
    const peerPort = await freePort();
    this.#apiPort = options.apiServerPort ?? (await freePort());
    writeFileSync(join(this.dir, 'audit-policy.yaml'), AUDIT_POLICY);
    this.#etcd = this.#spawn('etcd', [
      `--data-dir=${join(this.dir, 'etcd')}`,
      `--listen-client-urls=http://127.0.0.1:${this.#etcdPort}`,
      `--advertise-client-urls=http://127.0.0.1:${this.#etcdPort}`,
      `--listen-peer-urls=http://127.0.0.1:${peerPort}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${peerPort}`,
      `--initial-cluster=default=http://127.0.0.1:${peerPort}`,
      '--unsafe-no-fsync',
      '--log-level=error',
    ]);
    await this.startApiServer();
    writeFileSync(this.info.adminKubeconfig, kubeconfig(this.server, this.dir, 'admin'));
    writeFileSync(this.info.operatorKubeconfig, kubeconfig(this.server, this.dir, 'operator'));
    return this.info;
  }

  /** Starts (or restarts) kube-apiserver against the running etcd on the same port. */
  async startApiServer(): Promise<void> {
    const d = this.dir;
    this.#apiServer = this.#spawn('kube-apiserver', [
      `--etcd-servers=http://127.0.0.1:${this.#etcdPort}`,
      `--secure-port=${this.#apiPort}`,
      '--bind-address=127.0.0.1',
      `--cert-dir=${d}`,
      `--tls-cert-file=${join(d, 'serving.crt')}`,
      `--tls-private-key-file=${join(d, 'serving.key')}`,
      `--client-ca-file=${join(d, 'ca.crt')}`,
      `--service-account-issuer=https://127.0.0.1:${this.#apiPort}`,
      `--service-account-key-file=${join(d, 'sa.pub')}`,
      `--service-account-signing-key-file=${join(d, 'sa.key')}`,
      '--service-cluster-ip-range=10.0.0.0/24',
      '--authorization-mode=RBAC',
      '--allow-privileged=true',
      '--disable-admission-plugins=ServiceAccount',
      // The test node (node.ts) registers a name no resolver knows; exec and logs go to its address.
      '--kubelet-preferred-address-types=InternalIP,Hostname',
      `--audit-policy-file=${join(d, 'audit-policy.yaml')}`,
      `--audit-log-path=${join(d, 'audit.log')}`,
      '--audit-log-format=json',
      '--audit-log-mode=blocking',
      '--v=0',
    ]);
    await this.#waitReady(90_000);
  }

  /** Kills kube-apiserver (etcd keeps the data), for tests of watch recovery. */
  async stopApiServer(): Promise<void> {
    await this.#kill(this.#apiServer);
    this.#apiServer = undefined;
  }

  /** Audit events (writes only: the policy drops get/list/watch) recorded so far. */
  auditEvents(): AuditEvent[] {
    const path = this.info.auditLog;
    if (!existsSync(path)) return [];
    return readFileSync(path, 'utf8')
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as AuditEvent)
      .filter((e) => e.stage === 'ResponseComplete');
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    await this.#kill(this.#apiServer);
    await this.#kill(this.#etcd);
    this.#removeListeners();
    rmSync(this.dir, { recursive: true, force: true });
  }

  #removeListeners(): void {
    process.removeListener('exit', this.#onExit);
    process.removeListener('SIGINT', this.#onSignal);
    process.removeListener('SIGTERM', this.#onSignal);
  }

  /** Synchronous last resort when the test process exits or is interrupted without calling stop(). */
  killNow(): void {
    this.#removeListeners();
    for (const child of [this.#apiServer, this.#etcd]) if (child?.exitCode === null) child.kill('SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
  }

  #spawn(name: string, args: string[]): ChildProcess {
    const child = spawn(binary(name), args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let tail = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      tail = (tail + chunk.toString()).slice(-4000);
    });
    child.on('exit', (code, signal) => {
      if (!this.#stopped && code !== 0 && signal === null) process.stderr.write(`${name} exited ${code}:\n${tail}\n`);
    });
    return child;
  }

  async #kill(child: ChildProcess | undefined): Promise<void> {
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }

  async #waitReady(timeoutMs: number): Promise<void> {
    const tls = {
      ca: readFileSync(join(this.dir, 'ca.crt')),
      cert: readFileSync(join(this.dir, 'admin.crt')),
      key: readFileSync(join(this.dir, 'admin.key')),
    };
    const probe = () =>
      new Promise<string>((done) => {
        const req = request(`${this.server}/readyz`, { ...tls, timeout: 2000 }, (res) => {
          let body = '';
          res.on('data', (c: Buffer) => {
            body += c.toString();
          });
          res.on('end', () => done(`${res.statusCode} ${body}`));
        });
        req.on('error', (err) => done(err.message));
        req.on('timeout', () => req.destroy(new Error('timeout')));
        req.end();
      });
    const deadline = Date.now() + timeoutMs;
    let last = '';
    while (Date.now() < deadline) {
      if (this.#apiServer?.exitCode !== null) throw new Error('kube-apiserver exited during start-up');
      last = await probe();
      if (last.startsWith('200 ')) return;
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error(`kube-apiserver not ready after ${timeoutMs} ms: ${last}`);
  }
}
