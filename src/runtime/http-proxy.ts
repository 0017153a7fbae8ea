/**
 * Which HTTP proxy a request to the API server goes through when the kubeconfig's cluster sets no
 * `proxy-url`: decided from the environment exactly as Go's http.ProxyFromEnvironment
 * (golang.org/x/net/http/httpproxy) decides it for kubectl and every client-go program.
 *
 * - An https URL uses HTTPS_PROXY, an http URL HTTP_PROXY; the upper-case name wins over the
 *   lower-case one (https_proxy, http_proxy) when both are set. There is no fallback from one
 *   scheme's variable to the other's. A value without a scheme (`proxy:3128`) means http://.
 * - `localhost` and loopback addresses (127.0.0.0/8, ::1) are never proxied: a proxy elsewhere
 *   could not reach them.
 * - NO_PROXY (or no_proxy) is a comma-separated list; each entry is `*` (no proxy for anything),
 *   an IP address or a CIDR block, or a domain name, which matches itself and every subdomain
 *   (`example.com`); with a leading `.` or `*.` it matches subdomains only. IPs and names may carry
 *   a `:port`, and then match only that port. Matching is case-insensitive; empty entries are
 *   skipped, and so are malformed ones, as in Go.
 *
 * One difference, on purpose: Go ignores a proxy variable it cannot parse and connects directly;
 * here that is an error, so a typo cannot quietly route around the proxy a network requires.
 */
import { BlockList, isIP } from 'node:net';
import { domainToASCII } from 'node:url';

/** A proxy setting that cannot be used; the message never quotes a password. */
export class ProxyConfigError extends Error {
  override readonly name = 'ProxyConfigError';
}

/** Proxy schemes the operator's HTTP stack (undici's ProxyAgent) speaks: a CONNECT tunnel, to a plain or TLS proxy. */
const SUPPORTED_SCHEMES = new Set(['http:', 'https:']);

/** A proxy URL for messages and logs: scheme, host and port, never the user and password it may carry. */
export function describeProxy(proxy: URL | string): string {
  if (typeof proxy === 'string') return proxy.replace(/^([a-z][a-z0-9+.-]*:\/\/)?[^/@]*@/i, '$1***@');
  return `${proxy.protocol}//${proxy.username || proxy.password ? '***@' : ''}${proxy.host}`;
}

/**
 * A proxy URL as written in a kubeconfig's `proxy-url` (a full URL, as kubectl requires) or, with
 * `schemeOptional`, in HTTPS_PROXY (where `host:port` means http://host:port, as in Go).
 */
export function parseProxyUrl(value: string, options: { schemeOptional?: boolean } = {}): URL {
  // `proxy:3128` parses as a URL of scheme "proxy:"; only a value without "://" gets Go's implied http://.
  const url = URL.parse(options.schemeOptional && !value.includes('://') ? `http://${value}` : value);
  if (!url) throw new ProxyConfigError(`${describeProxy(value)} is not a proxy URL (http://host:port)`);
  if (url.protocol === 'socks5:') {
    throw new ProxyConfigError(`${describeProxy(url)}: SOCKS5 proxies are not supported; use an HTTP(S) proxy`);
  }
  if (!SUPPORTED_SCHEMES.has(url.protocol)) {
    throw new ProxyConfigError(`${describeProxy(value)}: the proxy scheme must be http or https`);
  }
  if (!url.hostname) throw new ProxyConfigError(`${describeProxy(value)} is not a proxy URL (http://host:port)`);
  return url;
}

type Env = Record<string, string | undefined>;

/** The first of `names` set to a non-empty value (Go's getEnvAny). */
function fromEnv(env: Env, ...names: string[]): { name: string; value: string } | undefined {
  for (const name of names) {
    const value = env[name];
    if (value) return { name, value };
  }
  return undefined;
}

/** The proxy for requests to `target` according to HTTPS_PROXY / HTTP_PROXY / NO_PROXY in `env`, if any. */
export function proxyFromEnvironment(target: URL, env: Env): URL | undefined {
  const variable =
    target.protocol === 'https:'
      ? fromEnv(env, 'HTTPS_PROXY', 'https_proxy')
      : target.protocol === 'http:'
        ? fromEnv(env, 'HTTP_PROXY', 'http_proxy')
        : undefined;
  if (!variable) return undefined;
  let proxy: URL;
  try {
    proxy = parseProxyUrl(variable.value, { schemeOptional: true });
  } catch (err) {
    throw new ProxyConfigError(`${variable.name}: ${(err as Error).message}`);
  }
  const noProxy = fromEnv(env, 'NO_PROXY', 'no_proxy')?.value ?? '';
  return bypassesProxy(target, noProxy) ? undefined : proxy;
}

const DEFAULT_PORTS: Record<string, string> = { 'http:': '80', 'https:': '443', 'socks5:': '1080' };

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

/** An IP literal in canonical form (IPv4-mapped IPv6 as IPv4, as Go compares them), or undefined for a name. */
function ipOf(host: string): { address: string; family: 'ipv4' | 'ipv6' } | undefined {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  const version = isIP(bare);
  if (version === 4) return { address: bare, family: 'ipv4' };
  if (version !== 6) return undefined;
  const mapped = /^::ffff:(?:(\d+\.\d+\.\d+\.\d+)|([0-9a-f]{1,4}):([0-9a-f]{1,4}))$/i.exec(bare);
  if (mapped?.[1]) return { address: mapped[1], family: 'ipv4' };
  if (mapped?.[2] && mapped[3]) {
    const hi = Number.parseInt(mapped[2], 16);
    const lo = Number.parseInt(mapped[3], 16);
    return { address: [hi >> 8, hi & 255, lo >> 8, lo & 255].join('.'), family: 'ipv4' };
  }
  return { address: bare.toLowerCase(), family: 'ipv6' };
}

/** Go's net.SplitHostPort, loosely: `host:port` or `[v6]:port`; undefined when there is no port part. */
function splitHostPort(entry: string): { host: string; port: string } | undefined {
  if (entry.startsWith('[')) {
    const end = entry.indexOf(']');
    if (end < 0 || entry[end + 1] !== ':') return undefined;
    return { host: entry.slice(1, end), port: entry.slice(end + 2) };
  }
  const colon = entry.indexOf(':');
  if (colon < 0 || entry.indexOf(':', colon + 1) >= 0) return undefined;
  return { host: entry.slice(0, colon), port: entry.slice(colon + 1) };
}

/** Whether NO_PROXY (or the loopback rule) sends requests to `target` directly. */
export function bypassesProxy(target: URL, noProxy: string): boolean {
  const host = target.hostname.toLowerCase();
  const port = target.port || DEFAULT_PORTS[target.protocol] || '';
  const ip = ipOf(host);
  if (host === 'localhost' || (ip && LOOPBACK.check(ip.address, ip.family))) return true;
  for (const raw of noProxy.split(',')) {
    const entry = raw.trim().toLowerCase();
    if (entry === '') continue;
    if (entry === '*') return true;
    const slash = entry.indexOf('/');
    if (slash >= 0) {
      const network = ipOf(entry.slice(0, slash));
      const prefix = Number(entry.slice(slash + 1));
      const max = network?.family === 'ipv4' ? 32 : 128;
      if (!network || !/^\d+$/.test(entry.slice(slash + 1)) || prefix > max) continue;
      const block = new BlockList();
      block.addSubnet(network.address, prefix, network.family);
      if (ip && ip.family === network.family && block.check(ip.address, ip.family)) return true;
      continue;
    }
    const split = splitHostPort(entry);
    const entryHost = split ? split.host : entry;
    const entryPort = split?.port ?? '';
    if (entryHost === '') continue;
    const entryIp = ipOf(entryHost);
    if (entryIp) {
      if (ip && ip.address === entryIp.address && (entryPort === '' || entryPort === port)) return true;
      continue;
    }
    // `example.com` matches itself and its subdomains; `.example.com` and `*.example.com` only subdomains.
    const suffixOnly = entryHost.startsWith('.') || entryHost.startsWith('*.');
    const name = entryHost.replace(/^\*?\./, '');
    const ascii = domainToASCII(name) || name;
    if ((host.endsWith(`.${ascii}`) || (!suffixOnly && host === ascii)) && (entryPort === '' || entryPort === port)) return true;
  }
  return false;
}
