/** Which resource a write goes to, named as the API server's audit log names it (objectRef). */
import { expect, test } from '@jest/globals';
import { resourceOfPath } from '../../../src/runtime/kube-client.ts';

test.each([
  ['a cluster-scoped custom resource', '/apis/tenancy.dev/v1alpha1/tenants/acme', 'tenants', ''],
  ['its status', '/apis/tenancy.dev/v1alpha1/tenants/acme/status', 'tenants', 'status'],
  ['a namespaced object', '/apis/apps/v1/namespaces/tenant-acme-dev/deployments/tenant-app', 'deployments', ''],
  ['a collection (create)', '/api/v1/namespaces/default/events', 'events', ''],
  ['a core namespaced object', '/api/v1/namespaces/x/services/y', 'services', ''],
  ['a namespace', '/api/v1/namespaces/tenant-acme-dev', 'namespaces', ''],
  ['a namespace’s status', '/api/v1/namespaces/tenant-acme-dev/status', 'namespaces', 'status'],
  ['a namespace’s finalize', '/api/v1/namespaces/tenant-acme-dev/finalize', 'namespaces', 'finalize'],
  ['the Lease, with a query', '/apis/coordination.k8s.io/v1/namespaces/ops/leases/leader?fieldManager=x', 'leases', ''],
])('%s: %s', (_name, path, resource, subresource) => {
  expect(resourceOfPath(path)).toEqual({ resource, subresource });
});
