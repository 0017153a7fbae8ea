/**
 * `Microsoft.Authorization/roleAssignmentScheduleRequests` (Privileged Identity Management for
 * Azure resources): a request that makes, or ends, a role assignment for a time window. With
 * `AdminAssign` and `scheduleInfo.expiration` Azure itself ends the assignment at `endDateTime`,
 * so the access expires even when nobody is left to remove it.
 *
 * A request is a one-shot record, not desired state: Azure refuses a second PUT under the same name
 * and never updates one. Its name is therefore derived from what it is for, so a retry after a
 * crash finds the request it already made instead of asking twice.
 */
import { createHash } from 'node:crypto';
import type { ResourceKind } from '../engine.ts';
import { props, str } from './common.ts';

/** What @azure/arm-authorization 9.0.0 sends for schedule requests. */
export const ROLE_ASSIGNMENT_SCHEDULE_API_VERSION = '2020-10-01';

export interface RoleAssignmentScheduleRequestParams {
  /** ARM id the role applies to. */
  scope: string;
  /** The request's name: a GUID. */
  name: string;
  requestType: 'AdminAssign' | 'AdminRemove';
  /** Full role definition id (`/subscriptions/.../roleDefinitions/<guid>`). */
  roleDefinitionId: string;
  principalId: string;
  /** AdminAssign only: the window, RFC 3339. */
  startDateTime?: string;
  endDateTime?: string;
  /** For Azure's activity log: who and why, without any text a person typed. */
  justification: string;
}

/** Statuses of a request that Azure carried out. */
const DONE = new Set(['provisioned', 'granted', 'schedulecreated', 'adminapproved', 'revoked']);
/** Statuses of a request Azure will never carry out. */
const REFUSED = new Set(['denied', 'failed', 'failedasresourceislocked', 'invalid', 'canceled', 'timedout', 'admindenied']);

/** The request's status as Azure reports it (`Provisioned`, `PendingApproval`, ...). */
export function scheduleRequestStatus(body: Record<string, unknown> | undefined): string | undefined {
  return body === undefined ? undefined : str(props(body).status);
}

export function isRefusedScheduleRequest(status: string | undefined): boolean {
  return status !== undefined && REFUSED.has(status.toLowerCase());
}

/** A name-based (version 5 style) GUID from `parts`: the same parts always give the same name. */
export function scheduleRequestName(...parts: string[]): string {
  const hex = createHash('sha256').update(parts.join('\u0000')).digest('hex');
  const variant = ((Number.parseInt(hex[16] ?? '0', 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

export const roleAssignmentScheduleRequestKind: ResourceKind<RoleAssignmentScheduleRequestParams> = {
  type: 'Microsoft.Authorization/roleAssignmentScheduleRequests',
  label: 'role assignment schedule request',
  apiVersion: ROLE_ASSIGNMENT_SCHEDULE_API_VERSION,
  id: (p) => `${p.scope.replace(/\/+$/, '')}/providers/Microsoft.Authorization/roleAssignmentScheduleRequests/${p.name}`,
  create: (p) => ({
    properties: {
      principalId: p.principalId,
      roleDefinitionId: p.roleDefinitionId,
      requestType: p.requestType,
      justification: p.justification,
      ...(p.requestType === 'AdminAssign'
        ? { scheduleInfo: { startDateTime: p.startDateTime, expiration: { type: 'AfterDateTime', endDateTime: p.endDateTime } } }
        : {}),
    },
  }),
  // A request is never updated: what it asked for is final (Azure refuses a second PUT).
  diff: () => [],
  state: () => undefined,
  ready: (observed) => DONE.has((scheduleRequestStatus(observed) ?? '').toLowerCase()),
};
