/**
 * The ARM engine against an in-memory ARM whose operations end only when the test says so: it
 * never waits, resumes what earlier passes recorded, never writes twice to a busy resource, keeps
 * going around a failing resource, and tears down in order.
 */
import { describe, expect, test } from '@jest/globals';
import {
  type ArmApi,
  type ArmBody,
  ArmRequestError,
  type OperationHandle,
  type OperationState,
  type WriteOutcome,
} from '../../../src/azure/arm-client.ts';
import {
  type ArmResource,
  deleteResources,
  type PendingOperation,
  type ResourceKind,
  reconcileResources,
  releaseResources,
  resource,
} from '../../../src/azure/engine.ts';
import { AZURE_TAGS, props, provisioningState, tagsOnlyUpdate } from '../../../src/azure/kinds/common.ts';
import { type AgentPoolParams, agentPoolId, agentPoolKind } from '../../../src/azure/kinds/container-service.ts';
import { PlatformError, RetryableError, TerminalError } from '../../../src/runtime/errors.ts';

interface Op {
  id: string;
  method: string;
  body: ArmBody | undefined;
  state: 'InProgress' | 'Succeeded' | 'Failed';
  code?: string;
}

/** ARM in memory: `async` ids answer 202 and run until `finish`; `fail(id, status, code)` refuses requests. */
class FakeArm implements ArmApi {
  readonly resources = new Map<string, ArmBody>();
  readonly ops = new Map<string, Op>();
  readonly writes: string[] = [];
  readonly async = new Set<string>();
  readonly refusals = new Map<string, { status: number; code: string }>();
  #n = 0;

  async get(id: string): Promise<ArmBody | undefined> {
    this.#refuse(id);
    const body = this.resources.get(id);
    return body === undefined ? undefined : structuredClone(body);
  }

  async list(): Promise<ArmBody[]> {
    return [];
  }

  async beginWrite(method: 'PUT' | 'PATCH' | 'DELETE', id: string, _v: string, body?: ArmBody): Promise<WriteOutcome> {
    this.#refuse(id);
    this.writes.push(`${method} ${id}`);
    if (!this.async.has(id)) {
      this.#apply(method, id, body);
      return { done: true, body: this.resources.get(id) };
    }
    const url = `op-${++this.#n}`;
    this.ops.set(url, { id, method, body, state: 'InProgress' });
    if (method === 'PUT' && !this.resources.has(id)) {
      this.resources.set(id, { ...(body ?? {}), properties: { ...props(body ?? {}), provisioningState: 'Creating' } });
    } else if (this.resources.has(id)) {
      const current = this.resources.get(id) as ArmBody;
      this.resources.set(id, {
        ...current,
        properties: { ...props(current), provisioningState: method === 'DELETE' ? 'Deleting' : 'Updating' },
      });
    }
    return { done: false, operation: { url, kind: 'AsyncOperation' } };
  }

  async pollOperation(operation: OperationHandle): Promise<OperationState> {
    const op = this.ops.get(operation.url);
    if (op === undefined) return { status: 'Failed', code: 'OperationExpired', message: 'gone' };
    if (op.state === 'Failed') return { status: 'Failed', code: op.code ?? 'InternalError', message: 'it failed' };
    return op.state === 'InProgress' ? { status: 'InProgress' } : { status: 'Succeeded' };
  }

  /** Ends every running operation on `id`, successfully or with `code`. */
  finish(id: string, code?: string): void {
    for (const op of this.ops.values()) {
      if (op.id !== id || op.state !== 'InProgress') continue;
      if (code === undefined) {
        op.state = 'Succeeded';
        this.#apply(op.method, id, op.body);
      } else {
        op.state = 'Failed';
        op.code = code;
        if (op.method === 'PUT') this.resources.delete(id);
      }
    }
  }

  #apply(method: string, id: string, body: ArmBody | undefined): void {
    if (method === 'DELETE') {
      this.resources.delete(id);
      return;
    }
    const current = this.resources.get(id) ?? {};
    const next = method === 'PATCH' ? { ...current, ...body } : { ...body };
    this.resources.set(id, { ...next, properties: { ...props(next), provisioningState: 'Succeeded' } });
  }

  #refuse(id: string): void {
    const r = this.refusals.get(id);
    if (r) throw new ArmRequestError(r.status, r.code, `refused: ${r.code}`, { get: () => undefined } as never);
  }
}

interface Params {
  id: string;
  location: string;
  tags: Record<string, string>;
  size?: string;
}

const kind: ResourceKind<Params> = {
  type: 'Test/things',
  label: 'thing',
  apiVersion: '2026-01-01',
  id: (p) => p.id,
  create: (p) => ({ location: p.location, tags: p.tags, properties: { size: p.size ?? 'small' } }),
  diff: (p, o) => {
    const fields: string[] = [];
    if (o.location !== p.location) fields.push('location');
    if (JSON.stringify(o.tags) !== JSON.stringify(p.tags)) fields.push('tags');
    if ((props(o).size ?? 'small') !== (p.size ?? 'small')) fields.push('size');
    return fields;
  },
  update: (p, o, fields) =>
    fields.includes('location')
      ? undefined
      : fields.includes('size')
        ? { method: 'PATCH', body: { properties: { size: p.size } } }
        : tagsOnlyUpdate(p, o, fields),
  state: provisioningState,
};

const thing = (key: string, dependsOn: string[] = [], extra: Partial<Params> = {}): ArmResource =>
  resource(key, kind, () => ({ id: `/t/${key}`, location: 'westeurope', tags: { a: '1' }, ...extra }), dependsOn);

const now = new Date('2026-12-01T00:00:00Z');

async function pass(arm: FakeArm, resources: ArmResource[], pending: PendingOperation[] = []) {
  return reconcileResources(arm, resources, { pending, now });
}

describe('reconcileResources', () => {
  test('never waits: begins what it can, records running operations, resumes them on the next pass', async () => {
    const arm = new FakeArm();
    arm.async.add('/t/b');
    const set = [thing('a'), thing('b', ['a']), thing('c', ['b'])];

    const first = await pass(arm, set);
    expect(arm.writes).toEqual(['PUT /t/a', 'PUT /t/b']);
    expect(first.reports.get('a')?.phase).toBe('Ready');
    expect(first.reports.get('b')?.phase).toBe('Busy');
    expect(first.reports.get('c')).toMatchObject({ phase: 'Waiting', waitingFor: 'b' });
    expect(first.pending).toEqual([
      expect.objectContaining({ key: 'b', id: '/t/b', method: 'PUT', startedAt: now.toISOString() }),
    ]);
    expect(first.converged).toBe(false);

    // Still running: polled, not written again.
    const second = await pass(arm, set, first.pending);
    expect(arm.writes).toHaveLength(2);
    expect(second.pending).toEqual(first.pending);

    arm.finish('/t/b');
    const third = await pass(arm, set, second.pending);
    expect(arm.writes).toEqual(['PUT /t/a', 'PUT /t/b', 'PUT /t/c']);
    expect(third.converged).toBe(true);
    expect(third.pending).toEqual([]);

    const fourth = await pass(arm, set);
    expect(arm.writes).toHaveLength(3);
    expect(fourth.changes).toEqual([]);
    expect(fourth.converged).toBe(true);
  });

  test('resources an earlier pass found Ready are trusted without a read while the rest moves', async () => {
    const arm = new FakeArm();
    arm.async.add('/t/b');
    const set = [thing('a'), thing('b', ['a'])];
    const first = await pass(arm, set);
    const known = new Map([['a', { id: '/t/a', body: first.outputs.get('a') ?? {} }]]);
    arm.finish('/t/b');
    const reads: string[] = [];
    const get = arm.get.bind(arm);
    arm.get = async (id: string) => {
      reads.push(id);
      return get(id);
    };
    const second = await reconcileResources(arm, set, { pending: first.pending, now, known });
    expect(reads).toEqual(['/t/b']);
    expect(second.trusted).toEqual(new Set(['a']));
    expect(second.reports.get('a')?.phase).toBe('Ready');
    // A changed id is not trusted.
    const moved = new Map([['a', { id: '/t/elsewhere', body: {} }]]);
    reads.length = 0;
    await reconcileResources(arm, set, { pending: second.pending, now, known: moved });
    expect(reads).toContain('/t/a');
  });

  test('independent resources begin in the same pass', async () => {
    const arm = new FakeArm();
    for (const id of ['/t/x', '/t/y', '/t/z']) arm.async.add(id);
    const result = await pass(arm, [thing('x'), thing('y'), thing('z')]);
    expect(result.pending.map((p) => p.key).sort()).toEqual(['x', 'y', 'z']);
  });

  test('an operation begun but never recorded (a crash) is waited for, never begun twice', async () => {
    const arm = new FakeArm();
    arm.async.add('/t/a');
    await pass(arm, [thing('a')]);
    const afterCrash = await pass(arm, [thing('a')], []);
    expect(arm.writes).toEqual(['PUT /t/a']);
    expect(afterCrash.reports.get('a')?.phase).toBe('Busy');
  });

  test('a failed operation is reported with Azure’s code and classified; dependents wait', async () => {
    const arm = new FakeArm();
    arm.async.add('/t/a');
    const set = [thing('a'), thing('b', ['a'])];
    const first = await pass(arm, set);
    arm.finish('/t/a', 'SkuNotAvailable');
    const second = await pass(arm, set, first.pending);
    const error = second.reports.get('a')?.error;
    expect(error).toBeInstanceOf(TerminalError);
    expect(error).toMatchObject({ reason: 'AzureInvalidSku' });
    expect(error?.message).toContain('SkuNotAvailable');
    expect(second.reports.get('b')?.phase).toBe('Waiting');
    expect(second.pending).toEqual([]);
  });

  test('an expired operation is re-observed from the resource itself', async () => {
    const arm = new FakeArm();
    arm.resources.set('/t/a', kind.create({ id: '/t/a', location: 'westeurope', tags: { a: '1' } }));
    const expired: PendingOperation = {
      key: 'a',
      id: '/t/a',
      method: 'PUT',
      url: 'op-gone',
      kind: 'AsyncOperation',
      startedAt: now.toISOString(),
    };
    const result = await pass(arm, [thing('a')], [expired]);
    expect(result.reports.get('a')?.phase).toBe('Ready');
    expect(arm.writes).toEqual([]);
  });

  test('one resource failing does not stop an independent one; throttling is retryable, authorization needs the platform team', async () => {
    const arm = new FakeArm();
    arm.refusals.set('/t/a', { status: 429, code: 'TooManyRequests' });
    arm.refusals.set('/t/b', { status: 403, code: 'AuthorizationFailed' });
    const result = await pass(arm, [thing('a'), thing('b'), thing('c')]);
    expect(result.reports.get('a')?.error).toBeInstanceOf(RetryableError);
    expect(result.reports.get('a')?.error).not.toBeInstanceOf(PlatformError);
    expect(result.reports.get('b')?.error).toBeInstanceOf(PlatformError);
    expect(result.reports.get('b')?.error).toMatchObject({ reason: 'AzureAuthorizationFailed' });
    expect(result.reports.get('c')?.phase).toBe('Ready');
  });

  test('only what differs is written; a difference that cannot be fixed in place is terminal, never a re-create', async () => {
    const arm = new FakeArm();
    await pass(arm, [thing('a')]);
    await pass(arm, [thing('a', [], { size: 'large' })]);
    expect(arm.writes).toEqual(['PUT /t/a', 'PATCH /t/a']);
    const moved = await pass(arm, [thing('a', [], { size: 'large', location: 'northeurope' })]);
    expect(moved.reports.get('a')?.error).toMatchObject({ reason: 'AzureImmutableDifference' });
    expect(arm.writes).toHaveLength(2);
  });
});

describe('teardown', () => {
  const existing = (key: string) => ({ key, id: `/t/${key}`, kind });

  test('delete goes in order, one step per pass, and ends only when ARM says 404 for each', async () => {
    const arm = new FakeArm();
    await pass(arm, [thing('child'), thing('parent')]);
    arm.async.add('/t/child');
    const list = [existing('child'), existing('parent')];
    const first = await deleteResources(arm, list, { now });
    expect(first).toMatchObject({ finished: false, waitingFor: expect.stringContaining('being deleted') });
    expect(arm.resources.has('/t/parent')).toBe(true);
    const second = await deleteResources(arm, list, { now, pending: first.pending });
    expect(second.finished).toBe(false);
    arm.finish('/t/child');
    const third = await deleteResources(arm, list, { now, pending: second.pending });
    expect(third.finished).toBe(true);
    expect(arm.resources.size).toBe(0);
  });

  test('a failure while deleting stops there and is classified; nothing after it is touched', async () => {
    const arm = new FakeArm();
    await pass(arm, [thing('child'), thing('parent')]);
    arm.refusals.set('/t/child', { status: 403, code: 'AuthorizationFailed' });
    const result = await deleteResources(arm, [existing('child'), existing('parent')], { now });
    expect(result.failure).toBeInstanceOf(PlatformError);
    expect(arm.resources.has('/t/parent')).toBe(true);
  });

  test('release tags every existing resource once, and skips what is marked or missing', async () => {
    const arm = new FakeArm();
    await pass(arm, [thing('a'), thing('b')]);
    const list = [existing('a'), existing('b'), existing('missing')];
    const first = await releaseResources(arm, list, { now });
    expect(first.finished).toBe(true);
    expect(arm.resources.get('/t/a')?.tags).toEqual({ a: '1', [AZURE_TAGS.orphaned]: 'true' });
    const writes = arm.writes.length;
    await releaseResources(arm, list, { now });
    expect(arm.writes).toHaveLength(writes);
  });
});

describe('ownership by operator instance', () => {
  const owner = { tag: AZURE_TAGS.instance, value: 'europe' };
  const elsewhere = (arm: FakeArm, id: string) =>
    arm.resources.set(id, { location: 'westeurope', tags: { a: '1', [AZURE_TAGS.instance]: 'australia' }, properties: {} });

  test('a resource tagged by another instance is neither adopted nor changed: a platform problem', async () => {
    const arm = new FakeArm();
    elsewhere(arm, '/t/a');
    const result = await reconcileResources(arm, [thing('a', [], { tags: { a: '1', [AZURE_TAGS.instance]: 'europe' } })], {
      now,
      owner,
    });
    expect(result.reports.get('a')?.error).toBeInstanceOf(PlatformError);
    expect(result.reports.get('a')?.error?.reason).toBe('AzureOwnedByAnotherInstance');
    expect(arm.writes).toEqual([]);
  });

  test('an untagged resource is adopted (its tags are brought to the desired ones)', async () => {
    const arm = new FakeArm();
    arm.resources.set('/t/a', { location: 'westeurope', tags: { a: '1' }, properties: {} });
    await reconcileResources(arm, [thing('a', [], { tags: { a: '1', [AZURE_TAGS.instance]: 'europe' } })], { now, owner });
    expect(arm.resources.get('/t/a')?.tags).toEqual({ a: '1', [AZURE_TAGS.instance]: 'europe' });
  });

  test('teardown never deletes or tags another instance’s resource', async () => {
    const arm = new FakeArm();
    elsewhere(arm, '/t/a');
    const list = [{ key: 'a', id: '/t/a', kind }];
    expect((await deleteResources(arm, list, { now, owner })).finished).toBe(true);
    expect((await releaseResources(arm, list, { now, owner })).finished).toBe(true);
    expect(arm.writes).toEqual([]);
    expect(arm.resources.has('/t/a')).toBe(true);
  });

  // AKS keeps an agent pool's tags in `properties.tags` (the kind says so: tagsOf); reading the
  // top level would find none and adopt, change or delete another instance's node pool.
  describe('an AKS node pool carries its tags in its properties', () => {
    const pool: AgentPoolParams = {
      clusterId: '/subscriptions/s/resourceGroups/platform-aks/providers/Microsoft.ContainerService/managedClusters/aks',
      name: 'tnacme',
      vmSize: 'Standard_D4s_v5',
      count: 2,
      nodeLabels: { 'tenancy.dev/tenant': 'acme' },
      nodeTaints: ['tenancy.dev/tenant=acme:NoSchedule'],
      tags: { [AZURE_TAGS.instance]: 'europe' },
    };
    const id = agentPoolId(pool.clusterId, pool.name);
    const poolOf = (instance: string) => ({
      properties: {
        ...(agentPoolKind.create(pool).properties as ArmBody),
        provisioningState: 'Succeeded',
        tags: { [AZURE_TAGS.instance]: instance },
      },
    });

    test.each([
      ['another instance’s pool: refused, untouched', 'australia', 'AzureOwnedByAnotherInstance'],
      ['this instance’s pool: adopted', 'europe', undefined],
    ])('%s', async (_name, instance, reason) => {
      const arm = new FakeArm();
      arm.resources.set(id, poolOf(instance));
      const result = await reconcileResources(arm, [resource('nodePool', agentPoolKind, () => pool)], { now, owner });
      expect(result.reports.get('nodePool')?.error?.reason).toBe(reason);
      expect(arm.writes).toEqual([]);
    });

    test('teardown never deletes another instance’s pool', async () => {
      const arm = new FakeArm();
      arm.resources.set(id, poolOf('australia'));
      expect((await deleteResources(arm, [{ key: 'nodePool', id, kind: agentPoolKind }], { now, owner })).finished).toBe(true);
      expect(arm.writes).toEqual([]);
      expect(arm.resources.has(id)).toBe(true);
    });
  });
});
