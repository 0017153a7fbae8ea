/**
 * Where the API server is and how to reach it as whom: kubeconfig files or the pod's in-cluster
 * service account, resolved once into a server URL, one connection pool (direct or through a
 * proxy), the headers every request carries (impersonation) and a source of credentials.
 *
 * Why not client-node's KubeConfig: it imports the whole generated API (every model and client of
 * every group), which costs ~85 MB of resident memory to load, a third of the operator's budget,
 * for the few fields read here. The operator speaks wire-format JSON through its own client
 * (kube-client.ts), so all it needs from a kubeconfig is this. client-node stays the source of
 * the object types (type-only imports cost nothing at run time).
 *
 * Which files, in kubectl's order: an explicit path (`--kubeconfig`, which must exist), else every
 * file listed in $KUBECONFIG (separated by path.delimiter, `:` on Linux; empty entries and files
 * that do not exist are skipped, but at least one must exist), else ~/.kube/config if it exists,
 * else the in-cluster service account. Several files merge as kubectl merges them: a cluster,
 * user or context belongs to the first file that names it, taken whole (never field by field);
 * `current-context` comes from the first file that sets one; relative paths in an entry
 * (certificate-authority, client-certificate, client-key, tokenFile, an exec command with a
 * slash) resolve against the directory of the file the entry came from.
 *
 * Supported, with kubectl's meaning:
 * - context: `cluster`, `user`. `namespace` and `extensions` are accepted and change nothing: the
 *   operator names the namespace of every request itself.
 * - cluster: `server`, `certificate-authority[-data]`, `insecure-skip-tls-verify`,
 *   `tls-server-name`, `proxy-url` (an http or https proxy; TLS to the API server is still
 *   verified, end to end through a CONNECT tunnel; credentials in the URL go to the proxy as
 *   Proxy-Authorization), `disable-compression`; `extensions` reach an exec plugin that asks for
 *   cluster information (`provideClusterInfo`). An https proxy's own certificate is checked
 *   against the system CAs (NODE_EXTRA_CA_CERTS adds one), where Go would use the cluster's CA.
 * - Without `proxy-url`, HTTPS_PROXY / HTTP_PROXY / NO_PROXY decide, as in Go (http-proxy.ts);
 *   in cluster too, as for every client-go program.
 * - user: `client-certificate[-data]` + `client-key[-data]`; `token`; `tokenFile` (re-read every
 *   minute); `username`/`password`; an `exec` credential plugin (client.authentication.k8s.io v1
 *   or v1beta1, e.g. kubelogin on AKS; `installHint`, `provideClusterInfo`, `interactiveMode`
 *   Never or IfAvailable); impersonation, as client-go's ImpersonationConfig sends it: `as`,
 *   `as-uid`, `as-groups` and `as-user-extra` become Impersonate-User, Impersonate-Uid, one
 *   Impersonate-Group per group and one Impersonate-Extra-<key> per value on every request.
 *
 * Refused at load with a KubeConfigError naming the file, the entry and the field, rather than
 * ignored or guessed: unknown fields (a misspelt `tokenfile` must not silently mean anonymous),
 * `auth-provider` (use an exec plugin), SOCKS5 proxies, `interactiveMode: Always` (the operator
 * has no terminal), an exec plugin next to a static credential (kubectl would quietly skip the
 * plugin), `token` next to `tokenFile`, a `-data` field next to its file, a CA next to
 * `insecure-skip-tls-verify`, more than one way to authenticate, impersonation details without
 * `as`, and the same name twice in one file. Messages never quote a token, password, key or a
 * proxy's credentials.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, isAbsolute, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { Agent, type Dispatcher, ProxyAgent } from 'undici';
import { parse as parseYaml } from 'yaml';
import { describeProxy, ProxyConfigError, parseProxyUrl, proxyFromEnvironment } from './http-proxy.ts';

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
  /** Shown when the command is not installed (the kubeconfig's `installHint`). */
  installHint?: string;
  /** The ExecCredential's `spec.cluster`, when the kubeconfig asks to provide cluster information. */
  cluster?: Record<string, unknown>;
}

export type Credentials =
  | { kind: 'none' }
  | { kind: 'token'; token: string }
  /** Re-read periodically: projected service account tokens rotate. */
  | { kind: 'tokenFile'; path: string }
  | { kind: 'basic'; username: string; password: string }
  | { kind: 'exec'; plugin: ExecPlugin };

/** Whom every request acts as (kubectl's --as, --as-uid, --as-group and the user-extra fields). */
export interface Impersonation {
  user: string;
  uid?: string;
  groups: string[];
  extra: Record<string, string[]>;
}

/** A kubeconfig context reduced to what a connection needs; file references already read. */
export interface ResolvedKubeConfig {
  server: string;
  tls: { ca?: string; cert?: string; key?: string; insecureSkipVerify: boolean; serverName?: string };
  credentials: Credentials;
  impersonate?: Impersonation;
  /** The proxy every request goes through. It may carry the proxy's password: log it only through describeProxy. */
  proxy?: string;
  /** Ask the server for uncompressed responses (the cluster's `disable-compression`). */
  disableCompression?: boolean;
}

/** One kubeconfig file's text and where it was read from. */
export interface KubeConfigSource {
  path: string;
  text: string;
}

type Raw = Record<string, unknown>;
type Env = Record<string, string | undefined>;

/** A named cluster, user or context of a merged kubeconfig, and the file it came from. */
interface Entry {
  name: string;
  value: Raw;
  file: string;
}

/** Several kubeconfig files merged as kubectl merges them (see the module comment). */
export interface MergedKubeConfig {
  currentContext?: { name: string; file: string };
  clusters: Map<string, Entry>;
  users: Map<string, Entry>;
  contexts: Map<string, Entry>;
}

const isMap = (v: unknown): v is Raw => typeof v === 'object' && v !== null && !Array.isArray(v);

const CONTEXT_FIELDS = new Set(['cluster', 'user', 'namespace', 'extensions']);
const CLUSTER_FIELDS = new Set([
  'server',
  'tls-server-name',
  'insecure-skip-tls-verify',
  'certificate-authority',
  'certificate-authority-data',
  'proxy-url',
  'disable-compression',
  'extensions',
]);
const USER_FIELDS = new Set([
  'client-certificate',
  'client-certificate-data',
  'client-key',
  'client-key-data',
  'token',
  'tokenFile',
  'as',
  'as-uid',
  'as-groups',
  'as-user-extra',
  'username',
  'password',
  'auth-provider',
  'exec',
  'extensions',
]);
const EXEC_FIELDS = new Set(['command', 'args', 'env', 'apiVersion', 'installHint', 'provideClusterInfo', 'interactiveMode']);
const EXEC_API_VERSIONS = new Set(['client.authentication.k8s.io/v1', 'client.authentication.k8s.io/v1beta1']);

/** Typed reads of one entry's fields; every error names the file, the entry and the field, never a value. */
class Fields {
  readonly #entry: Entry;
  readonly #kind: string;
  readonly #value: Raw;
  readonly #prefix: string;

  constructor(entry: Entry, kind: string, known: ReadonlySet<string>, nested?: { field: string; value: Raw }) {
    this.#entry = entry;
    this.#kind = kind;
    this.#value = nested?.value ?? entry.value;
    this.#prefix = nested ? `${nested.field}.` : '';
    for (const field of Object.keys(this.#value)) {
      if (!known.has(field)) throw this.error(`unknown field "${this.#prefix}${field}"`);
    }
  }

  error(message: string): KubeConfigError {
    return new KubeConfigError(`kubeconfig ${this.#entry.file}: ${this.#kind} "${this.#entry.name}": ${message}`);
  }

  /** The fields of a mapping under `field` (e.g. a user's exec), checked against `known`. */
  nested(field: string, known: ReadonlySet<string>): Fields {
    const value = this.#value[field];
    if (!isMap(value)) throw this.error(`${this.#prefix}${field} must be a mapping`);
    return new Fields(this.#entry, this.#kind, known, { field: `${this.#prefix}${field}`, value });
  }

  has(field: string): boolean {
    return this.#value[field] !== undefined && this.#value[field] !== null;
  }

  raw(field: string): unknown {
    return this.#value[field];
  }

  /** A string field; empty means unset, as in kubectl. */
  text(field: string): string | undefined {
    const v = this.#value[field];
    if (v === undefined || v === null || v === '') return undefined;
    if (typeof v !== 'string') throw this.error(`${this.#prefix}${field} must be a string`);
    return v;
  }

  flag(field: string): boolean {
    const v = this.#value[field];
    if (v === undefined || v === null) return false;
    if (typeof v !== 'boolean') throw this.error(`${this.#prefix}${field} must be true or false`);
    return v;
  }

  list(field: string): string[] {
    const v = this.#value[field];
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v) || !v.every((s) => typeof s === 'string'))
      throw this.error(`${this.#prefix}${field} must be a list of strings`);
    return v as string[];
  }

  /** A file reference, absolute or relative to the directory of the file this entry came from. */
  path(p: string): string {
    return isAbsolute(p) ? p : resolve(dirname(resolve(this.#entry.file)), p);
  }

  /** Inline `-data` (base64) or the file it names; both at once is ambiguous, and refused as by kubectl. */
  material(dataField: string, fileField: string): string | undefined {
    const data = this.text(dataField);
    const file = this.text(fileField);
    if (data && file) throw this.error(`both ${dataField} and ${fileField} are set; set one`);
    if (data) return Buffer.from(data, 'base64').toString('utf8');
    if (!file) return undefined;
    const path = this.path(file);
    try {
      return readFileSync(path, 'utf8');
    } catch (err) {
      throw this.error(`cannot read ${fileField} ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }
}

/** Parses one file. A YAML error is reported by position only: the line it would quote may hold a secret. */
function parseFile(source: KubeConfigSource): Raw {
  let doc: unknown;
  try {
    doc = parseYaml(source.text);
  } catch (err) {
    const { code, linePos } = err as { code?: string; linePos?: { line: number; col: number }[] };
    const at = linePos?.[0] ? ` at line ${linePos[0].line}, column ${linePos[0].col}` : '';
    throw new KubeConfigError(`kubeconfig ${source.path} is not valid YAML${code ? ` (${code})` : ''}${at}`);
  }
  if (doc === null || doc === undefined) return {};
  if (!isMap(doc)) throw new KubeConfigError(`kubeconfig ${source.path} is not a mapping`);
  return doc;
}

const SECTIONS = [
  ['clusters', 'cluster'],
  ['users', 'user'],
  ['contexts', 'context'],
] as const;

/**
 * kubectl's merge of several kubeconfig files, in the order given: the first file to name a
 * cluster, user or context owns it, and the first to set current-context sets it.
 */
export function mergeKubeConfigs(sources: KubeConfigSource[]): MergedKubeConfig {
  const merged: MergedKubeConfig = { clusters: new Map(), users: new Map(), contexts: new Map() };
  for (const source of sources) {
    const doc = parseFile(source);
    for (const [section, field] of SECTIONS) {
      const items = doc[section] ?? [];
      if (!Array.isArray(items)) throw new KubeConfigError(`kubeconfig ${source.path}: ${section} must be a list`);
      const seen = new Set<string>();
      for (const item of items) {
        const name = isMap(item) ? item.name : undefined;
        if (typeof name !== 'string' || name === '') {
          throw new KubeConfigError(`kubeconfig ${source.path}: ${section} has an entry without a name`);
        }
        // kubectl refuses this too: which of the two would be meant is anyone's guess.
        if (seen.has(name)) throw new KubeConfigError(`kubeconfig ${source.path}: ${section} names "${name}" twice`);
        seen.add(name);
        const value = (item as Raw)[field] ?? {};
        if (!isMap(value)) throw new KubeConfigError(`kubeconfig ${source.path}: ${field} "${name}" must be a mapping`);
        if (!merged[section].has(name)) merged[section].set(name, { name, value, file: source.path });
      }
    }
    const current = doc['current-context'];
    if (current !== undefined && current !== null && typeof current !== 'string') {
      throw new KubeConfigError(`kubeconfig ${source.path}: current-context must be a string`);
    }
    if (!merged.currentContext && current) merged.currentContext = { name: current, file: source.path };
  }
  return merged;
}

/** The proxy for `server`: the cluster's proxy-url if set (for every host, loopback included, as kubectl), else the environment's. */
function proxyFor(server: URL, env: Env, cluster?: Fields): string | undefined {
  const proxyUrl = cluster?.text('proxy-url');
  try {
    return (proxyUrl ? parseProxyUrl(proxyUrl) : proxyFromEnvironment(server, env))?.href;
  } catch (err) {
    if (!(err instanceof ProxyConfigError)) throw err;
    if (cluster && proxyUrl) throw cluster.error(`proxy-url: ${err.message}`);
    throw new KubeConfigError(`the proxy for ${server.origin}: ${err.message}`);
  }
}

/** A header value the HTTP stack would refuse at the first request: refused at load instead. */
function headerValue(user: Fields, field: string, value: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what is refused
  if (/[\u0000-\u001f\u007f]/.test(value)) throw user.error(`${field} contains a control character`);
  return value;
}

function resolveImpersonation(user: Fields): Impersonation | undefined {
  const as = user.text('as');
  const uid = user.text('as-uid');
  const groups = user.list('as-groups');
  const rawExtra = user.raw('as-user-extra') ?? {};
  if (!isMap(rawExtra)) throw user.error('as-user-extra must map keys to lists of strings');
  const extra: Record<string, string[]> = {};
  for (const [key, values] of Object.entries(rawExtra)) {
    if (!Array.isArray(values) || !values.every((v) => typeof v === 'string')) {
      throw user.error(`as-user-extra "${key}" must be a list of strings`);
    }
    extra[key] = values.map((v) => headerValue(user, `as-user-extra "${key}"`, v));
  }
  if (!as) {
    // The API server refuses these without a user to impersonate, and so does kubectl.
    if (uid || groups.length > 0 || Object.keys(extra).length > 0) {
      throw user.error('as-uid, as-groups and as-user-extra need "as", the user to impersonate');
    }
    return undefined;
  }
  return {
    user: headerValue(user, 'as', as),
    ...(uid ? { uid: headerValue(user, 'as-uid', uid) } : {}),
    groups: groups.map((g) => headerValue(user, 'as-groups', g)),
    extra,
  };
}

/** The ExecCredential's spec.cluster (client.authentication.k8s.io), for plugins that ask for it. */
function execClusterInfo(server: string, cluster: Fields, ca: string | undefined, proxyUrl: string | undefined): Raw {
  const extensions = cluster.raw('extensions');
  const config = Array.isArray(extensions)
    ? (extensions as unknown[]).find((e) => isMap(e) && e.name === 'client.authentication.k8s.io/exec')
    : undefined;
  return {
    server,
    ...(cluster.text('tls-server-name') ? { 'tls-server-name': cluster.text('tls-server-name') } : {}),
    ...(cluster.flag('insecure-skip-tls-verify') ? { 'insecure-skip-tls-verify': true } : {}),
    ...(ca ? { 'certificate-authority-data': Buffer.from(ca).toString('base64') } : {}),
    ...(proxyUrl ? { 'proxy-url': proxyUrl } : {}),
    ...(cluster.flag('disable-compression') ? { 'disable-compression': true } : {}),
    ...(isMap(config) && config.extension !== undefined ? { config: config.extension } : {}),
  };
}

function resolveExecPlugin(user: Fields, clusterInfo: () => Raw): ExecPlugin {
  const exec = user.nested('exec', EXEC_FIELDS);
  const command = exec.text('command');
  if (!command) throw exec.error('exec.command is required');
  const apiVersion = exec.text('apiVersion') ?? 'client.authentication.k8s.io/v1';
  if (!EXEC_API_VERSIONS.has(apiVersion)) {
    throw exec.error(`exec.apiVersion ${apiVersion} is not supported (client.authentication.k8s.io/v1 or v1beta1)`);
  }
  const interactiveMode = exec.text('interactiveMode');
  if (interactiveMode === 'Always') throw exec.error('exec.interactiveMode Always needs a terminal, and the operator has none');
  if (interactiveMode && interactiveMode !== 'Never' && interactiveMode !== 'IfAvailable') {
    throw exec.error('exec.interactiveMode must be Never, IfAvailable or Always');
  }
  const rawEnv = exec.raw('env') ?? [];
  if (!Array.isArray(rawEnv)) throw exec.error('exec.env must be a list of {name, value}');
  const env: Record<string, string> = {};
  for (const e of rawEnv) {
    if (!isMap(e) || typeof e.name !== 'string' || e.name === '') throw exec.error('exec.env has an entry without a name');
    env[e.name] = String(e.value ?? '');
  }
  const installHint = exec.text('installHint');
  return {
    // A command with a slash is relative to the kubeconfig; a bare name is looked up in PATH.
    command: command.includes('/') ? user.path(command) : command,
    args: exec.list('args'),
    env,
    apiVersion,
    ...(installHint ? { installHint } : {}),
    ...(exec.flag('provideClusterInfo') ? { cluster: clusterInfo() } : {}),
  };
}

function resolveCredentials(user: Fields, hasClientCertificate: boolean, clusterInfo: () => Raw): Credentials {
  if (user.has('auth-provider')) {
    throw user.error('auth-provider plugins are not supported; use an exec plugin (for AKS: kubelogin convert-kubeconfig)');
  }
  const token = user.text('token');
  const tokenFile = user.text('tokenFile');
  const username = user.text('username');
  const password = user.text('password');
  const basic = username !== undefined || password !== undefined;
  // kubectl reads the file and keeps the token as a fallback; one source of truth is clearer.
  if (token && tokenFile) throw user.error('both token and tokenFile are set; set one');
  if ((token || tokenFile) && basic) throw user.error('both a token and username/password are set; set one way to authenticate');
  if (user.has('exec')) {
    const static_ = [
      token && 'token',
      tokenFile && 'tokenFile',
      basic && 'username/password',
      hasClientCertificate && 'a client certificate',
    ].filter(Boolean);
    // kubectl would use the static credential and never run the plugin, without a word.
    if (static_.length > 0) throw user.error(`exec cannot be combined with ${static_.join(', ')}; keep one`);
    return { kind: 'exec', plugin: resolveExecPlugin(user, clusterInfo) };
  }
  if (token) return { kind: 'token', token };
  if (tokenFile) return { kind: 'tokenFile', path: user.path(tokenFile) };
  if (basic) return { kind: 'basic', username: username ?? '', password: password ?? '' };
  return { kind: 'none' };
}

/**
 * Resolves one context of the merged kubeconfig files into connection settings (see the module
 * comment for what is supported and refused). Pure apart from reading the files the entries name
 * and `env` (the proxy variables).
 */
export function resolveKubeConfig(
  sources: KubeConfigSource[],
  options: { context?: string; env?: Env } = {},
): ResolvedKubeConfig {
  const merged = mergeKubeConfigs(sources);
  const files = sources.map((s) => s.path).join(', ');
  const contextName = options.context ?? merged.currentContext?.name;
  if (!contextName) throw new KubeConfigError(`kubeconfig ${files}: no current-context is set and no context was given`);
  const contextEntry = merged.contexts.get(contextName);
  if (!contextEntry) throw new KubeConfigError(`kubeconfig ${files}: no context named "${contextName}"`);
  const context = new Fields(contextEntry, 'context', CONTEXT_FIELDS);

  const clusterName = context.text('cluster');
  if (!clusterName) throw context.error('names no cluster');
  const clusterEntry = merged.clusters.get(clusterName);
  if (!clusterEntry) throw context.error(`cluster "${clusterName}" is not defined in ${files}`);
  const cluster = new Fields(clusterEntry, 'cluster', CLUSTER_FIELDS);
  const userName = context.text('user');
  const userEntry = userName ? merged.users.get(userName) : undefined;
  if (userName && !userEntry) throw context.error(`user "${userName}" is not defined in ${files}`);
  const user = userEntry ? new Fields(userEntry, 'user', USER_FIELDS) : undefined;

  const server = cluster.text('server');
  if (!server) throw cluster.error('has no server');
  const serverUrl = URL.parse(server);
  if (!serverUrl || (serverUrl.protocol !== 'https:' && serverUrl.protocol !== 'http:')) {
    throw cluster.error('server must be an https:// (or http://) URL');
  }
  const tls: ResolvedKubeConfig['tls'] = {
    ca: cluster.material('certificate-authority-data', 'certificate-authority'),
    cert: user?.material('client-certificate-data', 'client-certificate'),
    key: user?.material('client-key-data', 'client-key'),
    insecureSkipVerify: cluster.flag('insecure-skip-tls-verify'),
    serverName: cluster.text('tls-server-name'),
  };
  if (tls.insecureSkipVerify && tls.ca) {
    // client-go refuses this too: a CA that is never checked is a misconfiguration, not a choice.
    throw cluster.error('insecure-skip-tls-verify cannot be combined with a certificate authority');
  }
  if (user && Boolean(tls.cert) !== Boolean(tls.key)) {
    throw user.error('a client certificate needs its key, and a key its certificate');
  }
  const proxy = proxyFor(serverUrl, options.env ?? process.env, cluster);
  const disableCompression = cluster.flag('disable-compression');
  const credentials = user
    ? resolveCredentials(user, Boolean(tls.cert), () => execClusterInfo(server, cluster, tls.ca, cluster.text('proxy-url')))
    : { kind: 'none' as const };
  const impersonate = user ? resolveImpersonation(user) : undefined;
  return {
    server: server.replace(/\/+$/, ''),
    tls,
    credentials,
    ...(impersonate ? { impersonate } : {}),
    ...(proxy ? { proxy } : {}),
    ...(disableCompression ? { disableCompression } : {}),
  };
}

/** The pod's own service account, as client-go's rest.InClusterConfig reads it; the proxy variables apply, as there. */
export function inClusterConfig(env: Env = process.env, dir = IN_CLUSTER_DIR): ResolvedKubeConfig {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  if (!host || !port) throw new KubeConfigError('not running in a cluster: KUBERNETES_SERVICE_HOST/PORT are not set');
  const ca = join(dir, 'ca.crt');
  const server = `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
  const proxy = proxyFor(new URL(server), env);
  return {
    server,
    tls: { ca: existsSync(ca) ? readFileSync(ca, 'utf8') : undefined, insecureSkipVerify: false },
    credentials: { kind: 'tokenFile', path: join(dir, 'token') },
    ...(proxy ? { proxy } : {}),
  };
}

/** One kubeconfig file, or undefined if `missingOk` and it does not exist. */
function readSource(path: string, missingOk: boolean): KubeConfigSource | undefined {
  try {
    return { path, text: readFileSync(path, 'utf8') };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (missingOk && code === 'ENOENT') return undefined;
    throw new KubeConfigError(`cannot read kubeconfig ${path}: ${code ?? (err as Error).message}`);
  }
}

/** The kubeconfig files to merge, in kubectl's order (see the module comment); undefined means in cluster. */
export function kubeConfigSources(options: { path?: string; env?: Env } = {}): KubeConfigSource[] | undefined {
  const env = options.env ?? process.env;
  if (options.path) return [readSource(options.path, false)!];
  if (env.KUBECONFIG) {
    const listed = [...new Set(env.KUBECONFIG.split(delimiter).filter((p) => p !== ''))];
    const sources = listed.map((p) => readSource(p, true)).filter((s) => s !== undefined);
    if (sources.length === 0) {
      throw new KubeConfigError(
        listed.length === 0 ? 'KUBECONFIG lists no file' : `none of the files in KUBECONFIG exists: ${listed.join(', ')}`,
      );
    }
    return sources;
  }
  const home = readSource(join(env.HOME || homedir(), '.kube', 'config'), true);
  return home ? [home] : undefined;
}

/** The connection settings from kubeconfig files (kubeConfigSources), else the in-cluster service account. */
export function loadKubeConfig(options: { path?: string; context?: string; env?: Env } = {}): ResolvedKubeConfig {
  const env = options.env ?? process.env;
  const sources = kubeConfigSources({ path: options.path, env });
  if (!sources) return inClusterConfig(env);
  return resolveKubeConfig(sources, { context: options.context, env });
}

/** RFC 9110 token characters other than `%`, which client-go escapes so that the server can unescape the key. */
const HEADER_KEY_CHAR = /^[!#$&'*+\-.^_`|~0-9A-Za-z]$/;

/** client-go's headerKeyEscape: every byte of the UTF-8 key that is not a token character, as %XX. */
function escapeHeaderKey(key: string): string {
  let escaped = '';
  for (const byte of new TextEncoder().encode(key)) {
    const char = String.fromCharCode(byte);
    escaped += HEADER_KEY_CHAR.test(char) ? char : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return escaped;
}

/** The Impersonate-* headers client-go's impersonating round tripper sends, in its order; names in lower case. */
export function impersonationHeaders(impersonate: Impersonation): [string, string][] {
  const headers: [string, string][] = [['impersonate-user', impersonate.user]];
  if (impersonate.uid) headers.push(['impersonate-uid', impersonate.uid]);
  for (const group of impersonate.groups) headers.push(['impersonate-group', group]);
  for (const [key, values] of Object.entries(impersonate.extra)) {
    for (const value of values) headers.push([`impersonate-extra-${escapeHeaderKey(key)}`, value]);
  }
  return headers;
}

/** The headers every request of a connection carries, whoever builds the request. */
export function connectionHeaders(config: ResolvedKubeConfig): [string, string][] {
  return [
    ...(config.impersonate ? impersonationHeaders(config.impersonate) : []),
    ...(config.disableCompression ? ([['accept-encoding', 'identity']] as [string, string][]) : []),
  ];
}

/**
 * Adds fixed headers to every request, at the dispatcher rather than in fetch: fetch's Headers
 * fold a repeated header into one comma-joined value, and the API server would read
 * `Impersonate-Group: a, b` as one group named "a, b". Headers of the same name from the request
 * are replaced.
 */
function withHeaders(fixed: [string, string][]): Dispatcher.DispatcherComposeInterceptor {
  const names = new Set(fixed.map(([name]) => name));
  return (dispatch) => (opts, handler) => {
    const flat: string[] = [];
    const given = opts.headers as unknown;
    const pairs: Iterable<[string, unknown]> = Array.isArray(given)
      ? Array.from({ length: given.length / 2 }, (_, i) => [String(given[2 * i]), given[2 * i + 1]] as [string, unknown])
      : given && typeof given === 'object' && Symbol.iterator in given
        ? (given as Iterable<[string, unknown]>)
        : Object.entries((given ?? {}) as Raw);
    for (const [name, value] of pairs) {
      if (names.has(name.toLowerCase()) || value === undefined) continue;
      for (const v of Array.isArray(value) ? value : [value]) flat.push(name, String(v));
    }
    for (const [name, value] of fixed) flat.push(name, value);
    return dispatch({ ...opts, headers: flat }, handler);
  };
}
const run = promisify(execFile);
/** Re-read token files this often (client-go does so every minute). */
const TOKEN_FILE_TTL_MS = 60_000;
/** Renew exec credentials this long before they expire. */
const EXEC_EXPIRY_MARGIN_MS = 60_000;

/**
 * One API server: the server URL, one kept-alive connection pool shared by every request and
 * watch (direct, or through the proxy with TLS to the server verified end to end), the headers
 * every request carries (impersonation) and the Authorization header for the next request
 * (cached, refreshed as it expires).
 */
export class KubeConnection {
  readonly server: string;
  readonly dispatcher: Dispatcher;
  /** Where requests go through, for messages: never the proxy's credentials. */
  readonly proxy: string | undefined;
  readonly #newDispatcher: () => Dispatcher;
  readonly #credentials: Credentials;
  #cached: { header: string | undefined; until: number } | undefined;
  #pending: Promise<string | undefined> | undefined;

  constructor(config: ResolvedKubeConfig) {
    this.server = config.server;
    this.proxy = config.proxy ? describeProxy(new URL(config.proxy)) : undefined;
    this.#credentials = config.credentials;
    const tls = {
      ca: config.tls.ca,
      cert: config.tls.cert,
      key: config.tls.key,
      rejectUnauthorized: !config.tls.insecureSkipVerify,
      servername: config.tls.serverName,
    };
    const headers = connectionHeaders(config);
    // undici's HTTP/2 client folds a repeated header into one comma-joined field as well (see
    // withHeaders), so a connection that repeats one (two groups, two values of an extra) speaks HTTP/1.1.
    const repeats = new Set(headers.map(([name]) => name)).size < headers.length;
    const options = { keepAliveTimeout: 30_000, ...(repeats ? { allowH2: false } : {}) };
    const proxy = config.proxy;
    this.#newDispatcher = () => {
      // Through a proxy, undici opens a CONNECT tunnel to an https server and runs TLS (requestTls)
      // inside it; to an http server it sends absolute-form requests, as Go does.
      const pool = proxy ? new ProxyAgent({ uri: proxy, requestTls: tls, ...options }) : new Agent({ connect: tls, ...options });
      return headers.length > 0 ? pool.compose(withHeaders(headers)) : pool;
    };
    this.dispatcher = this.#newDispatcher();
  }

  /**
   * A connection pool of its own to the same server, for requests that must be cut off together
   * (a leadership term's: see KubeClient.fenced). Destroying it tears its connections down; with
   * HTTP/2 an aborted request only resets its stream, and frames already written still arrive.
   */
  newDispatcher(): Dispatcher {
    return this.#newDispatcher();
  }

  /** Reads the kubeconfig (see loadKubeConfig for the search order) and connects to its server. */
  static load(options: { path?: string; context?: string; env?: Env } = {}): KubeConnection {
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
  const input = {
    apiVersion: plugin.apiVersion,
    kind: 'ExecCredential',
    spec: { interactive: false, ...(plugin.cluster ? { cluster: plugin.cluster } : {}) },
  };
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
    const hint = (err as NodeJS.ErrnoException).code === 'ENOENT' && plugin.installHint ? `\n${plugin.installHint}` : '';
    throw new KubeConfigError(
      `credential plugin ${plugin.command} failed: ${(err as Error).message.split('\n')[0]}${stderr ? `: ${stderr}` : ''}${hint}`,
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
