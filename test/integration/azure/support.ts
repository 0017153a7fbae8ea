/**
 * Shared setup for the Azure integration tests: an ARM emulator, the operator's real SDK pipeline
 * pointed at it, a tenant's plan built the way the reconciler builds it, and a driver that does
 * what the controller does with the engine: a pass, then another after a short requeue, carrying
 * the recorded operations, until everything is Ready.
 */
import { expect } from '@jest/globals';
import { type ArmEmulator, type ArmEmulatorOptions, startArmEmulator } from '../../../hack/arm-emulator/index.ts';
import type { Tenant } from '../../../src/api/v1alpha1/tenant.ts';
import type { ArmBody, ArmClient } from '../../../src/azure/arm-client.ts';
import { type PassResult, type PendingOperation, reconcileResources } from '../../../src/azure/engine.ts';
import { createWriteLimiter } from '../../../src/azure/write-limiter.ts';
import { type OperatorConfig, parseConfig } from '../../../src/config.ts';
import type { OperatorContext } from '../../../src/context.ts';
import { EventRecorder } from '../../../src/observability/events.ts';
import { silentLogger } from '../../../src/observability/logger.ts';
import { OperatorMetrics } from '../../../src/observability/metrics.ts';
import { TerminalError } from '../../../src/runtime/errors.ts';
import { type BackupPlan, type TenantAzurePlan, tenantAzurePlan, tenantAzureResources } from '../../../src/tenant/azure.ts';
import type { TenantAzureNames } from '../../../src/tenant/azure-names.ts';
import { armClientOf, TenantAzureStep } from '../../../src/tenant/azure-step.ts';
import { parseTenant } from '../../../src/tenant/parse.ts';
import type { SqlPlacement } from '../../../src/tenant/placement.ts';
import { createTypedAzureClients, type TypedAzureClients } from '../../harness/azure-sdk-clients.ts';
import { emulatorPlatformNetwork, privateNetworkConfig, type TenantOptions, tenant } from '../../harness/fixtures.ts';

export interface AzureTestEnv {
  emulator: ArmEmulator;
  clients: TypedAzureClients;
  arm: ArmClient;
  config: OperatorConfig;
}

export interface AzureTestEnvOptions extends ArmEmulatorOptions {
  /** SDK retries per request (default: the SDK's 3), with short delays either way. */
  maxRetries?: number;
  /** Per-request timeout in ms (default 2 000: hanging faults must fail fast). */
  requestTimeoutMs?: number;
  /** Fields of the operator's `azure` configuration to override (e.g. a subnet that does not exist). */
  operatorConfig?: Record<string, unknown>;
}

/** Start an emulator (Azure's behaviours, RBAC propagating for 300 ms) and the operator's clients against it. */
export async function startAzureTestEnv(options: AzureTestEnvOptions = {}): Promise<AzureTestEnv> {
  const emulator = await startArmEmulator({
    platformNetwork: emulatorPlatformNetwork(),
    ...options,
    behaviours: { rbacPropagationDelayMs: 300, ...options.behaviours },
  });
  const clients = createTypedAzureClients({
    subscriptionId: emulator.subscriptionId,
    endpoint: emulator.endpoint,
    ca: emulator.ca,
    credential: emulator.credential,
    writeLimiter: createWriteLimiter({ writesPerSecond: 1000, burst: 1000 }),
    managedIdentityWriteLimiter: createWriteLimiter({ writesPerSecond: 2, burst: 2 }),
    requestTimeoutMs: options.requestTimeoutMs ?? 2_000,
    retry: {
      retryDelayInMs: 5,
      maxRetryDelayInMs: 20,
      ...(options.maxRetries === undefined ? {} : { maxRetries: options.maxRetries }),
    },
  });
  const config = parseConfig({
    azure: {
      subscriptionId: emulator.subscriptionId,
      directoryTenantId: emulator.directoryTenantId,
      endpoint: emulator.endpoint,
      credential: 'emulator',
      oidcIssuer: 'https://oidc.example.test/issuer/',
      sqlAdminGroup: { login: 'sql-admins', objectId: '5f0e8c1a-3b6d-4e2f-9a7c-1d2e3f4a5b6c' },
      frontDoorRegion: 'westeurope',
      tags: { costCenter: 'cc-42' },
      // As long as the emulator's role assignments take to propagate here (minutes on Azure).
      rbacPropagationSeconds: 0.3,
      ...privateNetworkConfig(emulatorPlatformNetwork(emulator.subscriptionId)),

      audit: { logAnalyticsWorkspaceId: emulator.auditWorkspaceId },
      ...options.operatorConfig,
    },
  });
  return { emulator, clients, arm: armClientOf(clients, { endpoint: emulator.endpoint }), config };
}

/** The backup settings of the default BackupPolicy, as the reconciler resolves them. */
export const DEFAULT_BACKUP: BackupPlan = {
  redundancy: 'Zone',
  shortTerm: { retentionDays: 14, diffBackupIntervalInHours: 12 },
  longTerm: { weeklyRetention: 'P12W', monthlyRetention: 'PT0S', yearlyRetention: 'PT0S', weekOfYear: 1 },
};

/** Tenant `name`'s plan, built by the same pure functions the reconciler uses. */
export function tenantPlan(
  env: AzureTestEnv,
  name: string,
  options: TenantOptions & { backup?: BackupPlan | null; zoneRedundancyHeld?: boolean; placement?: SqlPlacement } = {},
): TenantAzurePlan {
  const parsed = parseTenant(tenant(name, { environment: 'Production', replicas: 2, ...options }));
  if (!parsed.ok) throw new Error(parsed.message);
  const azure = env.config.azure;
  if (!azure) throw new Error('no azure config');
  return tenantAzurePlan(
    parsed.tenant,
    env.config,
    azure,
    options.backup === null ? undefined : (options.backup ?? DEFAULT_BACKUP),
    options.zoneRedundancyHeld,
    options.placement,
  );
}

export interface ConvergeResult {
  last: PassResult;
  passes: number;
  /** Reason of every retryable failure along the way. */
  retries: string[];
}

/**
 * What the controller does: a pass, then (after `delayMs`) another with the operations it
 * recorded, until every resource is Ready. A terminal failure throws at once.
 */
export async function converge(
  env: AzureTestEnv,
  plan: TenantAzurePlan,
  options: { maxPasses?: number; delayMs?: number; pending?: PendingOperation[] } = {},
): Promise<ConvergeResult> {
  const maxPasses = options.maxPasses ?? 400;
  const retries: string[] = [];
  let pending = options.pending ?? [];
  for (let passes = 1; passes <= maxPasses; passes++) {
    // Azure's clock: what a create computes from now (a key's first expiry) agrees with the emulator's.
    const last = await reconcileResources(env.arm, tenantAzureResources(plan), { pending, now: env.emulator.clock.now() });
    pending = last.pending;
    for (const r of last.reports.values()) {
      if (!r.error) continue;
      if (r.error instanceof TerminalError) throw r.error;
      retries.push(r.error.reason);
    }
    if (last.converged) return { last, passes, retries };
    await new Promise((resolve) => setTimeout(resolve, options.delayMs ?? 10));
  }
  throw new Error(`did not converge in ${maxPasses} passes: ${retries.join(', ')}`);
}

/** Counts of requests by kind since a bookmark. */
export function countRequests(emulator: ArmEmulator, since = 0): { reads: number; writes: number; polls: number } {
  const rs = emulator.requests.filter((r) => r.seq > since);
  return {
    reads: rs.filter((r) => r.method === 'GET' && r.kind !== 'operation').length,
    writes: rs.filter((r) => r.write).length,
    polls: rs.filter((r) => r.kind === 'operation').length,
  };
}

/** Ids of a tenant environment's resources in the emulator. */
export function resourceIds(emulator: ArmEmulator, names: TenantAzureNames) {
  const rg = `/subscriptions/${emulator.subscriptionId}/resourceGroups/${names.resourceGroup}`;
  const server = `${rg}/providers/Microsoft.Sql/servers/${names.sqlServer}`;
  const vault = `${rg}/providers/Microsoft.KeyVault/vaults/${names.keyVault}`;
  const identity = `${rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${names.identity}`;
  const database = `${server}/databases/${names.sqlDatabase}`;
  const waf = `${rg}/providers/Microsoft.Network/ApplicationGatewayWebApplicationFirewallPolicies/tenant-waf`;
  const peSql = `${rg}/providers/Microsoft.Network/privateEndpoints/pe-sql`;
  const peVault = `${rg}/providers/Microsoft.Network/privateEndpoints/pe-keyvault`;
  return { rg, server, vault, identity, database, waf, key: `${vault}/keys/${names.tdeKey}`, peSql, peVault };
}

const props = (body: ArmBody | undefined): ArmBody => (body?.properties ?? {}) as ArmBody;

/**
 * Every security property of a converged tenant, checked on the emulator's state (what ARM holds),
 * not on what the operator believes.
 */
export function expectSecureTenant(emulator: ArmEmulator, plan: TenantAzurePlan): void {
  const ids = resourceIds(emulator, plan.names);
  const state = emulator.state;

  const server = state.get(ids.server);
  expect(server).toMatchObject({
    identity: { type: 'SystemAssigned' },
    properties: { minimalTlsVersion: '1.2', publicNetworkAccess: 'Disabled', state: 'Ready' },
  });
  expect(props(server).administratorLogin).toBeUndefined();
  expect(state.get(`${ids.server}/azureADOnlyAuthentications/Default`)).toMatchObject({
    properties: { azureADOnlyAuthentication: true },
  });
  expect(state.get(`${ids.server}/administrators/ActiveDirectory`)).toMatchObject({
    properties: { administratorType: 'ActiveDirectory', login: plan.entraAdmin.login, sid: plan.entraAdmin.objectId },
  });

  const key = state.get(ids.key);
  expect(key).toMatchObject({ properties: { kty: 'RSA', keySize: 3072, attributes: { enabled: true } } });
  // Key Vault rotates the key on its policy; its first version expires like every later one.
  expect(props(key).rotationPolicy).toMatchObject({
    attributes: { expiryTime: plan.keyRotation.expireAfter },
    lifetimeActions: expect.arrayContaining([
      { trigger: { timeAfterCreate: plan.keyRotation.rotateAfter }, action: { type: 'rotate' } },
      { trigger: { timeBeforeExpiry: plan.keyRotation.notifyBefore }, action: { type: 'notify' } },
    ]),
  });
  expect((props(key).attributes as { exp?: unknown }).exp).toEqual(expect.any(Number));
  const keyUri = props(key).keyUriWithVersion as string;
  expect(state.get(`${ids.server}/encryptionProtector/current`)).toMatchObject({
    kind: 'azurekeyvault',
    properties: { serverKeyType: 'AzureKeyVault', uri: keyUri, autoRotationEnabled: true },
  });
  expect(state.get(`${ids.database}/transparentDataEncryption/current`)).toMatchObject({ properties: { state: 'Enabled' } });

  // Audit: server-level auditing of every batch and login to Azure Monitor, sent from master to the
  // configured workspace, the vault's AuditEvent log to the same; Defender for SQL on the server.
  expect(state.get(`${ids.server}/auditingSettings/default`)).toMatchObject({
    properties: {
      state: 'Enabled',
      isAzureMonitorTargetEnabled: true,
      auditActionsAndGroups: expect.arrayContaining([
        'BATCH_COMPLETED_GROUP',
        'SUCCESSFUL_DATABASE_AUTHENTICATION_GROUP',
        'FAILED_DATABASE_AUTHENTICATION_GROUP',
      ]),
    },
  });
  const sentTo = (scope: string, category: string) =>
    state
      .list('Microsoft.Insights/diagnosticSettings')
      .filter((d) => (d.id as string).toLowerCase().startsWith(`${scope.toLowerCase()}/providers/`))
      .filter((d) => ((props(d).logs ?? []) as ArmBody[]).some((l) => l.category === category && l.enabled === true))
      .map((d) => (props(d).workspaceId as string).toLowerCase());
  expect(sentTo(`${ids.server}/databases/master`, 'SQLSecurityAuditEvents')).toEqual([plan.audit.workspaceId.toLowerCase()]);
  expect(sentTo(ids.vault, 'AuditEvent')).toEqual([plan.audit.workspaceId.toLowerCase()]);
  expect(state.get(`${ids.server}/advancedThreatProtectionSettings/Default`)).toMatchObject({ properties: { state: 'Enabled' } });
  expect(props(state.get(ids.database))).toMatchObject({ requestedBackupStorageRedundancy: plan.backup?.redundancy });
  expect(['Online', 'Paused']).toContain(props(state.get(ids.database)).status);

  expect(state.get(ids.vault)).toMatchObject({
    properties: {
      enableSoftDelete: true,
      enablePurgeProtection: true,
      enableRbacAuthorization: true,
      networkAcls: { defaultAction: 'Deny', bypass: 'AzureServices' },
      publicNetworkAccess: plan.keyVaultPublicNetworkAccess ? 'Enabled' : 'Disabled',
    },
  });

  // Exactly the two grants on the vault: secrets for the workload, crypto for the SQL server.
  const identity = state.get(ids.identity);
  const grants = state
    .list('Microsoft.Authorization/roleAssignments')
    .filter((ra) => (props(ra).scope as string).toLowerCase() === ids.vault.toLowerCase())
    .map((ra) => [(props(ra).roleDefinitionId as string).split('/').pop(), props(ra).principalId]);
  expect(grants).toHaveLength(2);
  expect(grants).toEqual(
    expect.arrayContaining([
      ['4633458b-17de-408a-b874-0445c86b69e6', props(identity).principalId],
      ['e147488a-f6f5-4113-8e2d-b22465e65bf6', (server?.identity as ArmBody | undefined)?.principalId],
    ]),
  );

  const fics = state.list('Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials');
  expect(fics.filter((f) => (f.id as string).startsWith(ids.identity))).toEqual([
    expect.objectContaining({
      properties: expect.objectContaining({
        issuer: plan.identity.oidcIssuer,
        subject: `system:serviceaccount:${plan.identity.namespace}:${plan.identity.serviceAccountName}`,
        audiences: ['api://AzureADTokenExchange'],
      }),
    }),
  ]);

  // The WAF policy lives with the front door, not with the data.
  expect(state.get(ids.waf)).toMatchObject({ location: plan.wafRegion, properties: { policySettings: { mode: 'Prevention' } } });

  // Each service answers at one address of the platform's subnet, through an approved connection,
  // and its own name resolves to that address in the private DNS zone.
  const pe = plan.privateEndpoints;
  if (pe.configured) {
    for (const [id, target, zone] of [
      [ids.peSql, ids.server, pe.dnsZones.sql],
      [ids.peVault, ids.vault, pe.dnsZones.keyVault],
    ] as const) {
      const endpoint = state.get(id);
      expect(endpoint).toMatchObject({
        location: plan.region,
        properties: {
          provisioningState: 'Succeeded',
          subnet: { id: pe.subnetId },
          privateLinkServiceConnections: [
            expect.objectContaining({
              properties: expect.objectContaining({
                privateLinkServiceId: target,
                privateLinkServiceConnectionState: expect.objectContaining({ status: 'Approved' }),
              }),
            }),
          ],
        },
      });
      const records = (
        (props(state.get(`${id}/privateDnsZoneGroups/default`)).privateDnsZoneConfigs as ArmBody[] | undefined) ?? []
      ).flatMap((c) => (props(c).recordSets as ArmBody[] | undefined) ?? []);
      expect(records).toEqual([
        expect.objectContaining({ recordType: 'A', fqdn: `${target.split('/').pop()}.${zone.split('/').pop()}` }),
      ]);
      expect(props(state.get(target)).privateEndpointConnections).toEqual([
        expect.objectContaining({
          properties: expect.objectContaining({
            privateEndpoint: { id },
            privateLinkServiceConnectionState: expect.objectContaining({ status: 'Approved' }),
          }),
        }),
      ]);
    }
  }

  for (const id of [ids.rg, ids.identity, ids.vault, ids.server, ids.database, ids.waf, ids.peSql, ids.peVault]) {
    expect(state.get(id)?.tags).toMatchObject(plan.tags);
  }
  // The operator sent nothing the REST specs forbid.
  expect(state.specViolations()).toEqual([]);
}

/** The Tenant reconciler's Azure step, with a context of its own (no operator): clock = the emulator's. */
export function azureStep(
  env: AzureTestEnv,
  /** The Tenants the operator's cache holds (placement counts those placed on a shared server). */
  tenants: () => Tenant[] = () => [],
): { step: TenantAzureStep; events: string[]; metrics: OperatorMetrics } {
  const logger = silentLogger();
  const metrics = new OperatorMetrics({ defaultMetrics: false });
  const events: string[] = [];
  const recorder = new EventRecorder(undefined, 'azure-test', env.emulator.clock, logger);
  recorder.event = async (_obj, type, reason, message) => {
    events.push(`${type} ${reason}: ${message}`);
  };
  const caches = { tenants: { list: tenants } };
  const ctx = { config: env.config, clock: env.emulator.clock, logger, metrics, recorder, caches } as unknown as OperatorContext;
  const azure = env.config.azure;
  if (!azure) throw new Error('no azure config');
  return { step: new TenantAzureStep(ctx, azure, env.clients), events, metrics };
}

/** A Tenant as the reconciler holds it, with the status the Azure step keeps between passes. */
export function storedTenant(name: string, options: TenantOptions = {}): Tenant {
  const parsed = parseTenant({
    ...tenant(name, { environment: 'Production', replicas: 2, ...options }),
    metadata: { name, uid: `uid-${name}`, generation: 1 },
  });
  if (!parsed.ok) throw new Error(parsed.message);
  return parsed.tenant;
}
