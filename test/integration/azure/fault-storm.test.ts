/** A tenant converges through a storm of throttling, outages and failed operations, in a bounded number of calls. */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { reconcileTenantAzure } from '../../../src/azure/tenant-azure.ts';
import {
  type AzureTestEnv,
  countRequests,
  expectSecureTenant,
  reconcileUntilConverged,
  resourceIds,
  startAzureTestEnv,
  tenantDesired,
} from './support.ts';

let env: AzureTestEnv;

beforeAll(async () => {
  // One SDK retry only, so the storm reaches the operator's own retry loop often.
  env = await startAzureTestEnv({ maxRetries: 1 });
});

afterAll(async () => {
  await env.emulator.stop();
});

test.each([1, 2, 3])('converges through a storm (seed %i): 30%% of calls 429/503, 20%% of operations fail', async (seed) => {
  const { emulator, deps } = env;
  emulator.reset();
  emulator.faults.seed(seed);
  // 0.15 + 0.85 × 0.1765 ≈ 0.30 of all requests, polls included, answer 429 or 503 with Retry-After: 0.
  emulator.faults.throttle({}, { probability: 0.15, retryAfterSeconds: 0 });
  emulator.faults.unavailable({}, { probability: 0.1765, retryAfterSeconds: 0 });
  emulator.faults.failOperation({ method: ['PUT', 'PATCH'] }, { probability: 0.2 });
  const desired = tenantDesired(`storm-${seed}`, emulator);

  const { observed, attempts, retries } = await reconcileUntilConverged(deps, desired, { maxAttempts: 60, maxDelayMs: 10 });

  const faulted = emulator.requests.filter((r) => r.faults.length > 0).length;
  const totals = countRequests(emulator);
  // Bounded: a clean creation is 11 writes and ~36 requests in one call.
  expect(attempts).toBeLessThanOrEqual(30);
  expect(totals.writes).toBeLessThanOrEqual(60);
  expect(emulator.requests.length).toBeLessThanOrEqual(500);
  expect(faulted / emulator.requests.length).toBeGreaterThan(0.15);
  expect(retries.every((r) => ['AzureThrottled', 'AzureUnavailable', 'AzureOperationFailed', 'AzureConflict'].includes(r))).toBe(
    true,
  );

  // The end state is the clean one: secure, complete, nothing duplicated, nothing left to write.
  emulator.faults.clear();
  expectSecureTenant(emulator, desired, observed);
  const ids = resourceIds(emulator, observed.names);
  const inGroup = emulator.state.list().filter((r) => (r.id as string).toLowerCase().startsWith(ids.rg.toLowerCase()));
  const types = inGroup.map((r) => r.type as string);
  expect(types.filter((t) => t === 'Microsoft.Sql/servers')).toHaveLength(1);
  expect(types.filter((t) => t === 'Microsoft.Sql/servers/databases')).toHaveLength(1);
  expect(types.filter((t) => t === 'Microsoft.KeyVault/vaults')).toHaveLength(1);
  expect(types.filter((t) => t === 'Microsoft.Authorization/roleAssignments')).toHaveLength(2);
  const mark = emulator.mark();
  await reconcileTenantAzure(deps, desired);
  expect(emulator.writes(mark)).toEqual([]);

  process.stdout.write(
    `storm seed ${seed}: ${attempts} reconcile calls, ${emulator.requests.length} requests (${faulted} faulted), ` +
      `${totals.writes} writes, retries ${JSON.stringify(countBy(retries))}\n`,
  );
});

function countBy(values: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const v of values) counts[v] = (counts[v] ?? 0) + 1;
  return counts;
}
