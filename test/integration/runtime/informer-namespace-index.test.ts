/**
 * An informer's per-namespace index (listInNamespace) follows its cache through list, watch,
 * updates and deletions: a reconcile prunes one tenant's namespace from it instead of listing the
 * whole fleet's objects. Real API server.
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { silentLogger } from '../../../src/observability/logger.ts';
import { Informer } from '../../../src/runtime/informer.ts';
import type { KubeClient, KubeObject } from '../../../src/runtime/kube-client.ts';
import { adminClient, sharedControlPlane, typeOf, waitFor } from '../../harness/fixtures.ts';

const info = sharedControlPlane();
const suffix = Math.random().toString(36).slice(2, 8);
const LABEL = 'test.tenancy.dev/index';
const namespaces = [`index-a-${suffix}`, `index-b-${suffix}`] as const;
let admin: KubeClient;
let informer: Informer;

const policy = (name: string, namespace: string, team = 'x'): KubeObject => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name, namespace, labels: { [LABEL]: suffix, team } },
  spec: { podSelector: {}, policyTypes: ['Ingress'] },
});

const names = (namespace: string) =>
  informer
    .listInNamespace(namespace)
    .map((o) => o.metadata.name)
    .sort();

beforeAll(async () => {
  admin = adminClient(info.adminKubeconfig);
  for (const ns of namespaces)
    await admin.apply(typeOf('Namespace'), { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } }, 'test');
  // One object before the informer starts (found by the list), the others by the watch.
  await admin.apply(typeOf('NetworkPolicy'), policy('listed', namespaces[0]), 'test');
  informer = new Informer(admin, typeOf('NetworkPolicy'), silentLogger(), { labelSelector: `${LABEL}=${suffix}` });
  await informer.start();
});

afterAll(async () => {
  informer.stop();
  for (const ns of namespaces) await admin.delete(typeOf('Namespace'), ns).catch(() => {});
});

test('listInNamespace holds exactly the cached objects of that namespace, through watch updates and deletions', async () => {
  expect(names(namespaces[0])).toEqual(['listed']);
  await admin.apply(typeOf('NetworkPolicy'), policy('watched', namespaces[0]), 'test');
  await admin.apply(typeOf('NetworkPolicy'), policy('other', namespaces[1]), 'test');
  await waitFor(
    'both watched objects cached',
    () => informer.get('other', namespaces[1]) && informer.get('watched', namespaces[0]),
  );
  expect(names(namespaces[0])).toEqual(['listed', 'watched']);
  expect(names(namespaces[1])).toEqual(['other']);

  // An update replaces the indexed object (the index never holds a stale version).
  await admin.apply(typeOf('NetworkPolicy'), policy('watched', namespaces[0], 'y'), 'test');
  await waitFor('update cached', () => informer.get('watched', namespaces[0])?.metadata.labels?.team === 'y');
  expect(informer.listInNamespace(namespaces[0]).find((o) => o.metadata.name === 'watched')?.metadata.labels?.team).toBe('y');

  await admin.delete(typeOf('NetworkPolicy'), 'listed', namespaces[0]);
  await admin.delete(typeOf('NetworkPolicy'), 'other', namespaces[1]);
  await waitFor(
    'deletions cached',
    () => informer.get('listed', namespaces[0]) === undefined && informer.get('other', namespaces[1]) === undefined,
  );
  expect(names(namespaces[0])).toEqual(['watched']);
  expect(names(namespaces[1])).toEqual([]);
  expect(informer.listInNamespace('no-such-namespace')).toEqual([]);
});

test('cached objects share their identical parts (frozen) and keep their own top level, metadata and no managedFields', async () => {
  await admin.apply(typeOf('NetworkPolicy'), policy('shared', namespaces[0], 'z'), 'test');
  await admin.apply(typeOf('NetworkPolicy'), policy('shared', namespaces[1], 'z'), 'test');
  await waitFor('both cached', () => informer.get('shared', namespaces[0]) && informer.get('shared', namespaces[1]));
  const a = informer.get('shared', namespaces[0]) as KubeObject & { spec: unknown };
  const b = informer.get('shared', namespaces[1]) as KubeObject & { spec: unknown };
  // The same spec and labels in two namespaces: one copy.
  expect(b.spec).toBe(a.spec);
  expect(b.metadata.labels).toBe(a.metadata.labels);
  expect(Object.isFrozen(a.spec)).toBe(true);
  // What is the object's own is not shared.
  expect(b.metadata).not.toBe(a.metadata);
  expect(b.metadata.uid).not.toBe(a.metadata.uid);
  expect(Object.isFrozen(a.metadata)).toBe(false);
  expect((a.metadata as { managedFields?: unknown }).managedFields).toBeUndefined();
  expect(a).toMatchObject({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy' });
  // The cache's copy is read-only: a change would reach every object sharing it.
  expect(() => {
    (a.metadata.labels as Record<string, string>).team = 'changed';
  }).toThrow(TypeError);
});
