/** Names and labels the operator puts on everything it creates for a tenant. */
import type { Environment } from '../api/v1alpha1/tenant.ts';
import type { OperatorConfig } from '../config.ts';

export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY = 'tenant-operator';
export const TENANT_LABEL = 'tenancy.dev/tenant';
export const ENVIRONMENT_LABEL = 'tenancy.dev/environment';
export const TIER_LABEL = 'tenancy.dev/tier';
export const ORPHANED_LABEL = 'tenancy.dev/orphaned';
export const FINALIZER = 'tenancy.dev/cleanup';
/** Label selector of every object the operator owns. */
export const MANAGED_SELECTOR = `${MANAGED_BY_LABEL}=${MANAGED_BY}`;

const ENVIRONMENT_SHORT: Record<Environment, string> = { Production: 'prod', QA: 'qa', Development: 'dev' };

/** `<prefix><tenant>-<env>`, e.g. `tenant-acme-prod`: at most 12 + 40 + 5 characters, a DNS label. */
export function tenantNamespaceName(
  tenantName: string,
  environment: Environment,
  config: Pick<OperatorConfig, 'namespacePrefix'>,
): string {
  return `${config.namespacePrefix}${tenantName}-${ENVIRONMENT_SHORT[environment]}`;
}

export function tenantLabels(tenantName: string, environment: Environment): Record<string, string> {
  return {
    [MANAGED_BY_LABEL]: MANAGED_BY,
    [TENANT_LABEL]: tenantName,
    [ENVIRONMENT_LABEL]: ENVIRONMENT_SHORT[environment],
  };
}
