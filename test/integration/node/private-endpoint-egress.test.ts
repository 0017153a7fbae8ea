/**
 * Exact egress with real packets: two tenants on the suite's one-node cluster (test/harness/node-cluster.ts), their
 * Azure side made by the operator in the ARM emulator, whose platform subnet is the outside
 * namespace's range. Each tenant's private endpoints get addresses from that subnet; the outside
 * namespace answers on all of them (and on addresses no endpoint holds), so every row below is a
 * real TCP connection from a tenant pod (kube-router enforcing its NetworkPolicies): a pod reaches
 * its own SQL endpoint on 1433 and its own vault endpoint on 443, and nothing of the other tenant's.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import {
  type ArmEmulator,
  type PlatformNetwork,
  PRIVATE_LINK_ZONES,
  startArmEmulator,
} from '../../../hack/arm-emulator/index.ts';
import type { Operator } from '../../../src/operator.ts';
import type { KubeClient, KubeObject } from '../../../src/runtime/kube-client.ts';
import {
  type ArmInfo,
  adminClient,
  emulatorAzureConfig,
  privateNetworkConfig,
  sharedNodeCluster,
  startOperator,
  tenant,
  typeOf,
  waitFor,
} from '../../harness/fixtures.ts';
import { type NodeClient, type ProbeResult, TEST_APP_IMAGE, TEST_APP_VERSIONS } from '../../harness/node.ts';
import { ATTACH_TIMEOUT_MS, type AttachedNodeCluster, OUTSIDE_ADDRESSES } from '../../harness/node-cluster.ts';

/** The platform's private endpoint subnet: 16 addresses, of which Azure gives out .4 to .14. */
const SUBNET_PREFIX = '10.198.4.0/28';
/** Addresses the endpoints of two tenants can get (four of them), and two no endpoint holds. */
const SUBNET_ADDRESSES = ['10.198.4.4', '10.198.4.5', '10.198.4.6', '10.198.4.7', '10.198.4.8', '10.198.4.9'];
const ENTRA_ID = '10.198.3.10';
const SQL_PORT = 1433;
const HTTPS_PORT = 443;
const ALPHA = 'tenant-alpha-dev';
const BRAVO = 'tenant-bravo-dev';
const APP_SELECTOR = 'app.kubernetes.io/name=tenant-app';

interface Endpoints {
  sql: { ip: string };
  keyVault: { ip: string };
}

interface Row {
  source: string;
  destination: string;
  target: string;
  expected: 'allowed' | 'blocked';
  observed?: 'allowed' | 'blocked';
  detail?: string;
}

let cluster: AttachedNodeCluster | undefined;
let admin: KubeClient;
let emulator: ArmEmulator | undefined;
let node: NodeClient | undefined;
const caDir = mkdtempSync(join(tmpdir(), 'tenant-operator-egress-'));
let operator: Operator | undefined;
const endpoints: Record<string, Endpoints> = {};

function network(subscriptionId: string): PlatformNetwork {
  const rg = `/subscriptions/${subscriptionId}/resourceGroups`;
  return {
    subnets: [
      {
        id: `${rg}/rg-platform-network/providers/Microsoft.Network/virtualNetworks/vnet-westeurope/subnets/snet-private-endpoints`,
        location: 'westeurope',
        addressPrefix: SUBNET_PREFIX,
      },
    ],
    privateDnsZones: Object.values(PRIVATE_LINK_ZONES).map(
      (zone) => `${rg}/rg-platform-dns/providers/Microsoft.Network/privateDnsZones/${zone}`,
    ),
  };
}

async function recordedEndpoints(name: string): Promise<Endpoints | undefined> {
  const t = await admin.get<KubeObject & { status?: { azure?: { privateEndpoints?: Partial<Endpoints> } } }>(
    typeOf('Tenant'),
    name,
  );
  const pe = t.status?.azure?.privateEndpoints;
  return pe?.sql && pe.keyVault ? (pe as Endpoints) : undefined;
}

function printMatrix(rows: Row[]): void {
  const header = ['source', 'destination', 'target', 'expected', 'observed', ''];
  const cells = rows.map((r) => [
    r.source,
    r.destination,
    r.target,
    r.expected,
    r.observed === 'blocked' ? `blocked (${(r.detail ?? '').split(': ').pop()})` : (r.observed ?? '-'),
    r.observed === r.expected ? 'ok' : 'MISMATCH',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] as string).length)));
  const line = (c: string[]) => c.map((v, i) => v.padEnd(widths[i] as number)).join('  ');
  process.stdout.write(`\nPrivate endpoint egress (real pods, real packets)\n${line(header)}\n${cells.map(line).join('\n')}\n\n`);
}

beforeAll(async () => {
  const missing = [...SUBNET_ADDRESSES, ENTRA_ID].filter((a) => !OUTSIDE_ADDRESSES.includes(a));
  if (missing.length > 0) throw new Error(`the node's outside namespace does not answer on ${missing.join(', ')}`);
  cluster = await sharedNodeCluster('node/private-endpoint-egress.test.ts');
  node = cluster.node;
  const info = cluster.cluster;
  admin = adminClient(info.adminKubeconfig);
  emulator = await startArmEmulator({
    lroDelayMs: 5,
    behaviours: { rbacPropagationDelayMs: 300 },
    platformNetwork: network('00000000-0000-4000-8000-00000000c0de'),
  });
  const caFile = join(caDir, 'arm-ca.pem');
  writeFileSync(caFile, emulator.ca);
  const arm: ArmInfo = {
    endpoint: emulator.endpoint,
    caFile,
    subscriptionId: emulator.subscriptionId,
    directoryTenantId: emulator.directoryTenantId,
  };
  operator = await startOperator({
    info: { ...info, arm },
    leaseName: 'private-endpoint-egress',
    config: {
      azureEgressCidrs: { entraId: ['10.198.3.0/24'] },
      azure: { ...emulatorAzureConfig(arm), ...privateNetworkConfig(network(arm.subscriptionId)) },
    },
  });
  const image = { image: TEST_APP_IMAGE, version: TEST_APP_VERSIONS[0] };
  await admin.apply(typeOf('Tenant'), tenant('alpha', image), 'test');
  await admin.apply(typeOf('Tenant'), tenant('bravo', image), 'test');
  for (const name of ['alpha', 'bravo'])
    endpoints[name] = await waitFor(`${name}'s private endpoints in status`, () => recordedEndpoints(name), 90_000);
}, ATTACH_TIMEOUT_MS);

afterAll(async () => {
  await operator?.stop();
  await emulator?.stop();
  await cluster?.detach();
  rmSync(caDir, { recursive: true, force: true });
}, 240_000);

describe('private endpoints on a real node', () => {
  test('each tenant’s endpoints have their own addresses in the platform subnet, and its egress policy names exactly those', async () => {
    const all = ['alpha', 'bravo'].flatMap((n) => [endpoints[n]?.sql.ip, endpoints[n]?.keyVault.ip]);
    expect(new Set(all).size).toBe(4);
    for (const ip of all) expect(SUBNET_ADDRESSES).toContain(ip);
    for (const [name, namespace] of [
      ['alpha', ALPHA],
      ['bravo', BRAVO],
    ] as const) {
      const own = endpoints[name] as Endpoints;
      const policy = await admin.get<KubeObject & { spec: { egress: unknown } }>(
        { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', plural: 'networkpolicies', namespaced: true },
        'allow-azure-egress',
        namespace,
      );
      expect(policy.spec.egress).toEqual([
        { to: [{ ipBlock: { cidr: `${own.sql.ip}/32` } }], ports: [{ protocol: 'TCP', port: SQL_PORT }] },
        { to: [{ ipBlock: { cidr: `${own.keyVault.ip}/32` } }], ports: [{ protocol: 'TCP', port: HTTPS_PORT }] },
        { to: [{ ipBlock: { cidr: '10.198.3.0/24' } }], ports: [{ protocol: 'TCP', port: HTTPS_PORT }] },
      ]);
    }
  });

  test('a tenant pod reaches its own endpoints on 1433 and 443, and neither the other tenant’s nor any other address', async () => {
    const rows: Row[] = [];
    const unheld = SUBNET_ADDRESSES.filter(
      (ip) => !['alpha', 'bravo'].some((n) => endpoints[n]?.sql.ip === ip || endpoints[n]?.keyVault.ip === ip),
    );
    try {
      for (const [name, other, namespace] of [
        ['alpha', 'bravo', ALPHA],
        ['bravo', 'alpha', BRAVO],
      ] as const) {
        const own = endpoints[name] as Endpoints;
        const theirs = endpoints[other] as Endpoints;
        const batch: Row[] = [
          [`own SQL endpoint ${own.sql.ip}`, own.sql.ip, SQL_PORT, 'allowed'],
          [`own SQL endpoint ${own.sql.ip}`, own.sql.ip, HTTPS_PORT, 'blocked'],
          [`own Key Vault endpoint ${own.keyVault.ip}`, own.keyVault.ip, HTTPS_PORT, 'allowed'],
          [`own Key Vault endpoint ${own.keyVault.ip}`, own.keyVault.ip, SQL_PORT, 'blocked'],
          [`${other}’s SQL endpoint ${theirs.sql.ip}`, theirs.sql.ip, SQL_PORT, 'blocked'],
          [`${other}’s Key Vault endpoint ${theirs.keyVault.ip}`, theirs.keyVault.ip, HTTPS_PORT, 'blocked'],
          ...unheld.flatMap((ip) => [
            [`subnet address no endpoint holds ${ip}`, ip, SQL_PORT, 'blocked'],
            [`subnet address no endpoint holds ${ip}`, ip, HTTPS_PORT, 'blocked'],
          ]),
          ['Entra ID', ENTRA_ID, HTTPS_PORT, 'allowed'],
        ].map(([destination, ip, port, expected]) => ({
          source: `${name} pod`,
          destination: destination as string,
          target: `tcp:${ip}:${port}`,
          expected: expected as Row['expected'],
        }));
        // A new pod's policies take up to a sync period to be in force: probe until every row is
        // as expected or the deadline comes, then record what was observed last. The pod is looked
        // up on every attempt, since the Deployment may still be rolling (its first pod can be
        // replaced once the tenant's database is known and its pod template gets the connection
        // settings), and a failed exec is kept as the
        // rows' detail rather than lost.
        let results: ProbeResult[] = [];
        let lastFailure: string | undefined;
        await waitFor(
          `probes from ${name}`,
          async () => {
            const [pod] = (await node?.readyPods(namespace, APP_SELECTOR)) ?? [];
            if (!pod) {
              lastFailure = `no ready app pod in ${namespace}`;
              return false;
            }
            try {
              results =
                node?.probeFromPod(
                  namespace,
                  pod.name,
                  batch.map((r) => r.target),
                ) ?? [];
              lastFailure = undefined;
            } catch (err) {
              results = [];
              lastFailure = (err as Error).message;
            }
            return batch.every((r) => (r.expected === 'allowed') === Boolean(results.find((x) => x.target === r.target)?.ok));
          },
          90_000,
        ).catch(() => undefined);
        for (const row of batch) {
          const result = results.find((r) => r.target === row.target);
          row.observed = result?.ok ? 'allowed' : 'blocked';
          if (!result?.ok) row.detail = result?.error ?? lastFailure ?? 'no result';
        }
        rows.push(...batch);
      }
    } finally {
      printMatrix(rows);
    }
    expect(rows.filter((r) => r.observed !== r.expected)).toEqual([]);
    // Control: every blocked destination answers from the node itself, where no policy applies,
    // so "blocked" is the policy, never a missing listener.
    const blocked = [...new Set(rows.filter((r) => r.expected === 'blocked').map((r) => r.target))];
    const controls = node?.probeFromNode(blocked) ?? [];
    expect(controls.filter((c) => !c.ok)).toEqual([]);
  }, 240_000);
});
