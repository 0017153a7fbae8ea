/**
 * Jest global setup for the integration project: one real control plane for all test files,
 * with the CRDs and the operator's RBAC installed. Its coordinates go to a file that
 * `sharedControlPlane()` reads in the test workers.
 */
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { adminClient, installCrds, installRbac } from './cluster-setup.ts';
import { ControlPlane } from './control-plane.ts';

export const INFO_FILE = join(tmpdir(), `tenant-operator-test-cp-${process.pid}.json`);

export default async function globalSetup(): Promise<void> {
  const cp = new ControlPlane();
  const info = await cp.start();
  (globalThis as { __controlPlane?: ControlPlane }).__controlPlane = cp;
  const admin = adminClient(info.adminKubeconfig);
  await installCrds(admin);
  await installRbac(admin);
  writeFileSync(INFO_FILE, JSON.stringify(info));
  process.env.TENANT_OPERATOR_TEST_CP = INFO_FILE;
}
