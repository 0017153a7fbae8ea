/**
 * Tenant isolation with real pods and real packets: the operator creates two tenants on the
 * suite's one-node cluster (test/harness/node-cluster.ts) whose NetworkPolicies kube-router enforces, and each
 * row of the matrix is a TCP connection, a UDP exchange or a DNS look-up made from inside a pod
 * (or from the "outside" namespace that stands for Azure endpoints and the front door's subnet).
 * The matrix is printed; every row is asserted. It also runs a restricted pod's rollout under the
 * PDB and `maxUnavailable: 0`. Global teardown checks that the node left nothing behind on the host.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { Operator } from '../../../src/operator.ts';
import type { KubeClient, KubeObject } from '../../../src/runtime/kube-client.ts';
import {
  adminClient,
  condition,
  sharedNodeCluster,
  startOperator,
  type TenantWithStatus,
  tenant,
  typeOf,
  waitFor,
} from '../../harness/fixtures.ts';
import {
  missingNodePrerequisites,
  type NodeClient,
  type ProbeResult,
  TEST_APP_IMAGE,
  TEST_APP_VERSIONS,
} from '../../harness/node.ts';
import { ATTACH_TIMEOUT_MS, type AttachedNodeCluster, OUTSIDE_ADDRESSES } from '../../harness/node-cluster.ts';

/** Addresses of the outside namespace: stand-ins for Azure private endpoints, Entra ID and the front door's subnet. */
const OUTSIDE = {
  sql: '10.198.1.10',
  keyVault: '10.198.2.10',
  entraId: '10.198.3.10',
  elsewhere: '10.198.9.10',
  frontDoor: '10.197.1.10',
  notFrontDoor: '10.197.9.10',
};
const OPERATOR_NETWORK_CONFIG = {
  azureEgressCidrs: { sql: ['10.198.1.0/24'], keyVault: ['10.198.2.0/24'], entraId: ['10.198.3.0/24'] },
  frontDoor: { sourceCidrs: ['10.197.1.0/24'] },
};
const APP_PORT = 8080;
/** The test app also listens here; no policy opens it. */
const OTHER_PORT = 9090;
const ALPHA = 'tenant-alpha-prod';
const BRAVO = 'tenant-bravo-dev';
const APP_SELECTOR = 'app.kubernetes.io/name=tenant-app';

interface Row {
  source: string;
  destination: string;
  port: number;
  protocol: 'TCP' | 'UDP' | 'DNS';
  expected: 'allowed' | 'blocked';
  observed?: 'allowed' | 'blocked';
  detail?: string;
  /** What the probe client was asked, e.g. `tcp:10.244.0.5:8080`. */
  target?: string;
}

let cluster: AttachedNodeCluster | undefined;
let admin: KubeClient;
let node: NodeClient | undefined;
let operator: Operator | undefined;

async function serviceIp(namespace: string, name: string): Promise<string> {
  const svc = await admin.get<KubeObject & { spec: { clusterIP: string } }>(typeOf('Service'), name, namespace);
  return svc.spec.clusterIP;
}

async function readyAppPods(namespace: string, count: number) {
  return waitFor(
    `${count} ready app pods in ${namespace}`,
    async () => {
      const pods = await node?.readyPods(namespace, APP_SELECTOR);
      return pods && pods.length >= count ? pods : undefined;
    },
    90_000,
  );
}

function target(row: Row, host: string): string {
  return row.protocol === 'DNS' ? `dns:${host}` : `${row.protocol.toLowerCase()}:${host}:${row.port}`;
}

function record(rows: Row[], hosts: string[], results: ProbeResult[]): void {
  rows.forEach((row, i) => {
    row.target = target(row, hosts[i] as string);
    const result = results.find((r) => r.target === row.target);
    row.observed = result?.ok ? 'allowed' : 'blocked';
    if (!result?.ok) row.detail = result?.error ?? 'no result';
  });
}

function printMatrix(rows: Row[]): void {
  const header = ['source', 'destination', 'port', 'protocol', 'expected', 'observed', ''];
  const cells = rows.map((r) => [
    r.source,
    r.destination,
    String(r.port),
    r.protocol,
    r.expected,
    r.observed === 'blocked'
      ? `blocked (${/timeout|deadline/i.test(r.detail ?? '') ? 'no answer' : (r.detail ?? '').split(': ').pop()})`
      : (r.observed ?? '-'),
    r.observed === r.expected ? 'ok' : 'MISMATCH',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] as string).length)));
  const line = (c: string[]) => c.map((v, i) => v.padEnd(widths[i] as number)).join('  ');
  process.stdout.write(`\nIsolation matrix (real pods, real packets)\n${line(header)}\n${cells.map(line).join('\n')}\n\n`);
}

beforeAll(async () => {
  const missing = Object.values(OUTSIDE).filter((a) => !OUTSIDE_ADDRESSES.includes(a));
  if (missing.length > 0) throw new Error(`the node's outside namespace does not answer on ${missing.join(', ')}`);
  cluster = await sharedNodeCluster('node/isolation.test.ts');
  node = cluster.node;
  admin = adminClient(cluster.cluster.adminKubeconfig);
  operator = await startOperator({ info: cluster.cluster, leaseName: 'isolation', config: OPERATOR_NETWORK_CONFIG });
  const image = { image: TEST_APP_IMAGE, version: TEST_APP_VERSIONS[0] };
  await admin.apply(typeOf('Tenant'), tenant('alpha', { ...image, environment: 'Production', replicas: 2 }), 'test');
  await admin.apply(typeOf('Tenant'), tenant('bravo', image), 'test');
}, ATTACH_TIMEOUT_MS);

afterAll(async () => {
  await operator?.stop();
  await cluster?.detach();
}, 240_000);

describe('a node that cannot start', () => {
  test('names what is missing instead of hanging', () => {
    const emptyCheckout = mkdtempSync(join(tmpdir(), 'tenant-operator-no-binaries-'));
    try {
      expect(missingNodePrerequisites(emptyCheckout)).toEqual(
        ['kubelet', 'kube-controller-manager', 'kube-scheduler', 'kube-proxy', 'kube-router', 'coredns'].map(
          (name) => `bin/${name} (run hack/build-node.sh, part of make setup)`,
        ),
      );
    } finally {
      rmSync(emptyCheckout, { recursive: true, force: true });
    }
  });
});

describe('a tenant application on a real node', () => {
  test('runs under Pod Security restricted with the operator security context, and passes its probes', async () => {
    const [pod] = await readyAppPods(ALPHA, 2);
    const live = await admin.request<KubeObject & { spec: any; status: any }>(
      'GET',
      `/api/v1/namespaces/${ALPHA}/pods/${pod?.name}`,
    );
    const ns = await admin.get<KubeObject>(typeOf('Namespace'), ALPHA);
    expect(ns.metadata.labels?.['pod-security.kubernetes.io/enforce']).toBe('restricted');
    expect(live.spec.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    expect(live.spec.containers[0].securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
    expect(live.spec.containers[0].image).toBe(`${TEST_APP_IMAGE}:${TEST_APP_VERSIONS[0]}`);
    // Ready means the startup and readiness probes on the health path passed.
    expect(live.status.containerStatuses[0]).toMatchObject({ ready: true, started: true, restartCount: 0 });
  }, 120_000);
});

describe('isolation matrix', () => {
  const rows: Row[] = [];

  afterAll(() => printMatrix(rows));

  test('every connection is allowed or blocked as the policies promise', async () => {
    const [a1, a2] = await readyAppPods(ALPHA, 2);
    const [b1] = await readyAppPods(BRAVO, 1);
    if (!a1 || !a2 || !b1) throw new Error('pods missing');
    // A UDP Service per tenant (the operator's Service is TCP only), so Service traffic is tested in both protocols.
    for (const namespace of [ALPHA, BRAVO])
      await admin.apply(
        typeOf('Service'),
        {
          apiVersion: 'v1',
          kind: 'Service',
          metadata: { name: 'udp-echo', namespace },
          spec: {
            selector: { 'app.kubernetes.io/name': 'tenant-app' },
            ports: [{ port: 5353, targetPort: APP_PORT, protocol: 'UDP' }],
          },
        },
        'test',
      );
    const svc = {
      alpha: await serviceIp(ALPHA, 'tenant-app'),
      alphaUdp: await serviceIp(ALPHA, 'udp-echo'),
      bravo: await serviceIp(BRAVO, 'tenant-app'),
      bravoUdp: await serviceIp(BRAVO, 'udp-echo'),
    };

    const fromPod = async (
      namespace: string,
      pod: { name: string },
      label: string,
      cases: [string, string, number, Row['protocol'], Row['expected']][],
    ) => {
      const batch = cases.map(
        ([destination, , port, protocol, expected]) => ({ source: label, destination, port, protocol, expected }) as Row,
      );
      const hosts = cases.map(([, host]) => host);
      // Policies for pods that just started take up to a sync period to be in force: probe again
      // until every row is as expected or the deadline comes, then record what was observed last.
      let results: ProbeResult[] = [];
      await waitFor(
        `probes from ${label}`,
        () => {
          results =
            node?.probeFromPod(
              namespace,
              pod.name,
              batch.map((r, i) => target(r, hosts[i] as string)),
            ) ?? [];
          return batch.every(
            (r, i) => (r.expected === 'allowed') === Boolean(results.find((x) => x.target === target(r, hosts[i] as string))?.ok),
          );
        },
        20_000,
      ).catch(() => undefined);
      record(batch, hosts, results);
      rows.push(...batch);
    };

    await fromPod(ALPHA, a1, 'alpha pod', [
      ['alpha pod (same namespace)', `${a2.ip}`, APP_PORT, 'TCP', 'allowed'],
      ['alpha pod (same namespace)', `${a2.ip}`, APP_PORT, 'UDP', 'allowed'],
      ['alpha Service tenant-app', svc.alpha, 80, 'TCP', 'allowed'],
      ['bravo pod', b1.ip, APP_PORT, 'TCP', 'blocked'],
      ['bravo pod', b1.ip, APP_PORT, 'UDP', 'blocked'],
      ['bravo Service tenant-app', svc.bravo, 80, 'TCP', 'blocked'],
      ['bravo Service udp-echo', svc.bravoUdp, 5353, 'UDP', 'blocked'],
      ['cluster DNS: bravo Service name', `tenant-app.${BRAVO}.svc.cluster.local`, 53, 'DNS', 'allowed'],
      ['SQL range', OUTSIDE.sql, 1433, 'TCP', 'allowed'],
      ['SQL range', OUTSIDE.sql, 443, 'TCP', 'blocked'],
      ['SQL range', OUTSIDE.sql, 1433, 'UDP', 'blocked'],
      ['Key Vault range', OUTSIDE.keyVault, 443, 'TCP', 'allowed'],
      ['Key Vault range', OUTSIDE.keyVault, 1433, 'TCP', 'blocked'],
      ['Entra ID range', OUTSIDE.entraId, 443, 'TCP', 'allowed'],
      ['Entra ID range', OUTSIDE.entraId, 8443, 'TCP', 'blocked'],
      ['outside allowed ranges', OUTSIDE.elsewhere, 443, 'TCP', 'blocked'],
      ['outside allowed ranges', OUTSIDE.elsewhere, 443, 'UDP', 'blocked'],
    ]);
    await fromPod(BRAVO, b1, 'bravo pod', [
      ['alpha pod', a1.ip, APP_PORT, 'TCP', 'blocked'],
      ['alpha pod', a1.ip, APP_PORT, 'UDP', 'blocked'],
      ['alpha Service tenant-app', svc.alpha, 80, 'TCP', 'blocked'],
      ['alpha Service udp-echo', svc.alphaUdp, 5353, 'UDP', 'blocked'],
      ['cluster DNS: alpha Service name', `tenant-app.${ALPHA}.svc.cluster.local`, 53, 'DNS', 'allowed'],
    ]);
    const fromOutside = (source: string, label: string, cases: [string, string, number, Row['expected']][]) => {
      const batch = cases.map(
        ([destination, , port, expected]) => ({ source: label, destination, port, protocol: 'TCP', expected }) as Row,
      );
      const hosts = cases.map(([, host]) => host);
      record(
        batch,
        hosts,
        node?.probeFromOutside(
          source,
          batch.map((r, i) => target(r, hosts[i] as string)),
        ) ?? [],
      );
      rows.push(...batch);
    };
    fromOutside(OUTSIDE.frontDoor, `front door subnet ${OUTSIDE.frontDoor}`, [
      ['alpha pod, app port', a1.ip, APP_PORT, 'allowed'],
      ['alpha pod, other port', a1.ip, OTHER_PORT, 'blocked'],
      ['bravo pod, app port', b1.ip, APP_PORT, 'allowed'],
    ]);
    fromOutside(OUTSIDE.notFrontDoor, `elsewhere ${OUTSIDE.notFrontDoor}`, [
      ['alpha pod, app port', a1.ip, APP_PORT, 'blocked'],
      ['bravo pod, app port', b1.ip, APP_PORT, 'blocked'],
    ]);

    expect(rows.filter((r) => r.observed !== r.expected)).toEqual([]);
    // Control: every destination of a blocked row answers when probed from the node, where no
    // policy applies, so "blocked" means a policy dropped the packets, not that nothing listened.
    const blockedTargets = [...new Set(rows.filter((r) => r.expected === 'blocked').map((r) => r.target as string))];
    const controls = node?.probeFromNode(blockedTargets) ?? [];
    process.stdout.write(
      `Controls from the node itself (no policy applies): ${controls.filter((c) => c.ok).length}/${blockedTargets.length} destinations of blocked rows answer\n`,
    );
    expect(controls.filter((c) => !c.ok)).toEqual([]);
  }, 180_000);
});

describe('a version rollout on a real node', () => {
  test('never drops below the required ready replicas (PDB, maxUnavailable 0)', async () => {
    await readyAppPods(ALPHA, 2);
    const live = await admin.get<KubeObject>(typeOf('Tenant'), 'alpha');
    const next = tenant('alpha', {
      image: TEST_APP_IMAGE,
      version: TEST_APP_VERSIONS[1],
      environment: 'Production',
      replicas: 2,
    });
    // A version change waits for the maintenance window; the emergency annotation applies it now.
    next.metadata.annotations = { 'tenancy.dev/apply-now': 'rollout test on the real node' };
    next.metadata.resourceVersion = live.metadata.resourceVersion;
    let fewest = Number.POSITIVE_INFINITY;
    await admin.apply(typeOf('Tenant'), next, 'test');
    await waitFor(
      'rollout of 1.0.1 complete',
      async () => {
        const ready = await node?.readyPods(ALPHA, APP_SELECTOR);
        fewest = Math.min(fewest, ready?.length ?? 0);
        const d = await admin.get<KubeObject & { spec: any; status: any }>(typeOf('Deployment'), 'tenant-app', ALPHA);
        const s = d.status ?? {};
        return (
          d.spec.template.spec.containers[0].image.endsWith(`:${TEST_APP_VERSIONS[1]}`) &&
          s.observedGeneration === d.metadata.generation &&
          s.updatedReplicas === 2 &&
          s.availableReplicas === 2 &&
          (s.replicas ?? 0) === 2
        );
      },
      120_000,
    );
    expect(fewest).toBeGreaterThanOrEqual(2);
    await waitFor('ApplicationAvailable True from the real rollout', async () => {
      const t = await admin.get<TenantWithStatus>(typeOf('Tenant'), 'alpha');
      const available = condition(t, 'ApplicationAvailable');
      return available?.status === 'True' && available.observedGeneration === t.metadata.generation;
    });
  }, 150_000);

  test('a version whose image cannot be pulled leaves the running pods serving and the tenant not available', async () => {
    const live = await admin.get<KubeObject>(typeOf('Tenant'), 'alpha');
    const broken = tenant('alpha', { image: TEST_APP_IMAGE, version: '9.9.9', environment: 'Production', replicas: 2 });
    broken.metadata.annotations = { 'tenancy.dev/apply-now': 'a version no registry has' };
    broken.metadata.resourceVersion = live.metadata.resourceVersion;
    await admin.apply(typeOf('Tenant'), broken, 'test');
    // The surge pod cannot start: there is no registry, so the kubelet's pull fails.
    await waitFor(
      'the new pod failing to pull its image',
      async () => {
        const pods = await admin.request<{
          items: { status?: { containerStatuses?: { state?: { waiting?: { reason?: string } } }[] } }[];
        }>('GET', `/api/v1/namespaces/${ALPHA}/pods?labelSelector=${encodeURIComponent(APP_SELECTOR)}`);
        return pods.items.some((p) =>
          ['ErrImagePull', 'ImagePullBackOff'].includes(p.status?.containerStatuses?.[0]?.state?.waiting?.reason ?? ''),
        );
      },
      60_000,
    );
    expect((await node?.readyPods(ALPHA, APP_SELECTOR))?.length).toBe(2);
    const t = await waitFor('ApplicationAvailable False for the stuck rollout', async () => {
      const current = await admin.get<TenantWithStatus>(typeOf('Tenant'), 'alpha');
      const available = condition(current, 'ApplicationAvailable');
      return available?.status === 'False' && available.observedGeneration === current.metadata.generation
        ? available
        : undefined;
    });
    expect(t.reason).not.toBe('');
    // Still answering inside the namespace: maxUnavailable 0 kept both old pods.
    const [a1, a2] = (await node?.readyPods(ALPHA, APP_SELECTOR)) ?? [];
    const [probe] = node?.probeFromPod(ALPHA, a1?.name as string, [`tcp:${a2?.ip}:${APP_PORT}`]) ?? [];
    expect(probe?.ok).toBe(true);
  }, 120_000);
});
