/**
 * Everything the operator keeps in a tenant's namespace, computed from the Tenant and the
 * operator configuration alone. Pure: no I/O, so it is the most tested code in the project.
 */
import type { Tenant } from '../api/v1alpha1/tenant.ts';
import type { OperatorConfig } from '../config.ts';
import type { PrivateEndpointAddresses } from '../context.ts';
import type { KubeObject } from '../runtime/kube-client.ts';
import { type AppliedSettings, buildNamespace } from './namespace.ts';
import { buildNetworkPolicies } from './network-policy.ts';
import { buildLimitRange, buildResourceQuota } from './quota.ts';

export interface TenantObjects {
  namespace: KubeObject;
  /** Namespaced objects, in the order they are applied. */
  namespaced: KubeObject[];
}

/**
 * `endpoints`: the tenant's private endpoints known so far (its egress allows exactly those);
 * `applied`: settings recorded on the namespace as what runs.
 */
export function buildTenantObjects(
  tenant: Tenant,
  config: OperatorConfig,
  endpoints?: PrivateEndpointAddresses,
  applied: AppliedSettings = {},
): TenantObjects {
  return {
    namespace: buildNamespace(tenant, config, applied),
    namespaced: [
      buildResourceQuota(tenant, config),
      buildLimitRange(tenant, config),
      ...buildNetworkPolicies(tenant, config, endpoints),
    ],
  };
}
