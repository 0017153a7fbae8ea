/**
 * Issue #17 parts 2-4 end to end: the operator against the real API server and the shared ARM
 * emulator, through the real SDK clients. What a person sees in the Tenant's status and in the
 * operator's metrics: Defender for SQL on, the audit workspace's retention, the encryption key's
 * version, age and expiry (and the SQL side following a rotation); audit and Defender turned off
 * by hand are restored and reported on the next drift check; a rotation policy removed by hand
 * (which ARM cannot restore) stalls the Tenant with a reason the platform team acts on.
 *
 * The shared emulator's clock is never moved here (other files use it); Key Vault's scheduled
 * rotation is proven in audit-and-keys.test.ts, and a rotation here is `az keyvault key rotate`.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { type OperatorConfig, parseConfig } from '../../../src/config.ts';
import type { Operator } from '../../../src/operator.ts';
import { ManualClock } from '../../../src/runtime/clock.ts';
import type { KubeClient } from '../../../src/runtime/kube-client.ts';
import { tenantAzureNames } from '../../../src/tenant/azure-names.ts';
import { createAzureClientsFromConfig } from '../../../src/tenant/azure-step.ts';
import {
  adminClient,
  condition,
  emulatorAzureConfig,
  rotateArmKey,
  setArmKeyRotationPolicy,
  sharedControlPlane,
  startOperator,
  type TenantWithStatus,
  tenant,
  typeOf,
  waitFor,
  waitForReady,
} from '../../harness/fixtures.ts';

const info = sharedControlPlane();
const NAME = 'azsec';
const DAY_MS = 86_400_000;
const DRIFT_CHECK_MS = 1800 * 1000;
const CLOCK_START = Date.now();
const clock = new ManualClock(new Date(CLOCK_START));
const azureConfig = { ...emulatorAzureConfig(info.arm), driftCheckIntervalSeconds: 1800 };
const clients = createAzureClientsFromConfig(parseConfig({ azure: azureConfig }).azure as NonNullable<OperatorConfig['azure']>);
const names = tenantAzureNames(NAME, 'development');
const keyId = `/subscriptions/${info.arm.subscriptionId}/resourceGroups/${names.resourceGroup}/providers/Microsoft.KeyVault/vaults/${names.keyVault}/keys/${names.tdeKey}`;
let admin: KubeClient;
let operator: Operator;

type AzureStatus = {
  keyVersion?: string;
  keyCreatedAt?: string;
  keyExpiresAt?: string;
  sqlKeyVersion?: string;
  threatDetection?: string;
  auditRetentionDays?: number;
};
const azureOf = (t: TenantWithStatus) => ((t as { status?: { azure?: AzureStatus } }).status?.azure ?? {}) as AzureStatus;

/** Changes spec.displayName after the drift-check interval, so the next reconcile reads Azure again. */
async function checkAgain(displayName: string): Promise<TenantWithStatus> {
  clock.advance(DRIFT_CHECK_MS);
  const t = tenant(NAME);
  (t.spec as { displayName: string }).displayName = displayName;
  await admin.apply(typeOf('Tenant'), t, 'test');
  const generation = (await admin.get<TenantWithStatus>(typeOf('Tenant'), NAME)).metadata.generation;
  return waitFor(`generation ${generation} reconciled`, async () => {
    const current = await admin.get<TenantWithStatus>(typeOf('Tenant'), NAME);
    return (current as { status?: { observedGeneration?: number } }).status?.observedGeneration === generation
      ? current
      : undefined;
  });
}

/** The value of a per-tenant series on the operator's /metrics. */
async function scrape(metric: string): Promise<number | undefined> {
  const text = await (await fetch(`http://127.0.0.1:${operator.httpPort}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${metric}{tenant="${NAME}"}`));
  return line === undefined ? undefined : Number(line.split(' ').pop());
}

beforeAll(async () => {
  admin = adminClient(info.adminKubeconfig);
  operator = await startOperator({ info, leaseName: 'azsec', clock, config: { azure: azureConfig } });
  await admin.apply(typeOf('Tenant'), tenant(NAME), 'test');
  await waitForReady(admin, NAME);
});

afterAll(async () => {
  await admin.delete(typeOf('Tenant'), NAME).catch(() => {});
  await operator?.stop();
});

describe('what the Tenant shows', () => {
  test('Defender on, audit kept 180 days, the key’s version, creation and expiry; SQL on that version', async () => {
    const ready = await waitForReady(admin, NAME);
    const azure = azureOf(ready);
    expect(azure).toMatchObject({
      threatDetection: 'Enabled',
      auditRetentionDays: 180,
      keyVersion: expect.stringMatching(/^[0-9a-f]{32}$/),
    });
    expect(azure.sqlKeyVersion).toBe(azure.keyVersion);
    // Two years after the create, counted on the operator's clock (frozen here until a test moves
    // it; Azure's creation time is the emulator's).
    expect(Date.parse(azure.keyExpiresAt ?? '')).toBe(Math.floor((CLOCK_START + 730 * DAY_MS) / 1000) * 1000);
    expect(condition(ready, 'DatabaseReady')?.message).toMatch(/audited to the audit workspace, watched by Defender for SQL/);
    expect(condition(ready, 'KeyVaultReady')?.message).toMatch(/its key rotates on policy; its AuditEvent log is kept/);
  });

  test('the key’s age and expiry are metrics, read from status at scrape time', async () => {
    const azure = azureOf(await admin.get<TenantWithStatus>(typeOf('Tenant'), NAME));
    expect(await scrape('tenant_operator_key_created_timestamp_seconds')).toBe(Date.parse(azure.keyCreatedAt ?? '') / 1000);
    expect(await scrape('tenant_operator_key_expiry_timestamp_seconds')).toBe(Date.parse(azure.keyExpiresAt ?? '') / 1000);
  });
});

describe('drift', () => {
  test('auditing and Defender turned off in the portal are restored on the next drift check, and reported', async () => {
    await clients.sql.serverBlobAuditingPolicies.beginCreateOrUpdateAndWait(names.resourceGroup, names.sqlServer, {
      state: 'Disabled',
    });
    await clients.sql.serverAdvancedThreatProtectionSettings.beginCreateOrUpdateAndWait(
      names.resourceGroup,
      names.sqlServer,
      'Default',
      {
        state: 'Disabled',
      },
    );
    await checkAgain('after the portal');
    await waitFor('auditing and Defender restored', async () => {
      const auditing = await clients.sql.serverBlobAuditingPolicies.get(names.resourceGroup, names.sqlServer);
      const defender = await clients.sql.serverAdvancedThreatProtectionSettings.get(
        names.resourceGroup,
        names.sqlServer,
        'Default',
      );
      return auditing.state === 'Enabled' && auditing.isAzureMonitorTargetEnabled && defender.state === 'Enabled';
    });
    const reports = await waitFor('drift reported', async () => {
      const events = await admin.request<{ items: { type?: string; message?: string }[] }>(
        'GET',
        `/api/v1/namespaces/default/events?fieldSelector=involvedObject.kind=Tenant,involvedObject.name=${NAME},reason=DriftRepaired`,
      );
      const messages = events.items.map((e) => `${e.type}: ${e.message}`);
      return messages.some((m) => m.includes('SQL auditing')) && messages.some((m) => m.includes('Defender'))
        ? messages
        : undefined;
    });
    expect(reports.every((m) => m.startsWith('Warning:'))).toBe(true);
    expect(azureOf(await waitForReady(admin, NAME)).threatDetection).toBe('Enabled');
  });

  test('a key rotated by hand: the SQL side follows the new version, and status and metrics show the new key', async () => {
    const before = azureOf(await admin.get<TenantWithStatus>(typeOf('Tenant'), NAME));
    await rotateArmKey(info.arm, keyId);
    await checkAgain('after a rotation');
    const after = await waitFor('the new version in status, SQL on it', async () => {
      const azure = azureOf(await admin.get<TenantWithStatus>(typeOf('Tenant'), NAME));
      return azure.keyVersion !== before.keyVersion && azure.sqlKeyVersion === azure.keyVersion ? azure : undefined;
    });
    expect(Date.parse(after.keyCreatedAt ?? '')).toBeGreaterThanOrEqual(Date.parse(before.keyCreatedAt ?? ''));
    expect(await scrape('tenant_operator_key_created_timestamp_seconds')).toBe(Date.parse(after.keyCreatedAt ?? '') / 1000);
    await waitForReady(admin, NAME);
  });

  test('a rotation policy removed by hand stalls the Tenant for the platform team; restored, it is Ready again', async () => {
    await setArmKeyRotationPolicy(info.arm, keyId);
    await checkAgain('after the policy was removed');
    const stalled = await waitFor('KeyVaultReady False', async () => {
      const t = await admin.get<TenantWithStatus>(typeOf('Tenant'), NAME);
      return condition(t, 'KeyVaultReady')?.status === 'False' ? t : undefined;
    });
    expect(condition(stalled, 'KeyVaultReady')).toMatchObject({
      reason: 'KeyRotationPolicyDiffers',
      message: expect.stringContaining('az keyvault key rotation-policy update'),
    });
    expect(condition(stalled, 'Ready')).toMatchObject({ status: 'False', reason: 'KeyRotationPolicyDiffers' });
    expect(condition(stalled, 'Stalled')).toMatchObject({ status: 'True', reason: 'KeyRotationPolicyDiffers' });
    // The database is untouched: the key still serves.
    expect(condition(stalled, 'DatabaseReady')?.status).toBe('True');

    await setArmKeyRotationPolicy(info.arm, keyId, {
      attributes: { expiryTime: 'P2Y' },
      lifetimeActions: [
        { trigger: { timeAfterCreate: 'P1Y' }, action: { type: 'Rotate' } },
        { trigger: { timeBeforeExpiry: 'P30D' }, action: { type: 'Notify' } },
      ],
    });
    await checkAgain('after the policy was restored');
    await waitForReady(admin, NAME);
  });
});
