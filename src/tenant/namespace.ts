/** The tenant's namespace: labelled for ownership and held to Pod Security "restricted". */

import type { Tenant } from '../api/v1alpha1/tenant.ts';
import type { OperatorConfig } from '../config.ts';
import type { KubeObject } from '../runtime/kube-client.ts';
import { TIER_LABEL, tenantLabels, tenantNamespaceName } from './labels.ts';

export function buildNamespace(tenant: Tenant, config: OperatorConfig): KubeObject {
  const { spec } = tenant;
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: {
      name: tenantNamespaceName(tenant.metadata.name, spec.environment, config),
      labels: {
        ...tenantLabels(tenant.metadata.name, spec.environment),
        [TIER_LABEL]: spec.tier.toLowerCase(),
        'pod-security.kubernetes.io/enforce': 'restricted',
        'pod-security.kubernetes.io/enforce-version': 'latest',
        'pod-security.kubernetes.io/audit': 'restricted',
        'pod-security.kubernetes.io/warn': 'restricted',
      },
      annotations: {
        'tenancy.dev/display-name': spec.displayName,
        // The applied application, read back by the maintenance gate (src/maintenance/tenant-settings.ts).
        'tenancy.dev/application': `${spec.application.image}:${spec.application.version}`,
      },
    },
  };
}
