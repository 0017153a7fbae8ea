/**
 * Issue #17 parts 2-4 against the ARM emulator, through the operator's real SDK pipeline: audit
 * records kept at least 180 days (SQL auditing and the vault's AuditEvent log sent to the
 * configured workspace, whose retention is checked), Defender for SQL, and the encryption key's
 * rotation (Key Vault rotates on the policy the operator set, the SQL side follows the new version,
 * status says how old the key is). Drift is compared in Azure's normal form and repaired where ARM
 * can write it; where it cannot (a key's rotation policy, the platform's workspace), it is reported
 * for the platform team and never written.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { ArmBody } from '../../../src/azure/arm-client.ts';
import { reconcileResources } from '../../../src/azure/engine.ts';
import { DIAGNOSTIC_SETTINGS_API_VERSION, LOG_ANALYTICS_API_VERSION } from '../../../src/azure/kinds/monitor.ts';
import { PlatformError } from '../../../src/runtime/errors.ts';
import { AUDIT_DIAGNOSTIC_SETTING, type TenantAzurePlan, tenantAzureResources } from '../../../src/tenant/azure.ts';
import {
  type AzureTestEnv,
  azureStep,
  converge,
  expectSecureTenant,
  resourceIds,
  startAzureTestEnv,
  storedTenant,
  tenantPlan,
} from './support.ts';

let env: AzureTestEnv;

beforeAll(async () => {
  env = await startAzureTestEnv();
});

afterAll(async () => {
  await env.emulator.stop();
});

const props = (body: ArmBody | undefined): ArmBody => (body?.properties ?? {}) as ArmBody;
const DAY = 86_400_000;

/** One pass, as the controller runs it. */
const pass = (plan: TenantAzurePlan) =>
  reconcileResources(env.arm, tenantAzureResources(plan), { now: env.emulator.clock.now() });

/** Settles what the writes of a pass began, then one more pass (what the next requeue does). */
async function settle(plan: TenantAzurePlan) {
  env.emulator.state.completeOperations();
  return converge(env, plan);
}

describe('audit retained at least 180 days', () => {
  test('SQL auditing and the vault’s AuditEvent log go to the configured workspace, which keeps them 180 days', async () => {
    const plan = tenantPlan(env, 'audited');
    await converge(env, plan);
    expectSecureTenant(env.emulator, plan);
    const { step } = azureStep(env);
    const result = await step.reconcile(storedTenant('audited'), plan);
    expect(result.failure).toBeUndefined();
    expect(result.facts).toMatchObject({ auditRetentionDays: 180, threatDetection: 'Enabled' });
    expect(result.conditions.find((c) => c.type === 'DatabaseReady')).toMatchObject({
      status: 'True',
      message: expect.stringContaining('audited'),
    });
  });

  test('auditing disabled, Defender off and the vault’s log setting deleted by hand: one write each repairs them', async () => {
    const { emulator, clients } = env;
    const plan = tenantPlan(env, 'tampered');
    await converge(env, plan);
    const ids = resourceIds(emulator, plan.names);
    // Someone in the portal (through the SDK, as the portal does).
    await clients.sql.serverBlobAuditingPolicies.beginCreateOrUpdateAndWait(plan.names.resourceGroup, plan.names.sqlServer, {
      state: 'Disabled',
    });
    await clients.sql.serverAdvancedThreatProtectionSettings.beginCreateOrUpdateAndWait(
      plan.names.resourceGroup,
      plan.names.sqlServer,
      'Default',
      { state: 'Disabled' },
    );
    const vaultSetting = `${ids.vault}/providers/Microsoft.Insights/diagnosticSettings/${AUDIT_DIAGNOSTIC_SETTING}`;
    await env.arm.beginWrite('DELETE', vaultSetting, DIAGNOSTIC_SETTINGS_API_VERSION);
    expect(props(emulator.state.get(`${ids.server}/auditingSettings/default`)).state).toBe('Disabled');

    const mark = emulator.mark();
    const first = await pass(plan);
    expect(first.changes.map((c) => `${c.label}: ${c.what.join(', ')}`).sort()).toEqual([
      'SQL Defender (advanced threat protection) Default: state',
      'SQL auditing default: state, isAzureMonitorTargetEnabled, auditActionsAndGroups',
      `diagnostic setting ${AUDIT_DIAGNOSTIC_SETTING}: created`,
    ]);
    await settle(plan);
    expect(
      emulator
        .writes(mark)
        .map((w) => `${w.method} ${w.resourceType}`)
        .sort(),
    ).toEqual([
      'PUT Microsoft.Insights/diagnosticSettings',
      'PUT Microsoft.Sql/servers/advancedThreatProtectionSettings',
      'PUT Microsoft.Sql/servers/auditingSettings',
    ]);
    expectSecureTenant(emulator, plan);
    // Converged in Azure's normal form: nothing more to write.
    const again = emulator.mark();
    expect((await pass(plan)).converged).toBe(true);
    expect(emulator.writes(again)).toEqual([]);
  });

  test('a workspace keeping fewer than 180 days is reported for the platform team, and nothing is written to it', async () => {
    const { emulator } = env;
    const plan = tenantPlan(env, 'shortlived');
    await converge(env, plan);
    const workspace = emulator.auditWorkspaceId;
    // The platform team lowers the workspace's retention to the default 30 days.
    await env.arm.beginWrite('PATCH', workspace, LOG_ANALYTICS_API_VERSION, { properties: { retentionInDays: 30 } });
    try {
      const { step } = azureStep(env);
      const mark = emulator.mark();
      const result = await step.reconcile(storedTenant('shortlived'), plan);
      expect(result.failure).toBeInstanceOf(PlatformError);
      expect(result.failure).toMatchObject({ reason: 'AuditRetentionTooShort', message: expect.stringContaining('30 days') });
      for (const type of ['KeyVaultReady', 'DatabaseReady']) {
        expect(result.conditions.find((c) => c.type === type)).toMatchObject({
          status: 'False',
          reason: 'AuditRetentionTooShort',
        });
      }
      expect(result.facts.auditRetentionDays).toBe(30);
      // Not converged, so not trusted: the next check reads Azure again.
      expect(result.record.verified).toBeUndefined();
      expect(emulator.writes(mark)).toEqual([]);

      // Long-term retention counts: 30 days interactive, 180 in total is enough.
      await env.arm.beginWrite('PATCH', `${workspace}/tables/AzureDiagnostics`, LOG_ANALYTICS_API_VERSION, {
        properties: { totalRetentionInDays: 180 },
      });
      emulator.state.completeOperations();
      const fixed = await step.reconcile(storedTenant('shortlived'), plan);
      expect(fixed.failure).toBeUndefined();
      expect(fixed.facts.auditRetentionDays).toBe(180);
    } finally {
      await env.arm.beginWrite('PATCH', workspace, LOG_ANALYTICS_API_VERSION, { properties: { retentionInDays: 180 } });
      await env.arm.beginWrite('PATCH', `${workspace}/tables/AzureDiagnostics`, LOG_ANALYTICS_API_VERSION, {
        properties: { totalRetentionInDays: -1 },
      });
      emulator.state.completeOperations();
    }
  });
});

describe('threat detection', () => {
  test('Defender for SQL is on for every server, and status says so', async () => {
    const plan = tenantPlan(env, 'defended');
    await converge(env, plan);
    const ids = resourceIds(env.emulator, plan.names);
    expect(props(env.emulator.state.get(`${ids.server}/advancedThreatProtectionSettings/Default`))).toMatchObject({
      state: 'Enabled',
      creationTime: expect.any(String),
    });
    const { step } = azureStep(env);
    expect((await step.reconcile(storedTenant('defended'), plan)).facts.threatDetection).toBe('Enabled');
  });
});

describe('key rotation', () => {
  test('a rotation policy removed by hand is reported (ARM cannot restore it), never re-created; the key still serves', async () => {
    const { emulator } = env;
    const plan = tenantPlan(env, 'unrotated');
    await converge(env, plan);
    const ids = resourceIds(emulator, plan.names);
    emulator.keyVault.setRotationPolicy(ids.key, undefined);

    const { step } = azureStep(env);
    const mark = emulator.mark();
    const result = await step.reconcile(storedTenant('unrotated'), plan);
    expect(result.failure).toMatchObject({ reason: 'KeyRotationPolicyDiffers', constructor: PlatformError });
    expect(result.failure?.message).toContain(`az keyvault key rotation-policy update --vault-name ${plan.names.keyVault}`);
    expect(result.conditions.find((c) => c.type === 'KeyVaultReady')).toMatchObject({
      status: 'False',
      reason: 'KeyRotationPolicyDiffers',
    });
    // The key is usable: the database depends on it and stays Ready.
    expect(result.conditions.find((c) => c.type === 'DatabaseReady')).toMatchObject({ status: 'True' });
    expect(emulator.writes(mark)).toEqual([]);

    // Restored by hand as the message says: converged again.
    emulator.keyVault.setRotationPolicy(ids.key, {
      attributes: { expiryTime: plan.keyRotation.expireAfter },
      lifetimeActions: [
        { trigger: { timeAfterCreate: plan.keyRotation.rotateAfter }, action: { type: 'Rotate' } },
        { trigger: { timeBeforeExpiry: plan.keyRotation.notifyBefore }, action: { type: 'Notify' } },
      ],
    });
    expect((await step.reconcile(storedTenant('unrotated'), plan)).failure).toBeUndefined();
  });

  test('Key Vault rotates the key after a year; Azure SQL follows the new version by itself; status shows the new key’s age', async () => {
    const { emulator } = env;
    const plan = tenantPlan(env, 'rotating');
    await converge(env, plan);
    const ids = resourceIds(emulator, plan.names);
    const { step } = azureStep(env);
    const before = (await step.reconcile(storedTenant('rotating'), plan)).facts;
    expect(before.keyVersion).toMatch(/^[0-9a-f]{32}$/);
    expect(before.sqlKeyVersion).toBe(before.keyVersion);
    // The first version expires two years after its creation, like every later one.
    expect(Date.parse(before.keyExpiresAt ?? '') - Date.parse(before.keyCreatedAt ?? '')).toBe(730 * DAY);

    // A year and an hour later (Azure SQL follows within 60 minutes, Azure documents).
    emulator.clock.advance(365 * DAY + 61 * 60_000);
    const rotated = props(emulator.state.get(ids.key));
    const version = (rotated.keyUriWithVersion as string).split('/').pop();
    expect(version).not.toBe(before.keyVersion);
    expect(props(emulator.state.get(`${ids.server}/encryptionProtector/current`))).toMatchObject({
      serverKeyName: `${plan.names.keyVault}_${plan.names.tdeKey}_${version}`,
      autoRotationEnabled: true,
    });

    // What the operator sees: the SQL side already follows, nothing to write; the old server key stays.
    const mark = emulator.mark();
    const after = await step.reconcile(storedTenant('rotating'), plan);
    expect(after.failure).toBeUndefined();
    expect(emulator.writes(mark)).toEqual([]);
    expect(after.facts).toMatchObject({ keyVersion: version, sqlKeyVersion: version });
    const created = Date.parse(after.facts.keyCreatedAt ?? '');
    expect(created).toBe(Date.parse(before.keyCreatedAt ?? '') + 365 * DAY);
    expect(Date.parse(after.facts.keyExpiresAt ?? '') - created).toBe(730 * DAY);
    expect(
      emulator.state.get(`${ids.server}/keys/${plan.names.keyVault}_${plan.names.tdeKey}_${before.keyVersion}`),
    ).toBeDefined();
    expectSecureTenant(emulator, plan);
  });

  test('when the operator looks before Azure SQL has followed, it moves the protector to the new version itself', async () => {
    const { emulator } = env;
    const plan = tenantPlan(env, 'eager');
    await converge(env, plan);
    const ids = resourceIds(emulator, plan.names);
    emulator.keyVault.rotate(ids.key);
    const version = (props(emulator.state.get(ids.key)).keyUriWithVersion as string).split('/').pop();
    const mark = emulator.mark();
    await converge(env, plan);
    expect(
      emulator
        .writes(mark)
        .filter((w) => w.status < 300)
        .map((w) => `${w.method} ${w.resourceType}`),
    ).toEqual(['PUT Microsoft.Sql/servers/keys', 'PUT Microsoft.Sql/servers/encryptionProtector']);
    expect(props(emulator.state.get(`${ids.server}/encryptionProtector/current`)).uri).toMatch(new RegExp(`/${version}$`));
    expectSecureTenant(emulator, plan);
  });
});
