/**
 * What Argo CD and Flux see of tenancy.dev objects as a real API server serves them, with no
 * operator running. kstatus calls an object without status Current, so the CRDs default
 * `status` to `{observedGeneration: 0}`: this proves the API server applies that default on read
 * (get, list), that a new object is then InProgress for kstatus and Progressing for Argo CD, and
 * that server-side apply of spec (Argo CD, kubectl) and of status (the operator) work as before.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { KubeClient, KubeObject } from '../../../src/runtime/kube-client.ts';
import { aTenant, withOperatorStatus } from '../../fixtures/tenant.ts';
import { REPO_ROOT } from '../../harness/control-plane.ts';
import { adminClient, sharedControlPlane, tenant, typeOf } from '../../harness/fixtures.ts';
import { statusCheck } from '../../unit/delivery/tools.ts';

const HEALTH_LUA = `${REPO_ROOT}/config/argocd/resource_customizations/tenancy.dev/Tenant/health.lua`;
const API = '/apis/tenancy.dev/v1alpha1';

type Served = KubeObject & {
  status?: Record<string, unknown>;
  metadata: KubeObject['metadata'] & { generation?: number; managedFields?: { manager: string; fieldsV1?: object }[] };
};

const NEW_OBJECTS: [string, string, KubeObject][] = [
  ['Tenant', 'tenants', tenant('status-new')],
  [
    'BackupPolicy',
    'backuppolicies',
    {
      apiVersion: 'tenancy.dev/v1alpha1',
      kind: 'BackupPolicy',
      metadata: { name: 'status-new' },
      spec: { pointInTimeRetentionDays: 14, rpo: '2h', rto: '2h' },
    },
  ],
  [
    'MaintenanceWindow',
    'maintenancewindows',
    {
      apiVersion: 'tenancy.dev/v1alpha1',
      kind: 'MaintenanceWindow',
      metadata: { name: 'status-new' },
      spec: { timeZone: 'Europe/Amsterdam', recurrences: [{ days: ['Wednesday'], start: '02:00', duration: '3h' }] },
    },
  ],
];

let admin: KubeClient;
beforeAll(() => {
  admin = adminClient(sharedControlPlane().adminKubeconfig);
});
afterAll(async () => {
  for (const [kind, , obj] of NEW_OBJECTS) await admin.delete(typeOf(kind), obj.metadata.name).catch(() => {});
  await admin.delete(typeOf('Tenant'), 'status-written').catch(() => {});
});

describe.each(NEW_OBJECTS)('a new %s, before any operator has seen it', (kind, plural, obj) => {
  let created: Served;
  let read: Served;
  let listed: Served | undefined;
  beforeAll(async () => {
    // Posted with a status, as someone might: the status subresource drops it on create.
    created = await admin.request<Served>('POST', `${API}/${plural}`, {
      body: { ...obj, status: { observedGeneration: 7 } },
    });
    read = await admin.get<Served>(typeOf(kind), obj.metadata.name);
    const list = await admin.request<{ items: Served[] }>('GET', `${API}/${plural}`);
    listed = list.items.find((o) => o.metadata.name === obj.metadata.name);
  });

  test('is served with status.observedGeneration 0 (the CRD default), on create, get and list', () => {
    expect(read.metadata.generation).toBe(1);
    expect(created.status).toEqual({ observedGeneration: 0 });
    expect(read.status).toEqual({ observedGeneration: 0 });
    expect(listed?.status).toEqual({ observedGeneration: 0 });
  });

  test('is InProgress for kstatus and Progressing for Argo CD', () => {
    expect(statusCheck('kstatus', [read])).toEqual([
      { status: 'InProgress', message: `${kind} generation is 1, but latest observed generation is 0` },
    ]);
    expect(statusCheck({ argocdHealth: HEALTH_LUA }, [read])).toEqual([
      { status: 'Progressing', message: 'Waiting for the operator to observe generation 1' },
    ]);
  });
});

describe('server-side apply over the defaulted status', () => {
  test('the operator’s status write replaces the default; a spec apply owns no status field', async () => {
    await admin.apply(typeOf('Tenant'), tenant('status-written'), 'argocd-controller');
    const status = aTenant(
      'status-written',
      withOperatorStatus([
        { type: 'NamespaceReady', status: 'True', reason: 'NamespaceActive', message: 'Namespace is active.' },
      ]),
    ).status;
    const written = await admin.apply<Served>(
      typeOf('Tenant'),
      { apiVersion: 'tenancy.dev/v1alpha1', kind: 'Tenant', metadata: { name: 'status-written' }, status },
      'tenant-operator',
      'status',
    );
    expect(written.status).toEqual(status);
    expect(statusCheck('kstatus', [written])).toEqual([{ status: 'Current', message: 'Resource is Ready' }]);
    expect(statusCheck({ argocdHealth: HEALTH_LUA }, [written])[0]?.status).toBe('Healthy');

    const specOwner = written.metadata.managedFields?.find((f) => f.manager === 'argocd-controller');
    expect(JSON.stringify(specOwner?.fieldsV1)).not.toContain('f:status');

    // A spec change: generation 2, the operator's status is for 1.
    const changed = await admin.apply<Served>(
      typeOf('Tenant'),
      tenant('status-written', { version: '1.1.0' }),
      'argocd-controller',
    );
    expect(changed.metadata.generation).toBe(2);
    expect(changed.status).toEqual(status);
    expect(statusCheck('kstatus', [changed])[0]?.status).toBe('InProgress');
    expect(statusCheck({ argocdHealth: HEALTH_LUA }, [changed])[0]?.status).toBe('Progressing');
  });
});
