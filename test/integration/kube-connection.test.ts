/**
 * The operator's own kubeconfig loader and watch stream against the real API server: an exec
 * credential plugin authenticates (as AKS's kubelogin does), a watch delivers events and stops on
 * abort, and a watch that goes silent is reported as stalled instead of hanging forever.
 */
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { KubeClient as Client, KubeApiError, type KubeClient, type WatchEvent } from '../../src/runtime/kube-client.ts';
import { KubeConnection } from '../../src/runtime/kubeconfig.ts';
import { adminClient } from '../harness/cluster-setup.ts';
import { sharedControlPlane } from '../harness/fixtures.ts';

const info = sharedControlPlane();
const dir = mkdtempSync(join(tmpdir(), 'kube-connection-'));
const NS = 'kube-connection-test';
let admin: KubeClient;

interface Review {
  status: { userInfo: { username: string } };
}
const whoAmI = (client: KubeClient) =>
  client.request<Review>('POST', '/apis/authentication.k8s.io/v1/selfsubjectreviews', {
    body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' },
  });

beforeAll(async () => {
  admin = adminClient(info.adminKubeconfig);
  await admin.request('POST', '/api/v1/namespaces', { body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } } });
  await admin.request('POST', `/api/v1/namespaces/${NS}/serviceaccounts`, {
    body: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'plugin-user' } },
  });
});

afterAll(async () => {
  await admin.request('DELETE', `/api/v1/namespaces/${NS}`).catch(() => {});
});

test('the client-certificate kubeconfig authenticates as the operator user', async () => {
  const operator = new Client(KubeConnection.load({ path: info.operatorKubeconfig }));
  expect((await whoAmI(operator)).status.userInfo.username).toBe('tenant-operator');
});

test('an exec credential plugin authenticates, and its token never has to be in the kubeconfig', async () => {
  const { status } = await admin.request<{ status: { token: string } }>(
    'POST',
    `/api/v1/namespaces/${NS}/serviceaccounts/plugin-user/token`,
    { body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 3600 } } },
  );
  const tokenFile = join(dir, 'token');
  writeFileSync(tokenFile, status.token, { mode: 0o600 });
  const plugin = join(dir, 'get-token.sh');
  writeFileSync(
    plugin,
    `#!/bin/sh\nprintf '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"%s"}}' "$(cat ${tokenFile})"\n`,
  );
  chmodSync(plugin, 0o700);
  const kubeconfig = join(dir, 'exec.kubeconfig');
  writeFileSync(
    kubeconfig,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      'current-context': 'exec',
      clusters: [{ name: 'cp', cluster: { server: info.server, 'certificate-authority': join(info.dir, 'ca.crt') } }],
      users: [{ name: 'plugin', user: { exec: { apiVersion: 'client.authentication.k8s.io/v1', command: './get-token.sh' } } }],
      contexts: [{ name: 'exec', context: { cluster: 'cp', user: 'plugin' } }],
    }),
  );
  const client = new Client(KubeConnection.load({ path: kubeconfig }));
  expect((await whoAmI(client)).status.userInfo.username).toBe(`system:serviceaccount:${NS}:plugin-user`);

  // A wrong credential is a 401 that makes the connection fetch a fresh one next time.
  writeFileSync(tokenFile, 'not-a-token');
  const fresh = new Client(KubeConnection.load({ path: kubeconfig }));
  const error = await whoAmI(fresh).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(KubeApiError);
  expect((error as KubeApiError).code).toBe(401);
});

test('a watch streams events from the resource version it starts at, and ends when aborted', async () => {
  const list = await admin.request<{ metadata: { resourceVersion: string } }>('GET', `/api/v1/namespaces/${NS}/configmaps`);
  const events: WatchEvent<{ metadata: { name: string } }>[] = [];
  const abort = new AbortController();
  const watching = admin.watch<{ metadata: { name: string } }>(
    `/api/v1/namespaces/${NS}/configmaps`,
    { resourceVersion: list.metadata.resourceVersion, allowWatchBookmarks: true },
    (event) => {
      events.push(event);
      if (events.filter((e) => e.type !== 'BOOKMARK').length === 2) abort.abort(new Error('seen enough'));
    },
    { signal: abort.signal, inactivityMs: 30_000 },
  );
  const outcome = watching.then(
    () => 'ended',
    (err: Error) => err.message,
  );
  for (const name of ['first', 'second']) {
    await admin.request('POST', `/api/v1/namespaces/${NS}/configmaps`, {
      body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data: { big: 'x'.repeat(100_000) } },
    });
  }
  expect(await outcome).toBe('seen enough');
  expect(events.filter((e) => e.type !== 'BOOKMARK').map((e) => [e.type, e.object.metadata.name])).toEqual([
    ['ADDED', 'first'],
    ['ADDED', 'second'],
  ]);
});

test('a watch that goes silent is reported as a stall (TimeoutError), not left hanging', async () => {
  // An HTTP server that answers the watch and then never sends a byte: a half-dead connection.
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.flushHeaders();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = server.address() as AddressInfo;
    const client = new Client(
      new KubeConnection({
        server: `http://127.0.0.1:${port}`,
        tls: { insecureSkipVerify: false },
        credentials: { kind: 'none' },
      }),
    );
    const started = performance.now();
    const error = await client
      .watch('/api/v1/configmaps', {}, () => {}, { signal: new AbortController().signal, inactivityMs: 500 })
      .catch((e: unknown) => e);
    expect((error as Error).name).toBe('TimeoutError');
    expect(performance.now() - started).toBeGreaterThanOrEqual(450);
  } finally {
    server.closeAllConnections();
    server.close();
  }
});
