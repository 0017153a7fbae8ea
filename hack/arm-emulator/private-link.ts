/**
 * Private Link in the emulator: the platform's network (virtual networks, subnets and private DNS
 * zones, which exist before any tenant and which nobody writes through the emulator), private
 * endpoints that take an address from their subnet, private DNS zone groups that write the A record
 * for it, and the approved connection each endpoint shows on its target (SQL server, vault).
 *
 * What Azure does, and the emulator with it:
 * - an endpoint gets the lowest free address of its subnet (Azure reserves the first four and the
 *   last), keeps it for its life, and frees it when deleted; a full subnet is 400 `SubnetIsFull`;
 * - a subnet that does not exist, or is in another region, is 400 `InvalidResourceReference` with
 *   the Network provider's message naming it; so is a private DNS zone that does not exist;
 * - the connection to a target in the same directory is auto-approved (`Approved`), and shows on
 *   the target's `privateEndpointConnections`; a deleted target leaves it `Disconnected`;
 * - `customDnsConfigs` lists the target's name and address until a DNS zone group holds the record,
 *   then it is empty (Azure/cloud-adoption-framework issue 1020 observed exactly this);
 * - a zone group writes a record only into a zone named as the service's private link zone
 *   (`privatelink.database.windows.net`, `privatelink.vaultcore.azure.net`); one group per endpoint,
 *   at most five zones, each config named (else 400 `InvalidRequestFormat`, "Cannot parse the request.");
 * - provisioning states are the Network provider's: `Updating` while created or changed.
 */
import { randomUUID } from 'node:crypto';
import { API_VERSIONS } from './api-versions.ts';
import { idKey } from './arm-path.ts';
import { asObject, asString, isObject, type JsonObject } from './json.ts';
import type { ResourceTypeSpec, TypeContext, WriteOutcome } from './resource-types.ts';
import { childrenOfType, getResource, putResource, resourcesOfType, type Store, type StoredResource } from './store.ts';

// --- the platform's network, seeded --------------------------------------------------------------

/** A subnet the platform team owns (private endpoints of tenants in `location` go there). */
export interface PlatformSubnet {
  /** ARM id `/subscriptions/…/virtualNetworks/{vnet}/subnets/{name}`. */
  id: string;
  location: string;
  /** IPv4 CIDR, e.g. `10.100.0.0/16`. */
  addressPrefix: string;
}

/** What exists before any tenant: seeded into the store, read-only through ARM. */
export interface PlatformNetwork {
  subnets: PlatformSubnet[];
  /** ARM ids of private DNS zones. */
  privateDnsZones: string[];
}

/** Resource groups of the default platform network. */
export const PLATFORM_NETWORK_RESOURCE_GROUP = 'rg-platform-network';
export const PLATFORM_DNS_RESOURCE_GROUP = 'rg-platform-dns';

/** The private link zones of public Azure's SQL Database and Key Vault. */
export const PRIVATE_LINK_ZONES = {
  sql: 'privatelink.database.windows.net',
  keyVault: 'privatelink.vaultcore.azure.net',
} as const;

/**
 * A platform network for a subscription: one virtual network per region, each with a subnet for
 * private endpoints (`10.(100+i).0.0/16`, room for 65 000 endpoints), and the two private DNS zones.
 */
export function defaultPlatformNetwork(subscriptionId: string, regions: readonly string[]): PlatformNetwork {
  const rg = `/subscriptions/${subscriptionId}/resourceGroups`;
  return {
    subnets: regions.map((location, i) => ({
      id: `${rg}/${PLATFORM_NETWORK_RESOURCE_GROUP}/providers/Microsoft.Network/virtualNetworks/vnet-${location}/subnets/snet-private-endpoints`,
      location,
      addressPrefix: `10.${100 + i}.0.0/16`,
    })),
    privateDnsZones: Object.values(PRIVATE_LINK_ZONES).map(
      (zone) => `${rg}/${PLATFORM_DNS_RESOURCE_GROUP}/providers/Microsoft.Network/privateDnsZones/${zone}`,
    ),
  };
}

function stored(id: string, type: string, body: JsonObject): StoredResource {
  const name = id.split('/').pop() ?? '';
  return { id, type, name, body: { id, name, type, ...body }, state: 'Succeeded', operationId: undefined };
}

function ensureGroup(store: Store, id: string, location: string): void {
  const rgId = id.split('/').slice(0, 5).join('/');
  if (getResource(store, rgId) === undefined)
    putResource(store, stored(rgId, 'Microsoft.Resources/resourceGroups', { location, tags: {}, properties: {} }));
}

/** Put the platform's subnets (with their virtual networks and groups) and DNS zones into the store. */
export function seedPlatformNetwork(store: Store, network: PlatformNetwork): void {
  for (const subnet of network.subnets) {
    const prefix = parseCidr(subnet.addressPrefix);
    if (prefix === undefined) throw new Error(`platform subnet ${subnet.id}: '${subnet.addressPrefix}' is not an IPv4 CIDR`);
    const vnetId = subnet.id.split('/').slice(0, -2).join('/');
    ensureGroup(store, subnet.id, subnet.location);
    if (getResource(store, vnetId) === undefined) {
      putResource(
        store,
        stored(vnetId, 'Microsoft.Network/virtualNetworks', {
          location: subnet.location,
          tags: {},
          etag: `W/"${randomUUID()}"`,
          properties: { addressSpace: { addressPrefixes: [subnet.addressPrefix] } },
        }),
      );
    } else {
      const space = asObject(asObject(getResource(store, vnetId)?.body.properties).addressSpace);
      const prefixes = Array.isArray(space.addressPrefixes) ? space.addressPrefixes : [];
      if (!prefixes.includes(subnet.addressPrefix)) space.addressPrefixes = [...prefixes, subnet.addressPrefix];
    }
    putResource(
      store,
      stored(subnet.id, 'Microsoft.Network/virtualNetworks/subnets', {
        etag: `W/"${randomUUID()}"`,
        properties: { addressPrefix: subnet.addressPrefix, privateEndpointNetworkPolicies: 'Disabled' },
      }),
    );
  }
  for (const zoneId of network.privateDnsZones) {
    ensureGroup(store, zoneId, 'westeurope');
    putResource(
      store,
      stored(zoneId, 'Microsoft.Network/privateDnsZones', {
        location: 'global',
        tags: {},
        etag: randomUUID(),
        properties: { numberOfRecordSets: 1, maxNumberOfRecordSets: 25_000 },
      }),
    );
  }
}

// --- IPv4 --------------------------------------------------------------------------------------

function ipToInt(ip: string): number | undefined {
  const parts = ip.split('.');
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const part of parts) {
    const v = Number(part);
    if (!/^\d{1,3}$/.test(part) || v > 255) return undefined;
    n = n * 256 + v;
  }
  return n;
}

function intToIp(n: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join('.');
}

function parseCidr(cidr: string): { first: number; size: number } | undefined {
  const [ip, bits] = cidr.split('/');
  const base = ipToInt(ip ?? '');
  const length = Number(bits);
  if (base === undefined || !Number.isInteger(length) || length < 8 || length > 29) return undefined;
  const size = 2 ** (32 - length);
  return { first: base - (base % size), size };
}

// --- private endpoints -------------------------------------------------------------------------

const ENDPOINT_TYPE = 'Microsoft.Network/privateEndpoints';
const ZONE_GROUP_TYPE = 'Microsoft.Network/privateEndpoints/privateDnsZoneGroups';

function fail(status: number, code: string, message: string): WriteOutcome {
  return { ok: false, error: { status, code, message } };
}

function props(body: JsonObject): JsonObject {
  return asObject(body.properties);
}

/** The Network provider's answer for a reference to something that is not there (issues cite it verbatim). */
function invalidReference(referenced: string, by: string): WriteOutcome {
  return fail(
    400,
    'InvalidResourceReference',
    `Resource ${referenced} referenced by resource ${by} was not found. Please make sure that the referenced resource exists, and that both resources are in the same region.`,
  );
}

/** The sub-resources (group ids) each target type offers, and the name a client resolves. */
const TARGETS: Readonly<Record<string, { groupIds: readonly string[]; fqdn: (name: string) => string; zone: string }>> = {
  'microsoft.sql/servers': {
    groupIds: ['sqlServer'],
    fqdn: (name) => `${name}.database.windows.net`,
    zone: PRIVATE_LINK_ZONES.sql,
  },
  'microsoft.keyvault/vaults': {
    groupIds: ['vault'],
    fqdn: (name) => `${name}.vault.azure.net`,
    zone: PRIVATE_LINK_ZONES.keyVault,
  },
};

/** Addresses the subnet has given out (by the endpoints in it). */
function addressesInUse(store: Store, subnetId: string): Set<number> {
  const used = new Set<number>();
  for (const pe of resourcesOfType(store, ENDPOINT_TYPE)) {
    if (idKey(asString(asObject(props(pe.body).subnet).id) ?? '') !== idKey(subnetId)) continue;
    const ip = ipToInt(asString(pe.body._privateIp) ?? '');
    if (ip !== undefined) used.add(ip);
  }
  return used;
}

/** Azure reserves the network address, three more for itself, and the broadcast address. */
function allocate(store: Store, subnet: StoredResource): string | undefined {
  const range = parseCidr(asString(props(subnet.body).addressPrefix) ?? '');
  if (range === undefined) return undefined;
  const used = addressesInUse(store, subnet.id);
  for (let n = range.first + 4; n < range.first + range.size - 1; n++) if (!used.has(n)) return intToIp(n);
  return undefined;
}

type Connection = { name?: unknown; properties?: JsonObject };

function connectionList(value: unknown): Connection[] {
  return Array.isArray(value) ? (value as Connection[]) : [];
}

function validateConnections(ctx: TypeContext, peId: string, list: Connection[]): WriteOutcome | undefined {
  for (const c of list) {
    if (asString(c.name) === undefined) return fail(400, 'InvalidRequestFormat', 'Cannot parse the request.');
    const p = asObject(c.properties);
    const targetId = asString(p.privateLinkServiceId) ?? '';
    const target = getResource(ctx.store, targetId);
    const offer = TARGETS[target?.type.toLowerCase() ?? ''];
    if (target === undefined || offer === undefined) return invalidReference(targetId, peId);
    const groups = Array.isArray(p.groupIds) ? p.groupIds : [];
    if (groups.length !== 1 || !offer.groupIds.includes(String(groups[0]))) {
      return fail(
        400,
        'PrivateEndpointBadRequest',
        `Call to ${target.type} failed. Error message: The group id(s) ${JSON.stringify(groups)} are not valid for ${target.name}: use one of ${offer.groupIds.join(', ')}.`,
      );
    }
  }
  return undefined;
}

const privateEndpoints: ResourceTypeSpec = {
  type: ENDPOINT_TYPE,
  apiVersions: [API_VERSIONS.network],
  writes: { PUT: 'async', DELETE: 'async' },
  tracked: true,
  renderState: networkState,
  write(ctx, { target, body, existing }) {
    if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}[a-zA-Z0-9_]$/.test(target.name)) {
      return fail(
        400,
        'InvalidResourceName',
        `Resource name ${target.name} is invalid. A private endpoint name is 2-64 characters: letters, digits, '_', '.', '-', beginning with a letter or digit and ending with a letter, digit or '_'.`,
      );
    }
    const p = props(body);
    const subnetId = asString(asObject(p.subnet).id);
    if (subnetId === undefined) return fail(400, 'InvalidRequestFormat', 'Cannot parse the request.');
    const subnet = getResource(ctx.store, subnetId);
    const vnet = subnet === undefined ? undefined : getResource(ctx.store, subnetId.split('/').slice(0, -2).join('/'));
    if (subnet === undefined || asString(vnet?.body.location) !== body.location) return invalidReference(subnetId, target.id);
    const old = existing === undefined ? undefined : props(existing.body);
    if (old !== undefined && idKey(asString(asObject(old.subnet).id) ?? '') !== idKey(subnetId)) {
      return fail(
        400,
        'CannotChangeSubnetOfPrivateEndpoint',
        `Subnet of private endpoint ${target.id} cannot be changed from ${String(asObject(old.subnet).id)} to ${subnetId}.`,
      );
    }
    const automatic = connectionList(p.privateLinkServiceConnections);
    const manual = connectionList(p.manualPrivateLinkServiceConnections);
    if (automatic.length + manual.length !== 1) {
      return fail(
        400,
        'PrivateEndpointBadRequest',
        'A private endpoint needs exactly one private link service connection (automatic or manual).',
      );
    }
    const invalid = validateConnections(ctx, target.id, [...automatic, ...manual]);
    if (invalid !== undefined) return invalid;
    const ip = asString(existing?.body._privateIp) ?? allocate(ctx.store, subnet);
    if (ip === undefined) {
      return fail(
        400,
        'SubnetIsFull',
        `Subnet ${subnet.name} with address prefix ${String(props(subnet.body).addressPrefix)} does not have enough capacity for 1 IP addresses.`,
      );
    }
    const own = (list: Connection[], kind: string) =>
      list.map((c) => ({
        name: c.name,
        id: `${target.id}/${kind}/${String(c.name)}`,
        type: `${ENDPOINT_TYPE}/${kind}`,
        properties: {
          privateLinkServiceId: asObject(c.properties).privateLinkServiceId,
          groupIds: asObject(c.properties).groupIds,
          requestMessage: asObject(c.properties).requestMessage,
        },
      }));
    const nic =
      asString(existing?.body._nicId) ??
      `${target.id.split('/providers/')[0]}/providers/Microsoft.Network/networkInterfaces/${target.name}.nic.${randomUUID()}`;
    return {
      ok: true,
      body: {
        location: body.location,
        tags: body.tags,
        etag: `W/"${randomUUID()}"`,
        properties: {
          subnet: { id: subnet.id },
          ipVersionType: 'IPv4',
          privateLinkServiceConnections: own(automatic, 'privateLinkServiceConnections'),
          manualPrivateLinkServiceConnections: own(manual, 'manualPrivateLinkServiceConnections'),
          customNetworkInterfaceName: asString(p.customNetworkInterfaceName) ?? '',
          applicationSecurityGroups: [],
          ipConfigurations: [],
          networkInterfaces: [{ id: nic }],
        },
        // Internal: the address the subnet gave it, and its network interface.
        _privateIp: ip,
        _nicId: nic,
      },
    };
  },
  render(ctx, pe, body) {
    const p = asObject(body.properties);
    const ip = asString(pe.body._privateIp);
    const approved = (list: unknown, manual: boolean) =>
      connectionList(list).map((c) => {
        const targetId = asString(asObject(c.properties).privateLinkServiceId) ?? '';
        const live = getResource(ctx.store, targetId) !== undefined;
        return {
          ...c,
          etag: body.etag,
          properties: {
            ...asObject(c.properties),
            provisioningState: 'Succeeded',
            privateLinkServiceConnectionState: live
              ? manual
                ? { status: 'Pending', description: 'Awaiting approval', actionsRequired: 'None' }
                : { status: 'Approved', description: 'Auto-Approved', actionsRequired: 'None' }
              : { status: 'Disconnected', description: 'The private link resource was deleted.', actionsRequired: 'None' },
          },
        };
      });
    p.privateLinkServiceConnections = approved(p.privateLinkServiceConnections, false);
    p.manualPrivateLinkServiceConnections = approved(p.manualPrivateLinkServiceConnections, true);
    // Azure empties the list while a DNS zone group holds the records (and fills it again when it goes).
    const grouped = childrenOfType(ctx.store, pe.id, ZONE_GROUP_TYPE).length > 0;
    p.customDnsConfigs =
      grouped || ip === undefined || pe.state === 'Creating'
        ? []
        : targetsOf(ctx, pe).map((t) => ({ fqdn: t.offer.fqdn(t.target.name), ipAddresses: [ip] }));
  },
};

/** The live targets of an endpoint's connections, with what they offer. */
function targetsOf(ctx: TypeContext, pe: StoredResource) {
  const p = props(pe.body);
  return [...connectionList(p.privateLinkServiceConnections), ...connectionList(p.manualPrivateLinkServiceConnections)].flatMap(
    (c) => {
      const target = getResource(ctx.store, asString(asObject(c.properties).privateLinkServiceId) ?? '');
      const offer = TARGETS[target?.type.toLowerCase() ?? ''];
      return target === undefined || offer === undefined ? [] : [{ target, offer }];
    },
  );
}

/** The Network provider has no `Creating`: a new resource is `Updating` until it succeeds. */
function networkState(body: JsonObject, state: StoredResource['state']): void {
  asObject(body.properties).provisioningState = state === 'Creating' ? 'Updating' : state;
}

const privateDnsZoneGroups: ResourceTypeSpec = {
  type: ZONE_GROUP_TYPE,
  apiVersions: [API_VERSIONS.network],
  writes: { PUT: 'async', DELETE: 'async' },
  tracked: false,
  renderState: networkState,
  write(ctx, { target, body }) {
    const others = resourcesOfType(ctx.store, ZONE_GROUP_TYPE).filter(
      (g) => idKey(g.id).startsWith(`${idKey(target.parentId)}/`) && idKey(g.id) !== idKey(target.id),
    );
    if (others.length > 0) {
      return fail(
        400,
        'PrivateEndpointCannotHaveMoreThanOnePrivateDnsZoneGroup',
        'Cannot create more than one private dns zone groups in the private endpoint.',
      );
    }
    const configs = Array.isArray(props(body).privateDnsZoneConfigs) ? (props(body).privateDnsZoneConfigs as unknown[]) : [];
    if (configs.length === 0 || configs.length > 5) {
      return fail(400, 'InvalidRequestFormat', 'A private DNS zone group takes 1 to 5 private DNS zone configs.');
    }
    const stored: JsonObject[] = [];
    for (const raw of configs) {
      const c = asObject(raw);
      const zoneId = asString(asObject(c.properties).privateDnsZoneId);
      if (asString(c.name) === undefined || zoneId === undefined) {
        return fail(400, 'InvalidRequestFormat', 'Cannot parse the request.');
      }
      const zone = getResource(ctx.store, zoneId);
      if (zone === undefined || zone.type !== 'Microsoft.Network/privateDnsZones') return invalidReference(zoneId, target.id);
      stored.push({ name: c.name, properties: { privateDnsZoneId: zone.id } });
    }
    return { ok: true, body: { etag: `W/"${randomUUID()}"`, properties: { privateDnsZoneConfigs: stored } } };
  },
  render(ctx, group, body) {
    const pe = getResource(ctx.store, group.id.split('/').slice(0, -2).join('/'));
    const ip = asString(pe?.body._privateIp);
    const targets = pe === undefined ? [] : targetsOf(ctx, pe);
    const p = asObject(body.properties);
    p.privateDnsZoneConfigs = connectionList(p.privateDnsZoneConfigs).map((c) => {
      const zone = (asString(asObject(c.properties).privateDnsZoneId) ?? '').split('/').pop()?.toLowerCase();
      // A record only in the zone named as the service's private link zone.
      const recordSets =
        group.state === 'Creating' || ip === undefined
          ? []
          : targets
              .filter((t) => t.offer.zone === zone)
              .map((t) => ({
                recordType: 'A',
                recordSetName: t.target.name,
                fqdn: `${t.target.name}.${zone}`,
                ttl: 10,
                ipAddresses: [ip],
                provisioningState: 'Succeeded',
              }));
      return { ...c, properties: { ...asObject(c.properties), recordSets } };
    });
  },
};

// --- read-only platform types ------------------------------------------------------------------

function readOnly(type: string, apiVersion: string, render?: ResourceTypeSpec['render']): ResourceTypeSpec {
  return {
    type,
    apiVersions: [apiVersion],
    // The platform team's resources: the emulator serves them, nobody writes them through it.
    writes: {},
    tracked: type !== 'Microsoft.Network/virtualNetworks/subnets',
    write: () => fail(405, 'MethodNotAllowed', `${type} is the platform's: read-only in the emulator.`),
    ...(render ? { render } : {}),
  };
}

/** The types of this module, for resourceTypeSpecs(). */
export function privateLinkSpecs(): ResourceTypeSpec[] {
  return [
    readOnly('Microsoft.Network/virtualNetworks', API_VERSIONS.network),
    readOnly('Microsoft.Network/virtualNetworks/subnets', API_VERSIONS.network, (ctx, subnet, body) => {
      // Azure lists the endpoints a subnet holds.
      asObject(body.properties).privateEndpoints = resourcesOfType(ctx.store, ENDPOINT_TYPE)
        .filter((pe) => idKey(asString(asObject(props(pe.body).subnet).id) ?? '') === idKey(subnet.id))
        .map((pe) => ({ id: pe.id }));
    }),
    readOnly('Microsoft.Network/privateDnsZones', API_VERSIONS.privateDns),
    privateEndpoints,
    privateDnsZoneGroups,
  ];
}

/**
 * The private endpoints with a connection to a target (by its id key), from an index rebuilt when
 * an endpoint is put or removed: each GET of a vault or server scanned every endpoint before.
 */
const endpointIndex = new WeakMap<Store, { version: number; byTarget: Map<string, StoredResource[]> }>();

function endpointsTargeting(store: Store, targetKey: string): StoredResource[] {
  const version = store.versions.get(ENDPOINT_TYPE.toLowerCase()) ?? 0;
  let index = endpointIndex.get(store);
  if (index === undefined || index.version !== version) {
    const byTarget = new Map<string, StoredResource[]>();
    for (const pe of resourcesOfType(store, ENDPOINT_TYPE)) {
      const p = props(pe.body);
      const targets = new Set(
        [...connectionList(p.privateLinkServiceConnections), ...connectionList(p.manualPrivateLinkServiceConnections)].map((c) =>
          idKey(asString(asObject(c.properties).privateLinkServiceId) ?? ''),
        ),
      );
      for (const t of targets) byTarget.set(t, [...(byTarget.get(t) ?? []), pe]);
    }
    index = { version, byTarget };
    endpointIndex.set(store, index);
  }
  return index.byTarget.get(targetKey) ?? [];
}

/**
 * A target's `privateEndpointConnections`, as the SQL and Key Vault providers list them: one per
 * endpoint connected to it (auto-approved, as for the operator's own endpoints).
 */
export function renderPrivateEndpointConnections(store: Store, target: StoredResource, body: JsonObject): void {
  const type = target.type.toLowerCase();
  if (TARGETS[type] === undefined || !isObject(body.properties)) return;
  const sql = type === 'microsoft.sql/servers';
  body.properties.privateEndpointConnections = endpointsTargeting(store, idKey(target.id)).flatMap((pe) => {
    const p = props(pe.body);
    return [...connectionList(p.privateLinkServiceConnections), ...connectionList(p.manualPrivateLinkServiceConnections)]
      .filter((c) => idKey(asString(asObject(c.properties).privateLinkServiceId) ?? '') === idKey(target.id))
      .map((c) => {
        const manual = connectionList(p.manualPrivateLinkServiceConnections).includes(c);
        const name = `${pe.name}.${pe.id.split('/')[2]?.slice(0, 8) ?? 'conn'}`;
        return {
          id: `${target.id}/privateEndpointConnections/${name}`,
          ...(sql ? {} : { etag: pe.body.etag }),
          properties: {
            privateEndpoint: { id: pe.id },
            ...(sql ? { groupIds: asObject(c.properties).groupIds } : {}),
            privateLinkServiceConnectionState: manual
              ? { status: 'Pending', description: 'Awaiting approval', actionsRequired: 'None' }
              : { status: 'Approved', description: 'Auto-Approved', actionsRequired: 'None' },
            provisioningState: sql ? 'Ready' : 'Succeeded',
          },
        };
      });
  });
}
