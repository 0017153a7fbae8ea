/** Azure RBAC role assignments the operator grants on a tenant's resources, under deterministic names. */
import { TerminalError } from '../runtime/errors.ts';
import { type AzureContext, callOptions, getOrUndefined, statusCodeOf } from './arm.ts';
import { roleAssignmentName } from './names.ts';

/** Built-in role definition GUIDs (the same in every Azure tenant). */
export const BUILT_IN_ROLES = {
  /** Read secret contents: what the tenant's workload identity gets on its vault. */
  keyVaultSecretsUser: '4633458b-17de-408a-b874-0445c86b69e6',
  /** Get, wrap and unwrap keys: what a SQL server's identity needs for TDE with a customer key. */
  keyVaultCryptoServiceEncryptionUser: 'e147488a-f6f5-4113-8e2d-b22465e65bf6',
} as const;

export interface RoleAssignmentDesired {
  /** Resource id the role applies to (no trailing slash). */
  scope: string;
  /** Role definition GUID, e.g. `BUILT_IN_ROLES.keyVaultSecretsUser`. */
  role: string;
  principalId: string;
  principalType: 'ServicePrincipal' | 'Group' | 'User';
}

export interface RoleAssignmentObserved {
  name: string;
  roleDefinitionId: string;
  principalId: string;
}

export type RoleAssignmentField = 'roleDefinitionId' | 'principalId';

export function roleDefinitionId(subscriptionId: string, role: string): string {
  return `/subscriptions/${subscriptionId}/providers/Microsoft.Authorization/roleDefinitions/${role}`;
}

/** The SDK joins `/{scope}`: pass the scope without its leading slash. */
function scopeArg(scope: string): string {
  return scope.replace(/^\/+/, '');
}

/** The assignment's deterministic name (a GUID derived from scope, role and principal). */
export function assignmentName(desired: RoleAssignmentDesired): string {
  return roleAssignmentName(desired.scope, desired.role, desired.principalId);
}

export async function observeRoleAssignment(
  ctx: AzureContext,
  desired: RoleAssignmentDesired,
): Promise<RoleAssignmentObserved | undefined> {
  const name = assignmentName(desired);
  const ra = await getOrUndefined(() =>
    ctx.clients.authorization.roleAssignments.get(scopeArg(desired.scope), name, callOptions(ctx)),
  );
  if (ra === undefined) return undefined;
  return { name, roleDefinitionId: ra.roleDefinitionId ?? '', principalId: ra.principalId ?? '' };
}

/** Fields that differ. Pure; role ids compare by their GUID, case-insensitively. */
export function diffRoleAssignment(
  subscriptionId: string,
  desired: RoleAssignmentDesired,
  observed: RoleAssignmentObserved,
): RoleAssignmentField[] {
  const fields: RoleAssignmentField[] = [];
  const want = roleDefinitionId(subscriptionId, desired.role).toLowerCase();
  const have = observed.roleDefinitionId.toLowerCase();
  // ARM may return the role id subscription-scoped or tenant-scoped: the GUID is what matters.
  if (have !== want && !have.endsWith(`/roledefinitions/${desired.role.toLowerCase()}`)) fields.push('roleDefinitionId');
  if (observed.principalId.toLowerCase() !== desired.principalId.toLowerCase()) fields.push('principalId');
  return fields;
}

/**
 * Create the assignment when missing (PUT under its deterministic name); no call when present.
 * If the same grant already exists under another name (made by hand), ARM answers 409
 * `RoleAssignmentExists`: the access is there, which is all we want.
 */
export async function applyRoleAssignment(
  ctx: AzureContext,
  desired: RoleAssignmentDesired,
  observed: RoleAssignmentObserved | undefined,
): Promise<RoleAssignmentObserved> {
  if (observed !== undefined) {
    const fields = diffRoleAssignment(ctx.clients.subscriptionId, desired, observed);
    if (fields.length === 0) return observed;
    // Assignments are immutable and the name is derived from role and principal: a mismatch means
    // someone reused the name by hand. Do not delete access we did not grant.
    throw new TerminalError(
      'AzureRoleAssignmentConflict',
      `role assignment ${observed.name} on ${desired.scope} differs in ${fields.join(', ')}; it was not made by the operator`,
    );
  }
  const name = assignmentName(desired);
  const definition = roleDefinitionId(ctx.clients.subscriptionId, desired.role);
  try {
    await ctx.clients.authorization.roleAssignments.create(
      scopeArg(desired.scope),
      name,
      { roleDefinitionId: definition, principalId: desired.principalId, principalType: desired.principalType },
      callOptions(ctx),
    );
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (!(statusCodeOf(err) === 409 && code === 'RoleAssignmentExists')) throw err;
  }
  return { name, roleDefinitionId: definition, principalId: desired.principalId };
}
