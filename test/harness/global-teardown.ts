/**
 * Stops the shared control plane, the ARM emulator and the node cluster, also when tests failed, and checks that no test
 * node (test/harness/node.ts) left anything on the host: what is left is removed, and named in an error.
 */
import { rmSync } from 'node:fs';
import type { ArmEmulator } from '../../hack/arm-emulator/index.ts';
import type { ControlPlane } from './control-plane.ts';
import type { KubeletStandIn } from './kubelet-stand-in.ts';
import type { NodeClusterBroker } from './node-cluster.ts';
import { cleanUpHost, nodeLeftovers, nodeLockHolder } from './node-host.ts';

export default async function globalTeardown(): Promise<void> {
  const holder = globalThis as {
    __controlPlane?: ControlPlane;
    __armEmulator?: ArmEmulator;
    __kubelet?: KubeletStandIn;
    __nodeCluster?: NodeClusterBroker;
  };
  holder.__kubelet?.stop();
  await holder.__nodeCluster?.stop();
  await holder.__armEmulator?.stop();
  await holder.__controlPlane?.stop();
  const file = process.env.TENANT_OPERATOR_TEST_CP;
  if (file) rmSync(file, { force: true });
  // A node another test run is using right now is not this run's leftover.
  const leftovers = nodeLockHolder() === undefined ? nodeLeftovers() : [];
  if (leftovers.length > 0) {
    cleanUpHost();
    throw new Error(`a test node left these behind (now removed):\n- ${leftovers.join('\n- ')}`);
  }
}
