/** Which window governs a tenant: its own, or the default one in its region's local time. */
import { expect, test } from '@jest/globals';
import { resolveTenantWindow } from '../../../src/maintenance/tenant-window.ts';
import type { KubeObject } from '../../../src/runtime/kube-client.ts';
import { aConfig, aTenant } from '../../fixtures/tenant.ts';

const windows: Record<string, KubeObject> = {
  default: {
    apiVersion: 'tenancy.dev/v1alpha1',
    kind: 'MaintenanceWindow',
    metadata: { name: 'default' },
    spec: { timeZone: 'UTC', recurrences: [{ days: ['Sunday'], start: '02:00', duration: '4h' }] },
  },
  custom: {
    apiVersion: 'tenancy.dev/v1alpha1',
    kind: 'MaintenanceWindow',
    metadata: { name: 'custom' },
    spec: { timeZone: 'Europe/London', recurrences: [{ days: ['Sunday'], start: '03:00', duration: '2h' }] },
  },
};
const lookup = (name: string) => windows[name];

test.each([
  ['the default window is read in the region’s zone', 'australiaeast', undefined, 'default', 'Australia/Sydney'],
  ['a named window keeps its own zone', 'australiaeast', 'custom', 'custom', 'Europe/London'],
  ['a region the table lacks keeps the window’s zone', 'mars-north', undefined, 'default', 'UTC'],
])('%s', (_name, region, ref, expectedName, zone) => {
  const tenant = aTenant('acme', (t) => {
    t.spec.region = region;
    if (ref) t.spec.maintenanceWindowRef = { name: ref };
  });
  const resolved = resolveTenantWindow(tenant, aConfig(), lookup);
  expect([resolved.name, resolved.schedule?.timeZone]).toEqual([expectedName, zone]);
});

test('a missing window resolves to no schedule, so changes are held (never applied)', () => {
  const tenant = aTenant('acme', (t) => {
    t.spec.maintenanceWindowRef = { name: 'nope' };
  });
  expect(resolveTenantWindow(tenant, aConfig(), lookup).schedule).toBeUndefined();
});

test('the configuration refuses a time zone that is not IANA', () => {
  expect(() => aConfig({ maintenance: { regionTimeZones: { westeurope: 'Mars/Olympus' } } })).toThrow(/IANA/);
});
