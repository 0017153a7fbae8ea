/**
 * Disruptive changes wait for the tenant's MaintenanceWindow, against a real API server and an
 * injected clock: a version bump outside the window waits with UpdatePending and is applied when
 * the clock enters the window; non-disruptive changes apply at once; the emergency annotation
 * applies at once and leaves an Event; a pending change survives an operator restart.
 */
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { textDigest } from '../../src/observability/redaction.ts';
import type { Operator } from '../../src/operator.ts';
import { ManualClock } from '../../src/runtime/clock.ts';
import type { KubeClient, KubeObject } from '../../src/runtime/kube-client.ts';
import {
  adminClient,
  condition,
  sharedControlPlane,
  startOperator,
  type TenantWithStatus,
  tenant,
  typeOf,
  waitFor,
  waitForReady,
} from '../harness/fixtures.ts';

const info = sharedControlPlane();
/**
 * An emergency reason as people write them under pressure: with a link that carries a token
 * (assembled at run time, so no file here looks like a live credential).
 */
const LEAKED_TOKEN = ['gh', 'p_', 'R8kq2LmZ7xWv4NcTfYb9', 'Hs3dJp6AeGu1Q0oKi5'].join('');
const EMERGENCY_REASON = `CVE-2026-4242 hotfix, approved https://git.example/o/r/pull/7?access_token=${LEAKED_TOKEN}`;
const SUNDAY = '2026-11-22T12:00:00Z';
const IN_WINDOW = '2026-11-25T02:00:00Z'; // Wednesday 03:00 in Amsterdam
const clock = new ManualClock(SUNDAY);
/** These tests are about windows, not advance notice (the last describe): no notice owed. */
const NO_NOTICE = { maintenance: { noticeHours: 0 } };
let admin: KubeClient;
let operator: Operator;

type MaintenanceStatus = { pendingChanges?: string[]; nextWindowOpens?: string; windowOpen?: boolean; emergencyApplied?: string };
type GatedTenant = TenantWithStatus & { status?: { maintenance?: MaintenanceStatus } };

function gated(
  version: string,
  extra: { displayName?: string; annotations?: Record<string, string>; touch?: string } = {},
): KubeObject {
  const t = tenant('gated', { version }) as KubeObject & { spec: Record<string, unknown> };
  t.spec.maintenanceWindowRef = { name: 'gate-window' };
  if (extra.displayName) t.spec.displayName = extra.displayName;
  t.metadata.annotations = { ...extra.annotations };
  if (extra.touch) t.metadata.labels = { touched: extra.touch };
  return t;
}

async function appliedVersion(): Promise<string | undefined> {
  const ns = await admin.get(typeOf('Namespace'), 'tenant-gated-dev');
  return ns.metadata.annotations?.['tenancy.dev/application']?.split(':').pop();
}

async function events(reason: string): Promise<{ message: string; type: string }[]> {
  const list = await admin.request<{
    items: { reason: string; message: string; type: string; involvedObject: { name: string } }[];
  }>('GET', '/api/v1/namespaces/default/events');
  return list.items.filter((e) => e.reason === reason && e.involvedObject.name === 'gated');
}

function waitForTenant(what: string, predicate: (t: GatedTenant) => boolean): Promise<GatedTenant> {
  return waitFor(what, async () => {
    const t = await admin.get<GatedTenant>(typeOf('Tenant'), 'gated');
    return t.status?.observedGeneration === t.metadata.generation && predicate(t) ? t : undefined;
  });
}

beforeAll(async () => {
  admin = adminClient(info.adminKubeconfig);
  await admin.apply(
    typeOf('MaintenanceWindow'),
    {
      apiVersion: 'tenancy.dev/v1alpha1',
      kind: 'MaintenanceWindow',
      metadata: { name: 'gate-window' },
      spec: { timeZone: 'Europe/Amsterdam', recurrences: [{ days: ['Wednesday'], start: '02:00', duration: '3h' }] },
    },
    'test',
  );
  operator = await startOperator({ info, leaseName: 'gating', clock, config: NO_NOTICE });
  await admin.apply(typeOf('Tenant'), gated('1.0.0'), 'test');
  await waitForReady(admin, 'gated');
});

afterAll(async () => {
  await operator?.stop();
});

describe('maintenance gating', () => {
  test('a new tenant is provisioned at once, whatever the window', async () => {
    expect(await appliedVersion()).toBe('1.0.0');
  });

  test('a version bump outside the window waits with UpdatePending and the next opening', async () => {
    await admin.apply(typeOf('Tenant'), gated('1.1.0'), 'test');
    const t = await waitForTenant('UpdatePending', (x) => condition(x, 'UpdatePending')?.status === 'True');
    expect(condition(t, 'UpdatePending')).toMatchObject({
      reason: 'WaitingForWindow',
      message:
        'version 1.0.0 -> 1.1.0: held until the maintenance window opens at 2026-11-25T01:00:00Z. To apply now, annotate the Tenant tenancy.dev/apply-now="<reason>" (recorded as an emergency change).',
    });
    // Held for its window is settled, not in progress: Flux (kstatus) and Argo CD agree on that.
    expect(condition(t, 'Reconciling')?.status).toBe('False');
    expect(condition(t, 'Stalled')?.status).toBe('False');
    // kubectl prints the pending change as text (a list column would print escaped JSON: \u003e).
    const wide = execFileSync('kubectl', ['--kubeconfig', info.adminKubeconfig, 'get', 'tenant', t.metadata.name, '-o', 'wide'], {
      encoding: 'utf8',
    });
    expect(wide).toContain('version 1.0.0 -> 1.1.0');
    expect(wide).not.toContain('\\u003e');
    expect(t.status?.maintenance).toMatchObject({
      pendingChanges: ['version 1.0.0 -> 1.1.0'],
      nextWindowOpens: '2026-11-25T01:00:00Z',
      windowOpen: false,
    });
    expect(condition(t, 'Ready')?.status).toBe('True');
    expect(await appliedVersion()).toBe('1.0.0');
    await waitFor('UpdatePending event', async () => (await events('UpdatePending')).length > 0);
    // The window's own status counts who waits on it.
    const mw = await waitFor('window status', async () => {
      const w = await admin.get<KubeObject & { status?: Record<string, unknown> }>(typeOf('MaintenanceWindow'), 'gate-window');
      return w.status?.tenantsWithPendingChanges === 1 ? w : undefined;
    });
    expect(mw.status).toMatchObject({
      open: false,
      tenants: 1,
      nextOpening: '2026-11-25T01:00:00Z',
      nextClosing: '2026-11-25T04:00:00Z',
    });
  });

  test('a held tier change: status.tier and kubectl’s TIER column show the tier that runs, not the one asked for', async () => {
    const small = tenant('gated-tier', { tier: 'Small' }) as KubeObject & { spec: Record<string, unknown> };
    small.spec.maintenanceWindowRef = { name: 'gate-window' };
    await admin.apply(typeOf('Tenant'), small, 'test');
    await waitFor('gated-tier isolated', async () => {
      const x = await admin.get<TenantWithStatus>(typeOf('Tenant'), 'gated-tier');
      return condition(x, 'NamespaceReady')?.status === 'True';
    });
    await admin.apply(typeOf('Tenant'), { ...small, spec: { ...small.spec, tier: 'Medium' } }, 'test');
    const held = await waitFor('tier change held', async () => {
      const x = await admin.get<TenantWithStatus & { status?: { tier?: string } }>(typeOf('Tenant'), 'gated-tier');
      return condition(x, 'UpdatePending')?.status === 'True' && x.status?.observedGeneration === x.metadata.generation
        ? x
        : undefined;
    });
    expect(held.status?.tier).toBe('Small');
    const row = execFileSync('kubectl', ['--kubeconfig', info.adminKubeconfig, 'get', 'tenant', 'gated-tier', '--no-headers'], {
      encoding: 'utf8',
    });
    expect(row).toMatch(/^gated-tier\s+Small\s+/);
    await admin.delete(typeOf('Tenant'), 'gated-tier');
  });

  test('a non-disruptive change applies at once while the version still waits', async () => {
    await admin.apply(typeOf('Tenant'), gated('1.1.0', { displayName: 'Renamed Customer' }), 'test');
    const ns = await waitFor('display name applied', async () => {
      const n = await admin.get(typeOf('Namespace'), 'tenant-gated-dev');
      return n.metadata.annotations?.['tenancy.dev/display-name'] === 'Renamed Customer' ? n : undefined;
    });
    expect(ns.metadata.annotations?.['tenancy.dev/application']).toBe('registry.example.com/saas/app:1.0.0');
  });

  test('when the clock enters the window, the held change is applied', async () => {
    clock.set(IN_WINDOW);
    // Any event re-queues the tenant; production also requeues itself for the window's opening.
    await admin.apply(typeOf('Tenant'), gated('1.1.0', { displayName: 'Renamed Customer', touch: 'window' }), 'test');
    const t = await waitForTenant('applied', (x) => condition(x, 'UpdatePending')?.status === 'False');
    expect(t.status?.maintenance?.pendingChanges).toBeUndefined();
    expect(t.status?.maintenance?.windowOpen).toBe(true);
    expect(await appliedVersion()).toBe('1.1.0');
    await waitFor('MaintenanceApplied event', async () => (await events('MaintenanceApplied')).length > 0);
  });

  test('the emergency annotation applies at once outside the window and leaves a Warning event, never its secrets', async () => {
    clock.set(SUNDAY);
    await admin.apply(
      typeOf('Tenant'),
      gated('1.1.1', { displayName: 'Renamed Customer', annotations: { 'tenancy.dev/apply-now': EMERGENCY_REASON } }),
      'test',
    );
    await waitFor('emergency applied', async () => (await appliedVersion()) === '1.1.1');
    const t = await waitForTenant(
      'emergency recorded',
      (x) => x.status?.maintenance?.emergencyApplied === textDigest(EMERGENCY_REASON),
    );
    expect(JSON.stringify(t.status)).not.toContain(LEAKED_TOKEN);
    expect(JSON.stringify(t.status)).not.toContain('CVE-2026-4242');
    expect(condition(t, 'UpdatePending')?.status).toBe('False');
    const [event] = await waitFor('EmergencyChange event', async () => {
      const list = await events('EmergencyChange');
      return list.length > 0 ? list : undefined;
    });
    expect(event).toMatchObject({
      type: 'Warning',
      message: `version 1.1.0 -> 1.1.1: emergency change (tenancy.dev/apply-now: "CVE-2026-4242 hotfix, approved https://git.example/o/r/pull/7?access_token=[REDACTED]" (${textDigest(EMERGENCY_REASON)}))`,
    });
    expect(JSON.stringify(await events('EmergencyChange'))).not.toContain(LEAKED_TOKEN);
  });

  test('the same emergency reason does not override a later change; the change waits', async () => {
    await admin.apply(
      typeOf('Tenant'),
      gated('1.2.0', { displayName: 'Renamed Customer', annotations: { 'tenancy.dev/apply-now': EMERGENCY_REASON } }),
      'test',
    );
    const t = await waitForTenant('pending again', (x) => condition(x, 'UpdatePending')?.status === 'True');
    expect(t.status?.maintenance?.pendingChanges).toEqual(['version 1.1.1 -> 1.2.0']);
    expect(await appliedVersion()).toBe('1.1.1');
  });

  test('a pending change survives an operator restart and is applied in the next window', async () => {
    await operator.stop();
    operator = await startOperator({ info, leaseName: 'gating', clock, config: NO_NOTICE });
    const stillPending = await waitForTenant('still pending', (x) => condition(x, 'UpdatePending')?.status === 'True');
    expect(stillPending.status?.maintenance?.pendingChanges).toEqual(['version 1.1.1 -> 1.2.0']);
    expect(await appliedVersion()).toBe('1.1.1');
    clock.set(IN_WINDOW);
    await admin.apply(
      typeOf('Tenant'),
      gated('1.2.0', {
        displayName: 'Renamed Customer',
        annotations: { 'tenancy.dev/apply-now': EMERGENCY_REASON },
        touch: 'restart',
      }),
      'test',
    );
    await waitFor('applied after restart', async () => (await appliedVersion()) === '1.2.0', 45_000);
  }, 60_000);
});

describe('advance notice (72 hours)', () => {
  const NEXT_WEEK_IN_WINDOW = '2026-12-02T02:00:00Z';
  const noticed = (version: string, touch?: string) => {
    const t = tenant('noticed', { version }) as KubeObject & { spec: Record<string, unknown> };
    t.spec.maintenanceWindowRef = { name: 'gate-window' };
    if (touch) t.metadata.labels = { touched: touch };
    return t;
  };
  const get = () => admin.get<GatedTenant & { status?: { maintenance?: { announcedAt?: string } } }>(typeOf('Tenant'), 'noticed');
  const appliedNoticed = async () =>
    (await admin.get(typeOf('Namespace'), 'tenant-noticed-dev')).metadata.annotations?.['tenancy.dev/application']
      ?.split(':')
      .pop();

  beforeAll(async () => {
    await operator.stop();
    clock.set(SUNDAY);
    operator = await startOperator({ info, leaseName: 'gating', clock, config: { maintenance: { noticeHours: 72 } } });
    await admin.apply(typeOf('Tenant'), noticed('1.0.0'), 'test');
    await waitForReady(admin, 'noticed');
  });

  test('a change seen 61 hours before the next window is announced for the window after it', async () => {
    await admin.apply(typeOf('Tenant'), noticed('2.0.0'), 'test');
    const held = await waitFor('announced', async () => {
      const t = await get();
      return condition(t, 'UpdatePending')?.status === 'True' && t.status?.observedGeneration === t.metadata.generation
        ? t
        : undefined;
    });
    expect(held.status?.maintenance).toMatchObject({ announcedAt: SUNDAY, nextWindowOpens: '2026-12-02T01:00:00Z' });
    const announced = await waitFor('announcement event', async () => {
      const list = await admin.request<{ items: { reason: string; message: string; involvedObject: { name: string } }[] }>(
        'GET',
        '/api/v1/namespaces/default/events',
      );
      return list.items.find((e) => e.reason === 'UpdatePending' && e.involvedObject.name === 'noticed');
    });
    expect(announced.message).toContain('2026-12-02T01:00:00');
  });

  test('the window that opens too soon does not apply it, the next one does', async () => {
    clock.set(IN_WINDOW);
    await admin.apply(typeOf('Tenant'), noticed('2.0.0', 'in-first-window'), 'test');
    const tooSoon = await waitFor('still held in the first window', async () => {
      const t = await get();
      return condition(t, 'UpdatePending')?.reason === 'WaitingForNotice' ? t : undefined;
    });
    expect(condition(tooSoon, 'UpdatePending')?.message).toContain('advance notice');
    expect(await appliedNoticed()).toBe('1.0.0');

    clock.set(NEXT_WEEK_IN_WINDOW);
    await admin.apply(typeOf('Tenant'), noticed('2.0.0', 'in-second-window'), 'test');
    await waitFor('applied in the second window', async () => (await appliedNoticed()) === '2.0.0');
  });
});
