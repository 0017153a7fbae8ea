/**
 * Status of a Tenant: the conditions computed from what was observed, and the decision whether
 * it differs from what is stored (so a converged tenant costs no status write).
 */
import { setSummarizedConditions } from '../api/v1alpha1/conditions.ts';
import type { Tenant, TenantStatus } from '../api/v1alpha1/tenant.ts';
import { jsonEqual } from '../runtime/compare.ts';
import type { ConditionInput } from '../runtime/conditions.ts';

/** Builds the next status from component conditions; Ready, Stalled and Reconciling summarise them. */
export function nextTenantStatus(
  tenant: Tenant,
  components: ConditionInput[],
  fields: Omit<TenantStatus, 'conditions' | 'observedGeneration'>,
  now: Date,
  informational: ConditionInput[] = [],
): TenantStatus {
  const generation = tenant.metadata.generation;
  // Informational conditions (UpdatePending) are reported but do not make the tenant un-Ready.
  const conditions = setSummarizedConditions(tenant.status?.conditions, components, now, generation, informational);
  return { ...fields, observedGeneration: generation, conditions };
}

export function statusChanged(previous: TenantStatus | undefined, next: TenantStatus): boolean {
  return !jsonEqual(previous ?? {}, next);
}
