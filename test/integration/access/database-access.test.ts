/**
 * Time-limited read access to a tenant's database, against the real API server and an ARM emulator
 * of this file's own (its clock is moved here, which the shared one's other users would not expect).
 *
 * Proves: an approved database-read becomes an Azure role assignment schedule request on exactly the
 * tenant's database, for exactly the approved window; Azure itself ends the assignment at expiry
 * while no operator runs; an operator started afterwards records the expiry; a revocation in
 * Azure's first five minutes waits for Azure to allow it, then removes the access.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { type ArmEmulator, startArmEmulator } from '../../../hack/arm-emulator/index.ts';
import type { Operator } from '../../../src/operator.ts';
import { ManualClock } from '../../../src/runtime/clock.ts';
import type { KubeClient, KubeObject } from '../../../src/runtime/kube-client.ts';
import { tenantAzureNames } from '../../../src/tenant/azure-names.ts';
import {
  adminClient,
  condition,
  emulatorPlatformNetwork,
  sharedControlPlane,
  startOperator,
  tenant,
  typeOf,
  waitFor,
} from '../../harness/fixtures.ts';
import { type TestUser, testUser } from '../../harness/users.ts';

const info = sharedControlPlane();
const TENANT = 'access-db';
const AR = '/apis/tenancy.dev/v1alpha1/accessrequests';
const PRINCIPAL = '0b5e6a8c-1d2f-4e3a-9b7c-6d5e4f3a2b1c';
const READER = 'acdd72a7-3385-48ef-bd42-f606fba81ae7';
const SCHEDULE_REQUESTS = 'Microsoft.Authorization/roleAssignmentScheduleRequests';
const SCHEDULES = 'Microsoft.Authorization/roleAssignmentSchedules';
const ROLE_ASSIGNMENTS = 'Microsoft.Authorization/roleAssignments';

let emulator: ArmEmulator;
let dir: string;
let clock: ManualClock;
let admin: KubeClient;
let operator: Operator | undefined;
let alice: TestUser;
let bob: TestUser;
let database: string;

type Request = KubeObject & {
  spec: Record<string, any>;
  status?: {
    phase?: string;
    grantedAt?: string;
    expiresAt?: string;
    grant?: { azure?: { scope: string; assignRequest: string; removeRequest: string } };
    conditions?: { type: string; status: string; reason: string; message: string }[];
  };
};
type ArmResource = { id: string; name: string; properties: Record<string, any> };

function start(): Promise<Operator> {
  return startOperator({
    info: {
      ...info,
      arm: {
        endpoint: emulator.endpoint,
        caFile: join(dir, 'arm-ca.pem'),
        subscriptionId: emulator.subscriptionId,
        directoryTenantId: emulator.directoryTenantId,
      },
    },
    leaseName: `access-db-${Math.random().toString(36).slice(2, 6)}`,
    clock,
  });
}

/** The operator's clock and Azure's, moved together (Azure starts and ends the windows by its own). */
function setClocks(at: Date): void {
  clock.set(at);
  emulator.clock.set(at);
}

const readRequest = (name: string, spec: Record<string, unknown> = {}): Request => ({
  apiVersion: 'tenancy.dev/v1alpha1',
  kind: 'AccessRequest',
  metadata: { name },
  spec: {
    requester: alice.name,
    tenant: TENANT,
    role: 'database-read',
    azurePrincipalId: PRINCIPAL,
    reason: 'INC-4712: orders missing since the 02:00 deployment',
    duration: '2h',
    ...spec,
  },
});
const patchSpec = (as: TestUser, name: string, spec: Record<string, unknown>) =>
  as.client.request('PATCH', `${AR}/${name}`, { body: { spec }, contentType: 'application/merge-patch+json' });
const get = (name: string) => admin.get<Request>(typeOf('AccessRequest'), name);
const touch = (name: string) =>
  admin.request('PATCH', `${AR}/${name}`, {
    body: { metadata: { annotations: { 'test/touched': String(Date.now()) } } },
    contentType: 'application/merge-patch+json',
  });
const ready = (r: Request) => r.status?.conditions?.find((c) => c.type === 'Ready');

function waitFor2(name: string, what: string, predicate: (r: Request) => boolean, timeoutMs = 30_000): Promise<Request> {
  return waitFor(
    `${name}: ${what}`,
    async () => {
      const r = await get(name);
      return predicate(r) ? r : undefined;
    },
    timeoutMs,
  );
}

/** Role assignments Azure holds for the principal on the tenant's database: the access itself. */
const readerAssignments = () =>
  (emulator.state.list(ROLE_ASSIGNMENTS) as ArmResource[]).filter(
    (a) => a.properties.principalId === PRINCIPAL && a.properties.scope.toLowerCase() === database.toLowerCase(),
  );

beforeAll(async () => {
  emulator = await startArmEmulator({ platformNetwork: emulatorPlatformNetwork(), behaviours: { rbacPropagationDelayMs: 300 } });
  dir = mkdtempSync(join(tmpdir(), 'access-db-'));
  writeFileSync(join(dir, 'arm-ca.pem'), emulator.ca);
  clock = new ManualClock(emulator.clock.now());
  admin = adminClient(info.adminKubeconfig);
  alice = testUser(info, 'alice@contoso.example', ['tenant-access-requesters']);
  bob = testUser(info, 'bob@contoso.example', ['tenant-access-approvers']);
  operator = await start();
  await admin.apply(typeOf('Tenant'), tenant(TENANT), 'test');
  const t = await waitFor(
    'the tenant’s database',
    async () => {
      const x = await admin.get(typeOf('Tenant'), TENANT);
      return condition(x, 'DatabaseReady')?.status === 'True' ? x : undefined;
    },
    90_000,
  );
  expect(t).toBeDefined();
  const db = (emulator.state.list('Microsoft.Sql/servers/databases') as ArmResource[]).find(
    (d) => d.name === 'sqldb-access-db-dev',
  );
  database = db?.id ?? '';
  expect(database).toMatch(/\/databases\/sqldb-access-db-dev$/);
});

afterAll(async () => {
  const list = await admin.request<{ items: Request[] }>('GET', AR).catch(() => ({ items: [] as Request[] }));
  for (const r of list.items.filter((x) => x.spec.tenant === TENANT))
    await admin.request('DELETE', `${AR}/${r.metadata.name}`).catch(() => {});
  await waitFor('access requests gone', async () => {
    const left = await admin.request<{ items: Request[] }>('GET', AR);
    return left.items.every((r) => r.spec.tenant !== TENANT);
  }).catch(() => {});
  await admin.request('DELETE', `/apis/tenancy.dev/v1alpha1/tenants/${TENANT}`).catch(() => {});
  // The clock moved past the auto-pause delay: the serverless database paused, and the operator does not
  // wake it to mark it orphaned (UpdateNotAllowedOnPausedDatabase); a login (resuming it) lets it go.
  emulator?.sql.connect(tenantAzureNames(TENANT, 'development').sqlDatabase);
  await waitFor('tenant gone', async () => {
    try {
      await admin.get(typeOf('Tenant'), TENANT);
      return false;
    } catch {
      return true;
    }
  }).catch(() => {});
  await operator?.stop();
  await emulator?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('database-read', () => {
  const R1 = 'alice-db-read';

  test('an approved request becomes a time-bound Azure role assignment on exactly the tenant’s database', async () => {
    setClocks(new Date(Math.max(clock.now().getTime(), emulator.clock.now().getTime())));
    await alice.client.request('POST', AR, { body: readRequest(R1) });
    await patchSpec(bob, R1, { approval: { approver: bob.name, decision: 'Approved' } });
    const r = await waitFor2(R1, 'Active', (x) => x.status?.phase === 'Active');
    expect(r.status?.grant?.azure?.scope).toBe(database);
    const requests = (emulator.state.list(SCHEDULE_REQUESTS) as ArmResource[]).filter(
      (q) => q.name === r.status?.grant?.azure?.assignRequest,
    );
    expect(requests).toHaveLength(1);
    expect(requests[0]?.properties).toMatchObject({
      requestType: 'AdminAssign',
      status: 'Provisioned',
      principalId: PRINCIPAL,
      scope: database,
      roleDefinitionId: expect.stringMatching(new RegExp(`/roleDefinitions/${READER}$`)),
      justification: expect.stringContaining(`approved by ${bob.name}`),
    });
    // The window Azure keeps is the one the request records: approval time plus the approved duration.
    const info = requests[0]?.properties.scheduleInfo;
    expect(Date.parse(info.startDateTime)).toBe(Date.parse(r.status?.grantedAt ?? ''));
    expect(Date.parse(info.expiration.endDateTime)).toBe(Date.parse(r.status?.expiresAt ?? ''));
    expect(Date.parse(r.status?.expiresAt ?? '') - Date.parse(r.status?.grantedAt ?? '')).toBe(2 * 3600_000);
    // The reason a person typed never leaves the cluster.
    expect(JSON.stringify(requests)).not.toContain('INC-4712');
    const schedules = (emulator.state.list(SCHEDULES) as ArmResource[]).filter((s) => s.properties.principalId === PRINCIPAL);
    expect(schedules.map((s) => Date.parse(s.properties.endDateTime))).toEqual([Date.parse(r.status?.expiresAt ?? '')]);
    expect(readerAssignments()).toHaveLength(1);
  });

  test('Azure ends the assignment itself at expiry, while no operator runs; an operator started later records it', async () => {
    const r = await get(R1);
    await operator?.stop();
    operator = undefined;
    setClocks(new Date(Date.parse(r.status?.expiresAt ?? '') + 1000));
    expect(readerAssignments()).toEqual([]);
    expect((emulator.state.list(SCHEDULES) as ArmResource[]).filter((s) => s.properties.principalId === PRINCIPAL)).toEqual([]);
    const mark = emulator.mark();
    operator = await start();
    const expired = await waitFor2(R1, 'Expired', (x) => x.status?.phase === 'Expired');
    expect(ready(expired)?.reason).toBe('AccessExpired');
    // The operator checked: its AdminRemove found nothing left to remove (a start-up pass and the
    // informer's event may both ask before the phase is recorded: every answer is that refusal).
    const removes = emulator.writes(mark).filter((w) => w.path.includes(r.status?.grant?.azure?.removeRequest ?? 'none'));
    expect(removes.length).toBeGreaterThanOrEqual(1);
    expect(new Set(removes.map((w) => w.status))).toEqual(new Set([400]));
  });

  test('a revocation in Azure’s first five minutes waits until Azure allows it, then removes the access', async () => {
    const R2 = 'alice-db-revoked';
    await alice.client.request('POST', AR, { body: readRequest(R2, { duration: '1h' }) });
    await patchSpec(bob, R2, { approval: { approver: bob.name, decision: 'Approved' } });
    const active = await waitFor2(R2, 'Active', (x) => x.status?.phase === 'Active');
    expect(readerAssignments()).toHaveLength(1);
    await patchSpec(alice, R2, { revocation: { by: alice.name } });
    const waiting = await waitFor2(R2, 'RemovalNotYetAllowed', (x) => ready(x)?.reason === 'RemovalNotYetAllowed');
    expect(waiting.status?.phase).toBe('Active');
    expect(readerAssignments()).toHaveLength(1);
    setClocks(new Date(Date.parse(active.status?.grantedAt ?? '') + 5 * 60_000));
    await touch(R2);
    const revoked = await waitFor2(R2, 'Revoked', (x) => x.status?.phase === 'Revoked');
    expect(ready(revoked)?.reason).toBe('AccessRevoked');
    expect(readerAssignments()).toEqual([]);
    const removal = (emulator.state.list(SCHEDULE_REQUESTS) as ArmResource[]).find(
      (q) => q.name === active.status?.grant?.azure?.removeRequest,
    );
    expect(removal?.properties).toMatchObject({ requestType: 'AdminRemove', status: 'Revoked' });
  });
});
