/**
 * What the Prometheus Operator makes of a `Probe` with static targets: the scrape configuration it
 * writes into Prometheus' configuration. The Prometheus Operator cannot run here (no cluster with its
 * controller), so the uptime test gives a real Prometheus this translation of the operator's Probes
 * instead; test/unit/uptime/probe-scrape-config.test.ts holds it against the Prometheus Operator's
 * own expected output.
 *
 * Read from prometheus-operator/prometheus-operator v0.93.0 (commit 6adcebc5),
 * pkg/prometheus/promcfg.go `generateProbeConfig` (static targets) and `initRelabelings`, and its
 * golden file pkg/prometheus/testdata/ProbeStaticTargetsConfigGenerationWithJobName.golden. Left
 * out, because tenant Probes use none of it: scrape classes, limits, authorization, TLS, proxies,
 * `params` other than the module, relabelings of the Probe's own, enforced namespace labels, and
 * sharding (with one shard its hashmod relabelings keep every target).
 */

/** The fields of a monitoring.coreos.com/v1 Probe the translation reads. */
export interface ProbeObject {
  metadata: { name: string; namespace?: string | undefined };
  spec: {
    jobName?: string;
    interval?: string;
    scrapeTimeout?: string;
    module?: string;
    prober: { url: string; scheme?: string; path?: string };
    targets: { staticConfig: { static: string[]; labels?: Record<string, string> } };
  };
}

export interface RelabelConfig {
  source_labels?: string[];
  target_label: string;
  replacement?: string;
}

export interface ScrapeConfig {
  job_name: string;
  honor_timestamps: boolean;
  metrics_path: string;
  scrape_interval?: string;
  scrape_timeout?: string;
  scheme?: string;
  params?: Record<string, string[]>;
  static_configs: { targets: string[]; labels: Record<string, string> }[];
  relabel_configs: RelabelConfig[];
}

export function probeScrapeConfig(probe: ProbeObject): ScrapeConfig {
  const { metadata, spec } = probe;
  const namespace = metadata.namespace ?? 'default';
  const labels = { ...(spec.targets.staticConfig.labels ?? {}) };
  // The Probe's namespace labels every target, unless its static labels name one.
  if (!('namespace' in labels)) labels.namespace = namespace;
  return {
    job_name: `probe/${namespace}/${metadata.name}`,
    honor_timestamps: true,
    // The CRD defaults `prober.path` to /probe.
    metrics_path: spec.prober.path ?? '/probe',
    ...(spec.interval ? { scrape_interval: spec.interval } : {}),
    ...(spec.scrapeTimeout ? { scrape_timeout: spec.scrapeTimeout } : {}),
    ...(spec.prober.scheme ? { scheme: spec.prober.scheme.toLowerCase() } : {}),
    ...(spec.module ? { params: { module: [spec.module] } } : {}),
    static_configs: [{ targets: [...spec.targets.staticConfig.static], labels }],
    relabel_configs: [
      { source_labels: ['job'], target_label: '__tmp_prometheus_job_name' },
      ...(spec.jobName ? [{ target_label: 'job', replacement: spec.jobName }] : []),
      // The target URL becomes the blackbox exporter's `target` parameter and the `instance` label;
      // the scrape itself goes to the prober.
      { source_labels: ['__address__'], target_label: '__param_target' },
      { source_labels: ['__param_target'], target_label: 'instance' },
      { target_label: '__address__', replacement: spec.prober.url },
    ],
  };
}
