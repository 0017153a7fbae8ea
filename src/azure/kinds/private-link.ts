/**
 * `Microsoft.Network/privateEndpoints` and their `privateDnsZoneGroups`: the private address a
 * service (a SQL server, a vault) answers at inside a virtual network, and the DNS records that
 * make the service's own name resolve to it. The Network resource provider has no PATCH for
 * private endpoints: every write is a whole PUT.
 */
import type { ArmBody } from '../arm-client.ts';
import type { ResourceKind } from '../engine.ts';
import { mergeTags, type Placement, props, provisioningState, putBackWithTags, str, type Tags } from './common.ts';
import { placementDiff, sameId } from './compare.ts';
import { armId, childrenOf, inResourceGroup } from './ids.ts';
import { NETWORK_API_VERSION } from './network.ts';

/** The sub-resource a private endpoint connects to (Azure's "group id"). */
export type PrivateLinkGroupId = 'sqlServer' | 'vault';

export interface PrivateEndpointParams extends Placement {
  resourceGroupId: string;
  name: string;
  /** The subnet the endpoint's network interface (and address) lives in. */
  subnetId: string;
  /** The resource it reaches (a SQL server, a vault). */
  targetId: string;
  groupId: PrivateLinkGroupId;
}

/** The connection as we write it (one per endpoint, named after it). */
function connection(p: PrivateEndpointParams): ArmBody {
  return { name: p.name, properties: { privateLinkServiceId: p.targetId, groupIds: [p.groupId] } };
}

function body(p: PrivateEndpointParams, tags: Tags): ArmBody {
  return {
    location: p.location,
    tags,
    properties: { subnet: { id: p.subnetId }, privateLinkServiceConnections: [connection(p)] },
  };
}

type Connection = {
  name?: unknown;
  properties?: {
    privateLinkServiceId?: unknown;
    groupIds?: unknown;
    privateLinkServiceConnectionState?: { status?: unknown };
  };
};

function connectionsOf(observed: ArmBody, field = 'privateLinkServiceConnections'): Connection[] {
  const list = props(observed)[field];
  return Array.isArray(list) ? (list as Connection[]) : [];
}

/** What we own of a connection, for comparison and for a PUT that gives back what an endpoint has. */
function ownConnection(c: Connection): ArmBody {
  return {
    name: c.name,
    properties: { privateLinkServiceId: c.properties?.privateLinkServiceId, groupIds: c.properties?.groupIds },
  };
}

/** The endpoint's address and the name that resolves to it, from what Azure reports (see `privateEndpointAddress`). */
export interface EndpointAddress {
  ip: string;
  fqdn: string | undefined;
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;

/**
 * The address of a private endpoint as its own body reports it (`customDnsConfigs`). Azure empties
 * that list while a private DNS zone group holds the records (the records then carry the address:
 * see `dnsZoneGroupAddress`), so undefined here does not mean the endpoint has none.
 */
export function privateEndpointAddress(observed: ArmBody | undefined): EndpointAddress | undefined {
  if (observed === undefined) return undefined;
  const configs = props(observed).customDnsConfigs;
  if (!Array.isArray(configs)) return undefined;
  for (const c of configs as { fqdn?: unknown; ipAddresses?: unknown }[]) {
    const ip = (Array.isArray(c.ipAddresses) ? c.ipAddresses : []).find(
      (a): a is string => typeof a === 'string' && IPV4.test(a),
    );
    if (ip !== undefined) return { ip, fqdn: str(c.fqdn) };
  }
  return undefined;
}

export const privateEndpointKind: ResourceKind<PrivateEndpointParams> = {
  ...inResourceGroup<PrivateEndpointParams>('Microsoft.Network/privateEndpoints', NETWORK_API_VERSION, 'private endpoint'),
  create: (p) => body(p, p.tags),
  diff: (p, observed) => {
    const fields = placementDiff(p, observed);
    const subnet = (props(observed).subnet ?? {}) as { id?: unknown };
    if (!sameId(str(subnet.id), p.subnetId)) fields.push('subnet');
    const connections = connectionsOf(observed);
    const ours = connections.length === 1 ? connections[0] : undefined;
    const groups = ours?.properties?.groupIds;
    if (
      ours === undefined ||
      connectionsOf(observed, 'manualPrivateLinkServiceConnections').length > 0 ||
      !sameId(str(ours.properties?.privateLinkServiceId), p.targetId) ||
      !Array.isArray(groups) ||
      groups.length !== 1 ||
      groups[0] !== p.groupId
    )
      fields.push('privateLinkServiceConnections');
    return fields;
  },
  // Moving an endpoint to another subnet or service means a new endpoint with a new address:
  // never done silently (the egress policy and DNS follow the address). Tags are a whole PUT.
  update: (p, observed, fields) =>
    fields.some((f) => f !== 'tags')
      ? undefined
      : { method: 'PUT', body: body(p, mergeTags(p.tags, observed.tags as Tags | undefined)) },
  state: provisioningState,
  // Usable once created and its connection approved (auto-approved when the operator may approve
  // connections to the target; Pending otherwise, and no packet flows).
  ready: (observed) =>
    provisioningState(observed) === 'Succeeded' &&
    connectionsOf(observed).some((c) => c.properties?.privateLinkServiceConnectionState?.status === 'Approved'),
  tag: (observed, tags) =>
    putBackWithTags(observed, tags, {
      subnet: { id: ((props(observed).subnet ?? {}) as { id?: unknown }).id },
      privateLinkServiceConnections: connectionsOf(observed).map(ownConnection),
      manualPrivateLinkServiceConnections: connectionsOf(observed, 'manualPrivateLinkServiceConnections').map(ownConnection),
    }),
};

export function privateEndpointId(resourceGroupId: string, name: string): string {
  return armId(privateEndpointKind.type, resourceGroupId, name);
}

/** One private DNS zone of a zone group: a config name (Azure requires one) and the zone's id. */
export interface DnsZoneRef {
  name: string;
  privateDnsZoneId: string;
}

export interface DnsZoneGroupParams {
  privateEndpointId: string;
  /** Azure allows one group per endpoint; `default`, as the portal names it. */
  name: string;
  zones: readonly DnsZoneRef[];
}

/** `privatelink-database-windows-net` for `…/privateDnsZones/privatelink.database.windows.net`. */
export function dnsZoneConfigName(privateDnsZoneId: string): string {
  return (privateDnsZoneId.split('/').pop() ?? 'zone').replaceAll('.', '-');
}

type ZoneConfig = { name?: unknown; properties?: { privateDnsZoneId?: unknown; recordSets?: unknown } };

function zoneConfigsOf(observed: ArmBody): ZoneConfig[] {
  const list = props(observed).privateDnsZoneConfigs;
  return Array.isArray(list) ? (list as ZoneConfig[]) : [];
}

/** The A record a zone group wrote for its endpoint: the address, and the private name resolving to it. */
export function dnsZoneGroupAddress(observed: ArmBody | undefined): EndpointAddress | undefined {
  if (observed === undefined) return undefined;
  for (const config of zoneConfigsOf(observed)) {
    const records = config.properties?.recordSets;
    for (const r of (Array.isArray(records) ? records : []) as {
      recordType?: unknown;
      fqdn?: unknown;
      ipAddresses?: unknown;
    }[]) {
      if (r.recordType !== undefined && r.recordType !== 'A') continue;
      const ip = (Array.isArray(r.ipAddresses) ? r.ipAddresses : []).find(
        (a): a is string => typeof a === 'string' && IPV4.test(a),
      );
      if (ip !== undefined) return { ip, fqdn: str(r.fqdn) };
    }
  }
  return undefined;
}

function zoneGroupBody(p: DnsZoneGroupParams): ArmBody {
  return {
    properties: {
      privateDnsZoneConfigs: p.zones.map((z) => ({ name: z.name, properties: { privateDnsZoneId: z.privateDnsZoneId } })),
    },
  };
}

export const dnsZoneGroupKind: ResourceKind<DnsZoneGroupParams> = {
  ...childrenOf<DnsZoneGroupParams>(privateEndpointKind.type, (p) => p.privateEndpointId)(
    'privateDnsZoneGroups',
    NETWORK_API_VERSION,
    'private DNS zone group',
    (p) => p.name,
  ),
  create: zoneGroupBody,
  diff: (p, observed) => {
    const have = zoneConfigsOf(observed)
      .map((c) => String(str(c.properties?.privateDnsZoneId) ?? '').toLowerCase())
      .sort();
    const want = p.zones.map((z) => z.privateDnsZoneId.toLowerCase()).sort();
    return JSON.stringify(have) === JSON.stringify(want) ? [] : ['privateDnsZoneConfigs'];
  },
  update: (p) => ({ method: 'PUT', body: zoneGroupBody(p) }),
  state: provisioningState,
  // Done only once Azure wrote the record: a zone of another name gets none, and the service's
  // name would keep resolving to its public address.
  ready: (observed) => provisioningState(observed) === 'Succeeded' && dnsZoneGroupAddress(observed) !== undefined,
};
