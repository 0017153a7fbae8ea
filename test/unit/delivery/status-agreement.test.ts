/**
 * Argo CD and Flux see the same truth: for every reason in the catalogue, and for the states a
 * Tenant goes through, the status the operator writes is judged by Argo CD's evaluation of
 * config/argocd's health.lua and by kstatus (cli-utils, what Flux uses), both through
 * bin/status-check, and the two must agree: Healthy-Current, Progressing-InProgress,
 * Degraded-Failed (and a deletion Progressing-Terminating).
 */
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from '@jest/globals';
import { REASONS, type Reason, type ReasonClass } from '../../../src/api/v1alpha1/conditions.ts';
import type { Tenant } from '../../../src/api/v1alpha1/tenant.ts';
import { decideDisruptiveChanges } from '../../../src/maintenance/gate.ts';
import { updatePendingCondition } from '../../../src/maintenance/tenant-maintenance.ts';
import type { ConditionInput } from '../../../src/runtime/conditions.ts';
import {
  aTenant,
  beingDeleted,
  type TenantModifier,
  withOperatorStatus,
  withSpecChangedSinceStatus,
} from '../../fixtures/tenant.ts';
import { REPO_ROOT } from '../../harness/control-plane.ts';
import { statusCheck, type Verdict } from './tools.ts';

const HEALTH_LUA = join(REPO_ROOT, 'config', 'argocd', 'resource_customizations', 'tenancy.dev', 'Tenant', 'health.lua');

type Expected = { argocd: 'Healthy' | 'Progressing' | 'Degraded'; kstatus: 'Current' | 'InProgress' | 'Failed' | 'Terminating' };
const HEALTHY: Expected = { argocd: 'Healthy', kstatus: 'Current' };
const PROGRESSING: Expected = { argocd: 'Progressing', kstatus: 'InProgress' };
const DEGRADED: Expected = { argocd: 'Degraded', kstatus: 'Failed' };
const BY_CLASS: Record<ReasonClass, Expected> = {
  ok: HEALTHY,
  progress: PROGRESSING,
  transient: PROGRESSING,
  spec: DEGRADED,
  platform: DEGRADED,
};

const ok = (type: string, reason: string): ConditionInput => ({ type, status: 'True', reason, message: `${type} is fine.` });
const settled = [ok('DataResidency', 'RegionAllowed'), ok('NamespaceReady', 'NamespaceActive'), ok('IngressReady', 'Configured')];

/** A Tenant whose DatabaseReady has this reason: True for an `ok` reason, False for any other. */
function databaseWith(reason: Reason): ConditionInput {
  return REASONS[reason].class === 'ok'
    ? ok('DatabaseReady', reason)
    : { type: 'DatabaseReady', status: 'False', reason, message: `The database is held: ${REASONS[reason].means}` };
}

// A version change held for the tenant's window, as the gate decides it on a Friday.
const held = updatePendingCondition(
  decideDisruptiveChanges({
    desired: { image: 'registry.example.com/app', version: '1.1.0', tier: 'Small' },
    running: { image: 'registry.example.com/app', version: '1.0.0', tier: 'Small' },
    schedule: { timeZone: 'Europe/Amsterdam', recurrences: [{ days: ['Wednesday'], start: '02:00', duration: '3h' }] },
    now: new Date('2026-06-05T10:00:00Z'),
  }),
);

// The same change held because the tenant's MaintenanceWindow does not exist: it can never land.
const heldForever = updatePendingCondition(
  decideDisruptiveChanges({
    desired: { image: 'registry.example.com/app', version: '1.1.0', tier: 'Small' },
    running: { image: 'registry.example.com/app', version: '1.0.0', tier: 'Small' },
    schedule: undefined,
    now: new Date('2026-06-05T10:00:00Z'),
  }),
);

interface Case {
  name: string;
  tenant: Tenant;
  expected: Expected;
  /** What Argo CD's message must say, when it matters. */
  message?: RegExp;
}
const tenantCase = (name: string, expected: Expected, modifiers: TenantModifier[], message?: RegExp): Case => ({
  name,
  tenant: aTenant('acme', ...modifiers),
  expected,
  ...(message ? { message } : {}),
});

const reasonCases: Case[] = (Object.keys(REASONS) as Reason[]).map((reason) =>
  tenantCase(
    `${reason} (${REASONS[reason].class})`,
    BY_CLASS[REASONS[reason].class],
    [withOperatorStatus([...settled, databaseWith(reason)])],
    // Degraded names the reason, so the README's table of reasons says what to do.
    REASONS[reason].class === 'spec' || REASONS[reason].class === 'platform' ? new RegExp(`\\(${reason}\\)$`) : undefined,
  ),
);

const stateCases: Case[] = [
  tenantCase('every component ready', HEALTHY, [withOperatorStatus(settled)], /^All components are ready\.$/),
  tenantCase(
    'a change held for its maintenance window (settled: what runs is ready)',
    HEALTHY,
    [withOperatorStatus(settled, [held])],
    /^UpdatePending: version 1\.0\.0 -> 1\.1\.0: held until the maintenance window opens/,
  ),
  tenantCase(
    'a change held for a MaintenanceWindow that does not exist (a person must act)',
    DEGRADED,
    [withOperatorStatus(settled, [heldForever])],
    /^UpdatePending: .*\(MaintenanceWindowNotFound\)$/,
  ),
  tenantCase(
    'a spec change the operator has not observed yet',
    PROGRESSING,
    [withOperatorStatus(settled), withSpecChangedSinceStatus],
    /generation 2/,
  ),
  tenantCase(
    'a spec change not observed, over a stalled status',
    PROGRESSING,
    [withOperatorStatus([...settled, databaseWith('AzureQuotaExceeded')]), withSpecChangedSinceStatus],
    /generation 2/,
  ),
  tenantCase(
    'a new tenant as the API server serves it (the CRD defaults status.observedGeneration to 0)',
    PROGRESSING,
    [
      (t) => {
        t.status = { observedGeneration: 0 };
      },
    ],
    /generation 1/,
  ),
  tenantCase(
    'a stalled component behind one in progress (the stalled one decides)',
    DEGRADED,
    [
      withOperatorStatus([
        ...settled,
        databaseWith('Provisioning'),
        { ...databaseWith('AzurePolicyDenied'), type: 'KeyVaultReady' },
      ]),
    ],
    /^KeyVaultReady: .*\(AzurePolicyDenied\)$/,
  ),
];

// Deletion: Argo CD answers before the script runs, kstatus says Terminating.
const deletion = tenantCase('a tenant being deleted', { argocd: 'Progressing', kstatus: 'Terminating' }, [
  withOperatorStatus([...settled, databaseWith('DeletingAzureResources')]),
  beingDeleted,
]);

const cases = [...reasonCases, ...stateCases, deletion];
let argocd: Verdict[] = [];
let kstatus: Verdict[] = [];
beforeAll(() => {
  const objects = cases.map((c) => c.tenant);
  argocd = statusCheck({ argocdHealth: HEALTH_LUA }, objects);
  kstatus = statusCheck('kstatus', objects);
});

function expectVerdicts(i: number) {
  const c = cases[i] as Case;
  expect({ argocd: argocd[i]?.status, kstatus: kstatus[i]?.status }).toEqual(c.expected);
  if (c.message) expect(argocd[i]?.message).toMatch(c.message);
  expect(argocd[i]?.error ?? kstatus[i]?.error).toBeUndefined();
}

test('the catalogue has reasons of every class, so each verdict below is exercised', () => {
  expect(new Set(Object.values(REASONS).map((r) => r.class))).toEqual(new Set(Object.keys(BY_CLASS)));
});

describe('a Tenant with one component at each reason of the catalogue', () => {
  test.each(reasonCases.map((c, i) => [c.name, i] as const))('%s', (_, i) => expectVerdicts(i));
});

describe('a Tenant through its states', () => {
  test.each(stateCases.map((c, i) => [c.name, reasonCases.length + i] as const))('%s', (_, i) => expectVerdicts(i));

  test('a tenant being deleted: Argo CD says "Pending deletion", kstatus Terminating', () => {
    expectVerdicts(cases.length - 1);
    expect(argocd[cases.length - 1]?.message).toBe('Pending deletion');
  });

  // Why the CRD defaults status: without it, kstatus calls a new object Current before the
  // operator has seen it (test/integration/delivery/status-checks.test.ts proves the API server
  // applies the default).
  test('without the CRD default, a tenant without status would be Current for kstatus', () => {
    const [verdict] = statusCheck('kstatus', [aTenant('bare')]);
    expect(verdict?.status).toBe('Current');
  });
});
