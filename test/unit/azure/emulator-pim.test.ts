/**
 * The ARM emulator's Privileged Identity Management slice (hack/arm-emulator/pim.ts), without HTTP:
 * role assignment schedule requests behave as Azure's do, and the emulated clock ends a window
 * whether or not anyone asks.
 */
import { beforeEach, describe, expect, test } from '@jest/globals';
import { API_VERSIONS } from '../../../hack/arm-emulator/api-versions.ts';
import { createControllableClock } from '../../../hack/arm-emulator/clock.ts';
import { createEngine, type Engine, handleRequest, tick } from '../../../hack/arm-emulator/engine.ts';
import { realisticBehaviours } from '../../../hack/arm-emulator/index.ts';
import { createStore, resourcesOfType } from '../../../hack/arm-emulator/store.ts';

const SUB = '/subscriptions/s1';
const SCOPE = `${SUB}/resourceGroups/rg1`;
const READER = `${SUB}/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7`;
const PRINCIPAL = '0b5e6a8c-1d2f-4e3a-9b7c-6d5e4f3a2b1c';
const START = new Date('2026-12-01T10:00:00Z');
const V = API_VERSIONS.authorizationSchedules;
let guid = 0;
const nextName = () => `00000000-0000-4000-8000-${String(++guid).padStart(12, '0')}`;

let e: Engine;
beforeEach(() => {
  e = createEngine(
    createStore(),
    createControllableClock(START),
    {
      directoryTenantId: '11111111-1111-4111-8111-111111111111',
      locations: new Set(['westeurope']),
      strictPrincipals: true,
      subscriptions: new Set(['s1']),
      behaviours: realisticBehaviours(),
    },
    { lroDelayMs: 0, pollHoldMs: 0, timing: { profile: 'instant', timeFactor: 1 } },
  );
  handleRequest(e, {
    method: 'PUT',
    path: SCOPE,
    query: new URLSearchParams({ 'api-version': API_VERSIONS.resources }),
    body: { location: 'westeurope' },
    baseUrl: 'https://emu',
  });
});

function request(name: string, properties: Record<string, unknown>) {
  return handleRequest(e, {
    method: 'PUT',
    path: `${SCOPE}/providers/Microsoft.Authorization/roleAssignmentScheduleRequests/${name}`,
    query: new URLSearchParams({ 'api-version': V }),
    body: { properties: { principalId: PRINCIPAL, roleDefinitionId: READER, ...properties } },
    baseUrl: 'https://emu',
  });
}
const assign = (name: string, endDateTime: string, startDateTime = START.toISOString()) =>
  request(name, {
    requestType: 'AdminAssign',
    scheduleInfo: { startDateTime, expiration: { type: 'AfterDateTime', endDateTime } },
  });
const remove = (name: string) => request(name, { requestType: 'AdminRemove' });
const errorCode = (r: { body?: unknown }) => (r.body as { error?: { code?: string } }).error?.code;
const assignments = () => {
  tick(e);
  return resourcesOfType(e.store, 'Microsoft.Authorization/roleAssignments').map((r) => r.body.properties);
};
const schedules = () => {
  tick(e);
  return resourcesOfType(e.store, 'Microsoft.Authorization/roleAssignmentSchedules').map(
    (r) => r.body.properties as Record<string, unknown>,
  );
};

describe('AdminAssign', () => {
  test('answers 201 Provisioned, makes a schedule for the window and the role assignment itself', () => {
    const r = assign(nextName(), '2026-12-01T12:00:00Z');
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({
      properties: { status: 'Provisioned', requestType: 'AdminAssign', scope: SCOPE, principalType: 'User' },
    });
    expect(schedules()).toEqual([
      expect.objectContaining({ endDateTime: '2026-12-01T12:00:00.000Z', status: 'Provisioned', memberType: 'Direct' }),
    ]);
    expect(assignments()).toEqual([expect.objectContaining({ principalId: PRINCIPAL, roleDefinitionId: READER, scope: SCOPE })]);
  });

  test('the emulated clock ends the window: schedule and role assignment are gone, nobody asked', () => {
    assign(nextName(), '2026-12-01T12:00:00Z');
    e.clock.set(new Date('2026-12-01T11:59:59Z'));
    expect(assignments()).toHaveLength(1);
    e.clock.set(new Date('2026-12-01T12:00:00Z'));
    expect(assignments()).toEqual([]);
    expect(schedules()).toEqual([]);
  });

  test('a window that starts later gets its role assignment when it opens', () => {
    assign(nextName(), '2026-12-01T14:00:00Z', '2026-12-01T11:00:00Z');
    expect(schedules()).toHaveLength(1);
    expect(assignments()).toEqual([]);
    e.clock.set(new Date('2026-12-01T11:00:00Z'));
    expect(assignments()).toHaveLength(1);
  });

  test.each([
    [
      'no expiration',
      { requestType: 'AdminAssign', scheduleInfo: { startDateTime: START.toISOString(), expiration: { type: 'NoExpiration' } } },
    ],
    [
      'a window under five minutes',
      {
        requestType: 'AdminAssign',
        scheduleInfo: { startDateTime: START.toISOString(), expiration: { type: 'AfterDuration', duration: 'PT4M' } },
      },
    ],
    [
      'a window of a year',
      {
        requestType: 'AdminAssign',
        scheduleInfo: { startDateTime: START.toISOString(), expiration: { type: 'AfterDuration', duration: 'P365D' } },
      },
    ],
  ])('%s breaks the expiration rule of the role management policy', (_name, properties) => {
    const r = request(nextName(), properties);
    expect([r.status, errorCode(r)]).toEqual([400, 'RoleAssignmentRequestPolicyValidationFailed']);
  });

  test('a second PUT under the same name is refused: a request is a record, never updated', () => {
    const name = nextName();
    assign(name, '2026-12-01T12:00:00Z');
    const again = assign(name, '2026-12-01T12:00:00Z');
    expect([again.status, errorCode(again)]).toEqual([400, 'RoleAssignmentRequestExists']);
  });

  test('the same role for the same principal on the same scope twice is RoleAssignmentExists', () => {
    assign(nextName(), '2026-12-01T12:00:00Z');
    const r = assign(nextName(), '2026-12-01T13:00:00Z');
    expect([r.status, errorCode(r)]).toEqual([400, 'RoleAssignmentExists']);
  });

  test('a missing scope is 404', () => {
    const r = handleRequest(e, {
      method: 'PUT',
      path: `${SUB}/resourceGroups/nope/providers/Microsoft.Authorization/roleAssignmentScheduleRequests/${nextName()}`,
      query: new URLSearchParams({ 'api-version': V }),
      body: { properties: { principalId: PRINCIPAL, roleDefinitionId: READER, requestType: 'AdminAssign' } },
      baseUrl: 'https://emu',
    });
    expect(r.status).toBe(404);
  });
});

describe('AdminRemove', () => {
  test('within five minutes of the start: ActiveDurationTooShort; afterwards: Revoked and gone', () => {
    assign(nextName(), '2026-12-01T12:00:00Z');
    e.clock.set(new Date('2026-12-01T10:04:00Z'));
    const early = remove(nextName());
    expect([early.status, errorCode(early)]).toEqual([400, 'ActiveDurationTooShort']);
    expect(assignments()).toHaveLength(1);
    e.clock.set(new Date('2026-12-01T10:05:00Z'));
    const r = remove(nextName());
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ properties: { status: 'Revoked', requestType: 'AdminRemove' } });
    expect(assignments()).toEqual([]);
  });

  test('nothing to remove (Azure ended it already) is RoleAssignmentDoesNotExist', () => {
    assign(nextName(), '2026-12-01T12:00:00Z');
    e.clock.set(new Date('2026-12-01T12:00:00Z'));
    const r = remove(nextName());
    expect([r.status, errorCode(r)]).toEqual([400, 'RoleAssignmentDoesNotExist']);
  });
});

test('GET returns a request as it was made; schedules cannot be written directly', () => {
  const name = nextName();
  assign(name, '2026-12-01T12:00:00Z');
  const got = handleRequest(e, {
    method: 'GET',
    path: `${SCOPE}/providers/Microsoft.Authorization/roleAssignmentScheduleRequests/${name}`,
    query: new URLSearchParams({ 'api-version': V }),
    body: undefined,
    baseUrl: 'https://emu',
  });
  expect(got.body).toMatchObject({
    name,
    properties: { status: 'Provisioned', scheduleInfo: { expiration: { endDateTime: '2026-12-01T12:00:00.000Z' } } },
  });
  const put = handleRequest(e, {
    method: 'PUT',
    path: `${SCOPE}/providers/Microsoft.Authorization/roleAssignmentSchedules/${nextName()}`,
    query: new URLSearchParams({ 'api-version': V }),
    body: { properties: {} },
    baseUrl: 'https://emu',
  });
  expect(put.status).toBe(405);
});
