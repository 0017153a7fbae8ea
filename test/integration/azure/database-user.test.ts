/**
 * The tenant's contained database user, end to end over the real tedious driver against the shared
 * ARM emulator's TDS endpoint (TLS checked against `<server>.database.windows.net`, an Entra token
 * the emulator validates): a real operator creates it with exactly reader, writer and EXECUTE
 * (status.database shows them); then TenantDatabaseAccess is driven directly, as the reconciler
 * drives it: a second pass runs no DDL, a removed user is repaired, a hand-made over-privileged
 * user is reported (and reduced when configured), a forged token is refused with SQL error 18456,
 * a failed statement surfaces with its SQL error number, and the drift interval is honoured.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { sqlDataPlaneOptionsOf } from '../../../src/azure/sql-data-plane.ts';
import { resolveBackupPolicy } from '../../../src/backup/policy.ts';
import { TenantBackup } from '../../../src/backup/tenant-backup.ts';
import type { OperatorConfig } from '../../../src/config.ts';
import type { AzureFacts, OperatorContext } from '../../../src/context.ts';
import { ManualClock } from '../../../src/runtime/clock.ts';
import type { KubeClient } from '../../../src/runtime/kube-client.ts';
import {
  type DatabaseAccessResult,
  type DatabaseAccessStatus,
  TenantDatabaseAccess,
} from '../../../src/tenant/database-access.ts';
import {
  adminClient,
  sharedControlPlane,
  startOperator,
  type TenantWithStatus,
  tenant,
  typeOf,
  waitFor,
  waitForReady,
} from '../../harness/fixtures.ts';
import { armAdmin, BackupTestContext, type StoredTenant } from '../backup/support.ts';

const info = sharedControlPlane();
const arm = info.arm;
const NAME = 'dbuser-acme';

interface Statement {
  seq: number;
  database: string;
  statement: string;
  error?: number;
}

let admin: KubeClient;
let context: BackupTestContext;
let stored: StoredTenant;
let facts: AzureFacts;
let server: string;

const statementsSince = async (seq: number): Promise<Statement[]> =>
  (await armAdmin<{ value: Statement[] }>(arm, 'GET', `/_emulator/sql-statements?since=${seq}`)).value.filter(
    (s) => s.database.toLowerCase() === facts.databaseName?.toLowerCase(),
  );
const lastSeq = async (): Promise<number> =>
  (await armAdmin<{ value: Statement[] }>(arm, 'GET', '/_emulator/sql-statements')).value.at(-1)?.seq ?? 0;
/** What ran besides the catalogue and backup-history reads. */
const changesSince = async (seq: number) =>
  (await statementsSince(seq)).filter((s) => !/^select\b/i.test(s.statement)).map((s) => s.statement);
const byHand = (sql: string) => armAdmin(arm, 'POST', '/_emulator/sql', { server, database: facts.databaseName, sql });
const catalogue = () =>
  armAdmin<{
    principals: { name: string; sid: string }[];
    roleMembers: { role: string; member: string }[];
    permissions: { member: string; permission: string; state: string }[];
  }>(arm, 'GET', `/_emulator/sql-catalogue?server=${server}&database=${facts.databaseName}`);

function withConfig(
  change: (azure: NonNullable<OperatorConfig['azure']>) => NonNullable<OperatorConfig['azure']>,
  clock = context.ctx.clock,
) {
  const azure = context.ctx.config.azure as NonNullable<OperatorConfig['azure']>;
  return { ...context.ctx, clock, config: { ...context.ctx.config, azure: change(azure) } } as OperatorContext;
}

function step(ctx: OperatorContext = context.ctx, credential = context.clients.credential): TenantDatabaseAccess {
  return new TenantDatabaseAccess(ctx, sqlDataPlaneOptionsOf({ ...context.clients, credential }, ctx.config.azure?.sqlDataPlane));
}

const condition = (r: DatabaseAccessResult, type: string) => r.conditions.find((c) => c.type === type);

beforeAll(async () => {
  admin = adminClient(info.adminKubeconfig);
  const operator = await startOperator({ info, leaseName: 'dbuser' });
  try {
    await waitFor('leadership', () => operator.isLeader);
    await admin.apply(typeOf('Tenant'), tenant(NAME, { tier: 'Medium', environment: 'Development' }), 'test');
    await waitForReady(admin, NAME, 60_000);
    // The database step runs after the Azure step of a pass that found the tenant's Azure side standing.
    stored = (await waitFor(
      'status.database',
      async () => {
        const t = (await admin.get(typeOf('Tenant'), NAME)) as unknown as TenantWithStatus & StoredTenant;
        return t.status?.database?.user ? t : undefined;
      },
      30_000,
    )) as StoredTenant;
  } finally {
    await operator.stop();
  }
  facts = stored.status?.azure as AzureFacts;
  server = facts.sqlServerFqdn?.split('.')[0] ?? '';
  context = new BackupTestContext(admin, arm, new ManualClock(new Date()));
}, 90_000);

afterAll(async () => {
  if (!admin) return;
  const operator = await startOperator({ info, leaseName: 'dbuser-cleanup' });
  try {
    await admin.delete(typeOf('Tenant'), NAME).catch(() => {});
    await waitFor('tenant released', async () => !(await admin.get(typeOf('Tenant'), NAME).catch(() => undefined))).catch(
      () => {},
    );
  } finally {
    await operator.stop();
  }
}, 60_000);

describe('the application’s database user', () => {
  test('the operator created it with exactly reader, writer and EXECUTE, visible in status, by its client id', async () => {
    const user = stored.status?.database?.user ?? '';
    expect(user).toMatch(/^id-/);
    expect(stored.status?.database).toMatchObject({ user, roles: ['db_datareader', 'db_datawriter'], permissions: ['EXECUTE'] });
    expect(stored.status?.conditions?.find((c) => c.type === 'DatabaseAccessReady')).toMatchObject({
      status: 'True',
      reason: 'DatabaseUserReady',
    });
    const all = await statementsSince(0);
    expect(all.filter((s) => !/^select\b/i.test(s.statement)).map((s) => s.statement)).toEqual([
      `CREATE USER [${user}] FROM EXTERNAL PROVIDER WITH OBJECT_ID = '${facts.identityClientId}'`,
      `ALTER ROLE [db_datareader] ADD MEMBER [${user}]`,
      `ALTER ROLE [db_datawriter] ADD MEMBER [${user}]`,
      `GRANT EXECUTE TO [${user}]`,
    ]);
    const cat = await catalogue();
    expect(cat.principals).toEqual([{ name: user, type: 'E', sid: facts.identityClientId?.toLowerCase() }]);
    expect(cat.roleMembers.map((m) => m.role).sort()).toEqual(['db_datareader', 'db_datawriter']);
    expect(cat.permissions).toEqual([{ member: user, permission: 'EXECUTE', state: 'GRANT' }]);
    // And the backup freshness came from the same data plane.
    expect(all.some((s) => /sys\.dm_database_backups/.test(s.statement))).toBe(true);
  });

  test('a second pass reads the catalogue and runs no DDL', async () => {
    const mark = await lastSeq();
    const result = await step().reconcile(stored, facts, stored.status?.database);
    expect(condition(result, 'DatabaseAccessReady')).toMatchObject({ status: 'True', reason: 'DatabaseUserReady' });
    expect(result.changes).toEqual([]);
    expect(await changesSince(mark)).toEqual([]);
    // The newest backup (for BackupHealthy) is read over the same session: no second login.
    expect((await statementsSince(mark)).map((s) => s.statement.split(' FROM ')[1]?.split(' ')[0])).toEqual([
      'sys.dm_database_backups',
      'sys.database_principals',
      'sys.database_role_members',
      'sys.database_permissions',
    ]);
    expect(result.newestBackup?.at).toBeInstanceOf(Date);
  });

  test('a user dropped by hand is created again with its rights', async () => {
    const user = stored.status?.database?.user ?? '';
    await byHand(`DROP USER [${user}]`);
    const mark = await lastSeq();
    const result = await step().reconcile(stored, facts, stored.status?.database);
    expect(condition(result, 'DatabaseAccessReady')).toMatchObject({ status: 'True' });
    expect(await changesSince(mark)).toEqual([
      `CREATE USER [${user}] FROM EXTERNAL PROVIDER WITH OBJECT_ID = '${facts.identityClientId}'`,
      `ALTER ROLE [db_datareader] ADD MEMBER [${user}]`,
      `ALTER ROLE [db_datawriter] ADD MEMBER [${user}]`,
      `GRANT EXECUTE TO [${user}]`,
    ]);
  });

  test('within the drift interval a verified database is trusted: no session at all', async () => {
    const clock = new ManualClock(new Date());
    const ctx = withConfig((a) => ({ ...a, driftCheckIntervalSeconds: 1800 }), clock);
    const first = await step(ctx).reconcile(stored, facts, stored.status?.database);
    const verified = first.status as DatabaseAccessStatus;
    const withConditions = {
      ...stored,
      status: {
        ...stored.status,
        conditions: first.conditions.map((c) => ({ ...c, lastTransitionTime: clock.now().toISOString() })),
      },
    } as StoredTenant;
    const mark = await lastSeq();
    clock.advance(29 * 60_000);
    const trusted = await step(ctx).reconcile(withConditions, facts, verified);
    expect(await statementsSince(mark)).toEqual([]);
    expect(condition(trusted, 'DatabaseAccessReady')).toMatchObject({ status: 'True', reason: 'DatabaseUserReady' });
    // Looked at again when the interval ends (verifiedAt is stored to the second).
    expect(trusted.requeueAfterMs).toBeGreaterThan(59_000);
    expect(trusted.requeueAfterMs).toBeLessThanOrEqual(60_000);
    clock.advance(60_000);
    await step(ctx).reconcile(withConditions, facts, verified);
    expect((await statementsSince(mark)).length).toBe(4);
  });

  test('a paused serverless database is not woken to check its users: what was last found stands', async () => {
    const first = await step().reconcile(stored, facts, stored.status?.database);
    const withConditions = {
      ...stored,
      status: {
        ...stored.status,
        conditions: first.conditions.map((c) => ({ ...c, lastTransitionTime: new Date().toISOString() })),
      },
    } as StoredTenant;
    const mark = await lastSeq();
    const paused = await step().reconcile(withConditions, { ...facts, databaseStatus: 'Paused' }, first.status);
    expect(await statementsSince(mark)).toEqual([]);
    expect(condition(paused, 'DatabaseAccessReady')).toMatchObject({ status: 'True', reason: 'DatabaseUserReady' });
    expect(paused.newestBackup).toBeUndefined();
  });
});

describe('the migration principal', () => {
  const GROUP = { name: 'tenant-migrations', objectId: '3c3c3c3c-5d5d-4e6e-8f7f-909090909090' };

  test('the configured group gets db_ddladmin with reader and writer; the application still has no DDL', async () => {
    const ctx = withConfig((a) => ({ ...a, sqlDataPlane: { ...a.sqlDataPlane, migrationGroup: GROUP } }));
    const mark = await lastSeq();
    const result = await step(ctx).reconcile(stored, facts, stored.status?.database);
    expect(await changesSince(mark)).toEqual([
      `CREATE USER [${GROUP.name}] FROM EXTERNAL PROVIDER WITH OBJECT_ID = '${GROUP.objectId}'`,
      `ALTER ROLE [db_datareader] ADD MEMBER [${GROUP.name}]`,
      `ALTER ROLE [db_datawriter] ADD MEMBER [${GROUP.name}]`,
      `ALTER ROLE [db_ddladmin] ADD MEMBER [${GROUP.name}]`,
    ]);
    expect(result.status).toMatchObject({ migrationPrincipal: GROUP.name, roles: ['db_datareader', 'db_datawriter'] });
    expect(condition(result, 'DatabaseLeastPrivilege')).toMatchObject({ status: 'True', reason: 'NoExcessPrivileges' });
    // Without the setting, the group's DDL rights are no longer the operator's grant: reported.
    const without = await step().reconcile(stored, facts, stored.status?.database);
    expect(without.status?.excessPrivileges).toEqual([`${GROUP.name}: role db_ddladmin`]);
    await byHand(`DROP USER [${GROUP.name}]`);
  });
});

describe('least privilege', () => {
  const ALICE = 'alice@contoso.example';

  test('a hand-made user with db_owner and CONTROL is reported, not touched by default', async () => {
    await byHand(
      `CREATE USER [${ALICE}] FROM EXTERNAL PROVIDER WITH OBJECT_ID = '9a9a9a9a-1b1b-4c2c-8d3d-4e4e4e4e4e4e'; ALTER ROLE db_owner ADD MEMBER [${ALICE}]; GRANT CONTROL TO [${ALICE}]`,
    );
    const mark = await lastSeq();
    const result = await step().reconcile(stored, facts, stored.status?.database);
    expect(condition(result, 'DatabaseAccessReady')).toMatchObject({ status: 'True' });
    expect(condition(result, 'DatabaseLeastPrivilege')).toMatchObject({ status: 'False', reason: 'ExcessPrivileges' });
    expect(condition(result, 'DatabaseLeastPrivilege')?.message).toContain(
      `${ALICE}: role db_owner; ${ALICE}: permission CONTROL`,
    );
    expect(result.status?.excessPrivileges).toEqual([`${ALICE}: role db_owner`, `${ALICE}: permission CONTROL`]);
    expect(await changesSince(mark)).toEqual([]);
  });

  test('with reduceExcessPrivileges the rights are revoked and the user kept', async () => {
    const ctx = withConfig((a) => ({ ...a, sqlDataPlane: { ...a.sqlDataPlane, reduceExcessPrivileges: true } }));
    const mark = await lastSeq();
    const result = await step(ctx).reconcile(stored, facts, stored.status?.database);
    expect(condition(result, 'DatabaseLeastPrivilege')).toMatchObject({ status: 'True', reason: 'ExcessPrivilegesRevoked' });
    expect(await changesSince(mark)).toEqual([`ALTER ROLE [db_owner] DROP MEMBER [${ALICE}]`, `REVOKE CONTROL FROM [${ALICE}]`]);
    const cat = await catalogue();
    expect(cat.principals.map((p) => p.name)).toContain(ALICE);
    expect(cat.roleMembers.filter((m) => m.member === ALICE)).toEqual([]);
    expect(result.status?.excessPrivileges).toBeUndefined();
  });
});

describe('failures', () => {
  test('a token the directory did not issue is refused with SQL error 18456: the platform must act', async () => {
    const forged = {
      getToken: async () => ({
        token: 'eyJhbGciOiJIUzI1NiJ9.eyJvaWQiOiJ4In0.c2lnbmF0dXJl',
        expiresOnTimestamp: Date.now() + 3600_000,
      }),
    };
    const result = await step(context.ctx, forged).reconcile(stored, facts, stored.status?.database);
    expect(condition(result, 'DatabaseAccessReady')).toMatchObject({ status: 'False', reason: 'SqlLoginRefused' });
    const message = condition(result, 'DatabaseAccessReady') as { message: string };
    expect(message.message).toContain("SQL error 18456: Login failed for user '<token-identified principal>'.");
    expect(message.message).not.toContain('eyJ');
    expect(result.requeueAfterMs).toBe(5 * 60_000);
  });

  test('BackupHealthy says why when the backup history cannot be read, and keeps the last newest backup', async () => {
    const forged = { getToken: async () => ({ token: 'not-a-token', expiresOnTimestamp: Date.now() + 3600_000 }) };
    await context.refresh();
    const backup = new TenantBackup(context.ctx, { ...context.clients, credential: forged });
    const previous = { newestRestorePoint: '2026-01-01T00:00:00.000Z' };
    const result = await backup.reconcile(stored, facts, previous, resolveBackupPolicy(context.ctx, stored));
    expect(result.conditions.find((c) => c.type === 'BackupHealthy')).toMatchObject({
      status: 'Unknown',
      reason: 'SqlLoginRefused',
    });
    expect(result.status?.newestRestorePoint).toBe(previous.newestRestorePoint);
    // A refused login needs the platform team: looked at again in minutes, not in a loop.
    expect(result.requeueAfterMs).toBe(5 * 60_000);
    // With the operator's own identity the same check reads the newest backup from the database.
    const healthy = await new TenantBackup(context.ctx, context.clients).reconcile(
      stored,
      facts,
      undefined,
      resolveBackupPolicy(context.ctx, stored),
    );
    expect(healthy.conditions.find((c) => c.type === 'BackupHealthy')).toMatchObject({ status: 'True', reason: 'WithinRPO' });
  });

  test('a failed statement surfaces with its SQL error number and message, never a token', async () => {
    const user = stored.status?.database?.user ?? '';
    // Someone re-created the identity's user under another name: CREATE USER for the same id fails.
    await byHand(
      `DROP USER [${user}]; CREATE USER [renamed-by-hand] FROM EXTERNAL PROVIDER WITH OBJECT_ID = '${facts.identityClientId}'`,
    );
    const result = await step().reconcile(stored, facts, stored.status?.database);
    const ready = condition(result, 'DatabaseAccessReady') as { status: string; reason: string; message: string };
    expect(ready).toMatchObject({ status: 'False', reason: 'SqlStatementFailed' });
    expect(ready.message).toContain(
      'SQL error 15063 (state 1, class 16): The login already has an account under a different user name.',
    );
    expect(ready.message).toContain(`(statement: CREATE USER [${user}]`);
    expect(ready.message).not.toMatch(/eyJ|Bearer/);
    expect(result.requeueAfterMs).toBe(5 * 60_000);
    // Repaired once the conflicting user is gone.
    await byHand('DROP USER [renamed-by-hand]');
    const repaired = await step().reconcile(stored, facts, stored.status?.database);
    expect(condition(repaired, 'DatabaseAccessReady')).toMatchObject({ status: 'True', reason: 'DatabaseUserReady' });
  });
});
