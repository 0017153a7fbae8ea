/** The tenant's namespace: labelled for ownership and held to Pod Security "restricted". */

import type { Tenant } from '../api/v1alpha1/tenant.ts';
import type { OperatorConfig } from '../config.ts';
import type { KubeObject } from '../runtime/kube-client.ts';
import { TIER_LABEL, tenantLabels, tenantNamespaceName } from './labels.ts';
import { nodeIsolation } from './node-pool.ts';

/** What the maintenance gate let run besides the spec's own fields (src/maintenance/tenant-settings.ts). */
export interface AppliedSettings {
  /** The database's zone redundancy; undefined when the operator does not manage Azure. */
  zoneRedundant?: boolean | undefined;
  /** The database the application is given (`host/name`, `''` none yet); undefined: not recorded. */
  database?: string | undefined;
}

export function buildNamespace(tenant: Tenant, config: OperatorConfig, applied: AppliedSettings = {}): KubeObject {
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
        ...(applied.zoneRedundant === undefined ? {} : { 'tenancy.dev/zone-redundant': String(applied.zoneRedundant) }),
        ...(applied.database === undefined ? {} : { 'tenancy.dev/database': applied.database }),
        // The applied isolation, read back by the maintenance gate like the tier and application.
        'tenancy.dev/isolation': nodeIsolation(spec),
      },
    },
  };
}
