/**
 * The catalogue of condition types and reasons (src/api/v1alpha1/conditions.ts) is the single
 * source: no reason is written without an entry, no entry outlives its reason, the Azure error
 * classifier agrees with it, and the kstatus conditions follow from it.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from '@jest/globals';
import {
  CONDITION_TYPES,
  EVENT_REASONS,
  kstatusConditions,
  REASONS,
  type ReasonClass,
  reasonClass,
  setSummarizedConditions,
} from '../../../src/api/v1alpha1/conditions.ts';
import { ARM_ERROR_CODES } from '../../../src/azure/errors.ts';
import { REPO_ROOT } from '../../harness/control-plane.ts';

/**
 * CamelCase literals in src/ that are not reasons, by what they are. A new literal must be
 * catalogued or named here: the decision is made once, on purpose.
 */
const NOT_REASONS = {
  kinds: [
    'AccessRequest',
    'BackupPolicy',
    'ClusterRole',
    'CustomResourceDefinition',
    'HorizontalPodAutoscaler',
    'LimitRange',
    'MaintenanceWindow',
    'NetworkPolicy',
    'PodDisruptionBudget',
    'ResourceQuota',
    'RoleBinding',
    'SecretProviderClass',
    'ServiceAccount',
    'WebApplicationFirewallPolicy',
    'ExecCredential',
  ],
  errorClassNames: [
    'ProxyConfigError',
    'AbortError',
    'ConfigError',
    'FailureWithPendingWork',
    'KubeApiError',
    'KubeConfigError',
    'LeadershipLostError',
    'PlatformError',
    'SqlStatementError',
    'RestError',
    'RetryableError',
    'TerminalError',
    'TimeoutError',
  ],
  kubernetesEnums: [
    // A taint effect (src/tenant/node-pool.ts)
    'NoSchedule',
    'IfAvailable',
    'AlwaysAllow',
    'DoNotSchedule',
    'ProgressDeadlineExceeded',
    'RollingUpdate',
    'RuntimeDefault',
    'ScheduleAnyway',
    'RequestRedirect',
  ],
  azureEnumsAndCodes: [
    // AKS agent pool fields (src/azure/kinds/container-service.ts)
    'VirtualMachineScaleSets',
    'ActiveDirectory',
    'ActiveDurationTooShort',
    'AdminAssign',
    'AdminRemove',
    'AfterDateTime',
    'AsyncOperation',
    'AuditEvent',
    'AzureDiagnostics',
    'AutoClosed',
    'AzureKeyVault',
    'AzureServices',
    'BlockOutsideAllowedCountries',
    'BlockOutsideAllowedRanges',
    'BusinessCritical',
    'FailoverGroupBusy',
    'FailoverGroupFailoverRequestOnPrimary',
    'GeneralPurpose',
    'GeoMatch',
    'GeoZone',
    'InvalidDatabaseStateForOperation',
    'InProgress',
    'InvalidApiVersionParameter',
    'InvalidResourceNamespace',
    'InvalidResourceType',
    'MatchRule',
    'MissingSubscriptionRegistration',
    'NoRegisteredProviderFound',
    'OfflineChangingDwPerformanceTiers',
    'OnlineChangingDwPerformanceTiers',
    'OperationCanceled',
    'OperationExpired',
    'OperationFailed',
    'PointInTimeRestore',
    'RecoveryPending',
    'RegisteringDns',
    'RemoteAddr',
    'RoleAssignmentDoesNotExist',
    'RoleAssignmentExists',
    'ServicePrincipal',
    'SubscriptionNotFound',
    'SystemAssigned',
    'UserAssigned',
  ],
  internalStates: ['CleaningUp', 'NotFound', 'NotReady', 'FailingOver', 'FailingBack'],
};

const IGNORED = new Set(Object.values(NOT_REASONS).flat());

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
}

const SRC = sources(join(REPO_ROOT, 'src')).filter((p) => !p.endsWith(join('v1alpha1', 'conditions.ts')));
const TEXT = SRC.map((p) => readFileSync(p, 'utf8')).join('\n');
const known = (name: string) =>
  Object.hasOwn(REASONS, name) || Object.hasOwn(CONDITION_TYPES, name) || Object.hasOwn(EVENT_REASONS, name);

test('every multi-word CamelCase literal in src/ is a catalogued reason, condition type or event reason, or named as none', () => {
  const literals = new Set([...TEXT.matchAll(/'((?:[A-Z][a-z0-9]+){2,})'/g)].map((m) => m[1] as string));
  expect([...literals].filter((l) => !known(l) && !IGNORED.has(l)).sort()).toEqual([]);
});

test('every catalogued reason, condition type and event reason is still written somewhere in src/', () => {
  const names = [...Object.keys(REASONS), ...Object.keys(CONDITION_TYPES), ...Object.keys(EVENT_REASONS)];
  // Ready, Reconciling and Stalled are written by the catalogue itself.
  const summary = new Set(['Ready', 'Reconciling', 'Stalled', 'Current']);
  expect(names.filter((n) => !summary.has(n) && !TEXT.includes(`'${n}'`)).sort()).toEqual([]);
});

test('the names listed as not reasons are really used (the list does not rot)', () => {
  expect([...IGNORED].filter((n) => !TEXT.includes(`'${n}'`)).sort()).toEqual([]);
});

describe('the Azure error classifier agrees with the catalogue', () => {
  const expected: Record<'retryable' | 'terminal' | 'platform', ReasonClass[]> = {
    retryable: ['progress', 'transient'],
    terminal: ['spec'],
    platform: ['platform'],
  };
  test.each(
    Object.entries(ARM_ERROR_CODES).flatMap(([outcome, codes]) =>
      Object.entries(codes).map(([code, reason]) => [outcome, code, reason]),
    ),
  )('%s code %s -> %s', (outcome, _code, reason) => {
    expect(Object.hasOwn(REASONS, reason)).toBe(true);
    expect(expected[outcome as keyof typeof expected]).toContain(reasonClass(reason));
  });
});

describe('kstatusConditions', () => {
  const ok = { type: 'NamespaceReady', status: 'True' as const, reason: 'NamespaceActive', message: 'ok' };
  const cases: [
    string,
    { type: string; status: 'True' | 'False' | 'Unknown'; reason: string; message: string }[],
    string,
    string,
  ][] = [
    ['all True: neither', [ok], 'False', 'False'],
    [
      'a spec problem: Stalled',
      [ok, { type: 'DataResidency', status: 'False', reason: 'RegionNotAllowed', message: 'x' }],
      'True',
      'False',
    ],
    [
      'a platform problem: Stalled',
      [ok, { type: 'DatabaseReady', status: 'False', reason: 'AzureAuthorizationFailed', message: 'x' }],
      'True',
      'False',
    ],
    [
      'work under way: Reconciling',
      [ok, { type: 'DatabaseReady', status: 'False', reason: 'Provisioning', message: 'x' }],
      'False',
      'True',
    ],
    [
      'a transient error: Reconciling',
      [{ type: 'DatabaseReady', status: 'False', reason: 'AzureThrottled', message: 'x' }],
      'False',
      'True',
    ],
    [
      'Unknown while a rollout is observed: Reconciling',
      [{ type: 'ApplicationAvailable', status: 'Unknown', reason: 'RolloutPending', message: 'x' }],
      'False',
      'True',
    ],
    [
      'a stuck component wins over one in progress',
      [
        { type: 'DatabaseReady', status: 'False', reason: 'Provisioning', message: 'x' },
        { type: 'IngressReady', status: 'False', reason: 'FrontDoorApiMissing', message: 'x' },
      ],
      'True',
      'False',
    ],
    [
      'an uncatalogued reason counts as transient',
      [{ type: 'X', status: 'False', reason: 'SomethingNew', message: 'x' }],
      'False',
      'True',
    ],
  ];
  test.each(cases)('%s', (_name, components, stalled, reconciling) => {
    const [s, r] = kstatusConditions(components);
    expect([s.type, s.status, r.type, r.status]).toEqual(['Stalled', stalled, 'Reconciling', reconciling]);
    if (stalled === 'True')
      expect(s.reason).toBe(
        components.find((c) => c.status !== 'True' && ['spec', 'platform'].includes(reasonClass(c.reason)))?.reason,
      );
  });

  test.each([
    ['held for a window that will open: settled', 'WaitingForWindow', 'False'],
    ['held for a window that does not exist: a person must act', 'MaintenanceWindowNotFound', 'True'],
    ['held for a window that never opens again', 'NoUpcomingWindow', 'True'],
  ])('a held change, %s', (_name, reason, stalled) => {
    const [s, r] = kstatusConditions([ok], { type: 'UpdatePending', status: 'True', reason, message: 'version 1 -> 2' });
    expect([s.status, r.status]).toEqual([stalled, 'False']);
  });

  test('every status carries Ready, Stalled and Reconciling for the generation it was computed from', () => {
    const conditions = setSummarizedConditions([], [ok], new Date('2026-12-03T00:00:00Z'), 7);
    expect(conditions.map((c) => [c.type, c.status, c.observedGeneration])).toEqual([
      ['NamespaceReady', 'True', 7],
      ['Ready', 'True', 7],
      ['Stalled', 'False', 7],
      ['Reconciling', 'False', 7],
    ]);
  });

  test('an object whose only component is Ready keeps that Ready (BackupPolicy, MaintenanceWindow)', () => {
    const ready = { type: 'Ready', status: 'False' as const, reason: 'InvalidSchedule', message: 'bad' };
    const conditions = setSummarizedConditions([], [ready], new Date(), 2);
    expect(conditions.find((c) => c.type === 'Ready')).toMatchObject({ reason: 'InvalidSchedule', message: 'bad' });
    expect(conditions.find((c) => c.type === 'Stalled')).toMatchObject({ status: 'True', reason: 'InvalidSchedule' });
  });
});
