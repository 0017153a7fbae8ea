import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from '@jest/globals';
import { stringify } from 'yaml';
import {
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

const resolve = (text: string, context?: string) => resolveKubeConfig(text, { baseDir: dir, context });

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
          },
        },
      },
    ],
    [
      'an exec plugin with a relative path runs from the kubeconfig directory',
      kubeconfig({}, { exec: { command: './bin/get-token' } }),
      {
        credentials: {
          kind: 'exec',
          plugin: { command: join(dir, 'bin/get-token'), args: [], env: {}, apiVersion: 'client.authentication.k8s.io/v1' },
        },
      },
    ],
    [
      'insecure-skip-tls-verify is honoured',
      kubeconfig({ 'insecure-skip-tls-verify': true }, {}),
      { tls: { insecureSkipVerify: true } },
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

  test.each([
    ['not YAML', '{ clusters: [', /not valid YAML/],
    ['no current context', stringify({ clusters: [] }), /no current-context/],
    ['a context that does not exist', kubeconfig({}, {}, { 'current-context': 'nope' }), /no context named "nope"/],
    ['a cluster without a server', kubeconfig({ server: '' }, {}), /cluster "c" has no server/],
    [
      'a missing certificate file',
      kubeconfig({ 'certificate-authority': 'missing.crt' }, {}),
      /cannot read certificate authority/,
    ],
    ['a certificate without its key', kubeconfig({}, { 'client-certificate-data': b64('C') }), /needs its key/],
    ['a legacy auth-provider', kubeconfig({}, { 'auth-provider': { name: 'azure' } }), /auth-provider.*kubelogin/],
    ['a proxy', kubeconfig({ 'proxy-url': 'http://proxy:3128' }, {}), /proxy-url is not supported/],
  ])('refuses %s with a clear error', (_name, text, message) => {
    expect(() => resolve(text)).toThrow(KubeConfigError);
    expect(() => resolve(text)).toThrow(message);
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

  test('$KUBECONFIG is read when no path is given; its first entry wins', () => {
    const file = join(dir, 'env.kubeconfig');
    writeFileSync(file, kubeconfig({}, { token: 'from-env' }));
    expect(loadKubeConfig({ env: { KUBECONFIG: `${file}:/nonexistent` } }).credentials).toEqual({
      kind: 'token',
      token: 'from-env',
    });
    expect(() => loadKubeConfig({ path: join(dir, 'absent') })).toThrow(/cannot read kubeconfig/);
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
