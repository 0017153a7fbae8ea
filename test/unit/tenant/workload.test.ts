import { describe, expect, test } from '@jest/globals';
import type { Tenant } from '../../../src/api/v1alpha1/tenant.ts';
import { canonicalQuantity } from '../../../src/runtime/quantity.ts';
import { APP_SELECTOR } from '../../../src/tenant/network-policy.ts';
import {
  buildDeployment,
  buildHorizontalPodAutoscaler,
  buildPodDisruptionBudget,
  buildService,
  buildServiceAccount,
  buildWorkload,
  databaseEnv,
  desiredReplicas,
} from '../../../src/tenant/workload.ts';
import { aConfig, aTenant, type TenantModifier, withEnvironment, withPort, withTier } from '../../fixtures/tenant.ts';

const withReplicas =
  (replicas: number): TenantModifier =>
  (t) => {
    t.spec.application.replicas = replicas;
  };
const withHealthPath =
  (healthPath: string): TenantModifier =>
  (t) => {
    t.spec.application.healthPath = healthPath;
  };
const withSecrets =
  (...names: string[]): TenantModifier =>
  (t) => {
    t.spec.secrets = names.map((name) => ({ name }));
  };

/** A config whose tier table carries the proposed `autoscaling` bounds (zod would strip them today). */
function autoscalingConfig(tier: Tenant['spec']['tier'], bounds: Record<string, number>) {
  const config = aConfig();
  (config.tiers[tier] as Record<string, unknown>).autoscaling = bounds;
  return config;
}

type PodSpec = {
  serviceAccountName: string;
  automountServiceAccountToken: boolean;
  securityContext: object;
  topologySpreadConstraints: any[];
  containers: any[];
  volumes: any[];
};
const deploymentSpec = (tenant: Tenant, config = aConfig(), options = {}) =>
  buildDeployment(tenant, config, options).spec as {
    replicas?: number;
    selector: { matchLabels: Record<string, string> };
    strategy?: object;
    template: { metadata: { labels: Record<string, string> }; spec: PodSpec };
  };
const podSpec = (tenant: Tenant, config = aConfig(), options = {}) => deploymentSpec(tenant, config, options).template.spec;
const app = (tenant: Tenant, config = aConfig()) => podSpec(tenant, config).containers[0];

describe('desiredReplicas', () => {
  test.each([
    ['Small', 'Production', undefined, 2],
    ['Small', 'QA', undefined, 1],
    ['Medium', 'Production', undefined, 3],
    ['Medium', 'Development', undefined, 1],
    ['Large', 'Production', undefined, 4],
    ['Large', 'QA', undefined, 2],
    ['Small', 'Production', 5, 5],
    ['Large', 'Development', 1, 1],
  ] as const)('%s tier in %s with spec replicas %s runs %d', (tier, env, replicas, expected) => {
    const modifiers = [withTier(tier), withEnvironment(env), ...(replicas === undefined ? [] : [withReplicas(replicas)])];
    const tenant = aTenant('acme', ...modifiers);
    expect(desiredReplicas(tenant, aConfig())).toBe(expected);
    expect(deploymentSpec(tenant).replicas).toBe(expected);
  });
});

describe('buildDeployment', () => {
  test('runs <image>:<version> as container "app" on the named port', () => {
    const container = app(aTenant('acme', withPort(9000)));
    expect(container.image).toBe('registry.example.com/app:1.0.0');
    expect(container.ports).toEqual([{ name: 'http', containerPort: 9000, protocol: 'TCP' }]);
  });

  test('pods carry the NetworkPolicy selector, the ownership labels and the workload identity label', () => {
    const spec = deploymentSpec(aTenant('acme'));
    expect(spec.selector.matchLabels).toEqual(APP_SELECTOR);
    expect(spec.template.metadata.labels).toEqual({
      ...APP_SELECTOR,
      'app.kubernetes.io/managed-by': 'tenant-operator',
      'tenancy.dev/tenant': 'acme',
      'tenancy.dev/environment': 'dev',
      'azure.workload.identity/use': 'true',
    });
  });

  test('is held to Pod Security "restricted": non-root, RuntimeDefault seccomp, no escalation, read-only root, no capabilities', () => {
    const pod = podSpec(aTenant());
    expect(pod.securityContext).toEqual({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    expect(pod.containers[0].securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      capabilities: { drop: ['ALL'] },
    });
  });

  test('mounts a bounded emptyDir at /tmp, the one writable place on a read-only root filesystem', () => {
    const pod = podSpec(aTenant());
    expect(pod.volumes).toContainEqual({ name: 'tmp', emptyDir: { sizeLimit: '256Mi' } });
    expect(pod.containers[0].volumeMounts).toContainEqual({ name: 'tmp', mountPath: '/tmp' });
  });

  test('uses ServiceAccount tenant-app without the Kubernetes API token (workload identity projects its own)', () => {
    const pod = podSpec(aTenant());
    expect(pod.serviceAccountName).toBe('tenant-app');
    expect(pod.automountServiceAccountToken).toBe(false);
  });

  test.each([
    ['defaults', [], '/healthz', 8080],
    ['custom path and port', [withHealthPath('/ready'), withPort(9000)], '/ready', 9000],
  ] as const)('probes the health path on the app port (%s)', (_name, modifiers, path, port) => {
    const container = app(aTenant('acme', ...modifiers));
    expect(container.ports[0].containerPort).toBe(port);
    for (const probe of ['startupProbe', 'readinessProbe', 'livenessProbe'])
      expect(container[probe].httpGet).toEqual({ path, port: 'http', scheme: 'HTTP' });
    // Startup gets time to boot; liveness gives up later than readiness.
    expect(container.startupProbe.periodSeconds * container.startupProbe.failureThreshold).toBe(150);
    expect(container.livenessProbe.periodSeconds * container.livenessProbe.failureThreshold).toBeGreaterThan(
      container.readinessProbe.periodSeconds * container.readinessProbe.failureThreshold,
    );
  });

  test.each([
    ['Small', { cpu: '100m', memory: '128Mi' }, { cpu: '500m', memory: '512Mi' }],
    ['Medium', { cpu: '250m', memory: '256Mi' }, { cpu: '1', memory: '1Gi' }],
    ['Large', { cpu: '500m', memory: '1Gi' }, { cpu: '2', memory: '4Gi' }],
  ] as const)('%s tier: requests and limits from the tier container defaults', (tier, requests, limits) => {
    expect(app(aTenant('acme', withTier(tier))).resources).toEqual({ requests, limits });
  });

  test('writes configured quantities in the canonical form the API server stores (canonicalised when the config is read)', () => {
    const defaults = aConfig();
    const config = aConfig({
      tiers: {
        ...defaults.tiers,
        Small: {
          ...defaults.tiers.Small,
          container: {
            ...defaults.tiers.Small.container,
            defaultCpu: '1000m',
            defaultMemory: '0.5Gi',
            defaultRequestCpu: '0.25',
            defaultRequestMemory: '131072Ki',
          },
        },
      },
    });
    expect(app(aTenant(), config).resources).toEqual({
      requests: { cpu: '250m', memory: '128Mi' },
      limits: { cpu: '1', memory: '512Mi' },
    });
  });

  test.each([
    ['Production', { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } }],
    ['QA', undefined],
    ['Development', undefined],
  ] as const)('%s rollout strategy: %j', (env, strategy) => {
    expect(deploymentSpec(aTenant('acme', withEnvironment(env))).strategy).toEqual(strategy);
  });

  test.each([
    ['Production, 2 replicas: zones are a hard rule', [withEnvironment('Production')], 'DoNotSchedule'],
    ['Production, 4 replicas: zones are a hard rule', [withEnvironment('Production'), withTier('Large')], 'DoNotSchedule'],
    ['QA, 1 replica: zones are a preference', [withEnvironment('QA')], 'ScheduleAnyway'],
    ['Development, 2 replicas: zones are a preference', [withEnvironment('Development'), withTier('Large')], 'ScheduleAnyway'],
  ] as const)('spreads across zones and hosts (%s)', (_name, modifiers, zoneRule) => {
    const [zone, host] = podSpec(aTenant('acme', ...modifiers)).topologySpreadConstraints;
    const common = { maxSkew: 1, labelSelector: { matchLabels: APP_SELECTOR }, matchLabelKeys: ['pod-template-hash'] };
    expect(zone).toEqual({
      ...common,
      topologyKey: 'topology.kubernetes.io/zone',
      whenUnsatisfiable: zoneRule,
      ...(zoneRule === 'DoNotSchedule' ? { nodeTaintsPolicy: 'Honor' } : {}),
    });
    expect(host).toEqual({ ...common, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'ScheduleAnyway' });
  });

  test.each([
    ['no secrets: no CSI volume (it would keep pods from starting without a SecretProviderClass)', [], false],
    ['an empty secrets list: no CSI volume', [withSecrets()], false],
    ['secrets listed: the Key Vault CSI volume, read-only at /mnt/secrets', [withSecrets('db-password', 'api-key')], true],
  ] as const)('%s', (_name, modifiers, mounted) => {
    const pod = podSpec(aTenant('acme', ...modifiers));
    const volume = pod.volumes.find((v) => v.name === 'secrets-store');
    const mount = pod.containers[0].volumeMounts.find((m: { name: string }) => m.name === 'secrets-store');
    if (!mounted) {
      expect(volume).toBeUndefined();
      expect(mount).toBeUndefined();
      return;
    }
    expect(volume).toEqual({
      name: 'secrets-store',
      csi: { driver: 'secrets-store.csi.k8s.io', readOnly: true, volumeAttributes: { secretProviderClass: 'tenant-secrets' } },
    });
    expect(mount).toEqual({ name: 'secrets-store', mountPath: '/mnt/secrets', readOnly: true });
  });
});

describe('the application’s database settings', () => {
  const LISTENER = 'fog-acme-prod-1a2b.database.windows.net';
  test.each([
    [
      'the failover group’s listener and the database name, as plain environment',
      { database: { host: LISTENER, name: 'sqldb-acme-prod' } },
      [
        { name: 'DATABASE_HOST', value: LISTENER },
        { name: 'DATABASE_NAME', value: 'sqldb-acme-prod' },
      ],
    ],
    ['none given (Kubernetes-only, or held for the window): no env at all, the template unchanged', {}, undefined],
  ] as const)('%s', (_name, options, env) => {
    const container = podSpec(aTenant('acme'), aConfig(), options).containers[0];
    expect(container.env).toEqual(env);
  });

  test('nothing secret, and no workload identity variables (the AKS webhook injects those)', () => {
    const vars = databaseEnv({ host: LISTENER, name: 'db' });
    expect(vars.every((v) => !/AZURE_|PASSWORD|SECRET|KEY|TOKEN/.test(v.name))).toBe(true);
    expect(vars.every((v) => !('valueFrom' in v))).toBe(true);
  });
});

describe('buildServiceAccount', () => {
  test.each([
    ['identity not created yet: no annotation', undefined, undefined],
    [
      'identity known: the client id annotation',
      '00000000-0000-0000-0000-000000000abc',
      { 'azure.workload.identity/client-id': '00000000-0000-0000-0000-000000000abc' },
    ],
  ])('%s', (_name, identityClientId, annotations) => {
    const sa = buildServiceAccount(aTenant(), aConfig(), identityClientId ? { identityClientId } : {});
    expect(sa.metadata.name).toBe('tenant-app');
    expect(sa.metadata.annotations).toEqual(annotations);
    expect(sa.automountServiceAccountToken).toBe(false);
  });
});

describe('buildService', () => {
  test('ClusterIP port 80 "http" to the application port, selecting the app pods', () => {
    expect(buildService(aTenant('acme', withPort(9000)), aConfig()).spec).toEqual({
      type: 'ClusterIP',
      selector: APP_SELECTOR,
      ports: [{ name: 'http', port: 80, targetPort: 9000, protocol: 'TCP' }],
    });
  });
});

describe('buildPodDisruptionBudget', () => {
  test.each([
    ['Production (2 replicas)', [withEnvironment('Production')]],
    ['Large Production (4 replicas)', [withEnvironment('Production'), withTier('Large')]],
    ['Development (1 replica): drains still proceed', [withEnvironment('Development')]],
  ] as const)('%s: one pod at a time, unhealthy pods always evictable', (_name, modifiers) => {
    expect(buildPodDisruptionBudget(aTenant('acme', ...modifiers), aConfig()).spec).toEqual({
      maxUnavailable: 1,
      selector: { matchLabels: APP_SELECTOR },
      unhealthyPodEvictionPolicy: 'AlwaysAllow',
    });
  });
});

describe('buildHorizontalPodAutoscaler', () => {
  test('no autoscaling configured (the default): no HPA, and the Deployment owns its replica count', () => {
    expect(buildHorizontalPodAutoscaler(aTenant(), aConfig())).toBeUndefined();
  });

  test.each([
    [
      'tier bounds, minReplicas from the tier table',
      'Medium',
      'Production',
      { maxReplicas: 10 },
      {},
      { min: 3, max: 10, cpu: 70 },
    ],
    [
      'tier bounds with explicit min and target',
      'Small',
      'QA',
      { minReplicas: 2, maxReplicas: 6, targetCpuUtilizationPercent: 60 },
      {},
      { min: 2, max: 6, cpu: 60 },
    ],
    [
      'Production never autoscales below 2',
      'Small',
      'Production',
      { minReplicas: 1, maxReplicas: 4 },
      {},
      { min: 2, max: 4, cpu: 70 },
    ],
    [
      'options override the tier',
      'Small',
      'QA',
      { maxReplicas: 4 },
      { autoscaling: { minReplicas: 3, maxReplicas: 9 } },
      { min: 3, max: 9, cpu: 70 },
    ],
    ['options turn it off', 'Small', 'QA', { maxReplicas: 4 }, { autoscaling: false }, undefined],
  ] as const)('%s', (_name, tier, env, bounds, options, expected) => {
    const tenant = aTenant('acme', withTier(tier), withEnvironment(env));
    const config = autoscalingConfig(tier, bounds);
    const hpa = buildHorizontalPodAutoscaler(tenant, config, options);
    if (!expected) {
      expect(hpa).toBeUndefined();
      return;
    }
    expect(hpa?.apiVersion).toBe('autoscaling/v2');
    expect(hpa?.spec).toEqual({
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'tenant-app' },
      minReplicas: expected.min,
      maxReplicas: expected.max,
      metrics: [
        { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: expected.cpu } } },
      ],
    });
    // The HPA owns the replica count: the Deployment must not set it, or every apply would undo a scaling decision.
    expect(deploymentSpec(tenant, config, options)).not.toHaveProperty('replicas');
  });

  test('a tenant that pins spec.application.replicas is never autoscaled', () => {
    const tenant = aTenant('acme', withTier('Medium'), withReplicas(3));
    const config = autoscalingConfig('Medium', { maxReplicas: 10 });
    expect(buildHorizontalPodAutoscaler(tenant, config)).toBeUndefined();
    expect(deploymentSpec(tenant, config).replicas).toBe(3);
  });
});

describe('buildWorkload', () => {
  test.each([
    ['Production', 'tenant-acme-prod', 'prod'],
    ['Development', 'tenant-acme-dev', 'dev'],
  ] as const)('every object lives in the %s namespace with the ownership labels', (env, namespace, short) => {
    const objects = buildWorkload(aTenant('acme', withEnvironment(env)), autoscalingConfig('Small', { maxReplicas: 4 }));
    expect(objects.map((o) => o.kind)).toEqual([
      'ServiceAccount',
      'Service',
      'PodDisruptionBudget',
      'Deployment',
      'HorizontalPodAutoscaler',
    ]);
    for (const o of objects) {
      expect(o.metadata.namespace).toBe(namespace);
      expect(o.metadata.name).toBe('tenant-app');
      expect(o.metadata.labels).toMatchObject({
        'app.kubernetes.io/managed-by': 'tenant-operator',
        'tenancy.dev/tenant': 'acme',
        'tenancy.dev/environment': short,
      });
    }
  });

  test('wire format only: no client-node field names such as _from or _default', () => {
    expect(JSON.stringify(buildWorkload(aTenant('acme', withSecrets('a')), aConfig()))).not.toMatch(/"_[a-z]/);
  });
});

describe('canonicalQuantity', () => {
  test.each([
    ['1000m', '1'],
    ['1500m', '1500m'],
    ['0.5', '500m'],
    ['.25', '250m'],
    ['2', '2'],
    ['1000', '1k'],
    ['1500', '1500'],
    ['12000', '12k'],
    ['100m', '100m'],
    ['0.1m', '100u'],
    ['1.0000000001', '1000000001n'],
    ['0', '0'],
    ['0Gi', '0'],
    ['512Mi', '512Mi'],
    ['2048Mi', '2Gi'],
    ['0.5Gi', '512Mi'],
    ['1.5Gi', '1536Mi'],
    ['1024', '1024'],
    ['1Ki', '1Ki'],
    ['0.5Ki', '512'],
    ['1.1Ki', '1126400m'],
    ['131072Ki', '128Mi'],
    ['1G', '1G'],
    ['1000M', '1G'],
    ['1e3', '1e3'],
    ['1000e0', '1e3'],
    ['1.5e3', '1500'],
  ])('%s -> %s', (input, expected) => {
    expect(canonicalQuantity(input)).toBe(expected);
  });

  test.each(['', 'abc', '1.2.3', '5 Gi', 'Mi'])('rejects "%s"', (input) => {
    expect(() => canonicalQuantity(input)).toThrow(/not a Kubernetes quantity/);
  });
});
