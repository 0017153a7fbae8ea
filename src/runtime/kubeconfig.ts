/**
 * Where the API server is and how to authenticate to it: a kubeconfig file or the pod's
 * in-cluster service account, resolved once into a server URL, one TLS connection pool and a
 * source of credentials.
 *
 * Why not client-node's KubeConfig: it imports the whole generated API (every model and client of
 * every group), which costs ~85 MB of resident memory to load, a third of the operator's budget,
 * for the few fields read here. The operator speaks wire-format JSON through its own client
 * (kube-client.ts), so all it needs from a kubeconfig is this. client-node stays the source of
 * the object types (type-only imports cost nothing at run time).
 *
 * Supported, as in kubectl: `current-context` or an explicit context; `server`,
 * `certificate-authority[-data]`, `insecure-skip-tls-verify`, `tls-server-name`; users with
 * `client-certificate[-data]` + `client-key[-data]`, `token`, `tokenFile`, `username`/`password`,
 * or an `exec` credential plugin (client.authentication.k8s.io v1 or v1beta1, e.g. kubelogin on
 * AKS). Legacy `auth-provider` entries are refused with a message naming the replacement.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { Agent } from 'undici';
import { parse as parseYaml } from 'yaml';

/** The service account files every pod gets (client-go's rest.InClusterConfig reads the same). */
export const IN_CLUSTER_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export class KubeConfigError extends Error {
  override readonly name = 'KubeConfigError';
}

export interface ExecPlugin {
  command: string;
  args: string[];
  env: Record<string, string>;
  apiVersion: string;
}

export type Credentials =
  | { kind: 'none' }
  | { kind: 'token'; token: string }
  /** Re-read periodically: projected service account tokens rotate. */
  | { kind: 'tokenFile'; path: string }
  | { kind: 'basic'; username: string; password: string }
  | { kind: 'exec'; plugin: ExecPlugin };

/** A kubeconfig context reduced to what a connection needs; file references already read. */
export interface ResolvedKubeConfig {
  server: string;
  tls: { ca?: string; cert?: string; key?: string; insecureSkipVerify: boolean; serverName?: string };
  credentials: Credentials;
}

type Raw = Record<string, unknown>;

/** `clusters[name=...].cluster`, and the same for contexts and users. */
function entry(list: unknown, name: string, what: string, field: string): Raw {
  const found = Array.isArray(list) ? (list as Raw[]).find((e) => e?.name === name) : undefined;
  const value = found?.[field];
  if (!value || typeof value !== 'object') throw new KubeConfigError(`kubeconfig has no ${what} named "${name}"`);
  return value as Raw;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/**
 * Resolves a kubeconfig's text into one context's connection settings. Pure apart from reading
 * the certificate and key files it names (relative paths are relative to `baseDir`, as kubectl
 * does).
 */
export function resolveKubeConfig(text: string, options: { baseDir: string; context?: string }): ResolvedKubeConfig {
  let doc: Raw;
  try {
    doc = (parseYaml(text) ?? {}) as Raw;
  } catch (err) {
    throw new KubeConfigError(`kubeconfig is not valid YAML: ${(err as Error).message}`);
  }
  const contextName = options.context ?? str(doc['current-context']);
  if (!contextName) throw new KubeConfigError('kubeconfig has no current-context and none was given');
  const context = entry(doc.contexts, contextName, 'context', 'context');
  const clusterName = str(context.cluster);
  if (!clusterName) throw new KubeConfigError(`context "${contextName}" names no cluster`);
  const cluster = entry(doc.clusters, clusterName, 'cluster', 'cluster');
  const userName = str(context.user);
  const user = userName ? entry(doc.users, userName, 'user', 'user') : {};

  const server = str(cluster.server);
  if (!server) throw new KubeConfigError(`cluster "${clusterName}" has no server`);
  if (str(cluster['proxy-url'])) throw new KubeConfigError(`cluster "${clusterName}": proxy-url is not supported`);
  const path = (p: string) => (isAbsolute(p) ? p : resolve(options.baseDir, p));
  const material = (data: unknown, file: unknown, what: string): string | undefined => {
    if (str(data)) return Buffer.from(data as string, 'base64').toString('utf8');
    if (!str(file)) return undefined;
    try {
      return readFileSync(path(file as string), 'utf8');
    } catch (err) {
      throw new KubeConfigError(`cannot read ${what} ${file as string}: ${(err as Error).message}`);
    }
  };

  const tls: ResolvedKubeConfig['tls'] = {
    ca: material(cluster['certificate-authority-data'], cluster['certificate-authority'], 'certificate authority'),
    cert: material(user['client-certificate-data'], user['client-certificate'], 'client certificate'),
    key: material(user['client-key-data'], user['client-key'], 'client key'),
    insecureSkipVerify: cluster['insecure-skip-tls-verify'] === true,
    serverName: str(cluster['tls-server-name']),
  };
  if (Boolean(tls.cert) !== Boolean(tls.key)) {
    throw new KubeConfigError(`user "${userName}": a client certificate needs its key, and a key its certificate`);
  }

  let credentials: Credentials = { kind: 'none' };
  if (user['auth-provider']) {
    throw new KubeConfigError(
      `user "${userName}": auth-provider plugins are not supported; use an exec plugin (for AKS: kubelogin convert-kubeconfig)`,
    );
  } else if (user.exec && typeof user.exec === 'object') {
    const exec = user.exec as Raw;
    const command = str(exec.command);
    if (!command) throw new KubeConfigError(`user "${userName}": exec needs a command`);
    const env: Record<string, string> = {};
    for (const e of Array.isArray(exec.env) ? (exec.env as Raw[]) : []) {
      if (str(e?.name)) env[e.name as string] = String(e.value ?? '');
    }
    credentials = {
      kind: 'exec',
      plugin: {
        // A command with a slash is relative to the kubeconfig; a bare name is looked up in PATH.
        command: command.includes('/') ? path(command) : command,
        args: Array.isArray(exec.args) ? (exec.args as unknown[]).map(String) : [],
        env,
        apiVersion: str(exec.apiVersion) ?? 'client.authentication.k8s.io/v1',
      },
    };
  } else if (str(user.token)) {
    credentials = { kind: 'token', token: user.token as string };
  } else if (str(user.tokenFile)) {
    credentials = { kind: 'tokenFile', path: path(user.tokenFile as string) };
  } else if (str(user.username) && str(user.password)) {
    credentials = { kind: 'basic', username: user.username as string, password: user.password as string };
  }
  return { server: server.replace(/\/+$/, ''), tls, credentials };
}

/** The pod's own service account, as client-go's rest.InClusterConfig reads it. */
export function inClusterConfig(env: NodeJS.ProcessEnv = process.env, dir = IN_CLUSTER_DIR): ResolvedKubeConfig {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  if (!host || !port) throw new KubeConfigError('not running in a cluster: KUBERNETES_SERVICE_HOST/PORT are not set');
  const ca = join(dir, 'ca.crt');
  return {
    server: `https://${host.includes(':') ? `[${host}]` : host}:${port}`,
    tls: { ca: existsSync(ca) ? readFileSync(ca, 'utf8') : undefined, insecureSkipVerify: false },
    credentials: { kind: 'tokenFile', path: join(dir, 'token') },
  };
}

/**
 * kubectl's order: an explicit path, else the first file in $KUBECONFIG, else ~/.kube/config if
 * it exists, else the in-cluster service account.
 */
export function loadKubeConfig(options: { path?: string; context?: string; env?: NodeJS.ProcessEnv } = {}): ResolvedKubeConfig {
  const env = options.env ?? process.env;
  const fromEnv = env.KUBECONFIG?.split(':').find((p) => p !== '');
  const home = join(homedir(), '.kube', 'config');
  const file = options.path ?? fromEnv ?? (existsSync(home) ? home : undefined);
  if (!file) return inClusterConfig(env);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new KubeConfigError(`cannot read kubeconfig ${file}: ${(err as Error).message}`);
  }
  return resolveKubeConfig(text, { baseDir: dirname(resolve(file)), context: options.context });
}

const run = promisify(execFile);
/** Re-read token files this often (client-go does so every minute). */
const TOKEN_FILE_TTL_MS = 60_000;
/** Renew exec credentials this long before they expire. */
const EXEC_EXPIRY_MARGIN_MS = 60_000;

/**
 * One API server: the server URL, one kept-alive TLS connection pool shared by every request and
 * watch, and the Authorization header for the next request (cached, refreshed as it expires).
 */
export class KubeConnection {
  readonly server: string;
  readonly dispatcher: Agent;
  readonly #agentOptions: ConstructorParameters<typeof Agent>[0];
  readonly #credentials: Credentials;
  #cached: { header: string | undefined; until: number } | undefined;
  #pending: Promise<string | undefined> | undefined;

  constructor(config: ResolvedKubeConfig) {
    this.server = config.server;
    this.#credentials = config.credentials;
    this.#agentOptions = {
      connect: {
        ca: config.tls.ca,
        cert: config.tls.cert,
        key: config.tls.key,
        rejectUnauthorized: !config.tls.insecureSkipVerify,
        servername: config.tls.serverName,
      },
      keepAliveTimeout: 30_000,
    };
    this.dispatcher = new Agent(this.#agentOptions);
  }

  /**
   * A connection pool of its own to the same server, for requests that must be cut off together
   * (a leadership term's: see KubeClient.fenced). Destroying it tears its connections down; with
   * HTTP/2 an aborted request only resets its stream, and frames already written still arrive.
   */
  newDispatcher(): Agent {
    return new Agent(this.#agentOptions);
  }

  /** Reads a kubeconfig (see loadKubeConfig for the search order) and connects to its server. */
  static load(options: { path?: string; context?: string } = {}): KubeConnection {
    return new KubeConnection(loadKubeConfig(options));
  }

  /** The Authorization header value for the next request, if the user has one. */
  async authorization(now = Date.now()): Promise<string | undefined> {
    if (this.#cached && now < this.#cached.until) return this.#cached.header;
    this.#pending ??= this.#fetch(now).finally(() => {
      this.#pending = undefined;
    });
    return this.#pending;
  }

  /** Forgets the cached credential, e.g. after a 401, so the next request fetches a fresh one. */
  invalidate(): void {
    this.#cached = undefined;
  }

  close(): Promise<void> {
    return this.dispatcher.close();
  }

  async #fetch(now: number): Promise<string | undefined> {
    const c = this.#credentials;
    let header: string | undefined;
    let until = Number.POSITIVE_INFINITY;
    switch (c.kind) {
      case 'none':
        break;
      case 'token':
        header = `Bearer ${c.token}`;
        break;
      case 'basic':
        header = `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`;
        break;
      case 'tokenFile':
        header = `Bearer ${readFileSync(c.path, 'utf8').trim()}`;
        until = now + TOKEN_FILE_TTL_MS;
        break;
      case 'exec': {
        const credential = await runExecPlugin(c.plugin);
        header = `Bearer ${credential.token}`;
        if (credential.expiresAt !== undefined) until = credential.expiresAt - EXEC_EXPIRY_MARGIN_MS;
        break;
      }
    }
    this.#cached = { header, until };
    return header;
  }
}

/** Runs a client-go credential plugin and reads the token (and its expiry) from its ExecCredential. */
export async function runExecPlugin(plugin: ExecPlugin): Promise<{ token: string; expiresAt?: number }> {
  const input = { apiVersion: plugin.apiVersion, kind: 'ExecCredential', spec: { interactive: false } };
  let stdout: string;
  try {
    ({ stdout } = await run(plugin.command, plugin.args, {
      env: { ...process.env, ...plugin.env, KUBERNETES_EXEC_INFO: JSON.stringify(input) },
      timeout: 60_000,
      maxBuffer: 1 << 20,
    }));
  } catch (err) {
    // The plugin's stderr may say why; its stdout may hold a credential, so it is never quoted.
    const stderr = String((err as { stderr?: unknown }).stderr ?? '')
      .trim()
      .slice(0, 500);
    throw new KubeConfigError(
      `credential plugin ${plugin.command} failed: ${(err as Error).message.split('\n')[0]}${stderr ? `: ${stderr}` : ''}`,
    );
  }
  let status: { token?: unknown; expirationTimestamp?: unknown; clientCertificateData?: unknown } | undefined;
  try {
    status = (JSON.parse(stdout) as { status?: typeof status }).status;
  } catch {
    throw new KubeConfigError(`credential plugin ${plugin.command} did not print an ExecCredential`);
  }
  if (typeof status?.token !== 'string' || status.token === '') {
    throw new KubeConfigError(
      status?.clientCertificateData
        ? `credential plugin ${plugin.command} returned a client certificate; only tokens are supported`
        : `credential plugin ${plugin.command} returned no token`,
    );
  }
  const expiresAt = typeof status.expirationTimestamp === 'string' ? Date.parse(status.expirationTimestamp) : Number.NaN;
  return { token: status.token, expiresAt: Number.isFinite(expiresAt) ? expiresAt : undefined };
}
