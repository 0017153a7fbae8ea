/**
 * The operator survives its API server going away: after kube-apiserver is restarted, the
 * informers reconnect (with backoff) and a Tenant created afterwards is reconciled.
 * Runs its own control plane, since it restarts the API server.
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import type { Operator } from '../../src/operator.ts';
import type { KubeClient } from '../../src/runtime/kube-client.ts';
import {
  adminClient,
  installAdmissionPolicy,
  installCrds,
  installPlatformDefaults,
  installRbac,
  installThirdPartyCrds,
} from '../harness/cluster-setup.ts';
import { ControlPlane } from '../harness/control-plane.ts';
import { sharedControlPlane, startOperator, tenant, typeOf, waitFor, waitForReady } from '../harness/fixtures.ts';
import { type KubeletStandIn, startKubeletStandIn } from '../harness/kubelet-stand-in.ts';

const cp = new ControlPlane();
let admin: KubeClient;
let operator: Operator;
let kubelet: KubeletStandIn;

beforeAll(async () => {
  const info = { ...(await cp.start()), arm: sharedControlPlane().arm };
  admin = adminClient(info.adminKubeconfig);
  await installCrds(admin);
  await installThirdPartyCrds(admin);
  await installRbac(admin);
  await installPlatformDefaults(admin);
  await installAdmissionPolicy(admin, info.operatorKubeconfig);
  kubelet = startKubeletStandIn(admin);
  operator = await startOperator({ info, leaseName: 'recovery' });
}, 60_000);

afterAll(async () => {
  await operator?.stop();
  kubelet?.stop();
  await cp.stop();
});

test('a Tenant created after an API server restart is reconciled', async () => {
  await admin.apply(typeOf('Tenant'), tenant('before-restart'), 'test');
  await waitForReady(admin, 'before-restart');

  await cp.stopApiServer();
  // The watches have noticed the outage (a failed list or watch counts a restart) before it ends.
  const restarts = async () => (await operator.metrics.informerRestarts.get()).values.reduce((s, v) => s + v.value, 0);
  await waitFor('the informers to notice the outage', async () => (await restarts()) > 0, 30_000);
  await cp.startApiServer();

  await admin.apply(typeOf('Tenant'), tenant('after-restart'), 'test');
  const ready = await waitForReady(admin, 'after-restart', 60_000);
  expect(ready.status?.namespace).toBe('tenant-after-restart-dev');
  expect(await restarts()).toBeGreaterThan(0);
}, 120_000);
