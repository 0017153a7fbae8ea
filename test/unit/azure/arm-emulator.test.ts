/** The ARM emulator's pure parts: path parsing, ARM PATCH, durations, seeded faults, and engine semantics without HTTP. */
import { describe, expect, test } from '@jest/globals';
import { parseArmPath } from '../../../hack/arm-emulator/arm-path.ts';
import { createControllableClock } from '../../../hack/arm-emulator/clock.ts';
import { isoDurationMs } from '../../../hack/arm-emulator/durations.ts';
import { createEngine, type Engine, handleRequest } from '../../../hack/arm-emulator/engine.ts';
import { createFaultInjector } from '../../../hack/arm-emulator/faults.ts';
import { armMergePatch } from '../../../hack/arm-emulator/json.ts';
import { realisticBehaviours } from '../../../hack/arm-emulator/index.ts';
import { createStore } from '../../../hack/arm-emulator/store.ts';

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

function engine(): Engine {
  return createEngine(
    createStore(),
    createControllableClock(new Date('2026-03-01T00:00:00Z')),
    {
      directoryTenantId: '11111111-1111-4111-8111-111111111111',
      locations: new Set(['westeurope']),
      strictPrincipals: true,
      behaviours: realisticBehaviours(),
    },
    { lroDelayMs: 0, pollHoldMs: 0, timing: { profile: 'instant', timeFactor: 1 } },
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
