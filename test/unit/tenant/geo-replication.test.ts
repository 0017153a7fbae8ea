/**
 * Geo-replication as pure decisions: which tenants get a secondary and where (the region's pair,
 * only inside the residency zone), the resources the plan adds, the failover group kind's
 * comparison, the GeoReplicated condition and status facts, the egress to the secondary's
 * endpoint, and the region-pair table held against the emulator's own copy.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from '@jest/globals';
import { parse } from 'yaml';
import { seedingProgress } from '../../../hack/arm-emulator/geo-replication.ts';
import { REGION_PAIRS } from '../../../hack/arm-emulator/region-pairs.ts';
import { backupPolicySpecSchema } from '../../../src/api/v1alpha1/backup-policy.ts';
import { ArmRequestError } from '../../../src/azure/arm-client.ts';
import { sqlFailoverGroupKind } from '../../../src/azure/kinds/sql.ts';
import type { GeoReplicationLink } from '../../../src/azure/sql-data-plane.ts';
import { DEFAULT_REGION_PAIRS, DEFAULT_RESIDENCY } from '../../../src/config.ts';
import type { GeoReplicationFacts } from '../../../src/context.ts';
import { RetryableError } from '../../../src/runtime/errors.ts';
import {
  decideGeoReplication,
  geoSecondaryServer,
  type TenantAzurePlan,
  tenantAzurePlan,
  tenantAzureResources,
} from '../../../src/tenant/azure.ts';
import { failBackBeforeDeletion, geoFacts, geoReplicationCondition, withReplicationLag } from '../../../src/tenant/azure-step.ts';
import { buildNetworkPolicies, sameEgressAddresses } from '../../../src/tenant/network-policy.ts';
import { aConfig, aTenant, type TenantModifier } from '../../fixtures/tenant.ts';
import { REPO_ROOT } from '../../harness/control-plane.ts';

const inRegion =
  (region: string): TenantModifier =>
  (t) => {
    t.spec.region = region;
  };

const zoneOf = (region: string) => {
  const found = Object.entries(DEFAULT_RESIDENCY.zones).find(([, z]) => z.regions.includes(region));
  return found === undefined ? undefined : { name: found[0], regions: found[1].regions };
};

describe('decideGeoReplication with the default residency zones and Azure’s pairs', () => {
  test.each([
    ['westeurope', true, 'Replicating', 'northeurope'],
    ['northeurope', true, 'Replicating', 'westeurope'],
    ['switzerlandnorth', true, 'Replicating', 'switzerlandwest'],
    ['uksouth', true, 'Replicating', 'ukwest'],
    ['eastus2', true, 'Replicating', 'centralus'],
    ['canadacentral', true, 'Replicating', 'canadaeast'],
    ['australiaeast', true, 'Replicating', 'australiasoutheast'],
    // Singapore's pair is Hong Kong: another jurisdiction, refused.
    ['southeastasia', false, 'PairedRegionOutsideResidency', 'eastasia'],
    // Sweden Central's pair (Sweden South) and Germany's (Germany North) are not in the EU zone's list.
    ['swedencentral', false, 'PairedRegionOutsideResidency', 'swedensouth'],
    ['germanywestcentral', false, 'PairedRegionOutsideResidency', 'germanynorth'],
    // Nonpaired regions.
    ['italynorth', false, 'NoPairedRegion', undefined],
    ['spaincentral', false, 'NoPairedRegion', undefined],
  ])('%s: enabled %s (%s), secondary in %s', (region, enabled, reason, partnerRegion) => {
    const decision = decideGeoReplication(region, true, zoneOf(region), DEFAULT_REGION_PAIRS);
    expect([decision.enabled, decision.reason, decision.partnerRegion]).toEqual([enabled, reason, partnerRegion]);
  });

  test('not requested: nothing, whatever the region', () => {
    expect(decideGeoReplication('westeurope', false, zoneOf('westeurope'), DEFAULT_REGION_PAIRS)).toMatchObject({
      enabled: false,
      reason: 'NotRequested',
    });
  });

  test('the refusal says which region, which pair and which zone', () => {
    expect(decideGeoReplication('southeastasia', true, zoneOf('southeastasia'), DEFAULT_REGION_PAIRS).message).toContain(
      'southeastasia’s paired region eastasia is outside data-residency zone SG',
    );
  });

  test('the operator’s pairs are the emulator’s (two copies of Microsoft’s table)', () => {
    expect(DEFAULT_REGION_PAIRS).toEqual(REGION_PAIRS);
  });
});

const BACKUP = {
  redundancy: 'Zone' as const,
  shortTerm: { retentionDays: 14, diffBackupIntervalInHours: 12 as const },
  longTerm: { weeklyRetention: 'P12W', monthlyRetention: 'PT0S', yearlyRetention: 'PT0S', weekOfYear: 1 },
};

function planFor(region: string, geoReplication: boolean): TenantAzurePlan {
  const config = aConfig({
    azure: {
      subscriptionId: '00000000-0000-4000-8000-000000000001',
      directoryTenantId: '00000000-0000-4000-8000-000000000002',
      oidcIssuer: 'https://oidc.example.test/',
      sqlAdminGroup: { login: 'sql-admins', objectId: '00000000-0000-4000-8000-000000000003' },
      audit: {
        logAnalyticsWorkspaceId:
          '/subscriptions/00000000-0000-4000-8000-000000000001/resourceGroups/m/providers/Microsoft.OperationalInsights/workspaces/a',
      },
    },
  });
  const azure = config.azure;
  if (azure === undefined) throw new Error('no azure');
  return tenantAzurePlan(aTenant('acme', inRegion(region)), config, azure, { ...BACKUP, geoReplication });
}

describe('the plan', () => {
  test('geo-replication on: a secondary server mirroring the primary’s security, and a failover group after both keys', () => {
    const plan = planFor('westeurope', true);
    const resources = tenantAzureResources(plan);
    const keys = resources.map((r) => r.key);
    expect(keys).toEqual(
      expect.arrayContaining([
        'geo.sqlServer',
        'geo.sqlEntraAdmin',
        'geo.sqlEntraOnly',
        'geo.sqlAuditing',
        'geo.sqlAuditDiagnostics',
        'geo.sqlThreatProtection',
        'geo.roleAssignment.cryptoServiceEncryptionUser',
        'geo.sqlServerKey',
        'geo.sqlEncryptionProtector',
        'failoverGroup',
      ]),
    );
    const group = resources.find((r) => r.key === 'failoverGroup');
    expect(group?.dependsOn).toEqual(expect.arrayContaining(['sqlDatabase', 'geo.sqlEncryptionProtector']));
    expect(geoSecondaryServer(plan).location).toBe('northeurope');
    // No private endpoint subnet configured in this config: none for the secondary either.
    expect(keys).not.toContain('privateEndpoint.sqlSecondary');
  });

  test.each([
    ['not requested', 'westeurope', false],
    ['pair outside the residency zone', 'southeastasia', true],
  ])('%s: no secondary resource at all', (_name, region, requested) => {
    const keys = tenantAzureResources(planFor(region, requested)).map((r) => r.key);
    expect(keys.filter((k) => k.startsWith('geo.') || k === 'failoverGroup')).toEqual([]);
  });
});

describe('the failover group kind', () => {
  const params = {
    serverId: '/s/p/servers/a',
    name: 'fog-a',
    partnerServerId: '/s/p/servers/b',
    databaseIds: ['/s/p/servers/a/databases/db'],
    tags: {},
  };
  test.each([
    ['converged', { partnerServers: [{ id: '/S/P/servers/B' }], databases: ['/s/p/servers/a/databases/DB'] }, []],
    ['database missing', { partnerServers: [{ id: '/s/p/servers/b' }], databases: [] }, ['databases']],
    ['another partner', { partnerServers: [{ id: '/s/p/servers/c' }], databases: params.databaseIds }, ['partnerServers']],
  ])('%s', (_name, properties, fields) => {
    expect(sqlFailoverGroupKind.diff(params, { properties })).toEqual(fields);
  });

  test('another partner cannot be fixed by a write (a person must act); a missing database is one PUT', () => {
    const observed = { properties: { partnerServers: [{ id: '/s/p/servers/c' }], databases: [] } };
    expect(sqlFailoverGroupKind.update?.(params, observed, ['partnerServers'])).toBeUndefined();
    expect(sqlFailoverGroupKind.update?.(params, observed, ['databases'])?.method).toBe('PUT');
  });

  test('ready only once the secondary caught up', () => {
    expect(sqlFailoverGroupKind.ready?.({ properties: { replicationState: 'SEEDING' } })).toBe(false);
    expect(sqlFailoverGroupKind.ready?.({ properties: { replicationState: 'CATCH_UP' } })).toBe(true);
  });
});

describe('GeoReplicated and the status facts', () => {
  const plan = planFor('westeurope', true);
  const group = (role: string, state: string) => ({
    properties: {
      replicationRole: role,
      replicationState: state,
      partnerServers: [{ id: 'x', location: 'northeurope', replicationRole: role === 'Primary' ? 'Secondary' : 'Primary' }],
    },
  });

  test.each([
    ['no group yet', undefined, undefined, 'False', 'Provisioning'],
    ['seeding', group('Primary', 'SEEDING'), undefined, 'False', 'Seeding'],
    ['caught up', group('Primary', 'CATCH_UP'), undefined, 'True', 'Replicating'],
    ['after a failover', group('Secondary', 'CATCH_UP'), undefined, 'True', 'Replicating'],
    ['a failure', undefined, new RetryableError('AzureThrottled', 'slow down'), 'False', 'AzureThrottled'],
  ])('%s: %s %s', (_name, body, failure, status, reason) => {
    const facts = geoFacts(plan, body, 'sql.database.windows.net').geoReplication;
    expect(geoReplicationCondition(plan, facts, failure)).toMatchObject({ type: 'GeoReplicated', status, reason });
  });

  test('the database host is the read-write listener once the group exists, the server before', () => {
    expect(geoFacts(plan, undefined, 'sql.database.windows.net').databaseHost).toBe('sql.database.windows.net');
    const facts = geoFacts(plan, group('Secondary', 'CATCH_UP'), 'sql.database.windows.net');
    expect(facts.databaseHost).toBe(`${plan.geoNames.failoverGroup}.database.windows.net`);
    expect(facts.geoReplication).toMatchObject({ role: 'Secondary', primaryRegion: 'northeurope', partnerRegion: 'northeurope' });
  });

  test('geo-replication off: the server is the host, the condition says why', () => {
    const off = planFor('southeastasia', true);
    expect(geoFacts(off, undefined, 'sql.database.windows.net')).toEqual({ databaseHost: 'sql.database.windows.net' });
    expect(geoReplicationCondition(off, undefined)).toMatchObject({ status: 'False', reason: 'PairedRegionOutsideResidency' });
  });
});

describe('egress to the secondary’s private endpoint', () => {
  test('the application may reach both SQL endpoints on 1433, and a changed secondary address is a change', () => {
    const endpoints = { sql: { ip: '10.0.0.4' }, keyVault: { ip: '10.0.0.5' }, sqlSecondary: { ip: '10.1.0.4' } };
    const policies = buildNetworkPolicies(aTenant(), aConfig(), endpoints);
    const egress = JSON.stringify(policies.map((p) => (p.spec as { egress?: unknown }).egress));
    expect(egress).toContain('10.0.0.4/32');
    expect(egress).toContain('10.1.0.4/32');
    expect(sameEgressAddresses(endpoints, { ...endpoints, sqlSecondary: { ip: '10.1.0.9' } })).toBe(false);
  });
});

describe('the geo-replicated sample BackupPolicy', () => {
  test('is valid and asks for geo-replication and monthly failover drills', () => {
    const raw = readFileSync(join(REPO_ROOT, 'config', 'samples', 'backuppolicy-geo.yaml'), 'utf8');
    const spec = backupPolicySpecSchema.parse((parse(raw) as { spec: unknown }).spec);
    expect(spec).toMatchObject({ geoReplication: 'Enabled', failoverDrill: { enabled: true, every: '720h' } });
  });
});

describe('the emulator’s seeding progress', () => {
  test.each([
    [0, 0],
    [500, 0.5],
    [1000, undefined],
  ])('at %i ms of 1000: %s', (at, expected) => {
    const link = {
      partnerDatabaseId: 'x',
      role: 'Primary' as const,
      linkId: 'l',
      startTime: '',
      failoverGroupName: 'g',
      seedingFrom: 0,
      seedingUntil: 1000,
    };
    expect(seedingProgress(link, at)).toBe(expected);
  });
});

describe('replication lag, which ARM does not report', () => {
  const home: GeoReplicationFacts = {
    failoverGroup: 'fog-acme',
    role: 'Primary',
    state: 'CATCH_UP',
    primaryRegion: 'westeurope',
  };
  const failedOver: GeoReplicationFacts = { ...home, role: 'Secondary', primaryRegion: 'northeurope' };
  const at = new Date('2026-12-04T02:00:00.000Z');
  const link = (o: Partial<GeoReplicationLink>): GeoReplicationLink => ({
    partnerServer: 'sql-acme-geo',
    partnerDatabase: 'sqldb-acme',
    lastReplication: at,
    lagSeconds: 4,
    state: 'CATCH_UP',
    role: 'PRIMARY',
    ...o,
  });
  const recorded = { ...home, lagSeconds: 9, lastReplication: '2026-12-04T01:00:00Z' };
  test.each([
    [
      'read on the primary: the lag and when it was heard',
      home,
      { link: link({}) },
      undefined,
      { lagSeconds: 4, lastReplication: '2026-12-04T02:00:00Z' },
    ],
    [
      'read while seeding: none',
      home,
      { link: link({ lagSeconds: undefined, lastReplication: undefined, state: 'SEEDING' }) },
      recorded,
      {},
    ],
    [
      'read on the home database after a failover (a secondary reports none): none',
      failedOver,
      { link: link({ role: 'SECONDARY', lagSeconds: undefined }) },
      recorded,
      {},
    ],
    ['read, no link at all: none', home, { link: undefined }, recorded, {}],
    [
      'not read this pass: as last recorded',
      home,
      undefined,
      recorded,
      { lagSeconds: 9, lastReplication: '2026-12-04T01:00:00Z' },
    ],
    ['not read, and the roles changed since: none', failedOver, undefined, recorded, {}],
  ] as const)('%s', (_name, geo, read, previous, expected) => {
    const facts = withReplicationLag(geo, read, previous);
    expect(facts).toEqual({ ...geo, ...expected });
  });

  test('not geo-replicated: nothing', () => {
    expect(withReplicationLag(undefined, { link: link({}) }, undefined)).toBeUndefined();
  });
});

describe('deleting a tenant left failed over: failed back first', () => {
  const GROUP = '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Sql/servers/home/failoverGroups/fog-acme';
  const refusal = (code: string) => new ArmRequestError(409, code, code, { get: () => undefined } as never);
  const fakeArm = (role: string | undefined, action?: Error) => {
    const actions: string[] = [];
    return {
      actions,
      arm: {
        get: async () => (role === undefined ? undefined : { properties: { replicationRole: role } }),
        beginAction: async (id: string) => {
          actions.push(id);
          if (action) throw action;
          return { done: false as const, operation: { url: 'https://op', kind: 'AsyncOperation' as const } };
        },
      },
    };
  };
  test.each([
    ['not geo-replicated (no group): nothing to do', undefined, undefined, {}, []],
    ['home is primary: nothing to do', 'Primary', undefined, {}, []],
    [
      'home is secondary: a planned failover on the home copy, and wait',
      'Secondary',
      undefined,
      { requested: true },
      [`${GROUP}/failover`],
    ],
    ['a failover already runs (FailoverGroupBusy): wait', 'Secondary', refusal('FailoverGroupBusy'), {}, [`${GROUP}/failover`]],
    [
      'seeding (InvalidDatabaseStateForOperation): wait',
      'Secondary',
      refusal('InvalidDatabaseStateForOperation'),
      {},
      [`${GROUP}/failover`],
    ],
  ] as const)('%s', async (_name, role, error, expected, actions) => {
    const fake = fakeArm(role, error);
    const outcome = await failBackBeforeDeletion(fake.arm as never, GROUP);
    expect(outcome).toMatchObject(expected);
    expect(outcome.waitingFor !== undefined).toBe(role === 'Secondary');
    expect(fake.actions).toEqual(actions);
  });

  test('any other refusal is an error for the deletion to report', async () => {
    const fake = fakeArm('Secondary', refusal('AuthorizationFailed'));
    await expect(failBackBeforeDeletion(fake.arm as never, GROUP)).rejects.toThrow('AuthorizationFailed');
  });
});
