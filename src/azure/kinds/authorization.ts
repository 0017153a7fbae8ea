/** `Microsoft.Authorization/roleAssignments`: a role granted to a principal on a scope, under a deterministic name. */
import { createHash } from 'node:crypto';
import type { ResourceKind } from '../engine.ts';
import { props, str } from './common.ts';
import { sameId } from './compare.ts';

export const AUTHORIZATION_API_VERSION = '2022-04-01';

/** Built-in role definition GUIDs (the same in every Azure tenant). */
export const BUILT_IN_ROLES = {
  /** Read secret contents: what a workload identity gets on its vault. */
  keyVaultSecretsUser: '4633458b-17de-408a-b874-0445c86b69e6',
  /** Get, wrap and unwrap keys: what a SQL server's identity needs for TDE with a customer key. */
  keyVaultCryptoServiceEncryptionUser: 'e147488a-f6f5-4113-8e2d-b22465e65bf6',
} as const;

export interface RoleAssignmentParams {
  subscriptionId: string;
  /** Resource id the role applies to. */
  scope: string;
  /** Role definition GUID, e.g. `BUILT_IN_ROLES.keyVaultSecretsUser`. */
  role: string;
  principalId: string;
  principalType: 'ServicePrincipal' | 'Group' | 'User';
}

/**
 * A role assignment's name must be a GUID. Derive it from what the assignment is (scope, role,
 * principal), formatted as a name-based (version 5 style) UUID, so a retry or a restarted
 * operator PUTs the same assignment instead of creating a duplicate.
 */
export function roleAssignmentName(scope: string, roleDefinitionId: string, principalId: string): string {
  const hex = createHash('sha256')
    .update([scope.toLowerCase(), roleDefinitionId.toLowerCase(), principalId.toLowerCase()].join('\u0000'))
    .digest('hex');
  const variant = ((Number.parseInt(hex[16] ?? '0', 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

export function roleDefinitionId(subscriptionId: string, role: string): string {
  return `/subscriptions/${subscriptionId}/providers/Microsoft.Authorization/roleDefinitions/${role}`;
}

export const roleAssignmentKind: ResourceKind<RoleAssignmentParams> = {
  type: 'Microsoft.Authorization/roleAssignments',
  label: 'role assignment',
  apiVersion: AUTHORIZATION_API_VERSION,
  id: (p) =>
    `${p.scope.replace(/\/+$/, '')}/providers/Microsoft.Authorization/roleAssignments/${roleAssignmentName(p.scope, p.role, p.principalId)}`,
  create: (p) => ({
    properties: {
      roleDefinitionId: roleDefinitionId(p.subscriptionId, p.role),
      principalId: p.principalId,
      principalType: p.principalType,
    },
  }),
  diff: (p, observed) => {
    const o = props(observed);
    const fields: string[] = [];
    const have = (str(o.roleDefinitionId) ?? '').toLowerCase();
    // ARM may return the role id subscription-scoped or tenant-scoped: the GUID is what matters.
    if (!have.endsWith(`/roledefinitions/${p.role.toLowerCase()}`)) fields.push('roleDefinitionId');
    if (!sameId(str(o.principalId), p.principalId)) fields.push('principalId');
    return fields;
  },
  // Assignments are immutable and the name is derived from role and principal: a mismatch means
  // someone reused the name by hand. Never delete access the operator did not grant.
  state: () => undefined,
  // The same grant under another name (made by hand) is all we want.
  satisfiedBy: ['RoleAssignmentExists'],
};
