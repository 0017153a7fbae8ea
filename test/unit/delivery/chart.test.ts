/**
 * The Helm chart through helm itself (bin/helm): `helm lint --strict`, and `helm template` with
 * default values, workload identity, ServiceMonitor and PrometheusRule, and a custom operator
 * configuration, asserting on the rendered objects.
 */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from '@jest/globals';
import { parse as parseYaml } from 'yaml';
import { parseConfig } from '../../../src/config.ts';
import type { KubeObject } from '../../../src/runtime/kube-client.ts';
import { REPO_ROOT } from '../../harness/control-plane.ts';
import { CHART_DIR, configRbacRules, find, helmArgs, helmTemplate, run, scratch } from './tools.ts';

const { dir, helmEnv } = scratch('chart');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const CLIENT_ID = '6f1a2b3c-4d5e-4f60-8a7b-9c0d1e2f3a4b';
const ALL_ON = {
  azureWorkloadIdentity: { enabled: true, clientId: CLIENT_ID },
  metrics: { serviceMonitor: { enabled: true }, prometheusRule: { enabled: true } },
  config: { logLevel: 'debug' },
};

interface Container {
  name: string;
  args: string[];
  ports: { name: string; containerPort: number }[];
  livenessProbe: { httpGet: { path: string; port: string } };
  readinessProbe: { httpGet: { path: string; port: string } };
  resources: { requests: Record<string, string>; limits: Record<string, string> };
  securityContext: Record<string, unknown>;
  volumeMounts: { name: string; mountPath: string }[];
}
interface PodTemplate {
  metadata: { labels: Record<string, string>; annotations: Record<string, string> };
  spec: {
    serviceAccountName: string;
    terminationGracePeriodSeconds: number;
    securityContext: Record<string, unknown>;
    containers: Container[];
    volumes: { name: string; configMap?: { name: string } }[];
    topologySpreadConstraints: { topologyKey: string; labelSelector: { matchLabels: Record<string, string> } }[];
  };
}
type Deployment = KubeObject & {
  spec: { replicas: number; selector: { matchLabels: Record<string, string> }; template: PodTemplate };
};
type Rbac = KubeObject & {
  rules?: unknown[];
  roleRef?: { kind: string; name: string };
  subjects?: { kind: string; name: string; namespace: string }[];
};
type ConfigMap = KubeObject & { data: Record<string, string> };

const operatorConfig = (objects: KubeObject[], name = 'tenant-operator-config') =>
  parseYaml(find<ConfigMap>(objects, 'ConfigMap', name).data['config.yaml'] as string) as Record<string, unknown>;

describe('helm lint --strict', () => {
  test('passes with the default values and with every option on', () => {
    expect(run('helm', ['lint', '--strict', CHART_DIR, ...helmArgs(dir, {})], helmEnv)).toContain('0 chart(s) failed');
    expect(run('helm', ['lint', '--strict', CHART_DIR, ...helmArgs(dir, { values: ALL_ON })], helmEnv)).toContain(
      '0 chart(s) failed',
    );
  });
});

describe('helm template with default values', () => {
  const objects = helmTemplate(dir, helmEnv);
  const deployment = find<Deployment>(objects, 'Deployment', 'tenant-operator');
  const pod = deployment.spec.template;
  const container = pod.spec.containers[0] as Container;

  test('renders the operator, its RBAC, configuration, PDB, metrics Service and dashboard, time-limited access, nothing optional', () => {
    expect(objects.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual([
      'ClusterRole/tenant-access-approver',
      'ClusterRole/tenant-access-debug',
      'ClusterRole/tenant-access-requester',
      'ClusterRole/tenant-access-view',
      'ClusterRole/tenant-operator',
      'ClusterRoleBinding/tenant-access-approvers',
      'ClusterRoleBinding/tenant-access-requesters',
      'ClusterRoleBinding/tenant-operator',
      'ConfigMap/tenant-access-policy',
      'ConfigMap/tenant-operator-config',
      'ConfigMap/tenant-operator-dashboard',
      'Deployment/tenant-operator',
      'PodDisruptionBudget/tenant-operator',
      'Role/tenant-operator-leader-election',
      'RoleBinding/tenant-operator-leader-election',
      'Service/tenant-operator-metrics',
      'ServiceAccount/tenant-operator',
      'ValidatingAdmissionPolicy/tenant-access-requests',
      'ValidatingAdmissionPolicy/tenant-operator-blast-radius',
      'ValidatingAdmissionPolicyBinding/tenant-access-requests',
      'ValidatingAdmissionPolicyBinding/tenant-operator-blast-radius',
    ]);
    for (const o of objects.filter((x) => !x.kind.startsWith('Cluster') && !x.kind.startsWith('ValidatingAdmission')))
      expect([o.kind, o.metadata.namespace]).toEqual([o.kind, 'tenant-operator-system']);
  });

  test('grants exactly the rules of config/rbac, bound to the chart’s ServiceAccount', () => {
    expect(find<Rbac>(objects, 'ClusterRole', 'tenant-operator').rules).toEqual(configRbacRules('ClusterRole'));
    expect(find<Rbac>(objects, 'Role').rules).toEqual(configRbacRules('Role'));
    const subject = { kind: 'ServiceAccount', name: 'tenant-operator', namespace: 'tenant-operator-system' };
    expect(find<Rbac>(objects, 'ClusterRoleBinding', 'tenant-operator')).toMatchObject({
      roleRef: { kind: 'ClusterRole', name: 'tenant-operator' },
      subjects: [subject],
    });
    expect(find<Rbac>(objects, 'RoleBinding')).toMatchObject({
      roleRef: { kind: 'Role', name: 'tenant-operator-leader-election' },
      subjects: [subject],
    });
    expect(pod.spec.serviceAccountName).toBe('tenant-operator');
  });

  test('runs two replicas under Pod Security "restricted"', () => {
    expect(deployment.spec.replicas).toBe(2);
    expect(pod.spec.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    expect(container.securityContext).toEqual({
      runAsNonRoot: true,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(pod.spec.terminationGracePeriodSeconds).toBe(30);
    expect(container.resources.requests).toEqual({ cpu: '100m', memory: '256Mi' });
    expect(container.resources.limits).toEqual({ cpu: '1', memory: '512Mi' });
    expect(pod.metadata.labels).not.toHaveProperty(['azure.workload.identity/use']);
  });

  test('probes /healthz and /readyz on the port the configuration serves', () => {
    expect(container.ports).toEqual([{ name: 'http', containerPort: 8080, protocol: 'TCP' }]);
    expect(container.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'http' });
    expect(container.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'http' });
    expect(parseConfig(operatorConfig(objects)).http.port).toBe(8080);
  });

  test('passes the mounted configuration with --config, a valid operator configuration with the Lease in its namespace', () => {
    expect(container.args).toEqual(['--config', '/etc/tenant-operator/config.yaml']);
    const mount = container.volumeMounts.find((m) => m.mountPath === '/etc/tenant-operator');
    expect(pod.spec.volumes.find((v) => v.name === mount?.name)?.configMap?.name).toBe('tenant-operator-config');
    const config = parseConfig(operatorConfig(objects));
    expect(config.leaderElection.namespace).toBe('tenant-operator-system');
    expect(pod.metadata.annotations['checksum/config']).toMatch(/^[0-9a-f]{64}$/);
  });

  test('spreads the replicas over zones and nodes, and the PDB and Service select the same pods', () => {
    const podLabels = pod.metadata.labels;
    expect(deployment.spec.selector.matchLabels).toEqual(podLabels);
    expect(pod.spec.topologySpreadConstraints.map((c) => [c.topologyKey, c.labelSelector.matchLabels])).toEqual([
      ['topology.kubernetes.io/zone', podLabels],
      ['kubernetes.io/hostname', podLabels],
    ]);
    expect(find(objects, 'PodDisruptionBudget').spec).toEqual({ maxUnavailable: 1, selector: { matchLabels: podLabels } });
    expect(find(objects, 'Service').spec).toMatchObject({
      selector: podLabels,
      ports: [{ name: 'http-metrics', port: 8080, targetPort: 'http' }],
    });
  });

  test('ships the Grafana dashboard of config/grafana for the sidecar', () => {
    const dashboard = find<ConfigMap>(objects, 'ConfigMap', 'tenant-operator-dashboard');
    expect(dashboard.metadata.labels?.grafana_dashboard).toBe('1');
    const source = readFileSync(join(REPO_ROOT, 'config', 'grafana', 'tenant-operator-dashboard.json'), 'utf8');
    expect(JSON.parse(dashboard.data['tenant-operator-dashboard.json'] as string)).toEqual(JSON.parse(source));
  });
});

describe('helm template with Azure workload identity', () => {
  test('annotates the ServiceAccount with the client id and labels the pods', () => {
    const objects = helmTemplate(dir, helmEnv, {
      values: { azureWorkloadIdentity: { enabled: true, clientId: CLIENT_ID, tenantId: '11111111-2222-4333-8444-555555555555' } },
    });
    expect(find(objects, 'ServiceAccount').metadata.annotations).toEqual({
      'azure.workload.identity/client-id': CLIENT_ID,
      'azure.workload.identity/tenant-id': '11111111-2222-4333-8444-555555555555',
    });
    expect(find<Deployment>(objects, 'Deployment').spec.template.metadata.labels['azure.workload.identity/use']).toBe('true');
  });

  test('refuses to render without a client id, or with one that is not a GUID', () => {
    expect(() => helmTemplate(dir, helmEnv, { values: { azureWorkloadIdentity: { enabled: true } } })).toThrow(
      'azureWorkloadIdentity.clientId is required',
    );
    expect(() =>
      helmTemplate(dir, helmEnv, { values: { azureWorkloadIdentity: { enabled: true, clientId: 'my-app' } } }),
    ).toThrow('/azureWorkloadIdentity/clientId');
  });
});

describe('helm template with ServiceMonitor and PrometheusRule', () => {
  const objects = helmTemplate(dir, helmEnv, {
    release: 'ops',
    namespace: 'monitoring-test',
    values: {
      metrics: {
        serviceMonitor: { enabled: true, labels: { release: 'kube-prometheus-stack' } },
        prometheusRule: { enabled: true },
      },
    },
  });

  test('the ServiceMonitor scrapes the metrics Service by its labels and port name', () => {
    const service = find(objects, 'Service', 'ops-tenant-operator-metrics');
    const monitor = find<KubeObject & { spec: Record<string, any> }>(objects, 'ServiceMonitor', 'ops-tenant-operator');
    expect(monitor.metadata.labels?.release).toBe('kube-prometheus-stack');
    expect(service.metadata.labels).toMatchObject(monitor.spec.selector.matchLabels);
    expect(monitor.spec.namespaceSelector).toEqual({ matchNames: ['monitoring-test'] });
    expect(monitor.spec.endpoints).toEqual([{ port: 'http-metrics', path: '/metrics', interval: '30s', scrapeTimeout: '10s' }]);
  });

  // Issue #19 item 7: the job was the Service's name, so with fullnameOverride TenantOperatorDown
  // (which matched the name) fired forever.
  test.each([
    ['default names', {}],
    ['fullnameOverride', { fullnameOverride: 'x' }],
    ['nameOverride', { nameOverride: 'tenancy' }],
  ])('with %s, the job Prometheus gives the targets is the one TenantOperatorDown watches', (_name, override) => {
    const rendered = helmTemplate(dir, helmEnv, {
      release: 'ops',
      values: { ...override, metrics: { serviceMonitor: { enabled: true } } },
    });
    const monitor = find<KubeObject & { spec: Record<string, any> }>(rendered, 'ServiceMonitor');
    const service = rendered.find(
      (o) =>
        o.kind === 'Service' && Object.entries(monitor.spec.selector.matchLabels).every(([k, v]) => o.metadata.labels?.[k] === v),
    );
    // Prometheus Operator: job = the value of the Service's `jobLabel` label (else the Service's name).
    const job = monitor.spec.jobLabel ? service?.metadata.labels?.[monitor.spec.jobLabel] : service?.metadata.name;
    const down = parseYaml(readFileSync(join(REPO_ROOT, 'config', 'prometheus', 'alerts.yaml'), 'utf8'))
      .groups.flatMap((g: { rules: { alert: string; expr: string }[] }) => g.rules)
      .find((r: { alert: string }) => r.alert === 'TenantOperatorDown').expr as string;
    expect(down).toBe(`absent(up{job="${job}"} == 1)`);
  });

  test('the PrometheusRule carries the rule groups of config/prometheus/alerts.yaml', () => {
    const rule = find<KubeObject & { spec: unknown }>(objects, 'PrometheusRule', 'ops-tenant-operator');
    expect(rule.spec).toEqual(parseYaml(readFileSync(join(REPO_ROOT, 'config', 'prometheus', 'alerts.yaml'), 'utf8')));
  });
});

describe('helm template with a custom configuration', () => {
  const values = {
    config: { logLevel: 'debug', concurrency: 8, leaderElection: { leaseName: 'ops-leader', namespace: 'elsewhere' } },
  };
  const objects = helmTemplate(dir, helmEnv, { release: 'ops', namespace: 'platform', values });

  test('keeps the given fields, and forces the Lease into the release namespace where the Role is', () => {
    const config = parseConfig(operatorConfig(objects, 'ops-tenant-operator-config'));
    expect(config).toMatchObject({ logLevel: 'debug', concurrency: 8, http: { port: 8080 } });
    expect(config.leaderElection).toMatchObject({ leaseName: 'ops-leader', namespace: 'platform' });
    expect(find(objects, 'Role').metadata.namespace).toBe('platform');
  });

  test('rolls the pods when the configuration changes', () => {
    const checksum = (o: KubeObject[]) => find<Deployment>(o, 'Deployment').spec.template.metadata.annotations['checksum/config'];
    expect(checksum(objects)).not.toBe(checksum(helmTemplate(dir, helmEnv, { release: 'ops', namespace: 'platform' })));
  });

  test('rejects a misspelt or invalid field through values.schema.json, naming it', () => {
    expect(() => helmTemplate(dir, helmEnv, { values: { config: { concurency: 8 } } })).toThrow(
      "additional properties 'concurency'",
    );
    expect(() => helmTemplate(dir, helmEnv, { values: { config: { logLevel: 'verbose' } } })).toThrow('/config/logLevel');
  });
});

describe('helm template of time-limited access (config/access)', () => {
  const approvers = '7c1e2d3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f';
  const values = {
    config: {
      access: {
        approversGroup: approvers,
        requestersGroup: 'platform-engineers',
        maxDuration: '4h',
        roles: { 'namespace-view': { kind: 'Namespace', clusterRole: 'tenant-access-view' } },
      },
    },
  };
  const objects = helmTemplate(dir, helmEnv, { release: 'ops', namespace: 'platform', values });
  type Binding = KubeObject & { subjects: { kind: string; name: string }[]; spec?: { paramRef: { namespace: string } } };

  test('the admission policy’s parameters and the group bindings come from config.access, as the operator’s do', () => {
    expect(find<ConfigMap>(objects, 'ConfigMap', 'tenant-access-policy')).toMatchObject({
      metadata: { namespace: 'platform' },
      data: { approversGroup: approvers, maxDuration: '4h', roles: 'namespace-view' },
    });
    expect(find<Binding>(objects, 'ValidatingAdmissionPolicyBinding', 'tenant-access-requests').spec?.paramRef.namespace).toBe(
      'platform',
    );
    expect(find<Binding>(objects, 'ClusterRoleBinding', 'tenant-access-approvers').subjects).toEqual([
      { apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: approvers },
    ]);
    expect(find<Binding>(objects, 'ClusterRoleBinding', 'tenant-access-requesters').subjects[0]?.name).toBe('platform-engineers');
    expect(parseConfig(operatorConfig(objects, 'ops-tenant-operator-config')).access).toMatchObject(values.config.access);
  });

  test('accessRequests.enabled=false renders none of it; admissionPolicy.enabled=false drops only the policy', () => {
    const names = (o: KubeObject[]) => o.map((x) => `${x.kind}/${x.metadata.name}`).filter((n) => n.includes('tenant-access'));
    expect(names(helmTemplate(dir, helmEnv, { values: { accessRequests: { enabled: false } } }))).toEqual([]);
    expect(names(helmTemplate(dir, helmEnv, { values: { admissionPolicy: { enabled: false } } })).sort()).toEqual([
      'ClusterRole/tenant-access-approver',
      'ClusterRole/tenant-access-debug',
      'ClusterRole/tenant-access-requester',
      'ClusterRole/tenant-access-view',
      'ClusterRoleBinding/tenant-access-approvers',
      'ClusterRoleBinding/tenant-access-requesters',
    ]);
  });
});
