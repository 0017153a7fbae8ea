/**
 * Prepares a fresh control plane the way an installation would: CRDs from crds/ (waiting until
 * they are Established), the operator's namespace and RBAC from config/rbac, plus test-only
 * bindings that give the certificate user `tenant-operator` exactly the operator's roles, and the
 * blast-radius admission policy of config/admission, confining that user.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { KubeClient, type KubeObject, type ResourceType } from '../../src/runtime/kube-client.ts';
import { KubeConnection } from '../../src/runtime/kubeconfig.ts';
import { RESOURCES } from '../../src/runtime/resources.ts';
import { OPERATOR_USER, REPO_ROOT } from './control-plane.ts';

const TYPES: Record<string, ResourceType> = {
  CustomResourceDefinition: {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    plural: 'customresourcedefinitions',
    namespaced: false,
  },
  ClusterRole: { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', plural: 'clusterroles', namespaced: false },
  ClusterRoleBinding: {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    plural: 'clusterrolebindings',
    namespaced: false,
  },
  Role: { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', plural: 'roles', namespaced: true },
  RoleBinding: { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', plural: 'rolebindings', namespaced: true },
  Namespace: { apiVersion: 'v1', kind: 'Namespace', plural: 'namespaces', namespaced: false },
  ConfigMap: { apiVersion: 'v1', kind: 'ConfigMap', plural: 'configmaps', namespaced: true },
  ValidatingAdmissionPolicy: {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingAdmissionPolicy',
    plural: 'validatingadmissionpolicies',
    namespaced: false,
  },
  ValidatingAdmissionPolicyBinding: {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingAdmissionPolicyBinding',
    plural: 'validatingadmissionpolicybindings',
    namespaced: false,
  },
  Tenant: { apiVersion: 'tenancy.dev/v1alpha1', kind: 'Tenant', plural: 'tenants', namespaced: false },
  BackupPolicy: { apiVersion: 'tenancy.dev/v1alpha1', kind: 'BackupPolicy', plural: 'backuppolicies', namespaced: false },
  MaintenanceWindow: {
    apiVersion: 'tenancy.dev/v1alpha1',
    kind: 'MaintenanceWindow',
    plural: 'maintenancewindows',
    namespaced: false,
  },
};

export function adminClient(kubeconfigPath: string): KubeClient {
  return new KubeClient(KubeConnection.load({ path: kubeconfigPath }));
}

export function readYamlObjects(path: string): KubeObject[] {
  return parseAllDocuments(readFileSync(path, 'utf8'))
    .map((d) => d.toJS() as KubeObject | null)
    .filter((o): o is KubeObject => o !== null);
}

export function typeOf(kind: string): ResourceType {
  const type = TYPES[kind] ?? (RESOURCES as Record<string, ResourceType>)[kind];
  if (!type) throw new Error(`cluster-setup does not know kind ${kind}`);
  return type;
}

/** Applies objects as the admin (field manager `setup`). */
export async function applyAll(client: KubeClient, objects: KubeObject[]): Promise<void> {
  for (const obj of objects) await client.apply(typeOf(obj.kind), obj, 'setup');
}

export async function installCrds(client: KubeClient): Promise<void> {
  await installCrdsFrom(client, join(REPO_ROOT, 'crds'));
}

async function installCrdsFrom(client: KubeClient, dir: string): Promise<void> {
  const crds = readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .flatMap((f) => readYamlObjects(join(dir, f)));
  await applyAll(client, crds);
  for (const crd of crds) {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const live = await client.get<KubeObject & { status?: { conditions?: { type: string; status: string }[] } }>(
        typeOf('CustomResourceDefinition'),
        crd.metadata.name,
      );
      if (live.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')) break;
      if (Date.now() > deadline) throw new Error(`CRD ${crd.metadata.name} not established`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/**
 * CRDs of the kinds the operator creates but does not own: Gateway API and Secrets Store CSI from
 * their Go modules, and the stand-in for Application Gateway for Containers' WAF policy
 * (hack/third-party-crds.sh prepares them under bin/third-party).
 */
export async function installThirdPartyCrds(client: KubeClient): Promise<void> {
  const dir = execFileSync('bash', [join(REPO_ROOT, 'hack/third-party-crds.sh')], { encoding: 'utf8' }).trim();
  await installCrdsFrom(client, dir);
}

/**
 * The Prometheus Operator's Probe CRD, from its Go module (hack/prometheus-operator-crds.sh): only
 * for tests that want tenants probed, so the other tests' operators never see the kind.
 */
export async function installPrometheusOperatorCrds(client: KubeClient): Promise<void> {
  const dir = execFileSync('bash', [join(REPO_ROOT, 'hack/prometheus-operator-crds.sh')], { encoding: 'utf8' }).trim();
  await installCrdsFrom(client, dir);
}

/** The username config/admission confines (the kustomize default ServiceAccount). */
const POLICY_USERNAME = 'system:serviceaccount:tenant-operator-system:tenant-operator';

/**
 * The blast-radius ValidatingAdmissionPolicy of config/admission, confining the test user that
 * stands in for the operator's ServiceAccount instead; waits until the API server enforces it.
 */
export async function installAdmissionPolicy(client: KubeClient, operatorKubeconfig: string): Promise<void> {
  const dir = join(REPO_ROOT, 'config', 'admission');
  const objects = ['blast-radius-policy.yaml', 'blast-radius-binding.yaml'].flatMap((f) => readYamlObjects(join(dir, f)));
  const forTestUser = JSON.parse(JSON.stringify(objects).split(POLICY_USERNAME).join(OPERATOR_USER)) as KubeObject[];
  await applyAll(client, forTestUser);
  // Policies take effect a moment after they are stored: probe with a write only the policy refuses.
  const operator = new KubeClient(KubeConnection.load({ path: operatorKubeconfig }));
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      await operator.request('POST', '/api/v1/namespaces', {
        query: { dryRun: 'All' },
        body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'blast-radius-probe' } },
      });
    } catch (err) {
      if ((err as Error).message.includes('tenant-operator may only')) return;
      throw err;
    }
    if (Date.now() > deadline) throw new Error('the blast-radius admission policy is not enforced after 30 s');
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The operator's namespace and RBAC, bound also to the test user that stands in for its ServiceAccount. */
export async function installRbac(client: KubeClient): Promise<void> {
  await applyAll(client, [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'tenant-operator-system' } }]);
  const dir = join(REPO_ROOT, 'config', 'rbac');
  for (const file of ['role.yaml', 'leader-election-role.yaml', 'role-binding.yaml'])
    await applyAll(client, readYamlObjects(join(dir, file)));
  const user = { kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: OPERATOR_USER };
  await applyAll(client, [
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: 'tenant-operator-test-user' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'tenant-operator' },
      subjects: [user],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'tenant-operator-test-user', namespace: 'tenant-operator-system' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'tenant-operator-leader-election' },
      subjects: [user],
    },
  ]);
}

/**
 * Time-limited access as config/access ships it: the ClusterRoles grants bind, the requester and
 * approver roles and group bindings, and the admission policy with its parameters; waits until the
 * API server enforces the policy (a dry-run request naming someone else as requester is refused).
 */
export async function installAccessPolicy(client: KubeClient): Promise<void> {
  const dir = join(REPO_ROOT, 'config', 'access');
  const files = ['roles.yaml', 'bindings.yaml', 'policy-params.yaml', 'policy.yaml', 'policy-binding.yaml'];
  await applyAll(
    client,
    files.flatMap((f) => readYamlObjects(join(dir, f))),
  );
  const probe = {
    apiVersion: 'tenancy.dev/v1alpha1',
    kind: 'AccessRequest',
    metadata: { name: 'access-policy-probe' },
    spec: {
      requester: 'someone-else',
      tenant: 'probe',
      role: 'namespace-view',
      reason: 'policy enforcement probe',
      duration: '1h',
    },
  };
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      await client.request('POST', '/apis/tenancy.dev/v1alpha1/accessrequests', { query: { dryRun: 'All' }, body: probe });
    } catch (err) {
      if ((err as Error).message.includes('must be your own username')) return;
      throw err;
    }
    if (Date.now() > deadline) throw new Error('the access admission policy is not enforced after 30 s');
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * What a platform team installs with the operator: the default BackupPolicy of config/samples.
 * Without one, a tenant's database is held (`BackupPolicyNotFound`), never created with a guessed policy.
 */
export async function installPlatformDefaults(client: KubeClient): Promise<void> {
  await applyAll(client, readYamlObjects(join(REPO_ROOT, 'config', 'samples', 'backuppolicy-default.yaml')));
}
