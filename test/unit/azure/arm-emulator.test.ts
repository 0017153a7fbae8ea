/** The ARM emulator's pure parts: path parsing, ARM PATCH, durations, seeded faults, and engine semantics without HTTP. */
import { describe, expect, test } from '@jest/globals';
import { parseArmPath } from '../../../hack/arm-emulator/arm-path.ts';
import { createControllableClock } from '../../../hack/arm-emulator/clock.ts';
import { isoDurationMs } from '../../../hack/arm-emulator/durations.ts';
import { createEngine, type Engine, handleRequest, sqlSettings } from '../../../hack/arm-emulator/engine.ts';
import { createFaultInjector } from '../../../hack/arm-emulator/faults.ts';
import { type AzureBehaviours, realisticBehaviours } from '../../../hack/arm-emulator/index.ts';
import { armMergePatch } from '../../../hack/arm-emulator/json.ts';
import { keysChanged } from '../../../hack/arm-emulator/key-rotation.ts';
import {
  INSTANT_OPERATION_MS,
  type OperationTiming,
  operationDurationMs,
  operationKind,
  REALISTIC_DURATIONS,
} from '../../../hack/arm-emulator/operation-profiles.ts';
import { seedPlatformNetwork } from '../../../hack/arm-emulator/private-link.ts';
import { checkRotationPolicy, recordDatabaseActivity } from '../../../hack/arm-emulator/resource-types.ts';
import { createStore, getResource } from '../../../hack/arm-emulator/store.ts';

const SUB = '/subscriptions/s1';
const RG = `${SUB}/resourceGroups/rg1`;

describe('parseArmPath', () => {
  test.each([
    [
      'resource group (lower-case segment)',
      `${SUB}/resourcegroups/rg1`,
      { type: 'Microsoft.Resources/resourceGroups', id: RG, name: 'rg1' },
    ],
    [
      'top-level resource',
      `${RG}/providers/Microsoft.Sql/servers/s1`,
      { type: 'Microsoft.Sql/servers', parentId: RG, nestedInParent: false },
    ],
    [
      'nested resource',
      `${RG}/providers/Microsoft.Sql/servers/s1/databases/d1`,
      {
        type: 'Microsoft.Sql/servers/databases',
        parentId: `${RG}/providers/Microsoft.Sql/servers/s1`,
        nestedInParent: true,
        name: 'd1',
      },
    ],
    [
      'extension resource on a vault',
      `${RG}/providers/Microsoft.KeyVault/vaults/v1/providers/Microsoft.Authorization/roleAssignments/g1`,
      {
        type: 'Microsoft.Authorization/roleAssignments',
        parentId: `${RG}/providers/Microsoft.KeyVault/vaults/v1`,
        nestedInParent: false,
      },
    ],
    [
      'collection',
      `${RG}/providers/Microsoft.Sql/servers/s1/databases`,
      { type: 'Microsoft.Sql/servers/databases', collection: true, id: undefined },
    ],
    [
      'subscription-level provider path',
      `${SUB}/providers/Microsoft.KeyVault/locations/westeurope/deletedVaults/kv1`,
      { type: 'Microsoft.KeyVault/locations/deletedVaults', name: 'kv1' },
    ],
    ['double slash from the authorization SDK', `//subscriptions/s1/resourceGroups/rg1`, { id: RG }],
  ])('%s', (_name, path, expected) => {
    expect(parseArmPath(path)).toMatchObject(expected);
  });

  test('paths outside a subscription are not ARM', () => {
    expect(parseArmPath('/metadata/endpoints')).toBeUndefined();
  });
});

describe('armMergePatch', () => {
  test('objects merge, null removes, arrays replace, tags replace wholesale', () => {
    const target = { tags: { a: '1', b: '2' }, properties: { x: 1, y: { z: 2 }, list: [1, 2], gone: true } };
    const patch = { tags: { c: '3' }, properties: { y: { w: 3 }, list: [9], gone: null } };
    expect(armMergePatch(target, patch)).toEqual({ tags: { c: '3' }, properties: { x: 1, y: { z: 2, w: 3 }, list: [9] } });
    expect(target.properties.gone).toBe(true);
  });
});

describe('isoDurationMs', () => {
  test.each([
    ['PT0S', 0],
    ['P7D', 7 * 86_400_000],
    ['P12W', 84 * 86_400_000],
    ['P1Y', 365 * 86_400_000],
    ['12 weeks', undefined],
    ['P', undefined],
  ])('%s', (value, expected) => {
    expect(isoDurationMs(value)).toBe(expected);
  });
});

describe('fault injector', () => {
  const request = { method: 'PUT', path: '/x', resourceType: 'Microsoft.Sql/servers' };

  test('the same seed gives the same storm', () => {
    const run = (seed: number) => {
      const faults = createFaultInjector(seed);
      faults.throttle({}, { probability: 0.3 });
      return Array.from({ length: 200 }, () => faults.decide(request, false).terminal !== undefined);
    };
    expect(run(7)).toEqual(run(7));
    expect(run(7)).not.toEqual(run(8));
    const hits = run(7).filter(Boolean).length;
    expect(hits).toBeGreaterThan(40);
    expect(hits).toBeLessThan(80);
  });

  test('times limits how often a rule fires; matchers narrow it', () => {
    const faults = createFaultInjector();
    const handle = faults.unavailable({ method: 'PUT', resourceType: 'microsoft.sql/servers' }, { times: 2 });
    expect(faults.decide({ ...request, method: 'GET' }, false).terminal).toBeUndefined();
    expect(faults.decide(request, false).terminal).toMatchObject({ status: 503 });
    expect(faults.decide(request, false).terminal).toMatchObject({ status: 503 });
    expect(faults.decide(request, false).terminal).toBeUndefined();
    expect(handle.fired).toBe(2);
  });

  test('operation faults apply only to long-running writes, and are not spent on others', () => {
    const faults = createFaultInjector();
    const handle = faults.failOperation({}, { times: 1 });
    expect(faults.decide(request, false).lroFailure).toBeUndefined();
    expect(faults.decide(request, true).lroFailure).toMatchObject({ kind: 'lroFailure' });
    expect(handle.fired).toBe(1);
  });

  test('latency adds up and combines with an error', () => {
    const faults = createFaultInjector();
    faults.add({ match: {}, action: { kind: 'latency', ms: 10 } });
    faults.add({ match: { path: /x/ }, action: { kind: 'latency', ms: 5 } });
    faults.throttle({});
    const decision = faults.decide(request, false);
    expect(decision.latencyMs).toBe(15);
    expect(decision.terminal).toMatchObject({ status: 429 });
  });
});

function engine(behaviours: Partial<AzureBehaviours> = {}, timing?: OperationTiming): Engine {
  return createEngine(
    createStore(),
    createControllableClock(new Date('2026-03-01T00:00:00Z')),
    {
      directoryTenantId: '11111111-1111-4111-8111-111111111111',
      locations: new Set(['westeurope', 'northeurope']),
      strictPrincipals: true,
      subscriptions: new Set(['s1']),
      behaviours: { ...realisticBehaviours(), ...behaviours },
    },
    {
      lroDelayMs: timing === undefined ? 0 : undefined,
      pollHoldMs: 0,
      timing: timing ?? { profile: 'instant', timeFactor: 1 },
    },
  );
}

function call(e: Engine, method: string, path: string, apiVersion: string, body?: unknown) {
  return handleRequest(e, {
    method,
    path,
    query: new URLSearchParams({ 'api-version': apiVersion }),
    body,
    baseUrl: 'https://emu',
  });
}

describe('engine', () => {
  const rgVersion = '2025-04-01';
  const sqlVersion = '2022-08-01-preview';
  const serverPath = `${RG}/providers/Microsoft.Sql/servers/s1`;

  test('api-versions other than the SDK pins are refused', () => {
    expect(call(engine(), 'GET', RG, '2021-04-01')).toMatchObject({
      status: 400,
      body: { error: { code: 'NoRegisteredProviderFound' } },
    });
  });

  test('404 bodies name the missing level: group, parent, resource', () => {
    const e = engine();
    expect(call(e, 'GET', serverPath, sqlVersion).body).toMatchObject({ error: { code: 'ResourceGroupNotFound' } });
    call(e, 'PUT', RG, rgVersion, { location: 'westeurope' });
    expect(call(e, 'GET', `${serverPath}/databases/d1`, sqlVersion).body).toMatchObject({
      error: { code: 'ParentResourceNotFound' },
    });
    expect(call(e, 'GET', serverPath, sqlVersion)).toMatchObject({ status: 404, body: { error: { code: 'ResourceNotFound' } } });
  });

  test('a subscription lists its resource groups, and every SQL server of any group', () => {
    const e = engine();
    e.config.lroDelayMs = 0;
    for (const rg of ['rg1', 'rg2']) call(e, 'PUT', `${SUB}/resourceGroups/${rg}`, rgVersion, { location: 'westeurope' });
    const groups = call(e, 'GET', `${SUB}/resourcegroups`, rgVersion);
    expect(groups.status).toBe(200);
    expect((groups.body as { value: { name: string }[] }).value.map((g) => g.name).sort()).toEqual(['rg1', 'rg2']);
    call(e, 'PUT', serverPath, sqlVersion, {
      location: 'westeurope',
      properties: { administratorLogin: 'a', administratorLoginPassword: 'p' },
    });
    const servers = call(e, 'GET', `${SUB}/providers/Microsoft.Sql/servers`, sqlVersion);
    expect((servers.body as { value: { name: string }[] }).value.map((s) => s.name)).toEqual(['s1']);
  });

  test('tag names with a slash are refused like ARM refuses them', () => {
    const response = call(engine(), 'PUT', RG, rgVersion, { location: 'westeurope', tags: { 'tenancy.dev/orphaned': 'true' } });
    expect(response).toMatchObject({ status: 400, body: { error: { code: 'InvalidTagNameCharacters' } } });
  });

  test('a location outside the allowed list is refused', () => {
    expect(call(engine(), 'PUT', RG, rgVersion, { location: 'mars' }).body).toMatchObject({
      error: { code: 'LocationNotAvailableForResourceGroup' },
    });
  });

  test('a long-running create shows Creating until it settles, and refuses a second write meanwhile', () => {
    const e = engine();
    e.config.lroDelayMs = 60_000;
    call(e, 'PUT', RG, rgVersion, { location: 'westeurope' });
    const body = {
      location: 'westeurope',
      identity: { type: 'SystemAssigned' },
      properties: { administratorLogin: 'a', administratorLoginPassword: 'p' },
    };
    const created = call(e, 'PUT', serverPath, sqlVersion, body);
    expect(created.status).toBe(201);
    expect(created.headers['Azure-AsyncOperation']).toMatch(/operationStatuses/);
    expect(call(e, 'GET', serverPath, sqlVersion).body).toMatchObject({ properties: { state: 'Creating' } });
    expect(call(e, 'PUT', serverPath, sqlVersion, body)).toMatchObject({
      status: 409,
      body: { error: { code: 'AnotherOperationInProgress' } },
    });
  });
});

// --- Azure behaviours, realistic by default (README.md "Azure behaviours") -----------------------

const SQL = '2022-08-01-preview';
const SQL_SECURITY = '2020-11-01-preview';
const SERVER = `${RG}/providers/Microsoft.Sql/servers/s1`;
const DB = `${SERVER}/databases/d1`;
const DAY = 86_400_000;

/** A resource group and a SQL server with a system identity, settled. */
function withServer(e: Engine): void {
  call(e, 'PUT', RG, '2025-04-01', { location: 'westeurope' });
  call(e, 'PUT', SERVER, SQL, {
    location: 'westeurope',
    identity: { type: 'SystemAssigned' },
    properties: { administratorLogin: 'a', administratorLoginPassword: 'p' },
  });
  settle(e);
}

function settle(e: Engine): void {
  for (const op of e.store.operations.values()) op.completesAt = 0;
  call(e, 'GET', RG, '2025-04-01');
}

function putDatabase(e: Engine, sku: Record<string, unknown> | undefined, properties: Record<string, unknown> = {}, path = DB) {
  const response = call(e, 'PUT', path, SQL, { location: 'westeurope', ...(sku === undefined ? {} : { sku }), properties });
  settle(e);
  return response;
}

const props = (body: unknown): Record<string, unknown> => (body as { properties: Record<string, unknown> }).properties;

describe('operation durations', () => {
  test('instant: 5 ms for long-running writes, synchronous writes answered at once', () => {
    const instant: OperationTiming = { profile: 'instant', timeFactor: 1 };
    expect(operationDurationMs(instant, 'sqlServer.create', true)).toBe(INSTANT_OPERATION_MS);
    expect(operationDurationMs(instant, 'identity.write', false)).toBe(0);
  });

  test('realistic durations are scaled by the time factor, and every one names its source', () => {
    expect(operationDurationMs({ profile: 'realistic', timeFactor: 0.01 }, 'database.create', true)).toBe(1_200);
    for (const [kind, entry] of Object.entries(REALISTIC_DURATIONS)) {
      expect([kind, entry.realisticMs > 0, entry.source.length > 0]).toEqual([kind, true, true]);
    }
  });

  test('a realistic SQL server create stays Creating for its scaled duration; lroDelayMs overrides the profile', () => {
    const e = engine({}, { profile: 'realistic', timeFactor: 0.01 });
    call(e, 'PUT', RG, '2025-04-01', { location: 'westeurope' });
    const before = Date.now();
    call(e, 'PUT', SERVER, SQL, {
      location: 'westeurope',
      properties: { administratorLogin: 'a', administratorLoginPassword: 'p' },
    });
    const op = [...e.store.operations.values()][0]!;
    expect(op.completesAt - before).toBeGreaterThanOrEqual(REALISTIC_DURATIONS['sqlServer.create'].realisticMs * 0.01);
    expect(props(call(e, 'GET', SERVER, SQL).body).state).toBe('Creating');
    e.config.lroDelayMs = 0;
    call(e, 'PUT', `${RG}/providers/Microsoft.Sql/servers/s2`, SQL, {
      location: 'westeurope',
      properties: { administratorLogin: 'a', administratorLoginPassword: 'p' },
    });
    expect([...e.store.operations.values()][1]!.completesAt).toBeLessThanOrEqual(Date.now());
  });
});

describe('private endpoint durations', () => {
  test('a realistic private endpoint create takes about a minute (scaled), showing the Network provider’s Updating meanwhile', () => {
    expect(operationKind('Microsoft.Network/privateEndpoints', 'PUT', { created: true })).toBe('privateEndpoint.create');
    expect(operationKind('Microsoft.Network/privateEndpoints/privateDnsZoneGroups', 'PUT', { created: true })).toBe(
      'privateDnsZoneGroup.write',
    );
    expect(operationDurationMs({ profile: 'realistic', timeFactor: 1 }, 'privateEndpoint.create', true)).toBe(60_000);
    const e = engine({}, { profile: 'realistic', timeFactor: 0.01 });
    const subnet = `${SUB}/resourceGroups/net/providers/Microsoft.Network/virtualNetworks/v/subnets/pe`;
    seedPlatformNetwork(e.store, {
      subnets: [{ id: subnet, location: 'westeurope', addressPrefix: '10.0.0.0/24' }],
      privateDnsZones: [],
    });
    call(e, 'PUT', RG, '2025-04-01', { location: 'westeurope' });
    call(e, 'PUT', `${RG}/providers/Microsoft.KeyVault/vaults/kv1`, '2026-02-01', {
      location: 'westeurope',
      properties: { tenantId: '11111111-1111-4111-8111-111111111111', sku: { family: 'A', name: 'standard' } },
    });
    const pe = `${RG}/providers/Microsoft.Network/privateEndpoints/pe-kv`;
    const before = Date.now();
    const put = call(e, 'PUT', pe, '2026-01-01', {
      location: 'westeurope',
      properties: {
        subnet: { id: subnet },
        privateLinkServiceConnections: [
          {
            name: 'kv',
            properties: { privateLinkServiceId: `${RG}/providers/Microsoft.KeyVault/vaults/kv1`, groupIds: ['vault'] },
          },
        ],
      },
    });
    expect(put.status).toBe(201);
    const op = [...e.store.operations.values()].find((o) => o.resourceId === pe)!;
    expect(op.completesAt - before).toBeGreaterThanOrEqual(600);
    expect(props(call(e, 'GET', pe, '2026-01-01').body).provisioningState).toBe('Updating');
  });
});

describe('spec-derived validation (spec-schemas.ts)', () => {
  test('read-only fields are ignored and recorded, unknown fields recorded, GET returns only spec fields', () => {
    const e = engine();
    withServer(e);
    putDatabase(e, { name: 'GP_Gen5', capacity: 2 }, { status: 'Online', mysteryField: 1 });
    expect(e.store.specViolations.map((v) => [v.field, v.kind])).toEqual([
      ['properties.status', 'readOnly'],
      ['properties.mysteryField', 'unknown'],
    ]);
    const got = props(call(e, 'GET', DB, SQL).body);
    expect(got.mysteryField).toBeUndefined();
    expect(got.availabilityZone).toBeUndefined();
  });

  test.each([
    ['an enum value outside the spec', { requestedBackupStorageRedundancy: 'Galactic' }, 'InvalidParameterValue'],
    ['a create-only field changed on update', { catalogCollation: 'DATABASE_DEFAULT' }, 'InvalidParameterValue'],
  ])('%s is refused', (_name, properties, code) => {
    const e = engine();
    withServer(e);
    putDatabase(e, { name: 'GP_Gen5', capacity: 2 }, { catalogCollation: 'SQL_Latin1_General_CP1_CI_AS' });
    expect(call(e, 'PUT', DB, SQL, { location: 'westeurope', sku: { name: 'GP_Gen5', capacity: 2 }, properties })).toMatchObject({
      status: 400,
      body: { error: { code } },
    });
  });

  test('a missing required field is refused (TDE state)', () => {
    const e = engine();
    withServer(e);
    putDatabase(e, { name: 'GP_Gen5', capacity: 2 });
    expect(call(e, 'PUT', `${DB}/transparentDataEncryption/current`, SQL, { properties: {} }).status).toBe(400);
  });
});

describe('SKU normal form', () => {
  test.each([
    ['S0', { name: 'S0' }, { name: 'Standard', tier: 'Standard', capacity: 10 }, 'S0'],
    ['Standard capacity 10', { name: 'Standard', capacity: 10 }, { name: 'Standard', tier: 'Standard', capacity: 10 }, 'S0'],
    ['P15', { name: 'P15' }, { name: 'Premium', tier: 'Premium', capacity: 4000 }, 'P15'],
    ['Basic', { name: 'Basic' }, { name: 'Basic', tier: 'Basic', capacity: 5 }, 'Basic'],
    ['GP_Gen5_2', { name: 'GP_Gen5_2' }, { name: 'GP_Gen5', tier: 'GeneralPurpose', family: 'Gen5', capacity: 2 }, 'GP_Gen5_2'],
    [
      'GP_S_Gen5 capacity 2',
      { name: 'GP_S_Gen5', capacity: 2 },
      { name: 'GP_S_Gen5', tier: 'GeneralPurpose', family: 'Gen5', capacity: 2 },
      'GP_S_Gen5_2',
    ],
  ])('%s comes back in normal form', (_name, requested, normal, objective) => {
    const e = engine();
    withServer(e);
    putDatabase(e, requested);
    const got = call(e, 'GET', DB, SQL).body as { sku: unknown; properties: Record<string, unknown> };
    expect(got.sku).toEqual(normal);
    expect(got.properties.currentServiceObjectiveName).toBe(objective);
  });

  test.each([
    ['S0 with capacity 20', { name: 'S0', capacity: 20 }, 'MismatchedSkuNameAndCapacity'],
    ['GP_Gen5_2 with tier Premium', { name: 'GP_Gen5_2', tier: 'Premium' }, 'MismatchedSkuNameAndTier'],
    ['S5', { name: 'S5' }, 'InvalidSkuName'],
  ])('%s is refused', (_name, sku, code) => {
    const e = engine();
    withServer(e);
    expect(putDatabase(e, sku)).toMatchObject({ status: 400, body: { error: { code } } });
  });
});

describe('backups and restores', () => {
  function restoreScratch(e: Engine): void {
    putDatabase(e, { name: 'GP_Gen5', capacity: 2 });
    e.clock.advance(30 * 60_000);
    putDatabase(
      e,
      undefined,
      {
        createMode: 'PointInTimeRestore',
        sourceDatabaseId: DB,
        restorePointInTime: new Date(e.clock.now().getTime() - 20 * 60_000).toISOString(),
      },
      `${SERVER}/databases/scratch`,
    );
  }

  test('create-only fields (createMode, sourceDatabaseId, restorePointInTime) are absent from GET', () => {
    const e = engine();
    withServer(e);
    restoreScratch(e);
    const got = props(call(e, 'GET', `${SERVER}/databases/scratch`, SQL).body);
    expect([got.status, got.createMode, got.sourceDatabaseId, got.restorePointInTime]).toEqual([
      'Online',
      undefined,
      undefined,
      undefined,
    ]);
  });

  test('exposeCreateOnlyFields returns them', () => {
    const e = engine({ exposeCreateOnlyFields: true });
    withServer(e);
    restoreScratch(e);
    expect(props(call(e, 'GET', `${SERVER}/databases/scratch`, SQL).body)).toMatchObject({
      createMode: 'PointInTimeRestore',
      sourceDatabaseId: DB,
    });
  });

  test.each([['Azure: the CONTINUOUS point only', {}, ['CONTINUOUS']]])('restorePoints lists %s', (_name, behaviours, types) => {
    const e = engine(behaviours);
    withServer(e);
    putDatabase(e, { name: 'GP_Gen5', capacity: 2 });
    e.clock.advance(30 * 60_000);
    const listed = call(e, 'GET', `${DB}/restorePoints`, '2020-11-01-preview').body as {
      value: { properties: { restorePointType: string } }[];
    };
    expect(listed.value.map((p) => p.properties.restorePointType)).toEqual(types);
  });

  const LTR_LIST = `/subscriptions/s1/providers/Microsoft.Sql/locations/westeurope/longTermRetentionServers/s1/longTermRetentionDatabases/d1/longTermRetentionBackups`;
  const ltrList = (e: Engine) =>
    (call(e, 'GET', LTR_LIST, '2021-05-01-preview').body as { value: { properties: Record<string, string> }[] }).value;
  const setLtr = (e: Engine, weeklyRetention: string) => {
    const response = call(e, 'PUT', `${DB}/backupLongTermRetentionPolicies/default`, SQL_SECURITY, {
      properties: { weeklyRetention },
    });
    settle(e);
    return response;
  };

  test('a long-term policy set minutes before the delete keeps nothing: copies come from weekly full backups', () => {
    const e = engine();
    withServer(e);
    putDatabase(e, { name: 'GP_Gen5', capacity: 2 });
    e.clock.advance(60_000);
    setLtr(e, 'P12W');
    e.clock.advance(10 * 60_000);
    call(e, 'DELETE', DB, SQL);
    settle(e);
    expect(e.store.retainedBackups).toEqual([]);
    expect(ltrList(e)).toEqual([]);
  });

  test('the next weekly full backup is copied, listed while the database lives and kept after it is deleted', () => {
    const e = engine();
    withServer(e);
    putDatabase(e, { name: 'GP_Gen5', capacity: 2 });
    setLtr(e, 'P12W');
    e.clock.advance(8 * DAY);
    expect(ltrList(e)).toHaveLength(1);
    call(e, 'DELETE', DB, SQL);
    settle(e);
    const kept = ltrList(e);
    expect(kept).toHaveLength(1);
    expect(kept[0]!.properties.databaseDeletionTime).toBe(e.clock.now().toISOString());
  });

  test('ltrBackupAtDeletion keeps a copy taken at the deletion (the old, friendlier world)', () => {
    const e = engine({ ltrBackupAtDeletion: true });
    withServer(e);
    putDatabase(e, { name: 'GP_Gen5', capacity: 2 });
    setLtr(e, 'P12W');
    call(e, 'DELETE', DB, SQL);
    settle(e);
    expect(e.store.retainedBackups).toHaveLength(1);
  });

  test.each([
    ['P10Y', 201],
    ['P11Y', 400],
    ['P522W', 400],
  ])('long-term retention %s: capped at 10 years', (retention, status) => {
    const e = engine();
    withServer(e);
    putDatabase(e, { name: 'GP_Gen5', capacity: 2 });
    const response = setLtr(e, retention);
    expect(response.status === 400 ? response.body : status).toEqual(
      status === 400 ? { error: expect.objectContaining({ code: 'LongTermRetentionPolicyInvalid' }) } : status,
    );
  });

  test('a dropped database stays restorable until its server is deleted', () => {
    const e = engine();
    withServer(e);
    putDatabase(e, { name: 'GP_Gen5', capacity: 2 });
    call(e, 'DELETE', DB, SQL);
    settle(e);
    expect(e.store.droppedDatabases.map((d) => d.databaseName)).toEqual(['d1']);
    call(e, 'DELETE', SERVER, SQL);
    settle(e);
    expect(e.store.droppedDatabases).toEqual([]);
  });
});

describe('serverless auto-pause', () => {
  test('GP_S_* pauses after autoPauseDelay of emulated idle time; updates are refused until a connection resumes it', () => {
    const e = engine();
    withServer(e);
    putDatabase(e, { name: 'GP_S_Gen5', capacity: 2 }, { autoPauseDelay: 60 });
    e.clock.advance(59 * 60_000);
    expect(props(call(e, 'GET', DB, SQL).body).status).toBe('Online');
    e.clock.advance(2 * 60_000);
    expect(props(call(e, 'GET', DB, SQL).body).status).toBe('Paused');
    expect(call(e, 'PATCH', DB, SQL, { properties: { maxSizeBytes: 2 * 34_359_738_368 } })).toMatchObject({
      status: 400,
      body: { error: { code: 'UpdateNotAllowedOnPausedDatabase' } },
    });
    const db = [...e.store.byType.get('microsoft.sql/servers/databases')!.values()][0]!;
    recordDatabaseActivity({ store: e.store, clock: e.clock, settings: e.settings, sql: sqlSettings(e.config) }, db);
    expect(props(call(e, 'GET', DB, SQL).body).status).toBe('Online');
    expect(call(e, 'PATCH', DB, SQL, { properties: { maxSizeBytes: 2 * 34_359_738_368 } }).status).toBe(202);
  });

  // Azure's list of auto-resume triggers: "adding new database tags; changing maximum vCores,
  // minimum vCores, or auto-pause delay". Any other update of a paused database is refused.
  test.each([
    ['adding a tag resumes it', { tags: { added: 'true' } }, 202],
    ['changing max vCores resumes it', { sku: { name: 'GP_S_Gen5', capacity: 4 } }, 202],
    ['changing min vCores resumes it', { properties: { minCapacity: 1 } }, 202],
    ['changing the auto-pause delay resumes it', { properties: { autoPauseDelay: 120 } }, 202],
    ['changing a tag value is refused', { tags: { kept: 'other' } }, 400],
    ['a tier change is refused', { sku: { name: 'GP_Gen5', capacity: 2 } }, 400],
    ['a tag added beside a refused change is refused', { tags: { added: 'true' }, properties: { zoneRedundant: true } }, 400],
  ])('paused database: %s', (_name, patch, status) => {
    const e = engine();
    withServer(e);
    putDatabase(e, { name: 'GP_S_Gen5', capacity: 2 }, { autoPauseDelay: 60 });
    call(e, 'PATCH', DB, SQL, { tags: { kept: 'yes' } });
    settle(e);
    e.clock.advance(2 * 60 * 60_000);
    expect(props(call(e, 'GET', DB, SQL).body).status).toBe('Paused');
    const body = 'tags' in patch ? { ...patch, tags: { kept: 'yes', ...patch.tags } } : patch;
    const response = call(e, 'PATCH', DB, SQL, body);
    expect(response.status).toBe(status);
    settle(e);
    expect(props(call(e, 'GET', DB, SQL).body).status).toBe(status === 202 ? 'Online' : 'Paused');
  });

  test('provisioned databases and serverlessAutoPause: false never pause', () => {
    for (const [behaviours, sku] of [
      [{}, { name: 'GP_Gen5', capacity: 2 }],
      [{ serverlessAutoPause: false }, { name: 'GP_S_Gen5', capacity: 2 }],
    ] as const) {
      const e = engine(behaviours);
      withServer(e);
      putDatabase(e, sku);
      e.clock.advance(DAY);
      expect(props(call(e, 'GET', DB, SQL).body).status).toBe('Online');
    }
  });
});

describe('RBAC propagation', () => {
  const VAULT = `${RG}/providers/Microsoft.KeyVault/vaults/kv1`;
  const CRYPTO_USER = '/subscriptions/s1/providers/Microsoft.Authorization/roleDefinitions/e147488a-f6f5-4113-8e2d-b22465e65bf6';

  /**
   * A server, a vault with purge protection and its key k1, and the Key Vault Crypto User role
   * given to the server's identity at `scope`: the assignment's response, and the server key's PUT.
   */
  function cryptoRoleAt(e: Engine, scope: string) {
    withServer(e);
    call(e, 'PUT', VAULT, '2026-02-01', {
      location: 'westeurope',
      properties: {
        tenantId: '11111111-1111-4111-8111-111111111111',
        sku: { family: 'A', name: 'standard' },
        enablePurgeProtection: true,
      },
    });
    settle(e);
    const key = props(call(e, 'PUT', `${VAULT}/keys/k1`, '2026-02-01', { properties: { kty: 'RSA' } }).body);
    const principalId = (call(e, 'GET', SERVER, SQL).body as { identity: { principalId: string } }).identity.principalId;
    const assignment = call(
      e,
      'PUT',
      `${scope}/providers/Microsoft.Authorization/roleAssignments/44444444-4444-4444-8444-444444444444`,
      '2022-04-01',
      { properties: { roleDefinitionId: CRYPTO_USER, principalId, principalType: 'ServicePrincipal' } },
    );
    const uri = String(key.keyUriWithVersion);
    const name = `kv1_k1_${uri.split('/').pop()}`;
    const serverKey = () =>
      call(e, 'PUT', `${SERVER}/keys/${name}`, SQL_SECURITY, { properties: { serverKeyType: 'AzureKeyVault', uri } });
    return { assignment, serverKey };
  }

  test('a ServicePrincipal assignment is accepted at once; the server key fails with AzureKeyVaultMissingPermissions until it propagates', () => {
    const e = engine({ rbacPropagationDelayMs: 5 * 60_000, rbacPropagationClock: 'emulated' });
    const { assignment, serverKey } = cryptoRoleAt(e, VAULT);
    expect(assignment.status).toBe(201);
    expect(serverKey()).toMatchObject({ status: 400, body: { error: { code: 'AzureKeyVaultMissingPermissions' } } });
    e.clock.advance(5 * 60_000);
    expect(serverKey().status).toBe(201);
  });

  test.each([
    ['the vault itself', 201, VAULT],
    ['its resource group', 201, RG],
    ['its subscription', 201, '/subscriptions/s1'],
    ['another resource group', 400, '/subscriptions/s1/resourceGroups/other'],
  ])('a crypto role assigned at %s and SQL’s server key on the vault: HTTP %s', (_name, status, scope) => {
    const e = engine({ rbacPropagationDelayMs: 0 });
    call(e, 'PUT', '/subscriptions/s1/resourceGroups/other', '2025-04-01', { location: 'westeurope' });
    const { assignment, serverKey } = cryptoRoleAt(e, scope);
    expect(assignment.status).toBe(201);
    const response = serverKey();
    expect(response.status).toBe(status);
    if (status === 400) expect(response.body).toMatchObject({ error: { code: 'AzureKeyVaultMissingPermissions' } });
  });

  test('an unknown principal without principalType is refused (directory lookup)', () => {
    const e = engine();
    call(e, 'PUT', RG, '2025-04-01', { location: 'westeurope' });
    expect(
      call(
        e,
        'PUT',
        `${RG}/providers/Microsoft.Authorization/roleAssignments/55555555-5555-4555-8555-555555555555`,
        '2022-04-01',
        {
          properties: { roleDefinitionId: CRYPTO_USER, principalId: '99999999-9999-4999-8999-999999999999' },
        },
      ).body,
    ).toMatchObject({ error: { code: 'PrincipalNotFound' } });
  });
});

describe('WAF policy placement', () => {
  const waf = (location: string) => ({
    location,
    properties: { managedRules: { managedRuleSets: [{ ruleSetType: 'Microsoft_DefaultRuleSet', ruleSetVersion: '2.1' }] } },
  });
  const path = `${RG}/providers/Microsoft.Network/ApplicationGatewayWebApplicationFirewallPolicies/waf1`;

  test.each([
    ['in the front door region', 'westeurope', {}, 201],
    ['in another region', 'northeurope', {}, 400],
    ['anywhere when no front door region is set', 'northeurope', { frontDoorRegion: undefined }, 201],
  ])('a WAF policy %s', (_name, location, behaviours, status) => {
    const e = engine(behaviours);
    call(e, 'PUT', RG, '2025-04-01', { location: 'westeurope' });
    const response = call(e, 'PUT', path, '2026-01-01', waf(location));
    expect(response.status).toBe(status);
    if (status === 400)
      expect(response.body).toMatchObject({ error: { code: 'WafPolicyNotInApplicationGatewayForContainersRegion' } });
  });
});

// --- audit, Defender for SQL, key rotation (issue #17 parts 2-4) ---------------------------------

const AUDITING = '2021-11-01-preview';
const INSIGHTS = '2021-05-01-preview';
const LOG_ANALYTICS = '2023-09-01';
const KV = '2026-02-01';
const PLATFORM = `${SUB}/resourceGroups/platform`;
const WORKSPACE = `${PLATFORM}/providers/Microsoft.OperationalInsights/workspaces/audit`;
const VAULT = `${RG}/providers/Microsoft.KeyVault/vaults/kv1`;

function withWorkspace(e: Engine, retentionInDays?: number): void {
  call(e, 'PUT', PLATFORM, '2025-04-01', { location: 'westeurope' });
  call(e, 'PUT', WORKSPACE, LOG_ANALYTICS, { location: 'westeurope', properties: retentionInDays ? { retentionInDays } : {} });
  settle(e);
}

function withVault(e: Engine): void {
  call(e, 'PUT', RG, '2025-04-01', { location: 'westeurope' });
  call(e, 'PUT', VAULT, KV, {
    location: 'westeurope',
    properties: {
      tenantId: '11111111-1111-4111-8111-111111111111',
      sku: { family: 'A', name: 'standard' },
      enablePurgeProtection: true,
    },
  });
  settle(e);
}

describe('SQL auditing and Defender for SQL', () => {
  test('a new server audits nothing and has no Defender, as on Azure', () => {
    const e = engine();
    withServer(e);
    expect(props(call(e, 'GET', `${SERVER}/auditingSettings/default`, AUDITING).body)).toMatchObject({
      state: 'Disabled',
      isAzureMonitorTargetEnabled: false,
      auditActionsAndGroups: [],
    });
    expect(props(call(e, 'GET', `${SERVER}/advancedThreatProtectionSettings/Default`, AUDITING).body)).toMatchObject({
      state: 'New',
    });
  });

  test.each([
    ['enabled without a target', { state: 'Enabled' }, 400, 'DataSecurityInvalidUserSuppliedParameter'],
    [
      'an unknown action group',
      { state: 'Enabled', isAzureMonitorTargetEnabled: true, auditActionsAndGroups: ['EVERYTHING'] },
      400,
      'InvalidBlobAuditActionsAndGroups',
    ],
    ['a state outside the spec', { state: 'On', isAzureMonitorTargetEnabled: true }, 400, 'InvalidParameterValue'],
    ['to Azure Monitor, groups left to Azure', { state: 'Enabled', isAzureMonitorTargetEnabled: true }, 200, undefined],
  ])('server auditing %s', (_name, properties, status, code) => {
    const e = engine();
    withServer(e);
    const response = call(e, 'PUT', `${SERVER}/auditingSettings/default`, AUDITING, { properties });
    expect(response.status).toBe(status);
    if (code) expect(response.body).toMatchObject({ error: { code } });
    else {
      settle(e);
      // The portal's default groups: every batch and every login.
      expect(props(call(e, 'GET', `${SERVER}/auditingSettings/default`, AUDITING).body).auditActionsAndGroups).toEqual([
        'SUCCESSFUL_DATABASE_AUTHENTICATION_GROUP',
        'FAILED_DATABASE_AUTHENTICATION_GROUP',
        'BATCH_COMPLETED_GROUP',
      ]);
    }
  });

  test('Defender is a long-running server setting with a creation time', () => {
    const e = engine();
    withServer(e);
    const response = call(e, 'PUT', `${SERVER}/advancedThreatProtectionSettings/Default`, AUDITING, {
      properties: { state: 'Enabled' },
    });
    expect(response.headers['Azure-AsyncOperation']).toMatch(/operationStatuses/);
    settle(e);
    expect(props(call(e, 'GET', `${SERVER}/advancedThreatProtectionSettings/Default`, AUDITING).body)).toEqual({
      state: 'Enabled',
      creationTime: '2026-03-01T00:00:00.000Z',
    });
  });
});

describe('diagnostic settings and Log Analytics retention', () => {
  const setting = (scope: string, name = 'audit') => `${scope}/providers/Microsoft.Insights/diagnosticSettings/${name}`;
  const logs = (category: string, extra: Record<string, unknown> = {}) => [{ category, enabled: true, ...extra }];

  test.each([
    ['to the workspace', { workspaceId: WORKSPACE, logs: logs('AuditEvent') }, 200, undefined],
    ['without a destination', { logs: logs('AuditEvent') }, 400, 'BadRequest'],
    ['to a workspace name instead of an id', { workspaceId: 'audit', logs: logs('AuditEvent') }, 400, 'LinkedInvalidPropertyId'],
    ['to a workspace that does not exist', { workspaceId: `${WORKSPACE}x`, logs: logs('AuditEvent') }, 404, 'ResourceNotFound'],
    [
      'with a category the vault does not have',
      { workspaceId: WORKSPACE, logs: logs('SQLSecurityAuditEvents') },
      400,
      'BadRequest',
    ],
    [
      'with the deprecated storage retention',
      { workspaceId: WORKSPACE, logs: logs('AuditEvent', { retentionPolicy: { enabled: true, days: 180 } }) },
      400,
      'BadRequest',
    ],
  ])('on a vault: %s', (_name, properties, status, code) => {
    const e = engine();
    withWorkspace(e);
    withVault(e);
    const response = call(e, 'PUT', setting(VAULT), INSIGHTS, { properties });
    expect(response.status).toBe(status);
    if (code) expect(response.body).toMatchObject({ error: { code } });
  });

  test('a server’s master database takes diagnostic settings though it is not listed; they go with the server', () => {
    const e = engine();
    withWorkspace(e);
    withServer(e);
    const path = setting(`${SERVER}/databases/master`);
    expect(
      call(e, 'PUT', path, INSIGHTS, { properties: { workspaceId: WORKSPACE, logs: logs('SQLSecurityAuditEvents') } }).status,
    ).toBe(200);
    expect(
      call(e, 'PUT', setting(`${SERVER}/databases/other`), INSIGHTS, {
        properties: { workspaceId: WORKSPACE, logs: logs('Errors') },
      }).status,
    ).toBe(404);
    expect((call(e, 'GET', `${SERVER}/databases`, SQL).body as { value: unknown[] }).value).toEqual([]);
  });

  test('two settings of one resource may not send the same category to the same workspace', () => {
    const e = engine();
    withWorkspace(e);
    withVault(e);
    call(e, 'PUT', setting(VAULT, 'a'), INSIGHTS, { properties: { workspaceId: WORKSPACE, logs: logs('AuditEvent') } });
    expect(
      call(e, 'PUT', setting(VAULT, 'b'), INSIGHTS, { properties: { workspaceId: WORKSPACE, logs: logs('AuditEvent') } }),
    ).toMatchObject({
      status: 400,
      body: { error: { message: expect.stringContaining("Data sinks can't be reused") } },
    });
  });

  test('a table reports the workspace’s retention by default, its own when set, long-term included in the total', () => {
    const e = engine();
    withWorkspace(e, 90);
    const table = `${WORKSPACE}/tables/AzureDiagnostics`;
    expect(props(call(e, 'GET', table, LOG_ANALYTICS).body)).toMatchObject({
      retentionInDays: 90,
      totalRetentionInDays: 90,
      archiveRetentionInDays: 0,
      retentionInDaysAsDefault: true,
    });
    call(e, 'PATCH', table, LOG_ANALYTICS, { properties: { totalRetentionInDays: 365 } });
    settle(e);
    expect(props(call(e, 'GET', table, LOG_ANALYTICS).body)).toMatchObject({
      retentionInDays: 90,
      totalRetentionInDays: 365,
      archiveRetentionInDays: 275,
      totalRetentionInDaysAsDefault: false,
    });
    expect(call(e, 'PATCH', table, LOG_ANALYTICS, { properties: { retentionInDays: 2 } }).status).toBe(400);
    expect(call(e, 'PUT', WORKSPACE, LOG_ANALYTICS, { location: 'westeurope', properties: { retentionInDays: 7 } }).status).toBe(
      400,
    );
  });
});

describe('key rotation', () => {
  const KEY = `${VAULT}/keys/tde`;
  const policy = (rotate: string, expiry: string, extra: unknown[] = []) => ({
    attributes: { expiryTime: expiry },
    lifetimeActions: [{ trigger: { timeAfterCreate: rotate }, action: { type: 'rotate' } }, ...extra],
  });

  test.each([
    [
      'a yearly rotation, two-year expiry, notified 30 days before',
      policy('P1Y', 'P2Y', [{ trigger: { timeBeforeExpiry: 'P30D' }, action: { type: 'notify' } }]),
      200,
    ],
    ['an expiry under 28 days', policy('P7D', 'P20D'), 400],
    ['a rotation sooner than 7 days after creation', policy('P1D', 'P1Y'), 400],
    ['a rotation later than 7 days before expiry', policy('P360D', 'P1Y'), 400],
    [
      'a notification without an expiry',
      { lifetimeActions: [{ trigger: { timeBeforeExpiry: 'P30D' }, action: { type: 'notify' } }] },
      400,
    ],
    [
      'a trigger with both times',
      {
        attributes: { expiryTime: 'P2Y' },
        lifetimeActions: [{ trigger: { timeAfterCreate: 'P1Y', timeBeforeExpiry: 'P30D' }, action: { type: 'rotate' } }],
      },
      400,
    ],
  ])('a key created with %s', (_name, rotationPolicy, status) => {
    const e = engine();
    withVault(e);
    expect(call(e, 'PUT', KEY, KV, { properties: { kty: 'RSA', rotationPolicy } }).status).toBe(status);
  });

  test('Key Vault rotates on the emulated clock; rotated versions expire after the policy’s expiry; ARM never updates the key', () => {
    const e = engine();
    withVault(e);
    const exp = Date.parse('2027-03-01T00:00:00Z') / 1000;
    call(e, 'PUT', KEY, KV, { properties: { kty: 'RSA', attributes: { exp }, rotationPolicy: policy('P6M', 'P1Y') } });
    const first = props(call(e, 'GET', KEY, KV).body);
    expect(first.rotationPolicy).toMatchObject({ attributes: { expiryTime: 'P1Y', created: expect.any(Number) } });
    // A PUT of an existing key is create-if-not-exist: it changes nothing, the policy included.
    expect(call(e, 'PUT', KEY, KV, { properties: { kty: 'RSA' } }).status).toBe(200);
    expect(props(call(e, 'GET', KEY, KV).body).rotationPolicy).toEqual(first.rotationPolicy);

    e.clock.advance(179 * DAY);
    expect(props(call(e, 'GET', KEY, KV).body).keyUriWithVersion).toBe(first.keyUriWithVersion);
    // Two periods at once: two new versions, the current one created at the second due time.
    e.clock.advance(182 * DAY);
    const now = props(call(e, 'GET', KEY, KV).body);
    expect(now.keyUriWithVersion).not.toBe(first.keyUriWithVersion);
    const created = (first.attributes as { created: number }).created + 2 * 180 * 86_400;
    expect(now.attributes).toMatchObject({ created, exp: created + 365 * 86_400 });
  });

  test('a key put after the others were looked at rotates on its own time', () => {
    const e = engine();
    withVault(e);
    const second = `${VAULT}/keys/second`;
    call(e, 'PUT', KEY, KV, { properties: { kty: 'RSA', rotationPolicy: policy('P1Y', 'P2Y') } });
    const firstVersion = props(call(e, 'GET', KEY, KV).body).keyUriWithVersion;
    // Looked at (every request does): the earliest rotation is a year away. A key put now is due sooner.
    call(e, 'PUT', second, KV, { properties: { kty: 'RSA', rotationPolicy: policy('P30D', 'P1Y') } });
    const secondVersion = props(call(e, 'GET', second, KV).body).keyUriWithVersion;
    e.clock.advance(31 * DAY);
    expect(props(call(e, 'GET', second, KV).body).keyUriWithVersion).not.toBe(secondVersion);
    expect(props(call(e, 'GET', KEY, KV).body).keyUriWithVersion).toBe(firstVersion);
  });

  test('a key changed in place (as the emulator’s test controls do) rotates once keysChanged says so', () => {
    const e = engine();
    withVault(e);
    call(e, 'PUT', KEY, KV, { properties: { kty: 'RSA' } });
    // Looked at: no key has a rotation due.
    const before = props(call(e, 'GET', KEY, KV).body).keyUriWithVersion;
    const checked = checkRotationPolicy(policy('P30D', 'P1Y'), Math.floor(e.clock.now().getTime() / 1000));
    if (!checked.ok) throw new Error(checked.error.message);
    props(getResource(e.store, KEY)?.body ?? {}).rotationPolicy = checked.value;
    keysChanged(e.store);
    e.clock.advance(31 * DAY);
    expect(props(call(e, 'GET', KEY, KV).body).keyUriWithVersion).not.toBe(before);
  });

  test('Azure SQL follows a new version only after its delay, adding the version as a server key', () => {
    const e = engine({ rbacPropagationDelayMs: 0, sqlKeyAutoRotationDelayMs: 60 * 60_000 });
    withServer(e);
    withVault(e);
    call(e, 'PUT', KEY, KV, { properties: { kty: 'RSA', rotationPolicy: policy('P30D', 'P1Y') } });
    const principalId = (call(e, 'GET', SERVER, SQL).body as { identity: { principalId: string } }).identity.principalId;
    call(
      e,
      'PUT',
      `${VAULT}/providers/Microsoft.Authorization/roleAssignments/44444444-4444-4444-8444-444444444444`,
      '2022-04-01',
      {
        properties: {
          roleDefinitionId:
            '/subscriptions/s1/providers/Microsoft.Authorization/roleDefinitions/e147488a-f6f5-4113-8e2d-b22465e65bf6',
          principalId,
          principalType: 'ServicePrincipal',
        },
      },
    );
    const uri = String(props(call(e, 'GET', KEY, KV).body).keyUriWithVersion);
    const v1 = `kv1_tde_${uri.split('/').pop()}`;
    call(e, 'PUT', `${SERVER}/keys/${v1}`, SQL_SECURITY, { properties: { serverKeyType: 'AzureKeyVault', uri } });
    settle(e);
    call(e, 'PUT', `${SERVER}/encryptionProtector/current`, SQL_SECURITY, {
      properties: { serverKeyType: 'AzureKeyVault', serverKeyName: v1, autoRotationEnabled: true },
    });
    settle(e);
    const protector = () => props(call(e, 'GET', `${SERVER}/encryptionProtector/current`, SQL_SECURITY).body);

    e.clock.advance(30 * DAY + 30 * 60_000);
    const v2uri = String(props(call(e, 'GET', KEY, KV).body).keyUriWithVersion);
    expect(v2uri).not.toBe(uri);
    expect(protector().serverKeyName).toBe(v1);
    e.clock.advance(31 * 60_000);
    expect(protector()).toMatchObject({ serverKeyName: `kv1_tde_${v2uri.split('/').pop()}`, uri: v2uri });
    // The old version stays a server key: backups taken before need it.
    expect(call(e, 'GET', `${SERVER}/keys/${v1}`, SQL_SECURITY).status).toBe(200);
  });

  test('a server key for an expired version is refused', () => {
    const e = engine({ rbacPropagationDelayMs: 0 });
    withServer(e);
    withVault(e);
    call(e, 'PUT', KEY, KV, { properties: { kty: 'RSA', attributes: { exp: Date.parse('2026-03-02T00:00:00Z') / 1000 } } });
    const uri = String(props(call(e, 'GET', KEY, KV).body).keyUriWithVersion);
    e.clock.advance(2 * DAY);
    expect(
      call(e, 'PUT', `${SERVER}/keys/kv1_tde_${uri.split('/').pop()}`, SQL_SECURITY, {
        properties: { serverKeyType: 'AzureKeyVault', uri },
      }).body,
    ).toMatchObject({
      error: { code: 'AzureKeyVaultKeyExpired' },
    });
  });
});
