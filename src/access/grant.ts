/**
 * What an approved AccessRequest grants, pure: the RoleBinding in the tenant's namespace, or the
 * time-bound Azure role assignment on the tenant's database. Computed once, recorded in the
 * request's status before anything is granted, and removed from that record.
 */
import type { AccessGrantRecord, AccessRequestSpec } from '../api/v1alpha1/access-request.ts';
import type { Environment } from '../api/v1alpha1/tenant.ts';
import { roleDefinitionId } from '../azure/kinds/authorization.ts';
import { type RoleAssignmentScheduleRequestParams, scheduleRequestName } from '../azure/kinds/role-assignment-schedule.ts';
import type { AccessRole, OperatorConfig } from '../config.ts';
import type { KubeObject } from '../runtime/kube-client.ts';
import { sharedServerOf, tenantAzureIds } from '../tenant/azure.ts';
import { tenantAzureNames } from '../tenant/azure-names.ts';
import { MANAGED_BY, MANAGED_BY_LABEL, TENANT_LABEL, tenantNamespaceName } from '../tenant/labels.ts';
import type { SqlPlacement } from '../tenant/placement.ts';

/** On every grant: the AccessRequest it belongs to (how grants are found, orphans included). */
export const ACCESS_REQUEST_LABEL = 'tenancy.dev/access-request';
/** On every RoleBinding grant: when it must be gone, for whoever reads it without the request. */
export const EXPIRES_AT_ANNOTATION = 'tenancy.dev/expires-at';
/** Keeps a granted request until its grant is removed, even when someone deletes it. */
export const ACCESS_FINALIZER = 'tenancy.dev/access-grant';

/** `access-<request>`: one RoleBinding per request, so two requests never share (or remove) one grant. */
export function accessRoleBindingName(request: string): string {
  return `access-${request}`;
}

/** What the tenant looks like to the grant builders. */
export interface TenantRef {
  name: string;
  environment: Environment;
  /** Where its database lives (status.placement); absent: its own server in `azure.subscriptionId`. */
  placement?: SqlPlacement | undefined;
}

/**
 * Exactly what `role` grants for this request, to be recorded before it is granted. `uid` makes the
 * Azure request names unique to this AccessRequest (a new request of the same name gets new ones).
 */
export function plannedGrant(
  request: { name: string; uid: string; spec: AccessRequestSpec },
  role: AccessRole,
  tenant: TenantRef,
  config: Pick<OperatorConfig, 'namespacePrefix' | 'azure'>,
): AccessGrantRecord {
  if (role.kind === 'Namespace') {
    return {
      roleBinding: {
        namespace: tenantNamespaceName(tenant.name, tenant.environment, config),
        name: accessRoleBindingName(request.name),
        clusterRole: role.clusterRole,
      },
    };
  }
  const azure = config.azure;
  if (azure === undefined) throw new Error('a Database role needs the azure configuration');
  if (request.spec.azurePrincipalId === undefined) throw new Error('a Database role needs spec.azurePrincipalId');
  const names = tenantAzureNames(
    tenant.name,
    tenant.environment.toLowerCase(),
    azure.nameSalt === undefined ? {} : { salt: azure.nameSalt },
  );
  const subscriptionId = tenant.placement?.subscriptionId ?? azure.subscriptionId;
  return {
    azure: {
      scope: tenantAzureIds(subscriptionId, names, sharedServerOf(tenant.placement)).database,
      roleDefinitionId: roleDefinitionId(subscriptionId, role.azureRoleDefinitionId),
      principalId: request.spec.azurePrincipalId.toLowerCase(),
      assignRequest: scheduleRequestName(request.uid, 'assign'),
      removeRequest: scheduleRequestName(request.uid, 'remove'),
    },
  };
}

/** The RoleBinding of a namespace grant: the requester, as a User, bound to the role's ClusterRole. */
export function buildAccessRoleBinding(
  request: { name: string; spec: AccessRequestSpec },
  grant: NonNullable<AccessGrantRecord['roleBinding']>,
  expiresAt: string,
): KubeObject {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: {
      name: grant.name,
      namespace: grant.namespace,
      labels: {
        [MANAGED_BY_LABEL]: MANAGED_BY,
        [TENANT_LABEL]: request.spec.tenant,
        [ACCESS_REQUEST_LABEL]: request.name,
      },
      annotations: { [EXPIRES_AT_ANNOTATION]: expiresAt },
    },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: grant.clusterRole },
    subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: request.spec.requester }],
  };
}

/** The justification Azure's activity log shows: which request and who approved it, never typed-in text. */
function justification(request: { name: string; spec: AccessRequestSpec }, action: string): string {
  return `tenant-operator ${action} for AccessRequest ${request.name} (${request.spec.role} on tenant ${request.spec.tenant}, requested by ${request.spec.requester}, approved by ${request.spec.approval?.approver ?? 'nobody'})`;
}

/** The AdminAssign request: the role on the database from `grantedAt` to `expiresAt`, ended by Azure. */
export function assignRequest(
  request: { name: string; spec: AccessRequestSpec },
  grant: NonNullable<AccessGrantRecord['azure']>,
  grantedAt: string,
  expiresAt: string,
): RoleAssignmentScheduleRequestParams {
  return {
    scope: grant.scope,
    name: grant.assignRequest,
    requestType: 'AdminAssign',
    roleDefinitionId: grant.roleDefinitionId,
    principalId: grant.principalId,
    startDateTime: grantedAt,
    endDateTime: expiresAt,
    justification: justification(request, 'grants time-limited access'),
  };
}

/** The AdminRemove request: ends the assignment before Azure would (revocation, or a clock ahead of Azure's). */
export function removeRequest(
  request: { name: string; spec: AccessRequestSpec },
  grant: NonNullable<AccessGrantRecord['azure']>,
): RoleAssignmentScheduleRequestParams {
  return {
    scope: grant.scope,
    name: grant.removeRequest,
    requestType: 'AdminRemove',
    roleDefinitionId: grant.roleDefinitionId,
    principalId: grant.principalId,
    justification: justification(request, 'ends access'),
  };
}
