/**
 * The operator's blast radius, probed with its own identity (the `tenant-operator` user bound to
 * the chart's ClusterRole) against the real API server with the blast-radius admission policy of
 * config/admission installed: RBAC lets it write namespaces, Deployments, NetworkPolicies and
 * ServiceAccounts anywhere; the policy refuses every write outside what it manages, any weakening
 * of Pod Security, and any pod template with host access or someone else's ServiceAccount, while
 * its own kind of writes still pass. Destructive probes are dry runs (admission runs for them too),
 * so a failing test never damages the shared cluster.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { KubeClient } from '../../src/runtime/kube-client.ts';
import { adminClient, sharedControlPlane, typeOf } from '../harness/fixtures.ts';

const info = sharedControlPlane();
const TEAM = 'team-payments';
const MANAGED = 'tenant-blast-dev';
let admin: KubeClient;
let operator: KubeClient;

const managedLabels = {
  'app.kubernetes.io/managed-by': 'tenant-operator',
  'tenancy.dev/tenant': 'blast',
  'pod-security.kubernetes.io/enforce': 'restricted',
};

type Verb = 'POST' | 'PATCH' | 'DELETE';
interface Probe {
  method: Verb;
  path: string;
  body?: unknown;
  contentType?: string;
}

/** A time-limited access grant as the operator makes it (src/access/grant.ts), changed by `change`. */
function roleBinding(namespace: string, change: Record<string, unknown> = {}): Probe {
  return {
    method: 'POST',
    path: `/apis/rbac.authorization.k8s.io/v1/namespaces/${namespace}/rolebindings`,
    body: {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'access-probe', labels: { 'app.kubernetes.io/managed-by': 'tenant-operator' } },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'tenant-access-view' },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'alice@contoso.example' }],
      ...change,
    },
  };
}

const dryRun = (p: Probe) =>
  operator.request(p.method, p.path, {
    query: { dryRun: 'All' },
    ...(p.body === undefined ? {} : { body: p.body }),
    ...(p.contentType ? { contentType: p.contentType } : {}),
  });

const mergePatch = (path: string, body: unknown): Probe => ({
  method: 'PATCH',
  path,
  body,
  contentType: 'application/merge-patch+json',
});

/** A pod template like the operator's own (src/tenant/workload.ts), changed by `pod`. */
function deployment(namespace: string, pod: Record<string, unknown> = {}, container: Record<string, unknown> = {}): Probe {
  return {
    method: 'POST',
    path: `/apis/apps/v1/namespaces/${namespace}/deployments`,
    body: {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'app', labels: { 'app.kubernetes.io/managed-by': 'tenant-operator' } },
      spec: {
        selector: { matchLabels: { app: 'x' } },
        template: {
          metadata: { labels: { app: 'x' } },
          spec: {
            serviceAccountName: 'tenant-app',
            automountServiceAccountToken: false,
            containers: [
              {
                name: 'app',
                image: 'registry.example.com/saas/app:1.0.0',
                securityContext: { allowPrivilegeEscalation: false, runAsNonRoot: true, capabilities: { drop: ['ALL'] } },
                ...container,
              },
            ],
            ...pod,
          },
        },
      },
    },
  };
}

beforeAll(async () => {
  admin = adminClient(info.adminKubeconfig);
  operator = adminClient(info.operatorKubeconfig);
  // Another team's namespace, with a NetworkPolicy and a ServiceAccount that can read its Secrets.
  await admin.apply(
    typeOf('Namespace'),
    {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: TEAM, labels: { 'pod-security.kubernetes.io/enforce': 'baseline' } },
    },
    'test',
  );
  await admin.apply(
    typeOf('NetworkPolicy'),
    {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'default-deny', namespace: TEAM },
      spec: { podSelector: {}, policyTypes: ['Ingress'] },
    },
    'test',
  );
  await admin.apply(
    typeOf('ServiceAccount'),
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'payments-app', namespace: TEAM } },
    'test',
  );
  // A namespace as the operator creates it: a legitimate write, as the operator itself.
  await operator.apply(
    typeOf('Namespace'),
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: MANAGED, labels: managedLabels } },
    'tenant-operator',
  );
});

afterAll(async () => {
  await admin.delete(typeOf('Namespace'), TEAM).catch(() => {});
  await admin.delete(typeOf('Namespace'), MANAGED).catch(() => {});
});

describe('the operator’s own identity is refused', () => {
  test.each<[string, () => Probe, string]>([
    [
      'deleting another team’s namespace',
      () => ({ method: 'DELETE', path: `/api/v1/namespaces/${TEAM}` }),
      `may only change or delete namespaces it labelled (app.kubernetes.io/managed-by=tenant-operator); ${TEAM} is not one`,
    ],
    [
      'relabelling kube-system Pod Security privileged',
      () =>
        mergePatch('/api/v1/namespaces/kube-system', {
          metadata: { labels: { 'pod-security.kubernetes.io/enforce': 'privileged' } },
        }),
      'may only change or delete namespaces it labelled',
    ],
    [
      'opening kube-system with an allow-all NetworkPolicy',
      () => ({
        method: 'POST',
        path: '/apis/networking.k8s.io/v1/namespaces/kube-system/networkpolicies',
        body: {
          apiVersion: 'networking.k8s.io/v1',
          kind: 'NetworkPolicy',
          metadata: { name: 'allow-all' },
          spec: { podSelector: {}, ingress: [{}], policyTypes: ['Ingress'] },
        },
      }),
      'may only write in namespaces it manages',
    ],
    [
      'relabelling another team’s namespace Pod Security privileged',
      () =>
        mergePatch(`/api/v1/namespaces/${TEAM}`, {
          metadata: { labels: { 'pod-security.kubernetes.io/enforce': 'privileged' } },
        }),
      'may only change or delete namespaces it labelled',
    ],
    [
      'claiming another team’s namespace by labelling it as its own',
      () => mergePatch(`/api/v1/namespaces/${TEAM}`, { metadata: { labels: managedLabels } }),
      'may only change or delete namespaces it labelled',
    ],
    [
      'deleting another team’s NetworkPolicy',
      () => ({ method: 'DELETE', path: `/apis/networking.k8s.io/v1/namespaces/${TEAM}/networkpolicies/default-deny` }),
      `may only write in namespaces it manages (labelled app.kubernetes.io/managed-by=tenant-operator); ${TEAM} is not one`,
    ],
    [
      'a Deployment in another team’s namespace, as that team’s ServiceAccount, mounting its Secrets',
      () =>
        deployment(TEAM, {
          serviceAccountName: 'payments-app',
          volumes: [{ name: 's', secret: { secretName: 'payments-db' } }],
        }),
      'may only write in namespaces it manages',
    ],
    [
      'creating a namespace without its label',
      () => ({
        method: 'POST',
        path: '/api/v1/namespaces',
        body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'unlabelled' } },
      }),
      'may only create or update namespaces labelled app.kubernetes.io/managed-by=tenant-operator',
    ],
    [
      'creating a namespace of its own with Pod Security privileged',
      () => ({
        method: 'POST',
        path: '/api/v1/namespaces',
        body: {
          apiVersion: 'v1',
          kind: 'Namespace',
          metadata: { name: 'tenant-weak-dev', labels: { ...managedLabels, 'pod-security.kubernetes.io/enforce': 'privileged' } },
        },
      }),
      'may not weaken Pod Security',
    ],
    [
      'weakening Pod Security of its own namespace',
      () =>
        mergePatch(`/api/v1/namespaces/${MANAGED}`, {
          metadata: { labels: { 'pod-security.kubernetes.io/enforce': 'baseline' } },
        }),
      'may not weaken Pod Security',
    ],
    [
      'dropping Pod Security from its own namespace',
      () => mergePatch(`/api/v1/namespaces/${MANAGED}`, { metadata: { labels: { 'pod-security.kubernetes.io/enforce': null } } }),
      'may not weaken Pod Security',
    ],
    [
      'a privileged container',
      () => deployment(MANAGED, {}, { securityContext: { privileged: true } }),
      'may not run privileged containers or add capabilities',
    ],
    [
      'a privileged init container',
      () =>
        deployment(MANAGED, {
          initContainers: [{ name: 'init', image: 'busybox', securityContext: { privileged: true } }],
        }),
      'may not run privileged containers or add capabilities',
    ],
    [
      'an added capability',
      () => deployment(MANAGED, {}, { securityContext: { capabilities: { add: ['NET_ADMIN'] } } }),
      'may not run privileged containers or add capabilities',
    ],
    ['the host network', () => deployment(MANAGED, { hostNetwork: true }), "host's network, PID or IPC namespace"],
    ['the host PID namespace', () => deployment(MANAGED, { hostPID: true }), "host's network, PID or IPC namespace"],
    ['the host IPC namespace', () => deployment(MANAGED, { hostIPC: true }), "host's network, PID or IPC namespace"],
    [
      'a hostPath volume',
      () => deployment(MANAGED, { volumes: [{ name: 'root', hostPath: { path: '/' } }] }),
      'may not mount hostPath volumes',
    ],
    [
      'a ServiceAccount it did not create',
      () => deployment(MANAGED, { serviceAccountName: 'default' }),
      'may only run pods as the ServiceAccount it creates (tenant-app)',
    ],
    [
      'no ServiceAccount named (the namespace default)',
      () => deployment(MANAGED, { serviceAccountName: undefined }),
      'may only run pods as the ServiceAccount it creates (tenant-app)',
    ],
    [
      'creating another ServiceAccount',
      () => ({
        method: 'POST',
        path: `/api/v1/namespaces/${MANAGED}/serviceaccounts`,
        body: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'admin' } },
      }),
      'creates only the ServiceAccount tenant-app',
    ],
    [
      'a Service with externalIPs',
      () => ({
        method: 'POST',
        path: `/api/v1/namespaces/${MANAGED}/services`,
        body: {
          apiVersion: 'v1',
          kind: 'Service',
          metadata: { name: 'app' },
          spec: { ports: [{ port: 80 }], externalIPs: ['10.1.2.3'] },
        },
      }),
      'may not set externalIPs',
    ],
    [
      'a RoleBinding in another team’s namespace',
      () => roleBinding(TEAM),
      `may only write in namespaces it manages (labelled app.kubernetes.io/managed-by=tenant-operator); ${TEAM} is not one`,
    ],
    [
      'binding a group (every authenticated user) in its namespace',
      () =>
        roleBinding(MANAGED, {
          subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'system:authenticated' }],
        }),
      'may only bind one person',
    ],
    [
      'binding a ServiceAccount',
      () => roleBinding(MANAGED, { subjects: [{ kind: 'ServiceAccount', name: 'tenant-app', namespace: MANAGED }] }),
      'may only bind one person',
    ],
    [
      'binding a ServiceAccount by its username',
      () =>
        roleBinding(MANAGED, {
          subjects: [
            { apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: `system:serviceaccount:${MANAGED}:tenant-app` },
          ],
        }),
      'may only bind one person',
    ],
    [
      'binding two people at once',
      () =>
        roleBinding(MANAGED, {
          subjects: [
            { apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'alice@contoso.example' },
            { apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'mallory@contoso.example' },
          ],
        }),
      'may only bind one person',
    ],
    [
      // RBAC itself: `bind` is granted on the access ClusterRoles only (resourceNames).
      'binding cluster-admin in its own namespace',
      () =>
        roleBinding(MANAGED, { roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' } }),
      'is attempting to grant RBAC permissions not currently held',
    ],
  ])('%s', async (_name, probe, message) => {
    const failure = await dryRun(probe()).then(
      () => undefined,
      (err: Error & { code?: number }) => err,
    );
    expect(failure?.message).toContain(message);
    expect(failure?.code).toBe(403);
  });
});

describe('the operator’s own kind of writes pass', () => {
  test.each<[string, () => Probe]>([
    ['a Deployment like its own, in its namespace', () => deployment(MANAGED)],
    [
      'its ServiceAccount',
      () => ({
        method: 'POST',
        path: `/api/v1/namespaces/${MANAGED}/serviceaccounts`,
        body: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'tenant-app' } },
      }),
    ],
    [
      'a NetworkPolicy in its namespace',
      () => ({
        method: 'POST',
        path: `/apis/networking.k8s.io/v1/namespaces/${MANAGED}/networkpolicies`,
        body: {
          apiVersion: 'networking.k8s.io/v1',
          kind: 'NetworkPolicy',
          metadata: { name: 'default-deny' },
          spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'] },
        },
      }),
    ],
    [
      'marking its namespace orphaned',
      () => mergePatch(`/api/v1/namespaces/${MANAGED}`, { metadata: { labels: { 'tenancy.dev/orphaned': 'true' } } }),
    ],
    ['a time-limited access grant: one person bound to tenant-access-view', () => roleBinding(MANAGED)],
    [
      'a debug grant: one person bound to tenant-access-debug',
      () =>
        roleBinding(MANAGED, {
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'tenant-access-debug' },
        }),
    ],
    ['deleting its namespace', () => ({ method: 'DELETE', path: `/api/v1/namespaces/${MANAGED}` })],
  ])('%s', async (_name, probe) => {
    await expect(dryRun(probe())).resolves.toBeDefined();
  });

  test('anyone else is not concerned: an admin may still relabel a team namespace', async () => {
    await expect(
      admin.request('PATCH', `/api/v1/namespaces/${TEAM}`, {
        query: { dryRun: 'All' },
        body: { metadata: { labels: { 'pod-security.kubernetes.io/enforce': 'privileged' } } },
        contentType: 'application/merge-patch+json',
      }),
    ).resolves.toBeDefined();
  });
});
