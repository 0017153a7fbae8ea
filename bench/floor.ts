/**
 * The floor, run as its own process (like the operator): `node bench/floor.ts PLAN.json`.
 *
 * For each tenant of the plan, in the operator's dependency order and with the operator's
 * `concurrency` tenants in flight: server-side apply of the isolation objects (plain client,
 * field manager `bench-floor`), then the ARM writes the operator made, through the operator's own
 * SDK clients and per-resource `apply*` functions with nothing observed first (create paths
 * only, no GETs), under the same write limiter, then the application objects. Prints one JSON
 * line with the timings.
 */
import { readFileSync } from 'node:fs';
import { fetch } from 'undici';
import type { ArmBody } from '../src/azure/arm-client.ts';
import type { ArmResource } from '../src/azure/engine.ts';
import { loadConfig } from '../src/config.ts';
import { KubeClient, type KubeObject, resourcePath } from '../src/runtime/kube-client.ts';
import { KubeConnection } from '../src/runtime/kubeconfig.ts';
import { resourceOf } from '../src/runtime/resources.ts';
import { tenantAzurePlan, tenantAzureResources } from '../src/tenant/azure.ts';
import { armClientOf, createAzureClientsFromConfig } from '../src/tenant/azure-step.ts';
import { parseTenant } from '../src/tenant/parse.ts';
import type { FloorPlan, FloorTenant } from './floor-plan.ts';

const plan = JSON.parse(readFileSync(process.argv[2] as string, 'utf8')) as FloorPlan;
const config = loadConfig({ file: plan.configPath, env: {} });
const connection = KubeConnection.load({ path: plan.kubeconfig });

/**
 * Server-side apply with the bare minimum around it: one connection pool, credentials fetched
 * once, no error classification. `kubeClient: 'operator'` uses the operator's KubeClient instead.
 */
async function pooledApply(): Promise<(obj: KubeObject) => Promise<void>> {
  const authorization = await connection.authorization();
  const headers = {
    accept: 'application/json',
    'content-type': 'application/apply-patch+yaml',
    ...(authorization ? { authorization } : {}),
  };
  return async (obj) => {
    const url = `${connection.server}${resourcePath(resourceOf(obj.kind), obj.metadata.namespace, obj.metadata.name)}?fieldManager=bench-floor&force=true`;
    const response = await fetch(url, { method: 'PATCH', headers, body: JSON.stringify(obj), dispatcher: connection.dispatcher });
    const text = await response.text();
    if (!response.ok) throw new Error(`HTTP ${response.status}: ${text.slice(0, 300)}`);
  };
}

const operatorClient = new KubeClient(connection);
const applyOne =
  plan.kubeClient === 'operator'
    ? async (obj: KubeObject) => {
        await operatorClient.apply(resourceOf(obj.kind), obj, 'bench-floor');
      }
    : await pooledApply();
const azureConfig = config.azure;
const clients = azureConfig ? createAzureClientsFromConfig(azureConfig) : undefined;
const arm = clients && azureConfig ? armClientOf(clients, azureConfig) : undefined;
const steps = new Set(plan.armSteps.map((s) => s.toLowerCase()));
const has = (type: string) => steps.has(type.toLowerCase());

let kubeWrites = 0;
let kubeMs = 0;
let armMs = 0;
const errors: string[] = [];

/** Retries a failing call a few times (the floor must finish; failures are reported). */
async function attempt<T>(what: string, fn: () => Promise<T>): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (i >= 4) throw err;
      if (errors.length < 20) errors.push(`${what}: ${(err as Error).message}`);
      await new Promise((r) => setTimeout(r, 200 * i));
    }
  }
}

async function applyAll(objects: KubeObject[]): Promise<void> {
  const started = performance.now();
  for (const obj of objects) {
    await attempt(`apply ${obj.kind} ${obj.metadata.namespace ?? ''}/${obj.metadata.name}`, () => applyOne(obj));
    kubeWrites++;
  }
  kubeMs += performance.now() - started;
}

/**
 * The ARM writes of one tenant environment: every resource the operator describes for it
 * (src/tenant/azure.ts), created in dependency order by a plain loop that waits for each
 * operation, with nothing observed first (one GET after an asynchronous create, for the outputs
 * the next resource needs).
 */
async function azureWrites(t: FloorTenant): Promise<void> {
  if (!clients || !azureConfig || !arm) return;
  const started = performance.now();
  const parsed = parseTenant(t.tenant);
  if (!parsed.ok) throw new Error(`floor tenant ${t.name}: ${parsed.message}`);
  // The bench tenant's recorded placement: the floor's database goes to the same subscription and
  // (shared) server, so it meets the same quotas and shares the same pool.
  const azurePlan = tenantAzurePlan(
    parsed.tenant,
    config,
    azureConfig,
    { redundancy: plan.redundancy, shortTerm: plan.retention.shortTerm, longTerm: plan.retention.longTerm },
    false,
    parsed.tenant.status?.placement,
  );
  const outputs = new Map<string, ArmBody>();
  const create = async (r: ArmResource): Promise<void> => {
    const params = r.params(outputs);
    if (params === undefined) throw new Error(`${r.key}: a dependency reported no output`);
    const id = r.kind.id(params);
    // A role assignment takes a while to reach the data plane: the server key is refused until then.
    let outcome: Awaited<ReturnType<NonNullable<typeof arm>['beginWrite']>> | undefined;
    for (let waited = 0; outcome === undefined; waited += 100) {
      try {
        outcome = await arm.beginWrite('PUT', id, r.kind.apiVersion, r.kind.create(params));
      } catch (err) {
        if ((err as { code?: unknown }).code !== 'AzureKeyVaultMissingPermissions' || waited > 600_000) throw err;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    if (outcome.done) {
      outputs.set(r.key, outcome.body ?? {});
      return;
    }
    for (;;) {
      const state = await arm.pollOperation(outcome.operation);
      if (state.status === 'Succeeded') break;
      if (state.status === 'Failed') throw new Error(`${r.key}: ${state.code} ${state.message}`);
      await new Promise((resolve) => setTimeout(resolve, Math.max(20, outcome.operation.retryAfterMs ?? 0)));
    }
    outputs.set(r.key, (await arm.get(id, r.kind.apiVersion)) ?? {});
  };
  const all = tenantAzureResources(azurePlan);
  const resources = all.filter((r) => has(r.kind.type));
  // A resource the operator wrote for few tenants (a shared server, written once per pool) is not
  // written again here; a written resource that needs its outputs reads it once.
  for (const r of all) {
    if (has(r.kind.type) || !resources.some((x) => x.dependsOn.includes(r.key))) continue;
    const params = r.params(outputs);
    if (params !== undefined) outputs.set(r.key, (await arm.get(r.kind.id(params), r.kind.apiVersion)) ?? {});
  }
  const done = new Set<string>();
  while (done.size < resources.length) {
    const wave = resources.filter(
      (r) => !done.has(r.key) && r.dependsOn.every((d) => done.has(d) || !resources.some((x) => x.key === d)),
    );
    if (wave.length === 0) throw new Error('floor: dependency cycle');
    for (const r of wave) {
      await attempt(`${r.key} ${t.name}`, () => create(r));
      done.add(r.key);
    }
  }
  armMs += performance.now() - started;
}

const perTenantMs: number[] = [];
const queue = [...plan.tenants];
const started = performance.now();
await Promise.all(
  Array.from({ length: plan.concurrency }, async () => {
    for (let t = queue.shift(); t; t = queue.shift()) {
      const begun = performance.now();
      await applyAll(t.isolation);
      await azureWrites(t);
      await applyAll(t.app);
      perTenantMs.push(performance.now() - begun);
    }
  }),
);
const totalMs = performance.now() - started;

process.stdout.write(
  `${JSON.stringify({
    totalMs,
    tenants: plan.tenants.length,
    perTenantMs: perTenantMs.sort((a, b) => a - b),
    kubeWrites,
    kubeMs,
    armMs,
    armWritesGranted: clients?.writeLimiter.stats.granted ?? 0,
    armLimiterWaitedMs: clients?.writeLimiter.stats.waitedMs ?? 0,
    errors,
    resourceUsage: process.resourceUsage(),
  })}\n`,
);
process.exit(0);
