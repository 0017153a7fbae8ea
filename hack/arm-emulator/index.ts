/**
 * An in-memory HTTPS emulator of the slice of Azure Resource Manager the operator uses, so the real
 * Azure SDK clients run their real pipeline (bearer auth, retries, long-running-operation pollers)
 * against it. See README.md for what it supports and which ARM behaviours it reproduces.
 */

import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { TokenCredential } from '@azure/core-auth';
import { type ControllableClock, createControllableClock } from './clock.ts';
import { type PlatformCluster, seedPlatformCluster } from './container-service.ts';
import {
  createEngine,
  describeRequest,
  type EngineConfig,
  handleRequest,
  pollHoldMs,
  render,
  sqlSettings,
  tick,
} from './engine.ts';
import {
  audienceOfScope,
  createTokenIssuer,
  type DirectoryPrincipal,
  EMULATOR_OPERATOR_PRINCIPAL,
  SQL_AUDIENCE,
  type TokenIssuer,
} from './entra.ts';
import { createFaultInjector, type FaultInjector, type FaultRule } from './faults.ts';
import { geoLinkStatus, resolveSqlHost, setGeoReplicationLag } from './geo-replication.ts';
import { asNumber, asObject, asString, type JsonObject } from './json.ts';
import { keysChanged, rotateKey } from './key-rotation.ts';
import { platformAuditWorkspaceId, seedPlatformAuditWorkspace } from './monitoring.ts';
import type { OperationProfileName, OperationTiming } from './operation-profiles.ts';
import { type PlatformNetwork, seedPlatformNetwork } from './private-link.ts';
import { AZURE_DEFAULT_QUOTAS, type AzureQuotas } from './quotas.ts';
import {
  type AzureBehaviours,
  checkRotationPolicy,
  DEFAULT_RBAC_PROPAGATION_MS,
  type EmulatorSettings,
  recordDatabaseActivity,
} from './resource-types.ts';
import type { SpecViolation } from './spec-schemas.ts';
import { backupHistory, pausesFor, resumeBackups, stopBackups } from './sql-backups.ts';
import { createSqlDataPlane, type DatabaseCatalogue, type RecordedStatement, type SqlDataPlane } from './sql-data-plane.ts';
import {
  childrenOfType,
  createStore,
  type DroppedDatabase,
  getResource,
  type OperationStatus,
  type RetainedBackup,
  resourcesOfType,
  settleDueOperations,
} from './store.ts';
import { type StatementResult, startTdsListener } from './tds.ts';
import { generateSelfSignedCertificate, type TlsMaterial } from './tls.ts';
import { AVAILABILITY_ZONE_REGIONS } from './zones.ts';

export type { ControllableClock } from './clock.ts';
export {
  AGENT_POOL_TYPE,
  MANAGED_CLUSTER_TYPE,
  managedClusterId,
  type PlatformCluster,
} from './container-service.ts';
export { EMULATOR_OPERATOR_PRINCIPAL, SQL_AUDIENCE } from './entra.ts';
export type { FaultAction, FaultHandle, FaultInjector, FaultMatcher, FaultRule } from './faults.ts';
export type { JsonObject } from './json.ts';
export { PLATFORM_AUDIT_WORKSPACE, platformAuditWorkspaceId } from './monitoring.ts';
export {
  INSTANT_OPERATION_MS,
  type OperationDuration,
  type OperationKind,
  type OperationProfileName,
  operationDurationMs,
  operationKind,
  REALISTIC_DURATIONS,
} from './operation-profiles.ts';
export {
  defaultPlatformNetwork,
  PLATFORM_DNS_RESOURCE_GROUP,
  PLATFORM_NETWORK_RESOURCE_GROUP,
  type PlatformNetwork,
  type PlatformSubnet,
  PRIVATE_LINK_ZONES,
} from './private-link.ts';
export {
  AZURE_DEFAULT_QUOTAS,
  type AzureQuotas,
  QUOTAS_RAISED_FOR_ONE_SHARED_SUBSCRIPTION,
  VM_SIZES,
} from './quotas.ts';
export type { AzureBehaviours } from './resource-types.ts';
export type { SpecViolation } from './spec-schemas.ts';
export type { DatabaseCatalogue, RecordedStatement } from './sql-data-plane.ts';
export type { DroppedDatabase, RetainedBackup } from './store.ts';
export type { StatementResult } from './tds.ts';
export { AVAILABILITY_ZONE_REGIONS } from './zones.ts';

/** The subscription every emulator serves (any id is accepted; this one is what it reports). */
export const EMULATOR_SUBSCRIPTION_ID = '00000000-0000-4000-8000-00000000c0de';

/** One request as the emulator saw it. */
export interface RecordedRequest {
  /** 1-based, increasing: pass to `since` helpers to look at what happened after a point. */
  seq: number;
  /** Wall-clock time the request arrived (ISO 8601). */
  time: string;
  method: string;
  /** Path without the query string. */
  path: string;
  apiVersion: string | undefined;
  /** ARM resource type of the target, when the path names a resource or collection. */
  resourceType: string | undefined;
  kind: 'resource' | 'collection' | 'operation' | 'action' | 'other';
  /** Response status; 0 while unanswered (a hanging request stays 0). */
  status: number;
  durationMs: number;
  /** Names of the fault rules that fired. */
  faults: string[];
  /** A PUT, PATCH, DELETE or POST that is not an operation-status poll: what ARM counts as a write. */
  write: boolean;
}

export interface ArmEmulatorOptions {
  /** Port to listen on (default: a free port). */
  port?: number;
  /**
   * More subscriptions the emulated account holds, besides EMULATOR_SUBSCRIPTION_ID (subscription
   * shards, issue #15). A request for any other subscription is 404 `SubscriptionNotFound`, as ARM answers.
   */
  extraSubscriptions?: readonly string[];
  /** Interface to bind (default 127.0.0.1). */
  host?: string;
  /**
   * How long every long-running operation runs, in real milliseconds, whatever the profile says
   * (default: the profile decides; `instant` gives 5 ms).
   */
  lroDelayMs?: number;
  /**
   * Operation durations per resource type (default `instant`): `realistic` uses the figures in
   * REALISTIC_DURATIONS (see README.md for their sources), multiplied by `timeFactor`.
   */
  profile?: OperationProfileName;
  /** Scales realistic durations and the RBAC propagation delay (default 1; 0.01: a 3-minute create takes 1.8 s). */
  timeFactor?: number;
  /**
   * Friendlier-than-Azure behaviours a test may ask for by name; every default is what Azure does.
   * See README.md "Azure behaviours".
   */
  behaviours?: Partial<AzureBehaviours>;
  /**
   * Longest hold of an operation-status poll while the operation runs (default 250 ms). The SDK
   * pollers wait 2 s between later polls whatever `Retry-After` says, so a poll that ends in time
   * saves that wait.
   */
  pollHoldMs?: number;
  /** Seed of the fault injector's RNG (default 1). */
  seed?: number;
  /** Emulated minutes between two automatic backups of a SQL database (default 10). */
  backupIntervalMinutes?: number;
  /**
   * Emulated milliseconds a point-in-time restore runs (default 0: it ends after `lroDelayMs` of real
   * time like any operation). With a value, the restored database is `Restoring` until the clock passes it.
   */
  restoreDurationMs?: number;
  /** Start of the emulated clock (default: now). */
  startTime?: Date;
  /**
   * Let the emulated clock run with real time from `startTime` (default false: frozen until moved).
   * For an operator on the real clock: automatic SQL backups then keep coming, so RPOs hold.
   */
  clockRunning?: boolean;
  /** Entra tenant id the emulated directory uses (identities' `tenantId`). */
  directoryTenantId?: string;
  /** Accepted locations (default: a list of public Azure regions). */
  locations?: readonly string[];
  /** Regions with availability zones (default: Azure's published list, zones.ts). */
  availabilityZoneRegions?: readonly string[];
  /** Refuse role assignments to unknown service principals (default true). */
  strictPrincipals?: boolean;
  /**
   * The platform's network, there before any tenant (and again after `reset()`): the subnets
   * private endpoints go into and the private DNS zones they register in. Without it every private
   * endpoint is refused (`InvalidResourceReference`), as on a subscription without them.
   * `defaultPlatformNetwork(EMULATOR_SUBSCRIPTION_ID, DEFAULT_LOCATIONS)` gives every region one.
   */
  platformNetwork?: PlatformNetwork;
  /**
   * The platform's AKS cluster(s), there before any tenant (and again after `reset()`), in which
   * node pools are created. Without one every node pool write is 404 (`ParentResourceNotFound`).
   */
  platformClusters?: readonly PlatformCluster[];
  /**
   * Subscription, regional and per-resource quotas (quotas.ts). Default: Azure's
   * (`AZURE_DEFAULT_QUOTAS`); a raise must be named, e.g. `QUOTAS_RAISED_FOR_ONE_SHARED_SUBSCRIPTION`.
   */
  quotas?: Partial<AzureQuotas>;
  /** Reuse a certificate instead of generating one. */
  tls?: TlsMaterial;
  /**
   * Groups of the emulated Entra directory: group object id -> member object ids. Tokens the
   * emulator issues carry them (`groups`), and the SQL data plane admits a group's members as
   * the server's Entra admin when the group is. `EMULATOR_OPERATOR_PRINCIPAL` is the operator.
   */
  directoryGroups?: Readonly<Record<string, readonly string[]>>;
  /** Port of the SQL data plane's TDS endpoint (default: a free port). */
  sqlPort?: number;
  /** Accept only this bearer token (default: any non-empty bearer token). */
  requiredToken?: string;
  /**
   * Retention in days of the platform's audit workspace the emulator starts with (see
   * `auditWorkspaceId`): default 180; `false` starts without it.
   */
  auditWorkspaceRetentionDays?: number | false;
}

export interface OperationSummary {
  id: string;
  resourceId: string;
  resourceType: string;
  method: string;
  status: OperationStatus;
}

/** Knobs of the Azure SQL backup model (see sql-backups.ts and README.md). */
export interface SqlControls {
  /** Stop automatic backups from now on: of databases with this name, or of every database. */
  stopBackups(database?: string): void;
  /** Resume them (every stopped database when `database` is omitted). */
  resumeBackups(database?: string): void;
  /** Set the data size the usages endpoint reports for databases with this name (restores copy it). */
  setDatabaseSize(database: string, bytes: number): void;
  /**
   * Someone connects to databases with this name: a paused serverless database resumes and its idle
   * timer restarts (Azure resumes a serverless database on login).
   */
  connect(database: string): void;
  /**
   * What a SQL host name resolves to now: a failover group's read-write listener
   * (`<group>.database.windows.net`) the current primary server, its read-only listener
   * (`<group>.secondary.database.windows.net`) the secondary, a server's own name that server.
   */
  resolveHost(host: string): { serverId: string; location: string } | undefined;
  /**
   * The workload behind databases named `database`: their geo-secondaries harden log `seconds`
   * behind the primary's commits (`sys.dm_geo_replication_link_status.replication_lag_sec` on the
   * primary). 0, the default, is an idle database. Returns how many databases' links were set.
   */
  setGeoReplicationLag(database: string, seconds: number): number;
}

/**
 * Key Vault's data plane, which ARM does not serve (its key PUT only creates): what a person with
 * `az keyvault key ...` can do to a key behind the operator's back.
 */
export interface KeyVaultControls {
  /** `az keyvault key rotation-policy update` (a policy) or removing it (`undefined`), by key id. */
  setRotationPolicy(keyId: string, policy: JsonObject | undefined): void;
  /** `az keyvault key rotate`: a new current version now. */
  rotate(keyId: string): void;
}

/**
 * The emulated Azure SQL data plane (TDS 8.0 on `sqlEndpoint`): what was run, and what a database
 * holds. See README.md "SQL data plane".
 */
export interface SqlDataPlaneControls {
  /** Every statement run over TDS, oldest first (live array); never a token. */
  statements: RecordedStatement[];
  /** Principals, role members and permissions of a database (undefined when it does not exist). */
  catalogue(server: string, database: string): DatabaseCatalogue | undefined;
  /** Run a batch as the server's Entra admin would by hand (not recorded). */
  runAsAdmin(server: string, database: string, sql: string): StatementResult[];
}

/** The emulated Entra ID: tokens it issues are the only ones the data plane accepts. */
export interface EntraControls {
  /** A token for `principal` and `audience` (default Azure SQL's), with the principal's directory groups. */
  issueToken(principal: DirectoryPrincipal, audience?: string, lifetimeMs?: number): string;
}

/** Read access to the emulator's state, for assertions. Bodies are what a GET would return. */
export interface ArmEmulatorState {
  /** The resource with this id (case-insensitive), as GET returns it. */
  get(id: string): JsonObject | undefined;
  /** Every resource, or every resource of one type (case-insensitive), as GET returns them. */
  list(type?: string): JsonObject[];
  /** The first resource of `type` named `name` (case-insensitive), anywhere. */
  find(type: string, name: string): JsonObject | undefined;
  /** Soft-deleted vaults, as `GET .../deletedVaults/{name}` returns them. */
  deletedVaults(): JsonObject[];
  /** Long-term-retention backups kept after their databases were deleted. */
  retainedBackups(): RetainedBackup[];
  /** Deleted databases whose point-in-time backups can still be restored. */
  restorableDroppedDatabases(): DroppedDatabase[];
  /**
   * Every request field the spec does not allow, refused or ignored (see spec-schemas.ts): an empty
   * list proves the client sent only what the spec allows.
   */
  specViolations(): SpecViolation[];
  /** Long-running operations, oldest first. */
  operations(): OperationSummary[];
  /** Settle every running operation now (as if its delay had passed). */
  completeOperations(): void;
}

export interface ArmEmulator {
  /** `https://127.0.0.1:PORT`: pass as the SDK clients' `endpoint`. */
  endpoint: string;
  /** PEM certificate to trust: pass as `tlsOptions: { ca }`. */
  ca: string;
  /** A credential that always returns the test token. */
  credential: TokenCredential;
  /** A subscription id to use (any id is accepted). */
  subscriptionId: string;
  /** The emulated directory's tenant id. */
  directoryTenantId: string;
  /**
   * ARM id of the platform's Log Analytics workspace for audit records, which the emulator starts
   * with (a prerequisite of the operator, not its resource); there after `reset()` too.
   */
  auditWorkspaceId: string;
  /** Every request, in arrival order (live array). */
  requests: RecordedRequest[];
  /** Requests after `sinceSeq` (default: all) that ARM counts as writes. */
  writes(sinceSeq?: number): RecordedRequest[];
  /** The seq of the last request so far: a bookmark for `writes(since)`. */
  mark(): number;
  faults: FaultInjector;
  clock: ControllableClock;
  state: ArmEmulatorState;
  /**
   * Live settings: change `lroDelayMs`, `pollHoldMs`, `backupIntervalMs` or `restoreDurationMs`
   * between steps of a test.
   */
  config: EngineConfig;
  sql: SqlControls;
  /** `127.0.0.1:PORT` of the TDS endpoint every emulated `<server>.database.windows.net` answers on. */
  sqlEndpoint: string;
  sqlDataPlane: SqlDataPlaneControls;
  entra: EntraControls;
  keyVault: KeyVaultControls;
  /** Forget all resources, operations, requests and fault rules; reset the clock to its start. */
  reset(): void;
  /** Add subnets and private DNS zones to the platform's network (kept by `reset()` only if given at start). */
  seedPlatformNetwork(network: PlatformNetwork): void;
  /** Close the server and every connection, hanging ones included. */
  stop(): Promise<void>;
}

/** Defaults of every behaviour: what Azure documents (see README.md "Azure behaviours"). */
export function realisticBehaviours(timeFactor = 1): AzureBehaviours {
  return {
    exposeCreateOnlyFields: false,
    ltrBackupAtDeletion: false,
    serverlessAutoPause: true,
    rbacPropagationDelayMs: Math.round(DEFAULT_RBAC_PROPAGATION_MS * timeFactor),
    rbacPropagationClock: 'real',
    managedIdentityWritesPerSecond: 2,
    frontDoorRegion: 'westeurope',
    sqlKeyAutoRotationDelayMs: 60 * 60_000,
  };
}

export const DEFAULT_LOCATIONS: readonly string[] = [
  'westeurope',
  'northeurope',
  'swedencentral',
  'germanywestcentral',
  'francecentral',
  'uksouth',
  'ukwest',
  'switzerlandnorth',
  'norwayeast',
  'polandcentral',
  'italynorth',
  'eastus',
  'eastus2',
  'centralus',
  'westus2',
  'westus3',
  'canadacentral',
  'brazilsouth',
  'australiaeast',
  'japaneast',
  'southeastasia',
  'centralindia',
  'uaenorth',
  'southafricanorth',
  // Regions without availability zones (a zone-redundant database there is refused).
  'westus',
  'northcentralus',
  'canadaeast',
  'australiasoutheast',
  'switzerlandwest',
];

const TEST_TOKEN = 'test-token';

/**
 * The credential tests hand to SDK clients: a fixed bearer token for ARM, valid for an hour; with an
 * issuer, a token it signed for the operator's principal for any other audience (Azure SQL).
 */
export function testCredential(token = TEST_TOKEN, issuer?: TokenIssuer, groups: () => string[] = () => []): TokenCredential {
  return {
    getToken: async (scopes) => {
      const scope = (Array.isArray(scopes) ? scopes[0] : scopes) ?? '';
      const audience = audienceOfScope(scope);
      if (issuer !== undefined && audience !== 'https://management.azure.com/' && audience !== '/') {
        return {
          token: issuer.issue(EMULATOR_OPERATOR_PRINCIPAL, audience, groups()),
          expiresOnTimestamp: Date.now() + 3_600_000,
        };
      }
      return { token, expiresOnTimestamp: Date.now() + 3_600_000 };
    },
  };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function send(res: ServerResponse, status: number, headers: Record<string, string>, body: unknown): void {
  const common = { 'x-ms-request-id': randomUUID(), 'x-ms-correlation-request-id': randomUUID() };
  if (body === undefined) {
    res.writeHead(status, { ...common, ...headers, 'content-length': '0' });
    res.end();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...common,
    ...headers,
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(text)),
  });
  res.end(text);
}

const WRITE_METHODS = new Set(['PUT', 'PATCH', 'DELETE', 'POST']);

/** Start an emulator on an HTTPS port. */
export async function startArmEmulator(options: ArmEmulatorOptions = {}): Promise<ArmEmulator> {
  const tls = options.tls ?? generateSelfSignedCertificate();
  const startTime = options.startTime ?? new Date();
  const clock = createControllableClock(startTime, { running: options.clockRunning ?? false });
  const settings: EmulatorSettings = {
    directoryTenantId: options.directoryTenantId ?? '72f988bf-0000-4000-8000-00000000d1e7',
    locations: new Set((options.locations ?? DEFAULT_LOCATIONS).map((l) => l.replaceAll(' ', '').toLowerCase())),
    availabilityZoneRegions: new Set(
      (options.availabilityZoneRegions ?? AVAILABILITY_ZONE_REGIONS).map((l) => l.replaceAll(' ', '').toLowerCase()),
    ),
    strictPrincipals: options.strictPrincipals ?? true,
    subscriptions: new Set([EMULATOR_SUBSCRIPTION_ID, ...(options.extraSubscriptions ?? [])].map((x) => x.toLowerCase())),
    behaviours: { ...realisticBehaviours(options.timeFactor ?? 1), ...options.behaviours },
    quotas: { ...AZURE_DEFAULT_QUOTAS, ...options.quotas },
  };
  const timing: OperationTiming = { profile: options.profile ?? 'instant', timeFactor: options.timeFactor ?? 1 };
  if (!(timing.timeFactor > 0)) throw new RangeError(`timeFactor must be > 0, got ${timing.timeFactor}`);
  const initialConfig: EngineConfig = {
    lroDelayMs: options.lroDelayMs,
    timing,
    pollHoldMs: options.pollHoldMs ?? 250,
    backupIntervalMs: (options.backupIntervalMinutes ?? 10) * 60_000,
    restoreDurationMs: options.restoreDurationMs ?? 0,
  };
  const config: EngineConfig = { ...initialConfig };
  const subscriptionId = EMULATOR_SUBSCRIPTION_ID;
  const auditRetention = options.auditWorkspaceRetentionDays ?? 180;
  const freshStore = () => {
    const store = createStore();
    if (options.platformNetwork !== undefined) seedPlatformNetwork(store, options.platformNetwork);
    for (const cluster of options.platformClusters ?? []) seedPlatformCluster(store, cluster);
    if (auditRetention !== false) seedPlatformAuditWorkspace(store, clock, subscriptionId, auditRetention);
    return store;
  };
  let engine = createEngine(freshStore(), clock, settings, config);
  const issuer = createTokenIssuer(settings.directoryTenantId);
  const directoryGroups = options.directoryGroups ?? {};
  const groupsOf = (objectId: string): string[] =>
    Object.entries(directoryGroups)
      .filter(([, members]) => members.some((m) => m.toLowerCase() === objectId.toLowerCase()))
      .map(([group]) => group);
  const sqlPlane: SqlDataPlane = createSqlDataPlane(
    {
      server: (name) => {
        tick(engine);
        const server = resourcesOfType(engine.store, 'Microsoft.Sql/servers').find((r) => r.name.toLowerCase() === name);
        if (server === undefined) return undefined;
        const admin = childrenOfType(engine.store, server.id, 'Microsoft.Sql/servers/administrators')[0];
        return {
          id: server.id,
          fqdn: asString(asObject(server.body.properties).fullyQualifiedDomainName) ?? '',
          adminSid: admin === undefined ? undefined : asString(asObject(admin.body.properties).sid),
        };
      },
      database: (serverId, name) => {
        const db = childrenOfType(engine.store, serverId, 'Microsoft.Sql/servers/databases').find(
          (r) => r.name.toLowerCase() === name.toLowerCase(),
        );
        if (db === undefined) return undefined;
        const body = render(engine, db);
        const p = asObject(body.properties);
        return {
          id: db.id,
          name: db.name,
          databaseId: asString(p.databaseId) ?? '',
          status: asString(p.status) ?? 'Online',
          creationMs: Date.parse(asString(p.creationDate) ?? ''),
        };
      },
      backups: (id, limit) => {
        const db = getResource(engine.store, id);
        if (db === undefined) return [];
        const created = Date.parse(asString(asObject(db.body.properties).creationDate) ?? '');
        return backupHistory(
          created,
          clock.now().getTime(),
          sqlSettings(config).backupIntervalMs,
          pausesFor(engine.store.backupPauses, db.name),
          limit,
        );
      },
      geoLink: (id) => {
        const db = getResource(engine.store, id);
        return db === undefined ? undefined : geoLinkStatus(engine.store, db, clock.now());
      },
      touched: (id) => {
        const db = getResource(engine.store, id);
        if (db !== undefined) recordDatabaseActivity({ store: engine.store, clock, settings, sql: sqlSettings(config) }, db);
      },
      groupsOf,
      principalNamed: (name) => {
        const identity = resourcesOfType(engine.store, 'Microsoft.ManagedIdentity/userAssignedIdentities').find(
          (r) => r.name.toLowerCase() === name.toLowerCase(),
        );
        const p = asObject(identity?.body.properties);
        const objectId = asString(p.principalId);
        return objectId === undefined ? undefined : { objectId, clientId: asString(p.clientId) };
      },
    },
    issuer,
    () => clock.now(),
  );
  const tds = await startTdsListener({ tls, backend: sqlPlane, host: options.host, port: options.sqlPort });
  const faults = createFaultInjector(options.seed ?? 1);
  const requests: RecordedRequest[] = [];
  const sockets = new Set<Socket>();
  /** Keys of exclusive writes in flight (federated credentials per identity). */
  const exclusiveWrites = new Set<string>();
  /** Arrival times (real ms) of recent Microsoft.ManagedIdentity writes, per subscription. */
  const managedIdentityWrites = new Map<string, number[]>();
  let baseUrl = '';

  const handler = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const started = Date.now();
    // `//subscriptions/...` (the authorization SDK joins `/{scope}` with a scope that starts with a
    // slash) would parse as a protocol-relative URL: collapse leading slashes first.
    const url = new URL((req.url ?? '/').replace(/^\/+/, '/'), baseUrl);
    const method = (req.method ?? 'GET').toUpperCase();
    const path = url.pathname;
    const info = describeRequest(engine, method, path);
    const record: RecordedRequest = {
      seq: requests.length + 1,
      time: new Date(started).toISOString(),
      method,
      path,
      apiVersion: url.searchParams.get('api-version') ?? undefined,
      resourceType: info.resourceType,
      kind: info.kind,
      status: 0,
      durationMs: 0,
      faults: [],
      write: WRITE_METHODS.has(method) && info.kind !== 'operation' && info.kind !== 'other',
    };
    requests.push(record);
    const finish = (status: number, headers: Record<string, string>, body: unknown): void => {
      record.status = status;
      record.durationMs = Date.now() - started;
      send(res, status, headers, body);
    };

    const text = await readBody(req);
    const auth = req.headers.authorization ?? '';
    const token = auth.startsWith('Bearer ') ? auth.slice('Bearer '.length).trim() : '';
    if (token.length === 0 || (options.requiredToken !== undefined && token !== options.requiredToken)) {
      finish(
        401,
        {},
        {
          error: {
            code: token.length === 0 ? 'AuthenticationFailed' : 'InvalidAuthenticationToken',
            message: 'Authentication failed. The Authorization header is missing or its bearer token is not accepted.',
          },
        },
      );
      return;
    }

    // Microsoft.ManagedIdentity: about 2 writes per second per subscription, 429 beyond.
    const limit = settings.behaviours.managedIdentityWritesPerSecond;
    if (info.managedIdentityWriteSubscription !== undefined && limit > 0) {
      const now = Date.now();
      const recent = (managedIdentityWrites.get(info.managedIdentityWriteSubscription) ?? []).filter((t) => t > now - 1000);
      managedIdentityWrites.set(info.managedIdentityWriteSubscription, recent);
      if (recent.length >= limit) {
        finish(
          429,
          { 'Retry-After': '1' },
          {
            error: {
              code: 'TooManyRequests',
              message: `Microsoft.ManagedIdentity accepts about ${limit} writes per second per subscription. Retry after 1 second.`,
            },
          },
        );
        return;
      }
      recent.push(now);
    }
    if (info.exclusiveKey !== undefined) {
      if (exclusiveWrites.has(info.exclusiveKey)) {
        finish(
          409,
          {},
          {
            error: {
              code: 'ConcurrentFederatedIdentityCredentialsWritesForSingleManagedIdentity',
              message: `Too many Federated Identity Credentials are written concurrently for the managed identity '${info.exclusiveKey}'. Concurrent Federated Identity Credentials writes under the same managed identity are not supported.`,
            },
          },
        );
        return;
      }
      exclusiveWrites.add(info.exclusiveKey);
    }
    try {
      await handleAuthorized(record, info, method, path, url, text, finish);
    } finally {
      if (info.exclusiveKey !== undefined) exclusiveWrites.delete(info.exclusiveKey);
    }
  };

  const handleAuthorized = async (
    record: RecordedRequest,
    info: ReturnType<typeof describeRequest>,
    method: string,
    path: string,
    url: URL,
    text: string,
    finish: (status: number, headers: Record<string, string>, body: unknown) => void,
  ): Promise<void> => {
    const decision = faults.decide({ method, path, resourceType: info.resourceType }, info.longRunningWrite);
    record.faults = decision.names;
    if (decision.latencyMs > 0) await sleep(decision.latencyMs);
    if (info.syncWriteMs > 0) await sleep(info.syncWriteMs);
    if (decision.terminal?.kind === 'hang') return;
    if (decision.terminal?.kind === 'error') {
      const e = decision.terminal;
      finish(e.status, e.retryAfterSeconds === undefined ? {} : { 'Retry-After': String(e.retryAfterSeconds) }, {
        error: { code: e.code ?? `Http${e.status}`, message: e.message ?? `Injected fault: HTTP ${e.status}.` },
      });
      return;
    }

    const hold = pollHoldMs(engine, path);
    if (hold > 0) await sleep(hold);

    let body: unknown;
    if (text.length > 0) {
      try {
        body = JSON.parse(text);
      } catch {
        finish(400, {}, { error: { code: 'InvalidRequestContent', message: 'The request content is not valid JSON.' } });
        return;
      }
    }
    const response = handleRequest(engine, {
      method,
      path,
      query: url.searchParams,
      body,
      baseUrl,
      lroFailure:
        decision.lroFailure === undefined
          ? undefined
          : {
              code: decision.lroFailure.code ?? 'InternalServerError',
              message: decision.lroFailure.message ?? 'Injected fault: the operation failed.',
            },
      lroDelayMs: decision.lroDelayMs,
    });
    finish(response.status, response.headers, method === 'HEAD' ? undefined : response.body);
  };

  const server: Server = createServer({ cert: tls.cert, key: tls.key }, (req, res) => {
    if ((req.url ?? '').startsWith('/_emulator/')) {
      void handleAdmin(req, res);
      return;
    }
    handler(req, res).catch((err: unknown) => {
      if (!res.headersSent) send(res, 500, {}, { error: { code: 'InternalServerError', message: String(err) } });
    });
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  baseUrl = `https://${host}:${address.port}`;

  const state: ArmEmulatorState = {
    get: (id) => {
      tick(engine);
      const r = getResource(engine.store, id);
      return r === undefined ? undefined : render(engine, r);
    },
    list: (type) => {
      tick(engine);
      const all = type === undefined ? [...engine.store.resources.values()] : resourcesOfType(engine.store, type);
      return all.map((r) => render(engine, r));
    },
    find: (type, name) => {
      tick(engine);
      const r = resourcesOfType(engine.store, type).find((x) => x.name.toLowerCase() === name.toLowerCase());
      return r === undefined ? undefined : render(engine, r);
    },
    deletedVaults: () => {
      tick(engine);
      return [...engine.store.deletedVaults.values()].map((d) => ({
        name: d.name,
        type: 'Microsoft.KeyVault/deletedVaults',
        properties: {
          vaultId: d.vault.id,
          location: d.location,
          deletionDate: d.deletionDate.toISOString(),
          scheduledPurgeDate: d.scheduledPurgeDate.toISOString(),
          purgeProtectionEnabled: d.purgeProtectionEnabled,
          keys: d.children.map((c) => c.name),
        },
      }));
    },
    retainedBackups: () => {
      tick(engine);
      return [...engine.store.retainedBackups];
    },
    restorableDroppedDatabases: () => {
      tick(engine);
      return [...engine.store.droppedDatabases];
    },
    specViolations: () => [...engine.store.specViolations],
    operations: () =>
      [...engine.store.operations.values()].map((op) => ({
        id: op.id,
        resourceId: op.resourceId,
        resourceType: op.resourceType,
        method: op.method,
        status: op.status,
      })),
    completeOperations: () => {
      settleDueOperations(engine.store, Number.POSITIVE_INFINITY, clock.now, true);
    },
  };

  const sql: SqlControls = {
    resolveHost: (host) => {
      tick(engine);
      const server = resolveSqlHost(engine.store, host);
      return server === undefined ? undefined : { serverId: server.id, location: String(server.body.location) };
    },
    stopBackups: (database) => stopBackups(engine.store.backupPauses, clock.now().getTime(), database),
    resumeBackups: (database) => resumeBackups(engine.store.backupPauses, clock.now().getTime(), database),
    setGeoReplicationLag: (database, seconds) => {
      tick(engine);
      return setGeoReplicationLag(engine.store, database, Math.max(0, seconds) * 1000);
    },
    setDatabaseSize: (database, bytes) => {
      for (const db of resourcesOfType(engine.store, 'Microsoft.Sql/servers/databases')) {
        if (db.name.toLowerCase() === database.toLowerCase()) db.body._usedBytes = bytes;
      }
    },
    connect: (database) => {
      const ctx = { store: engine.store, clock, settings, sql: sqlSettings(config) };
      for (const db of resourcesOfType(engine.store, 'Microsoft.Sql/servers/databases')) {
        if (db.name.toLowerCase() === database.toLowerCase()) recordDatabaseActivity(ctx, db);
      }
    },
  };

  // Both controls change a key in place: key rotation must look at it again (keysChanged).
  const keyOf = (keyId: string) => {
    tick(engine);
    const key = getResource(engine.store, keyId);
    if (key === undefined || key.type !== 'Microsoft.KeyVault/vaults/keys') throw new Error(`no key '${keyId}'`);
    keysChanged(engine.store);
    return key;
  };
  const keyVault: KeyVaultControls = {
    setRotationPolicy: (keyId, policy) => {
      const key = keyOf(keyId);
      const p = asObject(key.body.properties);
      if (policy === undefined) {
        delete p.rotationPolicy;
        return;
      }
      const checked = checkRotationPolicy(policy, Math.floor(clock.now().getTime() / 1000));
      if (!checked.ok) throw new Error(checked.error.message);
      p.rotationPolicy = checked.value;
    },
    rotate: (keyId) => rotateKey(keyOf(keyId), Math.floor(clock.now().getTime() / 1000)),
  };

  /** A small JSON admin API on the same port, for an operator running in another process. */
  async function handleAdmin(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', baseUrl);
    const text = await readBody(req);
    const body = asObject(text.length > 0 ? JSON.parse(text) : {});
    const route = `${req.method} ${url.pathname}`;
    switch (route) {
      case 'GET /_emulator/requests': {
        const since = Number(url.searchParams.get('since') ?? 0);
        send(res, 200, {}, { value: requests.filter((r) => r.seq > since) });
        return;
      }
      case 'GET /_emulator/resources':
        send(res, 200, {}, { value: state.list(url.searchParams.get('type') ?? undefined) });
        return;
      case 'GET /_emulator/deleted-vaults':
        send(res, 200, {}, { value: state.deletedVaults() });
        return;
      case 'POST /_emulator/faults': {
        const match = asObject(body.match);
        const pattern = asString(match.path);
        const rule: FaultRule = {
          match: {
            ...(match.method === undefined ? {} : { method: match.method as string | string[] }),
            ...(asString(match.resourceType) === undefined ? {} : { resourceType: asString(match.resourceType)! }),
            ...(pattern === undefined ? {} : { path: new RegExp(pattern, 'i') }),
          },
          action: body.action as FaultRule['action'],
          ...(asNumber(body.times) === undefined ? {} : { times: asNumber(body.times)! }),
          ...(asNumber(body.probability) === undefined ? {} : { probability: asNumber(body.probability)! }),
          ...(asString(body.name) === undefined ? {} : { name: asString(body.name)! }),
        };
        faults.add(rule);
        send(res, 201, {}, { ok: true });
        return;
      }
      case 'DELETE /_emulator/faults':
        faults.clear();
        send(res, 200, {}, { ok: true });
        return;
      case 'POST /_emulator/clock': {
        const advance = asNumber(body.advanceMs);
        const set = asString(body.set);
        if (advance !== undefined) clock.advance(advance);
        if (set !== undefined) clock.set(new Date(set));
        send(res, 200, {}, { now: clock.now().toISOString() });
        return;
      }
      case 'POST /_emulator/platform-network': {
        // {"subnets": [{"id", "location", "addressPrefix"}], "privateDnsZones": ["id", ...]}
        try {
          seedPlatformNetwork(engine.store, {
            subnets: Array.isArray(body.subnets) ? (body.subnets as PlatformNetwork['subnets']) : [],
            privateDnsZones: Array.isArray(body.privateDnsZones) ? (body.privateDnsZones as string[]) : [],
          });
          send(res, 201, {}, { ok: true });
        } catch (err) {
          send(res, 400, {}, { error: { code: 'BadRequest', message: (err as Error).message } });
        }
        return;
      }
      case 'POST /_emulator/token': {
        // {"scope": "https://database.windows.net/.default"}: Entra's token endpoint for the operator's identity
        const scope = asString(body.scope) ?? SQL_AUDIENCE;
        const token = issuer.issue(
          EMULATOR_OPERATOR_PRINCIPAL,
          audienceOfScope(scope),
          groupsOf(EMULATOR_OPERATOR_PRINCIPAL.objectId),
        );
        send(res, 200, {}, { access_token: token, token_type: 'Bearer', expires_on: Math.floor(Date.now() / 1000) + 3600 });
        return;
      }
      case 'GET /_emulator/sql-statements': {
        const since = Number(url.searchParams.get('since') ?? 0);
        send(res, 200, {}, { value: sqlPlane.statements.filter((r) => r.seq > since) });
        return;
      }
      case 'GET /_emulator/sql-catalogue': {
        const catalogue = sqlPlane.catalogue(url.searchParams.get('server') ?? '', url.searchParams.get('database') ?? '');
        send(res, catalogue ? 200 : 404, {}, catalogue ?? { error: { code: 'NotFound', message: 'No such database.' } });
        return;
      }
      case 'POST /_emulator/sql': {
        // {"server": "name", "database": "name", "sql": "..."}: run as the server's Entra admin, by hand
        try {
          const results = sqlPlane.runAsAdmin(
            asString(body.server) ?? '',
            asString(body.database) ?? '',
            asString(body.sql) ?? '',
          );
          send(res, 200, {}, { value: results as unknown as JsonObject[] });
        } catch (err) {
          send(res, 404, {}, { error: { code: 'NotFound', message: (err as Error).message } });
        }
        return;
      }
      case 'POST /_emulator/reset':
        reset();
        send(res, 200, {}, { ok: true });
        return;
      case 'POST /_emulator/backups': {
        // {"stop": true|false, "database"?: "name"} and/or {"intervalMinutes": N}
        const database = asString(body.database);
        if (body.stop === true) sql.stopBackups(database);
        if (body.stop === false) sql.resumeBackups(database);
        const interval = asNumber(body.intervalMinutes);
        if (interval !== undefined && interval > 0) config.backupIntervalMs = interval * 60_000;
        send(
          res,
          200,
          {},
          { backupIntervalMinutes: sqlSettings(config).backupIntervalMs / 60_000, pauses: engine.store.backupPauses },
        );
        return;
      }
      case 'POST /_emulator/restores': {
        // {"durationMs": N}: emulated time a point-in-time restore runs (0: real-time lroDelayMs only)
        const duration = asNumber(body.durationMs);
        if (duration !== undefined && duration >= 0) config.restoreDurationMs = duration;
        send(res, 200, {}, { durationMs: config.restoreDurationMs });
        return;
      }
      case 'POST /_emulator/database-activity': {
        // {"database": "name"}: a connection; a paused serverless database resumes
        const database = asString(body.database);
        if (database !== undefined) sql.connect(database);
        send(res, 200, {}, { ok: database !== undefined });
        return;
      }
      case 'POST /_emulator/key-rotation-policy': {
        // {"keyId": "...", "policy"?: {...}}: set (or, without "policy", remove) a key's rotation policy
        const keyId = asString(body.keyId) ?? '';
        try {
          keyVault.setRotationPolicy(keyId, body.policy === undefined ? undefined : asObject(body.policy));
          send(res, 200, {}, { ok: true });
        } catch (err) {
          send(res, 400, {}, { error: { code: 'BadRequest', message: (err as Error).message } });
        }
        return;
      }
      case 'POST /_emulator/key-rotate': {
        // {"keyId": "..."}: a new current version of the key now (`az keyvault key rotate`)
        try {
          keyVault.rotate(asString(body.keyId) ?? '');
          send(res, 200, {}, { ok: true });
        } catch (err) {
          send(res, 400, {}, { error: { code: 'BadRequest', message: (err as Error).message } });
        }
        return;
      }
      case 'POST /_emulator/geo-replication-lag': {
        // {"database": "name", "seconds": N}: the geo-secondaries of that database trail it by N s
        const database = asString(body.database);
        const seconds = asNumber(body.seconds);
        const links = database !== undefined && seconds !== undefined ? sql.setGeoReplicationLag(database, seconds) : 0;
        send(res, 200, {}, { ok: links > 0, links });
        return;
      }
      case 'POST /_emulator/database-size': {
        // {"database": "name", "bytes": N}
        const database = asString(body.database);
        const bytes = asNumber(body.bytes);
        if (database !== undefined && bytes !== undefined) sql.setDatabaseSize(database, bytes);
        send(res, 200, {}, { ok: database !== undefined && bytes !== undefined });
        return;
      }
      default:
        send(res, 404, {}, { error: { code: 'NotFound', message: `No admin route '${route}'.` } });
    }
  }

  function reset(): void {
    Object.assign(config, initialConfig);
    engine = createEngine(freshStore(), clock, settings, config);
    sqlPlane.reset();
    requests.length = 0;
    faults.clear();
    clock.set(startTime);
  }

  return {
    endpoint: baseUrl,
    ca: tls.cert,
    credential: testCredential(options.requiredToken ?? TEST_TOKEN, issuer, () => groupsOf(EMULATOR_OPERATOR_PRINCIPAL.objectId)),
    subscriptionId: EMULATOR_SUBSCRIPTION_ID,
    directoryTenantId: settings.directoryTenantId,
    auditWorkspaceId: platformAuditWorkspaceId(subscriptionId),
    requests,
    writes: (since = 0) => requests.filter((r) => r.seq > since && r.write),
    mark: () => requests.length,
    faults,
    clock,
    state,
    config,
    sql,
    sqlEndpoint: tds.address,
    sqlDataPlane: {
      statements: sqlPlane.statements,
      catalogue: (server, database) => sqlPlane.catalogue(server, database),
      runAsAdmin: (server, database, sql) => sqlPlane.runAsAdmin(server, database, sql),
    },
    entra: {
      issueToken: (principal, audience = SQL_AUDIENCE, lifetimeMs) =>
        issuer.issue(principal, audience, groupsOf(principal.objectId), lifetimeMs),
    },
    keyVault,
    reset,
    seedPlatformNetwork: (network) => seedPlatformNetwork(engine.store, network),
    stop: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      for (const socket of sockets) socket.destroy();
      await Promise.all([closed, tds.stop()]);
    },
  };
}
