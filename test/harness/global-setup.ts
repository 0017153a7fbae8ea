/**
 * Jest global setup for the integration project: one real control plane (CRDs, third-party CRDs
 * and the operator's RBAC installed), a kubelet stand-in that marks tenant Deployments available,
 * one ARM emulator for all test files, and the broker of the real node cluster, which starts only
 * when a file that needs pods asks for it (node-cluster.ts). Their coordinates go to a file that
 * `sharedControlPlane()` reads in the test workers.
 */
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ArmEmulator, QUOTAS_RAISED_FOR_ONE_SHARED_SUBSCRIPTION, startArmEmulator } from '../../hack/arm-emulator/index.ts';
import {
  adminClient,
  installAccessPolicy,
  installAdmissionPolicy,
  installCrds,
  installPlatformDefaults,
  installRbac,
  installThirdPartyCrds,
} from './cluster-setup.ts';
import { ControlPlane } from './control-plane.ts';
import { suiteEmulatorOptions } from './fixtures.ts';
import { type KubeletStandIn, startKubeletStandIn } from './kubelet-stand-in.ts';
import { NodeClusterBroker } from './node-cluster.ts';

export const INFO_FILE = join(tmpdir(), `tenant-operator-test-cp-${process.pid}.json`);

export default async function globalSetup(): Promise<void> {
  const cp = new ControlPlane();
  const holder = globalThis as {
    __controlPlane?: ControlPlane;
    __armEmulator?: ArmEmulator;
    __kubelet?: KubeletStandIn;
    __nodeCluster?: NodeClusterBroker;
  };
  holder.__controlPlane = cp;
  const info = await cp.start();
  const admin = adminClient(info.adminKubeconfig);
  await installCrds(admin);
  await installThirdPartyCrds(admin);
  await installRbac(admin);
  await installPlatformDefaults(admin);
  await installAdmissionPolicy(admin, info.operatorKubeconfig);
  await installAccessPolicy(admin);
  holder.__kubelet = startKubeletStandIn(admin);
  const arm = await startArmEmulator({
    ...suiteEmulatorOptions(),
    // This one emulator serves every test file of a run in one subscription, and tenants kept under
    // deletionPolicy Retain pile up across files: more than Azure's 20 SQL servers per region (each
    // file stands for a fresh subscription on Azure). Quota refusals are tested with Azure's
    // defaults on emulators of their own (test/integration/azure/quotas.test.ts).
    quotas: QUOTAS_RAISED_FOR_ONE_SHARED_SUBSCRIPTION,
  });
  holder.__armEmulator = arm;
  const nodeCluster = new NodeClusterBroker();
  holder.__nodeCluster = nodeCluster;
  const nodeClusterBroker = await nodeCluster.listen();
  const armCaFile = join(info.dir, 'arm-ca.pem');
  writeFileSync(armCaFile, arm.ca);
  writeFileSync(
    INFO_FILE,
    JSON.stringify({
      ...info,
      arm: {
        endpoint: arm.endpoint,
        caFile: armCaFile,
        subscriptionId: arm.subscriptionId,
        directoryTenantId: arm.directoryTenantId,
        sqlEndpoint: arm.sqlEndpoint,
      },
      nodeClusterBroker,
    }),
  );
  process.env.TENANT_OPERATOR_TEST_CP = INFO_FILE;
}
