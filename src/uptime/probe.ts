/**
 * How a tenant's uptime is measured: one Prometheus Operator `Probe` (monitoring.coreos.com/v1) in
 * the tenant's namespace, which makes Prometheus ask the blackbox exporter to GET the tenant's
 * public URL — through DNS, the front door, its TLS and WAF, to the application's health path:
 * what a customer reaches, not a pod. Every result is a `probe_success` sample labelled
 * `job="tenant-uptime"`, `tenant` and `environment`, which the SLO rules
 * (config/prometheus/slo-rules.yaml) turn into availability and error budget. Pure.
 *
 * Why the blackbox exporter and not a prober inside the operator: the measurement must not depend
 * on the thing measured nor on the operator's own availability (an operator restart, a lost
 * lease, a stuck reconcile would otherwise read as customer downtime or, worse, as none), it runs
 * wherever the platform places it (outside the cluster sees what customers see), and its results
 * are ordinary Prometheus series that any Prometheus, Grafana or auditor can read.
 */
import type { Tenant } from '../api/v1alpha1/tenant.ts';
import type { OperatorConfig } from '../config.ts';
import type { KubeObject } from '../runtime/kube-client.ts';
import { tenantLabels, tenantNamespaceName } from '../tenant/labels.ts';

/** Name of the Probe in each tenant namespace. */
export const PROBE_NAME = 'tenant-uptime';
/** The `job` label of every probe result: the SLO rules select it. */
export const UPTIME_JOB = 'tenant-uptime';

/** The URL a tenant's uptime is measured at: its public host and the application's health path. */
export function uptimeTarget(tenant: Pick<Tenant, 'spec'>): string {
  return `https://${tenant.spec.ingress.host}${tenant.spec.application.healthPath}`;
}

/**
 * The tenant's Probe. The target's labels become labels of every sample (Prometheus Operator
 * turns `staticConfig.labels` into the static config's labels), so the SLO rules group by
 * `tenant` and page only for `environment="Production"`.
 */
export function buildProbe(tenant: Tenant, config: Pick<OperatorConfig, 'uptime' | 'namespacePrefix'>): KubeObject {
  const { uptime } = config;
  const name = tenant.metadata.name;
  return {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'Probe',
    metadata: {
      name: PROBE_NAME,
      namespace: tenantNamespaceName(name, tenant.spec.environment, config),
      // The configured labels (for Prometheus' probeSelector) cannot override ownership.
      labels: { ...uptime.labels, ...tenantLabels(name, tenant.spec.environment) },
    },
    spec: {
      jobName: UPTIME_JOB,
      interval: uptime.interval,
      module: uptime.module,
      prober: { url: uptime.prober.url, scheme: uptime.prober.scheme, path: uptime.prober.path },
      targets: {
        staticConfig: {
          static: [uptimeTarget(tenant)],
          labels: { tenant: name, environment: tenant.spec.environment },
        },
      },
    },
  };
}
