/** A tenant's Azure resources end to end: real SDK clients against the ARM emulator. */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { createAzureClients } from '../../../src/azure/clients.ts';
import { tenantAzureNames } from '../../../src/azure/names.ts';
import { deleteTenantAzure, reconcileTenantAzure, releaseTenantAzure } from '../../../src/azure/tenant-azure.ts';
import { createWriteLimiter } from '../../../src/azure/write-limiter.ts';
import { RetryableError, TerminalError } from '../../../src/runtime/errors.ts';
import {
  type AzureTestEnv,
  countRequests,
  expectSecureTenant,
  keyUriOf,
  reconcileUntilConverged,
  resourceIds,
  startAzureTestEnv,
  tenantDesired,
} from './support.ts';

let env: AzureTestEnv;

beforeAll(async () => {
  env = await startAzureTestEnv();
});

afterAll(async () => {
  await env.emulator.stop();
});

describe('reconcileTenantAzure', () => {
  test('creates every resource with its security settings, then makes zero writes when nothing changed', async () => {
    const { emulator, deps } = env;
    const desired = tenantDesired('acme', emulator);

    const created = await reconcileTenantAzure(deps, desired);

    expectSecureTenant(emulator, desired, created);
    const names = tenantAzureNames('acme', 'production');
    expect(created).toMatchObject({
      resourceGroup: names.resourceGroup,
      databaseName: names.sqlDatabase,
      serverFqdn: `${names.sqlServer}.database.windows.net`,
      vaultUri: `https://${names.keyVault}.vault.azure.net/`,
      ready: { identity: true, keyVault: true, database: true },
    });
    expect(created.identityClientId).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.earliestRestoreDate).toBe(emulator.clock.now().toISOString());
    // One write per resource, nothing twice: RG, identity, FIC, vault, key, 2 role assignments,
    // server (with Entra admin + Entra-only), server key, protector, database.
    expect(countRequests(emulator)).toMatchObject({ writes: 11, reads: 20 });
    expect(created.changes.map((c) => c.resource)).toEqual([
      'resourceGroup',
      'identity',
      'federatedCredential',
      'keyVault',
      'tdeKey',
      'roleAssignment.secretsUser',
      'sqlServer',
      'roleAssignment.cryptoServiceEncryptionUser',
      'sqlServerKey',
      'sqlEncryptionProtector',
      'sqlDatabase',
    ]);

    const mark = emulator.mark();
    const again = await reconcileTenantAzure(deps, desired);

    expect(emulator.writes(mark)).toEqual([]);
    expect(countRequests(emulator, mark)).toEqual({ reads: 14, writes: 0, polls: 0 });
    expect(again.changes).toEqual([]);
    expect(again.identityClientId).toBe(created.identityClientId);
  });

  test('earliestRestoreDate follows the emulated clock through the retention window', async () => {
    const { emulator, deps } = env;
    const desired = tenantDesired('clocked', emulator);
    const first = await reconcileTenantAzure(deps, desired);
    emulator.clock.advance(10 * 86_400_000);
    const later = await reconcileTenantAzure(deps, desired);
    // Default retention is 7 days: the restore window now starts 7 days ago, not at creation.
    expect(Date.parse(later.earliestRestoreDate!) - Date.parse(first.earliestRestoreDate!)).toBe(3 * 86_400_000);
  });

  test('changing the SKU writes only the database, with one PATCH', async () => {
    const { emulator, deps } = env;
    await reconcileTenantAzure(deps, tenantDesired('beta', emulator));
    const mark = emulator.mark();

    const scaled = await reconcileTenantAzure(deps, tenantDesired('beta', emulator, { sql: { capacity: 4 } }));

    const writes = emulator.writes(mark);
    expect(writes.map((w) => `${w.method} ${w.resourceType}`)).toEqual(['PATCH Microsoft.Sql/servers/databases']);
    expect(scaled.changes).toEqual([{ resource: 'sqlDatabase', fields: ['sku'] }]);
    const ids = resourceIds(emulator, scaled.names);
    expect(emulator.state.get(ids.database)).toMatchObject({ sku: { name: 'GP_Gen5', capacity: 4 } });
  });

  test('every write, SDK retries included, waits on the operator-wide write limiter', async () => {
    const { emulator } = env;
    const writeLimiter = createWriteLimiter({ writesPerSecond: 50, burst: 2 });
    const clients = createAzureClients({
      subscriptionId: emulator.subscriptionId,
      endpoint: emulator.endpoint,
      ca: emulator.ca,
      credential: emulator.credential,
      writeLimiter,
    });
    // One throttled PUT, retried inside the SDK: ARM counts both, so the limiter must too.
    emulator.faults.throttle({ method: 'PUT', resourceType: 'Microsoft.ManagedIdentity/userAssignedIdentities' }, { times: 1 });
    const mark = emulator.mark();

    await reconcileTenantAzure({ clients }, tenantDesired('limited', emulator));

    const writes = emulator.writes(mark);
    expect(writes).toHaveLength(12);
    expect(writeLimiter.stats.granted).toBe(writes.length);
    expect(writeLimiter.stats.delayed).toBeGreaterThan(0);
    // After a burst of 2, the other 10 writes reach ARM at no more than 50/s: 200 ms at least.
    const span = Date.parse(writes.at(-1)!.time) - Date.parse(writes[0]!.time);
    expect(span).toBeGreaterThanOrEqual(190);
  });

  test('with a read budget, every GET (operation polls included) waits on the read limiter', async () => {
    const { emulator } = env;
    const writeLimiter = createWriteLimiter({ writesPerSecond: 1000, burst: 1000 });
    const readLimiter = createWriteLimiter({ writesPerSecond: 100, burst: 5 });
    const clients = createAzureClients({
      subscriptionId: emulator.subscriptionId,
      endpoint: emulator.endpoint,
      ca: emulator.ca,
      credential: emulator.credential,
      writeLimiter,
      readLimiter,
    });
    const mark = emulator.mark();
    await reconcileTenantAzure({ clients, inProgressRetryAfterMs: 20 }, tenantDesired('read-limited', emulator));
    const requests = emulator.requests.filter((r) => r.seq > mark);
    const reads = requests.filter((r) => r.method === 'GET');
    expect(reads.length).toBeGreaterThan(10);
    expect(readLimiter.stats.granted).toBe(reads.length);
    expect(writeLimiter.stats.granted).toBe(requests.length - reads.length);
    expect(readLimiter.stats.delayed).toBeGreaterThan(0);
  });

  test('a restart in the middle of creating the server resumes without a second write or operation', async () => {
    const { emulator, deps } = env;
    const desired = tenantDesired('restart', emulator);
    const ids = resourceIds(emulator, tenantAzureNames('restart', 'production'));
    emulator.faults.add({
      name: 'slow server create',
      match: { method: 'PUT', resourceType: 'Microsoft.Sql/servers' },
      action: { kind: 'lroDelay', ms: 300 },
      times: 1,
    });

    // The first operator process starts the server create, then "dies": it stops awaiting and polling.
    const firstProcess = new AbortController();
    const first = reconcileTenantAzure({ ...deps, signal: firstProcess.signal }, desired).catch((err: unknown) => err);
    await waitFor(() => (emulator.state.get(ids.server)?.properties as { state?: string } | undefined)?.state === 'Creating');
    firstProcess.abort();
    expect(await first).toMatchObject({ reason: 'Canceled' });

    // The next process finds the server still Creating: no write, a retry hint instead.
    const mark = emulator.mark();
    const second = await reconcileTenantAzure(deps, desired).catch((err: unknown) => err);
    expect(second).toBeInstanceOf(RetryableError);
    expect(second).toMatchObject({ reason: 'AzureOperationInProgress' });
    expect(emulator.writes(mark)).toEqual([]);

    const { observed } = await reconcileUntilConverged(deps, desired, { maxAttempts: 200, maxDelayMs: 20 });

    expectSecureTenant(emulator, desired, observed);
    const serverPuts = emulator.requests.filter((r) => r.method === 'PUT' && r.path.toLowerCase() === ids.server.toLowerCase());
    expect(serverPuts).toHaveLength(1);
    expect(emulator.state.operations().filter((op) => op.resourceId === ids.server)).toHaveLength(1);
    expect(emulator.state.list('Microsoft.Sql/servers').filter((s) => (s.id as string) === ids.server)).toHaveLength(1);
  });
});

describe('deletion policies', () => {
  test('Retain tags every resource orphaned, deletes nothing, and a later reconcile takes them back', async () => {
    const { emulator, deps } = env;
    const desired = tenantDesired('gamma', emulator);
    const observed = await reconcileTenantAzure(deps, desired);
    const ids = resourceIds(emulator, observed.names);
    const mark = emulator.mark();

    await releaseTenantAzure(deps, desired);

    const writes = emulator.writes(mark);
    expect(writes.filter((w) => w.method === 'DELETE' || w.method === 'POST')).toEqual([]);
    expect(writes).toHaveLength(5);
    for (const id of [ids.rg, ids.identity, ids.vault, ids.server, ids.database]) {
      expect(emulator.state.get(id)?.tags).toMatchObject({ 'tenancy.dev-orphaned': 'true', 'tenancy.dev-tenant': 'gamma' });
    }
    const again = emulator.mark();
    await releaseTenantAzure(deps, desired);
    expect(emulator.writes(again)).toEqual([]);

    const adopted = await reconcileTenantAzure(deps, desired);
    expect(adopted.changes.map((c) => c.resource)).toEqual(['resourceGroup', 'identity', 'keyVault', 'sqlServer', 'sqlDatabase']);
    for (const id of [ids.rg, ids.identity, ids.vault, ids.server, ids.database]) {
      expect(emulator.state.get(id)?.tags).not.toHaveProperty('tenancy.dev-orphaned');
    }
  });

  test('Delete keeps a final backup, soft-deletes the vault without purging it, removes the rest', async () => {
    const { emulator, deps } = env;
    const desired = tenantDesired('delta', emulator);
    const observed = await reconcileTenantAzure(deps, desired);
    const ids = resourceIds(emulator, observed.names);
    const keyUri = keyUriOf(emulator, ids.key);
    const mark = emulator.mark();

    await deleteTenantAzure(deps, desired);

    const writes = emulator.writes(mark).map((w) => `${w.method} ${w.resourceType}`);
    expect(writes).toEqual([
      'PUT Microsoft.Sql/servers/databases/backupLongTermRetentionPolicies',
      'DELETE Microsoft.Sql/servers/databases',
      'DELETE Microsoft.Sql/servers',
      'DELETE Microsoft.ManagedIdentity/userAssignedIdentities',
      'DELETE Microsoft.KeyVault/vaults',
      'DELETE Microsoft.Resources/resourceGroups',
    ]);
    expect(emulator.state.list().filter((r) => (r.id as string).startsWith(ids.rg))).toEqual([]);
    expect(emulator.state.get(ids.rg)).toBeUndefined();
    expect(emulator.state.deletedVaults()).toContainEqual(
      expect.objectContaining({
        name: observed.names.keyVault,
        properties: expect.objectContaining({ purgeProtectionEnabled: true, keys: ['tde-key'] }),
      }),
    );
    const [backup] = emulator.state.retainedBackups().filter((b) => b.databaseName === observed.names.sqlDatabase);
    expect(backup?.backupExpirationTime.getTime()).toBe(emulator.clock.now().getTime() + 12 * 7 * 86_400_000);

    const idempotent = emulator.mark();
    await deleteTenantAzure(deps, desired);
    expect(emulator.writes(idempotent)).toEqual([]);

    // The tenant comes back: the soft-deleted vault is recovered with its key, not recreated.
    const back = await reconcileTenantAzure(deps, desired);
    expect(back.changes).toContainEqual({ resource: 'keyVault', fields: ['created'] });
    expect(back.changes.map((c) => c.resource)).not.toContain('tdeKey');
    expect(keyUriOf(emulator, ids.key)).toBe(keyUri);
    expectSecureTenant(emulator, desired, back);
  });

  test('a failure while deleting surfaces as an error and nothing is taken for gone', async () => {
    const { emulator, deps } = env;
    const desired = tenantDesired('epsilon', emulator);
    const observed = await reconcileTenantAzure(deps, desired);
    const ids = resourceIds(emulator, observed.names);

    // A read that fails is not a 404: nothing may be deleted on the strength of it.
    emulator.faults.add({
      match: { method: 'GET', resourceType: 'Microsoft.Sql/servers/databases' },
      action: { kind: 'error', status: 403, code: 'AuthorizationFailed' },
      times: 1,
    });
    let mark = emulator.mark();
    const forbidden = await deleteTenantAzure(deps, desired).catch((err: unknown) => err);
    expect(forbidden).toBeInstanceOf(TerminalError);
    expect(forbidden).toMatchObject({
      reason: 'AzureAuthorizationFailed',
      message: expect.stringContaining('delete SQL database'),
    });
    expect(emulator.writes(mark)).toEqual([]);
    expect(emulator.state.get(ids.database)).toBeDefined();

    // Nor is a 404 about the subscription.
    emulator.faults.add({
      match: { method: 'GET', resourceType: 'Microsoft.Sql/servers/databases' },
      action: { kind: 'error', status: 404, code: 'SubscriptionNotFound' },
      times: 1,
    });
    mark = emulator.mark();
    await expect(deleteTenantAzure(deps, desired)).rejects.toMatchObject({ reason: 'AzureSubscriptionNotFound' });
    expect(emulator.writes(mark)).toEqual([]);

    // The server's delete operation fails: the error surfaces, the server and the group stay.
    emulator.faults.failOperation({ method: 'DELETE', resourceType: 'Microsoft.Sql/servers' }, { times: 1 });
    mark = emulator.mark();
    const failed = await deleteTenantAzure(deps, desired).catch((err: unknown) => err);
    expect(failed).toBeInstanceOf(RetryableError);
    expect(failed).toMatchObject({ reason: 'AzureOperationFailed', message: expect.stringContaining('delete SQL server') });
    expect(emulator.state.get(ids.database)).toBeUndefined();
    expect(emulator.state.get(ids.server)).toMatchObject({ properties: { state: 'Ready' } });
    expect(emulator.state.get(ids.rg)).toBeDefined();
    expect(emulator.writes(mark).map((w) => w.resourceType)).not.toContain('Microsoft.Resources/resourceGroups');

    // Retrying resumes where it stopped.
    await deleteTenantAzure(deps, desired);
    expect(emulator.state.get(ids.server)).toBeUndefined();
    expect(emulator.state.get(ids.rg)).toBeUndefined();
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}
