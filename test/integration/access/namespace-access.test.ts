/**
 * Time-limited access to a tenant's namespace, against the real API server with config/access
 * installed (the globalSetup does it) and real people: x509 users whose certificates carry their
 * groups. alice is a requester and an approver, bob an approver, carol holds the approver
 * ClusterRole without being in the approvers group, dave is a requester only.
 *
 * Proves: requests cannot be forged (requester, approver, revoker are who sent the write); a
 * self-approval and an approval from outside the group are refused at admission; the approved
 * role is granted and usable by the requester, nothing more; nobody can edit an approved request;
 * the grant is removed at expiry, and also when the expiry passed while no operator ran (with a
 * grant whose request is gone); every step is an Event; nothing is granted while the admission
 * policy is missing.
 */
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { Operator } from '../../../src/operator.ts';
import { ManualClock } from '../../../src/runtime/clock.ts';
import { KubeApiError, type KubeClient, type KubeObject } from '../../../src/runtime/kube-client.ts';
import { adminClient, sharedControlPlane, startOperator, tenant, typeOf, waitFor } from '../../harness/fixtures.ts';
import { type TestUser, testUser } from '../../harness/users.ts';

const info = sharedControlPlane();
// Kubernetes-only: the namespace roles need no Azure (database-access.test.ts has its own emulator).
const { arm: _arm, ...kubernetesOnly } = info;
const TENANT = 'access-ns';
const NS = 'tenant-access-ns-dev';
const AR = '/apis/tenancy.dev/v1alpha1/accessrequests';
const clock = new ManualClock(new Date());
let admin: KubeClient;
let operator: Operator | undefined;
let alice: TestUser;
let bob: TestUser;
let carol: TestUser;
let dave: TestUser;

type Request = KubeObject & {
  spec: Record<string, any>;
  status?: {
    phase?: string;
    grantedAt?: string;
    expiresAt?: string;
    endedAt?: string;
    conditions?: { type: string; status: string; reason: string; message: string }[];
  };
};

const start = (config: Record<string, unknown> = {}) =>
  startOperator({ info: kubernetesOnly, leaseName: `access-ns-${Math.random().toString(36).slice(2, 6)}`, clock, config });

function request(name: string, as: TestUser, spec: Record<string, unknown> = {}): Request {
  return {
    apiVersion: 'tenancy.dev/v1alpha1',
    kind: 'AccessRequest',
    metadata: { name },
    spec: {
      requester: as.name,
      tenant: TENANT,
      role: 'namespace-view',
      reason: 'INC-4711: checkout pods crash-loop since 09:12',
      duration: '1h',
      ...spec,
    },
  };
}

const create = (as: TestUser | KubeClient, body: Request) =>
  ('client' in as ? as.client : as).request<Request>('POST', AR, { body });
const patchSpec = (as: TestUser | KubeClient, name: string, spec: Record<string, unknown>) =>
  ('client' in as ? as.client : as).request<Request>('PATCH', `${AR}/${name}`, {
    body: { spec },
    contentType: 'application/merge-patch+json',
  });
const approve = (as: TestUser, name: string, decision: 'Approved' | 'Denied' = 'Approved', approver = as.name) =>
  patchSpec(as, name, { approval: { approver, decision } });
const get = (name: string) => admin.get<Request>(typeOf('AccessRequest'), name);
/** Any write re-queues a request; the operator also requeues itself at expiry (real time), which a moved clock does not reach. */
const touch = (name: string) =>
  admin.request('PATCH', `${AR}/${name}`, {
    body: { metadata: { annotations: { 'test/touched': String(Date.now()) } } },
    contentType: 'application/merge-patch+json',
  });

/** The message of a refused write (403 from the admission policy, 422 from the CRD's rules, 403 from RBAC). */
async function refused(write: Promise<unknown>): Promise<string> {
  try {
    await write;
  } catch (err) {
    if (err instanceof KubeApiError && (err.code === 403 || err.code === 422)) return err.message;
    throw err;
  }
  throw new Error('the write was admitted');
}

function waitPhase(name: string, phase: string, timeoutMs = 30_000): Promise<Request> {
  return waitFor(
    `${name} ${phase}`,
    async () => {
      const r = await get(name);
      const ready = r.status?.conditions?.find((c) => c.type === 'Ready');
      if (r.status?.phase !== phase && ready)
        throw new Error(`phase ${r.status?.phase}, Ready ${ready.reason}: ${ready.message}`);
      return r.status?.phase === phase ? r : undefined;
    },
    timeoutMs,
  );
}

async function roleBinding(name: string): Promise<KubeObject | undefined> {
  try {
    return await admin.get(typeOf('RoleBinding'), `access-${name}`, NS);
  } catch (err) {
    if (err instanceof KubeApiError && err.code === 404) return undefined;
    throw err;
  }
}

/** Whether `who` can really list the tenant's pods (a real request, not a review). */
async function canListPods(who: TestUser): Promise<boolean> {
  try {
    await who.client.request('GET', `/api/v1/namespaces/${NS}/pods`);
    return true;
  } catch (err) {
    if (err instanceof KubeApiError && err.code === 403) return false;
    throw err;
  }
}

async function can(who: TestUser, verb: string, resource: string, subresource?: string): Promise<boolean> {
  const review = await who.client.request<{ status: { allowed: boolean } }>(
    'POST',
    '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews',
    {
      body: {
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SelfSubjectAccessReview',
        spec: { resourceAttributes: { namespace: NS, verb, resource, ...(subresource ? { subresource } : {}) } },
      },
    },
  );
  return review.status.allowed;
}

async function events(name: string): Promise<{ reason: string; message: string; type: string }[]> {
  const list = await admin.request<{
    items: { reason: string; message: string; type: string; involvedObject: { kind: string; name: string } }[];
  }>('GET', '/api/v1/namespaces/default/events');
  return list.items.filter((e) => e.involvedObject.kind === 'AccessRequest' && e.involvedObject.name === name);
}

async function gauge(name: string): Promise<{ labels: Partial<Record<string, string | number>>; value: number }[]> {
  const metric = operator?.metrics.registry.getSingleMetric(name);
  return metric ? (await metric.get()).values : [];
}

beforeAll(async () => {
  admin = adminClient(info.adminKubeconfig);
  alice = testUser(info, 'alice@contoso.example', ['tenant-access-requesters', 'tenant-access-approvers']);
  bob = testUser(info, 'bob@contoso.example', ['tenant-access-approvers']);
  carol = testUser(info, 'carol@contoso.example', ['platform-readers']);
  dave = testUser(info, 'dave@contoso.example', ['tenant-access-requesters']);
  // carol may write AccessRequests through RBAC, yet is not in the approvers group.
  await admin.apply(
    typeOf('ClusterRoleBinding'),
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: 'test-carol-approver-role' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'tenant-access-approver' },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: carol.name }],
    },
    'test',
  );
  operator = await start();
  await admin.apply(typeOf('Tenant'), tenant(TENANT), 'test');
  await waitFor('the tenant namespace', () => admin.get(typeOf('Namespace'), NS));
});

afterAll(async () => {
  // Deleted while an operator runs: each finalizer goes once the grant is gone.
  const list = await admin.request<{ items: Request[] }>('GET', AR);
  const mine = list.items.filter((r) => r.spec.tenant === TENANT);
  for (const r of mine) await admin.request('DELETE', `${AR}/${r.metadata.name}`).catch(() => {});
  await waitFor('access requests gone', async () => {
    const left = await admin.request<{ items: Request[] }>('GET', AR);
    return left.items.every((r) => r.spec.tenant !== TENANT);
  }).catch(() => {});
  await admin.request('DELETE', '/apis/tenancy.dev/v1alpha1/tenants/access-ns').catch(() => {});
  await waitFor('tenant gone', async () => {
    try {
      await admin.get(typeOf('Tenant'), TENANT);
      return false;
    } catch {
      return true;
    }
  }).catch(() => {});
  await operator?.stop();
  await admin
    .request('DELETE', '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/test-carol-approver-role')
    .catch(() => {});
});

describe('admission: a request says who asks, and cannot be forged', () => {
  test('naming someone else as requester is refused', async () => {
    expect(await refused(create(alice, request('forged', alice, { requester: bob.name })))).toContain(
      `spec.requester must be your own username, ${alice.name}`,
    );
  });

  test('a duration above the configured maximum (8h) is refused', async () => {
    expect(await refused(create(alice, request('too-long', alice, { duration: '9h' })))).toContain(
      'spec.duration may be at most 8h',
    );
  });

  test('a role the configuration does not define is refused', async () => {
    expect(await refused(create(alice, request('root', alice, { role: 'cluster-admin' })))).toContain(
      'spec.role must be one of: database-read namespace-debug namespace-view',
    );
  });

  test('a request cannot arrive approved', async () => {
    const body = request('pre-approved', dave, { approval: { approver: bob.name, decision: 'Approved' } });
    expect(await refused(create(dave, body))).toContain('a request is created without approval');
  });

  test('the schema refuses what no configuration allows: under five minutes, a principal that is no Entra object id', async () => {
    expect(await refused(create(alice, request('too-short', alice, { duration: '4m' })))).toContain('must be at least 5m');
    expect(await refused(create(alice, request('bad-principal', alice, { azurePrincipalId: 'alice' })))).toContain(
      'spec.azurePrincipalId',
    );
  });

  test('someone without the requester role cannot ask at all (RBAC)', async () => {
    expect(await refused(create(carol, request('carol-asks', carol)))).toMatch(/forbidden/i);
  });
});

describe('approval, grant and expiry', () => {
  const R1 = 'alice-view';

  beforeAll(async () => {
    await create(alice, request(R1, alice));
    await waitPhase(R1, 'Pending');
  });

  test('until approved the request waits, and the requester has no access', async () => {
    const r = await get(R1);
    expect(r.status?.conditions?.find((c) => c.type === 'Ready')).toMatchObject({ status: 'False', reason: 'AwaitingApproval' });
    expect(await roleBinding(R1)).toBeUndefined();
    expect(await canListPods(alice)).toBe(false);
    expect((await events(R1)).map((e) => e.reason)).toContain('AccessRequested');
  });

  test('a self-approval is refused, although the requester is in the approvers group', async () => {
    expect(await refused(approve(alice, R1))).toContain('cannot be approved by its requester');
  });

  test('approving in someone else’s name is refused', async () => {
    expect(await refused(approve(alice, R1, 'Approved', bob.name))).toContain(
      `spec.approval.approver must be your own username, ${alice.name}`,
    );
  });

  test('an approval by someone outside the approvers group is refused, whatever RBAC lets them write', async () => {
    expect(await refused(approve(carol, R1))).toContain('only members of tenant-access-approvers may approve or deny access');
  });

  test('an approver approves: exactly that role is granted, and the requester can use it', async () => {
    const grantedAtEarliest = clock.now().getTime() - 1000;
    await approve(bob, R1);
    const r = await waitPhase(R1, 'Active');
    expect(Date.parse(r.status?.expiresAt ?? '') - Date.parse(r.status?.grantedAt ?? '')).toBe(3600_000);
    expect(Date.parse(r.status?.grantedAt ?? '')).toBeGreaterThanOrEqual(grantedAtEarliest);
    expect(await roleBinding(R1)).toMatchObject({
      metadata: { labels: { 'tenancy.dev/access-request': R1 }, annotations: { 'tenancy.dev/expires-at': r.status?.expiresAt } },
      roleRef: { kind: 'ClusterRole', name: 'tenant-access-view' },
      subjects: [{ kind: 'User', name: alice.name }],
    });
    expect(await canListPods(alice)).toBe(true);
    // View, not more: no Secrets, no shell; and nobody else got anything.
    expect(await can(alice, 'get', 'secrets')).toBe(false);
    expect(await can(alice, 'create', 'pods', 'exec')).toBe(false);
    expect(await canListPods(dave)).toBe(false);
    const reasons = (await events(R1)).map((e) => e.reason);
    expect(reasons).toEqual(expect.arrayContaining(['AccessRequested', 'AccessApproved', 'AccessGranted']));
    expect((await events(R1)).find((e) => e.reason === 'AccessGranted')?.message).toContain(`approved by ${bob.name}`);
    // The reason someone typed stays in the object: never in an Event.
    expect((await events(R1)).some((e) => e.message.includes('INC-4711'))).toBe(false);
    expect(await gauge('tenant_operator_access_grants_active')).toEqual([
      { labels: { tenant: TENANT, role: 'namespace-view' }, value: 1 },
    ]);
    expect(await gauge('tenant_operator_access_grant_expiry_timestamp_seconds')).toEqual([
      { labels: { request: R1, tenant: TENANT, role: 'namespace-view' }, value: Date.parse(r.status?.expiresAt ?? '') / 1000 },
    ]);
  });

  test('after approval nobody can change the duration, role, tenant or approval: not the requester, not an approver, not an admin', async () => {
    for (const who of [alice, bob] as const)
      expect(await refused(patchSpec(who, R1, { duration: '8h' }))).toContain('duration is immutable');
    expect(await refused(patchSpec(admin, R1, { duration: '8h' }))).toContain('duration is immutable');
    expect(await refused(patchSpec(admin, R1, { role: 'namespace-debug' }))).toContain('role is immutable');
    expect(await refused(patchSpec(admin, R1, { tenant: 'other' }))).toContain('tenant is immutable');
    expect(await refused(patchSpec(admin, R1, { approval: { approver: bob.name, decision: 'Denied' } }))).toContain(
      'an approval is final',
    );
    expect(await refused(patchSpec(admin, R1, { approval: null }))).toContain('an approval is final');
    expect((await get(R1)).status?.expiresAt).toBe((await get(R1)).status?.expiresAt);
  });

  test('kubectl get accessrequests shows tenant, role, requester, approver, phase and expiry', () => {
    const out = execFileSync('kubectl', ['--kubeconfig', info.adminKubeconfig, 'get', 'accessrequests', R1], {
      encoding: 'utf8',
    });
    const [header, row] = out.trim().split('\n');
    expect(header?.split(/\s+/)).toEqual(['NAME', 'TENANT', 'ROLE', 'REQUESTER', 'APPROVER', 'PHASE', 'EXPIRES', 'AGE']);
    expect(row).toMatch(
      new RegExp(
        `^${R1}\\s+${TENANT}\\s+namespace-view\\s+${alice.name}\\s+${bob.name}\\s+Active\\s+\\d{4}-\\d\\d-\\d\\dT\\S+Z\\s+\\S+$`,
      ),
    );
  });

  test('at expiry the grant is removed and the requester loses access', async () => {
    const { expiresAt } = (await get(R1)).status ?? {};
    clock.set(new Date(Date.parse(expiresAt ?? '') + 1000));
    await touch(R1);
    const r = await waitPhase(R1, 'Expired');
    expect(r.status?.endedAt).toBeDefined();
    expect(await roleBinding(R1)).toBeUndefined();
    expect(await canListPods(alice)).toBe(false);
    expect((await events(R1)).map((e) => e.reason)).toContain('AccessExpired');
    expect(await gauge('tenant_operator_access_grant_expiry_timestamp_seconds')).toEqual([]);
    expect(await gauge('tenant_operator_access_grants_active')).toEqual([]);
  });
});

describe('expiry while no operator runs', () => {
  const R2 = 'alice-debug';

  test('a grant that expired during an outage, and one whose request is gone, are removed when an operator starts', async () => {
    await create(alice, request(R2, alice, { role: 'namespace-debug', duration: '30m' }));
    await approve(bob, R2);
    const active = await waitPhase(R2, 'Active');
    expect(await can(alice, 'create', 'pods', 'exec')).toBe(true);
    await operator?.stop();
    operator = undefined;
    // While nobody runs the operator the RoleBinding stays (README says so: the alert pages), and
    // meanwhile someone leaves a grant behind whose AccessRequest does not exist.
    clock.set(new Date(Date.parse(active.status?.expiresAt ?? '') + 3600_000));
    await admin.apply(
      typeOf('RoleBinding'),
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'RoleBinding',
        metadata: { name: 'access-ghost', namespace: NS, labels: { 'tenancy.dev/access-request': 'ghost' } },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'tenant-access-debug' },
        subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: dave.name }],
      },
      'test',
    );
    expect(await can(dave, 'create', 'pods', 'exec')).toBe(true);

    operator = await start();
    // No touch: starting is enough.
    await waitPhase(R2, 'Expired');
    expect(await roleBinding(R2)).toBeUndefined();
    expect(await can(alice, 'create', 'pods', 'exec')).toBe(false);
    await waitFor('the orphaned grant removed', async () => (await roleBinding('ghost')) === undefined);
    expect(await can(dave, 'create', 'pods', 'exec')).toBe(false);
  });
});

describe('revocation and denial', () => {
  const R3 = 'alice-revoked';
  const R4 = 'dave-denied';

  test('the requester ends an active grant early; a third person cannot', async () => {
    await create(alice, request(R3, alice));
    await approve(bob, R3);
    await waitPhase(R3, 'Active');
    expect(await refused(patchSpec(dave, R3, { revocation: { by: dave.name } }))).toContain(
      'only the requester or an approver may revoke access',
    );
    expect(await refused(patchSpec(dave, R3, { revocation: { by: alice.name } }))).toContain(
      `spec.revocation.by must be your own username, ${dave.name}`,
    );
    await patchSpec(alice, R3, { revocation: { by: alice.name, comment: 'fixed' } });
    await waitPhase(R3, 'Revoked');
    expect(await roleBinding(R3)).toBeUndefined();
    expect(await canListPods(alice)).toBe(false);
    expect((await events(R3)).map((e) => e.reason)).toContain('AccessRevoked');
  });

  test('a denied request grants nothing, and stays denied', async () => {
    await create(dave, request(R4, dave));
    await approve(bob, R4, 'Denied');
    const r = await waitPhase(R4, 'Denied');
    expect(r.status?.conditions?.find((c) => c.type === 'Ready')?.reason).toBe('AccessDenied');
    expect(await roleBinding(R4)).toBeUndefined();
    expect(await refused(patchSpec(alice, R4, { approval: { approver: alice.name, decision: 'Approved' } }))).toContain(
      'an approval is final',
    );
  });
});

describe('fail closed', () => {
  const R5 = 'alice-unchecked';

  test('an operator that cannot find the admission policy grants nothing', async () => {
    await operator?.stop();
    operator = await start({ access: { admissionPolicyName: 'no-such-policy' } });
    await create(alice, request(R5, alice));
    await approve(bob, R5);
    const r = await waitFor('AccessPolicyMissing', async () => {
      const x = await get(R5);
      return x.status?.conditions?.find((c) => c.type === 'Ready')?.reason === 'AccessPolicyMissing' ? x : undefined;
    });
    expect(r.status?.phase).toBe('Approved');
    expect(r.status?.grantedAt).toBeUndefined();
    expect(r.status?.conditions?.find((c) => c.type === 'Ready')?.message).toContain('nothing is granted');
    // Said once as a Warning Event, not on every retry.
    expect((await events(R5)).filter((e) => e.reason === 'AccessPolicyMissing').map((e) => e.type)).toEqual(['Warning']);
    expect(await roleBinding(R5)).toBeUndefined();
    await operator.stop();
    operator = await start();
    await waitPhase(R5, 'Active');
    expect(await canListPods(alice)).toBe(true);
  });
});

// Last: it moves the operator's clock a day past every request created so far.
describe('approval deadline', () => {
  test('a request nobody approves in time expires, and can no longer be approved', async () => {
    const R6 = 'dave-unanswered';
    await create(dave, request(R6, dave));
    const pending = await waitPhase(R6, 'Pending');
    clock.set(new Date(Date.parse(pending.metadata.creationTimestamp ?? '') + 24 * 3600_000 + 1000));
    await touch(R6);
    const r = await waitPhase(R6, 'Expired');
    expect(r.status?.conditions?.find((c) => c.type === 'Ready')?.message).toContain('Nobody approved');
    expect(await refused(approve(bob, R6))).toContain('the request is Expired and can no longer be approved: file a new one');
  });
});
