/**
 * `helm install` of the chart into the shared control plane, then the proof that its RBAC is
 * enough: an operator authenticated with a token of the chart's own ServiceAccount (TokenRequest
 * API) and nothing else reconciles a Tenant to Ready, and the API server never answered it 403.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { Operator } from '../../../src/operator.ts';
import { isNotFound, KubeClient, type KubeObject } from '../../../src/runtime/kube-client.ts';
import { KubeConnection } from '../../../src/runtime/kubeconfig.ts';
import type { AuditEvent } from '../../harness/control-plane.ts';
import {
  adminClient,
  sharedControlPlane,
  startOperator,
  type TenantWithStatus,
  tenant,
  typeOf,
  waitFor,
  waitForReady,
} from '../../harness/fixtures.ts';
import { CHART_DIR, configRbacRules, helmArgs, run, scratch } from '../../unit/delivery/tools.ts';

const info = sharedControlPlane();
const suffix = Math.random().toString(36).slice(2, 8);
const RELEASE = `chart-${suffix}`;
const NAMESPACE = `delivery-${suffix}`;
const FULLNAME = `${RELEASE}-tenant-operator`;
const SA_USER = `system:serviceaccount:${NAMESPACE}:${FULLNAME}`;
const TENANT = `helm-${suffix}`;
const { dir, helmEnv } = scratch('helm-install');
const kubeconfigArgs = ['--kubeconfig', info.adminKubeconfig];

let admin: KubeClient;
let operator: Operator | undefined;

/** GET through the admin, for kinds the harness has no ResourceType for. */
const get = <T = KubeObject>(path: string) => admin.request<T>('GET', path);

beforeAll(() => {
  admin = adminClient(info.adminKubeconfig);
  // CRDs are installed by the globalSetup already; no kubelet, so no --wait for pods that never start.
  run(
    'helm',
    [
      'install',
      RELEASE,
      CHART_DIR,
      '--create-namespace',
      '--skip-crds',
      ...kubeconfigArgs,
      // Time-limited access is cluster-wide with fixed names, and the globalSetup installed it from
      // config/access already (test/unit/delivery proves the chart renders the same objects).
      ...helmArgs(dir, { namespace: NAMESPACE, values: { accessRequests: { enabled: false } } }),
    ],
    helmEnv,
  );
});

afterAll(async () => {
  await operator?.stop();
  run('helm', ['uninstall', RELEASE, '--namespace', NAMESPACE, ...kubeconfigArgs], helmEnv);
  rmSync(dir, { recursive: true, force: true });
});

describe('helm install into a real API server', () => {
  test('creates the Deployment, ServiceAccount, configuration, PDB, metrics Service and dashboard', async () => {
    const ns = `/api/v1/namespaces/${NAMESPACE}`;
    const deployment = await get<KubeObject & { spec: { replicas: number; template: { spec: { serviceAccountName: string } } } }>(
      `/apis/apps/v1/namespaces/${NAMESPACE}/deployments/${FULLNAME}`,
    );
    expect(deployment.spec.replicas).toBe(2);
    expect(deployment.spec.template.spec.serviceAccountName).toBe(FULLNAME);
    await get(`${ns}/serviceaccounts/${FULLNAME}`);
    await get(`${ns}/configmaps/${FULLNAME}-config`);
    await get(`${ns}/configmaps/${FULLNAME}-dashboard`);
    await get(`${ns}/services/${FULLNAME}-metrics`);
    await get(`/apis/policy/v1/namespaces/${NAMESPACE}/poddisruptionbudgets/${FULLNAME}`);
    expect(run('helm', ['status', RELEASE, '--namespace', NAMESPACE, ...kubeconfigArgs], helmEnv)).toContain('STATUS: deployed');
  });

  test('creates the ClusterRole and Role with the rules of config/rbac, bound to its ServiceAccount', async () => {
    const rbac = '/apis/rbac.authorization.k8s.io/v1';
    type Rbac = KubeObject & { rules: unknown[]; subjects: unknown[] };
    expect((await get<Rbac>(`${rbac}/clusterroles/${FULLNAME}`)).rules).toEqual(configRbacRules('ClusterRole'));
    expect((await get<Rbac>(`${rbac}/namespaces/${NAMESPACE}/roles/${FULLNAME}-leader-election`)).rules).toEqual(
      configRbacRules('Role'),
    );
    const subject = { kind: 'ServiceAccount', name: FULLNAME, namespace: NAMESPACE };
    expect((await get<Rbac>(`${rbac}/clusterrolebindings/${FULLNAME}`)).subjects).toEqual([subject]);
    expect((await get<Rbac>(`${rbac}/namespaces/${NAMESPACE}/rolebindings/${FULLNAME}-leader-election`)).subjects).toEqual([
      subject,
    ]);
  });
});

describe('an operator running as the chart’s ServiceAccount', () => {
  let auditStart = 0;
  let kubeconfigFile = '';
  beforeAll(async () => {
    auditStart = readFileSync(info.auditLog, 'utf8').split('\n').length - 1;
    const { status } = await admin.request<{ status: { token: string } }>(
      'POST',
      `/api/v1/namespaces/${NAMESPACE}/serviceaccounts/${FULLNAME}/token`,
      { body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 3600 } } },
    );
    const kubeconfig = {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'test', cluster: { server: info.server, 'certificate-authority': join(info.dir, 'ca.crt') } }],
      users: [{ name: 'chart-service-account', user: { token: status.token } }],
      contexts: [{ name: 'test', context: { cluster: 'test', user: 'chart-service-account' } }],
      'current-context': 'test',
    };
    // startOperator builds the operator every integration test runs; only its credentials differ here.
    kubeconfigFile = join(dir, 'service-account.kubeconfig');
    writeFileSync(kubeconfigFile, JSON.stringify(kubeconfig), { mode: 0o600 });
    operator = await startOperator({
      info: { ...info, operatorKubeconfig: kubeconfigFile },
      leaseName: `lease-${suffix}`,
      config: { leaderElection: { namespace: NAMESPACE } },
    });
    await waitFor('leadership with the chart’s Role', () => operator?.isLeader);
  });

  /** What the API server's audit log recorded of the ServiceAccount's writes since the operator started. */
  const saEvents = () =>
    readFileSync(info.auditLog, 'utf8')
      .split('\n')
      .slice(auditStart)
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as AuditEvent)
      .filter((e) => e.stage === 'ResponseComplete' && e.user.username === SA_USER);
  const forbidden = () => [
    ...new Set(
      saEvents()
        .filter((e) => e.responseStatus?.code === 403)
        .map((e) => `${e.verb} ${e.requestURI}`),
    ),
  ];

  test('reconciles a Tenant to Ready and deletes it, every write made as that ServiceAccount, none forbidden', async () => {
    await admin.apply(typeOf('Tenant'), tenant(TENANT), 'test');
    const ready = await waitForReady(admin, TENANT).catch(async (err: Error) => {
      const t = await admin.get<TenantWithStatus>(typeOf('Tenant'), TENANT);
      const notTrue = (t.status?.conditions ?? []).filter((c) => c.status !== 'True').map((c) => `${c.type}=${c.reason}`);
      throw new Error(
        `${err.message}; not True: ${notTrue.join(', ')}; requests the chart's RBAC forbade: ${forbidden().join(', ') || 'none'}`,
      );
    });
    await admin.delete(typeOf('Tenant'), TENANT);
    await waitFor(`tenant ${TENANT} deleted (finalizer removed)`, async () => {
      try {
        await admin.get(typeOf('Tenant'), TENANT);
        return false;
      } catch (err) {
        return isNotFound(err);
      }
    });

    const events = saEvents();
    const wrote = (resource: string, name?: string) =>
      events.some((e) => e.objectRef?.resource === resource && (name === undefined || e.objectRef.name === name));
    // Another test file's operator could have done the work; the audit log says who did.
    expect(wrote('namespaces', ready.status?.namespace)).toBe(true);
    expect(wrote('networkpolicies')).toBe(true);
    expect(events.some((e) => e.objectRef?.resource === 'tenants' && e.objectRef.subresource === 'status')).toBe(true);
    expect(wrote('leases', `lease-${suffix}`)).toBe(true);
    expect(forbidden()).toEqual([]);
  });

  // Last: its probe is refused (403), which the test above counts as a missing permission.
  test('is confined by the chart’s blast-radius policy: no namespace it did not label', async () => {
    const asServiceAccount = new KubeClient(KubeConnection.load({ path: kubeconfigFile }));
    const refusal = await waitFor('the chart’s admission policy enforced', () =>
      asServiceAccount
        .request('POST', '/api/v1/namespaces', {
          query: { dryRun: 'All' },
          body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: `not-labelled-${suffix}` } },
        })
        .then(
          () => undefined,
          (err: Error) => err.message,
        ),
    );
    expect(refusal).toContain(`ValidatingAdmissionPolicy '${FULLNAME}-blast-radius'`);
    expect(refusal).toContain('tenant-operator may only create or update namespaces labelled');
  });
});
