/**
 * Geo-replication end to end against the ARM emulator: a tenant whose BackupPolicy asks for it gets
 * a secondary server in its region's pair, secured as the primary, a failover group that seeds the
 * geo-secondary, and the group's read-write listener as its database host; a tenant whose pair is
 * outside its residency zone gets nothing; a planned failover moves the listener to the paired
 * region and back; the emulator refuses what Azure refuses.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { ArmRequestError } from '../../../src/azure/arm-client.ts';
import { SQL_API_VERSION, SQL_FAILOVER_GROUP_API_VERSION, SQL_SERVER_SETTINGS } from '../../../src/azure/kinds/sql.ts';
import { GEO_REPLICATION_LINK_QUERY } from '../../../src/azure/sql-data-plane.ts';
import { DEFAULT_FINAL_BACKUP_RETENTION, geoSecondaryServer, tenantFailoverGroupId } from '../../../src/tenant/azure.ts';
import {
  type AzureTestEnv,
  azureStep,
  converge,
  DEFAULT_BACKUP,
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

const GEO_BACKUP = { ...DEFAULT_BACKUP, geoReplication: true };
const REPLICATION_LINKS_API_VERSION = '2022-02-01-preview';
const props = (body: Record<string, unknown> | undefined) => (body?.properties ?? {}) as Record<string, unknown>;

/** Waits (bounded) until the failover group as `serverId` sees it has `role`. */
async function waitForRole(groupId: string, role: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (props(env.emulator.state.get(groupId)).replicationRole !== role) {
    if (Date.now() > deadline) throw new Error(`${groupId} never became ${role}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('a westeurope tenant whose BackupPolicy asks for geo-replication', () => {
  const name = 'geo-we';
  let plan: ReturnType<typeof tenantPlan>;

  beforeAll(async () => {
    plan = tenantPlan(env, name, { backup: GEO_BACKUP });
    await converge(env, plan);
  });

  test('the secondary is in the paired region (northeurope), secured as the primary', () => {
    expect(plan.geoReplication).toMatchObject({ enabled: true, reason: 'Replicating', partnerRegion: 'northeurope' });
    const secondary = geoSecondaryServer(plan);
    const server = env.emulator.state.get(secondary.id);
    expect(server?.location).toBe('northeurope');
    expect(props(server)).toMatchObject(SQL_SERVER_SETTINGS);
    expect(props(env.emulator.state.get(`${secondary.id}/azureADOnlyAuthentications/Default`)).azureADOnlyAuthentication).toBe(
      true,
    );
    expect(props(env.emulator.state.get(`${secondary.id}/administrators/ActiveDirectory`)).login).toBe('sql-admins');
    expect(props(env.emulator.state.get(`${secondary.id}/auditingSettings/default`)).state).toBe('Enabled');
    expect(props(env.emulator.state.get(`${secondary.id}/advancedThreatProtectionSettings/Default`)).state).toBe('Enabled');
    // The tenant's own key protects the secondary too.
    const primaryProtector = props(
      env.emulator.state.get(`${resourceIds(env.emulator, plan.names).server}/encryptionProtector/current`),
    );
    const secondaryProtector = props(env.emulator.state.get(`${secondary.id}/encryptionProtector/current`));
    expect(secondaryProtector).toMatchObject({ serverKeyType: 'AzureKeyVault', serverKeyName: primaryProtector.serverKeyName });
  });

  test('the failover group seeded a geo-secondary database; both replication links name the other side', async () => {
    const ids = resourceIds(env.emulator, plan.names);
    const group = env.emulator.state.get(tenantFailoverGroupId(plan));
    expect(props(group)).toMatchObject({
      replicationRole: 'Primary',
      replicationState: 'CATCH_UP',
      readWriteEndpoint: { failoverPolicy: 'Manual' },
      databases: [ids.database],
    });
    const secondaryDb = env.emulator.state.get(`${geoSecondaryServer(plan).id}/databases/${plan.names.sqlDatabase}`);
    expect(secondaryDb?.location).toBe('northeurope');
    expect(props(secondaryDb)).toMatchObject({ secondaryType: 'Geo', status: 'Online' });
    const links = await env.arm.list(`${ids.database}/replicationLinks`, REPLICATION_LINKS_API_VERSION);
    expect(links.map(props)).toEqual([
      expect.objectContaining({
        role: 'Primary',
        partnerLocation: 'northeurope',
        replicationState: 'CATCH_UP',
        percentComplete: 100,
      }),
    ]);
  });

  test('status: GeoReplicated True, the read-write listener is the database host, egress reaches both endpoints', async () => {
    const { step } = azureStep(env);
    const result = await step.reconcile(storedTenant(name), plan);
    expect(result.informational.find((c) => c.type === 'GeoReplicated')).toMatchObject({ status: 'True', reason: 'Replicating' });
    const listener = `${plan.geoNames.failoverGroup}.database.windows.net`;
    expect(result.facts.databaseHost).toBe(listener);
    expect(result.facts.geoReplication).toMatchObject({
      listener,
      role: 'Primary',
      primaryRegion: 'westeurope',
      partnerRegion: 'northeurope',
      state: 'CATCH_UP',
    });
    expect(result.facts.privateEndpoints?.sql?.ip).toBeDefined();
    expect(result.facts.privateEndpoints?.sqlSecondary?.ip).toBeDefined();
    expect(result.facts.privateEndpoints?.sqlSecondary?.ip).not.toBe(result.facts.privateEndpoints?.sql?.ip);
    expect(env.emulator.sql.resolveHost(listener)?.location).toBe('westeurope');
  });

  test('a planned failover moves the listener to northeurope, the operator writes nothing, and failing back restores it', async () => {
    const primaryGroupId = tenantFailoverGroupId(plan);
    const secondaryGroupId = `${geoSecondaryServer(plan).id}/failoverGroups/${plan.geoNames.failoverGroup}`;
    const listener = `${plan.geoNames.failoverGroup}.database.windows.net`;

    // Failing over from the primary is refused, as Azure refuses it.
    const refused = await env.arm
      .post(`${primaryGroupId}/failover`, SQL_FAILOVER_GROUP_API_VERSION)
      .catch((err: unknown) => err as ArmRequestError);
    expect(refused).toMatchObject({ statusCode: 400, code: 'FailoverGroupFailoverRequestOnPrimary' });

    await env.arm.post(`${secondaryGroupId}/failover`, SQL_FAILOVER_GROUP_API_VERSION);
    await waitForRole(secondaryGroupId, 'Primary');
    expect(env.emulator.sql.resolveHost(listener)?.location).toBe('northeurope');
    expect(env.emulator.sql.resolveHost(`${plan.geoNames.failoverGroup}.secondary.database.windows.net`)?.location).toBe(
      'westeurope',
    );

    const mark = env.emulator.mark();
    await converge(env, plan);
    expect(env.emulator.writes(mark)).toEqual([]);
    const { step } = azureStep(env);
    const after = await step.reconcile(storedTenant(name), plan);
    expect(after.facts.geoReplication).toMatchObject({ role: 'Secondary', primaryRegion: 'northeurope' });
    expect(after.facts.databaseHost).toBe(listener);
    expect(after.informational.find((c) => c.type === 'GeoReplicated')?.message).toContain('served from northeurope');

    await env.arm.post(`${primaryGroupId}/failover`, SQL_FAILOVER_GROUP_API_VERSION);
    await waitForRole(primaryGroupId, 'Primary');
    expect(env.emulator.sql.resolveHost(listener)?.location).toBe('westeurope');
  });

  test('sys.dm_geo_replication_link_status: the lag the workload produces, on the primary only', () => {
    const view = GEO_REPLICATION_LINK_QUERY;
    const row = (server: string) => {
      const [result] = env.emulator.sqlDataPlane.runAsAdmin(server, plan.names.sqlDatabase, view);
      return result?.kind === 'rows' ? result.rows : result;
    };
    const secondary = geoSecondaryServer(plan).id.split('/').pop() ?? '';
    // An idle database: caught up, no lag.
    const database = plan.names.sqlDatabase;
    expect(row(plan.names.sqlServer)).toEqual([[secondary, database, expect.any(Date), 0, 'CATCH_UP', 'PRIMARY']]);
    expect(env.emulator.sql.setGeoReplicationLag(plan.names.sqlDatabase, 42)).toBe(2);
    const [link] = row(plan.names.sqlServer) as [string, string, Date, number][];
    expect(link?.[3]).toBe(42);
    expect(Date.now() - (link?.[2]?.getTime() ?? 0)).toBeGreaterThanOrEqual(42_000);
    // The secondary reports the link, but lag and last replication only the primary knows (Azure's docs).
    expect(row(secondary)).toEqual([[plan.names.sqlServer, database, null, null, 'CATCH_UP', 'SECONDARY']]);
    env.emulator.sql.setGeoReplicationLag(plan.names.sqlDatabase, 0);
  });
});

describe('a tenant whose paired region is outside its residency zone', () => {
  test('Singapore (pair: Hong Kong, zone SG): GeoReplicated False PairedRegionOutsideResidency, nothing created', async () => {
    const name = 'geo-sg';
    const plan = tenantPlan(env, name, { region: 'southeastasia', backup: GEO_BACKUP });
    expect(plan.geoReplication).toMatchObject({
      enabled: false,
      reason: 'PairedRegionOutsideResidency',
      partnerRegion: 'eastasia',
    });
    const mark = env.emulator.mark();
    await converge(env, plan);
    const types = env.emulator.writes(mark).map((w) => w.resourceType);
    expect(types).not.toContain('Microsoft.Sql/servers/failoverGroups');
    expect(env.emulator.state.get(geoSecondaryServer(plan).id)).toBeUndefined();
    expect(env.emulator.state.get(tenantFailoverGroupId(plan))).toBeUndefined();
    const { step } = azureStep(env);
    const result = await step.reconcile(storedTenant(name, { region: 'southeastasia' }), plan);
    expect(result.informational.find((c) => c.type === 'GeoReplicated')).toMatchObject({
      status: 'False',
      reason: 'PairedRegionOutsideResidency',
    });
    expect(result.facts.databaseHost).toBe(`${plan.names.sqlServer}.database.windows.net`);
  });
});

describe('the emulator refuses what Azure refuses', () => {
  test('a CMK-encrypted database cannot be geo-replicated to a server without the key: KeyMaterialNotFoundOnRemoteServer', async () => {
    const plan = tenantPlan(env, 'geo-nokey');
    await converge(env, plan);
    const ids = resourceIds(env.emulator, plan.names);
    const bare = `${ids.rg}/providers/Microsoft.Sql/servers/${plan.names.sqlServer}-bare`;
    await env.arm.beginWrite('PUT', bare, SQL_API_VERSION, {
      location: 'northeurope',
      properties: {
        administrators: {
          administratorType: 'ActiveDirectory',
          login: 'sql-admins',
          sid: '5f0e8c1a-3b6d-4e2f-9a7c-1d2e3f4a5b6c',
          azureADOnlyAuthentication: true,
        },
      },
    });
    const deadline = Date.now() + 5_000;
    while (props(env.emulator.state.get(bare)).state !== 'Ready' && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 10));
    const groupId = `${ids.server}/failoverGroups/${plan.names.sqlServer}-fog`;
    const body = (partner: string) => ({
      properties: {
        readWriteEndpoint: { failoverPolicy: 'Manual' },
        partnerServers: [{ id: partner }],
        databases: [ids.database],
      },
    });
    const noKey = await env.arm
      .beginWrite('PUT', groupId, SQL_FAILOVER_GROUP_API_VERSION, body(bare))
      .catch((err: unknown) => err as ArmRequestError);
    expect(noKey).toMatchObject({ statusCode: 400, code: 'KeyMaterialNotFoundOnRemoteServer' });
    const sameRegion = await env.arm
      .beginWrite('PUT', groupId, SQL_FAILOVER_GROUP_API_VERSION, body(ids.server))
      .catch((err: unknown) => err as ArmRequestError);
    expect(sameRegion).toMatchObject({ statusCode: 400, code: 'FailoverGroupCreateOrUpdateRequestDuplicatePartner' });
    const noEndpoint = await env.arm
      .beginWrite('PUT', groupId, SQL_FAILOVER_GROUP_API_VERSION, { properties: { partnerServers: [{ id: bare }] } })
      .catch((err: unknown) => err as ArmRequestError);
    expect(noEndpoint).toMatchObject({ statusCode: 400, code: 'FailoverGroupCreateOrUpdateRequestInvalidReadWriteEndpoint' });
    expect(env.emulator.state.get(groupId)).toBeUndefined();
  });

  test('a database reports its region’s pair as defaultSecondaryLocation', () => {
    const plan = tenantPlan(env, 'geo-we');
    const db = env.emulator.state.get(resourceIds(env.emulator, plan.names).database);
    expect(props(db).defaultSecondaryLocation).toBe('northeurope');
  });
});

describe('deleting a geo-replicated tenant (deletionPolicy Delete)', () => {
  test('the failover group, the secondary server and its geo-secondary database go too', async () => {
    const name = 'geo-del';
    const plan = tenantPlan(env, name, { backup: GEO_BACKUP });
    await converge(env, plan);
    const secondary = geoSecondaryServer(plan);
    const secondaryDb = `${secondary.id}/databases/${plan.names.sqlDatabase}`;
    expect(env.emulator.state.get(secondaryDb)).toBeDefined();
    const { step } = azureStep(env);
    const requested = env.emulator.clock.now();
    const stored = storedTenant(name);
    const tenant = { ...stored, metadata: { ...stored.metadata, deletionTimestamp: requested.toISOString() } };
    // The final weekly backup is copied a week later; then the deletion goes ahead.
    env.emulator.clock.advance(7 * 86_400_000 + 60_000);
    let operations: unknown;
    for (let i = 0; i < 300; i++) {
      const outcome = await step.delete(
        { ...tenant, status: { azure: { operations } } } as Parameters<typeof step.delete>[0],
        DEFAULT_FINAL_BACKUP_RETENTION,
      );
      operations = outcome.operations;
      if (outcome.failure) throw outcome.failure;
      if (outcome.finished) break;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(env.emulator.state.get(tenantFailoverGroupId(plan))).toBeUndefined();
    expect(env.emulator.state.get(secondary.id)).toBeUndefined();
    expect(env.emulator.state.get(secondaryDb)).toBeUndefined();
    expect(env.emulator.state.get(resourceIds(env.emulator, plan.names).server)).toBeUndefined();
  });
});

describe('deleting a tenant left failed over (the primary in the paired region)', () => {
  const failOver = async (plan: ReturnType<typeof tenantPlan>) => {
    const partnerGroup = `${geoSecondaryServer(plan).id}/failoverGroups/${plan.geoNames.failoverGroup}`;
    await env.arm.post(`${partnerGroup}/failover`, SQL_FAILOVER_GROUP_API_VERSION);
    await waitForRole(partnerGroup, 'Primary');
  };
  const deletingTenant = (name: string) => {
    const stored = storedTenant(name);
    return { ...stored, metadata: { ...stored.metadata, deletionTimestamp: env.emulator.clock.now().toISOString() } };
  };

  test('deletionPolicy Delete: failed back first (planned), then the group, the secondary, the rest; the final backup kept', async () => {
    const name = 'geo-fodel';
    const plan = tenantPlan(env, name, { backup: GEO_BACKUP });
    await converge(env, plan);
    await failOver(plan);
    const ids = resourceIds(env.emulator, plan.names);
    const secondary = geoSecondaryServer(plan);
    const { step } = azureStep(env);
    const tenant = deletingTenant(name);
    const mark = env.emulator.mark();
    let operations: unknown;
    let waitedFor: string | undefined;
    for (let i = 0; i < 400; i++) {
      const outcome = await step.delete(
        { ...tenant, status: { azure: { operations } } } as Parameters<typeof step.delete>[0],
        DEFAULT_FINAL_BACKUP_RETENTION,
      );
      operations = outcome.operations;
      if (outcome.failure) throw outcome.failure;
      if (outcome.finished) break;
      waitedFor ??= outcome.waitingFor;
      // The final weekly backup is copied a week after the request: move time on once home again.
      if (props(env.emulator.state.get(tenantFailoverGroupId(plan))).replicationRole === 'Primary')
        env.emulator.clock.advance(86_400_000);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(waitedFor).toContain('fail back to its home region');
    const writes = env.emulator.writes(mark).map((w) => `${w.method} ${w.path.split('/providers/').pop()}`);
    const at = (what: RegExp) => writes.findIndex((w) => what.test(w));
    // Failed back on the home server's copy of the group; then the group is deleted there (Azure
    // refuses a delete on the secondary's copy), then the secondary server, then the home server.
    const failback = at(new RegExp(`^POST Microsoft.Sql/servers/${plan.names.sqlServer}/failoverGroups/[^/]+/failover$`));
    const group = at(new RegExp(`^DELETE Microsoft.Sql/servers/${plan.names.sqlServer}/failoverGroups/`));
    const secondaryServer = at(new RegExp(`^DELETE Microsoft.Sql/servers/${secondary.id.split('/').pop()}$`));
    const homeServer = at(new RegExp(`^DELETE Microsoft.Sql/servers/${plan.names.sqlServer}$`));
    expect(failback).toBeGreaterThanOrEqual(0);
    expect([failback < group, group < secondaryServer, secondaryServer < homeServer]).toEqual([true, true, true]);
    expect(writes.filter((w) => /FailoverGroupUpdateOrDeleteRequestOnSecondary/.test(w))).toEqual([]);
    expect(env.emulator.requests.filter((r) => r.seq > mark && r.status >= 400 && r.method !== 'GET')).toEqual([]);
    for (const id of [
      tenantFailoverGroupId(plan),
      secondary.id,
      `${secondary.id}/databases/${plan.names.sqlDatabase}`,
      ids.server,
    ]) {
      expect(env.emulator.state.get(id)).toBeUndefined();
    }
    // What the policy keeps: a long-term backup of the home database taken after the request.
    const backups = await env.arm.list(
      `/subscriptions/${env.emulator.subscriptionId}/providers/Microsoft.Sql/locations/westeurope/longTermRetentionServers/${plan.names.sqlServer}/longTermRetentionDatabases/${plan.names.sqlDatabase}/longTermRetentionBackups`,
      '2021-05-01-preview',
    );
    expect(backups.some((b) => Date.parse(String(props(b).backupTime)) >= Date.parse(tenant.metadata.deletionTimestamp))).toBe(
      true,
    );
  });

  test('deletionPolicy Retain: nothing is failed over or deleted; both servers and the group are left, marked', async () => {
    const name = 'geo-foret';
    const plan = tenantPlan(env, name, { backup: GEO_BACKUP });
    await converge(env, plan);
    await failOver(plan);
    const ids = resourceIds(env.emulator, plan.names);
    const secondary = geoSecondaryServer(plan);
    const { step } = azureStep(env);
    const mark = env.emulator.mark();
    for (let i = 0; i < 50; i++) {
      const outcome = await step.release(deletingTenant(name) as Parameters<typeof step.release>[0]);
      if (outcome.failure) throw outcome.failure;
      if (outcome.finished) break;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const writes = env.emulator.writes(mark);
    expect(writes.filter((w) => w.method === 'DELETE' || w.method === 'POST')).toEqual([]);
    expect(props(env.emulator.state.get(`${secondary.id}/failoverGroups/${plan.geoNames.failoverGroup}`)).replicationRole).toBe(
      'Primary',
    );
    for (const id of [secondary.id, ids.server]) {
      expect((env.emulator.state.get(id)?.tags as Record<string, string> | undefined)?.['tenancy.dev-orphaned']).toBe('true');
    }
  });
});

describe('seeding, and a forced failover', () => {
  test('the secondary seeds (SEEDING, percentComplete below 100, planned failover refused) before it catches up', async () => {
    const name = 'geo-seed';
    await converge(env, tenantPlan(env, name));
    const plan = tenantPlan(env, name, { backup: GEO_BACKUP });
    const ids = resourceIds(env.emulator, plan.names);
    const partnerGroup = `${geoSecondaryServer(plan).id}/failoverGroups/${plan.geoNames.failoverGroup}`;
    // Slow operations (and so a slow seeding) for this tenant's geo-replication only.
    env.emulator.config.lroDelayMs = 1_500;
    const converging = converge(env, plan, { delayMs: 20 });
    try {
      const seeding = await (async () => {
        const deadline = Date.now() + 30_000;
        while (Date.now() < deadline) {
          const links = await env.arm.list(`${ids.database}/replicationLinks`, REPLICATION_LINKS_API_VERSION);
          const link = links.map(props)[0];
          if (link?.replicationState === 'SEEDING') return link;
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        throw new Error('never saw SEEDING');
      })();
      expect(seeding.percentComplete).toBeLessThan(100);
      expect(props(env.emulator.state.get(tenantFailoverGroupId(plan))).replicationState).toBe('SEEDING');
      // The primary's view: seeding, and no lag yet (the secondary is not transactionally consistent).
      const [view] = env.emulator.sqlDataPlane.runAsAdmin(
        plan.names.sqlServer,
        plan.names.sqlDatabase,
        GEO_REPLICATION_LINK_QUERY,
      );
      expect(view?.kind === 'rows' ? view.rows[0]?.slice(2) : view).toEqual([null, null, 'SEEDING', 'PRIMARY']);
      const refused = await env.arm
        .post(`${partnerGroup}/failover`, SQL_FAILOVER_GROUP_API_VERSION)
        .catch((err: unknown) => err as ArmRequestError);
      expect(refused).toMatchObject({ statusCode: 409, code: 'InvalidDatabaseStateForOperation' });
      await converging;
    } finally {
      env.emulator.config.lroDelayMs = undefined;
    }
    const links = await env.arm.list(`${ids.database}/replicationLinks`, REPLICATION_LINKS_API_VERSION);
    expect(links.map(props)[0]).toMatchObject({ replicationState: 'CATCH_UP', percentComplete: 100 });
  });

  test('forceFailoverAllowDataLoss on the secondary swaps the roles too; a planned failover brings it back', async () => {
    const plan = tenantPlan(env, 'geo-seed', { backup: GEO_BACKUP });
    const partnerGroup = `${geoSecondaryServer(plan).id}/failoverGroups/${plan.geoNames.failoverGroup}`;
    const listener = `${plan.geoNames.failoverGroup}.database.windows.net`;
    await env.arm.post(`${partnerGroup}/forceFailoverAllowDataLoss`, SQL_FAILOVER_GROUP_API_VERSION);
    await waitForRole(partnerGroup, 'Primary');
    expect(env.emulator.sql.resolveHost(listener)?.location).toBe('northeurope');
    await env.arm.post(`${tenantFailoverGroupId(plan)}/failover`, SQL_FAILOVER_GROUP_API_VERSION);
    await waitForRole(tenantFailoverGroupId(plan), 'Primary');
    expect(env.emulator.sql.resolveHost(listener)?.location).toBe('westeurope');
  });
});
