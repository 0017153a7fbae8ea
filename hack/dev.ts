/**
 * `make dev`: a local control plane (etcd + kube-apiserver built from source by
 * hack/build-controlplane.sh), the CRDs, third-party CRDs and RBAC installed, the ARM emulator as
 * the default Azure, the operator running against both as its own restricted user, and the
 * samples from config/samples applied. The tenants' applications run as real pods on the test
 * node (test/harness/node.ts: containerd, kubelet, kube-proxy, CoreDNS, kube-router) when it is
 * built and this runs as root; otherwise a stand-in marks tenant Deployments available. Prints what
 * `kubectl get tenants` and `kubectl get pods` show and the Azure resources the emulator holds,
 * then keeps running until Ctrl-C (or exits with --once).
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parseConfig } from '../src/config.ts';
import { createLogger } from '../src/observability/logger.ts';
import { Operator } from '../src/operator.ts';
import type { KubeObject } from '../src/runtime/kube-client.ts';
import { KubeConnection } from '../src/runtime/kubeconfig.ts';
import {
  adminClient,
  applyAll,
  installAccessPolicy,
  installAdmissionPolicy,
  installCrds,
  installRbac,
  installThirdPartyCrds,
  readYamlObjects,
  typeOf,
} from '../test/harness/cluster-setup.ts';
import { ControlPlane, REPO_ROOT } from '../test/harness/control-plane.ts';
import {
  emulatorAzureConfig,
  emulatorDirectory,
  emulatorPlatformCluster,
  emulatorPlatformNetwork,
} from '../test/harness/fixtures.ts';
import { startKubeletStandIn } from '../test/harness/kubelet-stand-in.ts';
import { missingNodePrerequisites, type Node, startNode } from '../test/harness/node.ts';
import { startArmEmulator } from './arm-emulator/index.ts';

const { values } = parseArgs({ options: { once: { type: 'boolean', default: false } } });
const say = (msg: string) => process.stdout.write(`[dev] ${msg}\n`);

say('building the control plane if needed (the first build takes several minutes)');
execFileSync('bash', [join(REPO_ROOT, 'hack/build-controlplane.sh')], { stdio: 'inherit' });

const cp = new ControlPlane();
const info = await cp.start();
const devDir = join(REPO_ROOT, '.dev');
mkdirSync(devDir, { recursive: true });
copyFileSync(info.adminKubeconfig, join(devDir, 'admin.kubeconfig'));
say(`kube-apiserver at ${info.server}; kubeconfig: .dev/admin.kubeconfig`);

const admin = adminClient(info.adminKubeconfig);
await installCrds(admin);
await installThirdPartyCrds(admin);
await installRbac(admin);
await installAdmissionPolicy(admin, info.operatorKubeconfig);
await installAccessPolicy(admin);
say(
  'CRDs (tenancy.dev, Gateway API, Secrets Store CSI, AGC WAF policy stand-in), RBAC, the blast-radius and access policies installed',
);
const samplesDir = join(REPO_ROOT, 'config/samples');
const samples = readdirSync(samplesDir)
  .filter((f) => f.endsWith('.yaml'))
  .sort()
  .flatMap((f) => readYamlObjects(join(samplesDir, f)));
const missing = missingNodePrerequisites();
let node: Node | undefined;
if (missing.length === 0) {
  // The samples name a registry this machine cannot reach: the node knows the test application by their names.
  const images = samples
    .filter((s) => s.kind === 'Tenant')
    .map((s) => (s as KubeObject & { spec: { application: { image: string; version: string } } }).spec.application)
    .map((a) => `${a.image}:${a.version}`);
  node = await startNode(info, { imageAliases: images });
  say(`test node ${node.dir} is Ready: tenant applications run as real pods (kubectl get pods -A)`);
} else {
  say(`no test node (${missing.join('; ')}): a stand-in marks tenant Deployments available`);
}
const kubelet = node ? undefined : startKubeletStandIn(admin);

// Azure's own behaviours and operation durations, 100 times faster (a database create takes 1.2 s,
// a role assignment propagates in 3 s).
// The platform's network (a private endpoint subnet per region, the DNS zones) exists before any tenant.
const arm = await startArmEmulator({
  profile: 'realistic',
  timeFactor: 0.01,
  clockRunning: true,
  platformNetwork: emulatorPlatformNetwork(),
  // The operator's identity is in the SQL admin group: it creates each tenant's database user.
  directoryGroups: emulatorDirectory(),
  // The platform's AKS cluster (emulatorAzureConfig names it): Dedicated tenants' node pools go there.
  platformClusters: [emulatorPlatformCluster()],
});
const armCaFile = join(devDir, 'arm-ca.pem');
writeFileSync(armCaFile, arm.ca);
writeFileSync(join(devDir, 'arm-endpoint'), arm.endpoint);
say(`ARM emulator at ${arm.endpoint} (list resources: curl --cacert .dev/arm-ca.pem ${arm.endpoint}/_emulator/resources)`);

const connection = KubeConnection.load({ path: info.operatorKubeconfig });
const operator = new Operator({
  connection,
  config: parseConfig({
    http: { port: 0, host: '127.0.0.1' },
    leaderElection: { enabled: true },
    azure: emulatorAzureConfig({
      endpoint: arm.endpoint,
      caFile: armCaFile,
      subscriptionId: arm.subscriptionId,
      directoryTenantId: arm.directoryTenantId,
      // Every <server>.database.windows.net:1433 is the emulator's TDS endpoint here.
      sqlEndpoint: arm.sqlEndpoint,
    }),
  }),
  logger: createLogger({ level: process.env.LOG_LEVEL ?? 'warn' }),
});
await operator.start();
say(`operator running as the restricted user "tenant-operator"; metrics on http://127.0.0.1:${operator.httpPort}/metrics`);

await applyAll(admin, samples);
say(`applied ${samples.length} samples from config/samples`);

const tenants = samples.filter((s) => s.kind === 'Tenant').map((s) => s.metadata.name);
const deadline = Date.now() + 90_000;
for (;;) {
  const ready = await Promise.all(
    tenants.map(async (name) => {
      const t = await admin.get<KubeObject & { status?: { conditions?: { type: string; status: string }[] } }>(
        typeOf('Tenant'),
        name,
      );
      return t.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
    }),
  );
  if (ready.every(Boolean) || Date.now() > deadline) break;
  await new Promise((r) => setTimeout(r, 250));
}

try {
  process.stdout.write(
    execFileSync('kubectl', ['--kubeconfig', info.adminKubeconfig, 'get', 'tenants', '-o', 'wide']).toString(),
  );
  process.stdout.write(execFileSync('kubectl', ['--kubeconfig', info.adminKubeconfig, 'get', 'tenancy']).toString());
  if (node)
    process.stdout.write(
      execFileSync('kubectl', ['--kubeconfig', info.adminKubeconfig, 'get', 'pods', '-A', '-o', 'wide']).toString(),
    );
} catch {
  say('kubectl not found; the tenants are in the API server above');
}
for (const name of tenants) {
  const t = await admin.get<KubeObject & { status?: { database?: { user?: string; roles?: string[]; permissions?: string[] } } }>(
    typeOf('Tenant'),
    name,
  );
  const d = t.status?.database;
  say(
    d?.user
      ? `tenant ${name}: database user ${d.user} with ${[...(d.roles ?? []), ...(d.permissions ?? [])].join(', ')}`
      : `tenant ${name}: no database user yet`,
  );
}
const byType = new Map<string, number>();
for (const r of arm.state.list()) {
  const type = String(r.type);
  byType.set(type, (byType.get(type) ?? 0) + 1);
}
say('Azure resources in the emulator:');
for (const [type, count] of [...byType].sort()) process.stdout.write(`  ${String(count).padStart(3)}  ${type}\n`);

const shutdown = async () => {
  await operator.stop();
  kubelet?.stop();
  await node?.stop();
  await arm.stop();
  await cp.stop();
  process.exit(0);
};
if (values.once) await shutdown();
else {
  say(`try: kubectl --kubeconfig .dev/admin.kubeconfig get tenants -o wide   (Ctrl-C stops everything)`);
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
}
