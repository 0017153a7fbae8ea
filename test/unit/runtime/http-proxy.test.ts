import { describe, expect, test } from '@jest/globals';
import { describeProxy, ProxyConfigError, parseProxyUrl, proxyFromEnvironment } from '../../../src/runtime/http-proxy.ts';

const PROXY = 'http://proxy.corp:3128/';
/** The proxy chosen for `target`, as an href, or 'direct'. */
const route = (target: string, env: Record<string, string>) => proxyFromEnvironment(new URL(target), env)?.href ?? 'direct';

describe('proxyFromEnvironment: which variable applies (Go http.ProxyFromEnvironment)', () => {
  test.each<[string, string, Record<string, string>, string]>([
    ['no proxy variable: direct', 'https://api.example:6443', {}, 'direct'],
    ['HTTPS_PROXY for an https server', 'https://api.example:6443', { HTTPS_PROXY: PROXY }, PROXY],
    ['https_proxy (lower case) too', 'https://api.example:6443', { https_proxy: PROXY }, PROXY],
    [
      'the upper-case variable wins over the lower-case one',
      'https://api.example:6443',
      { HTTPS_PROXY: PROXY, https_proxy: 'http://other:1/' },
      PROXY,
    ],
    [
      'an empty upper-case variable falls through to the lower-case one',
      'https://a.example',
      { HTTPS_PROXY: '', https_proxy: PROXY },
      PROXY,
    ],
    ['HTTP_PROXY is not used for an https server', 'https://api.example:6443', { HTTP_PROXY: PROXY }, 'direct'],
    ['HTTP_PROXY for an http server', 'http://api.example:8080', { HTTP_PROXY: PROXY }, PROXY],
    ['http_proxy (lower case) too', 'http://api.example:8080', { http_proxy: PROXY }, PROXY],
    ['HTTPS_PROXY is not used for an http server', 'http://api.example:8080', { HTTPS_PROXY: PROXY }, 'direct'],
    ['a value without a scheme means http://', 'https://api.example', { HTTPS_PROXY: 'proxy.corp:3128' }, PROXY],
    ['an https proxy', 'https://api.example', { HTTPS_PROXY: 'https://proxy.corp:8443' }, 'https://proxy.corp:8443/'],
    ['localhost is never proxied', 'https://localhost:6443', { HTTPS_PROXY: PROXY }, 'direct'],
    ['nor a loopback IPv4 address', 'https://127.0.0.5:6443', { HTTPS_PROXY: PROXY }, 'direct'],
    ['nor ::1', 'https://[::1]:6443', { HTTPS_PROXY: PROXY }, 'direct'],
    ['nor an IPv4-mapped loopback address', 'https://[::ffff:127.0.0.1]:6443', { HTTPS_PROXY: PROXY }, 'direct'],
    ['a name that is not localhost is proxied', 'https://localhost.example', { HTTPS_PROXY: PROXY }, PROXY],
  ])('%s', (_name, target, env, expected) => {
    expect(route(target, env)).toBe(expected);
  });
});

describe('proxyFromEnvironment: NO_PROXY', () => {
  const via = (noProxy: string, variable = 'NO_PROXY') => ({ HTTPS_PROXY: PROXY, [variable]: noProxy });
  test.each<[string, string, string, 'direct' | 'proxy']>([
    ['* bypasses everything', 'https://api.example:6443', '*', 'direct'],
    ['* among other entries too', 'https://api.example:6443', 'a.example, *', 'direct'],
    ['an exact host', 'https://api.example:6443', 'api.example', 'direct'],
    ['no_proxy (lower case)', 'https://api.example:6443', 'api.example', 'direct'],
    ['a domain matches its subdomains', 'https://api.eu.example:6443', 'example', 'direct'],
    ['a domain does not match a longer name that merely ends like it', 'https://api.myexample:6443', 'example', 'proxy'],
    ['.domain matches subdomains', 'https://api.example:6443', '.example', 'direct'],
    ['.domain does not match the domain itself', 'https://example:6443', '.example', 'proxy'],
    ['*.domain is the same as .domain', 'https://api.example:6443', '*.example', 'direct'],
    ['*.domain does not match the domain itself', 'https://example:6443', '*.example', 'proxy'],
    ['matching ignores case', 'https://API.Example:6443', 'api.EXAMPLE', 'direct'],
    ['entries are trimmed; empty ones are skipped', 'https://api.example:6443', ' , other.test ,  api.example ,', 'direct'],
    ['a host with the right port', 'https://api.example:6443', 'api.example:6443', 'direct'],
    ['a host with another port does not match', 'https://api.example:6443', 'api.example:443', 'proxy'],
    ['the default port counts as the port (443 for https)', 'https://api.example', 'api.example:443', 'direct'],
    ['an IP address', 'https://10.1.2.3:6443', '10.1.2.3', 'direct'],
    ['another IP address does not match', 'https://10.1.2.4:6443', '10.1.2.3', 'proxy'],
    ['an IP address with the right port', 'https://10.1.2.3:6443', '10.1.2.3:6443', 'direct'],
    ['an IP address with another port', 'https://10.1.2.3:6443', '10.1.2.3:80', 'proxy'],
    ['an IPv4 CIDR', 'https://10.1.2.3:6443', '192.168.0.0/16,10.0.0.0/8', 'direct'],
    ['an IPv4 CIDR that does not contain the server', 'https://11.1.2.3:6443', '10.0.0.0/8', 'proxy'],
    ['an IPv6 address', 'https://[fd00::1]:6443', 'fd00::1', 'direct'],
    ['an IPv6 CIDR', 'https://[fd00::1234]:6443', 'fd00::/8', 'direct'],
    ['an IPv6 CIDR does not match an IPv4 server', 'https://10.1.2.3:6443', '::/0', 'proxy'],
    ['a CIDR does not match a name', 'https://api.example:6443', '0.0.0.0/0', 'proxy'],
    ['malformed entries are skipped, as in Go', 'https://api.example:6443', '10.0.0.0/99,:6443,[,api.example', 'direct'],
  ])('%s', (name, target, noProxy, expected) => {
    const env = via(noProxy, name.includes('lower case') ? 'no_proxy' : 'NO_PROXY');
    expect(route(target, env)).toBe(expected === 'direct' ? 'direct' : PROXY);
  });

  test('NO_PROXY wins over no_proxy, as HTTPS_PROXY over https_proxy', () => {
    expect(route('https://api.example', { HTTPS_PROXY: PROXY, NO_PROXY: 'other.example', no_proxy: 'api.example' })).toBe(PROXY);
  });
});

describe('proxy URLs', () => {
  test.each([
    ['SOCKS5 (kubectl speaks it; the operator does not yet)', { HTTPS_PROXY: 'socks5://proxy:1080' }, /HTTPS_PROXY: .*SOCKS5/],
    ['another scheme', { HTTPS_PROXY: 'ftp://proxy:21' }, /HTTPS_PROXY: .*scheme must be http or https/],
    ['no host', { https_proxy: 'http://' }, /https_proxy: .*not a proxy URL/],
  ])('refuses %s, naming the variable', (_name, env, message) => {
    expect(() => route('https://api.example', env)).toThrow(ProxyConfigError);
    expect(() => route('https://api.example', env)).toThrow(message);
  });

  test('a proxy password never appears in a message', () => {
    for (const value of ['socks5://alice:hunter2@proxy:1080', 'ftp://alice:hunter2@proxy', 'alice:hunter2@']) {
      const error = (() => {
        try {
          parseProxyUrl(value, { schemeOptional: true });
        } catch (err) {
          return err as Error;
        }
        throw new Error(`${value} was accepted`);
      })();
      expect(error.message).not.toContain('hunter2');
      expect(error.message).toContain('***@');
    }
    expect(describeProxy(new URL('http://alice:hunter2@proxy:3128'))).toBe('http://***@proxy:3128');
    expect(describeProxy('alice:hunter2@proxy:3128')).toBe('***@proxy:3128');
  });

  test('proxy-url must say its scheme, as kubectl requires', () => {
    expect(() => parseProxyUrl('proxy:3128')).toThrow(/scheme must be http or https/);
    expect(parseProxyUrl('https://proxy:8443').href).toBe('https://proxy:8443/');
  });
});
