/** Private endpoints and their DNS zone groups compare as Azure returns them, and give their address (pure, table-driven). */
import { describe, expect, test } from '@jest/globals';
import type { ArmBody } from '../../../src/azure/arm-client.ts';
import {
  dnsZoneConfigName,
  dnsZoneGroupAddress,
  dnsZoneGroupKind,
  type PrivateEndpointParams,
  privateEndpointAddress,
  privateEndpointKind,
} from '../../../src/azure/kinds/private-link.ts';

const TAGS = { 'managed-by': 'tenant-operator', 'tenancy.dev-tenant': 'acme' };
const RG = '/subscriptions/s/resourceGroups/rg-acme-prd';
const SUBNET = '/subscriptions/s/resourceGroups/rg-net/providers/Microsoft.Network/virtualNetworks/vnet-westeurope/subnets/pe';
const SERVER = `${RG}/providers/Microsoft.Sql/servers/sql-acme-prd-1a2b3c`;
const ZONE =
  '/subscriptions/s/resourceGroups/rg-dns/providers/Microsoft.Network/privateDnsZones/privatelink.database.windows.net';

const params: PrivateEndpointParams = {
  resourceGroupId: RG,
  name: 'pe-sql',
  location: 'westeurope',
  tags: TAGS,
  subnetId: SUBNET,
  targetId: SERVER,
  groupId: 'sqlServer',
};

/** What Azure returns for an endpoint the operator created (read-only fields included). */
const observedEndpoint = (o: { properties?: ArmBody } & ArmBody = {}): ArmBody => ({
  id: `${RG}/providers/Microsoft.Network/privateEndpoints/pe-sql`,
  location: 'westeurope',
  tags: TAGS,
  etag: 'W/"1"',
  ...o,
  properties: {
    provisioningState: 'Succeeded',
    subnet: { id: SUBNET.toUpperCase() },
    networkInterfaces: [{ id: `${RG}/providers/Microsoft.Network/networkInterfaces/pe-sql.nic.1` }],
    privateLinkServiceConnections: [
      {
        name: 'pe-sql',
        id: `${RG}/providers/Microsoft.Network/privateEndpoints/pe-sql/privateLinkServiceConnections/pe-sql`,
        properties: {
          provisioningState: 'Succeeded',
          privateLinkServiceId: SERVER,
          groupIds: ['sqlServer'],
          privateLinkServiceConnectionState: { status: 'Approved', description: 'Auto-Approved', actionsRequired: 'None' },
        },
      },
    ],
    manualPrivateLinkServiceConnections: [],
    customDnsConfigs: [{ fqdn: 'sql-acme-prd-1a2b3c.database.windows.net', ipAddresses: ['10.100.0.4'] }],
    ...o.properties,
  },
});

describe('private endpoint', () => {
  test('created in the subnet with one auto-approved connection to its target', () => {
    expect(privateEndpointKind.create(params)).toEqual({
      location: 'westeurope',
      tags: TAGS,
      properties: {
        subnet: { id: SUBNET },
        privateLinkServiceConnections: [
          { name: 'pe-sql', properties: { privateLinkServiceId: SERVER, groupIds: ['sqlServer'] } },
        ],
      },
    });
  });

  test.each<[string, ArmBody, string[]]>([
    ['what Azure returns for it (ids in another case) is converged', observedEndpoint(), []],
    ['a tag removed by hand', observedEndpoint({ tags: {} }), ['tags']],
    ['another subnet', observedEndpoint({ properties: { subnet: { id: `${SUBNET}2` } } }), ['subnet']],
    [
      'a connection to another server',
      observedEndpoint({
        properties: {
          privateLinkServiceConnections: [
            { name: 'x', properties: { privateLinkServiceId: `${SERVER}x`, groupIds: ['sqlServer'] } },
          ],
        },
      }),
      ['privateLinkServiceConnections'],
    ],
    [
      'a manual (unapproved) connection instead',
      observedEndpoint({
        properties: {
          privateLinkServiceConnections: [],
          manualPrivateLinkServiceConnections: [
            { name: 'pe-sql', properties: { privateLinkServiceId: SERVER, groupIds: ['sqlServer'] } },
          ],
        },
      }),
      ['privateLinkServiceConnections'],
    ],
  ])('diff: %s', (_name, observed, fields) => {
    expect(privateEndpointKind.diff(params, observed)).toEqual(fields);
  });

  test('tags are a whole PUT; a subnet or target difference is never fixed by a write (a new address)', () => {
    const observed = observedEndpoint({ tags: { foreign: 'kept' } });
    expect(privateEndpointKind.update?.(params, observed, ['tags'])).toEqual({
      method: 'PUT',
      body: { ...privateEndpointKind.create(params), tags: { foreign: 'kept', ...TAGS } },
    });
    expect(privateEndpointKind.update?.(params, observed, ['subnet'])).toBeUndefined();
    expect(privateEndpointKind.update?.(params, observed, ['tags', 'privateLinkServiceConnections'])).toBeUndefined();
  });

  test.each<[string, ArmBody, boolean]>([
    ['succeeded and approved', observedEndpoint(), true],
    ['still being created (Network says Updating)', observedEndpoint({ properties: { provisioningState: 'Updating' } }), false],
    [
      'succeeded but the connection waits for approval',
      observedEndpoint({
        properties: {
          privateLinkServiceConnections: [
            {
              name: 'pe-sql',
              properties: {
                privateLinkServiceId: SERVER,
                groupIds: ['sqlServer'],
                privateLinkServiceConnectionState: { status: 'Pending' },
              },
            },
          ],
        },
      }),
      false,
    ],
  ])('ready: %s', (_name, observed, ready) => {
    expect(privateEndpointKind.ready?.(observed)).toBe(ready);
  });

  test('release tags it with a whole PUT of what it has, read-only fields left out', () => {
    const write = privateEndpointKind.tag?.(observedEndpoint(), { 'tenancy.dev-orphaned': 'true' });
    expect(write).toEqual({
      method: 'PUT',
      body: {
        location: 'westeurope',
        tags: { ...TAGS, 'tenancy.dev-orphaned': 'true' },
        properties: {
          subnet: { id: SUBNET.toUpperCase() },
          privateLinkServiceConnections: [
            { name: 'pe-sql', properties: { privateLinkServiceId: SERVER, groupIds: ['sqlServer'] } },
          ],
          manualPrivateLinkServiceConnections: [],
        },
      },
    });
  });

  test.each<[string, ArmBody | undefined, ReturnType<typeof privateEndpointAddress>]>([
    [
      'before a zone group: from customDnsConfigs',
      observedEndpoint(),
      { ip: '10.100.0.4', fqdn: 'sql-acme-prd-1a2b3c.database.windows.net' },
    ],
    [
      'with a zone group Azure empties customDnsConfigs: unknown here',
      observedEndpoint({ properties: { customDnsConfigs: [] } }),
      undefined,
    ],
    [
      'something that is not an address is ignored',
      observedEndpoint({ properties: { customDnsConfigs: [{ fqdn: 'x', ipAddresses: ['fe80::1', 'not-an-ip'] }] } }),
      undefined,
    ],
    ['not observed', undefined, undefined],
  ])('address: %s', (_name, observed, address) => {
    expect(privateEndpointAddress(observed)).toEqual(address);
  });
});

describe('private DNS zone group', () => {
  const group = { privateEndpointId: `${RG}/providers/Microsoft.Network/privateEndpoints/pe-sql`, name: 'default' };
  const zoneParams = { ...group, zones: [{ name: dnsZoneConfigName(ZONE), privateDnsZoneId: ZONE }] };
  const observedGroup = (recordSets: unknown[] = [], zoneId = ZONE, state = 'Succeeded'): ArmBody => ({
    properties: {
      provisioningState: state,
      privateDnsZoneConfigs: [
        { name: 'privatelink-database-windows-net', properties: { privateDnsZoneId: zoneId.toLowerCase(), recordSets } },
      ],
    },
  });
  const record = {
    recordType: 'A',
    recordSetName: 'sql-acme-prd-1a2b3c',
    fqdn: 'sql-acme-prd-1a2b3c.privatelink.database.windows.net',
    ttl: 10,
    ipAddresses: ['10.100.0.4'],
    provisioningState: 'Succeeded',
  };

  test('each zone config is named (Azure refuses one without a name)', () => {
    expect(dnsZoneConfigName(ZONE)).toBe('privatelink-database-windows-net');
    expect(dnsZoneGroupKind.create(zoneParams)).toEqual({
      properties: {
        privateDnsZoneConfigs: [{ name: 'privatelink-database-windows-net', properties: { privateDnsZoneId: ZONE } }],
      },
    });
  });

  test.each<[string, ArmBody, string[]]>([
    ['the same zone (id in another case), with records', observedGroup([record]), []],
    ['another zone', observedGroup([record], `${ZONE}.other`), ['privateDnsZoneConfigs']],
  ])('diff: %s', (_name, observed, fields) => {
    expect(dnsZoneGroupKind.diff(zoneParams, observed)).toEqual(fields);
  });

  test.each<[string, ArmBody, boolean]>([
    ['succeeded with its A record', observedGroup([record]), true],
    ['succeeded without a record (a zone of another name gets none)', observedGroup([]), false],
    ['still being written', observedGroup([record], ZONE, 'Updating'), false],
  ])('ready: %s', (_name, observed, ready) => {
    expect(dnsZoneGroupKind.ready?.(observed)).toBe(ready);
  });

  test('the address is the A record’s', () => {
    expect(dnsZoneGroupAddress(observedGroup([record]))).toEqual({
      ip: '10.100.0.4',
      fqdn: 'sql-acme-prd-1a2b3c.privatelink.database.windows.net',
    });
    expect(dnsZoneGroupAddress(observedGroup([{ ...record, recordType: 'CNAME' }]))).toBeUndefined();
  });
});
