/**
 * Deleted objects never come back to an informer cache. The operator records the answers of its
 * own writes (read-your-own-writes); the answer of the write that removes the last finalizer may
 * be recorded after the watch already delivered DELETED, and must not re-insert the object, or
 * counts built from the cache (tenants per policy and per window) only ever grow.
 * Real API server, real answers; the order (DELETED first, answer second) is forced by the test.
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { silentLogger } from '../../../src/observability/logger.ts';
import { Informer } from '../../../src/runtime/informer.ts';
import type { KubeClient, KubeObject } from '../../../src/runtime/kube-client.ts';
import { adminClient, sharedControlPlane, tenant, typeOf, waitFor } from '../../harness/fixtures.ts';

const info = sharedControlPlane();
let admin: KubeClient;
let informer: Informer;
const events: string[] = [];

beforeAll(async () => {
  admin = adminClient(info.adminKubeconfig);
  informer = new Informer(admin, typeOf('Tenant'), silentLogger());
  informer.on((type, obj) => {
    if (obj.metadata.name.startsWith('gone-')) events.push(`${type} ${obj.metadata.name}`);
  });
  await informer.start();
});

afterAll(() => informer.stop());

const withFinalizer = (name: string): KubeObject => {
  const t = tenant(name);
  return { ...t, metadata: { ...t.metadata, finalizers: ['test.tenancy.dev/hold'] } };
};

/** Deletes a Tenant that carries a finalizer, waits until the cache holds its deletionTimestamp. */
async function markDeleted(name: string): Promise<KubeObject> {
  await admin.apply(typeOf('Tenant'), withFinalizer(name), 'test');
  await admin.delete(typeOf('Tenant'), name);
  return waitFor(`${name} terminating in the cache`, () => {
    const cached = informer.get(name);
    return cached?.metadata.deletionTimestamp ? cached : undefined;
  });
}

test('the answer of the finalizer-removal write, recorded after DELETED, does not re-insert the object', async () => {
  const terminating = await markDeleted('gone-late-answer');
  const answer = await admin.request<KubeObject>('PATCH', `/apis/tenancy.dev/v1alpha1/tenants/gone-late-answer`, {
    body: [{ op: 'replace', path: '/metadata/finalizers', value: [] }],
    contentType: 'application/json-patch+json',
  });
  await waitFor('DELETED by watch', () => informer.get('gone-late-answer') === undefined);
  informer.observe(answer);
  expect(informer.get('gone-late-answer')).toBeUndefined();
  // An older version recorded late (a status write answered before the deletion) does not either.
  informer.observe(terminating);
  expect(informer.get('gone-late-answer')).toBeUndefined();
  expect(informer.list().filter((t) => t.metadata.name === 'gone-late-answer')).toEqual([]);
  expect(events.filter((e) => e.endsWith('gone-late-answer'))).toEqual([
    'add gone-late-answer',
    'update gone-late-answer',
    'delete gone-late-answer',
  ]);
});

test('the answer of the finalizer-removal write, recorded before DELETED, leaves the deletion to the watch', async () => {
  await markDeleted('gone-early-answer');
  const answer = await admin.request<KubeObject>('PATCH', `/apis/tenancy.dev/v1alpha1/tenants/gone-early-answer`, {
    body: [{ op: 'replace', path: '/metadata/finalizers', value: [] }],
    contentType: 'application/json-patch+json',
  });
  informer.observe(answer);
  await waitFor('DELETED by watch', () => informer.get('gone-early-answer') === undefined);
  expect(events.filter((e) => e.endsWith('gone-early-answer')).at(-1)).toBe('delete gone-early-answer');
});

test('a Tenant re-created under the same name after a deletion is cached again', async () => {
  await markDeleted('gone-recreated');
  await admin.request('PATCH', `/apis/tenancy.dev/v1alpha1/tenants/gone-recreated`, {
    body: [{ op: 'replace', path: '/metadata/finalizers', value: [] }],
    contentType: 'application/json-patch+json',
  });
  await waitFor('DELETED by watch', () => informer.get('gone-recreated') === undefined);
  const again = await admin.apply<KubeObject>(typeOf('Tenant'), tenant('gone-recreated'), 'test');
  informer.observe(again);
  expect(informer.get('gone-recreated')?.metadata.uid).toBe(again.metadata.uid);
  await admin.delete(typeOf('Tenant'), 'gone-recreated');
});
