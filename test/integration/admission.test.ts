/**
 * Bad input is refused at admission by the CRD schema and its CEL rules, each with a message a
 * person can act on. Nothing here needs the operator: the API server alone enforces it.
 */
import { beforeAll, describe, expect, test } from '@jest/globals';
import { KubeApiError, type KubeClient, type KubeObject } from '../../src/runtime/kube-client.ts';
import { adminClient, sharedControlPlane, tenant, typeOf } from '../harness/fixtures.ts';

let admin: KubeClient;
beforeAll(() => {
  admin = adminClient(sharedControlPlane().adminKubeconfig);
});

type Mutation = (t: KubeObject & { spec: Record<string, any> }) => void;

async function rejection(obj: KubeObject): Promise<string> {
  try {
    await admin.request('POST', '/apis/tenancy.dev/v1alpha1/tenants', { body: obj });
  } catch (err) {
    if (err instanceof KubeApiError) {
      expect(err.code).toBe(422);
      return err.message;
    }
    throw err;
  }
  throw new Error(`${obj.metadata.name} was admitted`);
}

const cases: [string, Mutation, string | RegExp][] = [
  [
    'an unknown tier',
    (t) => {
      t.spec.tier = 'Huge';
    },
    'spec.tier: Unsupported value: "Huge"',
  ],
  [
    'an unknown environment',
    (t) => {
      t.spec.environment = 'Staging';
    },
    'spec.environment: Unsupported value: "Staging"',
  ],
  [
    'a region that is not an Azure region name',
    (t) => {
      t.spec.region = 'West Europe';
    },
    /spec.region: Invalid value: "West Europe"/,
  ],
  [
    'a missing displayName',
    (t) => {
      delete t.spec.displayName;
    },
    'spec.displayName: Required value',
  ],
  [
    'an invalid host',
    (t) => {
      t.spec.ingress.host = 'not a host!';
    },
    /spec.ingress.host: Invalid value: "not a host!"/,
  ],
  [
    'a CIDR that does not parse',
    (t) => {
      t.spec.ingress.allowedSourceRanges = ['10.0.0.0/33'];
    },
    'must be a valid CIDR such as 203.0.113.0/24',
  ],
  [
    'an unknown country code',
    (t) => {
      t.spec.ingress.allowedCountries = ['XX'];
    },
    'spec.ingress.allowedCountries[0]: Unsupported value: "XX"',
  ],
  [
    'a version tag with spaces',
    (t) => {
      t.spec.application.version = '1.0 beta';
    },
    /spec.application.version: Invalid value: "1.0 beta"/,
  ],
  [
    'one replica in Production',
    (t) => {
      t.spec.environment = 'Production';
      t.spec.application.replicas = 1;
    },
    'Production tenants need at least 2 application replicas',
  ],
  [
    '"latest" in Production',
    (t) => {
      t.spec.environment = 'Production';
      t.spec.application.version = 'latest';
    },
    'Production tenants must pin an application version',
  ],
  [
    'an unknown deletionPolicy',
    (t) => {
      t.spec.deletionPolicy = 'Purge';
    },
    'spec.deletionPolicy: Unsupported value: "Purge"',
  ],
  [
    'a name too long for a namespace',
    (t) => {
      t.metadata.name = 'a'.repeat(41);
    },
    'Tenant names are DNS labels of at most 40 characters',
  ],
];

describe('a Tenant is rejected at admission for', () => {
  test.each(cases)('%s', async (_name, mutate, expected) => {
    const obj = tenant(`bad-${Math.random().toString(36).slice(2, 8)}`) as KubeObject & { spec: Record<string, any> };
    mutate(obj);
    const message = await rejection(obj);
    if (typeof expected === 'string') expect(message).toContain(expected);
    else expect(message).toMatch(expected);
  });
});

describe('immutable fields', () => {
  test.each([
    ['region', { region: 'northeurope' }, 'region is immutable (data residency)'],
    ['environment', { environment: 'QA' }, 'environment is immutable'],
  ])('%s cannot change once set', async (_field, change, message) => {
    const name = `immutable-${_field}`;
    await admin.apply(typeOf('Tenant'), tenant(name), 'test');
    const updated = tenant(name, change as object);
    await expect(admin.apply(typeOf('Tenant'), updated, 'test')).rejects.toThrow(message);
  });
});

describe('BackupPolicy and MaintenanceWindow', () => {
  const KIND: Record<string, string> = { backuppolicies: 'BackupPolicy', maintenancewindows: 'MaintenanceWindow' };
  const post = (plural: string, spec: object) =>
    admin.request('POST', `/apis/tenancy.dev/v1alpha1/${plural}`, {
      body: { apiVersion: 'tenancy.dev/v1alpha1', kind: KIND[plural], metadata: { generateName: 'bad-' }, spec },
    });

  test.each([
    ['retention beyond 35 days', { pointInTimeRetentionDays: 60 }, 'should be less than or equal to 35'],
    ['a differential interval of 6 hours', { differentialBackupIntervalHours: 6 }, 'Unsupported value: 6'],
    [
      'yearly retention without a week',
      { longTermRetention: { yearly: 'P5Y' } },
      'weekOfYear is required when yearly retention is set',
    ],
    ['an RPO in the wrong notation', { rpo: 'two hours' }, 'spec.rpo: Invalid value'],
  ])('a BackupPolicy with %s is rejected', async (_n, spec, message) => {
    await expect(post('backuppolicies', { ...spec })).rejects.toThrow(message);
  });

  test.each([
    ['a UTC offset as time zone', { timeZone: 'UTC+2' }, 'use an IANA zone name such as Europe/London, not a UTC offset'],
    [
      'a start time of 25:00',
      { recurrences: [{ days: ['Wednesday'], start: '25:00', duration: '3h' }] },
      'spec.recurrences[0].start: Invalid value',
    ],
    ['no days', { recurrences: [{ days: [], start: '02:00', duration: '3h' }] }, 'spec.recurrences[0].days: Invalid value'],
    [
      'a window longer than a week',
      { recurrences: [{ days: ['Monday'], start: '02:00', duration: '169h' }] },
      'must be at most 168h',
    ],
    [
      'a window of zero length',
      { recurrences: [{ days: ['Monday'], start: '02:00', duration: '0h' }] },
      'must be longer than zero',
    ],
    [
      'a blackout that ends before it starts',
      { blackouts: [{ start: '2026-12-24', end: '2026-12-20' }] },
      'blackout end must not be before its start',
    ],
  ])('a MaintenanceWindow with %s is rejected', async (_n, spec, message) => {
    const base = { timeZone: 'Europe/London', recurrences: [{ days: ['Wednesday'], start: '02:00', duration: '3h' }] };
    await expect(post('maintenancewindows', { ...base, ...spec })).rejects.toThrow(message);
  });
});
