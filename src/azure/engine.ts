/**
 * The ARM engine: runs a set of declarative resource descriptions (what exists, in which order,
 * with which fields) against Azure without ever waiting for a long-running operation.
 *
 * One pass, level-based (it depends only on the descriptions, what ARM reports and the operations
 * recorded by earlier passes):
 *   for every resource whose dependencies are ready, in parallel:
 *     a recorded operation?  poll it once: still running → busy; failed → report; done → go on
 *     observe (GET) → missing: begin the create; busy (an operation we did not record, e.g. one
 *     begun just before a crash): wait, never write twice; differs (in Azure's normal form):
 *     begin the update; else ready or not as the description says.
 * A begun write that ARM runs asynchronously becomes a `PendingOperation`: plain data the caller
 * keeps (in the Tenant's status) and hands to the next pass, after a requeue, a restart or a
 * change of leader. Errors are kept per resource; independent resources go on.
 *
 * The engine knows nothing of tenants: descriptions come from whoever owns the resources.
 */

import { inContext, PlatformError } from '../runtime/errors.ts';
import { type ArmApi, type ArmBody, ArmRequestError, type OperationHandle } from './arm-client.ts';
import { type AzureFailure, classifyAzureError } from './errors.ts';
import { AZURE_TAGS, isInProgress, type Tags } from './kinds/common.ts';

/** What dependencies reported, by resource key (their GET bodies). */
export type Outputs = ReadonlyMap<string, ArmBody>;

/** How an existing resource is brought to the desired state when fields differ. */
export interface UpdateWrite {
  method: 'PUT' | 'PATCH';
  body: ArmBody;
}

/**
 * One ARM resource type: how its id, create body and comparison follow from parameters. Written
 * once per type (src/azure/kinds/), with no knowledge of who uses it.
 */
export interface ResourceKind<P> {
  /** ARM type, e.g. `Microsoft.Sql/servers`. */
  type: string;
  /** For people: `SQL server`. */
  label: string;
  apiVersion: string;
  id(params: P): string;
  /**
   * The PUT body that creates it. `now` (the pass's clock; the wall clock when omitted) is for the
   * rare create-only value that depends on it, such as a key's first expiry, never compared afterwards.
   */
  create(params: P, now?: Date): ArmBody;
  /** Names of the fields that differ, compared in Azure's normal form. Empty when converged. */
  diff(params: P, observed: ArmBody): string[];
  /**
   * For people (Events, audit): what an update of `fields` changes, old and new, e.g. `mode
   * Detection -> Prevention`. Default: the field names. Never values that may be secret.
   */
  describeChange?(params: P, observed: ArmBody, fields: readonly string[]): string[];
  /**
   * The write that fixes `fields`. Undefined when such a difference can only be fixed by hand
   * (e.g. replacing an encryption key): a terminal problem, never a silent re-create.
   */
  update?(params: P, observed: ArmBody, fields: readonly string[]): UpdateWrite | undefined;
  /** The state Azure reports while an operation runs on it (`Creating`, `Updating`, ...). */
  state(observed: ArmBody): string | undefined;
  /** Whether dependents may use it (e.g. a Paused serverless database is usable). Default: settled. */
  ready?(observed: ArmBody): boolean;
  /**
   * Where the resource carries its Azure tags; default the top-level `tags`. AKS agent pools carry
   * theirs in `properties.tags`: the owner check must read them there, or two operator instances
   * would adopt (and delete) each other's node pools.
   */
  tagsOf?(observed: ArmBody): Tags | undefined;
  /** The write that adds `tags` to it (release); default PATCH `{ tags }` of the merged tags. */
  tag?(observed: ArmBody, tags: Tags): UpdateWrite | undefined;
  /**
   * Error codes of a create that mean "what you want is already there" (e.g. the same role
   * assignment under another name): the resource counts as Ready.
   */
  satisfiedBy?: readonly string[];
  /** Read extra facts before a create, e.g. a soft-deleted vault of the same name to recover. */
  beforeCreate?(arm: ArmApi, params: P): Promise<ArmBody | undefined>;
  /**
   * Someone else's resource (a shared Log Analytics workspace's table): read and judged by
   * `findings`, never created, written or tagged.
   */
  readOnly?: boolean;
  /**
   * What is wrong that the operator must not or cannot write (someone else's resource; a property
   * ARM cannot change once created, such as a key's rotation policy), as a classified failure
   * saying who must act. `observed` is undefined when the resource does not exist (only asked of
   * `readOnly` kinds). The resource still counts as usable for its dependents: a finding blocks
   * nothing, it only keeps the tenant from being called converged.
   */
  findings?(params: P, observed: ArmBody | undefined): AzureFailure | undefined;
}

/** One resource of a set: a kind, its parameters, and what it waits for. */
export interface ArmResource {
  /** Unique in the set; how dependencies and recorded operations refer to it. */
  key: string;
  dependsOn: readonly string[];
  kind: ResourceKind<unknown>;
  /**
   * Parameters from what the dependencies reported; undefined while a dependency lacks a field it
   * needs (e.g. a principal id Azure has not filled in yet).
   */
  params(outputs: Outputs): unknown;
  /**
   * Do not create it before this instant (e.g. until a role assignment it needs has had time to
   * reach the data plane): a create begun earlier would only be refused, and count as a write.
   */
  notBefore?(outputs: Outputs, now: Date): { at: Date; why: string } | undefined;
}

/** Builds an `ArmResource` with its parameter type checked against its kind. */
export function resource<P>(
  key: string,
  kind: ResourceKind<P>,
  params: (outputs: Outputs) => P | undefined,
  dependsOn: readonly string[] = [],
  notBefore?: ArmResource['notBefore'],
): ArmResource {
  return { key, kind: kind as ResourceKind<unknown>, params, dependsOn, ...(notBefore ? { notBefore } : {}) };
}

/** A write ARM is still running, as recorded between passes. Plain data, JSON-safe. */
export interface PendingOperation {
  /** The resource's key in its set. */
  key: string;
  /** ARM id of the resource. */
  id: string;
  method: 'PUT' | 'PATCH' | 'DELETE';
  /** Where to poll. */
  url: string;
  kind: OperationHandle['kind'];
  /** RFC 3339. */
  startedAt: string;
}

export type ResourcePhase =
  /** Exists as desired and usable. */
  | 'Ready'
  /** An operation runs on it (ours or another's). */
  | 'Busy'
  /** Exists, converged, but Azure does not report it usable (e.g. a database not Online). */
  | 'NotReady'
  /** A dependency is not ready yet. */
  | 'Waiting'
  /** The last attempt failed; see `error`. */
  | 'Failed';

export interface ResourceReport {
  key: string;
  label: string;
  id: string | undefined;
  phase: ResourcePhase;
  /**
   * For Failed: the classified error. For Ready: a finding (see ResourceKind.findings), usable but
   * not as promised. For Waiting: see `waitingFor`.
   */
  error?: AzureFailure | undefined;
  waitingFor?: string | undefined;
}

/** A write this pass began or finished: for audit lines and Events. */
export interface ArmChange {
  key: string;
  label: string;
  id: string;
  /** `created`, `deleted`, `tagged`, or what was updated (the kind's `describeChange`, else field names). */
  what: string[];
}

/** A resource found Ready by an earlier pass, trusted instead of read again (see PassOptions.known). */
export interface KnownReady {
  id: string;
  body: ArmBody;
}

export interface PassResult {
  /** GET bodies of resources observed this pass (or trusted from `known`), by key. */
  outputs: Map<string, ArmBody>;
  /** Keys reported Ready from `known`, without a read. */
  trusted: Set<string>;
  reports: Map<string, ResourceReport>;
  /** Operations still running: record them and pass them to the next pass. */
  pending: PendingOperation[];
  changes: ArmChange[];
  /** Every resource Ready. */
  converged: boolean;
}

export interface PassOptions {
  /** Operations recorded by earlier passes. */
  pending?: readonly PendingOperation[];
  /**
   * Resources an earlier pass of the same episode (e.g. one tenant's creation) found Ready, by key:
   * trusted without a GET while their id is unchanged and no operation of theirs is recorded, so a
   * pass reads only what is still moving. A convergence found partly on trust is only as fresh as
   * the oldest read it trusts: the caller dates it so (src/tenant/azure-step.ts).
   */
  known?: ReadonlyMap<string, KnownReady>;
  now: Date;
  /**
   * The tag that names the operator instance owning a resource, and this instance's value. A
   * resource carrying another value belongs to another instance (another cluster sharing the
   * subscription): it is never written, adopted or deleted. Untagged resources are adopted.
   */
  owner?: { tag: string; value: string } | undefined;
}

/** The tags of an observed resource, where its kind keeps them. */
function tagsOf(kind: Pick<ResourceKind<unknown>, 'tagsOf'>, observed: ArmBody): Tags {
  return (kind.tagsOf ? kind.tagsOf(observed) : (observed.tags as Tags | undefined)) ?? {};
}

/** The instance owning `observed`, when it is not the caller (see PassOptions.owner). */
function otherOwner(
  kind: Pick<ResourceKind<unknown>, 'tagsOf'>,
  observed: ArmBody,
  options: Pick<PassOptions, 'owner'>,
): string | undefined {
  if (!options.owner) return undefined;
  const value = tagsOf(kind, observed)[options.owner.tag];
  return value !== undefined && value !== options.owner.value ? value : undefined;
}

function ownedElsewhere(label: string, owner: string): PlatformError {
  return new PlatformError(
    'AzureOwnedByAnotherInstance',
    `${label} belongs to operator instance "${owner}" (tag); this instance neither adopts nor changes it: check the instances' azure.instanceName and servedRegions`,
    { retryAfterMs: 5 * 60_000 },
  );
}

function failureOf(err: unknown, what: string): AzureFailure {
  return inContext(classifyAzureError(err), what);
}

function operationError(code: string, message: string): ArmRequestError {
  // A failed operation is classified like the request that would have failed the same way.
  return Object.assign(new ArmRequestError(0, code, message, { get: () => undefined } as never), {
    operationFailed: true,
  });
}

/** Operations recorded by earlier passes, by resource key. */
function recordedOperations(options: PassOptions): Map<string, PendingOperation> {
  return new Map((options.pending ?? []).map((p) => [p.key, p]));
}

/** `SQL server sql-acme-prd-…`: a resource as people read it. */
function labelOf(kindLabel: string, id: string): string {
  return `${kindLabel} ${id.split('/').pop()}`;
}

/** One look at the operation recorded for `op`, if there is one. */
async function pollRecorded(arm: ArmApi, op: PendingOperation | undefined) {
  return op === undefined ? undefined : arm.pollOperation({ url: op.url, kind: op.kind });
}

/**
 * One pass over `resources`: see the module comment. Never throws for a resource's own failure
 * (it is reported); throws only for programming errors (an unknown dependency key).
 */
export async function reconcileResources(
  arm: ArmApi,
  resources: readonly ArmResource[],
  options: PassOptions,
): Promise<PassResult> {
  const byKey = new Map(resources.map((r) => [r.key, r]));
  for (const r of resources) {
    for (const d of r.dependsOn) if (!byKey.has(d)) throw new Error(`resource ${r.key} depends on unknown ${d}`);
  }
  const recorded = recordedOperations(options);
  const result: PassResult = {
    outputs: new Map(),
    trusted: new Set(),
    reports: new Map(),
    pending: [],
    changes: [],
    converged: false,
  };
  const done = new Set<string>();

  const runOne = async (r: ArmResource): Promise<void> => {
    const report = (phase: ResourcePhase, id: string | undefined, extra: Partial<ResourceReport> = {}) =>
      result.reports.set(r.key, { key: r.key, label: r.kind.label, id, phase, ...extra });
    const params = r.params(result.outputs);
    if (params === undefined) {
      report('Waiting', undefined, { waitingFor: r.dependsOn.join(', ') });
      return;
    }
    const kind = r.kind;
    const id = kind.id(params);
    const label = labelOf(kind.label, id);
    const known = options.known?.get(r.key);
    if (known !== undefined && known.id.toLowerCase() === id.toLowerCase() && !recorded.has(r.key)) {
      result.outputs.set(r.key, known.body);
      result.trusted.add(r.key);
      report('Ready', id);
      return;
    }
    try {
      const op = recorded.get(r.key);
      if (op !== undefined && op.id.toLowerCase() === id.toLowerCase()) {
        const state = await arm.pollOperation({ url: op.url, kind: op.kind });
        if (state.status === 'InProgress') {
          result.pending.push(op);
          report('Busy', id);
          return;
        }
        if (state.status === 'Failed' && state.code !== 'OperationExpired') {
          report('Failed', id, { error: failureOf(operationError(state.code, state.message), label) });
          return;
        }
        // Succeeded, or expired: look at the resource itself.
      }
      const observed = await arm.get(id, kind.apiVersion);
      if (kind.readOnly) {
        const finding = kind.findings?.(params, observed);
        if (observed !== undefined) result.outputs.set(r.key, observed);
        report(finding === undefined ? 'Ready' : observed === undefined ? 'Failed' : 'Ready', id, {
          ...(finding === undefined ? {} : { error: inContext(finding, label) }),
        });
        return;
      }
      if (observed === undefined) {
        // Azure's own waits (a role assignment propagating) run in real time, whatever clock the
        // caller injects for its own decisions.
        const wallNow = new Date();
        const wait = r.notBefore?.(result.outputs, wallNow);
        if (wait !== undefined && wallNow < wait.at) {
          report('Waiting', id, { waitingFor: `${wait.why} (until ${wait.at.toISOString()})` });
          return;
        }
        const extra = kind.beforeCreate ? await kind.beforeCreate(arm, params) : undefined;
        const body = { ...kind.create(params, options.now), ...(extra ?? {}) };
        await begin(r.key, label, id, 'PUT', body, ['created'], kind);
        return;
      }
      const owner = otherOwner(kind, observed, options);
      if (owner !== undefined) {
        report('Failed', id, { error: ownedElsewhere(label, owner) });
        return;
      }
      result.outputs.set(r.key, observed);
      if (isInProgress(kind.state(observed))) {
        report('Busy', id);
        return;
      }
      const fields = kind.diff(params, observed);
      if (fields.length > 0) {
        const write = kind.update?.(params, observed, fields);
        if (write === undefined) {
          report('Failed', id, {
            error: failureOf(
              new ArmRequestError(
                400,
                'AzureImmutableDifference',
                `${label} differs in ${fields.join(', ')}, which cannot be changed in place; fix it by hand or change the spec back`,
                { get: () => undefined } as never,
              ),
              label,
            ),
          });
          return;
        }
        result.outputs.delete(r.key);
        const what = kind.describeChange?.(params, observed, fields) ?? fields;
        await begin(r.key, label, id, write.method, write.body, what, kind);
        return;
      }
      const ready = (kind.ready ?? ((o: ArmBody) => !isInProgress(kind.state(o))))(observed);
      const finding = ready ? kind.findings?.(params, observed) : undefined;
      report(ready ? 'Ready' : 'NotReady', id, finding === undefined ? {} : { error: inContext(finding, label) });
    } catch (err) {
      result.outputs.delete(r.key);
      const code = (err as { code?: unknown }).code;
      if (typeof code === 'string' && kind.satisfiedBy?.includes(code)) {
        report('Ready', id);
        return;
      }
      report('Failed', id, { error: failureOf(err, label) });
    }

    async function begin(
      key: string,
      what: string,
      resourceId: string,
      method: 'PUT' | 'PATCH',
      body: ArmBody,
      fields: string[],
      k: ResourceKind<unknown>,
    ): Promise<void> {
      const outcome = await arm.beginWrite(method, resourceId, k.apiVersion, body);
      result.changes.push({ key, label: what, id: resourceId, what: fields });
      if (!outcome.done) {
        result.pending.push({
          key,
          id: resourceId,
          method,
          url: outcome.operation.url,
          kind: outcome.operation.kind,
          startedAt: options.now.toISOString(),
        });
        report('Busy', resourceId);
        return;
      }
      const body2 = outcome.body;
      if (body2 !== undefined && Object.keys(body2).length > 0) {
        result.outputs.set(key, body2);
        const ready = (k.ready ?? ((o: ArmBody) => !isInProgress(k.state(o))))(body2);
        report(ready ? 'Ready' : 'Busy', resourceId);
      } else {
        report('Busy', resourceId);
      }
    }
  };

  // Waves: everything whose dependencies are Ready runs in parallel; a wave may make more ready.
  for (;;) {
    const wave = resources.filter((r) => !done.has(r.key) && r.dependsOn.every((d) => result.reports.get(d)?.phase === 'Ready'));
    if (wave.length === 0) break;
    for (const r of wave) done.add(r.key);
    await Promise.all(wave.map(runOne));
  }
  for (const r of resources) {
    if (done.has(r.key)) continue;
    const blocker = r.dependsOn.find((d) => result.reports.get(d)?.phase !== 'Ready');
    result.reports.set(r.key, { key: r.key, label: r.kind.label, id: undefined, phase: 'Waiting', waitingFor: blocker });
    // A recorded operation of a resource we could not reach this pass is kept, not forgotten.
    const op = recorded.get(r.key);
    if (op) result.pending.push(op);
  }
  // A finding (Ready, with an error) is not converged: the pass is not trusted as verified.
  result.converged = [...result.reports.values()].every((x) => x.phase === 'Ready' && x.error === undefined);
  return result;
}

/** A resource to let go of or delete, by id: no parameters, no desired state needed. */
export interface ExistingResource {
  key: string;
  id: string;
  kind: Pick<ResourceKind<unknown>, 'label' | 'apiVersion' | 'state' | 'tag' | 'tagsOf'>;
}

export interface TeardownResult {
  /** Every resource gone (delete) or marked (release). */
  finished: boolean;
  pending: PendingOperation[];
  changes: ArmChange[];
  /** The first failure, if any: the teardown stops there and keeps the rest untouched. */
  failure?: AzureFailure | undefined;
  /** What it waits for, for a condition message. */
  waitingFor?: string | undefined;
}

/**
 * deletionPolicy Delete, one step per pass: resources are deleted in the given order (children
 * first), each only once the ones before it are gone; nothing counts as gone unless ARM said 404.
 */
export async function deleteResources(
  arm: ArmApi,
  resources: readonly ExistingResource[],
  options: PassOptions,
): Promise<TeardownResult> {
  const recorded = recordedOperations(options);
  const changes: ArmChange[] = [];
  for (const r of resources) {
    const label = labelOf(r.kind.label, r.id);
    try {
      const op = recorded.get(r.key);
      const state = await pollRecorded(arm, op);
      if (op !== undefined && state?.status === 'InProgress') {
        return { finished: false, pending: [op], changes, waitingFor: `${label} is being deleted` };
      }
      if (state?.status === 'Failed' && state.code !== 'OperationExpired') {
        return {
          finished: false,
          pending: [],
          changes,
          failure: failureOf(operationError(state.code, state.message), `deleting ${label}`),
        };
      }
      const observed = await arm.get(r.id, r.kind.apiVersion);
      if (observed === undefined) continue;
      // Another instance's resource is not this tenant's to delete, whatever its name says.
      if (otherOwner(r.kind, observed, options) !== undefined) continue;
      if (isInProgress(r.kind.state(observed))) {
        return { finished: false, pending: [], changes, waitingFor: `${label} is ${r.kind.state(observed)}` };
      }
      const outcome = await arm.beginWrite('DELETE', r.id, r.kind.apiVersion);
      changes.push({ key: r.key, label, id: r.id, what: ['deleted'] });
      if (outcome.done) continue;
      const pending: PendingOperation = {
        key: r.key,
        id: r.id,
        method: 'DELETE',
        url: outcome.operation.url,
        kind: outcome.operation.kind,
        startedAt: options.now.toISOString(),
      };
      return { finished: false, pending: [pending], changes, waitingFor: `${label} is being deleted` };
    } catch (err) {
      return { finished: false, pending: [], changes, failure: failureOf(err, `deleting ${label}`) };
    }
  }
  return { finished: true, pending: [], changes };
}

/**
 * deletionPolicy Retain: mark every existing resource `tenancy.dev-orphaned: "true"` (a tags-only
 * write, skipped where the mark is already there). Resources under an operation are waited for.
 */
export async function releaseResources(
  arm: ArmApi,
  resources: readonly ExistingResource[],
  options: PassOptions,
): Promise<TeardownResult> {
  const changes: ArmChange[] = [];
  const pending: PendingOperation[] = [];
  const recorded = recordedOperations(options);
  let waitingFor: string | undefined;
  for (const r of resources) {
    const label = labelOf(r.kind.label, r.id);
    try {
      const op = recorded.get(r.key);
      if (op !== undefined && (await pollRecorded(arm, op))?.status === 'InProgress') {
        pending.push(op);
        waitingFor ??= `${label} is being tagged`;
        continue;
      }
      const observed = await arm.get(r.id, r.kind.apiVersion);
      if (observed === undefined || otherOwner(r.kind, observed, options) !== undefined) continue;
      const tags = tagsOf(r.kind, observed);
      if (tags[AZURE_TAGS.orphaned] === 'true') continue;
      if (isInProgress(r.kind.state(observed))) {
        waitingFor ??= `${label} is ${r.kind.state(observed)}`;
        continue;
      }
      const write = r.kind.tag
        ? r.kind.tag(observed, { [AZURE_TAGS.orphaned]: 'true' })
        : { method: 'PATCH' as const, body: { tags: { ...tags, [AZURE_TAGS.orphaned]: 'true' } } };
      if (write === undefined) continue;
      const outcome = await arm.beginWrite(write.method, r.id, r.kind.apiVersion, write.body);
      changes.push({ key: r.key, label, id: r.id, what: ['tagged'] });
      if (!outcome.done) {
        pending.push({
          key: r.key,
          id: r.id,
          method: write.method,
          url: outcome.operation.url,
          kind: outcome.operation.kind,
          startedAt: options.now.toISOString(),
        });
        waitingFor ??= `${label} is being tagged`;
      }
    } catch (err) {
      return { finished: false, pending, changes, failure: failureOf(err, `releasing ${label}`) };
    }
  }
  return { finished: pending.length === 0 && waitingFor === undefined, pending, changes, waitingFor };
}
