/**
 * The tenant's uptime Probe (src/uptime/probe.ts), the scrape configuration the Prometheus Operator
 * makes of it (the translation the real-Prometheus test relies on, held against the Prometheus
 * Operator's own expected output), and the scrape-time maintenance-window gauge (src/uptime/metrics.ts).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from '@jest/globals';
import { Registry } from 'prom-client';
import { parse as parseYaml } from 'yaml';
import type { Caches } from '../../../src/context.ts';
import type { KubeObject } from '../../../src/runtime/kube-client.ts';
import { buildWafCustomRules } from '../../../src/tenant/front-door.ts';
import { registerUptimeMetrics, tenantWindowOpen, WINDOW_OPEN_METRIC } from '../../../src/uptime/metrics.ts';
import { buildProbe, PROBE_NAME, UPTIME_JOB, uptimeTarget } from '../../../src/uptime/probe.ts';
import { aConfig, aTenant, type TenantModifier, withEnvironment } from '../../fixtures/tenant.ts';
import { type Crd, schemaProblems } from '../../fixtures/third-party/crds.ts';
import { REPO_ROOT } from '../../harness/control-plane.ts';
import { type ProbeObject, probeScrapeConfig } from '../../harness/probe-scrape-config.ts';

const withHealthPath =
  (path: string): TenantModifier =>
  (t) => {
    t.spec.application.healthPath = path;
  };

describe('buildProbe', () => {
  test.each([
    [
      'a Production tenant, defaults',
      'contoso',
      [withEnvironment('Production')],
      {},
      'tenant-contoso-prod',
      'https://contoso.example.com/healthz',
    ],
    ['a QA tenant', 'fabrikam', [withEnvironment('QA')], {}, 'tenant-fabrikam-qa', 'https://fabrikam.example.com/healthz'],
    [
      'its own health path',
      'acme',
      [withHealthPath('/status/ready')],
      {},
      'tenant-acme-dev',
      'https://acme.example.com/status/ready',
    ],
    ['another namespace prefix', 'acme', [], { namespacePrefix: 'saas-' }, 'saas-acme-dev', 'https://acme.example.com/healthz'],
  ])('%s', (_name, name, modifiers, overrides, namespace, target) => {
    const tenant = aTenant(name, ...modifiers);
    const probe = buildProbe(tenant, aConfig(overrides)) as KubeObject & ProbeObject;
    expect(probe).toMatchObject({
      apiVersion: 'monitoring.coreos.com/v1',
      kind: 'Probe',
      metadata: { name: PROBE_NAME, namespace },
    });
    expect(probe.spec).toEqual({
      jobName: UPTIME_JOB,
      interval: '30s',
      module: 'http_2xx',
      prober: { url: 'prometheus-blackbox-exporter.monitoring.svc:9115', scheme: 'http', path: '/probe' },
      targets: { staticConfig: { static: [target], labels: { tenant: name, environment: tenant.spec.environment } } },
    });
    expect(uptimeTarget(tenant)).toBe(target);
  });

  test('is valid for the Prometheus Operator’s own Probe CRD (nothing pruned, nothing refused)', () => {
    const dir = execFileSync('bash', [join(REPO_ROOT, 'hack', 'prometheus-operator-crds.sh')], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 120_000,
    }).trim();
    const crd = parseYaml(readFileSync(join(dir, 'monitoring.coreos.com_probes.yaml'), 'utf8')) as Crd;
    const version = crd.spec.versions.find((v) => v.name === 'v1' && v.served);
    expect([crd.spec.group, crd.spec.names.kind, crd.spec.scope, Boolean(version)]).toEqual([
      'monitoring.coreos.com',
      'Probe',
      'Namespaced',
      true,
    ]);
    const probe = buildProbe(
      aTenant('contoso', withEnvironment('Production')),
      aConfig({ uptime: { labels: { release: 'x' } } }),
    );
    expect(schemaProblems(version!.schema.openAPIV3Schema, probe)).toEqual([]);
    // The check can fail: a field the CRD lacks would be pruned.
    expect(
      schemaProblems(version!.schema.openAPIV3Schema, { ...probe, spec: { ...(probe.spec as object), jobname: 'x' } }),
    ).not.toEqual([]);
  });

  test('the configured prober, module, interval and labels; ownership labels cannot be overridden', () => {
    const config = aConfig({
      uptime: {
        prober: { url: 'blackbox.observability.svc:9115', scheme: 'https', path: '/blackbox/probe' },
        module: 'https_tls12',
        interval: '15s',
        labels: { release: 'kube-prometheus-stack', 'app.kubernetes.io/managed-by': 'someone-else' },
      },
    });
    const probe = buildProbe(aTenant('acme'), config) as KubeObject & ProbeObject;
    expect(probe.metadata.labels).toEqual({
      release: 'kube-prometheus-stack',
      'app.kubernetes.io/managed-by': 'tenant-operator',
      'tenancy.dev/tenant': 'acme',
      'tenancy.dev/environment': 'dev',
    });
    expect(probe.spec).toMatchObject({
      interval: '15s',
      module: 'https_tls12',
      prober: { url: 'blackbox.observability.svc:9115', scheme: 'https', path: '/blackbox/probe' },
    });
  });

  test.each([
    ['a URL with a scheme', { prober: { url: 'http://blackbox:9115' } }, 'uptime.prober.url'],
    ['an interval Prometheus cannot read', { interval: '1 minute' }, 'uptime.interval'],
  ])('the configuration refuses %s', (_name, uptime, field) => {
    expect(() => aConfig({ uptime })).toThrow(field);
  });
});

describe('the prober gets through the tenant’s WAF allow rules', () => {
  const restricted: TenantModifier = (t) => {
    t.spec.ingress.allowedSourceRanges = ['203.0.113.0/24'];
    t.spec.ingress.allowedCountries = ['NL'];
  };
  const prober = {
    matchVariables: [{ variableName: 'RemoteAddr' }],
    operator: 'IPMatch',
    negationConditon: true,
    matchValues: ['198.51.100.7/32'],
  };

  test.each([
    ['no prober addresses configured: the rules as they were', [], 1],
    ['prober addresses: a second condition on each block rule, so they are never blocked', ['198.51.100.7/32'], 2],
  ])('%s', (_name, cidrs, conditions) => {
    const rules = buildWafCustomRules(aTenant('acme', restricted), cidrs);
    expect(rules.map((r) => [r.name, r.action, r.matchConditions.length])).toEqual([
      ['BlockOutsideAllowedRanges', 'Block', conditions],
      ['BlockOutsideAllowedCountries', 'Block', conditions],
    ]);
    for (const r of rules) if (conditions === 2) expect(r.matchConditions[1]).toEqual(prober);
  });

  test('a tenant without restrictions gets no rule for the prober either', () => {
    expect(buildWafCustomRules(aTenant('acme'), ['198.51.100.7/32'])).toEqual([]);
  });
});

describe('probeScrapeConfig: the Prometheus Operator’s scrape configuration of a Probe', () => {
  test('TestProbeStaticTargetsConfigGenerationWithJobName (prometheus-operator v0.93.0), without sharding', () => {
    // The input and expected output of that Prometheus Operator test, its golden file written out.
    const probe: ProbeObject = {
      metadata: { name: 'testprobe1', namespace: 'default' },
      spec: {
        jobName: 'blackbox',
        prober: { scheme: 'http', url: 'blackbox.exporter.io', path: '/probe' },
        module: 'http_2xx',
        targets: { staticConfig: { static: ['prometheus.io', 'promcon.io'] } },
      },
    };
    expect(probeScrapeConfig(probe)).toEqual({
      job_name: 'probe/default/testprobe1',
      honor_timestamps: true,
      metrics_path: '/probe',
      scheme: 'http',
      params: { module: ['http_2xx'] },
      static_configs: [{ targets: ['prometheus.io', 'promcon.io'], labels: { namespace: 'default' } }],
      relabel_configs: [
        { source_labels: ['job'], target_label: '__tmp_prometheus_job_name' },
        { target_label: 'job', replacement: 'blackbox' },
        { source_labels: ['__address__'], target_label: '__param_target' },
        { source_labels: ['__param_target'], target_label: 'instance' },
        { target_label: '__address__', replacement: 'blackbox.exporter.io' },
      ],
    });
  });

  test('a tenant’s Probe: job tenant-uptime, the tenant’s labels and namespace on every sample, instance = its URL', () => {
    const tenant = aTenant('contoso', withEnvironment('Production'));
    const config = probeScrapeConfig(buildProbe(tenant, aConfig()) as unknown as ProbeObject);
    expect(config).toMatchObject({
      job_name: 'probe/tenant-contoso-prod/tenant-uptime',
      scrape_interval: '30s',
      params: { module: ['http_2xx'] },
      static_configs: [
        {
          targets: ['https://contoso.example.com/healthz'],
          labels: { tenant: 'contoso', environment: 'Production', namespace: 'tenant-contoso-prod' },
        },
      ],
    });
    expect(config.relabel_configs).toContainEqual({ target_label: 'job', replacement: UPTIME_JOB });
    expect(config.relabel_configs.at(-1)).toEqual({
      target_label: '__address__',
      replacement: 'prometheus-blackbox-exporter.monitoring.svc:9115',
    });
  });

  test.each([
    ['static labels that name a namespace keep it', { namespace: 'elsewhere' }, 'elsewhere'],
    ['no static labels: the Probe’s namespace', undefined, 'ns'],
  ])('%s', (_name, labels, namespace) => {
    const probe: ProbeObject = {
      metadata: { name: 'p', namespace: 'ns' },
      spec: { prober: { url: 'bb:9115' }, targets: { staticConfig: { static: ['https://x'], ...(labels ? { labels } : {}) } } },
    };
    const config = probeScrapeConfig(probe);
    expect(config.static_configs[0]?.labels.namespace).toBe(namespace);
    expect(config.metrics_path).toBe('/probe');
    expect(config).not.toHaveProperty('params');
  });
});

describe('the maintenance-window gauge', () => {
  const NOW = new Date('2026-11-25T02:30:00Z'); // a Wednesday, 03:30 in Amsterdam
  const window = (name: string, spec: Record<string, unknown>): KubeObject => ({
    apiVersion: 'tenancy.dev/v1alpha1',
    kind: 'MaintenanceWindow',
    metadata: { name },
    spec,
  });
  const windows = new Map<string, KubeObject>([
    [
      'default',
      window('default', {
        timeZone: 'Europe/Amsterdam',
        recurrences: [{ days: ['Wednesday'], start: '02:00', duration: '3h' }],
      }),
    ],
    [
      'sundays',
      window('sundays', { timeZone: 'Europe/Amsterdam', recurrences: [{ days: ['Sunday'], start: '02:00', duration: '3h' }] }),
    ],
    [
      'one-off',
      window('one-off', {
        timeZone: 'UTC',
        recurrences: [{ days: ['Sunday'], start: '02:00', duration: '1h' }],
        extraWindows: [{ start: '2026-11-25T02:29:00Z', duration: '2m' }],
      }),
    ],
    [
      'broken',
      window('broken', { timeZone: 'Mars/Olympus', recurrences: [{ days: ['Wednesday'], start: '02:00', duration: '3h' }] }),
    ],
  ]);
  const tenant = (name: string, spec: Record<string, unknown>): KubeObject => ({
    apiVersion: 'tenancy.dev/v1alpha1',
    kind: 'Tenant',
    metadata: { name },
    spec: { region: 'westeurope', ...spec },
  });
  const config = aConfig();

  test.each([
    ['the default window, open now', {}, true],
    ['its own window, closed now', { maintenanceWindowRef: { name: 'sundays' } }, false],
    ['a one-off extra window, open now', { maintenanceWindowRef: { name: 'one-off' } }, true],
    ['a window that does not exist: closed (only scheduled time is excluded)', { maintenanceWindowRef: { name: 'gone' } }, false],
    ['a window that cannot be read: closed', { maintenanceWindowRef: { name: 'broken' } }, false],
    // 02:30 UTC is 21:30 on Tuesday in New York, outside "Wednesday 02:00-05:00" local time.
    ['the default window in the region’s local time (eastus)', { region: 'eastus' }, false],
    ['a spec without a region (invalid): closed', { region: undefined }, false],
  ])('%s', (_name, spec, open) => {
    expect(tenantWindowOpen(tenant('t', spec), config, (n) => windows.get(n), NOW)).toBe(open);
  });

  test('is computed at scrape time from the caches and the clock, and only once they have synced', async () => {
    const registry = new Registry();
    let synced = false;
    let now = NOW;
    const tenants = [tenant('acme', {}), tenant('globex', { maintenanceWindowRef: { name: 'sundays' } })];
    const caches = {
      tenants: {
        get hasSynced() {
          return synced;
        },
        list: () => tenants,
      },
      maintenanceWindows: { hasSynced: true, get: (n: string) => windows.get(n) },
    } as unknown as Pick<Caches, 'tenants' | 'maintenanceWindows'>;
    registerUptimeMetrics(registry, caches, config, { now: () => now });

    const scrape = async () =>
      (await registry.getSingleMetricAsString(WINDOW_OPEN_METRIC)).split('\n').filter((l) => !l.startsWith('#'));
    expect(await scrape()).toEqual([]);
    synced = true;
    expect(await scrape()).toEqual([`${WINDOW_OPEN_METRIC}{tenant="acme"} 1`, `${WINDOW_OPEN_METRIC}{tenant="globex"} 0`]);
    now = new Date('2026-11-25T04:30:00Z'); // 05:30 in Amsterdam: closed
    expect(await scrape()).toEqual([`${WINDOW_OPEN_METRIC}{tenant="acme"} 0`, `${WINDOW_OPEN_METRIC}{tenant="globex"} 0`]);
    tenants.pop();
    expect(await scrape()).toEqual([`${WINDOW_OPEN_METRIC}{tenant="acme"} 0`]);
  });
});
