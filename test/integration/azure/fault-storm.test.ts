/** A tenant converges through a storm of throttling, outages and failed operations, in a bounded number of passes. */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { reconcileResources } from '../../../src/azure/engine.ts';
import { tenantAzureResources } from '../../../src/tenant/azure.ts';
import {
  type AzureTestEnv,
  converge,
  countRequests,
  expectSecureTenant,
  resourceIds,
  startAzureTestEnv,
  tenantPlan,
} from './support.ts';

let env: AzureTestEnv;

beforeAll(async () => {
  // One SDK retry only, so the storm reaches the engine's own passes often.
  env = await startAzureTestEnv({ maxRetries: 1 });
});

afterAll(async () => {
  await env.emulator.stop();
});

const EXPECTED_RETRIES = ['AzureThrottled', 'AzureUnavailable', 'AzureOperationFailed', 'AzureConflict', 'AzureRbacPropagating'];

test.each([1, 2, 3])('converges through a storm (seed %i): 30%% of calls 429/503, 20%% of operations fail', async (seed) => {
  const { emulator } = env;
  emulator.reset();
  emulator.faults.seed(seed);
  // 0.15 + 0.85 × 0.1765 ≈ 0.30 of all requests, polls included, answer 429 or 503 with Retry-After: 0.
  emulator.faults.throttle({}, { probability: 0.15, retryAfterSeconds: 0 });
  emulator.faults.unavailable({}, { probability: 0.1765, retryAfterSeconds: 0 });
  emulator.faults.failOperation({ method: ['PUT', 'PATCH'] }, { probability: 0.2 });
  const plan = tenantPlan(env, `storm-${seed}`);

  const { passes, retries } = await converge(env, plan, { maxPasses: 400, delayMs: 10 });

  const faulted = emulator.requests.filter((r) => r.faults.length > 0).length;
  const totals = countRequests(emulator);
  // Bounded: a clean creation is 14 writes.
  expect(totals.writes).toBeLessThanOrEqual(70);
  expect(faulted / emulator.requests.length).toBeGreaterThan(0.15);
  expect(retries.filter((r) => !EXPECTED_RETRIES.includes(r))).toEqual([]);

  // The end state is the clean one: secure, complete, nothing duplicated, nothing left to write.
  emulator.faults.clear();
  expectSecureTenant(emulator, plan);
  const ids = resourceIds(emulator, plan.names);
  const inGroup = emulator.state.list().filter((r) => (r.id as string).toLowerCase().startsWith(ids.rg.toLowerCase()));
  const types = inGroup.map((r) => r.type as string);
  expect(types.filter((t) => t === 'Microsoft.Sql/servers')).toHaveLength(1);
  expect(types.filter((t) => t === 'Microsoft.Sql/servers/databases')).toHaveLength(1);
  expect(types.filter((t) => t === 'Microsoft.KeyVault/vaults')).toHaveLength(1);
  expect(types.filter((t) => t === 'Microsoft.Authorization/roleAssignments')).toHaveLength(2);
  const mark = emulator.mark();
  const steady = await reconcileResources(env.arm, tenantAzureResources(plan), { now: new Date() });
  expect(steady.converged).toBe(true);
  expect(emulator.writes(mark)).toEqual([]);

  process.stdout.write(
    `storm seed ${seed}: ${passes} passes, ${emulator.requests.length} requests (${faulted} faulted), ` +
      `${totals.writes} writes, retries ${JSON.stringify(countBy(retries))}\n`,
  );
});

function countBy(values: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const v of values) counts[v] = (counts[v] ?? 0) + 1;
  return counts;
}
