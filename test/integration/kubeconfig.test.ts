/**
 * The operator's kubeconfig loader does what kubectl does, against the real API server:
 * impersonation (`as`, `as-groups`, `as-uid`, `as-user-extra`) changes who the server sees,
 * several files in KUBECONFIG merge, and requests go through an HTTP proxy (the cluster's
 * proxy-url, or HTTPS_PROXY / HTTP_PROXY) unless NO_PROXY says otherwise, with TLS to the API
 * server still verified inside the CONNECT tunnel.
 */
import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import { connect as netConnect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, test } from '@jest/globals';
import { stringify } from 'yaml';
import { KubeApiError, KubeClient } from '../../src/runtime/kube-client.ts';
import { KubeConnection } from '../../src/runtime/kubeconfig.ts';
import { sharedControlPlane } from '../harness/fixtures.ts';

const info = sharedControlPlane();
const apiPort = new URL(info.server).port;
const dir = mkdtempSync(join(tmpdir(), 'kubeconfig-it-'));

interface Review {
  status: { userInfo: { username: string; uid?: string; groups?: string[]; extra?: Record<string, string[]> } };
}
const whoAmI = (client: KubeClient) =>
  client.request<Review>('POST', '/apis/authentication.k8s.io/v1/selfsubjectreviews', {
    body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' },
  });

/** The test cluster, and fields to change. */
const cluster = (fields: Record<string, unknown> = {}) => ({
  server: info.server,
  'certificate-authority': join(info.dir, 'ca.crt'),
  ...fields,
});
/** The harness's admin (system:masters, client certificate), and fields to add. */
const admin = (fields: Record<string, unknown> = {}) => ({
  'client-certificate': join(info.dir, 'admin.crt'),
  'client-key': join(info.dir, 'admin.key'),
  ...fields,
});
/** Writes a one-context kubeconfig; returns its path. */
function kubeconfig(name: string, clusterFields: Record<string, unknown>, userFields: Record<string, unknown>): string {
  const path = join(dir, `${name}.kubeconfig`);
  writeFileSync(
    path,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      'current-context': 'test',
      clusters: [{ name: 'cp', cluster: clusterFields }],
      users: [{ name: 'user', user: userFields }],
      contexts: [{ name: 'test', context: { cluster: 'cp', user: 'user' } }],
    }),
  );
  return path;
}

/** The messages of an error and its causes (fetch wraps the reason two levels deep). */
function causes(err: unknown): string {
  const messages: string[] = [];
  for (let e = err as { message?: string; cause?: unknown } | undefined; e; e = e.cause as typeof e)
    messages.push(String(e.message));
  return messages.join(' <- ');
}

const opened: KubeConnection[] = [];
/** The operator's own client for a kubeconfig; `env` stands in for the process environment (proxy variables, KUBECONFIG). */
function clientFor(options: { path?: string; env?: Record<string, string> }): KubeClient {
  const connection = KubeConnection.load({ path: options.path, env: options.env ?? {} });
  opened.push(connection);
  return new KubeClient(connection);
}
afterEach(async () => {
  await Promise.all(opened.splice(0).map((c) => c.close()));
});

describe('impersonation', () => {
  test('as, as-groups, as-uid and as-user-extra: the API server sees the impersonated user, and authorizes as that user', async () => {
    const jane = clientFor({
      path: kubeconfig(
        'impersonate',
        cluster(),
        admin({
          as: 'jane',
          'as-uid': 'jane-uid-1',
          // Two groups and two values of one extra: each must reach the server as its own header
          // line ("qa-team, release-managers" would be one group of that name).
          'as-groups': ['qa-team', 'release-managers'],
          'as-user-extra': { 'example.com/team': ['payments', 'search'], reason: ['kubeconfig test'] },
        }),
      ),
    });
    const { userInfo } = (await whoAmI(jane)).status;
    expect(userInfo.username).toBe('jane');
    expect(userInfo.uid).toBe('jane-uid-1');
    expect(userInfo.groups).toEqual(expect.arrayContaining(['qa-team', 'release-managers', 'system:authenticated']));
    expect(userInfo.groups).not.toContain('system:masters');
    expect(userInfo.extra).toEqual({ 'example.com/team': ['payments', 'search'], reason: ['kubeconfig test'] });

    // The same client certificate without `as` may list namespaces; as jane it may not.
    const adminClient = clientFor({ path: kubeconfig('not-impersonating', cluster(), admin()) });
    expect((await whoAmI(adminClient)).status.userInfo.username).toBe('admin');
    await expect(adminClient.request('GET', '/api/v1/namespaces')).resolves.toBeDefined();
    const refused = await jane.request('GET', '/api/v1/namespaces').catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(KubeApiError);
    expect((refused as KubeApiError).code).toBe(403);
    expect((refused as KubeApiError).message).toContain('User "jane" cannot list resource "namespaces"');
    // A user alone (no header repeats, so HTTP/2 as usual) is impersonated too.
    const userOnly = clientFor({ path: kubeconfig('impersonate-user-only', cluster(), admin({ as: 'jane' })) });
    expect((await whoAmI(userOnly)).status.userInfo).toMatchObject({ username: 'jane', groups: ['system:authenticated'] });

    // Watches go through the same connection, with the same identity.
    const watch = await jane
      .watch('/api/v1/namespaces', {}, () => {}, { signal: AbortSignal.timeout(10_000), inactivityMs: 10_000 })
      .catch((e: unknown) => e);
    expect((watch as KubeApiError).code).toBe(403);
  });
});

describe('several files in KUBECONFIG', () => {
  test('current-context in the second file, the user and cluster in the first; relative paths resolve against each file', async () => {
    // Each file in a directory of its own, naming its certificates relatively.
    const first = join(dir, 'merge-first');
    const second = join(dir, 'merge-second');
    mkdirSync(first);
    mkdirSync(second);
    for (const f of ['ca.crt', 'admin.crt', 'admin.key']) copyFileSync(join(info.dir, f), join(first, f));
    writeFileSync(
      join(first, 'config'),
      stringify({
        clusters: [{ name: 'cp', cluster: { server: info.server, 'certificate-authority': 'ca.crt' } }],
        users: [{ name: 'admin', user: { 'client-certificate': 'admin.crt', 'client-key': 'admin.key' } }],
      }),
    );
    writeFileSync(
      join(second, 'config'),
      stringify({
        'current-context': 'merged',
        contexts: [{ name: 'merged', context: { cluster: 'cp', user: 'admin' } }],
        // Shadowed: the first file already names a user "admin".
        users: [{ name: 'admin', user: { token: 'not-a-valid-token' } }],
      }),
    );
    const missing = join(dir, 'does-not-exist');
    const client = clientFor({
      env: { KUBECONFIG: [missing, join(first, 'config'), '', join(second, 'config')].join(delimiter) },
    });
    expect((await whoAmI(client)).status.userInfo.username).toBe('admin');
  });
});

/**
 * A real HTTP proxy: CONNECT tunnels, and plain requests forwarded in absolute form. It is its own
 * resolver: every host it is asked for is on 127.0.0.1, so the tests can name the API server by a
 * name that only the proxy can reach. It counts what passed, and can require credentials.
 */
class TestProxy {
  readonly connects: string[] = [];
  readonly forwarded: string[] = [];
  readonly authorizations: (string | undefined)[] = [];
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  url = '';

  constructor(requiredAuthorization?: string) {
    const allowed = (auth: string | undefined) => !requiredAuthorization || auth === requiredAuthorization;
    this.#server = createServer((req, res) => {
      this.authorizations.push(req.headers['proxy-authorization']);
      if (!allowed(req.headers['proxy-authorization'])) return void res.writeHead(407).end();
      this.forwarded.push(`${req.method} ${req.url}`);
      const target = new URL(req.url ?? '');
      const upstream = httpRequest(
        { host: '127.0.0.1', port: target.port, method: req.method, path: target.pathname + target.search, headers: req.headers },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      upstream.on('error', () => res.writeHead(502).end());
      req.pipe(upstream);
    });
    this.#server.on('connect', (req, client: Socket, head: Buffer) => {
      this.authorizations.push(req.headers['proxy-authorization']);
      if (!allowed(req.headers['proxy-authorization']))
        return void client.end('HTTP/1.1 407 Proxy Authentication Required\r\n\r\n');
      this.connects.push(req.url ?? '');
      const port = Number(new URL(`http://${req.url}`).port);
      const upstream = netConnect(port, '127.0.0.1', () => {
        client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        upstream.write(head);
        upstream.pipe(client);
        client.pipe(upstream);
      });
      for (const s of [client, upstream]) {
        this.#sockets.add(s);
        s.on('error', () => {});
        s.on('close', () => {
          this.#sockets.delete(s);
          client.destroy();
          upstream.destroy();
        });
      }
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    const address = this.#server.address();
    this.url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    return this;
  }

  close(): void {
    for (const s of this.#sockets) s.destroy();
    this.#server.closeAllConnections();
    this.#server.close();
  }
}

describe('through an HTTP proxy', () => {
  let proxy: TestProxy;
  beforeAll(async () => {
    proxy = await new TestProxy().start();
  });
  afterAll(() => proxy.close());
  afterEach(() => {
    proxy.connects.length = 0;
    proxy.forwarded.length = 0;
  });

  /** A name only the proxy resolves: a request that bypasses the proxy cannot reach it. */
  const HIDDEN = `kube-apiserver.proxy-test.invalid:${apiPort}`;
  // The serving certificate's names are 127.0.0.1, localhost and kubernetes.default.svc.
  const hiddenCluster = () => cluster({ server: `https://${HIDDEN}`, 'tls-server-name': 'kubernetes.default.svc' });

  test("the cluster's proxy-url: every request tunnels through it (a loopback server too), with the proxy's credentials", async () => {
    const guarded = await new TestProxy(`Basic ${Buffer.from('op:pr0xy-pw').toString('base64')}`).start();
    try {
      const withAuth = guarded.url.replace('http://', 'http://op:pr0xy-pw@');
      const path = kubeconfig('proxy-url', cluster({ 'proxy-url': withAuth }), admin());
      const client = clientFor({ path, env: { NO_PROXY: '*' } }); // NO_PROXY is about the environment's proxy only
      expect(client.connection.proxy).not.toContain('pr0xy-pw');
      expect((await whoAmI(client)).status.userInfo.username).toBe('admin');
      await client.request('GET', '/api/v1/namespaces/default');
      expect(guarded.connects.length).toBeGreaterThanOrEqual(1);
      expect(new Set(guarded.connects)).toEqual(new Set([`127.0.0.1:${apiPort}`]));

      const wrongPassword = kubeconfig('proxy-url-bad-auth', cluster({ 'proxy-url': guarded.url }), admin());
      const refused = await whoAmI(clientFor({ path: wrongPassword })).catch((e: Error) => e);
      expect(causes(refused)).toMatch(/Proxy response \(407\)/);
    } finally {
      guarded.close();
    }
  });

  test('TLS to the API server is verified inside the tunnel: without the CA, the request fails', async () => {
    const path = kubeconfig('proxy-no-ca', { server: info.server, 'proxy-url': proxy.url }, admin());
    const error = await whoAmI(clientFor({ path })).catch((e: Error) => e);
    expect(error).toBeInstanceOf(Error);
    expect(causes(error)).toMatch(/certificate/);
    expect(proxy.connects).toContain(`127.0.0.1:${apiPort}`);
  });

  test.each(['HTTPS_PROXY', 'https_proxy'])('%s: the client reaches the API server through the proxy', async (variable) => {
    const client = clientFor({ path: kubeconfig('env-proxy', hiddenCluster(), admin()), env: { [variable]: proxy.url } });
    expect((await whoAmI(client)).status.userInfo.username).toBe('admin');
    expect(proxy.connects).toContain(HIDDEN);
  });

  test.each<[string, Record<string, string>]>([
    ['NO_PROXY with a domain suffix', { NO_PROXY: '.proxy-test.invalid' }],
    ['no_proxy with the parent domain', { no_proxy: 'proxy-test.invalid' }],
    ['NO_PROXY with the host and its port', { NO_PROXY: `other.example,${HIDDEN}` }],
    ['NO_PROXY=*', { NO_PROXY: '*' }],
  ])('%s bypasses the proxy', async (_name, noProxy) => {
    const path = kubeconfig('no-proxy', hiddenCluster(), admin());
    // The same kubeconfig and proxy without NO_PROXY: through the proxy.
    expect((await whoAmI(clientFor({ path, env: { HTTPS_PROXY: proxy.url } }))).status.userInfo.username).toBe('admin');
    expect(proxy.connects).toEqual([HIDDEN]);
    const error = await whoAmI(clientFor({ path, env: { HTTPS_PROXY: proxy.url, ...noProxy } })).catch((e: Error) => e);
    // Direct: this machine cannot resolve the name, and the proxy never heard of the request.
    expect((error as Error & { cause?: { code?: string } }).cause?.code).toBe('ENOTFOUND');
    expect(proxy.connects).toEqual([HIDDEN]);
  });

  test('a loopback server is never proxied from the environment, as in kubectl (a named one is)', async () => {
    const env = { HTTPS_PROXY: proxy.url };
    expect((await whoAmI(clientFor({ path: kubeconfig('named', hiddenCluster(), admin()), env }))).status.userInfo.username).toBe(
      'admin',
    );
    const loopback = clientFor({ path: kubeconfig('loopback', cluster(), admin()), env });
    expect((await whoAmI(loopback)).status.userInfo.username).toBe('admin');
    expect(proxy.connects).toEqual([HIDDEN]);
  });

  test('HTTP_PROXY carries requests to an http server (and HTTPS_PROXY does not)', async () => {
    const plain = createServer((_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end('{"kind":"APIVersions","versions":["v1"]}');
    });
    await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
    try {
      const port = (plain.address() as { port: number }).port;
      const path = kubeconfig('plain', { server: `http://plain.proxy-test.invalid:${port}` }, {});
      const client = clientFor({ path, env: { HTTP_PROXY: proxy.url } });
      expect(await client.request('GET', '/api')).toEqual({ kind: 'APIVersions', versions: ['v1'] });
      expect(proxy.forwarded).toEqual([`GET http://plain.proxy-test.invalid:${port}/api`]);
      const direct = await clientFor({ path, env: { HTTPS_PROXY: proxy.url } })
        .request('GET', '/api')
        .catch((e: Error) => e);
      expect((direct as Error & { cause?: { code?: string } }).cause?.code).toBe('ENOTFOUND');
    } finally {
      plain.closeAllConnections();
      plain.close();
    }
  });
});
