/** The emulator's in-memory state: resources, long-running operations, soft-deleted vaults and retained backups. */
import { randomUUID } from 'node:crypto';
import { idKey } from './arm-path.ts';
import type { JsonObject } from './json.ts';
import type { SpecViolation } from './spec-schemas.ts';
import type { BackupPause } from './sql-backups.ts';

/** Provisioning state of a stored resource, as the emulator tracks it (rendered per type on GET). */
export type ProvisioningState = 'Succeeded' | 'Creating' | 'Updating' | 'Deleting' | 'Failed';

export interface StoredResource {
  /** Canonical id, with the casing of the request that created it. */
  id: string;
  /** Canonical type, e.g. `Microsoft.Sql/servers/databases`. */
  type: string;
  name: string;
  /** Wire body as served once settled (id, name, type, location, tags, properties, ...). */
  body: JsonObject;
  state: ProvisioningState;
  /** The long-running operation currently running on this resource, if any. */
  operationId: string | undefined;
}

export type OperationStatus = 'InProgress' | 'Succeeded' | 'Failed';

export interface ArmErrorBody {
  code: string;
  message: string;
}

export interface Operation {
  id: string;
  resourceId: string;
  resourceType: string;
  method: 'PUT' | 'PATCH' | 'DELETE' | 'POST';
  /** Provider namespace and location, used to build the status URL like ARM does. */
  namespace: string;
  location: string;
  status: OperationStatus;
  startTime: Date;
  endTime: Date | undefined;
  /** Wall-clock time (ms) at which the operation settles. */
  completesAt: number;
  /**
   * Emulated time (ms) the operation also waits for, when it runs on the emulated clock (a
   * point-in-time restore with `restoreDurationMs`): it settles once both times have passed.
   */
  completesAtClock: number | undefined;
  /** When set, the operation ends `Failed` with this error. */
  failWith: ArmErrorBody | undefined;
  error: ArmErrorBody | undefined;
  /** Applies the operation's effect; called once when the operation settles. */
  settle: (succeeded: boolean) => void;
}

/** A soft-deleted key vault (ARM `Microsoft.KeyVault/locations/deletedVaults`). */
export interface DeletedVault {
  name: string;
  location: string;
  subscriptionId: string;
  deletionDate: Date;
  scheduledPurgeDate: Date;
  purgeProtectionEnabled: boolean;
  /** The vault and its keys as they were, restored by `createMode: recover`. */
  vault: StoredResource;
  children: StoredResource[];
}

/** A long-term-retention backup kept after its database was deleted. */
export interface RetainedBackup {
  id: string;
  location: string;
  subscriptionId: string;
  serverName: string;
  databaseName: string;
  serverCreateTime: Date | undefined;
  /** Undefined while the database exists. */
  databaseDeletionTime: Date | undefined;
  backupTime: Date;
  backupExpirationTime: Date;
  backupStorageRedundancy: string;
}

/** A deleted database whose point-in-time backups still exist (ARM `restorableDroppedDatabases`). */
export interface DroppedDatabase {
  /** `<database id>,<deletion time in ms>`, as ARM names restorable dropped databases. */
  id: string;
  serverId: string;
  databaseName: string;
  creationDate: Date;
  deletionDate: Date;
  earliestRestoreDate: Date;
  /** The point-in-time backups expire with the short-term retention, counted from the deletion. */
  expiresAt: Date;
}

export interface Store {
  resources: Map<string, StoredResource>;
  /** The same resources by lower-case type, so lists and type queries need not scan everything. */
  byType: Map<string, Map<string, StoredResource>>;
  /**
   * The same resources by lower-case type and then by their parent's key (`parentKey`), so a list
   * under one parent reads only that parent's children: scanning every resource of a type made
   * each list cost O(fleet), and the emulator's CPU grow with the square of the tenants.
   */
  byParent: Map<string, Map<string, Map<string, StoredResource>>>;
  /** How often resources of each lower-case type were put or removed: derived indexes rebuild when it moves. */
  versions: Map<string, number>;
  operations: Map<string, Operation>;
  /** Operations that may still be in progress: settling looks only at these. */
  pending: Set<Operation>;
  /** Keyed by lower-case vault name: vault names are global. */
  deletedVaults: Map<string, DeletedVault>;
  retainedBackups: RetainedBackup[];
  droppedDatabases: DroppedDatabase[];
  /** Every request field the spec does not allow (see spec-schemas.ts), in arrival order. */
  specViolations: SpecViolation[];
  /** Periods in which automatic SQL backups stop (see sql-backups.ts). */
  backupPauses: BackupPause[];
}

export function createStore(): Store {
  return {
    resources: new Map(),
    byType: new Map(),
    byParent: new Map(),
    versions: new Map(),
    operations: new Map(),
    pending: new Set(),
    deletedVaults: new Map(),
    retainedBackups: [],
    droppedDatabases: [],
    specViolations: [],
    backupPauses: [],
  };
}

export function getResource(store: Store, id: string): StoredResource | undefined {
  return store.resources.get(idKey(id));
}

/**
 * The key of the resource a resource belongs to: its id without the last `/{type}/{name}`, and
 * without a `/providers/{namespace}` that then ends it (`…/resourceGroups/g/providers/Microsoft.Sql/servers/s`
 * belongs to `…/resourcegroups/g`; an extension resource `{id}/providers/Microsoft.Insights/diagnosticSettings/x`
 * to `{id}`).
 */
export function parentKey(key: string): string {
  const parts = key.split('/');
  parts.length = Math.max(0, parts.length - 2);
  if (parts.length >= 2 && parts[parts.length - 2] === 'providers') parts.length -= 2;
  return parts.join('/');
}

export function putResource(store: Store, resource: StoredResource): void {
  const key = idKey(resource.id);
  store.resources.set(key, resource);
  const type = resource.type.toLowerCase();
  const ofType = store.byType.get(type) ?? new Map<string, StoredResource>();
  store.byType.set(type, ofType);
  ofType.set(key, resource);
  const parents = store.byParent.get(type) ?? new Map<string, Map<string, StoredResource>>();
  store.byParent.set(type, parents);
  const parent = parentKey(key);
  const siblings = parents.get(parent) ?? new Map<string, StoredResource>();
  parents.set(parent, siblings);
  siblings.set(key, resource);
  store.versions.set(type, (store.versions.get(type) ?? 0) + 1);
}

export function removeResource(store: Store, id: string): void {
  const key = idKey(id);
  const resource = store.resources.get(key);
  if (!resource) return;
  store.resources.delete(key);
  const type = resource.type.toLowerCase();
  store.byType.get(type)?.delete(key);
  const parents = store.byParent.get(type);
  const parent = parentKey(key);
  const siblings = parents?.get(parent);
  siblings?.delete(key);
  if (siblings?.size === 0) parents?.delete(parent);
  store.versions.set(type, (store.versions.get(type) ?? 0) + 1);
}

export function addOperation(store: Store, op: Operation): void {
  store.operations.set(op.id, op);
  store.pending.add(op);
}

/** The resource and everything nested under it or attached to it (role assignments), parents first. */
export function subtree(store: Store, id: string): StoredResource[] {
  const key = idKey(id);
  const prefix = `${key}/`;
  return [...store.resources.entries()]
    .filter(([k]) => k === key || k.startsWith(prefix))
    .sort(([a], [b]) => a.length - b.length)
    .map(([, r]) => r);
}

/** Direct children of `parentId` with the given type (case-insensitive). */
export function childrenOfType(store: Store, parentId: string, type: string): StoredResource[] {
  const wanted = type.toLowerCase();
  // Role assignments are listed at a scope with every assignment below it (ARM's `atScope` aside).
  if (wanted.startsWith('microsoft.authorization/')) {
    const prefix = `${idKey(parentId)}/`;
    return [...(store.byType.get(wanted)?.entries() ?? [])].filter(([k]) => k.startsWith(prefix)).map(([, r]) => r);
  }
  return [...(store.byParent.get(wanted)?.get(idKey(parentId))?.values() ?? [])];
}

/** Every stored resource of a type, anywhere. */
export function resourcesOfType(store: Store, type: string): StoredResource[] {
  return [...(store.byType.get(type.toLowerCase())?.values() ?? [])];
}

/** The nearest ancestor (by id prefix) that has a long-running operation in progress. */
export function busyAncestor(store: Store, id: string): StoredResource | undefined {
  const key = idKey(id);
  // Ancestors are the id's own prefixes at segment boundaries, nearest first.
  for (let end = key.lastIndexOf('/'); end > 0; end = key.lastIndexOf('/', end - 1)) {
    const resource = store.resources.get(key.slice(0, end));
    if (resource?.operationId !== undefined) return resource;
  }
  return undefined;
}

export function newOperationId(): string {
  return randomUUID();
}

/**
 * Settle every operation whose time has come (real and, where set, emulated). `force` settles every
 * running operation regardless. Returns how many settled.
 */
export function settleDueOperations(store: Store, nowMs: number, clockNow: () => Date, force = false): number {
  let settled = 0;
  for (const op of store.pending) {
    if (op.status !== 'InProgress') {
      store.pending.delete(op);
      continue;
    }
    if (!force && (op.completesAt > nowMs || (op.completesAtClock ?? 0) > clockNow().getTime())) continue;
    const succeeded = op.failWith === undefined;
    op.status = succeeded ? 'Succeeded' : 'Failed';
    op.error = op.failWith;
    op.endTime = clockNow();
    op.settle(succeeded);
    store.pending.delete(op);
    settled += 1;
  }
  return settled;
}
