/**
 * Zone redundancy of Production databases, end to end against the ARM emulator: the plan the
 * reconciler computes asks for it only where the region has availability zones (the emulator
 * knows which do, and refuses a zone-redundant database anywhere else as Azure does); a tenant
 * elsewhere keeps DatabaseReady True and says why in ZoneRedundant; turning it on for an existing
 * database waits while the maintenance gate holds it, then is one PATCH.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { ArmRequestError } from '../../../src/azure/arm-client.ts';
import { SQL_API_VERSION } from '../../../src/azure/kinds/sql.ts';
import { type AzureTestEnv, azureStep, converge, resourceIds, startAzureTestEnv, storedTenant, tenantPlan } from './support.ts';

let env: AzureTestEnv;

beforeAll(async () => {
  env = await startAzureTestEnv();
});

afterAll(async () => {
  await env.emulator.stop();
});

const props = (body: Record<string, unknown> | undefined) => (body?.properties ?? {}) as Record<string, unknown>;

describe('a Production database, by region', () => {
  test.each([
    ['westeurope', 'EU', true, 'AcrossAvailabilityZones'],
    ['uksouth', 'UK', true, 'AcrossAvailabilityZones'],
    ['ukwest', 'UK', false, 'NoAvailabilityZones'],
    ['canadaeast', 'CA', false, 'NoAvailabilityZones'],
    ['northcentralus', 'US', false, 'NoAvailabilityZones'],
  ])(
    'in %s (%s): zone-redundant %s, ZoneRedundant reason %s, DatabaseReady True',
    async (region, _zone, zoneRedundant, reason) => {
      const name = `zr-${region}`;
      const plan = tenantPlan(env, name, { region });
      expect(plan.zoneRedundancy).toMatchObject({ zoneRedundant, reason, held: false });
      await converge(env, plan);

      // What Azure holds, not what the operator believes.
      const database = env.emulator.state.get(resourceIds(env.emulator, plan.names).database);
      expect(props(database).zoneRedundant).toBe(zoneRedundant);

      const { step } = azureStep(env);
      const result = await step.reconcile(storedTenant(name, { region }), plan);
      expect(result.conditions.find((c) => c.type === 'DatabaseReady')).toMatchObject({ status: 'True', reason: 'Provisioned' });
      const condition = result.informational.find((c) => c.type === 'ZoneRedundant');
      expect(condition).toMatchObject({ status: zoneRedundant ? 'True' : 'False', reason });
      if (!zoneRedundant) expect(condition?.message).toBe(`Not zone-redundant: region ${region} has no availability zones.`);
    },
  );

  test('QA and Development databases stay in one zone, even where the region has zones', async () => {
    const plan = tenantPlan(env, 'zr-qa', { environment: 'QA', replicas: 1 });
    await converge(env, plan);
    expect(props(env.emulator.state.get(resourceIds(env.emulator, plan.names).database)).zoneRedundant).toBe(false);
    expect(plan.zoneRedundancy).toMatchObject({ zoneRedundant: false, reason: 'NotProduction' });
  });
});

describe('the emulator refuses what Azure refuses', () => {
  test.each([
    ['a region without availability zones', 'ukwest', { name: 'GP_Gen5', capacity: 2 }],
    ['a DTU Standard SKU, even in a region with zones', 'westeurope', { name: 'S0' }],
    ['a DTU Basic SKU', 'westeurope', { name: 'Basic' }],
  ])('a zone-redundant database on %s: 400 ProvisioningDisabled', async (_name, location, sku) => {
    const plan = tenantPlan(env, `zr-refused-${location}`, { region: location });
    const { last } = await converge(env, { ...plan, backup: undefined });
    expect(last.converged).toBe(true);
    const ids = resourceIds(env.emulator, plan.names);
    const response = await env.arm
      .beginWrite('PUT', `${ids.server}/databases/refused`, SQL_API_VERSION, {
        location,
        sku,
        properties: { zoneRedundant: true },
      })
      .catch((err: unknown) => err as ArmRequestError);
    expect(response).toMatchObject({ statusCode: 400, code: 'ProvisioningDisabled' });
    expect(env.emulator.state.get(`${ids.server}/databases/refused`)).toBeUndefined();
  });
});

describe('turning zone redundancy on for an existing database', () => {
  test('waits while the maintenance gate holds it (no write), then is one PATCH of the database', async () => {
    const { emulator } = env;
    // A Production database made before zone redundancy was decided: in one zone.
    const decided = tenantPlan(env, 'zr-existing');
    const before = { ...decided, zoneRedundancy: { ...decided.zoneRedundancy, zoneRedundant: false } };
    await converge(env, before);
    const ids = resourceIds(emulator, decided.names);
    expect(props(emulator.state.get(ids.database)).zoneRedundant).toBe(false);

    // Held: the plan says zone-redundant, the database is left as it is.
    const held = tenantPlan(env, 'zr-existing', { zoneRedundancyHeld: true });
    const mark = emulator.mark();
    await converge(env, held);
    expect(emulator.writes(mark)).toEqual([]);
    const { step } = azureStep(env);
    const waiting = await step.reconcile(storedTenant('zr-existing'), held);
    expect(waiting.conditions.find((c) => c.type === 'DatabaseReady')).toMatchObject({ status: 'True' });
    expect(waiting.informational.find((c) => c.type === 'ZoneRedundant')).toMatchObject({
      status: 'False',
      reason: 'WaitingForWindow',
    });

    // The window opens (the gate lets it run): one PATCH, then converged with zero writes.
    const applied = emulator.mark();
    await converge(env, decided);
    expect(emulator.writes(applied).map((w) => `${w.method} ${w.resourceType}`)).toEqual([
      'PATCH Microsoft.Sql/servers/databases',
    ]);
    expect(props(emulator.state.get(ids.database)).zoneRedundant).toBe(true);
    const again = emulator.mark();
    await converge(env, decided);
    expect(emulator.writes(again)).toEqual([]);
    const done = await step.reconcile(storedTenant('zr-existing'), decided);
    expect(done.informational.find((c) => c.type === 'ZoneRedundant')).toMatchObject({
      status: 'True',
      reason: 'AcrossAvailabilityZones',
    });
  });
});
