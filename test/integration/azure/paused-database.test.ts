/**
 * A serverless database that auto-paused is never a dead end. Azure resumes a paused database on a
 * login and on the updates it lists as auto-resume triggers (adding a tag, changing vCores or the
 * auto-pause delay); any other update is refused with UpdateNotAllowedOnPausedDatabase. Against the
 * real API server and an ARM emulator of this file's own (its clock moves past the auto-pause delay):
 * - a tier change (a new service objective, not a resume trigger; applied at once with
 *   `tenancy.dev/apply-now`) is refused, the operator logs in to resume the database, and the
 *   change lands on a later pass;
 * - releasing a tenant (deletionPolicy Retain) tags the paused database orphaned (adding a tag
 *   resumes it) and the Tenant goes away, where it used to retry for ever.
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import type { ArmEmulator } from '../../../hack/arm-emulator/index.ts';
import type { Operator } from '../../../src/operator.ts';
import type { KubeClient } from '../../../src/runtime/kube-client.ts';
import { tenantAzureNames } from '../../../src/tenant/azure-names.ts';
import {
  type ArmInfo,
  adminClient,
  advanceArmClock,
  armMark,
  armRequests,
  armResources,
  sharedControlPlane,
  startOperator,
  startPrivateArmEmulator,
  tenant,
  typeOf,
  waitFor,
  waitForReady,
} from '../../harness/fixtures.ts';

const CHANGED = 'sleepy-tier';
const RELEASED = 'sleepy-release';
let emulator: ArmEmulator;
let arm: ArmInfo;
let admin: KubeClient;
let operator: Operator;

const databaseOf = async (name: string) => {
  const database = tenantAzureNames(name, 'development').sqlDatabase;
  return (await armResources(arm, 'Microsoft.Sql/servers/databases')).find((d) => d.name === database);
};

beforeAll(async () => {
  const own = await startPrivateArmEmulator();
  emulator = own.emulator;
  arm = own.arm;
  const info = { ...sharedControlPlane(), arm };
  admin = adminClient(info.adminKubeconfig);
  operator = await startOperator({ info, leaseName: 'paused-database' });
  for (const name of [CHANGED, RELEASED]) {
    await admin.apply(typeOf('Tenant'), tenant(name, { tier: 'Small', deletionPolicy: 'Retain' }), 'test');
  }
  for (const name of [CHANGED, RELEASED]) await waitForReady(admin, name, 90_000);
  // Two idle hours on Azure's clock: the Small tier's serverless databases (60-minute delay) pause.
  await advanceArmClock(arm, 2 * 3600_000);
  for (const name of [CHANGED, RELEASED]) expect((await databaseOf(name))?.properties?.status).toBe('Paused');
}, 150_000);

afterAll(async () => {
  await admin?.delete(typeOf('Tenant'), CHANGED).catch(() => {});
  await waitFor(
    'tenant released',
    async () => (await admin.get(typeOf('Tenant'), CHANGED).catch(() => undefined)) === undefined,
    60_000,
  ).catch(() => {});
  await operator?.stop();
  await emulator?.stop();
}, 90_000);

test('a tier change Azure refuses on a paused database lands after the operator logs in to resume it', async () => {
  const mark = await armMark(arm);
  // A tier change is disruptive: applied now as an emergency change, not in a window.
  const medium = tenant(CHANGED, { tier: 'Medium', deletionPolicy: 'Retain' });
  medium.metadata.annotations = { 'tenancy.dev/apply-now': 'resize while the database sleeps' };
  await admin.apply(typeOf('Tenant'), medium, 'test');
  const database = await waitFor(
    'the Medium service objective on the database',
    async () => {
      const db = await databaseOf(CHANGED);
      return db?.sku?.name === 'GP_Gen5' ? db : undefined;
    },
    90_000,
  );
  expect(database.sku).toMatchObject({ name: 'GP_Gen5', capacity: 4 });
  const refused = (await armRequests(arm, mark)).filter(
    (r) => r.method !== 'GET' && r.path.toLowerCase().endsWith(`/databases/${database.name}`) && r.status === 400,
  );
  // The first attempt met the paused database: what the login was for.
  expect(refused.length).toBeGreaterThanOrEqual(1);
  await waitForReady(admin, CHANGED, 60_000);
}, 150_000);

test('releasing a tenant whose database is paused tags it orphaned and finishes', async () => {
  await admin.delete(typeOf('Tenant'), RELEASED);
  await waitFor(
    'the Tenant released',
    async () => (await admin.get(typeOf('Tenant'), RELEASED).catch(() => undefined)) === undefined,
    60_000,
  );
  const database = await databaseOf(RELEASED);
  expect(database?.tags?.['tenancy.dev-orphaned']).toBe('true');
}, 90_000);
