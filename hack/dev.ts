/**
 * `make dev`: a local control plane (etcd + kube-apiserver built from source by
 * hack/build-controlplane.sh), the CRDs and RBAC installed, the operator running against it as
 * its own restricted user, and the samples from config/samples applied. Prints what
 * `kubectl get tenants` shows, then keeps running until Ctrl-C (or exits with --once).
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { KubeConfig } from '@kubernetes/client-node';
import { parseConfig } from '../src/config.ts';
import { createLogger } from '../src/observability/logger.ts';
import { Operator } from '../src/operator.ts';
import type { KubeObject } from '../src/runtime/kube-client.ts';
import { adminClient, applyAll, installCrds, installRbac, readYamlObjects, typeOf } from '../test/harness/cluster-setup.ts';
import { ControlPlane, REPO_ROOT } from '../test/harness/control-plane.ts';

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
await installRbac(admin);
say('CRDs and RBAC installed');

const kubeConfig = new KubeConfig();
kubeConfig.loadFromFile(info.operatorKubeconfig);
const operator = new Operator({
  kubeConfig,
  config: parseConfig({ http: { port: 0, host: '127.0.0.1' }, leaderElection: { enabled: true } }),
  logger: createLogger({ level: process.env.LOG_LEVEL ?? 'warn' }),
});
await operator.start();
say(`operator running as the restricted user "tenant-operator"; metrics on http://127.0.0.1:${operator.httpPort}/metrics`);

const samplesDir = join(REPO_ROOT, 'config/samples');
const samples = readdirSync(samplesDir)
  .filter((f) => f.endsWith('.yaml'))
  .sort()
  .flatMap((f) => readYamlObjects(join(samplesDir, f)));
await applyAll(admin, samples);
say(`applied ${samples.length} samples from config/samples`);

const tenants = samples.filter((s) => s.kind === 'Tenant').map((s) => s.metadata.name);
const deadline = Date.now() + 60_000;
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
} catch {
  say('kubectl not found; the tenants are in the API server above');
}

const shutdown = async () => {
  await operator.stop();
  await cp.stop();
  process.exit(0);
};
if (values.once) await shutdown();
else {
  say(`try: kubectl --kubeconfig .dev/admin.kubeconfig get tenants -o wide   (Ctrl-C stops everything)`);
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
}
