import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { describe, expect, test } from '@jest/globals';
import { stringify } from 'yaml';
import { KubeClient } from '../../../src/runtime/kube-client.ts';
import {
  type Impersonation,
  impersonationHeaders,
  inClusterConfig,
  KubeConfigError,
  KubeConnection,
  loadKubeConfig,
  type ResolvedKubeConfig,
  resolveKubeConfig,
} from '../../../src/runtime/kubeconfig.ts';

const dir = mkdtempSync(join(tmpdir(), 'kubeconfig-test-'));
writeFileSync(join(dir, 'ca.crt'), 'CA FROM FILE');
writeFileSync(join(dir, 'client.crt'), 'CERT FROM FILE');
writeFileSync(join(dir, 'client.key'), 'KEY FROM FILE');
const b64 = (s: string) => Buffer.from(s).toString('base64');
/** Where the test kubeconfig "lives": relative paths resolve against `dir`. */
const FILE = join(dir, 'config');

/** A kubeconfig with one context `ctx` joining `cluster` and `user`, plus an `other` context. */
function kubeconfig(
  cluster: Record<string, unknown>,
  user: Record<string, unknown>,
  extra: Record<string, unknown> = {},
): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    'current-context': 'ctx',
    clusters: [
      { name: 'c', cluster: { server: 'https://10.0.0.1:6443/', ...cluster } },
      { name: 'other', cluster: { server: 'https://other:443' } },
    ],
    users: [{ name: 'u', user }],
    contexts: [
      { name: 'ctx', context: { cluster: 'c', user: 'u' } },
      { name: 'other', context: { cluster: 'other' } },
    ],
    ...extra,
  });
}

const resolve = (text: string, context?: string, env: Record<string, string> = {}) =>
  resolveKubeConfig([{ path: FILE, text }], { context, env });

describe('resolveKubeConfig', () => {
  test.each<[string, string, Partial<ResolvedKubeConfig>]>([
    [
      'inline certificate data is decoded; the trailing slash of the server is dropped',
      kubeconfig(
        { 'certificate-authority-data': b64('CA') },
        { 'client-certificate-data': b64('CERT'), 'client-key-data': b64('KEY') },
      ),
      {
        server: 'https://10.0.0.1:6443',
        tls: { ca: 'CA', cert: 'CERT', key: 'KEY', insecureSkipVerify: false, serverName: undefined },
        credentials: { kind: 'none' },
      },
    ],
    [
      'file references are read relative to the kubeconfig',
      kubeconfig(
        { 'certificate-authority': 'ca.crt', 'tls-server-name': 'kubernetes' },
        { 'client-certificate': 'client.crt', 'client-key': join(dir, 'client.key') },
      ),
      {
        tls: {
          ca: 'CA FROM FILE',
          cert: 'CERT FROM FILE',
          key: 'KEY FROM FILE',
          insecureSkipVerify: false,
          serverName: 'kubernetes',
        },
      },
    ],
    ['a static token', kubeconfig({}, { token: 's3cret' }), { credentials: { kind: 'token', token: 's3cret' } }],
    ['a token file', kubeconfig({}, { tokenFile: 'token' }), { credentials: { kind: 'tokenFile', path: join(dir, 'token') } }],
    [
      'a client certificate and a token together, both sent as kubectl does (AKS admin kubeconfigs)',
      kubeconfig({}, { 'client-certificate': 'client.crt', 'client-key': 'client.key', token: 't' }),
      {
        tls: { cert: 'CERT FROM FILE', key: 'KEY FROM FILE', insecureSkipVerify: false },
        credentials: { kind: 'token', token: 't' },
      },
    ],
    [
      'basic auth',
      kubeconfig({}, { username: 'admin', password: 'pw' }),
      { credentials: { kind: 'basic', username: 'admin', password: 'pw' } },
    ],
    [
      'an exec plugin (kubelogin); a bare command is looked up in PATH',
      kubeconfig(
        {},
        {
          exec: {
            apiVersion: 'client.authentication.k8s.io/v1beta1',
            command: 'kubelogin',
            args: ['get-token', '--login', 'workloadidentity'],
            env: [{ name: 'AZURE_TENANT', value: 't' }],
            installHint: 'install kubelogin: https://azure.github.io/kubelogin',
            interactiveMode: 'IfAvailable',
          },
        },
      ),
      {
        credentials: {
          kind: 'exec',
          plugin: {
            command: 'kubelogin',
            args: ['get-token', '--login', 'workloadidentity'],
            env: { AZURE_TENANT: 't' },
            apiVersion: 'client.authentication.k8s.io/v1beta1',
            installHint: 'install kubelogin: https://azure.github.io/kubelogin',
          },
        },
      },
    ],
    [
      'an exec plugin with a relative path runs from the kubeconfig directory',
      kubeconfig({}, { exec: { command: './bin/get-token', interactiveMode: 'Never' } }),
      {
        credentials: {
          kind: 'exec',
          plugin: { command: join(dir, 'bin/get-token'), args: [], env: {}, apiVersion: 'client.authentication.k8s.io/v1' },
        },
      },
    ],
    [
      'an exec plugin that asks for cluster information gets the server, CA and its extension',
      kubeconfig(
        {
          'certificate-authority-data': b64('CA'),
          'tls-server-name': 'kubernetes',
          extensions: [{ name: 'client.authentication.k8s.io/exec', extension: { audience: 'aks' } }],
        },
        { exec: { command: 'kubelogin', provideClusterInfo: true } },
      ),
      {
        credentials: {
          kind: 'exec',
          plugin: {
            command: 'kubelogin',
            args: [],
            env: {},
            apiVersion: 'client.authentication.k8s.io/v1',
            cluster: {
              server: 'https://10.0.0.1:6443/',
              'tls-server-name': 'kubernetes',
              'certificate-authority-data': b64('CA'),
              config: { audience: 'aks' },
            },
          },
        },
      },
    ],
    [
      'insecure-skip-tls-verify is honoured',
      kubeconfig({ 'insecure-skip-tls-verify': true }, {}),
      { tls: { insecureSkipVerify: true } },
    ],
    [
      'impersonation: as, as-uid, as-groups and as-user-extra',
      kubeconfig(
        {},
        {
          token: 't',
          as: 'jane',
          'as-uid': '1234',
          'as-groups': ['qa', 'dev'],
          'as-user-extra': { 'example.com/team': ['a', 'b'], scopes: ['view'] },
        },
      ),
      {
        credentials: { kind: 'token', token: 't' },
        impersonate: {
          user: 'jane',
          uid: '1234',
          groups: ['qa', 'dev'],
          extra: { 'example.com/team': ['a', 'b'], scopes: ['view'] },
        },
      },
    ],
    ['impersonating a user only', kubeconfig({}, { as: 'jane' }), { impersonate: { user: 'jane', groups: [], extra: {} } }],
    ["the cluster's proxy-url", kubeconfig({ 'proxy-url': 'http://proxy.corp:3128' }, {}), { proxy: 'http://proxy.corp:3128/' }],
    ['disable-compression', kubeconfig({ 'disable-compression': true }, {}), { disableCompression: true }],
    [
      "a context's namespace and extensions, and a user's extensions, are accepted and change nothing",
      stringify({
        'current-context': 'ns',
        clusters: [{ name: 'c', cluster: { server: 'https://c' } }],
        users: [{ name: 'u', user: { token: 't', extensions: [{ name: 'x', extension: {} }] } }],
        contexts: [{ name: 'ns', context: { cluster: 'c', user: 'u', namespace: 'team-a', extensions: [] } }],
      }),
      { server: 'https://c', credentials: { kind: 'token', token: 't' } },
    ],
  ])('%s', (_name, text, expected) => {
    expect(resolve(text)).toMatchObject(expected);
  });

  test('an explicit context wins over current-context; a context without a user has no credentials', () => {
    expect(resolve(kubeconfig({}, { token: 't' }), 'other')).toEqual({
      server: 'https://other:443',
      tls: { insecureSkipVerify: false },
      credentials: { kind: 'none' },
    });
  });

  test.each<[string, string | undefined, Record<string, string>, string | undefined]>([
    ['HTTPS_PROXY applies to an https server', undefined, { HTTPS_PROXY: 'proxy.corp:3128' }, 'http://proxy.corp:3128/'],
    ['NO_PROXY sends it direct', undefined, { HTTPS_PROXY: 'http://p:1', NO_PROXY: '10.0.0.0/8' }, undefined],
    [
      "the cluster's proxy-url wins over the environment and NO_PROXY, as in kubectl",
      'http://cluster-proxy:3128',
      { HTTPS_PROXY: 'http://env-proxy:1', NO_PROXY: '*' },
      'http://cluster-proxy:3128/',
    ],
  ])('%s', (_name, proxyUrl, env, expected) => {
    const text = kubeconfig(proxyUrl ? { 'proxy-url': proxyUrl } : {}, {});
    expect(resolve(text, undefined, env).proxy).toBe(expected);
  });

  test('proxy-url applies even to a loopback server (the environment never proxies those)', () => {
    const text = kubeconfig({ server: 'https://127.0.0.1:6443', 'proxy-url': 'http://p:1' }, {});
    expect(resolve(text).proxy).toBe('http://p:1/');
    expect(
      resolve(kubeconfig({ server: 'https://127.0.0.1:6443' }, {}), undefined, { HTTPS_PROXY: 'http://p:1' }).proxy,
    ).toBeUndefined();
  });

  const at = (entry: string) => new RegExp(`^kubeconfig ${FILE}: ${entry}: `);
  test.each<[string, string, RegExp, RegExp?]>([
    ['not YAML', '{ clusters: [', /^kubeconfig .*config is not valid YAML/],
    ['no current context', stringify({ clusters: [] }), /no current-context is set/],
    ['a context that does not exist', kubeconfig({}, {}, { 'current-context': 'nope' }), /no context named "nope"/],
    [
      'a context naming a cluster that does not exist',
      kubeconfig({}, {}, { contexts: [{ name: 'ctx', context: { cluster: 'gone' } }] }),
      /cluster "gone" is not defined/,
      at('context "ctx"'),
    ],
    [
      'a context naming a user that does not exist',
      kubeconfig({}, {}, { contexts: [{ name: 'ctx', context: { cluster: 'c', user: 'gone' } }] }),
      /user "gone" is not defined/,
    ],
    ['a cluster without a server', kubeconfig({ server: '' }, {}), /has no server/, at('cluster "c"')],
    [
      'a server that is not a URL',
      kubeconfig({ server: '10.0.0.1:6443' }, {}),
      /server must be an https:\/\//,
      at('cluster "c"'),
    ],
    [
      'a missing certificate file',
      kubeconfig({ 'certificate-authority': 'missing.crt' }, {}),
      /cannot read certificate-authority .*missing\.crt: ENOENT/,
      at('cluster "c"'),
    ],
    [
      'both certificate-authority-data and certificate-authority',
      kubeconfig({ 'certificate-authority': 'ca.crt', 'certificate-authority-data': b64('CA') }, {}),
      /both certificate-authority-data and certificate-authority are set/,
    ],
    [
      'both client-key-data and client-key',
      kubeconfig({}, { 'client-certificate': 'client.crt', 'client-key': 'client.key', 'client-key-data': b64('K') }),
      /both client-key-data and client-key are set/,
      at('user "u"'),
    ],
    [
      'a CA with insecure-skip-tls-verify',
      kubeconfig({ 'insecure-skip-tls-verify': true, 'certificate-authority': 'ca.crt' }, {}),
      /insecure-skip-tls-verify cannot be combined with a certificate authority/,
    ],
    ['a certificate without its key', kubeconfig({}, { 'client-certificate-data': b64('C') }), /needs its key/],
    [
      'a legacy auth-provider',
      kubeconfig({}, { 'auth-provider': { name: 'azure' } }),
      /auth-provider.*kubelogin/,
      at('user "u"'),
    ],
    [
      'a SOCKS5 proxy-url',
      kubeconfig({ 'proxy-url': 'socks5://proxy:1080' }, {}),
      /proxy-url: .*SOCKS5 proxies are not supported/,
    ],
    ['a proxy-url without a scheme', kubeconfig({ 'proxy-url': 'proxy:3128' }, {}), /proxy-url: .*scheme must be http or https/],
    ['an unknown cluster field', kubeconfig({ 'proxy-uri': 'http://p' }, {}), /unknown field "proxy-uri"/, at('cluster "c"')],
    [
      'an unknown user field (a misspelt tokenFile)',
      kubeconfig({}, { tokenfile: 'token' }),
      /unknown field "tokenfile"/,
      at('user "u"'),
    ],
    [
      'an unknown context field',
      kubeconfig({}, {}, { contexts: [{ name: 'ctx', context: { cluster: 'c', namespaces: 'x' } }] }),
      /unknown field "namespaces"/,
    ],
    ['an unknown exec field', kubeconfig({}, { exec: { command: 'x', arg: ['a'] } }), /unknown field "exec.arg"/],
    [
      'a field of the wrong type',
      kubeconfig({ 'insecure-skip-tls-verify': 'true' }, {}),
      /insecure-skip-tls-verify must be true or false/,
    ],
    ['token and tokenFile', kubeconfig({}, { token: 't', tokenFile: 'token' }), /both token and tokenFile are set/],
    [
      'a token and username/password',
      kubeconfig({}, { token: 't', username: 'a', password: 'b' }),
      /token and username\/password/,
    ],
    [
      'an exec plugin next to a token (kubectl would never run the plugin)',
      kubeconfig({}, { token: 't', exec: { command: 'x' } }),
      /exec cannot be combined with token/,
    ],
    [
      'an exec plugin next to a client certificate',
      kubeconfig({}, { 'client-certificate': 'client.crt', 'client-key': 'client.key', exec: { command: 'x' } }),
      /exec cannot be combined with a client certificate/,
    ],
    ['an exec plugin without a command', kubeconfig({}, { exec: { args: ['a'] } }), /exec.command is required/],
    [
      'an exec plugin that needs a terminal',
      kubeconfig({}, { exec: { command: 'x', interactiveMode: 'Always' } }),
      /interactiveMode Always needs a terminal/,
    ],
    [
      'a removed exec API version',
      kubeconfig({}, { exec: { command: 'x', apiVersion: 'client.authentication.k8s.io/v1alpha1' } }),
      /exec.apiVersion client.authentication.k8s.io\/v1alpha1 is not supported/,
    ],
    [
      'an exec env entry without a name',
      kubeconfig({}, { exec: { command: 'x', env: [{ value: 'v' }] } }),
      /exec.env has an entry without a name/,
    ],
    ['as-groups without as', kubeconfig({}, { 'as-groups': ['qa'] }), /need "as", the user to impersonate/, at('user "u"')],
    ['as-uid without as', kubeconfig({}, { 'as-uid': '1' }), /need "as"/],
    ['as-user-extra without as', kubeconfig({}, { 'as-user-extra': { k: ['v'] } }), /need "as"/],
    ['as-groups that is not a list', kubeconfig({}, { as: 'jane', 'as-groups': 'qa' }), /as-groups must be a list of strings/],
    [
      'as-user-extra values that are not a list',
      kubeconfig({}, { as: 'jane', 'as-user-extra': { k: 'v' } }),
      /as-user-extra "k" must be a list/,
    ],
    [
      'a group with a line break',
      kubeconfig({}, { as: 'jane', 'as-groups': ['qa\r\nX-Evil: 1'] }),
      /as-groups contains a control character/,
    ],
    [
      'the same user twice in one file',
      kubeconfig(
        {},
        {},
        {
          users: [
            { name: 'u', user: {} },
            { name: 'u', user: { token: 't' } },
          ],
        },
      ),
      /users names "u" twice/,
    ],
    // (a rest parameter: jest would take a fourth named one for a `done` callback in three-item rows)
  ])('refuses %s with a clear error', (_name, text, message, ...prefix) => {
    expect(() => resolve(text)).toThrow(KubeConfigError);
    expect(() => resolve(text)).toThrow(message);
    if (prefix[0]) expect(() => resolve(text)).toThrow(prefix[0]);
  });

  test('error messages never quote a secret', () => {
    const secret = 'tok-sup3r-s3cret';
    const broken = [
      // The YAML parser's own message would quote the offending line.
      `users:\n- name: u\n  user:\n    token: ${secret}\n   bad: indent\n`,
      `users:\n- name: u\n  user: { token: ${secret}, token: ${secret} }\n`,
      kubeconfig({}, { token: secret, tokenFile: 'token' }),
      kubeconfig({}, { token: secret, password: secret }),
      kubeconfig({}, { token: secret, exec: { command: 'x' } }),
      kubeconfig({}, { 'client-key-data': b64(secret) }),
      kubeconfig({ 'proxy-url': `socks5://alice:${secret}@proxy:1080` }, {}),
      kubeconfig({ 'proxy-url': `ftp://alice:${secret}@proxy` }, {}),
      kubeconfig({ server: `10.0.0.1:${secret}` }, {}),
    ];
    for (const text of broken) {
      const error = (() => {
        try {
          resolve(text);
        } catch (err) {
          return err as Error;
        }
        throw new Error(`accepted:\n${text}`);
      })();
      expect(error).toBeInstanceOf(KubeConfigError);
      expect(error.message).not.toContain(secret);
    }
    const env = { HTTPS_PROXY: `ftp://alice:${secret}@proxy` };
    expect(() => resolve(kubeconfig({}, {}), undefined, env)).toThrow(/HTTPS_PROXY: ftp:\/\/\*\*\*@proxy: the proxy scheme/);
  });
});

describe('impersonationHeaders: what client-go sends', () => {
  test.each<[string, Impersonation, [string, string][]]>([
    ['a user', { user: 'jane', groups: [], extra: {} }, [['impersonate-user', 'jane']]],
    [
      'a uid, and one header per group in order',
      { user: 'jane', uid: '42', groups: ['qa', 'dev, ops'], extra: {} },
      [
        ['impersonate-user', 'jane'],
        ['impersonate-uid', '42'],
        ['impersonate-group', 'qa'],
        ['impersonate-group', 'dev, ops'],
      ],
    ],
    [
      'one header per extra value; keys %-escaped as client-go headerKeyEscape does',
      {
        user: 'jane',
        groups: [],
        extra: { 'example.com/team': ['a', 'b'], 'a b%c': ['x'], été: ['y'], "ok!#$&'*+-.^_`|~": ['z'] },
      },
      [
        ['impersonate-user', 'jane'],
        ['impersonate-extra-example.com%2Fteam', 'a'],
        ['impersonate-extra-example.com%2Fteam', 'b'],
        ['impersonate-extra-a%20b%25c', 'x'],
        ['impersonate-extra-%C3%A9t%C3%A9', 'y'],
        ["impersonate-extra-ok!#$&'*+-.^_`|~", 'z'],
      ],
    ],
  ])('%s', (_name, impersonate, expected) => {
    expect(impersonationHeaders(impersonate)).toEqual(expected);
  });
});

describe('several files in KUBECONFIG, merged as kubectl merges them', () => {
  const root = mkdtempSync(join(tmpdir(), 'kubeconfig-merge-'));
  /** Writes a kubeconfig into its own directory, with a CA and a token file named after it next to it. */
  const file = (name: string, doc: Record<string, unknown>) => {
    mkdirSync(join(root, name), { recursive: true });
    writeFileSync(join(root, name, 'ca.crt'), `CA ${name}`);
    writeFileSync(join(root, name, 'config'), stringify(doc));
    return join(root, name, 'config');
  };
  const cluster = (name: string, fields: Record<string, unknown> = {}) => ({
    name,
    cluster: { server: `https://${name}.example`, 'certificate-authority': 'ca.crt', ...fields },
  });
  const context = (name: string, clusterName: string, user?: string) => ({ name, context: { cluster: clusterName, user } });
  const load = (files: string[], context?: string) => loadKubeConfig({ env: { KUBECONFIG: files.join(delimiter) }, context });

  const first = file('first', {
    clusters: [cluster('shared'), cluster('one')],
    users: [{ name: 'admin', user: { tokenFile: 'token' } }],
    contexts: [context('both', 'shared', 'admin')],
  });
  const second = file('second', {
    'current-context': 'from-second',
    clusters: [cluster('shared', { server: 'https://shadowed.example' }), cluster('two')],
    users: [{ name: 'admin', user: { token: 'shadowed' } }],
    contexts: [context('from-second', 'one', 'admin'), context('both', 'two'), context('second-own', 'two', 'admin')],
  });
  const third = file('third', { 'current-context': 'both', contexts: [context('both', 'two')] });

  test.each<[string, string[], string | undefined, Partial<ResolvedKubeConfig>]>([
    [
      "current-context from the second file, cluster and user from the first; the first file's paths resolve in its directory",
      [first, second],
      undefined,
      {
        server: 'https://one.example',
        tls: { ca: 'CA first', insecureSkipVerify: false },
        credentials: { kind: 'tokenFile', path: join(root, 'first', 'token') },
      },
    ],
    [
      "each entry's relative paths resolve against its own file's directory",
      [first, second],
      'second-own',
      { server: 'https://two.example', tls: { ca: 'CA second', insecureSkipVerify: false } },
    ],
    [
      'the first file to name a cluster, user or context wins, whole (never field by field)',
      [first, second],
      'both',
      { server: 'https://shared.example', credentials: { kind: 'tokenFile', path: join(root, 'first', 'token') } },
    ],
    [
      'the first file that sets current-context sets it',
      [third, second, first],
      undefined,
      { server: 'https://two.example', tls: { ca: 'CA second', insecureSkipVerify: false }, credentials: { kind: 'none' } },
    ],
    [
      'empty entries and files that do not exist are skipped',
      ['', join(root, 'absent'), first, '', second, join(root, 'absent-too')],
      undefined,
      { server: 'https://one.example' },
    ],
  ])('%s', (_name, files, contextName, expected) => {
    expect(load(files, contextName)).toMatchObject(expected);
  });

  test('the order decides: with the files swapped, the second file now owns the shared names', () => {
    expect(load([second, first], 'both')).toMatchObject({ server: 'https://two.example', credentials: { kind: 'none' } });
  });

  test.each<[string, () => unknown, RegExp]>([
    [
      'none of the listed files exists',
      () => load([join(root, 'a'), join(root, 'b')]),
      /none of the files in KUBECONFIG exists: .*a, .*b/,
    ],
    ['the list holds no file at all', () => load(['', '']), /KUBECONFIG lists no file/],
    [
      'a listed file that exists but is broken',
      () => load([first, file('broken', { clusters: { not: 'a list' } })]),
      /kubeconfig .*broken\/config: clusters must be a list/,
    ],
    [
      'an explicit path must exist',
      () => loadKubeConfig({ path: join(root, 'absent'), env: {} }),
      /cannot read kubeconfig .*absent: ENOENT/,
    ],
  ])('refuses when %s', (_name, run, message) => {
    expect(run).toThrow(KubeConfigError);
    expect(run).toThrow(message);
  });

  test('an explicit path replaces KUBECONFIG: nothing is merged from the list', () => {
    expect(loadKubeConfig({ path: first, context: 'both', env: { KUBECONFIG: second } }).server).toBe('https://shared.example');
    // third alone names cluster "two", which only the second file defines.
    expect(() => loadKubeConfig({ path: third, env: { KUBECONFIG: second } })).toThrow(/cluster "two" is not defined/);
  });
});

describe('where the configuration comes from', () => {
  test('in cluster: the service host and port, the mounted CA and the rotating token file', () => {
    writeFileSync(join(dir, 'token'), 'sa-token\n');
    expect(inClusterConfig({ KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' }, dir)).toEqual({
      server: 'https://10.96.0.1:443',
      tls: { ca: 'CA FROM FILE', insecureSkipVerify: false },
      credentials: { kind: 'tokenFile', path: join(dir, 'token') },
    });
    expect(inClusterConfig({ KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443' }, dir).server).toBe(
      'https://[fd00::1]:443',
    );
    expect(() => inClusterConfig({}, dir)).toThrow(/not running in a cluster/);
  });

  test('in cluster, the proxy variables apply as they do to client-go', () => {
    const env = { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443', HTTPS_PROXY: 'http://p:3128' };
    expect(inClusterConfig(env, dir).proxy).toBe('http://p:3128/');
    expect(inClusterConfig({ ...env, NO_PROXY: '10.96.0.0/12' }, dir).proxy).toBeUndefined();
  });

  test('$KUBECONFIG is read when no path is given', () => {
    const file = join(dir, 'env.kubeconfig');
    writeFileSync(file, kubeconfig({}, { token: 'from-env' }));
    expect(loadKubeConfig({ env: { KUBECONFIG: `${file}${delimiter}/nonexistent` } }).credentials).toEqual({
      kind: 'token',
      token: 'from-env',
    });
  });
});

describe('KubeConnection headers', () => {
  test('impersonation reaches the server as client-go sends it: one header line per group and per extra value', async () => {
    const seen: string[][] = [];
    const server = createServer((req, res) => {
      seen.push(req.rawHeaders);
      res.setHeader('content-type', 'application/json');
      res.end('{}');
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    try {
      const client = new KubeClient(
        new KubeConnection({
          server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
          tls: { insecureSkipVerify: false },
          credentials: { kind: 'token', token: 't' },
          impersonate: { user: 'jane', uid: '7', groups: ['qa', 'dev, ops'], extra: { 'example.com/team': ['a', 'b'] } },
          disableCompression: true,
        }),
      );
      await client.request('GET', '/api');
      await client.watch('/api/v1/pods', {}, () => {}, { signal: new AbortController().signal, inactivityMs: 5000 });
      expect(seen).toHaveLength(2);
      for (const raw of seen) {
        const pairs = Array.from({ length: raw.length / 2 }, (_, i) => [raw[2 * i]!.toLowerCase(), raw[2 * i + 1]]);
        const values = (name: string) => pairs.filter(([n]) => n === name).map(([, v]) => v);
        expect(values('impersonate-user')).toEqual(['jane']);
        expect(values('impersonate-uid')).toEqual(['7']);
        expect(values('impersonate-group')).toEqual(['qa', 'dev, ops']);
        expect(values('impersonate-extra-example.com%2fteam')).toEqual(['a', 'b']);
        expect(values('authorization')).toEqual(['Bearer t']);
        expect(values('accept-encoding')).toEqual(['identity']);
      }
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});

describe('KubeConnection credentials', () => {
  const connection = (credentials: ResolvedKubeConfig['credentials']) =>
    new KubeConnection({ server: 'https://x', tls: { insecureSkipVerify: false }, credentials });

  test('static token and basic auth headers', async () => {
    expect(await connection({ kind: 'token', token: 'abc' }).authorization()).toBe('Bearer abc');
    expect(await connection({ kind: 'basic', username: 'a', password: 'b' }).authorization()).toBe(`Basic ${b64('a:b')}`);
    expect(await connection({ kind: 'none' }).authorization()).toBeUndefined();
  });

  test('a token file is re-read after a minute, so a rotated service account token is picked up', async () => {
    const path = join(dir, 'rotating-token');
    writeFileSync(path, 'first\n');
    const c = connection({ kind: 'tokenFile', path });
    expect(await c.authorization(0)).toBe('Bearer first');
    writeFileSync(path, 'second\n');
    expect(await c.authorization(59_000)).toBe('Bearer first');
    expect(await c.authorization(61_000)).toBe('Bearer second');
  });

  test('an exec plugin runs once while its credential is fresh, again once it nears expiry, and again after invalidate()', async () => {
    const counter = join(dir, 'exec-count');
    writeFileSync(counter, '');
    const script = join(dir, 'get-token.sh');
    const expiry = '2030-01-01T00:10:00Z';
    writeFileSync(
      script,
      `#!/bin/sh\necho x >> ${counter}\n` +
        `echo "$KUBERNETES_EXEC_INFO" | grep -q '"kind":"ExecCredential"' || exit 3\n` +
        `printf '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"tok-%s","expirationTimestamp":"${expiry}"}}' "$AUDIENCE"\n`,
      { mode: 0o755 },
    );
    const c = connection({
      kind: 'exec',
      plugin: { command: script, args: [], env: { AUDIENCE: 'aks' }, apiVersion: 'client.authentication.k8s.io/v1' },
    });
    const runs = () => readFileSync(counter, 'utf8').split('\n').filter(Boolean).length;
    const expiresAt = Date.parse(expiry);
    const [a, b] = await Promise.all([c.authorization(expiresAt - 600_000), c.authorization(expiresAt - 600_000)]);
    expect([a, b]).toEqual(['Bearer tok-aks', 'Bearer tok-aks']);
    expect(runs()).toBe(1);
    expect(await c.authorization(expiresAt - 120_000)).toBe('Bearer tok-aks');
    expect(runs()).toBe(1);
    await c.authorization(expiresAt - 30_000); // within the renewal margin
    expect(runs()).toBe(2);
    c.invalidate();
    await c.authorization(expiresAt - 600_000);
    expect(runs()).toBe(3);
  });

  test('a failing exec plugin is a clear error that never quotes its output', async () => {
    const script = join(dir, 'broken.sh');
    writeFileSync(script, '#!/bin/sh\necho \'{"status":{"token":"leaked"}}\'\necho "login required" >&2\nexit 1\n', {
      mode: 0o755,
    });
    const c = connection({ kind: 'exec', plugin: { command: script, args: [], env: {}, apiVersion: 'v1' } });
    const error = await c.authorization().catch((e: Error) => e);
    expect(error).toBeInstanceOf(KubeConfigError);
    expect((error as Error).message).toMatch(/credential plugin .*broken\.sh failed.*login required/);
    expect((error as Error).message).not.toContain('leaked');
  });
});

describe('exec plugins', () => {
  const connection = (plugin: Partial<import('../../../src/runtime/kubeconfig.ts').ExecPlugin> & { command: string }) =>
    new KubeConnection({
      server: 'https://x',
      tls: { insecureSkipVerify: false },
      credentials: { kind: 'exec', plugin: { args: [], env: {}, apiVersion: 'client.authentication.k8s.io/v1', ...plugin } },
    });

  test('a plugin that asks for cluster information finds it in KUBERNETES_EXEC_INFO', async () => {
    const seen = join(dir, 'exec-info.json');
    const script = join(dir, 'cluster-info.sh');
    writeFileSync(
      script,
      `#!/bin/sh\necho "$KUBERNETES_EXEC_INFO" > ${seen}\n` +
        `printf '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"t"}}'\n`,
      { mode: 0o755 },
    );
    const cluster = { server: 'https://10.0.0.1:6443', 'certificate-authority-data': b64('CA'), config: { audience: 'aks' } };
    expect(await connection({ command: script, cluster }).authorization()).toBe('Bearer t');
    expect(JSON.parse(readFileSync(seen, 'utf8'))).toEqual({
      apiVersion: 'client.authentication.k8s.io/v1',
      kind: 'ExecCredential',
      spec: { interactive: false, cluster },
    });
  });

  test("a plugin that is not installed fails with the kubeconfig's install hint", async () => {
    const error = await connection({ command: join(dir, 'no-such-plugin'), installHint: 'brew install kubelogin' })
      .authorization()
      .catch((e: Error) => e);
    expect(error).toBeInstanceOf(KubeConfigError);
    expect((error as Error).message).toMatch(/credential plugin .*no-such-plugin failed: .*ENOENT.*\nbrew install kubelogin$/s);
  });
});
