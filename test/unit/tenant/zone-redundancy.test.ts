/**
 * Zone redundancy of a tenant's database, as pure decisions: which tenants get it (Production, a
 * region with availability zones, a SKU Azure offers it for), how the SQL database kind compares
 * and holds it, what the ZoneRedundant condition says, and how the maintenance gate treats
 * turning it on or off (a disruptive change, announced and held for the window).
 */
import { describe, expect, test } from '@jest/globals';
import { AVAILABILITY_ZONE_REGIONS } from '../../../hack/arm-emulator/zones.ts';
import type { ArmBody } from '../../../src/azure/arm-client.ts';
import { type DatabaseParams, skuSupportsZoneRedundancy, sqlDatabaseKind } from '../../../src/azure/kinds/sql.ts';
import { DEFAULT_AVAILABILITY_ZONE_REGIONS, DEFAULT_RESIDENCY } from '../../../src/config.ts';
import { type DisruptiveSettings, decideDisruptiveChanges, disruptiveChanges } from '../../../src/maintenance/gate.ts';
import {
  APPLIED_ZONE_REDUNDANCY_ANNOTATION,
  desiredSettings,
  runningSettings,
} from '../../../src/maintenance/tenant-settings.ts';
import { RetryableError } from '../../../src/runtime/errors.ts';
import { decideZoneRedundancy, tenantAzurePlan } from '../../../src/tenant/azure.ts';
import { zoneRedundancyCondition } from '../../../src/tenant/azure-step.ts';
import { buildNamespace } from '../../../src/tenant/namespace.ts';
import { aConfig, aTenant, type TenantModifier, withEnvironment, withTier } from '../../fixtures/tenant.ts';

const inRegion =
  (region: string): TenantModifier =>
  (t) => {
    t.spec.region = region;
  };
const production = withEnvironment('Production');
const GP = { name: 'GP_Gen5', tier: 'GeneralPurpose', capacity: 2 };

describe('decideZoneRedundancy', () => {
  test.each([
    ['Production, westeurope, General Purpose', [production], GP, true, 'AcrossAvailabilityZones'],
    ['Production, serverless General Purpose', [production], { name: 'GP_S_Gen5', capacity: 2 }, true, 'AcrossAvailabilityZones'],
    ['Production, Business Critical', [production], { name: 'BC_Gen5_8' }, true, 'AcrossAvailabilityZones'],
    ['Production, Hyperscale', [production], { name: 'HS_Gen5_4' }, true, 'AcrossAvailabilityZones'],
    ['Production, DTU Premium', [production], { name: 'P1' }, true, 'AcrossAvailabilityZones'],
    ['Production, DTU Standard', [production], { name: 'S0' }, false, 'SkuNotZoneRedundant'],
    ['Production, DTU Basic', [production], { name: 'Basic' }, false, 'SkuNotZoneRedundant'],
    ['Production, ukwest (no zones)', [production, inRegion('ukwest')], GP, false, 'NoAvailabilityZones'],
    ['Production, westus (no zones)', [production, inRegion('westus')], GP, false, 'NoAvailabilityZones'],
    ['QA, westeurope', [withEnvironment('QA')], GP, false, 'NotProduction'],
    ['Development, westeurope', [withEnvironment('Development')], GP, false, 'NotProduction'],
    // The region decides first: no SKU makes a database zone-redundant where there are no zones.
    ['Production, ukwest, DTU Standard', [production, inRegion('ukwest')], { name: 'S0' }, false, 'NoAvailabilityZones'],
  ])('%s', (_name, modifiers, sku, zoneRedundant, reason) => {
    const decision = decideZoneRedundancy(aTenant('acme', ...modifiers), sku, DEFAULT_AVAILABILITY_ZONE_REGIONS);
    expect(decision).toMatchObject({ zoneRedundant, reason });
  });

  test('a region without zones is named in the message', () => {
    const decision = decideZoneRedundancy(aTenant('acme', production, inRegion('ukwest')), GP, DEFAULT_AVAILABILITY_ZONE_REGIONS);
    expect(decision.message).toBe('Not zone-redundant: region ukwest has no availability zones.');
  });

  test('every default tier is zone-redundant in Production where the region has zones (the plan reads the tier’s SKU)', () => {
    const config = aConfig({
      azure: {
        subscriptionId: '00000000-0000-4000-8000-000000000001',
        directoryTenantId: '00000000-0000-4000-8000-000000000002',
        oidcIssuer: 'https://oidc.example/',
        sqlAdminGroup: { login: 'admins', objectId: '00000000-0000-4000-8000-000000000003' },
        audit: {
          logAnalyticsWorkspaceId:
            '/subscriptions/00000000-0000-4000-8000-000000000001/resourceGroups/platform/providers/Microsoft.OperationalInsights/workspaces/audit',
        },
      },
    });
    const azure = config.azure;
    if (!azure) throw new Error('no azure');
    for (const tier of ['Small', 'Medium', 'Large'] as const) {
      const plan = tenantAzurePlan(aTenant('acme', production, withTier(tier)), config, azure, undefined);
      expect([tier, plan.zoneRedundancy.zoneRedundant, plan.zoneRedundancy.held]).toEqual([tier, true, false]);
    }
    const held = tenantAzurePlan(aTenant('acme', production), config, azure, undefined, true);
    expect(held.zoneRedundancy.held).toBe(true);
  });
});

describe('the regions with availability zones', () => {
  test('the operator’s default list is the emulator’s copy of Azure’s published list', () => {
    expect([...DEFAULT_AVAILABILITY_ZONE_REGIONS].sort()).toEqual([...AVAILABILITY_ZONE_REGIONS].sort());
  });

  test('the default residency zones’ regions without zones are exactly the ones documented', () => {
    const regions = Object.values(DEFAULT_RESIDENCY.zones).flatMap((z) => z.regions);
    expect(regions.filter((r) => !DEFAULT_AVAILABILITY_ZONE_REGIONS.includes(r)).sort()).toEqual(
      ['australiasoutheast', 'canadaeast', 'northcentralus', 'switzerlandwest', 'ukwest'].sort(),
    );
  });
});

describe('the SQL database kind', () => {
  const db: DatabaseParams = {
    serverId: '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Sql/servers/sql',
    name: 'sqldb',
    location: 'westeurope',
    tags: {},
    sku: { name: 'GP_Gen5_2' },
    backupStorageRedundancy: 'Zone',
  };
  const observed = (zoneRedundant?: boolean): ArmBody => ({
    location: 'westeurope',
    tags: {},
    sku: { name: 'GP_Gen5', tier: 'GeneralPurpose', capacity: 2 },
    properties: {
      status: 'Online',
      requestedBackupStorageRedundancy: 'Zone',
      ...(zoneRedundant === undefined ? {} : { zoneRedundant }),
    },
  });

  test.each([
    ['not decided: never compared', {}, observed(true), []],
    ['wanted and there', { zoneRedundant: true }, observed(true), []],
    ['wanted, missing', { zoneRedundant: true }, observed(false), ['zoneRedundant']],
    ['wanted, Azure reports nothing (its default: off)', { zoneRedundant: true }, observed(), ['zoneRedundant']],
    ['not wanted, there', { zoneRedundant: false }, observed(true), ['zoneRedundant']],
    ['wanted but held for the window', { zoneRedundant: true, holdZoneRedundancy: true }, observed(false), []],
  ])('diff: %s', (_name, params, body, fields) => {
    expect(sqlDatabaseKind.diff({ ...db, ...params }, body)).toEqual(fields);
  });

  test('created zone-redundant as decided, even while a change would be held (creating disrupts nobody)', () => {
    expect(sqlDatabaseKind.create({ ...db, zoneRedundant: true, holdZoneRedundancy: true })).toMatchObject({
      properties: { zoneRedundant: true, requestedBackupStorageRedundancy: 'Zone' },
    });
    expect(sqlDatabaseKind.create(db)).toEqual(
      expect.objectContaining({ properties: { requestedBackupStorageRedundancy: 'Zone' } }),
    );
  });

  test('turning it on is one PATCH of that property alone', () => {
    expect(sqlDatabaseKind.update?.({ ...db, zoneRedundant: true }, observed(false), ['zoneRedundant'])).toEqual({
      method: 'PATCH',
      body: { properties: { zoneRedundant: true } },
    });
  });

  test.each([
    ['S0', false],
    ['Basic', false],
    ['S3', false],
    ['P1', true],
    ['GP_Gen5_2', true],
    ['GP_S_Gen5_1', true],
    ['BC_Gen5_4', true],
    ['HS_Gen5_2', true],
  ])('SKU %s supports zone redundancy: %s', (name, expected) => {
    expect(skuSupportsZoneRedundancy({ name })).toBe(expected);
  });
});

describe('the ZoneRedundant condition', () => {
  const plan = (
    zoneRedundant: boolean,
    held = false,
    reason = zoneRedundant ? 'AcrossAvailabilityZones' : 'NoAvailabilityZones',
  ) => ({
    region: 'westeurope',
    zoneRedundancy: { zoneRedundant, reason: reason as 'NoAvailabilityZones', message: `decided: ${reason}`, held },
  });

  test.each([
    ['decided and there', plan(true), true, undefined, 'True', 'AcrossAvailabilityZones'],
    ['not decided (no zones): False, the decision’s reason', plan(false), false, undefined, 'False', 'NoAvailabilityZones'],
    ['not for QA', plan(false, false, 'NotProduction'), false, undefined, 'False', 'NotProduction'],
    ['held for the window', plan(true, true), false, undefined, 'False', 'WaitingForWindow'],
    ['being turned on', plan(true), false, undefined, 'False', 'Provisioning'],
    ['database not there yet', plan(true), undefined, undefined, 'False', 'Provisioning'],
    [
      'the database’s own failure',
      plan(true),
      false,
      new RetryableError('AzureThrottled', 'slow down'),
      'False',
      'AzureThrottled',
    ],
  ])('%s', (_name, p, observed, failure, status, reason) => {
    expect(zoneRedundancyCondition(p, observed, failure)).toMatchObject({ type: 'ZoneRedundant', status, reason });
  });
});

describe('the maintenance gate', () => {
  const running: DisruptiveSettings = { image: 'repo/app', version: '1.0.0', tier: 'Small' };
  const sunday = new Date('2026-11-22T12:00:00Z');
  const wednesdays = {
    timeZone: 'Europe/Amsterdam',
    recurrences: [{ days: ['Wednesday' as const], start: '02:00', duration: '3h' }],
  };

  test.each([
    ['never recorded (a database from before): turning it on is a change', running, true, ['zone redundancy off -> on']],
    ['recorded off', { ...running, zoneRedundant: false }, true, ['zone redundancy off -> on']],
    ['recorded on, still wanted', { ...running, zoneRedundant: true }, true, []],
    ['recorded on, no longer wanted', { ...running, zoneRedundant: true }, false, ['zone redundancy on -> off']],
    ['Azure not managed: nothing to compare', { ...running, zoneRedundant: true }, undefined, []],
  ])('%s', (_name, from, wanted, changes) => {
    const to: DisruptiveSettings = { ...running, ...(wanted === undefined ? {} : { zoneRedundant: wanted }) };
    expect(disruptiveChanges(from, to)).toEqual(changes);
  });

  test('turning it on outside the window waits, like a tier change; the effective settings keep what runs', () => {
    const decision = decideDisruptiveChanges({
      desired: { ...running, zoneRedundant: true },
      running,
      schedule: wednesdays,
      now: sunday,
    });
    expect(decision).toMatchObject({ reason: 'WaitingForWindow', pending: ['zone redundancy off -> on'] });
    expect(decision.effective.zoneRedundant).toBeUndefined();
  });

  test('a new tenant is created zone-redundant at once', () => {
    const decision = decideDisruptiveChanges({
      desired: { ...running, zoneRedundant: true },
      running: undefined,
      schedule: wednesdays,
      now: sunday,
    });
    expect(decision).toMatchObject({ reason: 'FirstProvisioning', effective: { zoneRedundant: true } });
  });

  test('the namespace records what was applied, and the gate reads it back', () => {
    const tenant = aTenant('acme', production);
    const ns = buildNamespace(tenant, aConfig(), { zoneRedundant: true });
    expect(ns.metadata.annotations?.[APPLIED_ZONE_REDUNDANCY_ANNOTATION]).toBe('true');
    expect(runningSettings(ns)).toEqual({ ...desiredSettings(tenant), zoneRedundant: true });
    // Kubernetes-only mode records nothing.
    expect(buildNamespace(tenant, aConfig()).metadata.annotations).not.toHaveProperty(APPLIED_ZONE_REDUNDANCY_ANNOTATION);
    expect(desiredSettings(tenant, false)).toMatchObject({ zoneRedundant: false });
  });
});
