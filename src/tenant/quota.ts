/**
 * The tenant's ResourceQuota and LimitRange, sized by tier from the operator configuration.
 * The quota also forbids LoadBalancer and NodePort services: tenants are reached only through
 * the front door, never through a port of their own.
 */

import type { Tenant } from '../api/v1alpha1/tenant.ts';
import type { OperatorConfig } from '../config.ts';
import type { KubeObject } from '../runtime/kube-client.ts';
import { tenantLabels, tenantNamespaceName } from './labels.ts';

export const QUOTA_NAME = 'tenant-quota';
export const LIMIT_RANGE_NAME = 'tenant-limits';

export function buildResourceQuota(tenant: Tenant, config: OperatorConfig): KubeObject {
  const { quota } = config.tiers[tenant.spec.tier];
  return {
    apiVersion: 'v1',
    kind: 'ResourceQuota',
    metadata: {
      name: QUOTA_NAME,
      namespace: tenantNamespaceName(tenant.metadata.name, tenant.spec.environment, config),
      labels: tenantLabels(tenant.metadata.name, tenant.spec.environment),
    },
    spec: {
      hard: {
        'requests.cpu': quota.cpu,
        'limits.cpu': quota.cpu,
        'requests.memory': quota.memory,
        'limits.memory': quota.memory,
        pods: String(quota.pods),
        services: String(quota.services),
        persistentvolumeclaims: String(quota.persistentVolumeClaims),
        'services.loadbalancers': '0',
        'services.nodeports': '0',
      },
    },
  };
}

export function buildLimitRange(tenant: Tenant, config: OperatorConfig): KubeObject {
  const { container } = config.tiers[tenant.spec.tier];
  return {
    apiVersion: 'v1',
    kind: 'LimitRange',
    metadata: {
      name: LIMIT_RANGE_NAME,
      namespace: tenantNamespaceName(tenant.metadata.name, tenant.spec.environment, config),
      labels: tenantLabels(tenant.metadata.name, tenant.spec.environment),
    },
    spec: {
      limits: [
        {
          type: 'Container',
          default: { cpu: container.defaultCpu, memory: container.defaultMemory },
          defaultRequest: { cpu: container.defaultRequestCpu, memory: container.defaultRequestMemory },
          max: { cpu: container.maxCpu, memory: container.maxMemory },
        },
      ],
    },
  };
}
