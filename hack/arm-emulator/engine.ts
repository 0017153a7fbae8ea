/**
 * ARM request semantics, independent of HTTP: routing by resource id, parent and resource-group
 * checks, idempotent PUT, PATCH, synchronous and long-running writes, cascading deletes, operation
 * status, and the Key Vault / SQL endpoints that are not plain resources.
 */
import { API_VERSIONS } from './api-versions.ts';
import { type ArmTarget, idKey, parseArmPath } from './arm-path.ts';
import type { ControllableClock } from './clock.ts';
import { beginFailover, replicationLinksBody } from './geo-replication.ts';
import { armMergePatch, asObject, asString, clone, compact as compactJson, isObject, type JsonObject } from './json.ts';
import { followKeyRotations, rotateDueKeys } from './key-rotation.ts';
import { type OperationTiming, operationDurationMs, operationKind } from './operation-profiles.ts';
import { advanceSchedules, PIM_TYPES } from './pim.ts';
import { renderPrivateEndpointConnections } from './private-link.ts';
import { AZURE_DEFAULT_QUOTAS, quotaRefusal } from './quotas.ts';
import {
  type ArmError,
  armError,
  databaseRestoreWindow,
  type EmulatorSettings,
  longTermBackupsOf,
  type ResourceTarget,
  type ResourceTypeSpec,
  resourceTypeSpecs,
  type TypeContext,
} from './resource-types.ts';
import { checkAgainstSpec, shapeForGet } from './spec-schemas.ts';
import {
  DEFAULT_BACKUP_INTERVAL_MS,
  DEFAULT_DATABASE_USED_BYTES,
  restorePointsBody,
  type SqlBackupSettings,
  usagesBody,
} from './sql-backups.ts';
import {
  type ArmErrorBody,
  addOperation,
  busyAncestor,
  childrenOfType,
  getResource,
  newOperationId,
  type Operation,
  putResource,
  removeResource,
  resourcesOfType,
  type Store,
  type StoredResource,
  settleDueOperations,
  subtree,
} from './store.ts';

export interface EngineConfig extends Partial<SqlBackupSettings> {
  /**
   * Real-time duration of every long-running operation, overriding the profile (what tests that
   * predate the profiles set); undefined: the profile decides. A fault's `lroDelay` overrides both.
   */
  lroDelayMs: number | undefined;
  /** The operation-duration profile and its time factor (see operation-profiles.ts). */
  timing: OperationTiming;
  /**
   * Longest time an operation-status poll is held open while the operation runs. Why: the SDK
   * pollers (@azure/core-lro) poll once right away, then ignore `Retry-After: 0` (falsy) and wait
   * their 2 s default; holding the first poll until the operation ends keeps tests fast and the
   * number of polls at one per operation.
   */
  pollHoldMs: number;
}

export interface Engine {
  store: Store;
  clock: ControllableClock;
  settings: EmulatorSettings;
  config: EngineConfig;
  specs: Map<string, ResourceTypeSpec>;
}

export function createEngine(store: Store, clock: ControllableClock, settings: EmulatorSettings, config: EngineConfig): Engine {
  const specs = resourceTypeSpecs();
  for (const spec of PIM_TYPES) specs.set(spec.type.toLowerCase(), spec);
  return { store, clock, settings, config, specs };
}

export interface EngineRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  /** Parsed JSON body (undefined when empty). */
  body: unknown;
  /** `https://host:port`, for operation URLs. */
  baseUrl: string;
  /** From fault injection: end this request's operation `Failed` with this error. */
  lroFailure?: ArmErrorBody | undefined;
  /** From fault injection: this request's operation runs this long. */
  lroDelayMs?: number | undefined;
}

export interface EngineResponse {
  status: number;
  headers: Record<string, string>;
  body?: unknown;
}

/** What the HTTP layer needs to know about a request before handling it (for faults and the log). */
export interface RequestInfo {
  resourceType: string | undefined;
  kind: 'resource' | 'collection' | 'operation' | 'action' | 'other';
  /** The request would start a long-running operation if it succeeds. */
  longRunningWrite: boolean;
  /** Real milliseconds a synchronous write takes before it is answered (0 for everything else). */
  syncWriteMs: number;
  /**
   * Writes with the same key may not overlap (Azure answers the second with 409): set for federated
   * credential writes, keyed by their identity.
   */
  exclusiveKey?: string;
  /** Subscription of a Microsoft.ManagedIdentity write (for the provider's write throttle). */
  managedIdentityWriteSubscription?: string;
}

function errorResponse(error: ArmError, headers: Record<string, string> = {}): EngineResponse {
  return { status: error.status, headers, body: { error: { code: error.code, message: error.message } } };
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): EngineResponse {
  return { status, headers, body };
}

/** The SQL backup settings in force (defaults for what the config leaves out). */
export function sqlSettings(config: EngineConfig): SqlBackupSettings {
  return {
    backupIntervalMs: config.backupIntervalMs ?? DEFAULT_BACKUP_INTERVAL_MS,
    restoreDurationMs: config.restoreDurationMs ?? 0,
  };
}

function ctxOf(engine: Engine): TypeContext {
  return {
    store: engine.store,
    clock: engine.clock,
    settings: engine.settings,
    sql: sqlSettings(engine.config),
    geoSeedingMs: engine.config.lroDelayMs ?? operationDurationMs(engine.config.timing, 'geoSecondary.seeding', true),
  };
}

/**
 * Settle due operations, expire soft-deleted vaults and retained backups past their dates, move PIM
 * schedules, and let Key Vault rotate due keys and Azure SQL follow them.
 */
export function tick(engine: Engine): void {
  settleDueOperations(engine.store, Date.now(), engine.clock.now);
  rotateDueKeys(ctxOf(engine));
  followKeyRotations(ctxOf(engine), engine.settings.behaviours.sqlKeyAutoRotationDelayMs);
  const now = engine.clock.now().getTime();
  for (const [name, deleted] of engine.store.deletedVaults) {
    if (deleted.scheduledPurgeDate.getTime() <= now) engine.store.deletedVaults.delete(name);
  }
  engine.store.retainedBackups = engine.store.retainedBackups.filter((b) => b.backupExpirationTime.getTime() > now);
  engine.store.droppedDatabases = engine.store.droppedDatabases.filter((d) => d.expiresAt.getTime() > now);
  // PIM: windows that opened get their role assignment, windows that closed end (Azure does it, not the caller).
  advanceSchedules(engine.store, engine.clock.now());
}

const OPERATION_TYPES = /\/locations\/(operationStatuses|operationResults)$/i;

export function describeRequest(engine: Engine, method: string, path: string): RequestInfo {
  const target = parseArmPath(path);
  const none = { longRunningWrite: false, syncWriteMs: 0 };
  if (target?.type === undefined) return { resourceType: undefined, kind: 'other', ...none };
  if (OPERATION_TYPES.test(target.type)) return { resourceType: undefined, kind: 'operation', ...none };
  const spec = engine.specs.get(target.type.toLowerCase());
  if (target.collection) {
    return { resourceType: spec ? spec.type : target.type, kind: method === 'POST' ? 'action' : 'collection', ...none };
  }
  const m = method.toUpperCase();
  const mode = m === 'PUT' || m === 'PATCH' || m === 'DELETE' ? spec?.writes[m] : undefined;
  const type = spec?.type ?? target.type;
  const created = target.id === undefined || getResource(engine.store, target.id) === undefined;
  const syncWriteMs = mode === 'sync' ? operationDurationMs(engine.config.timing, operationKind(type, m, { created }), false) : 0;
  const lowerType = type.toLowerCase();
  const isWrite = mode !== undefined;
  return {
    resourceType: type,
    kind: 'resource',
    longRunningWrite: mode === 'async',
    syncWriteMs,
    ...(isWrite && lowerType === 'microsoft.managedidentity/userassignedidentities/federatedidentitycredentials'
      ? { exclusiveKey: idKey(target.parentId) }
      : {}),
    ...(isWrite && lowerType.startsWith('microsoft.managedidentity/')
      ? { managedIdentityWriteSubscription: target.subscriptionId.toLowerCase() }
      : {}),
  };
}

/** How long to hold an operation-status poll before answering (0 when it should answer now). */
export function pollHoldMs(engine: Engine, path: string): number {
  const target = parseArmPath(path);
  if (target?.type === undefined || target.name === undefined || !OPERATION_TYPES.test(target.type)) return 0;
  const op = engine.store.operations.get(target.name);
  if (op === undefined || op.status !== 'InProgress') return 0;
  // Waiting for the emulated clock: nothing a held poll could see change.
  if (op.completesAtClock !== undefined && op.completesAtClock > engine.clock.now().getTime()) return 0;
  const remaining = op.completesAt - Date.now();
  // Hold a little past the end (timers may fire early): the poll then sees the final status.
  return remaining <= engine.config.pollHoldMs ? Math.max(0, remaining + 2) : engine.config.pollHoldMs;
}

export function handleRequest(engine: Engine, req: EngineRequest): EngineResponse {
  tick(engine);
  const method = req.method.toUpperCase();
  const target = parseArmPath(req.path);
  if (target !== undefined && !engine.settings.subscriptions.has(target.subscriptionId.toLowerCase())) {
    return errorResponse(
      armError(404, 'SubscriptionNotFound', `The subscription '${target.subscriptionId}' could not be found.`),
    );
  }
  if (target !== undefined && target.type === undefined && target.resourceGroup === undefined && method === 'GET') {
    // GET /subscriptions/{id} (Microsoft.Resources, any api-version the SDK sends).
    return json(200, {
      id: `/subscriptions/${target.subscriptionId}`,
      subscriptionId: target.subscriptionId,
      displayName: `emulated ${target.subscriptionId.slice(0, 8)}`,
      state: 'Enabled',
      tenantId: engine.settings.directoryTenantId,
    });
  }
  if (target === undefined || target.type === undefined) {
    return errorResponse(armError(404, 'NotFound', `No route for '${req.path}'.`));
  }
  const type = target.type.toLowerCase();
  if (OPERATION_TYPES.test(type)) return handleOperation(engine, target, method, req);
  const special = handleSpecialRoute(engine, target, type, method, req);
  if (special !== undefined) return special;

  const collectionAction = target.collection && method === 'POST';
  const specType = collectionAction ? type.split('/').slice(0, -1).join('/') : type;
  const spec = engine.specs.get(specType);
  const apiVersion = req.query.get('api-version');
  if (spec === undefined) {
    return errorResponse(
      armError(
        404,
        'InvalidResourceType',
        `The resource type '${target.type}' could not be found for api version '${apiVersion}'.`,
      ),
    );
  }
  if (apiVersion === null) {
    return errorResponse(
      armError(
        400,
        'MissingApiVersionParameter',
        'The api-version query parameter (?api-version=) is required for all requests.',
      ),
    );
  }
  if (!spec.apiVersions.includes(apiVersion)) {
    return errorResponse(
      armError(
        400,
        'NoRegisteredProviderFound',
        `No registered resource provider found for API version '${apiVersion}' and type '${spec.type}'. The supported api-versions are '${spec.apiVersions.join(', ')}'.`,
      ),
    );
  }
  if (collectionAction) return errorResponse(armError(404, 'NotFound', `No action at '${req.path}'.`));
  if (target.collection) {
    if (method !== 'GET') return errorResponse(armError(405, 'MethodNotAllowed', `${method} is not allowed on a collection.`));
    const missing = missingContainer(engine, target);
    if (missing !== undefined) return errorResponse(missing);
    // A top-level type listed for a whole subscription (`/subscriptions/{s}/providers/Microsoft.Sql/servers`):
    // every one in any of its resource groups. Resource groups themselves are the subscription's
    // children (`/subscriptions/{s}/resourcegroups`), and role assignments are listed by scope.
    const listedType = spec.type.toLowerCase();
    const subscriptionWide =
      /^\/subscriptions\/[^/]+$/i.test(target.parentId) &&
      !listedType.startsWith('microsoft.authorization/') &&
      listedType !== 'microsoft.resources/resourcegroups';
    const prefix = `${idKey(target.parentId)}/resourcegroups/`;
    const found = subscriptionWide
      ? resourcesOfType(engine.store, spec.type).filter(
          (r) =>
            idKey(r.id).startsWith(prefix) && /^[^/]+\/providers\/[^/]+\/[^/]+\/[^/]+$/.test(idKey(r.id).slice(prefix.length)),
        )
      : childrenOfType(engine.store, target.parentId, spec.type);
    const items = found.map((r) => render(engine, r));
    return json(200, { value: items });
  }
  const resourceTarget = target as ResourceTarget;
  switch (method) {
    case 'GET':
    case 'HEAD':
      return handleGet(engine, spec, resourceTarget, method);
    case 'PUT':
    case 'PATCH':
      return handleWrite(engine, spec, resourceTarget, method, req);
    case 'DELETE':
      return handleDelete(engine, spec, resourceTarget, req);
    default:
      return errorResponse(armError(405, 'MethodNotAllowed', `The requested resource does not support http method '${method}'.`));
  }
}

// --- reads ------------------------------------------------------------------------------------

/** The first missing container of a target: its resource group, its nested parent, or its scope. */
function missingContainer(engine: Engine, target: ArmTarget): ArmError | undefined {
  const isGroup = target.type?.toLowerCase() === 'microsoft.resources/resourcegroups';
  if (target.resourceGroup !== undefined && !(isGroup && !target.collection)) {
    const rgId = `/subscriptions/${target.subscriptionId}/resourceGroups/${target.resourceGroup}`;
    const rg = getResource(engine.store, rgId);
    if (rg === undefined) {
      return armError(404, 'ResourceGroupNotFound', `Resource group '${target.resourceGroup}' could not be found.`);
    }
  }
  const parentKey = idKey(target.parentId);
  const isSubscription = /^\/subscriptions\/[^/]+$/.test(parentKey);
  const isResourceGroup = /^\/subscriptions\/[^/]+\/resourcegroups\/[^/]+$/.test(parentKey);
  // Every logical server has a `master` database (server-level auditing sends its records from it);
  // the emulator does not list it among the server's databases.
  const masterOf = /^(.*\/providers\/microsoft\.sql\/servers\/[^/]+)\/databases\/master$/.exec(parentKey)?.[1];
  const parentExists =
    getResource(engine.store, target.parentId) !== undefined ||
    (masterOf !== undefined && getResource(engine.store, masterOf) !== undefined);
  if (!isSubscription && !isResourceGroup && !parentExists) {
    const parentName = target.parentId.split('/').pop();
    return target.nestedInParent
      ? armError(
          404,
          'ParentResourceNotFound',
          `Can not perform requested operation on nested resource. Parent resource '${parentName}' not found.`,
        )
      : armError(404, 'ResourceNotFound', `The scope '${target.parentId}' does not exist.`);
  }
  return undefined;
}

function notFound(target: ResourceTarget, spec: ResourceTypeSpec): ArmError {
  if (spec.type === 'Microsoft.Resources/resourceGroups') {
    return armError(404, 'ResourceGroupNotFound', `Resource group '${target.name}' could not be found.`);
  }
  if (spec.type === 'Microsoft.Authorization/roleAssignments') {
    return armError(404, 'RoleAssignmentNotFound', `The role assignment '${target.name}' is not found.`);
  }
  const where = target.resourceGroup === undefined ? '' : ` under resource group '${target.resourceGroup}'`;
  return armError(
    404,
    'ResourceNotFound',
    `The Resource '${spec.type}/${target.name}'${where} was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix`,
  );
}

/** The body a GET returns: stored body, internal fields stripped, provisioning state and dynamic fields added. */
export function render(engine: Engine, resource: StoredResource): JsonObject {
  const body = stripInternal(clone(resource.body));
  const spec = engine.specs.get(resource.type.toLowerCase());
  const renderState = spec?.renderState;
  if (renderState === undefined) {
    if (isObject(body.properties)) body.properties.provisioningState = resource.state;
    else body.properties = { provisioningState: resource.state };
  } else if (renderState !== 'none') {
    if (!isObject(body.properties)) body.properties = {};
    renderState(body, resource.state);
  }
  shapeForGet(resource.type, body);
  spec?.render?.(ctxOf(engine), resource, body);
  renderPrivateEndpointConnections(engine.store, resource, body);
  if (engine.settings.behaviours.exposeCreateOnlyFields && isObject(resource.body._createValues)) {
    const properties = isObject(body.properties) ? body.properties : {};
    for (const [field, value] of Object.entries(resource.body._createValues)) properties[field] ??= value;
    body.properties = properties;
  }
  return body;
}

function stripInternal(body: JsonObject): JsonObject {
  for (const key of Object.keys(body)) if (key.startsWith('_')) delete body[key];
  return body;
}

function handleGet(engine: Engine, spec: ResourceTypeSpec, target: ResourceTarget, method: string): EngineResponse {
  const missing = missingContainer(engine, target);
  const resource = getResource(engine.store, target.id);
  if (method === 'HEAD') return { status: resource === undefined ? 404 : 204, headers: {} };
  if (missing !== undefined) return errorResponse(missing);
  if (resource === undefined) return errorResponse(notFound(target, spec));
  return json(200, render(engine, resource));
}

// --- writes -----------------------------------------------------------------------------------

const TAG_NAME_FORBIDDEN = /[<>%&\\?/]/;

function normalizeLocation(value: string): string {
  return value.replaceAll(' ', '').toLowerCase();
}

function validateTracked(
  engine: Engine,
  spec: ResourceTypeSpec,
  body: JsonObject,
  existing: StoredResource | undefined,
): ArmError | undefined {
  const location = asString(body.location);
  if (location === undefined || location.length === 0) {
    return armError(400, 'LocationRequired', 'The location property is required for this definition.');
  }
  const normalized = normalizeLocation(location);
  if (!engine.settings.locations.has(normalized)) {
    return spec.type === 'Microsoft.Resources/resourceGroups'
      ? armError(
          400,
          'LocationNotAvailableForResourceGroup',
          `The provided location '${location}' is not available for resource group.`,
        )
      : armError(
          400,
          'LocationNotAvailableForResourceType',
          `The provided location '${location}' is not available for resource type '${spec.type}'.`,
        );
  }
  body.location = normalized;
  if (existing !== undefined && existing.body.location !== normalized) {
    return armError(
      409,
      spec.locationConflictCode ?? 'InvalidResourceLocation',
      `The resource '${existing.name}' already exists in location '${String(existing.body.location)}'. A resource with the same name cannot be created in location '${normalized}'.`,
    );
  }
  if (body.tags === undefined || body.tags === null) {
    body.tags = {};
    return undefined;
  }
  if (!isObject(body.tags)) return armError(400, 'InvalidRequestContent', 'tags must be an object.');
  const entries = Object.entries(body.tags);
  if (entries.length > 50) return armError(400, 'InvalidTagCount', 'A resource can have at most 50 tags.');
  for (const [name, value] of entries) {
    if (TAG_NAME_FORBIDDEN.test(name) || name.length > 512 || name.length === 0) {
      return armError(
        400,
        'InvalidTagNameCharacters',
        `The tag names '${name}' have reserved characters '<,>,%,&,\\,?,/' or control characters.`,
      );
    }
    if (typeof value !== 'string' || value.length > 256) {
      return armError(400, 'InvalidTagValue', `The value of tag '${name}' must be a string of at most 256 characters.`);
    }
  }
  return undefined;
}

function operationUrls(req: EngineRequest, op: Operation, apiVersion: string): { status: string; result: string } {
  const base = `${req.baseUrl}/subscriptions/${op.resourceId.split('/')[2]}/providers/${op.namespace}/locations/${op.location}`;
  return {
    status: `${base}/operationStatuses/${op.id}?api-version=${apiVersion}`,
    result: `${base}/operationResults/${op.id}?api-version=${apiVersion}`,
  };
}

/** The location of a resource or, for proxy resources without one, of its nearest ancestor. */
function locationOf(engine: Engine, id: string): string {
  const segments = id.split('/');
  for (let n = segments.length; n > 2; n -= 2) {
    const location = asString(getResource(engine.store, segments.slice(0, n).join('/'))?.body.location);
    if (location !== undefined) return location;
  }
  return 'global';
}

function startOperation(
  engine: Engine,
  req: EngineRequest,
  resource: StoredResource,
  method: Operation['method'],
  settle: (succeeded: boolean) => void,
  facts: { created: boolean; pointInTimeRestore?: boolean; failover?: 'Planned' | 'Forced' },
  clockMs?: number,
): Operation {
  const profileMs = operationDurationMs(engine.config.timing, operationKind(resource.type, method, facts), true);
  const op: Operation = {
    id: newOperationId(),
    resourceId: resource.id,
    resourceType: resource.type,
    method,
    namespace: resource.type.split('/')[0] ?? 'Microsoft.Resources',
    location: locationOf(engine, resource.id),
    status: 'InProgress',
    startTime: engine.clock.now(),
    endTime: undefined,
    completesAt: Date.now() + (req.lroDelayMs ?? engine.config.lroDelayMs ?? profileMs),
    completesAtClock: clockMs === undefined ? undefined : engine.clock.now().getTime() + clockMs,
    failWith: req.lroFailure,
    error: undefined,
    settle: (succeeded) => {
      // The resource may have been removed meanwhile (a parent deleted): nothing to settle then.
      if (getResource(engine.store, resource.id) !== resource) return;
      resource.operationId = undefined;
      settle(succeeded);
    },
  };
  addOperation(engine.store, op);
  resource.operationId = op.id;
  return op;
}

function busy(engine: Engine, target: ResourceTarget, existing: StoredResource | undefined): ArmError | undefined {
  if (existing?.operationId !== undefined) {
    return armError(
      409,
      'AnotherOperationInProgress',
      `Another operation is in progress on '${existing.name}' (${existing.state}).`,
    );
  }
  const ancestor = busyAncestor(engine.store, target.id);
  if (ancestor !== undefined) {
    return armError(
      409,
      'AnotherOperationInProgress',
      `Another operation is in progress on '${ancestor.name}' (${ancestor.state}); retry when it completes.`,
    );
  }
  return undefined;
}

function handleWrite(
  engine: Engine,
  spec: ResourceTypeSpec,
  target: ResourceTarget,
  method: 'PUT' | 'PATCH',
  req: EngineRequest,
): EngineResponse {
  const mode = spec.writes[method];
  if (mode === undefined) {
    return errorResponse(armError(405, 'MethodNotAllowed', `The resource type '${spec.type}' does not support ${method}.`));
  }
  if (!isObject(req.body))
    return errorResponse(armError(400, 'InvalidRequestContent', 'The request content must be a JSON object.'));
  const missing = missingContainer(engine, target);
  if (missing !== undefined) return errorResponse(missing);
  const existing = getResource(engine.store, target.id);
  if (method === 'PATCH' && existing === undefined) return errorResponse(notFound(target, spec));
  const conflict = busy(engine, target, existing);
  if (conflict !== undefined) return errorResponse(conflict);

  const request = clone(req.body);
  const createValues = existing === undefined ? undefined : asObject(existing.body._createValues);
  const checked = checkAgainstSpec(spec.type, method, target.id, request, createValues);
  engine.store.specViolations.push(...checked.violations);
  if (checked.error !== undefined) return errorResponse(checked.error);
  const body = method === 'PATCH' && existing !== undefined ? armMergePatch(existing.body, request) : request;
  if (spec.tracked) {
    const invalid = validateTracked(engine, spec, body, existing);
    if (invalid !== undefined) return errorResponse(invalid);
  }
  const ctx = ctxOf(engine);
  const outcome = spec.write(ctx, { target, method, body, existing });
  if (!outcome.ok) return errorResponse(outcome.error);
  const overQuota = quotaRefusal(
    engine.store,
    engine.settings.quotas ?? AZURE_DEFAULT_QUOTAS,
    target,
    outcome.body,
    existing === undefined,
    asString(outcome.body.location) ?? asString(outcome.body._location),
  );
  if (overQuota !== undefined) return errorResponse(overQuota);
  if (outcome.unchanged && existing !== undefined) return json(outcome.status ?? 200, render(engine, existing));

  const created = existing === undefined;
  const stored: JsonObject = { id: target.id, name: target.name, type: spec.type, ...outcome.body };
  for (const [k, v] of Object.entries(stored)) if (v === undefined) delete stored[k];
  // Internal: the create-only values the resource was created with (never returned, except by the
  // exposeCreateOnlyFields behaviour); later writes may resend them unchanged.
  if (Object.keys(checked.createValues).length > 0) stored._createValues = checked.createValues;
  const commit = (resource: StoredResource): void => {
    outcome.onCommit?.();
    spec.afterCommit?.(ctx, resource, created);
  };

  if (mode === 'sync') {
    const resource: StoredResource = existing ?? {
      id: target.id,
      type: spec.type,
      name: target.name,
      body: {},
      state: 'Succeeded',
      operationId: undefined,
    };
    resource.body = stored;
    resource.state = 'Succeeded';
    putResource(engine.store, resource);
    commit(resource);
    return json(outcome.status ?? (created ? 201 : 200), render(engine, resource));
  }

  const previous = existing === undefined ? undefined : { body: existing.body, state: existing.state };
  const resource: StoredResource = existing ?? {
    id: target.id,
    type: spec.type,
    name: target.name,
    body: {},
    state: 'Creating',
    operationId: undefined,
  };
  resource.body = stored;
  resource.state = created ? 'Creating' : 'Updating';
  putResource(engine.store, resource);
  const op = startOperation(
    engine,
    req,
    resource,
    method,
    (succeeded) => {
      if (succeeded) {
        resource.state = 'Succeeded';
        commit(resource);
      } else if (previous === undefined) {
        removeSubtree(engine, resource.id, false);
      } else {
        resource.body = previous.body;
        resource.state = 'Failed';
        putResource(engine.store, resource);
      }
    },
    { created, pointInTimeRestore: outcome.pointInTimeRestore === true },
    outcome.operationClockMs,
  );
  const urls = operationUrls(req, op, req.query.get('api-version') ?? '');
  const headers = { 'Azure-AsyncOperation': urls.status, 'Retry-After': '0' };
  if (method === 'PATCH') return { status: 202, headers: { ...headers, Location: urls.result } };
  return json(created ? 201 : 200, render(engine, resource), headers);
}

// --- deletes ----------------------------------------------------------------------------------

/**
 * Remove a resource and everything under it. Each removed resource's type gets its `onRemove` hook
 * first (parents before children), so a vault is soft-deleted with its keys and a database leaves
 * its retained backup. With `hooks: false` (a failed create being rolled back) nothing is kept.
 */
export function removeSubtree(engine: Engine, id: string, hooks = true): void {
  const victims = subtree(engine.store, id);
  const ctx = ctxOf(engine);
  if (hooks) for (const victim of victims) engine.specs.get(victim.type.toLowerCase())?.onRemove?.(ctx, victim);
  for (const victim of victims) {
    removeResource(engine.store, victim.id);
    if (victim.operationId !== undefined) {
      const op = engine.store.operations.get(victim.operationId);
      if (op !== undefined && op.status === 'InProgress' && victim.id !== id) {
        op.status = 'Failed';
        op.error = { code: 'ParentResourceDeleted', message: `'${id}' was deleted.` };
        op.endTime = engine.clock.now();
      }
    }
  }
}

/** End a resource's running operation as `Failed` (canceled); the resource stays, settled, for the delete that follows. */
function cancelOperation(engine: Engine, resource: StoredResource): void {
  const op = resource.operationId === undefined ? undefined : engine.store.operations.get(resource.operationId);
  resource.operationId = undefined;
  resource.state = 'Succeeded';
  if (op === undefined || op.status !== 'InProgress') return;
  op.status = 'Failed';
  op.error = { code: 'OperationCancelled', message: `The operation on '${resource.name}' was canceled by a delete.` };
  op.endTime = engine.clock.now();
}

function handleDelete(engine: Engine, spec: ResourceTypeSpec, target: ResourceTarget, req: EngineRequest): EngineResponse {
  const mode = spec.writes.DELETE;
  if (mode === undefined) {
    return errorResponse(armError(405, 'MethodNotAllowed', `The resource type '${spec.type}' does not support DELETE.`));
  }
  const missing = missingContainer(engine, target);
  if (missing !== undefined && missing.code === 'ResourceGroupNotFound') return errorResponse(missing);
  const existing = getResource(engine.store, target.id);
  if (existing === undefined) return { status: 204, headers: {} };
  if (existing.operationId !== undefined && spec.cancelOnDelete?.(existing) === true) {
    cancelOperation(engine, existing);
  }
  const conflict = busy(engine, target, existing);
  if (conflict !== undefined) return errorResponse(conflict);
  const refused = spec.validateDelete?.(ctxOf(engine), existing);
  if (refused !== undefined) return errorResponse(refused);

  if (mode === 'sync') {
    const body = render(engine, existing);
    removeSubtree(engine, existing.id);
    return spec.type === 'Microsoft.Authorization/roleAssignments' ? json(200, body) : { status: 200, headers: {} };
  }
  const before = existing.state;
  existing.state = 'Deleting';
  const op = startOperation(
    engine,
    req,
    existing,
    'DELETE',
    (succeeded) => {
      if (succeeded) removeSubtree(engine, existing.id);
      else existing.state = before;
    },
    { created: false },
  );
  const urls = operationUrls(req, op, req.query.get('api-version') ?? '');
  return {
    status: 202,
    headers: { 'Azure-AsyncOperation': urls.status, Location: urls.result, 'Retry-After': '0' },
  };
}

// --- operation status -------------------------------------------------------------------------

function handleOperation(engine: Engine, target: ArmTarget, method: string, req: EngineRequest): EngineResponse {
  const op = target.name === undefined ? undefined : engine.store.operations.get(target.name);
  if (method !== 'GET' || op === undefined) {
    return errorResponse(armError(404, 'OperationNotFound', `The operation '${target.name ?? ''}' was not found.`));
  }
  const isStatus = /operationStatuses$/i.test(target.type ?? '');
  if (isStatus) {
    const body = {
      id: req.path,
      name: op.id,
      status: op.status,
      startTime: op.startTime.toISOString(),
      ...(op.endTime === undefined ? {} : { endTime: op.endTime.toISOString() }),
      ...(op.error === undefined ? {} : { error: op.error }),
    };
    return json(200, body, op.status === 'InProgress' ? { 'Retry-After': '0' } : {});
  }
  // Location-style polling: 202 while running; the final answer when done.
  if (op.status === 'InProgress') {
    return { status: 202, headers: { Location: `${req.baseUrl}${req.path}?${req.query.toString()}`, 'Retry-After': '0' } };
  }
  if (op.status === 'Failed')
    return errorResponse(armError(400, op.error?.code ?? 'OperationFailed', op.error?.message ?? 'Failed.'));
  if (op.method === 'DELETE') return { status: 204, headers: {} };
  const resource = getResource(engine.store, op.resourceId);
  return resource === undefined ? { status: 204, headers: {} } : json(200, render(engine, resource));
}

// --- endpoints that are not plain resources ---------------------------------------------------

function deletedVaultBody(engine: Engine, name: string): JsonObject | undefined {
  const deleted = engine.store.deletedVaults.get(name.toLowerCase());
  if (deleted === undefined) return undefined;
  return {
    id: `/subscriptions/${deleted.subscriptionId}/providers/Microsoft.KeyVault/locations/${deleted.location}/deletedVaults/${deleted.name}`,
    name: deleted.name,
    type: 'Microsoft.KeyVault/deletedVaults',
    properties: {
      vaultId: deleted.vault.id,
      location: deleted.location,
      deletionDate: deleted.deletionDate.toISOString(),
      scheduledPurgeDate: deleted.scheduledPurgeDate.toISOString(),
      tags: asObject(deleted.vault.body.tags),
      purgeProtectionEnabled: deleted.purgeProtectionEnabled,
    },
  };
}

/** api-versions of the endpoints that are not plain resources. */
const SPECIAL_ROUTE_VERSIONS: Readonly<Record<string, string>> = {
  'microsoft.keyvault/locations/deletedvaults': API_VERSIONS.keyVault,
  'microsoft.keyvault/locations/deletedvaults/purge': API_VERSIONS.keyVault,
  'microsoft.keyvault/deletedvaults': API_VERSIONS.keyVault,
  'microsoft.keyvault/checknameavailability': API_VERSIONS.keyVault,
  'microsoft.sql/locations/longtermretentionservers/longtermretentiondatabases/longtermretentionbackups':
    API_VERSIONS.sqlLongTermRetentionBackups,
  'microsoft.sql/servers/databases/restorepoints': API_VERSIONS.sqlRestorePoints,
  'microsoft.sql/servers/databases/usages': API_VERSIONS.sqlDatabaseUsages,
  'microsoft.sql/servers/databases/replicationlinks': API_VERSIONS.sqlReplicationLinks,
  'microsoft.sql/servers/failovergroups/failover': API_VERSIONS.sqlFailoverGroups,
  'microsoft.sql/servers/failovergroups/forcefailoverallowdataloss': API_VERSIONS.sqlFailoverGroups,
};

/** The database a `.../databases/{db}/<collection>` request is about, or the 404 to answer. */
function databaseOf(engine: Engine, target: ArmTarget): StoredResource | EngineResponse {
  const missing = missingContainer(engine, target);
  if (missing !== undefined) return errorResponse(missing);
  const database = getResource(engine.store, target.parentId);
  if (database === undefined) {
    return errorResponse(
      armError(404, 'ResourceNotFound', `The database '${target.parentId.split('/').pop() ?? ''}' was not found.`),
    );
  }
  return database;
}

function handleSpecialRoute(
  engine: Engine,
  target: ArmTarget,
  type: string,
  method: string,
  req: EngineRequest,
): EngineResponse | undefined {
  const segments = req.path.split('/').filter((s) => s.length > 0);
  const expectedVersion = SPECIAL_ROUTE_VERSIONS[type];
  if (expectedVersion !== undefined && req.query.get('api-version') !== expectedVersion) {
    return errorResponse(
      armError(400, 'NoRegisteredProviderFound', `'${target.type}' supports api-version '${expectedVersion}' only.`),
    );
  }
  switch (type) {
    case 'microsoft.keyvault/locations/deletedvaults': {
      if (method !== 'GET' || target.name === undefined) return undefined;
      const location = segments[5] ?? '';
      const body = deletedVaultBody(engine, target.name);
      if (body === undefined || asObject(body.properties).location !== normalizeLocation(location)) {
        return errorResponse(
          armError(404, 'ResourceNotFound', `The deleted vault '${target.name}' was not found in '${location}'.`),
        );
      }
      return json(200, body);
    }
    case 'microsoft.keyvault/locations/deletedvaults/purge': {
      if (method !== 'POST') return undefined;
      const name = segments[7] ?? '';
      const deleted = engine.store.deletedVaults.get(name.toLowerCase());
      if (deleted === undefined) {
        return errorResponse(armError(404, 'ResourceNotFound', `The deleted vault '${name}' was not found.`));
      }
      if (deleted.purgeProtectionEnabled) {
        return errorResponse(
          armError(
            409,
            'PurgeProtectionEnabled',
            `The vault '${name}' has purge protection on; it is purged on ${deleted.scheduledPurgeDate.toISOString()}.`,
          ),
        );
      }
      engine.store.deletedVaults.delete(name.toLowerCase());
      return { status: 200, headers: {} };
    }
    case 'microsoft.keyvault/deletedvaults': {
      if (method !== 'GET') return undefined;
      const value = [...engine.store.deletedVaults.values()]
        .filter((d) => d.subscriptionId === target.subscriptionId)
        .map((d) => deletedVaultBody(engine, d.name));
      return json(200, { value });
    }
    case 'microsoft.keyvault/checknameavailability': {
      if (method !== 'POST') return undefined;
      const name = asString(asObject(req.body).name) ?? '';
      const valid = /^[a-zA-Z][a-zA-Z0-9-]{1,22}[a-zA-Z0-9]$/.test(name) && !name.includes('--');
      if (!valid)
        return json(200, { nameAvailable: false, reason: 'AccountNameInvalid', message: `'${name}' is not a valid vault name.` });
      const taken =
        resourcesOfType(engine.store, 'Microsoft.KeyVault/vaults').some((r) => r.name.toLowerCase() === name.toLowerCase()) ||
        engine.store.deletedVaults.has(name.toLowerCase());
      return json(
        200,
        taken
          ? { nameAvailable: false, reason: 'AlreadyExists', message: `The name '${name}' is already in use.` }
          : { nameAvailable: true },
      );
    }
    case 'microsoft.sql/locations/longtermretentionservers/longtermretentiondatabases/longtermretentionbackups': {
      if (method !== 'GET' || !target.collection) return undefined;
      const [location, server, database] = [segments[5], segments[7], segments[9]];
      const live = resourcesOfType(engine.store, 'Microsoft.Sql/servers/databases')
        .filter((d) => d.name === database && d.id.split('/')[8] === server && d.id.split('/')[2] === target.subscriptionId)
        .flatMap((d) => longTermBackupsOf(ctxOf(engine), d, engine.clock.now().getTime()));
      const value = [...engine.store.retainedBackups, ...live]
        .filter(
          (b) =>
            b.subscriptionId === target.subscriptionId &&
            b.location === normalizeLocation(location ?? '') &&
            b.serverName === server &&
            b.databaseName === database,
        )
        .map((b) => ({
          id: b.id,
          name: b.id.split('/').pop(),
          type: 'Microsoft.Sql/locations/longTermRetentionServers/longTermRetentionDatabases/longTermRetentionBackups',
          properties: compactJson({
            serverName: b.serverName,
            serverCreateTime: b.serverCreateTime?.toISOString(),
            databaseName: b.databaseName,
            databaseDeletionTime: b.databaseDeletionTime?.toISOString(),
            backupTime: b.backupTime.toISOString(),
            backupExpirationTime: b.backupExpirationTime.toISOString(),
            backupStorageRedundancy: b.backupStorageRedundancy,
            requestedBackupStorageRedundancy: b.backupStorageRedundancy,
          }),
        }));
      return json(200, { value });
    }
    case 'microsoft.sql/servers/databases/restorepoints': {
      if (method !== 'GET' || !target.collection) return undefined;
      const database = databaseOf(engine, target);
      if (!('id' in database)) return database;
      if (database.state === 'Creating') return json(200, { value: [] });
      const window = databaseRestoreWindow(ctxOf(engine), database);
      return json(200, restorePointsBody(database.id, asString(database.body.location) ?? '', window));
    }
    case 'microsoft.sql/servers/databases/usages': {
      if (method !== 'GET' || !target.collection) return undefined;
      const database = databaseOf(engine, target);
      if (!('id' in database)) return database;
      const used = typeof database.body._usedBytes === 'number' ? database.body._usedBytes : DEFAULT_DATABASE_USED_BYTES;
      return json(200, usagesBody(database.id, database.body, used));
    }
    case 'microsoft.sql/servers/databases/replicationlinks': {
      if (method !== 'GET' || !target.collection) return undefined;
      const database = databaseOf(engine, target);
      if (!('id' in database)) return database;
      return json(200, replicationLinksBody(engine.store, database));
    }
    case 'microsoft.sql/servers/failovergroups/failover':
    case 'microsoft.sql/servers/failovergroups/forcefailoverallowdataloss': {
      if (method !== 'POST') return undefined;
      const missing = missingContainer(engine, target);
      if (missing !== undefined) return errorResponse(missing);
      const group = getResource(engine.store, target.parentId);
      if (group === undefined) {
        return errorResponse(
          armError(404, 'ResourceNotFound', `The failover group '${target.parentId.split('/').pop() ?? ''}' was not found.`),
        );
      }
      const forced = type.endsWith('forcefailoverallowdataloss');
      const begun = beginFailover(engine.store, group, forced);
      if (!begun.ok) return errorResponse(begun.error);
      const op = startOperation(
        engine,
        req,
        group,
        'POST',
        (succeeded) => {
          if (succeeded) begun.apply();
        },
        { created: false, failover: forced ? 'Forced' : 'Planned' },
      );
      const urls = operationUrls(req, op, req.query.get('api-version') ?? '');
      return {
        status: 202,
        headers: { 'Azure-AsyncOperation': urls.status, Location: urls.result, 'Retry-After': '0' },
      };
    }
    default:
      return undefined;
  }
}
