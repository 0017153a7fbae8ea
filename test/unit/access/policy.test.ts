/**
 * The access policy (src/access/policy.ts), pure: where a request stands at a given instant, and
 * whether its grant must exist. Named cases over fixture builders and a fixed clock.
 */
import { describe, expect, test } from '@jest/globals';
import {
  type AccessDecision,
  type AccessSettings,
  accessSettings,
  checkRequestPolicy,
  decideAccess,
  requeueDelayMs,
} from '../../../src/access/policy.ts';
import { parseConfig } from '../../../src/config.ts';
import {
  type AccessRequestModifier,
  anAccessRequest,
  approvedBy,
  CREATED,
  grantedAt,
  revokedBy,
  withSpec,
  withStatus,
} from '../../fixtures/access-request.ts';

const SETTINGS: AccessSettings = accessSettings(parseConfig({}));
const WITH_AZURE: AccessSettings = { ...SETTINGS, azureConfigured: true };
const at = (iso: string) => new Date(iso);
const PRINCIPAL = '0b5e6a8c-1d2f-4e3a-9b7c-6d5e4f3a2b1c';

type Expected = Partial<Pick<AccessDecision, 'phase' | 'grant' | 'grantedAt' | 'expiresAt'>> & {
  reason: string;
  wakeAt?: string;
};

const cases: [string, AccessRequestModifier[], string, Expected, AccessSettings?][] = [
  [
    'a new request waits for an approver until the pending timeout',
    [],
    '2026-12-01T10:00:00Z',
    { phase: 'Pending', grant: false, reason: 'AwaitingApproval', wakeAt: '2026-12-02T09:00:00.000Z' },
  ],
  [
    'a request nobody approved in 24h expires unapproved',
    [],
    '2026-12-02T09:00:00Z',
    { phase: 'Expired', grant: false, reason: 'AccessExpired' },
  ],
  [
    'an approved request is granted now, for its duration',
    [approvedBy('bob')],
    '2026-12-01T10:00:00Z',
    {
      phase: 'Active',
      grant: true,
      grantedAt: '2026-12-01T10:00:00Z',
      expiresAt: '2026-12-01T12:00:00Z',
      reason: 'AccessGranted',
      wakeAt: '2026-12-01T12:00:00.000Z',
    },
  ],
  [
    'an approval after the pending timeout (the operator was away) still counts: the clock starts at the grant',
    [approvedBy('bob')],
    '2026-12-03T10:00:00Z',
    {
      phase: 'Active',
      grant: true,
      grantedAt: '2026-12-03T10:00:00Z',
      expiresAt: '2026-12-03T12:00:00Z',
      reason: 'AccessGranted',
    },
  ],
  [
    'a granted request keeps its recorded window, whatever the spec says now',
    [approvedBy('bob'), grantedAt('2026-12-01T10:00:00Z', '2026-12-01T12:00:00Z'), withSpec({ duration: '8h' })],
    '2026-12-01T11:00:00Z',
    {
      phase: 'Active',
      grant: true,
      expiresAt: '2026-12-01T12:00:00Z',
      reason: 'AccessGranted',
      wakeAt: '2026-12-01T12:00:00.000Z',
    },
  ],
  [
    'at expiresAt the grant must go',
    [approvedBy('bob'), grantedAt('2026-12-01T10:00:00Z', '2026-12-01T12:00:00Z')],
    '2026-12-01T12:00:00Z',
    { phase: 'Expired', grant: false, reason: 'AccessExpired' },
  ],
  [
    'long after expiresAt (an operator down for days) the grant must go',
    [approvedBy('bob'), grantedAt('2026-12-01T10:00:00Z', '2026-12-01T12:00:00Z')],
    '2026-12-09T00:00:00Z',
    { phase: 'Expired', grant: false, reason: 'AccessExpired' },
  ],
  [
    'a revocation ends an active grant at once',
    [approvedBy('bob'), grantedAt('2026-12-01T10:00:00Z', '2026-12-01T12:00:00Z'), revokedBy('alice@contoso.example')],
    '2026-12-01T10:30:00Z',
    { phase: 'Revoked', grant: false, reason: 'AccessRevoked' },
  ],
  [
    'a withdrawn pending request is revoked, nothing granted',
    [revokedBy('alice@contoso.example')],
    '2026-12-01T10:00:00Z',
    { phase: 'Revoked', grant: false, reason: 'AccessRevoked' },
  ],
  [
    'a denial grants nothing',
    [approvedBy('bob', 'Denied')],
    '2026-12-01T10:00:00Z',
    { phase: 'Denied', grant: false, reason: 'AccessDenied' },
  ],
  [
    'a final phase stays final, even if an approval appears later',
    [withStatus({ phase: 'Expired' }), approvedBy('bob')],
    '2026-12-01T10:00:00Z',
    { phase: 'Expired', grant: false, reason: 'AccessExpired' },
  ],
  [
    'a self-approval that slipped past admission is a policy violation',
    [approvedBy('alice@contoso.example')],
    '2026-12-01T10:00:00Z',
    { phase: 'Denied', grant: false, reason: 'PolicyViolation' },
  ],
  [
    'a duration above the configured maximum is a policy violation',
    [withSpec({ duration: '9h' }), approvedBy('bob')],
    '2026-12-01T10:00:00Z',
    { phase: 'Denied', grant: false, reason: 'PolicyViolation' },
  ],
  [
    'a role the configuration does not define waits for the platform team',
    [withSpec({ role: 'cluster-admin' }), approvedBy('bob')],
    '2026-12-01T10:00:00Z',
    { phase: 'Approved', grant: false, reason: 'RoleNotConfigured' },
  ],
  [
    'a database role without Azure configured waits for the platform team',
    [withSpec({ role: 'database-read', azurePrincipalId: PRINCIPAL }), approvedBy('bob')],
    '2026-12-01T10:00:00Z',
    { phase: 'Approved', grant: false, reason: 'RoleNotConfigured' },
  ],
  [
    'a database role without a principal is a policy violation',
    [withSpec({ role: 'database-read' }), approvedBy('bob')],
    '2026-12-01T10:00:00Z',
    { phase: 'Denied', grant: false, reason: 'PolicyViolation' },
    WITH_AZURE,
  ],
  [
    'a database role with a principal and Azure is granted',
    [withSpec({ role: 'database-read', azurePrincipalId: PRINCIPAL }), approvedBy('bob')],
    '2026-12-01T10:00:00Z',
    { phase: 'Active', grant: true, expiresAt: '2026-12-01T12:00:00Z', reason: 'AccessGranted' },
    WITH_AZURE,
  ],
];

describe('decideAccess', () => {
  test.each(cases)('%s', (_name, modifiers, now, expected, settings = SETTINGS) => {
    const d = decideAccess(anAccessRequest(...modifiers), at(now), settings);
    const { reason, wakeAt, ...fields } = expected;
    expect(d).toMatchObject(fields);
    expect(d.ready.reason).toBe(reason);
    if (wakeAt !== undefined) expect(d.wakeAt?.toISOString()).toBe(wakeAt);
    if (!d.grant) expect(d.expiresAt).toBeUndefined();
  });

  test('the request was created at the fixture time', () => {
    expect(anAccessRequest().creationTimestamp).toBe(CREATED);
  });

  test('no edit, restart or resync moves a recorded expiry: deciding twice gives the same window', () => {
    const first = decideAccess(anAccessRequest(approvedBy('bob')), at('2026-12-01T10:00:00Z'), SETTINGS);
    const recorded = anAccessRequest(approvedBy('bob'), grantedAt(first.grantedAt as string, first.expiresAt as string));
    const later = decideAccess(recorded, at('2026-12-01T11:59:59Z'), SETTINGS);
    expect([later.grantedAt, later.expiresAt]).toEqual([first.grantedAt, first.expiresAt]);
  });
});

describe('checkRequestPolicy', () => {
  test.each([
    ['a valid request', anAccessRequest(approvedBy('bob')), undefined],
    ['a self-approval', anAccessRequest(approvedBy('alice@contoso.example')), 'PolicyViolation'],
    ['4m (below Azure’s five minutes)', anAccessRequest(withSpec({ duration: '4m' })), 'PolicyViolation'],
    ['exactly the maximum', anAccessRequest(withSpec({ duration: '8h' })), undefined],
    ['an unknown role', anAccessRequest(withSpec({ role: 'root' })), 'RoleNotConfigured'],
  ])('%s', (_name, request, reason) => {
    expect(checkRequestPolicy(request.spec, SETTINGS)?.reason).toBe(reason);
  });
});

describe('requeueDelayMs', () => {
  test.each([
    ['no wake-up: no requeue', undefined, undefined],
    ['an expiry in 90 minutes: then', '2026-12-01T11:30:00Z', 90 * 60_000],
    ['an expiry already past: in a second', '2026-12-01T09:00:00Z', 1000],
    ['an expiry in two days: six hours (clocks move; resyncs catch up)', '2026-12-03T10:00:00Z', 6 * 3600_000],
  ])('%s', (_name, wakeAt, expected) => {
    expect(requeueDelayMs(wakeAt === undefined ? undefined : at(wakeAt), at('2026-12-01T10:00:00Z'))).toBe(expected);
  });
});
