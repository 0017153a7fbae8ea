/** Stops the shared control plane, also when tests failed. */
import { rmSync } from 'node:fs';
import type { ControlPlane } from './control-plane.ts';

export default async function globalTeardown(): Promise<void> {
  const holder = globalThis as { __controlPlane?: ControlPlane };
  await holder.__controlPlane?.stop();
  const file = process.env.TENANT_OPERATOR_TEST_CP;
  if (file) rmSync(file, { force: true });
}
