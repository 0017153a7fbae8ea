/**
 * Privileged Identity Management for Azure resources, the slice the operator uses: time-bound
 * active role assignments made and ended through `roleAssignmentScheduleRequests` (api-version
 * 2020-10-01, `RoleAssignmentScheduleRequest.json` of Azure/azure-rest-api-specs).
 *
 * As Azure does it (see README.md "Privileged Identity Management" for the sources):
 * - a request is a one-shot record under a GUID name: a second PUT under the same name is refused,
 *   there is no update and no DELETE; it answers 201 with `status` (`Provisioned` when done);
 * - `AdminAssign` creates a `roleAssignmentSchedule` for the window and, while the window is open,
 *   the role assignment itself (`roleAssignments`, which is what grants access); the emulated clock
 *   ends both at `endDateTime`, whoever is or is not around;
 * - `AdminAssign` for a principal that already holds the role on the scope is `RoleAssignmentExists`;
 *   `AdminRemove` without one is `RoleAssignmentDoesNotExist`, and within five minutes of the start
 *   `ActiveDurationTooShort`;
 * - the role management policy's expiration rule refuses a window without an end, shorter than five
 *   minutes, or longer than `maxActiveAssignmentMs`: `RoleAssignmentRequestPolicyValidationFailed`.
 */
import { randomUUID } from 'node:crypto';
import { API_VERSIONS } from './api-versions.ts';
import { isIsoDuration, isoDurationMs } from './durations.ts';
import { asObject, asString, compact, type JsonObject } from './json.ts';
import {
  armError,
  BUILT_IN_ROLES,
  isGuid,
  type ResourceTypeSpec,
  type TypeContext,
  type WriteOutcome,
} from './resource-types.ts';
import {
  childrenOfType,
  getResource,
  putResource,
  removeResource,
  resourcesOfType,
  type Store,
  type StoredResource,
} from './store.ts';

export const SCHEDULE_REQUESTS = 'Microsoft.Authorization/roleAssignmentScheduleRequests';
export const SCHEDULES = 'Microsoft.Authorization/roleAssignmentSchedules';
const ROLE_ASSIGNMENTS = 'Microsoft.Authorization/roleAssignments';

/** Azure: an active assignment lasts at least five minutes and cannot be ended in its first five. */
export const PIM_MIN_ACTIVE_MS = 5 * 60_000;
/**
 * The longest active assignment the default role management policy allows. Our reading of the
 * default role settings for Azure resource roles ("expire active assignments after 6 months"); not
 * re-verified against a live tenant (README.md says so).
 */
export const PIM_MAX_ACTIVE_MS = 180 * 86_400_000;

/** The principal the emulator's bearer token stands for (`requestorId`). */
const REQUESTOR_ID = '00000000-0000-0000-0000-0000000000e1';

const REQUEST_TYPES = new Set([
  'AdminAssign',
  'AdminRemove',
  'AdminUpdate',
  'AdminExtend',
  'AdminRenew',
  'SelfActivate',
  'SelfDeactivate',
  'SelfExtend',
  'SelfRenew',
]);

function fail(status: number, code: string, message: string): WriteOutcome {
  return { ok: false, error: armError(status, code, message) };
}

function props(body: JsonObject): JsonObject {
  return asObject(body.properties);
}

function roleGuid(roleDefinitionId: string): string | undefined {
  return /\/providers\/Microsoft\.Authorization\/roleDefinitions\/([^/]+)$/i.exec(roleDefinitionId)?.[1]?.toLowerCase();
}

const same = (a: unknown, b: unknown) => typeof a === 'string' && typeof b === 'string' && a.toLowerCase() === b.toLowerCase();

/** The schedule of `principal` holding `role` on exactly `scope`, if any. */
function scheduleFor(store: Store, scope: string, role: string, principal: string): StoredResource | undefined {
  return childrenOfType(store, scope, SCHEDULES).find(
    (s) =>
      same(props(s.body).scope, scope) &&
      roleGuid(asString(props(s.body).roleDefinitionId) ?? '') === role &&
      same(props(s.body).principalId, principal),
  );
}

/** Ends a schedule: it and the role assignment it made go away. */
function endSchedule(store: Store, schedule: StoredResource): void {
  const assignment = asString(schedule.body._roleAssignmentId);
  if (assignment !== undefined) removeResource(store, assignment);
  removeResource(store, schedule.id);
}

/** The role assignment a schedule gives while its window is open (what actually grants access). */
function activate(store: Store, schedule: StoredResource, now: string): void {
  const p = props(schedule.body);
  const id = `${asString(p.scope)}/providers/Microsoft.Authorization/roleAssignments/${schedule.name}`;
  if (getResource(store, id) !== undefined) return;
  putResource(store, {
    id,
    type: ROLE_ASSIGNMENTS,
    name: schedule.name,
    state: 'Succeeded',
    operationId: undefined,
    body: {
      id,
      name: schedule.name,
      type: ROLE_ASSIGNMENTS,
      properties: {
        roleDefinitionId: p.roleDefinitionId,
        principalId: p.principalId,
        principalType: p.principalType,
        scope: p.scope,
        createdOn: now,
        updatedOn: now,
        createdBy: REQUESTOR_ID,
        updatedBy: REQUESTOR_ID,
      },
      _grantedAtMs: Date.now(),
    },
  });
  schedule.body._roleAssignmentId = id;
}

/**
 * What the emulated clock does to schedules (called on every request and clock move): a window
 * that has opened gets its role assignment, a window that has closed ends.
 */
export function advanceSchedules(store: Store, now: Date): void {
  for (const schedule of resourcesOfType(store, SCHEDULES)) {
    const p = props(schedule.body);
    const start = Date.parse(asString(p.startDateTime) ?? '');
    const end = Date.parse(asString(p.endDateTime) ?? '');
    if (!Number.isNaN(end) && end <= now.getTime()) endSchedule(store, schedule);
    else if (Number.isNaN(start) || start <= now.getTime()) activate(store, schedule, now.toISOString());
  }
}

/** The window an AdminAssign asks for, or the policy rule it breaks. */
function windowOf(info: JsonObject, now: Date): { start: Date; end: Date } | { rule: string } {
  const startText = asString(info.startDateTime);
  const start = startText === undefined ? now : new Date(startText);
  if (Number.isNaN(start.getTime())) return { rule: 'ExpirationRule' };
  const expiration = asObject(info.expiration);
  const type = asString(expiration.type);
  let end: Date;
  if (type === 'AfterDateTime') end = new Date(asString(expiration.endDateTime) ?? '');
  else if (type === 'AfterDuration') {
    const duration = asString(expiration.duration);
    if (duration === undefined || !isIsoDuration(duration)) return { rule: 'ExpirationRule' };
    end = new Date(start.getTime() + (isoDurationMs(duration) ?? 0));
  } else return { rule: 'ExpirationRule' };
  const length = end.getTime() - start.getTime();
  if (Number.isNaN(length) || length < PIM_MIN_ACTIVE_MS || length > PIM_MAX_ACTIVE_MS || end.getTime() <= now.getTime()) {
    return { rule: 'ExpirationRule' };
  }
  return { start, end };
}

const scheduleRequests: ResourceTypeSpec = {
  type: SCHEDULE_REQUESTS,
  apiVersions: [API_VERSIONS.authorizationSchedules],
  writes: { PUT: 'sync' },
  tracked: false,
  renderState: 'none',
  write(ctx: TypeContext, { target, body, existing }) {
    if (!isGuid(target.name)) {
      return fail(400, 'InvalidRoleAssignmentScheduleRequestName', `The request name '${target.name}' must be a GUID.`);
    }
    // A request is a record: Azure never updates one, and refuses its name a second time.
    if (existing !== undefined) {
      return fail(400, 'RoleAssignmentRequestExists', `A role assignment request with Id: ${target.name} already exists`);
    }
    const p = props(body);
    const requestType = asString(p.requestType) ?? '';
    if (!REQUEST_TYPES.has(requestType)) {
      return fail(400, 'InvalidRequestContent', `requestType '${requestType}' is not a RequestType.`);
    }
    if (requestType !== 'AdminAssign' && requestType !== 'AdminRemove') {
      return fail(400, 'UnsupportedRequestType', `The emulator models AdminAssign and AdminRemove only, not '${requestType}'.`);
    }
    const roleDefinitionId = asString(p.roleDefinitionId) ?? '';
    const role = roleGuid(roleDefinitionId);
    if (role === undefined || BUILT_IN_ROLES[role] === undefined) {
      return fail(400, 'RoleDefinitionDoesNotExist', `The specified role definition '${roleDefinitionId}' does not exist.`);
    }
    const principalId = p.principalId;
    if (!isGuid(principalId)) return fail(400, 'InvalidPrincipalId', 'A valid principal ID must be provided.');
    const scope = target.parentId;
    const now = ctx.clock.now();
    const existingSchedule = scheduleFor(ctx.store, scope, role, principalId);
    const scheduleName = randomUUID();
    let scheduleInfo: JsonObject | undefined;
    let onCommit: (() => void) | undefined;
    if (requestType === 'AdminAssign') {
      if (existingSchedule !== undefined) return fail(400, 'RoleAssignmentExists', 'The Role assignment already exists.');
      const window = windowOf(asObject(p.scheduleInfo), now);
      if ('rule' in window) {
        return fail(400, 'RoleAssignmentRequestPolicyValidationFailed', `The following policy rules failed: ["${window.rule}"]`);
      }
      scheduleInfo = {
        startDateTime: window.start.toISOString(),
        expiration: compact({
          type: asString(asObject(asObject(p.scheduleInfo).expiration).type),
          endDateTime: window.end.toISOString(),
          duration: asString(asObject(asObject(p.scheduleInfo).expiration).duration),
        }),
      };
      const scheduleId = `${scope}/providers/Microsoft.Authorization/roleAssignmentSchedules/${scheduleName}`;
      onCommit = () => {
        const schedule: StoredResource = {
          id: scheduleId,
          type: SCHEDULES,
          name: scheduleName,
          state: 'Succeeded',
          operationId: undefined,
          body: {
            id: scheduleId,
            name: scheduleName,
            type: SCHEDULES,
            properties: {
              scope,
              roleDefinitionId,
              principalId,
              principalType: 'User',
              roleAssignmentScheduleRequestId: target.id,
              assignmentType: 'Assigned',
              memberType: 'Direct',
              status: 'Provisioned',
              startDateTime: window.start.toISOString(),
              endDateTime: window.end.toISOString(),
              createdOn: now.toISOString(),
            },
          },
        };
        putResource(ctx.store, schedule);
        advanceSchedules(ctx.store, ctx.clock.now());
      };
    } else {
      if (existingSchedule === undefined) {
        return fail(400, 'RoleAssignmentDoesNotExist', 'The Role assignment does not exist.');
      }
      const started = Date.parse(asString(props(existingSchedule.body).startDateTime) ?? '');
      if (!Number.isNaN(started) && now.getTime() - started < PIM_MIN_ACTIVE_MS) {
        return fail(
          400,
          'ActiveDurationTooShort',
          'The role assignment cannot be removed within 5 minutes of its start; try again later.',
        );
      }
      onCommit = () => endSchedule(ctx.store, existingSchedule);
    }
    return {
      ok: true,
      body: {
        properties: compact({
          scope,
          roleDefinitionId,
          principalId,
          principalType: 'User',
          requestType,
          status: requestType === 'AdminAssign' ? 'Provisioned' : 'Revoked',
          targetRoleAssignmentScheduleId:
            requestType === 'AdminAssign'
              ? `${scope}/providers/Microsoft.Authorization/roleAssignmentSchedules/${scheduleName}`
              : existingSchedule?.id,
          scheduleInfo,
          justification: asString(p.justification),
          ticketInfo: p.ticketInfo,
          requestorId: REQUESTOR_ID,
          createdOn: now.toISOString(),
        }),
      },
      onCommit,
    };
  },
};

/** Read-only: what schedule requests made (GET by id, or the collection at a scope). */
const schedules: ResourceTypeSpec = {
  type: SCHEDULES,
  apiVersions: [API_VERSIONS.authorizationSchedules],
  writes: {},
  tracked: false,
  renderState: 'none',
  write: () => fail(405, 'MethodNotAllowed', 'Role assignment schedules are made by role assignment schedule requests.'),
};

export const PIM_TYPES: readonly ResourceTypeSpec[] = [scheduleRequests, schedules];
