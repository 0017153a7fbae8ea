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

/**
 * Pure: what a status write changes, as paths only (`azure.verified`, `conditions.Ready`), never
 * values: for the debug line that explains every status write (a write nobody expected, after a
 * restart say, is found from it).
 */
export function changedStatusPaths(previous: TenantStatus | undefined, next: TenantStatus): string[] {
  const before = (previous ?? {}) as Record<string, unknown>;
  const after = next as Record<string, unknown>;
  const paths: string[] = [];
  for (const key of [...new Set([...Object.keys(before), ...Object.keys(after)])].sort()) {
    if (jsonEqual(before[key], after[key])) continue;
    if (key === 'conditions') {
      const byType = (list: unknown) => new Map(((list ?? []) as { type: string }[]).map((c) => [c.type, c]));
      const [a, b] = [byType(before[key]), byType(after[key])];
      for (const type of [...new Set([...a.keys(), ...b.keys()])].sort()) {
        if (!jsonEqual(a.get(type), b.get(type))) paths.push(`conditions.${type}`);
      }
    } else if (isPlainObject(before[key]) && isPlainObject(after[key])) {
      const [a, b] = [before[key] as Record<string, unknown>, after[key] as Record<string, unknown>];
      for (const sub of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
        if (!jsonEqual(a[sub], b[sub])) paths.push(`${key}.${sub}`);
      }
    } else {
      paths.push(key);
    }
  }
  return paths;
}

function isPlainObject(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
