/**
 * A tenant's Azure resources end to end: the plan the reconciler computes, run by the ARM engine
 * through the operator's real SDK pipeline against the ARM emulator, with Azure's behaviours on
 * (SKU normal form, RBAC propagation, the managed-identity write limit, WAF placement, weekly
 * long-term copies).
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { TenantStatus } from '../../../src/api/v1alpha1/tenant.ts';
import { type PendingOperation, reconcileResources } from '../../../src/azure/engine.ts';
import { createWriteLimiter } from '../../../src/azure/write-limiter.ts';
import { PlatformError } from '../../../src/runtime/errors.ts';
import { DEFAULT_FINAL_BACKUP_RETENTION, tenantAzureResources } from '../../../src/tenant/azure.ts';
import { armClientOf } from '../../../src/tenant/azure-step.ts';
import { createTypedAzureClients } from '../../harness/azure-sdk-clients.ts';
import {
  type AzureTestEnv,
  azureStep,
  converge,
  countRequests,
  expectSecureTenant,
  resourceIds,
  startAzureTestEnv,
  storedTenant,
  tenantPlan,
} from './support.ts';

let env: AzureTestEnv;

beforeAll(async () => {
  env = await startAzureTestEnv();
});

afterAll(async () => {
  await env.emulator.stop();
});

describe('the engine over a tenant’s plan', () => {
  test('creates every resource with its security settings, through RBAC propagation, then makes zero writes', async () => {
    const { emulator } = env;
    // The key is tried on the pass right after its role exists (no propagation wait assumed), so
    // Azure's refusal while the role propagates (300 ms here) is met even on a loaded machine; with
    // the configured wait (also 300 ms) it was a race.
    const plan = { ...tenantPlan(env, 'acme'), rbacPropagationMs: 0 };
    const mark = emulator.mark();

    const { last, retries } = await converge(env, plan);

    expectSecureTenant(emulator, plan);
    // One write per resource, nothing twice: RG, identity, FIC, vault, key (with its rotation
    // policy), 2 role assignments, server (with Entra admin + Entra-only), server key, protector,
    // database, short- and long-term retention, WAF policy; per service (SQL, vault) a private
    // endpoint and its DNS zone group; and for audit and threat detection four more: server
    // auditing, its diagnostic setting on master, the vault's diagnostic setting, Defender for SQL.
    // The audit workspace's retention is read, never written.
    const writes = emulator.writes(mark);
    // While the crypto role propagates, the server key is refused (and retried later): the only
    // failed writes.
    const refused = writes.filter((w) => w.status >= 300);
    expect(refused.map((w) => `${w.status} ${w.resourceType}`)).toEqual(refused.map(() => '400 Microsoft.Sql/servers/keys'));
    expect(
      writes
        .filter((w) => w.status < 300)
        .map((w) => w.resourceType)
        .sort(),
    ).toEqual(
      [
        'Microsoft.Authorization/roleAssignments',
        'Microsoft.Authorization/roleAssignments',
        'Microsoft.Insights/diagnosticSettings',
        'Microsoft.Insights/diagnosticSettings',
        'Microsoft.KeyVault/vaults',
        'Microsoft.KeyVault/vaults/keys',
        'Microsoft.ManagedIdentity/userAssignedIdentities',
        'Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials',
        'Microsoft.Network/ApplicationGatewayWebApplicationFirewallPolicies',
        'Microsoft.Network/privateEndpoints',
        'Microsoft.Network/privateEndpoints',
        'Microsoft.Network/privateEndpoints/privateDnsZoneGroups',
        'Microsoft.Network/privateEndpoints/privateDnsZoneGroups',
        'Microsoft.Resources/resourceGroups',
        'Microsoft.Sql/servers',
        'Microsoft.Sql/servers/advancedThreatProtectionSettings',
        'Microsoft.Sql/servers/auditingSettings',
        'Microsoft.Sql/servers/databases',
        'Microsoft.Sql/servers/databases/backupLongTermRetentionPolicies',
        'Microsoft.Sql/servers/databases/backupShortTermRetentionPolicies',
        'Microsoft.Sql/servers/encryptionProtector',
        'Microsoft.Sql/servers/keys',
      ].sort(),
    );
    // The server key waited for the crypto role to propagate: retried, never terminal.
    expect(retries).toContain('AzureRbacPropagating');
    // Ask for S0-style or vCore-with-count SKUs, read back Azure's normal form: still converged.
    expect(last.changes).toEqual([]);

    const again = emulator.mark();
    const steady = await reconcileResources(env.arm, tenantAzureResources(plan), { now: new Date() });
    expect(steady.converged).toBe(true);
    expect(emulator.writes(again)).toEqual([]);
    expect(countRequests(emulator, again)).toMatchObject({ writes: 0, polls: 0 });
  });

  test('never waits for an operation: a pass returns while the server is still being created, and resumes it', async () => {
    const { emulator } = env;
    const plan = tenantPlan(env, 'patient');
    const ids = resourceIds(emulator, plan.names);
    emulator.faults.add({
      name: 'slow server create',
      match: { method: 'PUT', resourceType: 'Microsoft.Sql/servers' },
      action: { kind: 'lroDelay', ms: 1_500 },
      times: 1,
    });
    let pending: PendingOperation[] = [];
    let serverBusy = false;
    for (let i = 0; i < 50 && !serverBusy; i++) {
      const pass = await reconcileResources(env.arm, tenantAzureResources(plan), { pending, now: new Date() });
      pending = pass.pending;
      serverBusy = pass.reports.get('sqlServer')?.phase === 'Busy';
      if (!serverBusy) await new Promise((r) => setTimeout(r, 20));
    }
    expect(serverBusy).toBe(true);
    // The pass came back with the operation recorded, not its result.
    expect(pending).toContainEqual(expect.objectContaining({ key: 'sqlServer', id: ids.server, method: 'PUT' }));
    expect((emulator.state.get(ids.server)?.properties as { state?: string } | undefined)?.state).toBe('Creating');
    // Independent resources went ahead meanwhile.
    expect(emulator.state.get(ids.vault)).toBeDefined();

    await converge(env, plan, { pending });
    const serverPuts = emulator.requests.filter((r) => r.method === 'PUT' && r.path.toLowerCase() === ids.server.toLowerCase());
    expect(serverPuts).toHaveLength(1);
  });

  test('a restart between beginning the server create and recording it: no second write or operation', async () => {
    const { emulator } = env;
    const plan = tenantPlan(env, 'restart');
    const ids = resourceIds(emulator, plan.names);
    emulator.faults.add({
      name: 'slow server create',
      match: { method: 'PUT', resourceType: 'Microsoft.Sql/servers' },
      // Long enough to outlast the pass that begins it (its identity writes wait for their budget).
      action: { kind: 'lroDelay', ms: 3_000 },
      times: 1,
    });
    for (let i = 0; i < 50; i++) {
      const pass = await reconcileResources(env.arm, tenantAzureResources(plan), { now: new Date() });
      if (pass.pending.some((p) => p.key === 'sqlServer')) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    // The recorded operations are lost (the process died before writing status): pass `[]`.
    const mark = emulator.mark();
    const after = await reconcileResources(env.arm, tenantAzureResources(plan), { pending: [], now: new Date() });
    expect(after.reports.get('sqlServer')?.phase).toBe('Busy');
    expect(emulator.writes(mark).filter((w) => w.resourceType === 'Microsoft.Sql/servers')).toEqual([]);

    await converge(env, plan);
    expectSecureTenant(emulator, plan);
    expect(emulator.requests.filter((r) => r.method === 'PUT' && r.path.toLowerCase() === ids.server.toLowerCase())).toHaveLength(
      1,
    );
    expect(emulator.state.operations().filter((op) => op.resourceId.toLowerCase() === ids.server.toLowerCase())).toHaveLength(1);
  });

  test('a tier change is one PATCH of the database SKU, compared in Azure’s normal form', async () => {
    const { emulator } = env;
    const small = tenantPlan(env, 'beta', { tier: 'Small' });
    await converge(env, small);
    const mark = emulator.mark();

    const large = tenantPlan(env, 'beta', { tier: 'Large' });
    expect(large.sqlSku).not.toEqual(small.sqlSku);
    await converge(env, large);

    expect(emulator.writes(mark).map((w) => `${w.method} ${w.resourceType}`)).toEqual(['PATCH Microsoft.Sql/servers/databases']);
    const again = emulator.mark();
    await converge(env, large);
    expect(emulator.writes(again)).toEqual([]);
  });

  test('every write waits on the operator-wide budget, and identity writes on Microsoft.ManagedIdentity’s own', async () => {
    const { emulator } = env;
    const writeLimiter = createWriteLimiter({ writesPerSecond: 1000, burst: 1000 });
    const managedIdentityWriteLimiter = createWriteLimiter({ writesPerSecond: 2, burst: 1 });
    const clients = createTypedAzureClients({
      subscriptionId: emulator.subscriptionId,
      endpoint: emulator.endpoint,
      ca: emulator.ca,
      credential: emulator.credential,
      writeLimiter,
      managedIdentityWriteLimiter,
    });
    const limited = { ...env, clients, arm: armClientOf(clients, { endpoint: emulator.endpoint }) };
    // Azure's budget is per subscription and second: leave the earlier tests' identity writes behind.
    await new Promise((r) => setTimeout(r, 1_100));
    const mark = emulator.mark();
    await converge(limited, tenantPlan(env, 'limited'));
    const writes = emulator.writes(mark);
    expect(writeLimiter.stats.granted).toBe(writes.length);
    const identityWrites = writes.filter((w) => (w.resourceType ?? '').startsWith('Microsoft.ManagedIdentity/'));
    expect(managedIdentityWriteLimiter.stats.granted).toBe(identityWrites.length);
    // Azure's ~2 writes/s for the provider: none of them was throttled.
    expect(identityWrites.filter((w) => w.status === 429)).toEqual([]);
  });
});

describe('the Azure step’s conditions', () => {
  test('a transient failure on a converged tenant keeps its components True; a platform failure shows at once', async () => {
    const { emulator } = env;
    const plan = tenantPlan(env, 'steady');
    await converge(env, plan);
    const { step, metrics } = azureStep(env);
    const tenant = storedTenant('steady');
    const first = await step.reconcile(tenant, plan);
    expect(first.failure).toBeUndefined();
    expect(first.conditions.every((c) => c.status === 'True')).toBe(true);
    const stored = {
      ...tenant,
      status: { conditions: first.conditions.map((c) => ({ ...c, lastTransitionTime: '', observedGeneration: 1 })) },
    };

    // A storm of 503s on the SQL reads: nothing changed in Azure, so nothing flips.
    emulator.faults.unavailable({ method: 'GET', resourceType: 'Microsoft.Sql/servers' }, { retryAfterSeconds: 0 });
    const storm = await step.reconcile(stored, plan);
    emulator.faults.clear();
    expect(storm.failure).toMatchObject({ reason: 'AzureUnavailable' });
    expect(storm.conditions.find((c) => c.type === 'DatabaseReady')).toMatchObject({ status: 'True' });
    expect(storm.conditions.find((c) => c.type === 'AzureResourcesReady')).toMatchObject({ status: 'True' });

    // Authorization taken away: the platform team must act, and the condition says so at once. On
    // the SQL server, which the storm kept from being read: what the storm pass did read Ready (the
    // vault) is trusted for the rest of this episode, as the read of seconds ago it is, and a
    // convergence found on that trust is dated by it (no re-read of every resource at the end).
    emulator.faults.add({
      match: { method: 'GET', resourceType: 'Microsoft.Sql/servers' },
      action: { kind: 'error', status: 403, code: 'AuthorizationFailed', message: 'no access' },
    });
    const denied = await step.reconcile(stored, plan);
    emulator.faults.clear();
    expect(denied.failure).toBeInstanceOf(PlatformError);
    expect(denied.conditions.find((c) => c.type === 'DatabaseReady')).toMatchObject({
      status: 'False',
      reason: 'AzureAuthorizationFailed',
    });
    expect((await metrics.azureStateChecks.get()).values.find((v) => v.labels.source === 'azure')?.value).toBe(3);
  });

  test('a refused resource group shows on every component waiting behind it, not as Provisioning forever', async () => {
    const { emulator } = env;
    const plan = tenantPlan(env, 'groupless');
    const { step } = azureStep(env);
    emulator.faults.add({
      match: { method: 'PUT', resourceType: 'Microsoft.Resources/resourceGroups' },
      action: { kind: 'error', status: 403, code: 'AuthorizationFailed', message: 'no access to create resource groups' },
    });
    const refused = await step.reconcile(storedTenant('groupless'), plan);
    emulator.faults.clear();
    expect(refused.failure).toBeInstanceOf(PlatformError);
    for (const type of ['IdentityReady', 'KeyVaultReady', 'DatabaseReady', 'WafEnforced', 'AzureResourcesReady'])
      expect([type, refused.conditions.find((c) => c.type === type)]).toEqual([
        type,
        expect.objectContaining({ status: 'False', reason: 'AzureAuthorizationFailed' }),
      ]);
  });

  test('without a BackupPolicy the database is neither created nor changed, and the condition says why', async () => {
    const { emulator } = env;
    const plan = tenantPlan(env, 'nopolicy', { backup: null });
    const { last } = await converge(env, plan);
    const ids = resourceIds(emulator, plan.names);
    expect(emulator.state.get(ids.database)).toBeUndefined();
    expect(last.reports.has('sqlDatabase')).toBe(false);
    const { step } = azureStep(env);
    const result = await step.reconcile(storedTenant('nopolicy'), plan);
    expect(result.conditions.find((c) => c.type === 'DatabaseReady')).toMatchObject({
      status: 'False',
      reason: 'BackupPolicyNotFound',
    });
  });
});

describe('deletion policies, one step per pass', () => {
  /** Runs release or delete passes like the finalizer does, carrying the recorded operations. */
  async function tearDown(
    run: (status: TenantStatus['azure']) => ReturnType<ReturnType<typeof azureStep>['step']['release']>,
    maxPasses = 200,
  ) {
    let status: TenantStatus['azure'] = {};
    for (let i = 0; i < maxPasses; i++) {
      const outcome = await run(status);
      status = { operations: outcome.operations };
      if (outcome.finished || outcome.failure) return outcome;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error('teardown did not finish');
  }

  test('Retain tags every resource orphaned, the WAF policy too, deletes nothing; the tenant takes them back', async () => {
    const { emulator } = env;
    const plan = tenantPlan(env, 'gamma');
    await converge(env, plan);
    const ids = resourceIds(emulator, plan.names);
    const { step } = azureStep(env);
    const tenant = storedTenant('gamma');
    const mark = emulator.mark();

    const outcome = await tearDown((azure) => step.release({ ...tenant, status: { azure } }));

    expect(outcome.finished).toBe(true);
    const writes = emulator.writes(mark);
    expect(writes.filter((w) => w.method === 'DELETE' || w.method === 'POST')).toEqual([]);
    for (const id of [ids.rg, ids.identity, ids.vault, ids.server, ids.database, ids.waf]) {
      expect(emulator.state.get(id)?.tags).toMatchObject({ 'tenancy.dev-orphaned': 'true', 'tenancy.dev-tenant': 'gamma' });
    }
    const again = emulator.mark();
    await tearDown((azure) => step.release({ ...tenant, status: { azure } }));
    expect(emulator.writes(again)).toEqual([]);

    await converge(env, plan);
    for (const id of [ids.rg, ids.identity, ids.vault, ids.server, ids.database, ids.waf]) {
      expect(emulator.state.get(id)?.tags).not.toHaveProperty('tenancy.dev-orphaned');
    }
  });

  test('a tenant whose region is refused is released all the same (by name, not by desired state)', async () => {
    const { step } = azureStep(env);
    // No plan can be computed for this region; release needs none.
    const outcome = await step.release(storedTenant('refused', { region: 'westeurope' }));
    expect(outcome).toMatchObject({ finished: true, operations: [] });
  });

  test('Delete waits for a long-term backup newer than the request, keeps the vault and its key, deletes the rest', async () => {
    const { emulator } = env;
    const plan = tenantPlan(env, 'delta');
    await converge(env, plan);
    const ids = resourceIds(emulator, plan.names);
    const { step } = azureStep(env);
    const requested = emulator.clock.now();
    const tenant = {
      ...storedTenant('delta'),
      metadata: { ...storedTenant('delta').metadata, deletionTimestamp: requested.toISOString() },
    };
    const mark = emulator.mark();

    // No weekly full backup since the request: nothing is deleted, and the Tenant says why.
    const waiting = await step.delete({ ...tenant, status: {} }, DEFAULT_FINAL_BACKUP_RETENTION);
    expect(waiting.finished).toBe(false);
    expect(waiting.waitingFor).toMatch(/long-term backup taken after the deletion was requested/);
    expect(emulator.writes(mark)).toEqual([]);
    expect(emulator.state.get(ids.database)).toBeDefined();

    // A week later Azure has copied the weekly full backup: the deletion goes ahead.
    emulator.clock.advance(7 * 86_400_000 + 60_000);
    const outcome = await tearDown((azure) => step.delete({ ...tenant, status: { azure } }, DEFAULT_FINAL_BACKUP_RETENTION));
    expect(outcome.finished).toBe(true);
    for (const id of [ids.database, ids.server, ids.identity, ids.waf]) expect(emulator.state.get(id)).toBeUndefined();
    // The vault (and the group holding it) stays: the backups are encrypted with its key.
    expect(emulator.state.get(ids.vault)?.tags).toMatchObject({
      'tenancy.dev-orphaned': 'true',
      'tenancy.dev-keep-until': expect.stringMatching(/^\d{4}-\d{2}-\d{2}$/),
    });
    const keepUntil = Date.parse(
      (emulator.state.get(ids.vault)?.tags as Record<string, string> | undefined)?.['tenancy.dev-keep-until'] ?? '',
    );
    const retained = emulator.state.retainedBackups().filter((b) => b.databaseName === plan.names.sqlDatabase);
    expect(retained.length).toBeGreaterThan(0);
    for (const b of retained)
      expect(keepUntil).toBeGreaterThanOrEqual(Date.parse(b.backupExpirationTime.toISOString().slice(0, 10)));
    expect(retained.some((b) => b.backupTime.getTime() >= requested.getTime())).toBe(true);
    expect(emulator.state.get(`${ids.vault}/keys/${plan.names.tdeKey}`)).toBeDefined();

    const idempotent = emulator.mark();
    await tearDown((azure) => step.delete({ ...tenant, status: { azure } }, DEFAULT_FINAL_BACKUP_RETENTION));
    expect(emulator.writes(idempotent)).toEqual([]);
  });

  test('a failure while deleting surfaces classified, and nothing is taken for gone', async () => {
    const { emulator } = env;
    const plan = tenantPlan(env, 'epsilon');
    await converge(env, plan);
    const ids = resourceIds(emulator, plan.names);
    const { step } = azureStep(env);
    emulator.clock.advance(7 * 86_400_000 + 60_000);
    const tenant = {
      ...storedTenant('epsilon'),
      metadata: {
        ...storedTenant('epsilon').metadata,
        deletionTimestamp: new Date(emulator.clock.now().getTime() - 7 * 86_400_000).toISOString(),
      },
    };

    // A read that fails is not a 404: nothing may be deleted on the strength of it.
    emulator.faults.add({
      match: { method: 'GET', resourceType: 'Microsoft.Sql/servers/databases' },
      action: { kind: 'error', status: 403, code: 'AuthorizationFailed' },
      times: 1,
    });
    let mark = emulator.mark();
    const forbidden = await step.delete({ ...tenant, status: {} }, DEFAULT_FINAL_BACKUP_RETENTION);
    expect(forbidden.failure).toBeInstanceOf(PlatformError);
    expect(forbidden.failure).toMatchObject({ reason: 'AzureAuthorizationFailed' });
    expect(emulator.writes(mark)).toEqual([]);

    // The server's delete operation fails: the error surfaces, the server stays.
    emulator.faults.failOperation({ method: 'DELETE', resourceType: 'Microsoft.Sql/servers' }, { times: 1 });
    mark = emulator.mark();
    const failed = await tearDown((azure) => step.delete({ ...tenant, status: { azure } }, DEFAULT_FINAL_BACKUP_RETENTION));
    expect(failed.failure).toMatchObject({ reason: 'AzureOperationFailed', message: expect.stringContaining('SQL server') });
    expect(emulator.state.get(ids.database)).toBeUndefined();
    expect(emulator.state.get(ids.server)).toBeDefined();

    // Retrying resumes where it stopped.
    const done = await tearDown((azure) => step.delete({ ...tenant, status: { azure } }, DEFAULT_FINAL_BACKUP_RETENTION));
    expect(done.finished).toBe(true);
    expect(emulator.state.get(ids.server)).toBeUndefined();
  });
});
