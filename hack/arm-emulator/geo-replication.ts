/**
 * Azure SQL active geo-replication through failover groups (`Microsoft.Sql/servers/failoverGroups`,
 * FailoverGroups.json 2020-11-01-preview): the group on both servers, the geo-secondary databases it
 * creates on the partner server, their replication links, the planned and forced failover actions,
 * and the two listener names (`<group>.database.windows.net` follows the primary,
 * `<group>.secondary.database.windows.net` the secondary).
 */
import { randomUUID } from 'node:crypto';
import { API_VERSIONS } from './api-versions.ts';
import { asObject, asString, compact, isObject, type JsonObject } from './json.ts';
import { type ArmError, armError, type ResourceTypeSpec, type TypeContext, type WriteOutcome } from './resource-types.ts';
import { getResource, putResource, removeResource, resourcesOfType, type Store, type StoredResource } from './store.ts';

export const FAILOVER_GROUP_TYPE = 'Microsoft.Sql/servers/failoverGroups';
const DATABASE_TYPE = 'Microsoft.Sql/servers/databases';

/** What a database in a geo-replication relationship remembers (internal, never rendered). */
export interface GeoLink {
  /** The other database of the pair. */
  partnerDatabaseId: string;
  role: 'Primary' | 'Secondary';
  /** Link id (a GUID, the same on both sides, as Azure names replication links). */
  linkId: string;
  startTime: string;
  failoverGroupName: string;
  /** Real-time ms when initial seeding began and ends (the secondary is SEEDING until then). */
  seedingFrom: number;
  seedingUntil: number;
  /**
   * How far the secondary's hardened log trails the primary's commits once caught up (ms): 0 for
   * an idle database, set by the workload a test plays (SqlControls.setGeoReplicationLag).
   */
  lagMs?: number | undefined;
}

/** One row of `sys.dm_geo_replication_link_status` as the database `database` sees its link. */
export interface GeoLinkStatus {
  linkGuid: string;
  partnerServer: string;
  partnerDatabase: string;
  /** When the primary last heard the secondary harden a log block; null on the secondary, and while seeding. */
  lastReplication: Date | null;
  /** Seconds the secondary trails the primary; null on the secondary (Azure: primary only), and while seeding. */
  replicationLagSeconds: number | null;
  replicationState: 'SEEDING' | 'CATCH_UP';
  role: 'PRIMARY' | 'SECONDARY';
}

/**
 * The database's row in `sys.dm_geo_replication_link_status` (Azure: one per link, both sides;
 * `last_replication` and `replication_lag_sec` on the primary only), or undefined without a link.
 */
export function geoLinkStatus(store: Store, database: StoredResource, now: Date): GeoLinkStatus | undefined {
  const link = geoLinkOf(database);
  const partner = link === undefined ? undefined : getResource(store, link.partnerDatabaseId);
  if (link === undefined || partner === undefined) return undefined;
  const seeding = seedingProgress(link) !== undefined;
  const lagMs = Math.max(0, link.lagMs ?? 0);
  const measured = link.role === 'Primary' && !seeding;
  return {
    linkGuid: link.linkId,
    partnerServer: serverOfId(partner.id).split('/').pop() ?? '',
    partnerDatabase: partner.name,
    lastReplication: measured ? new Date(now.getTime() - lagMs) : null,
    replicationLagSeconds: measured ? Math.round(lagMs / 1000) : null,
    replicationState: seeding ? 'SEEDING' : 'CATCH_UP',
    role: link.role === 'Primary' ? 'PRIMARY' : 'SECONDARY',
  };
}

/** Sets the lag of every geo link of databases named `database` (both sides of each pair). */
export function setGeoReplicationLag(store: Store, database: string, lagMs: number): number {
  let links = 0;
  for (const db of resourcesOfType(store, DATABASE_TYPE)) {
    const link = geoLinkOf(db);
    if (link === undefined || db.name.toLowerCase() !== database.toLowerCase()) continue;
    db.body._geo = { ...link, lagMs };
    links++;
  }
  return links;
}

/** Fraction of the initial seeding done (0-1), or undefined once the link is caught up. */
export function seedingProgress(link: GeoLink, nowMs = Date.now()): number | undefined {
  if (nowMs >= link.seedingUntil) return undefined;
  const span = link.seedingUntil - link.seedingFrom;
  return span <= 0 ? undefined : Math.max(0, (nowMs - link.seedingFrom) / span);
}

/** Whether any database of the group is still seeding its secondary. */
function groupSeeding(store: Store, group: StoredResource): boolean {
  return ((props(group.body).databases as string[] | undefined) ?? []).some((id) => {
    const db = getResource(store, id);
    const link = db === undefined ? undefined : geoLinkOf(db);
    return link !== undefined && seedingProgress(link) !== undefined;
  });
}

function fail(status: number, code: string, message: string): WriteOutcome {
  return { ok: false, error: armError(status, code, message) };
}

function serverOfId(id: string): string {
  return id.split('/').slice(0, 9).join('/');
}

function props(body: JsonObject): JsonObject {
  return asObject(body.properties);
}

export function geoLinkOf(database: StoredResource): GeoLink | undefined {
  const link = database.body._geo;
  return isObject(link) ? (link as unknown as GeoLink) : undefined;
}

/** The group on the other server (its mirror), if committed. */
function mirrorOf(store: Store, group: StoredResource): StoredResource | undefined {
  const partner = asString(asObject((props(group.body).partnerServers as JsonObject[] | undefined)?.[0]).id);
  return partner === undefined ? undefined : getResource(store, `${partner}/failoverGroups/${group.name}`);
}

/** The group as stored on the server whose role is Primary (where writes are allowed). */
export function primaryGroup(store: Store, name: string): StoredResource | undefined {
  return resourcesOfType(store, FAILOVER_GROUP_TYPE).find(
    (g) => g.name.toLowerCase() === name.toLowerCase() && props(g.body).replicationRole === 'Primary',
  );
}

/**
 * The server a listener name resolves to now: `<group>.database.windows.net` is the primary's,
 * `<group>.secondary.database.windows.net` the secondary's, a server's own name itself.
 */
export function resolveSqlHost(store: Store, host: string): StoredResource | undefined {
  const m = /^([a-z0-9-]+)(\.secondary)?\.database\.windows\.net$/.exec(host.toLowerCase());
  if (m === null) return undefined;
  const [, name, secondary] = m;
  const group = primaryGroup(store, name ?? '');
  if (group !== undefined) {
    const primaryServer = getResource(store, serverOfId(group.id));
    if (secondary === undefined) return primaryServer;
    const partner = asString(asObject((props(group.body).partnerServers as JsonObject[] | undefined)?.[0]).id);
    return partner === undefined ? undefined : getResource(store, partner);
  }
  if (secondary !== undefined) return undefined;
  return resourcesOfType(store, 'Microsoft.Sql/servers').find((s) => s.name === name);
}

/** The Key Vault key URI a server's TDE protector uses, or undefined when service-managed. */
function protectorKeyUri(store: Store, serverId: string): string | undefined {
  const protector = getResource(store, `${serverId}/encryptionProtector/current`);
  if (protector === undefined || props(protector.body).serverKeyType !== 'AzureKeyVault') return undefined;
  const keyName = asString(props(protector.body).serverKeyName);
  const key = keyName === undefined ? undefined : getResource(store, `${serverId}/keys/${keyName}`);
  return asString(props(key?.body ?? {}).uri);
}

/** Same key material: the same vault key (any version of it: versions of one key share no material, but Azure checks the key). */
function hasKey(store: Store, serverId: string, uri: string): boolean {
  return resourcesOfType(store, 'Microsoft.Sql/servers/keys').some(
    (k) => serverOfId(k.id).toLowerCase() === serverId.toLowerCase() && asString(props(k.body).uri) === uri,
  );
}

function checkEndpoints(p: JsonObject): WriteOutcome | undefined {
  if (!isObject(p.readWriteEndpoint)) {
    return fail(
      400,
      'FailoverGroupCreateOrUpdateRequestInvalidReadWriteEndpoint',
      'The readWriteEndpoint field is required for create or update requests.',
    );
  }
  const policy = asString(p.readWriteEndpoint.failoverPolicy);
  const grace = p.readWriteEndpoint.failoverWithDataLossGracePeriodMinutes;
  if (policy !== 'Automatic' && policy !== 'Manual') {
    return fail(
      400,
      'FailoverGroupCreateOrUpdateRequestInvalidReadWriteFailoverPolicy',
      'The failoverPolicy field for the read-write endpoint is required for create or update requests.',
    );
  }
  if (policy === 'Automatic' && typeof grace !== 'number') {
    return fail(
      400,
      'FailoverGroupCreateOrUpdateRequestInvalidReadWriteEndpointFields',
      'The property failoverWithDataLossGracePeriodMinutes must be provided when failover policy Automatic is selected for the read-write endpoint.',
    );
  }
  if (policy === 'Manual' && grace !== undefined) {
    return fail(
      400,
      'FailoverGroupCreateOrUpdateRequestInvalidReadWriteEndpointFieldsForManualPolicy',
      'Grace period value should not be provided when failover policy Manual is selected for the read-write endpoint. Please remove it from request.',
    );
  }
  if (typeof grace === 'number' && grace < 60) {
    return fail(
      400,
      'FailoverGroupCreateOrUpdateRequestLessThanMinimumGracePeriodValues',
      'Failover group grace period values must be at least 60 minutes.',
    );
  }
  return undefined;
}

/**
 * Validates a failover group PUT with FailoverGroups.json's error codes, and returns the stored body.
 * The geo-secondaries are created when the write commits (see `addSecondaries`).
 */
function writeFailoverGroup(
  ctx: TypeContext,
  target: { id: string; name: string },
  body: JsonObject,
  existing: StoredResource | undefined,
): WriteOutcome {
  const name = target.name;
  if (!/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(name)) {
    return fail(409, 'InvalidFailoverGroupName', `Invalid Failover Group name '${name}' was supplied.`);
  }
  const serverId = serverOfId(target.id);
  const server = getResource(ctx.store, serverId);
  if (server === undefined) return fail(404, 'ParentResourceNotFound', `Server '${serverId}' not found.`);
  if (existing !== undefined && props(existing.body).replicationRole === 'Secondary') {
    return fail(
      400,
      'FailoverGroupUpdateOrDeleteRequestOnSecondary',
      'Modifications to the failover group are not allowed on a secondary server. Execute the request on the primary server.',
    );
  }
  if (existing === undefined) {
    const taken = resourcesOfType(ctx.store, FAILOVER_GROUP_TYPE).some((g) => g.name.toLowerCase() === name);
    if (taken) {
      return fail(409, 'FailoverGroupDnsRecordInUse', `A duplicate DNS record exists for '${name}.database.windows.net'.`);
    }
  }
  const p = props(body);
  const endpoints = checkEndpoints(p);
  if (endpoints !== undefined) return endpoints;
  const partners = Array.isArray(p.partnerServers) ? p.partnerServers : [];
  if (partners.length === 0 || !isObject(partners[0]) || asString(partners[0].id) === undefined) {
    return fail(
      400,
      'FailoverGroupCreateOrUpdateRequestInvalidPartner',
      'The given partners field in create or update failover group request body is empty or invalid.',
    );
  }
  if (partners.length > 1) {
    return fail(
      400,
      'FailoverGroupCreateOrUpdateRequestUnsupportedPartnerCount',
      'Only one partner server for Failover Group is supported.',
    );
  }
  const partnerId = asString(asObject(partners[0]).id) ?? '';
  if (partnerId.toLowerCase() === serverId.toLowerCase()) {
    return fail(
      400,
      'FailoverGroupCreateOrUpdateRequestDuplicatePartner',
      'One or more of the provided partner servers are already part of the failover group.',
    );
  }
  if (partnerId.split('/')[2]?.toLowerCase() !== serverId.split('/')[2]?.toLowerCase()) {
    return fail(
      400,
      'FailoverGroupPartnerServerFromDifferentSubscription',
      'Primary server and the partner servers of failover group are from different subscriptions.',
    );
  }
  const partner = getResource(ctx.store, partnerId);
  if (partner === undefined) return fail(400, 'ServerNotFound', `The requested server '${partnerId}' was not found.`);
  if (partner.body.location === server.body.location) {
    return fail(
      400,
      'InvalidFailoverGroupRegion',
      'Servers specified in a Failover Group need to reside in different regions to provide isolation.',
    );
  }
  const databases = (Array.isArray(p.databases) ? p.databases : []).map((d) => String(d));
  for (const databaseId of databases) {
    if (!/\/providers\/Microsoft\.Sql\/servers\/[^/]+\/databases\/[^/]+$/i.test(databaseId)) {
      return fail(
        400,
        'FailoverGroupCreateOrUpdateRequestInvalidDatabases',
        'The provided databases IDs are not properly constructed database resource IDs.',
      );
    }
    const database = getResource(ctx.store, databaseId);
    if (database === undefined || serverOfId(database.id).toLowerCase() !== serverId.toLowerCase()) {
      return fail(
        400,
        'FailoverGroupCreateOrUpdateRequestInvalidDatabaseServer',
        'One or more of the provided databases do not exist on the primary server of the failover group.',
      );
    }
    const inGroup = asString(props(database.body).failoverGroupId);
    if (inGroup !== undefined && inGroup.toLowerCase() !== target.id.toLowerCase()) {
      return fail(
        409,
        'DatabaseBelongsToOtherFailoverGroup',
        `Database '${database.name}' belongs to other Failover Group and cannot be consider a part of this one.`,
      );
    }
    const remote = getResource(ctx.store, `${partnerId}/databases/${database.name}`);
    if (remote !== undefined && geoLinkOf(remote)?.partnerDatabaseId.toLowerCase() !== database.id.toLowerCase()) {
      return fail(
        409,
        'RemoteDatabaseExists',
        `The destination database name '${database.name}' already exists on the destination server.`,
      );
    }
  }
  // A database encrypted with a customer-managed key can be geo-replicated only when the partner
  // server holds the same key (transparent-data-encryption-byok-overview: "add the key to the
  // secondary server"; terraform-provider-azurerm#25906 shows the refusal).
  const uri = databases.length > 0 ? protectorKeyUri(ctx.store, serverId) : undefined;
  if (uri !== undefined && !hasKey(ctx.store, partnerId, uri)) {
    return fail(
      400,
      'KeyMaterialNotFoundOnRemoteServer',
      `All servers linked by Geo replication should have the same key material as the encryption protector of the primary server. Please add the key '${uri}' with the same key material to the secondary server '${partner.name}'.`,
    );
  }
  return {
    ok: true,
    body: {
      location: server.body.location,
      tags: isObject(body.tags) ? body.tags : {},
      properties: compact({
        readWriteEndpoint: compact({
          failoverPolicy: p.readWriteEndpoint === undefined ? undefined : asObject(p.readWriteEndpoint).failoverPolicy,
          failoverWithDataLossGracePeriodMinutes: asObject(p.readWriteEndpoint).failoverWithDataLossGracePeriodMinutes,
        }),
        readOnlyEndpoint: { failoverPolicy: asString(asObject(p.readOnlyEndpoint).failoverPolicy) ?? 'Disabled' },
        replicationRole: 'Primary',
        partnerServers: [{ id: partner.id, location: partner.body.location, replicationRole: 'Secondary' }],
        databases: databases.map((d) => getResource(ctx.store, d)?.id ?? d),
      }),
    },
  };
}

/** Creates the geo-secondary of each database of the group on the partner server (Azure does this itself). */
function addSecondaries(ctx: TypeContext, group: StoredResource): void {
  const p = props(group.body);
  const partner = asObject((p.partnerServers as JsonObject[])[0]);
  const partnerId = asString(partner.id) ?? '';
  const partnerServer = getResource(ctx.store, partnerId);
  if (partnerServer === undefined) return;
  for (const databaseId of (p.databases as string[] | undefined) ?? []) {
    const primary = getResource(ctx.store, databaseId);
    if (primary === undefined) continue;
    asObject(primary.body.properties).failoverGroupId = group.id;
    if (geoLinkOf(primary) !== undefined) continue;
    const linkId = randomUUID();
    const startTime = ctx.clock.now().toISOString();
    const seedingFrom = Date.now();
    const seedingUntil = seedingFrom + (ctx.geoSeedingMs ?? 0);
    const secondaryId = `${partnerServer.id}/databases/${primary.name}`;
    primary.body._geo = {
      partnerDatabaseId: secondaryId,
      role: 'Primary',
      linkId,
      startTime,
      failoverGroupName: group.name,
      seedingFrom,
      seedingUntil,
    };
    const pp = props(primary.body);
    const secondary: StoredResource = {
      id: secondaryId,
      type: DATABASE_TYPE,
      name: primary.name,
      state: 'Succeeded',
      operationId: undefined,
      body: {
        id: secondaryId,
        name: primary.name,
        type: DATABASE_TYPE,
        location: partnerServer.body.location,
        tags: primary.body.tags,
        sku: primary.body.sku,
        kind: primary.body.kind,
        _usedBytes: primary.body._usedBytes,
        _lastActivityMs: ctx.clock.now().getTime(),
        _createValues: { createMode: 'Secondary', sourceDatabaseId: primary.id },
        _geo: {
          partnerDatabaseId: primary.id,
          role: 'Secondary',
          linkId,
          startTime,
          failoverGroupName: group.name,
          seedingFrom,
          seedingUntil,
        },
        properties: compact({
          ...pp,
          status: 'Online',
          databaseId: randomUUID(),
          creationDate: startTime,
          secondaryType: 'Geo',
          failoverGroupId: `${partnerServer.id}/failoverGroups/${group.name}`,
          zoneRedundant: false,
          defaultSecondaryLocation: primary.body.location,
          earliestRestoreDate: undefined,
        }),
      },
    };
    putResource(ctx.store, secondary);
    for (const [child, childName, childBody] of [
      ['transparentDataEncryption', 'current', { properties: { state: 'Enabled' } }],
      ['backupShortTermRetentionPolicies', 'default', { properties: { retentionDays: 7, diffBackupIntervalInHours: 12 } }],
      [
        'backupLongTermRetentionPolicies',
        'default',
        { properties: { weeklyRetention: 'PT0S', monthlyRetention: 'PT0S', yearlyRetention: 'PT0S', weekOfYear: 1 } },
      ],
    ] as const) {
      const id = `${secondaryId}/${child}/${childName}`;
      putResource(ctx.store, {
        id,
        type: `${DATABASE_TYPE}/${child}`,
        name: childName,
        state: 'Succeeded',
        operationId: undefined,
        body: { id, name: childName, type: `${DATABASE_TYPE}/${child}`, ...clonePlain(childBody) },
      });
    }
  }
  // The group as the partner server reports it (Azure serves it on both servers).
  const mirrorId = `${partnerId}/failoverGroups/${group.name}`;
  putResource(ctx.store, {
    id: mirrorId,
    type: FAILOVER_GROUP_TYPE,
    name: group.name,
    state: 'Succeeded',
    operationId: undefined,
    body: {
      id: mirrorId,
      name: group.name,
      type: FAILOVER_GROUP_TYPE,
      location: partnerServer.body.location,
      tags: group.body.tags,
      properties: {
        ...p,
        replicationRole: 'Secondary',
        partnerServers: [{ id: serverOfId(group.id), location: group.body.location, replicationRole: 'Primary' }],
        databases: ((p.databases as string[] | undefined) ?? []).map((d) => `${partnerId}/databases/${d.split('/').pop()}`),
      },
    },
  });
}

function clonePlain<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

export const failoverGroupSpec: ResourceTypeSpec = {
  type: FAILOVER_GROUP_TYPE,
  apiVersions: [API_VERSIONS.sqlFailoverGroups],
  writes: { PUT: 'async', PATCH: 'async', DELETE: 'async' },
  tracked: false,
  renderState: 'none',
  write(ctx, { target, body, existing }) {
    return writeFailoverGroup(ctx, target, body, existing);
  },
  afterCommit(ctx, group) {
    addSecondaries(ctx, group);
  },
  render(ctx, group, body) {
    // The primary's group lists the primary's databases; the mirror's, the secondaries (same links).
    const primary = props(group.body).replicationRole === 'Primary' ? group : mirrorOf(ctx.store, group);
    asObject(body.properties).replicationState =
      primary === undefined || !groupSeeding(ctx.store, primary) ? 'CATCH_UP' : 'SEEDING';
  },
  validateDelete(_ctx, group) {
    if (props(group.body).replicationRole === 'Secondary') {
      return armError(
        400,
        'FailoverGroupUpdateOrDeleteRequestOnSecondary',
        'Modifications to the failover group are not allowed on a secondary server. Execute the request on the primary server.',
      );
    }
    return undefined;
  },
  onRemove(ctx, group) {
    // The group goes from both servers; its databases stay geo-replicated (Azure removes only the group).
    const mirror = mirrorOf(ctx.store, group);
    if (mirror !== undefined) removeResource(ctx.store, mirror.id);
    for (const id of (props(group.body).databases as string[] | undefined) ?? []) {
      const db = getResource(ctx.store, id);
      if (db !== undefined) delete asObject(db.body.properties).failoverGroupId;
      const partner = db === undefined ? undefined : geoLinkOf(db)?.partnerDatabaseId;
      const other = partner === undefined ? undefined : getResource(ctx.store, partner);
      if (other !== undefined) delete asObject(other.body.properties).failoverGroupId;
    }
  },
};

/**
 * Checks a failover request on `group` (the group as the server that should become primary sees it)
 * and returns the swap to apply when the operation commits.
 */
export function beginFailover(
  store: Store,
  group: StoredResource,
  allowDataLoss: boolean,
): { ok: true; apply: () => void } | { ok: false; error: ArmError } {
  const p = props(group.body);
  if (p.replicationRole !== 'Secondary') {
    return {
      ok: false,
      error: armError(
        400,
        'FailoverGroupFailoverRequestOnPrimary',
        'The failover request should be initiated on the secondary server of failover group.',
      ),
    };
  }
  const primary = mirrorOf(store, group);
  if (primary === undefined) {
    return { ok: false, error: armError(400, 'FailoverGroupDoesNotExist', 'Failover group does not exist on a server.') };
  }
  if (primary.operationId !== undefined || group.operationId !== undefined) {
    return { ok: false, error: armError(409, 'FailoverGroupBusy', 'Failover Group is busy with another operation.') };
  }
  if (groupSeeding(store, primary)) {
    return {
      ok: false,
      error: armError(
        409,
        'InvalidDatabaseStateForOperation',
        'The operation is not allowed on the database in its current replication state (seeding).',
      ),
    };
  }
  return {
    ok: true,
    apply: () => {
      for (const [from, to] of [
        [primary, 'Secondary'],
        [group, 'Primary'],
      ] as const) {
        const fp = props(from.body);
        from.body._lastFailover = allowDataLoss ? 'Forced' : 'Planned';
        fp.replicationRole = to;
        const partner = asObject((fp.partnerServers as JsonObject[])[0]);
        partner.replicationRole = to === 'Primary' ? 'Secondary' : 'Primary';
        for (const id of (fp.databases as string[] | undefined) ?? []) {
          const db = getResource(store, id);
          const link = db === undefined ? undefined : geoLinkOf(db);
          if (db !== undefined && link !== undefined) db.body._geo = { ...link, role: to };
          if (db !== undefined) {
            if (to === 'Secondary') asObject(db.body.properties).secondaryType = 'Geo';
            else delete asObject(db.body.properties).secondaryType;
          }
        }
      }
    },
  };
}

/** `GET .../databases/{db}/replicationLinks` (2022-02-01-preview ReplicationLinks.json shape). */
export function replicationLinksBody(store: Store, database: StoredResource): JsonObject {
  const link = geoLinkOf(database);
  if (link === undefined) return { value: [] };
  const seeding = seedingProgress(link);
  const partner = getResource(store, link.partnerDatabaseId);
  if (partner === undefined) return { value: [] };
  const partnerServer = serverOfId(partner.id);
  return {
    value: [
      {
        id: `${database.id}/replicationLinks/${link.linkId}`,
        name: link.linkId,
        type: 'Microsoft.Sql/servers/databases/replicationLinks',
        properties: {
          partnerServer: partnerServer.split('/').pop(),
          partnerDatabase: partner.name,
          partnerLocation: partner.body.location,
          role: link.role,
          partnerRole: link.role === 'Primary' ? 'Secondary' : 'Primary',
          replicationMode: 'ASYNC',
          startTime: link.startTime,
          percentComplete: seeding === undefined ? 100 : Math.floor(seeding * 100),
          replicationState: seeding === undefined ? 'CATCH_UP' : 'SEEDING',
          isTerminationAllowed: true,
          linkType: 'GEO',
        },
      },
    ],
  };
}
