/**
 * A restarted operator that finds every tenant converged makes no writes at all: counted from
 * the API server's own audit log, for the operator's user, excluding its leader lease.
 * Runs its own control plane and ARM emulator so that no other test's tenants, requests or clocks
 * are in the count.
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import type { ArmEmulator } from '../../hack/arm-emulator/index.ts';
import type { Operator } from '../../src/operator.ts';
import type { KubeClient } from '../../src/runtime/kube-client.ts';
import { installCrds, installPlatformDefaults, installRbac, installThirdPartyCrds } from '../harness/cluster-setup.ts';
import { ControlPlane, type ControlPlaneInfo } from '../harness/control-plane.ts';
import {
  ARM_WRITE_METHODS,
  type ArmInfo,
  adminClient,
  armMark,
  armRequests,
  auditMark,
  operatorWrites,
  startOperator,
  startPrivateArmEmulator,
  type TenantWithStatus,
  tenant,
  typeOf,
  waitFor,
  waitForReady,
} from '../harness/fixtures.ts';
import { type KubeletStandIn, startKubeletStandIn } from '../harness/kubelet-stand-in.ts';

const cp = new ControlPlane();
let emulator: ArmEmulator;
let arm: ArmInfo;
let info: ControlPlaneInfo & { arm: ArmInfo };
let kubelet: KubeletStandIn;
const names = ['restart-a', 'restart-b', 'restart-c', 'restart-d', 'restart-e'];
let admin: KubeClient;
let second: Operator | undefined;

beforeAll(async () => {
  ({ emulator, arm } = await startPrivateArmEmulator());
  info = { ...(await cp.start()), arm };
  admin = adminClient(info.adminKubeconfig);
  await installCrds(admin);
  await installThirdPartyCrds(admin);
  await installRbac(admin);
  await installPlatformDefaults(admin);
  kubelet = startKubeletStandIn(admin);
  await admin.apply(
    typeOf('MaintenanceWindow'),
    {
      apiVersion: 'tenancy.dev/v1alpha1',
      kind: 'MaintenanceWindow',
      metadata: { name: 'default' },
      spec: { timeZone: 'Europe/Amsterdam', recurrences: [{ days: ['Wednesday'], start: '02:00', duration: '3h' }] },
    },
    'test',
  );
  const first = await startOperator({ info, leaseName: 'restart' });
  const tiers = ['Small', 'Medium', 'Large'] as const;
  for (const [i, name] of names.entries()) {
    await admin.apply(typeOf('Tenant'), tenant(name, { tier: tiers[i % 3], environment: i % 2 ? 'QA' : 'Development' }), 'test');
  }
  for (const name of names) await waitForReady(admin, name);
  // The default BackupPolicy's counts settle (coalesced over a second) before the first operator stops.
  await waitFor(
    'policy counts settled',
    async () => {
      const policy = (await admin.get(typeOf('BackupPolicy'), 'default')) as {
        status?: { tenants?: number; tenantsWithinRpo?: number };
      };
      if (policy.status?.tenants === names.length && policy.status?.tenantsWithinRpo === names.length) return true;
      const health = await Promise.all(
        names.map(async (n) => {
          const t = (await admin.get(typeOf('Tenant'), n)) as TenantWithStatus;
          const c = t.status?.conditions?.find((x) => x.type === 'BackupHealthy');
          return `${n}: ${c?.reason} (${c?.message})`;
        }),
      );
      throw new Error(`policy counts ${policy.status?.tenantsWithinRpo}/${policy.status?.tenants}; ${health.join('; ')}`);
    },
    60_000,
  );
  await first.stop();
});

afterAll(async () => {
  await second?.stop();
  kubelet?.stop();
  await cp.stop();
  await emulator?.stop();
});

async function reconcileCount(operator: Operator): Promise<number> {
  const { values } = await operator.metrics.reconcileTotal.get();
  return values.filter((v) => v.labels.controller === 'tenant').reduce((sum, v) => sum + v.value, 0);
}

test('an operator restarted over converged tenants performs zero writes', async () => {
  const mark = auditMark(info);
  const armSince = await armMark(arm);
  second = await startOperator({ info, leaseName: 'restart' });
  const operator = second;
  const total = operator.ctx.caches.tenants.list().length;
  // Every tenant in the cluster (including other test files') has been looked at, and the queue is empty.
  await waitFor('all tenants reconciled', async () => (await reconcileCount(operator)) >= total && operator.isLeader, 45_000);
  await waitFor('queue drained', async () => {
    const { values } = await operator.metrics.queueDepth.get();
    return values.every((v) => v.value === 0);
  });
  const writes = operatorWrites(info, mark);
  expect(writes.map((w) => `${w.verb} ${w.requestURI}`)).toEqual([]);
  // Azure too: every tenant's resources were read and compared, none written.
  const armCalls = (await armRequests(arm, armSince)).filter((r) => names.some((n) => r.path.toLowerCase().includes(n)));
  expect(armCalls.length).toBeGreaterThan(0);
  expect(armCalls.filter((r) => ARM_WRITE_METHODS.has(r.method)).map((r) => `${r.method} ${r.path}`)).toEqual([]);
  process.stdout.write(
    `restart over ${names.length} converged tenants: ${writes.length} Kubernetes writes, ${armCalls.length} ARM reads, 0 ARM writes\n`,
  );
  expect(await reconcileCount(operator)).toBeGreaterThanOrEqual(names.length);
});
