/**
 * What the informer caches hold per tenant, with and without shared parts (the informer's own
 * `forCache`, src/runtime/intern.ts: the top level and metadata the object's own, every other
 * part and every string shared with identical ones): N tenants as the caches see them (the Tenant with a converged status from
 * test/fixtures/tenant-status.ts `fleet`, and the objects the operator keeps in its namespace, built
 * by the operator's own pure builders, with the fields the API server adds), each entering the
 * cache as a watch delivers it (parsed from its own JSON). Prints the heap the cache holds per
 * 1000 tenants (after full collections) and the CPU per object, for both.
 *
 *   node --expose-gc bench/cache-memory.ts [--tenants 1000]
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { forCache } from '../src/runtime/informer.ts';
import type { KubeObject } from '../src/runtime/kube-client.ts';
import { buildTenantObjects } from '../src/tenant/desired.ts';
import { buildWorkload } from '../src/tenant/workload.ts';
import { aConfig, aTenant } from '../test/fixtures/tenant.ts';
import { fleet } from '../test/fixtures/tenant-status.ts';

const { values } = parseArgs({ options: { tenants: { type: 'string', default: '1000' } } });
const tenants = Number(values.tenants);
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) {
  process.stderr.write('run with node --expose-gc\n');
  process.exit(2);
}

const config = aConfig();
let resourceVersion = 1000;
/** What the API server adds to an object it stores. */
const stored = (obj: KubeObject): KubeObject => ({
  ...obj,
  metadata: {
    ...obj.metadata,
    uid: randomUUID(),
    resourceVersion: String(resourceVersion++),
    creationTimestamp: '2026-12-04T10:00:00Z',
    generation: 1,
  },
});

// One JSON text per object, as each arrives from a list page or a watch event.
const texts: string[] = [];
for (const cachedTenant of fleet(tenants)) {
  const tenant = aTenant(cachedTenant.metadata.name);
  const objects = buildTenantObjects(tenant, config);
  const withStatus = { ...tenant, status: cachedTenant.status } as unknown as KubeObject;
  for (const obj of [withStatus, objects.namespace, ...objects.namespaced, ...buildWorkload(tenant, config)])
    texts.push(JSON.stringify(stored(obj as KubeObject)));
}

function measure(share: boolean): { mib: number; microsPerObject: number } {
  gc?.();
  gc?.();
  const before = process.memoryUsage().heapUsed;
  const cache = new Map<number, unknown>();
  const cpu = process.cpuUsage();
  texts.forEach((text, i) => {
    const parsed = JSON.parse(text) as unknown;
    // The objects carry their own apiVersion and kind (a list page or watch event would not).
    cache.set(i, share ? forCache(parsed as KubeObject, parsed as KubeObject) : parsed);
  });
  const used = process.cpuUsage(cpu);
  gc?.();
  gc?.();
  const held = process.memoryUsage().heapUsed - before;
  if (cache.size !== texts.length) throw new Error('cache lost objects');
  return { mib: held / 1024 / 1024, microsPerObject: (used.user + used.system) / texts.length };
}

// Warm up both paths (JIT), then measure each on a fresh cache.
measure(false);
measure(true);
const plain = measure(false);
const shared = measure(true);
const per1000 = (mib: number) => ((mib * 1000) / tenants).toFixed(1);
process.stdout.write(
  `${tenants} tenants, ${texts.length} cached objects (${(texts.length / tenants).toFixed(1)} per tenant)\n` +
    `  a copy of each string: ${per1000(plain.mib)} MiB per 1000 tenants, ${plain.microsPerObject.toFixed(1)} µs per object\n` +
    `  shared parts:          ${per1000(shared.mib)} MiB per 1000 tenants, ${shared.microsPerObject.toFixed(1)} µs per object\n`,
);
