/**
 * Backups end to end against the shared control plane and ARM emulator: tenants provisioned by a
 * real operator (injected clock), which then stops; TenantBackup is driven the way the Tenant
 * reconciler drives it (facts and status.backup in, status.backup stored on the Tenant), so no
 * operator races the test. Retention lands exactly and is written once per change; the RPO is
 * breached at the right instant; drills succeed, fail, time out, exceed the RTO and survive a
 * restart (a new TenantBackup with fresh state, resuming from the stored status); no scratch
 * database is ever left behind and the live database is never written by a drill.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { ArmEmulator } from '../../../hack/arm-emulator/index.ts';
import type { AzureClients } from '../../../src/azure/clients.ts';
import { drillSourceDigest } from '../../../src/backup/drill-runner.ts';
import { BackupPolicyReconciler } from '../../../src/backup/policy-status.ts';
import { TenantBackup, type TenantBackupResult } from '../../../src/backup/tenant-backup.ts';
import type { KubeClient, KubeObject } from '../../../src/runtime/kube-client.ts';
import { createAzureClientsFromConfig } from '../../../src/tenant/azure-step.ts';
import {
  adminClient,
  type SharedInfo,
  sharedControlPlane,
  startOperator,
  startPrivateArmEmulator,
  type TenantWithStatus,
  tenant,
  typeOf,
  waitFor,
  waitForReady,
  wakeTenantDatabases,
} from '../../harness/fixtures.ts';
import {
  type ArmResource,
  armAdmin,
  armRequestsSince,
  armResources,
  armSeq,
  armWritesTo,
  BackupTestContext,
  conditionOf,
  DATABASES,
  driveBackup,
  SharedClock,
  type StoredTenant,
} from './support.ts';

// This file moves the emulator's clock by days: it gets an emulator of its own, so no later file
// creates databases at a time its operator's clock has not reached.
let emulator: ArmEmulator;
let info: SharedInfo;
let arm: SharedInfo['arm'];
const M = 60_000;
const H = 60 * M;

const SHARED = 'bk-shared';
const DEMANDING = 'bk-demanding';
const TENANTS = { alpha: 'bk-alpha', beta: 'bk-beta', gamma: 'bk-gamma' } as const;

let admin: KubeClient;
let clock: SharedClock;
let context: BackupTestContext;
let clients: AzureClients;
let backup: TenantBackup;
const db: Record<string, { name: string; id: string }> = {};

function policy(name: string, spec: object): KubeObject {
  return { apiVersion: 'tenancy.dev/v1alpha1', kind: 'BackupPolicy', metadata: { name }, spec };
}

function withPolicy(name: string, policyName: string): KubeObject {
  const t = tenant(name, { tier: 'Small', environment: 'Development' });
  return { ...t, spec: { ...(t.spec as object), backupPolicyRef: { name: policyName } } };
}

const drive = (name: string, override?: (t: StoredTenant) => StoredTenant, with_ = backup, ctx = context) =>
  driveBackup(admin, ctx, with_, name, override);

async function databases(): Promise<ArmResource[]> {
  return armResources(arm, DATABASES);
}

async function scratchOf(tenantName: string): Promise<ArmResource[]> {
  const live = db[tenantName]?.name ?? '';
  return (await databases()).filter((d) => d.name.startsWith(`${live}-drill-`));
}

/** Writes to the live database itself or its children, never its drill copies. */
async function liveWrites(since: number, tenantName: string) {
  const live = (db[tenantName]?.name ?? '').toLowerCase();
  const writes = await armWritesTo(arm, since, `/databases/${live}`);
  return writes.filter((w) => {
    const p = w.path.toLowerCase();
    return p.endsWith(`/databases/${live}`) || p.includes(`/databases/${live}/`);
  });
}

const gauge = (name: string, tenantName: string) => context.gauge(name, tenantName);
/** Age of the newest restore point as a query computes it: now - its timestamp. */
const restorePointAge = async (tenantName: string) =>
  clock.now().getTime() / 1000 -
  ((await gauge('tenant_operator_backup_newest_restore_point_timestamp_seconds', tenantName)) ?? Number.NaN);

/** Drives until the drill is no longer Running (cleanup takes a step or two). */
async function driveUntilDone(name: string, with_ = backup, ctx = context): Promise<TenantBackupResult> {
  let result: TenantBackupResult | undefined;
  for (let i = 0; i < 20; i++) {
    result = await drive(name, undefined, with_, ctx);
    if (result.status?.drill?.phase !== 'Running') return result;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`drill of ${name} did not finish: ${JSON.stringify(result?.status?.drill)}`);
}

beforeAll(async () => {
  const own = await startPrivateArmEmulator();
  emulator = own.emulator;
  arm = own.arm;
  info = { ...sharedControlPlane(), arm };
  admin = adminClient(info.adminKubeconfig);
  clock = await SharedClock.start(arm);
  await admin.apply(typeOf('BackupPolicy'), policy(SHARED, {}), 'test');
  await admin.apply(
    typeOf('BackupPolicy'),
    policy(DEMANDING, {
      pointInTimeRetentionDays: 35,
      differentialBackupIntervalHours: 24,
      longTermRetention: { weekly: 'P26W', monthly: 'P12M', yearly: 'P5Y', weekOfYear: 10 },
      rto: '30m',
      restoreDrill: { every: '24h', verify: { timeoutFactor: 1.5, minimumSizeBytes: 1_000_000 } },
    }),
    'test',
  );
  // An operator provisions the tenants (namespace, Azure resources), then stops.
  const operator = await startOperator({ info, leaseName: 'backup-provision', clock: clock.clock });
  // Stopped whatever happens: a leftover operator would reconcile other files' tenants.
  try {
    await waitFor('leadership', () => operator.isLeader);
    await admin.apply(typeOf('Tenant'), withPolicy(TENANTS.alpha, SHARED), 'test');
    await admin.apply(typeOf('Tenant'), withPolicy(TENANTS.beta, SHARED), 'test');
    await admin.apply(typeOf('Tenant'), withPolicy(TENANTS.gamma, DEMANDING), 'test');
    for (const name of Object.values(TENANTS)) {
      const ready: TenantWithStatus = await waitForReady(admin, name, 60_000);
      const dbName = (ready.status as { azure: { databaseName: string } }).azure.databaseName;
      const found = (await databases()).find((d) => d.name === dbName);
      db[name] = { name: dbName, id: found?.id ?? '' };
    }
  } finally {
    await operator.stop();
  }
  context = new BackupTestContext(admin, arm, clock.clock);
  clients = createAzureClientsFromConfig(context.ctx.config.azure!);
  backup = new TenantBackup(context.ctx, clients);
}, 90_000);

afterAll(async () => {
  if (!admin) {
    await emulator?.stop();
    return;
  }
  // Drill copies are deleted at once, so the tenants' finalizers come off quickly.
  await armAdmin(arm, 'POST', '/_emulator/restores', { durationMs: 0 }).catch(() => {});
  // An operator lets the tenants go (deletionPolicy Retain: their finalizers come off).
  const operator = await startOperator({ info, leaseName: 'backup-cleanup' });
  try {
    for (const name of Object.values(TENANTS)) await admin.delete(typeOf('Tenant'), name).catch(() => {});
    // The clock moved days: their serverless databases paused, and only a login lets them be released.
    await wakeTenantDatabases(arm, admin, Object.values(TENANTS)).catch(() => {});
    await waitFor('tenants released', async () => {
      const names = (await admin.request<{ items: KubeObject[] }>('GET', '/apis/tenancy.dev/v1alpha1/tenants')).items.map(
        (t) => t.metadata.name,
      );
      return Object.values(TENANTS).every((n) => !names.includes(n));
    }).catch(() => {});
    for (const p of [SHARED, DEMANDING]) await admin.delete(typeOf('BackupPolicy'), p).catch(() => {});
  } finally {
    await operator.stop();
    await emulator.stop();
  }
}, 60_000);

describe('retention', () => {
  test('default and custom policies land on the database exactly; a second pass writes nothing', async () => {
    // (Whoever applied it first: this pass, or an operator that already runs TenantBackup.)
    await Promise.all(Object.values(TENANTS).map((n) => drive(n)));
    const byDb = async (tenantName: string, child: string) =>
      (await armResources(arm, `Microsoft.Sql/servers/databases/${child}`)).find((r) =>
        r.id.toLowerCase().startsWith(`${db[tenantName]?.id.toLowerCase()}/`),
      )?.properties;
    for (const name of [TENANTS.alpha, TENANTS.beta]) {
      expect(await byDb(name, 'backupShortTermRetentionPolicies')).toEqual({ retentionDays: 14, diffBackupIntervalInHours: 12 });
      expect(await byDb(name, 'backupLongTermRetentionPolicies')).toEqual({
        weeklyRetention: 'P12W',
        monthlyRetention: 'PT0S',
        yearlyRetention: 'PT0S',
        weekOfYear: 1,
      });
    }
    expect(await byDb(TENANTS.gamma, 'backupShortTermRetentionPolicies')).toEqual({
      retentionDays: 35,
      diffBackupIntervalInHours: 24,
    });
    expect(await byDb(TENANTS.gamma, 'backupLongTermRetentionPolicies')).toEqual({
      weeklyRetention: 'P26W',
      monthlyRetention: 'P12M',
      yearlyRetention: 'P5Y',
      weekOfYear: 10,
    });

    const mark = await armSeq(arm);
    for (const name of Object.values(TENANTS)) {
      const again = await drive(name);
      expect(again.events).toEqual([]);
      expect(conditionOf(again, 'BackupHealthy')).toMatchObject({ status: 'True', reason: 'WithinRPO' });
      expect(conditionOf(again, 'RestoreDrillSucceeded')).toMatchObject({ status: 'Unknown', reason: 'NoDrillYet' });
    }
    expect(await armWritesTo(arm, mark, '/providers/Microsoft.Sql/')).toEqual([]);

    const stored = (await admin.get(typeOf('Tenant'), TENANTS.gamma)) as unknown as StoredTenant;
    expect(stored.status?.backup).toMatchObject({
      policy: DEMANDING,
      retention: {
        retentionDays: 35,
        diffBackupIntervalHours: 24,
        weeklyRetention: 'P26W',
        yearlyRetention: 'P5Y',
        weekOfYear: 10,
      },
    });
    expect(await gauge('tenant_operator_backup_retention_days', TENANTS.gamma)).toBe(35);
    expect(await gauge('tenant_operator_backup_rto_seconds', TENANTS.gamma)).toBe(1800);
  });

  test('a policy change reaches every tenant of the policy with one write each', async () => {
    await admin.apply(typeOf('BackupPolicy'), policy(SHARED, { pointInTimeRetentionDays: 21 }), 'test');
    const mark = await armSeq(arm);
    for (const name of [TENANTS.alpha, TENANTS.beta]) {
      const result = await drive(name);
      expect(result.azureChanges).toEqual([expect.stringContaining('SQL short-term retention')]);
      expect(result.azureChanges[0]).toContain('retentionDays');
    }
    for (const name of [TENANTS.alpha, TENANTS.beta]) {
      const writes = await liveWrites(mark, name);
      expect(writes.map((w) => `${w.method} ${w.path.split('/').slice(-2).join('/')}`)).toEqual([
        'PUT backupShortTermRetentionPolicies/default',
      ]);
    }
    expect(await liveWrites(mark, TENANTS.gamma)).toEqual([]);
    const settled = await armSeq(arm);
    for (const name of [TENANTS.alpha, TENANTS.beta]) await drive(name);
    expect(await armWritesTo(arm, settled, '/providers/Microsoft.Sql/')).toEqual([]);
  });

  test('a tenant whose policy is missing keeps its database as it is', async () => {
    const mark = await armSeq(arm);
    const result = await drive(TENANTS.alpha, (t) => ({ ...t, spec: { ...t.spec, backupPolicyRef: { name: 'bk-missing' } } }));
    expect(conditionOf(result, 'BackupHealthy')).toMatchObject({ status: 'False', reason: 'BackupPolicyNotFound' });
    expect(conditionOf(result, 'BackupHealthy')?.message).toContain('keeps the retention last applied');
    expect(result.status?.retention?.retentionDays).toBe(21);
    expect(await armWritesTo(arm, mark, '/providers/Microsoft.Sql/')).toEqual([]);
    await drive(TENANTS.alpha);
  });
});

describe('RPO', () => {
  test('breached exactly when the newest restore point gets older than the RPO, healthy again once backups resume', async () => {
    // No drills in this test: the first drill is far away for this instance.
    const rpoOnly = new TenantBackup(context.ctx, clients, { firstDrillGraceMs: 10_000 * H });
    const beta = db[TENANTS.beta]?.name ?? '';
    // The application uses its (serverless) database, so it is not paused when the operator reads
    // its backup history: a paused one is judged at its pause (test/unit/backup/rpo.test.ts).
    const inUse = () => armAdmin(arm, 'POST', '/_emulator/database-activity', { database: beta });
    await clock.advance(15 * M);
    await armAdmin(arm, 'POST', '/_emulator/backups', { stop: true, database: beta });
    // Without the point recorded before, status records the newest the database lists now.
    const forgetRecorded = (t: StoredTenant) => ({
      ...t,
      status: { ...t.status, backup: { ...t.status?.backup, newestRestorePoint: undefined } },
    });
    const stopped = await drive(TENANTS.beta, forgetRecorded, rpoOnly);
    const newest = new Date(stopped.status?.newestRestorePoint ?? '');
    expect(Number.isNaN(newest.getTime())).toBe(false);

    await clock.advance(newest.getTime() + 2 * H - clock.now().getTime());
    await inUse();
    const atBoundary = await drive(TENANTS.beta, undefined, rpoOnly);
    expect(conditionOf(atBoundary, 'BackupHealthy')).toMatchObject({ status: 'True', reason: 'WithinRPO' });
    expect(atBoundary.requeueAfterMs).toBe(1000);

    await clock.advance(1000);
    await inUse();
    const breached = await drive(TENANTS.beta, undefined, rpoOnly);
    expect(conditionOf(breached, 'BackupHealthy')).toMatchObject({ status: 'False', reason: 'RPOBreached' });
    expect(conditionOf(breached, 'BackupHealthy')?.message).toContain('is 2h old, beyond the RPO of 2h');
    expect(await restorePointAge(TENANTS.beta)).toBeCloseTo(7201, 3);
    expect(await gauge('tenant_operator_backup_rpo_seconds', TENANTS.beta)).toBe(7200);

    await armAdmin(arm, 'POST', '/_emulator/backups', { stop: false, database: beta });
    await clock.advance(10 * M);
    await inUse();
    const recovered = await drive(TENANTS.beta, undefined, rpoOnly);
    expect(conditionOf(recovered, 'BackupHealthy')).toMatchObject({ status: 'True', reason: 'WithinRPO' });
    expect(await restorePointAge(TENANTS.beta)).toBeLessThan(600);
  });

  test('a newer log backup is recorded only once the recorded one is three quarters of the RPO old, with the same verdict', async () => {
    const rpoOnly = new TenantBackup(context.ctx, clients, { firstDrillGraceMs: 10_000 * H });
    const beta = db[TENANTS.beta]?.name ?? '';
    const inUse = () => armAdmin(arm, 'POST', '/_emulator/database-activity', { database: beta });
    await inUse();
    const first = await drive(TENANTS.beta, undefined, rpoOnly);
    const recorded = first.status?.newestRestorePoint ?? '';
    expect(recorded).not.toBe('');
    // Twenty minutes on: two newer log backups exist (one every 10 minutes), and status keeps its point.
    await clock.advance(20 * M);
    await inUse();
    const kept = await drive(TENANTS.beta, undefined, rpoOnly);
    expect(kept.status?.newestRestorePoint).toBe(recorded);
    expect(conditionOf(kept, 'BackupHealthy')).toMatchObject({ status: 'True', reason: 'WithinRPO' });
    // It looks again when the recorded point turns 1.5 h old (3/4 of the 2 h RPO), not at its breach.
    const refreshAt = new Date(recorded).getTime() + 1.5 * H;
    expect(kept.requeueAfterMs).toBe(refreshAt - clock.now().getTime());
    await clock.advance(refreshAt - clock.now().getTime());
    await inUse();
    const refreshed = await drive(TENANTS.beta, undefined, rpoOnly);
    expect(new Date(refreshed.status?.newestRestorePoint ?? '').getTime()).toBeGreaterThan(new Date(recorded).getTime());
    expect(await restorePointAge(TENANTS.beta)).toBeLessThan(600);
  });
});

describe('restore drills', () => {
  test('success: restored into a scratch database on the same server, verified, measured, deleted', async () => {
    await armAdmin(arm, 'POST', '/_emulator/restores', { durationMs: 30 * M });
    const mark = await armSeq(arm);
    const started = await drive(TENANTS.alpha);
    expect(started.status?.drill).toMatchObject({ phase: 'Running', step: 'Restoring' });
    expect(started.events.map((e) => e.reason)).toEqual(['DrillStarted']);
    const [copy] = await scratchOf(TENANTS.alpha);
    expect(copy?.name).toBe(started.status?.drill?.scratchDatabase);
    expect(copy?.id.split('/databases/')[0]).toBe(db[TENANTS.alpha]?.id.split('/databases/')[0]);
    expect(copy?.properties).toMatchObject({ status: 'Restoring' });
    // Create-only fields never come back from Azure: the copy names its origin in a tag instead.
    expect(copy?.properties.createMode).toBeUndefined();
    expect(copy?.properties.sourceDatabaseId).toBeUndefined();
    expect(copy?.tags).toMatchObject({
      'tenancy.dev-drill-of': db[TENANTS.alpha]?.name,
      'tenancy.dev-drill-source': drillSourceDigest(db[TENANTS.alpha]?.id ?? ''),
      'managed-by': 'tenant-operator',
    });

    await clock.advance(20 * M);
    const waiting = await drive(TENANTS.alpha);
    expect(conditionOf(waiting, 'RestoreDrillSucceeded')).toMatchObject({ status: 'Unknown', reason: 'DrillRunning' });
    expect(waiting.status?.drill?.step).toBe('Restoring');

    await clock.advance(15 * M);
    const verdict = await drive(TENANTS.alpha);
    expect(verdict.status?.drill).toMatchObject({ result: 'Succeeded', measuredRtoSeconds: 35 * 60 });
    expect(verdict.events).toEqual([expect.objectContaining({ type: 'Normal', reason: 'DrillSucceeded' })]);
    const done = await driveUntilDone(TENANTS.alpha);
    expect(done.status?.drill).toMatchObject({ phase: 'Succeeded', result: 'Succeeded', measuredRtoSeconds: 2100 });
    expect(conditionOf(done, 'RestoreDrillSucceeded')).toMatchObject({ status: 'True', reason: 'DrillSucceeded' });
    expect(await scratchOf(TENANTS.alpha)).toEqual([]);
    expect(await liveWrites(mark, TENANTS.alpha)).toEqual([]);
    expect(await gauge('tenant_operator_restore_drill_last_success', TENANTS.alpha)).toBe(1);
    expect(await gauge('tenant_operator_restore_drill_last_duration_seconds', TENANTS.alpha)).toBe(2100);
    await context.refresh();
    await new BackupPolicyReconciler(context.ctx).reconcile(SHARED);
    const p = await admin.get<KubeObject & { status?: Record<string, unknown> }>(typeOf('BackupPolicy'), SHARED);
    expect(p.status).toMatchObject({
      tenants: 2,
      lastDrillResult: 'Succeeded',
      lastDrillTenant: TENANTS.alpha,
      tenantsWithFailedDrill: 0,
    });
  });

  test('failure: a restore that fails midway makes a failed drill and a Warning', async () => {
    await armAdmin(arm, 'POST', '/_emulator/faults', {
      name: 'restore-fails',
      match: { method: 'PUT', path: `/databases/${db[TENANTS.gamma]?.name}-drill-` },
      action: { kind: 'lroFailure', code: 'DatabaseRestoreFailed', message: 'The restore failed.' },
      times: 1,
    });
    const started = await drive(TENANTS.gamma);
    expect(started.status?.drill?.phase).toBe('Running');
    await clock.advance(31 * M);
    const failed = await drive(TENANTS.gamma);
    expect(failed.status?.drill).toMatchObject({ phase: 'Failed', result: 'Failed' });
    expect(failed.events).toEqual([expect.objectContaining({ type: 'Warning', reason: 'DrillFailed' })]);
    expect(conditionOf(failed, 'RestoreDrillSucceeded')).toMatchObject({ status: 'False', reason: 'DrillFailed' });
    expect(await scratchOf(TENANTS.gamma)).toEqual([]);
    expect(await gauge('tenant_operator_restore_drill_last_success', TENANTS.gamma)).toBe(0);
  });

  test('timeout: a restore still running after rto x timeoutFactor is abandoned and deleted', async () => {
    await armAdmin(arm, 'POST', '/_emulator/restores', { durationMs: 2 * H });
    await clock.advance(24 * H);
    const started = await drive(TENANTS.gamma);
    expect(started.status?.drill?.phase).toBe('Running');
    await clock.advance(40 * M);
    expect((await drive(TENANTS.gamma)).status?.drill?.step).toBe('Restoring');
    await clock.advance(10 * M);
    const abandoned = await drive(TENANTS.gamma);
    expect(abandoned.status?.drill).toMatchObject({ step: 'CleaningUp', result: 'Failed' });
    expect(abandoned.status?.drill?.message).toContain('beyond 1.5 × the rto of 30m');
    const done = await driveUntilDone(TENANTS.gamma);
    expect(done.status?.drill).toMatchObject({ phase: 'Failed', result: 'Failed' });
    expect(await scratchOf(TENANTS.gamma)).toEqual([]);
  });

  test('slower than the rto: the drill completes but counts as ExceededRTO', async () => {
    await armAdmin(arm, 'POST', '/_emulator/restores', { durationMs: 40 * M });
    await clock.advance(24 * H);
    await drive(TENANTS.gamma);
    await clock.advance(41 * M);
    const verdict = await drive(TENANTS.gamma);
    expect(verdict.status?.drill).toMatchObject({ result: 'ExceededRTO', measuredRtoSeconds: 41 * 60 });
    expect(verdict.events).toEqual([expect.objectContaining({ type: 'Warning', reason: 'DrillExceededRTO' })]);
    const done = await driveUntilDone(TENANTS.gamma);
    expect(conditionOf(done, 'RestoreDrillSucceeded')).toMatchObject({ status: 'False', reason: 'DrillExceededRTO' });
    expect(await scratchOf(TENANTS.gamma)).toEqual([]);
    expect(await gauge('tenant_operator_restore_drill_last_success', TENANTS.gamma)).toBe(0);
    expect(await gauge('tenant_operator_restore_drill_last_duration_seconds', TENANTS.gamma)).toBe(2460);
  });

  test('verification: a restored copy smaller than minimumSizeBytes fails the drill', async () => {
    await armAdmin(arm, 'POST', '/_emulator/database-size', { database: db[TENANTS.gamma]?.name, bytes: 4096 });
    await armAdmin(arm, 'POST', '/_emulator/restores', { durationMs: 10 * M });
    await clock.advance(24 * H);
    await drive(TENANTS.gamma);
    await clock.advance(11 * M);
    const verdict = await drive(TENANTS.gamma);
    expect(verdict.status?.drill?.result).toBe('Failed');
    expect(verdict.status?.drill?.message).toContain('holds 4096 bytes, less than minimumSizeBytes 1000000');
    await driveUntilDone(TENANTS.gamma);
    expect(await scratchOf(TENANTS.gamma)).toEqual([]);
    await armAdmin(arm, 'POST', '/_emulator/database-size', { database: db[TENANTS.gamma]?.name, bytes: 268_435_456 });
  });

  test('a restart mid-drill resumes from the stored status, and an orphaned copy is deleted', async () => {
    await armAdmin(arm, 'POST', '/_emulator/restores', { durationMs: 30 * M });
    const beta = db[TENANTS.beta] as { name: string; id: string };
    const started = await drive(TENANTS.beta);
    expect(started.status?.drill).toMatchObject({ phase: 'Running', step: 'Restoring' });
    // An operator that died between its restore request and its status write leaves a copy nobody knows.
    const orphan = `${beta.name}-drill-199901010000`;
    const rg = beta.id.split('/')[4] ?? '';
    const server = beta.id.split('/')[8] ?? '';
    await clients.sql.databases.beginCreateOrUpdate(rg, server, orphan, {
      location: 'westeurope',
      createMode: 'PointInTimeRestore',
      sourceDatabaseId: beta.id,
      restorePointInTime: new Date(started.status?.drill?.restorePointInTime ?? ''),
    });
    expect((await scratchOf(TENANTS.beta)).map((d) => d.name).sort()).toEqual(
      [orphan, started.status?.drill?.scratchDatabase].sort(),
    );

    // The restart: nothing of the first instance survives but the Tenant's status.
    await clock.advance(40 * M);
    const fresh = new BackupTestContext(admin, arm, clock.clock);
    const restarted = new TenantBackup(fresh.ctx, createAzureClientsFromConfig(fresh.ctx.config.azure!));
    const resumed = await drive(TENANTS.beta, undefined, restarted, fresh);
    expect(resumed.status?.drill).toMatchObject({
      scratchDatabase: started.status?.drill?.scratchDatabase,
      result: 'Succeeded',
      measuredRtoSeconds: 40 * 60,
    });
    expect(resumed.events.map((e) => e.reason).sort()).toEqual(['DrillScratchDeleted', 'DrillSucceeded']);
    const done = await driveUntilDone(TENANTS.beta, restarted, fresh);
    expect(done.status?.drill).toMatchObject({ phase: 'Succeeded', startedAt: started.status?.drill?.startedAt });
    expect(await scratchOf(TENANTS.beta)).toEqual([]);
    expect(await fresh.gauge('tenant_operator_restore_drill_last_duration_seconds', TENANTS.beta)).toBe(2400);
  });

  test('releasing a tenant mid-drill deletes its scratch database and nothing else', async () => {
    await armAdmin(arm, 'POST', '/_emulator/restores', { durationMs: 30 * M });
    await clock.advance(24 * H);
    expect((await drive(TENANTS.gamma)).status?.drill?.phase).toBe('Running');
    expect(await scratchOf(TENANTS.gamma)).toHaveLength(1);
    const stored = (await admin.get(typeOf('Tenant'), TENANTS.gamma)) as unknown as StoredTenant;
    const facts = stored.status?.azure ?? {};
    const mark = await armSeq(arm);
    await waitFor('scratch databases released', async () => {
      try {
        await backup.release(stored, facts);
        return true;
      } catch (err) {
        expect((err as { reason?: string }).reason).toBe('DrillCleanupPending');
        return false;
      }
    });
    expect(await scratchOf(TENANTS.gamma)).toEqual([]);
    expect((await databases()).some((d) => d.name === db[TENANTS.gamma]?.name)).toBe(true);
    expect(await liveWrites(mark, TENANTS.gamma)).toEqual([]);
  });

  test('a server is listed once for all its tenants; a copy begun since the listing is found before a drill starts', async () => {
    // Listings kept for longer than the test moves the clock, so only a fresh read can see the copy.
    const listing = new TenantBackup(context.ctx, clients, { scratchListingMaxAgeMs: 1000 * H });
    const servers = new Set(Object.values(db).map((d) => (d.id.split('/')[8] ?? '').toLowerCase()));
    const mark = await armSeq(arm);
    for (let pass = 0; pass < 2; pass++) for (const name of Object.values(TENANTS)) await drive(name, undefined, listing);
    const lists = (await armRequestsSince(arm, mark)).filter(
      (r) => r.method === 'GET' && /\/databases$/i.test(r.path.split('?')[0] ?? ''),
    );
    expect(lists).toHaveLength(servers.size);

    // Another leader began a restore and died before recording it; the next drill falls due.
    const beta = db[TENANTS.beta] as { name: string; id: string };
    const copy = `${beta.name}-drill-199902020000`;
    const [rg, server] = [beta.id.split('/')[4] ?? '', beta.id.split('/')[8] ?? ''];
    const live = await clients.sql.databases.get(rg, server, beta.name);
    await clients.sql.databases.beginCreateOrUpdate(rg, server, copy, {
      location: 'westeurope',
      createMode: 'PointInTimeRestore',
      sourceDatabaseId: beta.id,
      // The oldest point is always within the restorable window, wherever earlier tests left the clock.
      restorePointInTime: live.earliestRestoreDate ?? clock.now(),
    });
    // A week on, past the default drill interval (168h), wherever earlier tests left beta's drills.
    await clock.advance(169 * H);
    const next = await drive(TENANTS.beta, undefined, listing);
    expect(next.events.map((e) => e.reason)).toContain('DrillScratchDeleted');
    expect(next.status?.drill?.phase).not.toBe('Running');
    await waitFor('the copy deleted', async () => !(await scratchOf(TENANTS.beta)).some((d) => d.name === copy));
  });

  test('no scratch database is left on any server', async () => {
    expect((await databases()).filter((d) => d.name.includes('-drill-'))).toEqual([]);
  });
});
