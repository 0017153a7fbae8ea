/**
 * Placement (issue #15) end to end against the ARM emulator: tenants' databases on shared SQL
 * servers, each with its own key and identity (database-level customer-managed key), the pool
 * filling server after server, Dedicated tenants on servers of their own, tenants from before
 * placement left untouched, and deletion that never takes a shared server along.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { backupPolicySpecSchema } from '../../../src/api/v1alpha1/backup-policy.ts';
import type { Tenant, TenantStatus } from '../../../src/api/v1alpha1/tenant.ts';
import type { ArmBody } from '../../../src/azure/arm-client.ts';
import { reconcileResources } from '../../../src/azure/engine.ts';
import { RESOURCES_API_VERSION } from '../../../src/azure/kinds/resources.ts';
import { SQL_API_VERSION } from '../../../src/azure/kinds/sql.ts';
import { TenantBackup } from '../../../src/backup/tenant-backup.ts';
import type { OperatorContext } from '../../../src/context.ts';
import { EventRecorder } from '../../../src/observability/events.ts';
import { silentLogger } from '../../../src/observability/logger.ts';
import { hashOf } from '../../../src/runtime/compare.ts';
import { DEFAULT_FINAL_BACKUP_RETENTION, tenantAzureIds, tenantAzureResources } from '../../../src/tenant/azure.ts';
import type { TenantAzureStep } from '../../../src/tenant/azure-step.ts';
import { type SqlPlacement, sharedPoolResourceGroup } from '../../../src/tenant/placement.ts';
import type { TenantOptions } from '../../harness/fixtures.ts';
import { type AzureTestEnv, azureStep, converge, countRequests, startAzureTestEnv, storedTenant, tenantPlan } from './support.ts';

let env: AzureTestEnv;
/** The Tenants "in the cluster", with the placement each recorded. */
const cluster: Tenant[] = [];

beforeAll(async () => {
  env = await startAzureTestEnv({
    operatorConfig: { placement: { defaultIsolation: 'Shared', maxDatabasesPerServer: 2 } },
  });
});

afterAll(async () => {
  await env.emulator.stop();
});

const props = (body: ArmBody | undefined): ArmBody => (body?.properties ?? {}) as ArmBody;

/** What the reconciler does for a new tenant: place it, record the placement, converge its plan. */
async function placeAndConverge(step: TenantAzureStep, name: string, options: TenantOptions = {}) {
  const tenant = storedTenant(name, options);
  const decision = await step.place(tenant, false);
  const plan = tenantPlan(env, name, { ...options, placement: decision.placement });
  await converge(env, plan);
  cluster.push({ ...tenant, status: { placement: decision.placement } });
  return { tenant, decision, plan, ids: tenantAzureIds(plan.subscriptionId, plan.names, plan.sharedSql) };
}

describe('shared servers', () => {
  test('two tenants share a server; each database is encrypted with its own key through its own identity', async () => {
    const { emulator } = env;
    const { step } = azureStep(env, () => cluster);
    const a = await placeAndConverge(step, 'alpha');
    const b = await placeAndConverge(step, 'bravo');

    expect(a.decision).toMatchObject({ reason: 'PlacedOnSharedServer', record: true });
    expect(a.decision.placement.sqlServer).toEqual(b.decision.placement.sqlServer);
    expect(a.decision.placement.sqlServer).toMatchObject({
      resourceGroup: sharedPoolResourceGroup('westeurope', 'Production'),
      shared: true,
    });
    expect(a.ids.sqlServer).toBe(b.ids.sqlServer);

    // The shared server: the platform's (no tenant tag), Entra-only, TLS 1.2, private, audited,
    // with its own system identity, and no tenant's key at the server level.
    const server = emulator.state.get(a.ids.sqlServer);
    expect(server).toMatchObject({
      identity: { type: 'SystemAssigned' },
      properties: { minimalTlsVersion: '1.2', publicNetworkAccess: 'Disabled', state: 'Ready' },
    });
    expect(server?.tags).not.toHaveProperty('tenancy.dev-tenant');
    expect(emulator.state.get(`${a.ids.sqlServer}/azureADOnlyAuthentications/Default`)).toMatchObject({
      properties: { azureADOnlyAuthentication: true },
    });
    expect(emulator.state.get(`${a.ids.sqlServer}/auditingSettings/default`)).toMatchObject({ properties: { state: 'Enabled' } });
    expect(emulator.state.get(`${a.ids.sqlServer}/advancedThreatProtectionSettings/Default`)).toMatchObject({
      properties: { state: 'Enabled' },
    });
    expect(props(emulator.state.get(`${a.ids.sqlServer}/encryptionProtector/current`)).serverKeyType).toBe('ServiceManaged');

    // Each database: its tenant's identity and its tenant's key, and nobody else's.
    for (const t of [a, b]) {
      const identity = emulator.state.get(t.ids.identity);
      const keyUri = props(emulator.state.get(`${t.ids.vault}/keys/${t.plan.names.tdeKey}`)).keyUriWithVersion as string;
      const database = emulator.state.get(t.ids.database);
      expect(database?.tags).toMatchObject({ 'tenancy.dev-tenant': t.tenant.metadata.name });
      expect(database?.identity).toMatchObject({
        type: 'UserAssigned',
        userAssignedIdentities: { [t.ids.identity]: { principalId: props(identity).principalId } },
      });
      expect(
        Object.keys((database?.identity as { userAssignedIdentities?: object } | undefined)?.userAssignedIdentities ?? {}),
      ).toHaveLength(1);
      expect(props(database)).toMatchObject({ encryptionProtector: keyUri, status: 'Online' });
      expect(Object.keys(props(database).keys as object)).toEqual([keyUri]);
      // Its own private endpoint to the shared server: its own address, no shared DNS record.
      const endpoint = emulator.state.get(t.ids.privateEndpoints.sql);
      expect(props(endpoint).privateLinkServiceConnections).toEqual([
        expect.objectContaining({ properties: expect.objectContaining({ privateLinkServiceId: t.ids.sqlServer }) }),
      ]);
      expect(emulator.state.get(`${t.ids.privateEndpoints.sql}/privateDnsZoneGroups/default`)).toBeUndefined();
    }
    const address = (id: string) =>
      (props(emulator.state.get(id)).customDnsConfigs as { ipAddresses: string[] }[])[0]?.ipAddresses[0];
    expect(address(a.ids.privateEndpoints.sql)).toEqual(expect.any(String));
    expect(address(a.ids.privateEndpoints.sql)).not.toBe(address(b.ids.privateEndpoints.sql));
    expect(emulator.state.specViolations()).toEqual([]);

    // Converged: another pass writes nothing.
    const mark = emulator.mark();
    const steady = await reconcileResources(env.arm, tenantAzureResources(a.plan), { now: emulator.clock.now() });
    expect(steady.converged).toBe(true);
    expect(emulator.writes(mark)).toEqual([]);
  });

  test('Azure refuses a database a key its identity cannot reach (the emulator as Azure)', async () => {
    const [a, b] = cluster as [Tenant, Tenant];
    const ids = (t: Tenant) =>
      tenantAzureIds(env.emulator.subscriptionId, tenantPlan(env, t.metadata.name).names, {
        resourceGroup: t.status?.placement?.sqlServer.resourceGroup ?? '',
        name: t.status?.placement?.sqlServer.name ?? '',
      });
    const alpha = ids(a);
    const bravoKey = props(env.emulator.state.get(`${ids(b).vault}/keys/tde-key`)).keyUriWithVersion as string;
    await expect(
      env.arm.beginWrite('PUT', `${alpha.sqlServer}/databases/stolen-key`, SQL_API_VERSION, {
        location: 'westeurope',
        identity: { type: 'UserAssigned', userAssignedIdentities: { [alpha.identity]: {} } },
        properties: { keys: { [bravoKey]: {} }, encryptionProtector: bravoKey },
      }),
    ).rejects.toMatchObject({ statusCode: 400, code: 'AzureKeyVaultMissingPermissions' });
    // A key without an identity to reach it is refused too.
    await expect(
      env.arm.beginWrite('PUT', `${alpha.sqlServer}/databases/no-identity`, SQL_API_VERSION, {
        location: 'westeurope',
        properties: { keys: { [bravoKey]: {} }, encryptionProtector: bravoKey },
      }),
    ).rejects.toMatchObject({ statusCode: 400 });
    expect(env.emulator.state.get(`${alpha.sqlServer}/databases/stolen-key`)).toBeUndefined();
  });

  test('a full server gets no new database: the next tenant opens the next server, counted from what Azure lists', async () => {
    const { emulator } = env;
    const { step } = azureStep(env, () => cluster);
    const first = cluster[0]?.status?.placement as SqlPlacement;
    const c = await placeAndConverge(step, 'charlie');
    expect(c.decision.placement.sqlServer.name).not.toBe(first.sqlServer.name);
    expect(c.decision.placement.sqlServer.name).toMatch(/^sqlpool-westeurope-prd-2-[0-9a-f]{6}$/);
    const firstServer = `${c.ids.sqlServer.split('/servers/')[0]}/servers/${first.sqlServer.name}`;
    expect(
      emulator.state.list('Microsoft.Sql/servers/databases').filter((d) => (d.id as string).startsWith(`${firstServer}/`)),
    ).toHaveLength(2);

    // A fresh operator (no reservations, an empty cache) counts from Azure: server 1 is full, server
    // 2 has room for one. Two tenants placed at once: one takes that place, the other opens server 3.
    const { step: fresh } = azureStep(env);
    const [d, e] = await Promise.all([fresh.place(storedTenant('delta'), false), fresh.place(storedTenant('echo'), false)]);
    const servers = [d.placement.sqlServer.name, e.placement.sqlServer.name].sort();
    expect(servers[0]).toBe(c.decision.placement.sqlServer.name);
    expect(servers[1]).toMatch(/^sqlpool-westeurope-prd-3-/);
    // Placing writes nothing: the server is created with the tenant's resources.
    const mark = emulator.mark();
    await fresh.place(storedTenant('foxtrot'), false);
    expect(countRequests(emulator, mark).writes).toBe(0);
  });

  test('several new tenants in a row: each pool server is listed once, and what the listing misses is counted', async () => {
    const { emulator } = env;
    const { step } = azureStep(env, () => cluster);
    const mark = emulator.mark();
    const placed: string[] = [];
    for (const name of ['golf', 'hotel', 'india', 'juliett']) {
      placed.push((await step.place(storedTenant(name), false)).placement.sqlServer.name.toLowerCase());
    }
    const lists = emulator.requests
      .filter((r) => r.seq > mark && r.kind === 'collection' && /\/databases$/i.test(r.path))
      .map((r) => r.path.toLowerCase());
    expect(lists.length).toBeGreaterThan(0);
    expect(new Set(lists).size).toBe(lists.length);
    // The listings were read before any of the four was placed: the reservations keep every server
    // within maxDatabasesPerServer (2), counting the databases Azure already holds.
    const held = (server: string) =>
      emulator.state
        .list('Microsoft.Sql/servers/databases')
        .filter((d) => (d.id as string).toLowerCase().includes(`/servers/${server}/databases/`) && d.name !== 'master').length;
    for (const server of new Set(placed)) {
      expect(held(server) + placed.filter((p) => p === server).length).toBeLessThanOrEqual(2);
    }
  });

  test('Dedicated: the tenant gets its own server in its own resource group, with the server-level key', async () => {
    const { emulator } = env;
    const { step } = azureStep(env, () => cluster);
    const g = await placeAndConverge(step, 'golf', { isolation: 'Dedicated' });
    expect(g.decision).toMatchObject({
      reason: 'PlacedOnDedicatedServer',
      placement: {
        isolation: 'Dedicated',
        sqlServer: { resourceGroup: g.plan.names.resourceGroup, name: g.plan.names.sqlServer, shared: false },
      },
    });
    expect(g.plan.sharedSql).toBeUndefined();
    expect(emulator.state.get(g.ids.sqlServer)?.tags).toMatchObject({ 'tenancy.dev-tenant': 'golf' });
    expect(props(emulator.state.get(`${g.ids.sqlServer}/encryptionProtector/current`))).toMatchObject({
      serverKeyType: 'AzureKeyVault',
    });
    expect(props(emulator.state.get(g.ids.database)).encryptionProtector).toBeUndefined();
  });

  test('deleting a shared-server tenant deletes its database only: the server and the other tenant’s database stay', async () => {
    const { emulator } = env;
    const { step } = azureStep(env, () => cluster);
    const alpha = cluster.find((t) => t.metadata.name === 'alpha') as Tenant;
    const bravo = cluster.find((t) => t.metadata.name === 'bravo') as Tenant;
    const shared = alpha.status?.placement?.sqlServer as SqlPlacement['sqlServer'];
    const idsOf = (t: Tenant) => tenantAzureIds(emulator.subscriptionId, tenantPlan(env, t.metadata.name).names, shared);
    const a = idsOf(alpha);

    // Retain (bravo): its resources are tagged orphaned; the shared server is not.
    let pending: TenantStatus['azure'] = {};
    for (let i = 0; i < 50; i++) {
      const released = await step.release({ ...bravo, status: { ...bravo.status, azure: pending } });
      pending = { operations: released.operations };
      if (released.finished || released.failure) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(emulator.state.get(idsOf(bravo).database)?.tags).toMatchObject({ 'tenancy.dev-orphaned': 'true' });
    expect(emulator.state.get(a.sqlServer)?.tags).not.toHaveProperty('tenancy.dev-orphaned');

    // Delete (alpha), once a long-term backup newer than the request exists.
    const requested = emulator.clock.now();
    const deleting = { ...alpha, metadata: { ...alpha.metadata, deletionTimestamp: requested.toISOString() } };
    emulator.clock.advance(7 * 86_400_000 + 60_000);
    let azure: TenantStatus['azure'] = {};
    let outcome: Awaited<ReturnType<TenantAzureStep['delete']>> | undefined;
    for (let i = 0; i < 200 && !(outcome?.finished || outcome?.failure); i++) {
      outcome = await step.delete({ ...deleting, status: { ...deleting.status, azure } }, DEFAULT_FINAL_BACKUP_RETENTION);
      azure = { operations: outcome.operations };
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(outcome).toMatchObject({ finished: true });
    expect(outcome?.failure).toBeUndefined();
    expect(emulator.state.get(a.database)).toBeUndefined();
    expect(emulator.state.get(a.privateEndpoints.sql)).toBeUndefined();
    expect(emulator.state.get(a.sqlServer)).toMatchObject({ properties: { state: 'Ready' } });
    expect(emulator.state.get(`${a.sqlServer}/auditingSettings/default`)).toBeDefined();
    // A week on, the serverless database has auto-paused: there, and serving on the next connection.
    expect(['Online', 'Paused']).toContain(props(emulator.state.get(idsOf(bravo).database)).status);
    // The tenant's vault stays (its backups are encrypted with its key).
    expect(emulator.state.get(a.vault)?.tags).toMatchObject({ 'tenancy.dev-orphaned': 'true' });
  });
});

describe('migration from one server per tenant', () => {
  test('a tenant provisioned before placement is recorded as Dedicated where it is, with zero ARM requests', async () => {
    const { emulator } = env;
    const { step } = azureStep(env, () => cluster);
    // Before the upgrade: the tenant's own server, converged and verified in status.
    const before = tenantPlan(env, 'legacy');
    await converge(env, before);
    const tenant = storedTenant('legacy');
    const first = await step.reconcile(tenant, before);
    expect(first.record.verified).toBeDefined();
    const upgraded: Tenant = {
      ...tenant,
      status: {
        provisionedAt: '2026-01-01T00:00:00Z',
        azure: {
          resourceGroup: before.names.resourceGroup,
          databaseName: before.names.sqlDatabase,
          verified: first.record.verified,
        },
      },
    };

    // After the upgrade (default Shared): the tenant stays on its own server.
    const mark = emulator.mark();
    const decision = await step.place(upgraded, false);
    expect(decision).toMatchObject({
      reason: 'KeptOnOwnServer',
      record: true,
      placement: {
        isolation: 'Dedicated',
        migrated: true,
        sqlServer: { resourceGroup: before.names.resourceGroup, name: before.names.sqlServer, shared: false },
      },
    });
    const after = tenantPlan(env, 'legacy', { placement: decision.placement });
    // The plan is the one verified before the upgrade: trusted, nothing read, nothing written.
    expect(hashOf(after)).toBe(hashOf(before));
    const pass = await step.reconcile({ ...upgraded, status: { ...upgraded.status, placement: decision.placement } }, after);
    expect(pass.failure).toBeUndefined();
    expect(countRequests(emulator, mark)).toEqual({ reads: 0, writes: 0, polls: 0 });
    expect(emulator.writes(mark)).toEqual([]);
  });

  test('a tenant whose status was lost but whose own server exists stays on it (never a second database elsewhere)', async () => {
    const { step } = azureStep(env, () => cluster);
    // 'legacy' (above) has its own server; here it comes back without any status.
    const decision = await step.place(storedTenant('legacy'), false);
    expect(decision).toMatchObject({
      reason: 'KeptOnOwnServer',
      placement: { isolation: 'Dedicated', migrated: true, sqlServer: { shared: false } },
    });
  });

  test('changing spec.isolation of a placed tenant moves nothing and says a planned migration is needed', async () => {
    const { emulator } = env;
    const { step } = azureStep(env, () => cluster);
    const bravo = cluster.find((t) => t.metadata.name === 'bravo') as Tenant;
    const mark = emulator.mark();
    const decision = await step.place({ ...bravo, spec: { ...bravo.spec, isolation: 'Dedicated' } }, false);
    expect(decision).toMatchObject({
      reason: 'IsolationChangeNeedsMigration',
      record: false,
      placement: bravo.status?.placement,
    });
    expect(decision.message).toMatch(/never moved/);
    expect(countRequests(emulator, mark)).toEqual({ reads: 0, writes: 0, polls: 0 });
  });
});

describe('subscription shards', () => {
  const S2 = '00000000-0000-4000-8000-0000000005b2';
  const MISSING = '00000000-0000-4000-8000-00000000dead';
  let shards: AzureTestEnv;
  let placedInS2: SqlPlacement | undefined;
  beforeAll(async () => {
    // Two subscriptions of one SQL server per region each (a tiny quota, so it fills here).
    shards = await startAzureTestEnv({
      extraSubscriptions: [S2],
      operatorConfig: {
        placement: { defaultIsolation: 'Dedicated' },
        subscriptions: [
          { id: '00000000-0000-4000-8000-00000000c0de', limits: { sqlServersPerRegion: 1 } },
          { id: S2, limits: { sqlServersPerRegion: 1 } },
        ],
      },
    });
  });
  afterAll(async () => {
    await shards.emulator.stop();
  });

  test('a full subscription sends the next tenant to the next one; when all are full, nothing is created', async () => {
    const { emulator } = shards;
    const { step, metrics } = azureStep(shards);
    const first = await step.place(storedTenant('one'), false);
    expect(first.placement.subscriptionId).toBe(emulator.subscriptionId);
    await converge(shards, tenantPlan(shards, 'one', { placement: first.placement }));

    // The first subscription holds its one SQL server in westeurope: the next tenant goes to S2,
    // and its resources are created there.
    const second = await step.place(storedTenant('two'), false);
    expect(second.placement.subscriptionId).toBe(S2);
    placedInS2 = second.placement;
    const plan = tenantPlan(shards, 'two', { placement: second.placement });
    await converge(shards, plan);
    const ids = tenantAzureIds(S2, plan.names);
    expect(emulator.state.get(ids.database)).toBeDefined();
    expect(emulator.state.get(ids.sqlServer)?.id).toMatch(new RegExp(`^/subscriptions/${S2}/`));

    // Both full: a clear refusal, no write at all, and the capacity shows in the metrics.
    const mark = emulator.mark();
    await expect(step.place(storedTenant('three'), false)).rejects.toMatchObject({
      reason: 'NoSubscriptionCapacity',
      message: expect.stringContaining(`${S2} (1/1 SQL servers in westeurope)`),
    });
    expect(countRequests(emulator, mark).writes).toBe(0);
    const usage = (await metrics.registry.getSingleMetric('tenant_operator_subscription_usage')?.get())?.values ?? [];
    expect(usage).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ labels: { subscription: S2, region: 'westeurope', quota: 'sql_servers' }, value: 1 }),
      ]),
    );

    // Placed tenants are not affected: converged, nothing to write.
    const steady = emulator.mark();
    await converge(shards, tenantPlan(shards, 'one', { placement: first.placement }));
    expect(emulator.writes(steady)).toEqual([]);
  });

  test('resource groups the operator did not create (the platform’s) count against the quota too', async () => {
    const S3 = '00000000-0000-4000-8000-0000000005b3';
    const fleet = await startAzureTestEnv({
      extraSubscriptions: [S3],
      operatorConfig: {
        placement: { defaultIsolation: 'Dedicated' },
        subscriptions: [{ id: S3, limits: { resourceGroups: 3 } }, { id: '00000000-0000-4000-8000-00000000c0de' }],
      },
    });
    try {
      // Two groups someone else made: room for one tenant's group in S3, not two.
      for (const name of ['platform-network', 'platform-monitoring']) {
        await fleet.arm.beginWrite('PUT', `/subscriptions/${S3}/resourceGroups/${name}`, RESOURCES_API_VERSION, {
          location: 'westeurope',
        });
      }
      const listed = await fleet.arm.list(`/subscriptions/${S3}/resourcegroups`, RESOURCES_API_VERSION);
      expect(listed.map((g) => g.name).sort()).toEqual(['platform-monitoring', 'platform-network']);
      const { step } = azureStep(fleet);
      const first = await step.place(storedTenant('first-in-s3'), false);
      expect(first.placement.subscriptionId).toBe(S3);
      const second = await step.place(storedTenant('second-elsewhere'), false);
      expect(second.placement.subscriptionId).toBe(fleet.emulator.subscriptionId);
    } finally {
      await fleet.emulator.stop();
    }
  });

  test('backup checks and restore drills of a tenant in another subscription read that subscription', async () => {
    const { emulator } = shards;
    // 'two', placed in S2 by the test above (both subscriptions are full now), as its status records it.
    const placement = placedInS2 as SqlPlacement;
    expect(placement.subscriptionId).toBe(S2);
    const plan = tenantPlan(shards, 'two', { placement });
    const tenant: Tenant = { ...storedTenant('two'), status: { placement } };
    const logger = silentLogger();
    const ctx = {
      config: shards.config,
      clock: emulator.clock,
      logger,
      recorder: new EventRecorder(undefined, 'backup-test', emulator.clock, logger),
      caches: { maintenanceWindows: { get: () => undefined } },
    } as unknown as OperatorContext;
    const backup = new TenantBackup(ctx, shards.clients);
    const spec = backupPolicySpecSchema.parse({ rpo: '2h', rto: '2h', restoreDrill: { every: '168h' } });
    const mark = emulator.mark();
    // What a pass reports before it reads Azure (facts without a subscription): the placement decides.
    const result = await backup.reconcile(
      tenant,
      { resourceGroup: plan.names.resourceGroup, databaseName: plan.names.sqlDatabase },
      undefined,
      { name: 'default', found: true, spec, generation: 1 },
      { at: emulator.clock.now() },
    );
    const sqlReads = emulator.requests.filter((r) => r.seq > mark && /\/providers\/Microsoft\.Sql\//i.test(r.path));
    expect(sqlReads.length).toBeGreaterThan(0);
    expect(sqlReads.filter((r) => !r.path.startsWith(`/subscriptions/${S2}/`)).map((r) => r.path)).toEqual([]);
    // The database was found there: within the RPO, and the first drill is due after its grace hour.
    expect(result.conditions.find((c) => c.type === 'BackupHealthy')).toMatchObject({ status: 'True' });
    expect(result.conditions.find((c) => c.type === 'RestoreDrillSucceeded')).toMatchObject({
      reason: 'NoDrillYet',
      message: expect.stringMatching(/first is due at/),
    });
    // The drill looked for its scratch databases on the tenant's server, in S2.
    expect(sqlReads.some((r) => r.kind === 'collection' && /\/databases$/i.test(r.path))).toBe(true);
  });

  test('a configured subscription that does not exist is reported by the check, the others are measured', async () => {
    const env2 = {
      ...shards,
      config: {
        ...shards.config,
        azure: {
          ...shards.config.azure!,
          subscriptions: [
            {
              id: shards.emulator.subscriptionId,
              limits: { resourceGroups: 980, sqlServersPerRegion: 1, roleAssignments: 4000 },
            },
            { id: MISSING, limits: { resourceGroups: 980, sqlServersPerRegion: 20, roleAssignments: 4000 } },
          ],
        },
      },
    };
    const { step, metrics } = azureStep(env2);
    const results = await step.checkSubscriptions();
    expect(results).toEqual([
      { subscription: shards.emulator.subscriptionId },
      { subscription: MISSING, problem: expect.stringMatching(/SubscriptionNotFound|could not be found/) },
    ]);
    const readable = (await metrics.registry.getSingleMetric('tenant_operator_subscription_readable')?.get())?.values ?? [];
    expect(readable.map((v) => [v.labels.subscription, v.value])).toEqual([
      [shards.emulator.subscriptionId, 1],
      [MISSING, 0],
    ]);
  });
});
