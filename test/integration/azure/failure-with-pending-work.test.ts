/**
 * A failure of one Azure resource does not stall the others: a WAF policy Azure refuses (terminal
 * until the spec changes) while the rest of the tenant's resources are being created, one of them
 * refused for a while itself (a role assignment still propagating). The
 * operator reports the refusal and still polls the other operations on time, so every other
 * component becomes Ready; without that, a terminal failure waited for a spec change (or the
 * 10-minute resync) before looking at the running operations again.
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import type { ArmEmulator } from '../../../hack/arm-emulator/index.ts';
import type { Operator } from '../../../src/operator.ts';
import type { KubeClient } from '../../../src/runtime/kube-client.ts';
import {
  adminClient,
  sharedControlPlane,
  startOperator,
  startPrivateArmEmulator,
  type TenantWithStatus,
  tenant,
  typeOf,
  waitFor,
} from '../../harness/fixtures.ts';

const NAME = 'pending-waf';
let emulator: ArmEmulator;
let admin: KubeClient;
let operator: Operator;

beforeAll(async () => {
  // The server's Key Vault role takes 3 s to reach the data plane: the server key is refused
  // (retried soon, AzureRbacPropagating) beside the WAF policy's terminal refusal.
  const own = await startPrivateArmEmulator({ rbacPropagationDelayMs: 3_000 });
  emulator = own.emulator;
  emulator.faults.add({
    name: 'WAF policy refused',
    match: { method: 'PUT', resourceType: 'Microsoft.Network/ApplicationGatewayWebApplicationFirewallPolicies' },
    action: { kind: 'error', status: 400, code: 'InvalidResource', message: 'The custom rule is not valid.' },
  });
  // Long enough that the refusal and running operations of other resources meet in one pass.
  emulator.faults.add({
    name: 'slow resource group',
    match: { method: 'PUT', resourceType: 'Microsoft.Resources/resourceGroups' },
    action: { kind: 'lroDelay', ms: 1_000 },
  });
  const info = { ...sharedControlPlane(), arm: own.arm };
  admin = adminClient(info.adminKubeconfig);
  operator = await startOperator({ info, leaseName: 'pending-work' });
  await admin.apply(typeOf('Tenant'), tenant(NAME, { tier: 'Small', environment: 'Development' }), 'test');
});

afterAll(async () => {
  await admin?.delete(typeOf('Tenant'), NAME).catch(() => {});
  emulator.faults.clear();
  await waitFor(
    'tenant released',
    async () => (await admin.get(typeOf('Tenant'), NAME).catch(() => undefined)) === undefined,
  ).catch(() => {});
  await operator?.stop();
  await emulator?.stop();
});

test('a refused WAF policy is reported while every other Azure component becomes Ready', async () => {
  const settled = await waitFor(
    'database ready beside a refused WAF policy',
    async () => {
      const t = (await admin.get(typeOf('Tenant'), NAME)) as TenantWithStatus;
      const c = (type: string) => t.status?.conditions?.find((x) => x.type === type);
      if (c('DatabaseReady')?.status === 'True' && c('WafEnforced')?.status === 'False') return t;
      throw new Error(`DatabaseReady ${c('DatabaseReady')?.reason}, WafEnforced ${c('WafEnforced')?.reason}`);
    },
    60_000,
  );
  const c = (type: string) => settled.status?.conditions?.find((x) => x.type === type);
  expect(c('WafEnforced')).toMatchObject({ status: 'False', reason: 'AzureInvalidRequest' });
  expect(c('WafEnforced')?.message).toContain('The custom rule is not valid.');
  for (const type of ['IdentityReady', 'KeyVaultReady', 'DatabaseReady']) expect(c(type)?.status).toBe('True');
  expect(c('Ready')).toMatchObject({ status: 'False', reason: 'AzureInvalidRequest' });
});
