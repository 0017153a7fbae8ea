/**
 * The kustomize layout under config/: `kubectl kustomize config/default` renders the operator with
 * the same objects and settings as the Helm chart's defaults, and config/prometheus renders the
 * ServiceMonitor and the alert rules.
 */
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from '@jest/globals';
import { parse as parseYaml } from 'yaml';
import type { KubeObject } from '../../../src/runtime/kube-client.ts';
import { readYamlObjects } from '../../harness/cluster-setup.ts';
import { REPO_ROOT } from '../../harness/control-plane.ts';
import { find, helmTemplate, parseObjects, run, scratch } from './tools.ts';

const { dir, helmEnv } = scratch('kustomize');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const kustomize = (path: string) => parseObjects(run('kubectl', ['kustomize', path]));
/** configMapGenerator appends a content hash to the name (that rolls the pods on a change). */
const HASH_SUFFIX = /-[a-z0-9]{10}$/;

/**
 * What must agree between the chart and kustomize: everything but labels and annotations (Helm
 * adds its own), the ConfigMap's hash suffix, and the configuration's formatting.
 */
function comparable(o: KubeObject): Record<string, unknown> {
  const copy = structuredClone(o) as KubeObject & { data?: Record<string, string>; spec?: any };
  const { labels: _l, annotations: _a, ...metadata } = copy.metadata;
  copy.metadata = { ...metadata, name: o.kind === 'ConfigMap' ? metadata.name.replace(HASH_SUFFIX, '') : metadata.name };
  if (copy.data?.['config.yaml']) copy.data['config.yaml'] = parseYaml(copy.data['config.yaml']);
  if (copy.data?.['tenant-operator-dashboard.json'])
    copy.data['tenant-operator-dashboard.json'] = JSON.parse(copy.data['tenant-operator-dashboard.json']);
  if (o.kind === 'Deployment') {
    delete copy.spec.template.metadata.annotations;
    for (const v of copy.spec.template.spec.volumes)
      if (v.configMap) v.configMap.name = v.configMap.name.replace(HASH_SUFFIX, '');
  }
  return copy;
}

describe('kubectl kustomize config/default', () => {
  const objects = kustomize('config/default');

  test('renders the CRDs of crds/, the RBAC of config/rbac, and the operator in its restricted namespace', () => {
    const crds = readdirSync(join(REPO_ROOT, 'crds')).flatMap((f) => readYamlObjects(join(REPO_ROOT, 'crds', f)));
    for (const crd of crds) expect(find(objects, 'CustomResourceDefinition', crd.metadata.name)).toEqual(crd);
    const rbac = join(REPO_ROOT, 'config', 'rbac');
    const { resources } = parseYaml(readFileSync(join(rbac, 'kustomization.yaml'), 'utf8')) as { resources: string[] };
    for (const o of resources.flatMap((f) => readYamlObjects(join(rbac, f))))
      expect(find(objects, o.kind, o.metadata.name)).toEqual(o);
    expect(find(objects, 'Namespace', 'tenant-operator-system').metadata.labels).toMatchObject({
      'pod-security.kubernetes.io/enforce': 'restricted',
    });
    const deployment = find<KubeObject & { spec: any }>(objects, 'Deployment', 'tenant-operator');
    expect(deployment.spec.template.spec.volumes[0].configMap.name).toMatch(/^tenant-operator-config-[a-z0-9]{10}$/);
  });

  test('holds the same objects, with the same content, as `helm template tenant-operator` with default values', () => {
    const chart = helmTemplate(dir, helmEnv, { includeCrds: true });
    const key = (o: KubeObject) =>
      `${o.kind}/${o.kind === 'ConfigMap' ? o.metadata.name.replace(HASH_SUFFIX, '') : o.metadata.name}`;
    // The namespace is Helm's to create (`--create-namespace`); kustomize declares it.
    expect(
      objects
        .filter((o) => o.kind !== 'Namespace')
        .map(key)
        .sort(),
    ).toEqual(chart.map(key).sort());
    for (const o of chart) {
      const twin = objects.find((k) => key(k) === key(o)) as KubeObject;
      expect(comparable(twin)).toEqual(comparable(o));
    }
  });
});

describe('kubectl kustomize config/prometheus', () => {
  const objects = kustomize('config/prometheus');

  test('scrapes the metrics Service of config/manager and carries the rule groups of alerts.yaml and slo-rules.yaml', () => {
    const service = find(kustomize('config/default'), 'Service', 'tenant-operator-metrics');
    const monitor = find<KubeObject & { spec: any }>(objects, 'ServiceMonitor');
    expect(service.metadata.labels).toMatchObject(monitor.spec.selector.matchLabels);
    expect(monitor.spec.endpoints[0].port).toBe((service as KubeObject & { spec: any }).spec.ports[0].name);
    const rule = find<KubeObject & { spec: unknown }>(objects, 'PrometheusRule', 'tenant-operator');
    expect(rule.spec).toEqual(parseYaml(readFileSync(join(REPO_ROOT, 'config', 'prometheus', 'alerts.yaml'), 'utf8')));
    const slo = find<KubeObject & { spec: unknown }>(objects, 'PrometheusRule', 'tenant-operator-slo');
    expect(slo.spec).toEqual(parseYaml(readFileSync(join(REPO_ROOT, 'config', 'prometheus', 'slo-rules.yaml'), 'utf8')));
  });
});
