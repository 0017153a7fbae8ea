/**
 * The floor, run as its own process (like the operator): `node bench/floor.ts PLAN.json`.
 *
 * For each tenant of the plan, in the operator's dependency order and with the operator's
 * `concurrency` tenants in flight: server-side apply of the isolation objects (plain client,
 * field manager `bench-floor`), then the ARM writes the operator made, through the operator's own
 * SDK clients and per-resource `apply*` functions with nothing observed first (create paths
 * only, no GETs), under the same write limiter, then the application objects. Prints one JSON
 * line with the timings.
 */
import { readFileSync } from 'node:fs';
import { fetch } from 'undici';
import type { AzureContext } from '../src/azure/arm.ts';
import {
  applyFederatedCredential,
  applyIdentity,
  serviceAccountSubject,
  WORKLOAD_IDENTITY_AUDIENCE,
} from '../src/azure/identity.ts';
import { applyVault, applyVaultKey } from '../src/azure/key-vault.ts';
import { federatedCredentialName, tenantAzureNames } from '../src/azure/names.ts';
import { applyResourceGroup } from '../src/azure/resource-group.ts';
import { applyRoleAssignment, BUILT_IN_ROLES } from '../src/azure/role-assignment.ts';
import {
  applyDatabase,
  applyEncryptionProtector,
  applyEntraAdmin,
  applyEntraOnly,
  applyLongTermRetention,
  applyServerKey,
  applyShortTermRetention,
  applySqlServer,
  applyTde,
  serverKeyName,
} from '../src/azure/sql.ts';
import { createAzureClientsFromConfig, desiredAzure, WAF_POLICY_NAME } from '../src/azure/tenant-adapter.ts';
import { tenantAzureTags } from '../src/azure/tenant-azure.ts';
import { applyWafPolicy } from '../src/azure/waf-policy.ts';
import { loadConfig } from '../src/config.ts';
import { KubeClient, type KubeObject, resourcePath } from '../src/runtime/kube-client.ts';
import { KubeConnection } from '../src/runtime/kubeconfig.ts';
import { resourceOf } from '../src/runtime/resources.ts';
import { buildWafCustomRules } from '../src/tenant/front-door.ts';
import { parseTenant } from '../src/tenant/parse.ts';
import type { FloorPlan, FloorTenant } from './floor-plan.ts';

const plan = JSON.parse(readFileSync(process.argv[2] as string, 'utf8')) as FloorPlan;
const config = loadConfig({ file: plan.configPath, env: {} });
const connection = KubeConnection.load({ path: plan.kubeconfig });

/**
 * Server-side apply with the bare minimum around it: one connection pool, credentials fetched
 * once, no error classification. `kubeClient: 'operator'` uses the operator's KubeClient instead.
 */
async function pooledApply(): Promise<(obj: KubeObject) => Promise<void>> {
  const authorization = await connection.authorization();
  const headers = {
    accept: 'application/json',
    'content-type': 'application/apply-patch+yaml',
    ...(authorization ? { authorization } : {}),
  };
  return async (obj) => {
    const url = `${connection.server}${resourcePath(resourceOf(obj.kind), obj.metadata.namespace, obj.metadata.name)}?fieldManager=bench-floor&force=true`;
    const response = await fetch(url, { method: 'PATCH', headers, body: JSON.stringify(obj), dispatcher: connection.dispatcher });
    const text = await response.text();
    if (!response.ok) throw new Error(`HTTP ${response.status}: ${text.slice(0, 300)}`);
  };
}

const operatorClient = new KubeClient(connection);
const applyOne =
  plan.kubeClient === 'operator'
    ? async (obj: KubeObject) => {
        await operatorClient.apply(resourceOf(obj.kind), obj, 'bench-floor');
      }
    : await pooledApply();
const azureConfig = config.azure;
const clients = azureConfig ? createAzureClientsFromConfig(azureConfig) : undefined;
const steps = new Set(plan.armSteps.map((s) => s.toLowerCase()));
const has = (type: string) => steps.has(type.toLowerCase());

let kubeWrites = 0;
let kubeMs = 0;
let armMs = 0;
const errors: string[] = [];

/** Retries a failing call a few times (the floor must finish; failures are reported). */
async function attempt<T>(what: string, fn: () => Promise<T>): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (i >= 4) throw err;
      if (errors.length < 20) errors.push(`${what}: ${(err as Error).message}`);
      await new Promise((r) => setTimeout(r, 200 * i));
    }
  }
}

async function applyAll(objects: KubeObject[]): Promise<void> {
  const started = performance.now();
  for (const obj of objects) {
    await attempt(`apply ${obj.kind} ${obj.metadata.namespace ?? ''}/${obj.metadata.name}`, () => applyOne(obj));
    kubeWrites++;
  }
  kubeMs += performance.now() - started;
}

/** The ARM writes of one tenant environment, in the order reconcileTenantAzure makes them. */
async function azureWrites(t: FloorTenant): Promise<void> {
  if (!clients || !azureConfig) return;
  const started = performance.now();
  const parsed = parseTenant(t.tenant);
  if (!parsed.ok) throw new Error(`floor tenant ${t.name}: ${parsed.message}`);
  const tenant = parsed.tenant;
  const desired = desiredAzure(tenant, config, azureConfig, plan.redundancy);
  const ctx: AzureContext = { clients };
  const names = tenantAzureNames(
    desired.tenant,
    desired.environment,
    desired.nameSalt === undefined ? {} : { salt: desired.nameSalt },
  );
  const tags = tenantAzureTags(desired);
  const rg = names.resourceGroup;
  const location = desired.region;
  const step = <T>(what: string, fn: () => Promise<T>) => attempt(`${what} ${t.name}`, fn);

  await step('resource group', () => applyResourceGroup(ctx, { name: rg, location, tags }, undefined));
  const identity = await step('identity', () =>
    applyIdentity(ctx, { resourceGroup: rg, name: names.identity, location, tags }, undefined),
  );
  if (has('Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials')) {
    const { namespace, serviceAccountName, oidcIssuer } = desired.identity;
    await step('federated credential', () =>
      applyFederatedCredential(
        ctx,
        {
          resourceGroup: rg,
          identityName: names.identity,
          name: federatedCredentialName(namespace, serviceAccountName),
          issuer: oidcIssuer,
          subject: serviceAccountSubject(namespace, serviceAccountName),
          audiences: [WORKLOAD_IDENTITY_AUDIENCE],
        },
        undefined,
      ),
    );
  }
  const vault = await step('key vault', () =>
    applyVault(
      ctx,
      {
        resourceGroup: rg,
        name: names.keyVault,
        location,
        tags,
        tenantId: desired.entraAdmin.tenantId,
        publicNetworkAccess: desired.keyVault.publicNetworkAccess,
      },
      undefined,
      undefined,
    ),
  );
  const key = await step('TDE key', () =>
    applyVaultKey(
      ctx,
      { resourceGroup: rg, vaultName: names.keyVault, name: names.tdeKey, kty: 'RSA', keySize: 3072 },
      undefined,
    ),
  );
  await step('role assignment (secrets user)', () =>
    applyRoleAssignment(
      ctx,
      {
        scope: vault.id,
        role: BUILT_IN_ROLES.keyVaultSecretsUser,
        principalId: identity.principalId as string,
        principalType: 'ServicePrincipal',
      },
      undefined,
    ),
  );
  const entraAdmin = { ...desired.entraAdmin, principalType: desired.entraAdmin.principalType ?? ('Group' as const) };
  const server = await step('SQL server', () =>
    applySqlServer(ctx, { resourceGroup: rg, name: names.sqlServer, location, tags, entraAdmin }, undefined),
  );
  if (has('Microsoft.Sql/servers/administrators'))
    await step('Entra admin', () => applyEntraAdmin(ctx, rg, names.sqlServer, entraAdmin, undefined));
  if (has('Microsoft.Sql/servers/azureADOnlyAuthentications'))
    await step('Entra-only', () => applyEntraOnly(ctx, rg, names.sqlServer, undefined));
  await step('role assignment (crypto)', () =>
    applyRoleAssignment(
      ctx,
      {
        scope: vault.id,
        role: BUILT_IN_ROLES.keyVaultCryptoServiceEncryptionUser,
        principalId: server.principalId as string,
        principalType: 'ServicePrincipal',
      },
      undefined,
    ),
  );
  const keyUri = key.keyUriWithVersion as string;
  await step('server key', () => applyServerKey(ctx, rg, names.sqlServer, keyUri, undefined));
  await step('encryption protector', () => applyEncryptionProtector(ctx, rg, names.sqlServer, serverKeyName(keyUri), undefined));
  await step('database', () =>
    applyDatabase(
      ctx,
      {
        resourceGroup: rg,
        serverName: names.sqlServer,
        name: names.sqlDatabase,
        location,
        tags,
        sku: { name: desired.sql.skuName, tier: desired.sql.tier, capacity: desired.sql.capacity },
        backupStorageRedundancy: desired.sql.backupStorageRedundancy,
      },
      undefined,
    ),
  );
  if (has('Microsoft.Sql/servers/databases/transparentDataEncryption'))
    await step('TDE', () => applyTde(ctx, rg, names.sqlServer, names.sqlDatabase, undefined));
  if (has('Microsoft.Sql/servers/databases/backupShortTermRetentionPolicies'))
    await step('short-term retention', () =>
      applyShortTermRetention(ctx, rg, names.sqlServer, names.sqlDatabase, plan.retention.shortTerm, undefined),
    );
  if (has('Microsoft.Sql/servers/databases/backupLongTermRetentionPolicies'))
    await step('long-term retention', () =>
      applyLongTermRetention(ctx, rg, names.sqlServer, names.sqlDatabase, plan.retention.longTerm, undefined),
    );
  if (has('Microsoft.Network/ApplicationGatewayWebApplicationFirewallPolicies'))
    await step('WAF policy', () =>
      applyWafPolicy(
        ctx,
        {
          resourceGroup: rg,
          name: WAF_POLICY_NAME,
          location,
          tags,
          mode: azureConfig.wafMode,
          customRules: buildWafCustomRules(tenant),
        },
        undefined,
      ),
    );
  armMs += performance.now() - started;
}

const perTenantMs: number[] = [];
const queue = [...plan.tenants];
const started = performance.now();
await Promise.all(
  Array.from({ length: plan.concurrency }, async () => {
    for (let t = queue.shift(); t; t = queue.shift()) {
      const begun = performance.now();
      await applyAll(t.isolation);
      await azureWrites(t);
      await applyAll(t.app);
      perTenantMs.push(performance.now() - begun);
    }
  }),
);
const totalMs = performance.now() - started;

process.stdout.write(
  `${JSON.stringify({
    totalMs,
    tenants: plan.tenants.length,
    perTenantMs: perTenantMs.sort((a, b) => a - b),
    kubeWrites,
    kubeMs,
    armMs,
    armWritesGranted: clients?.writeLimiter.stats.granted ?? 0,
    armLimiterWaitedMs: clients?.writeLimiter.stats.waitedMs ?? 0,
    errors,
    resourceUsage: process.resourceUsage(),
  })}\n`,
);
process.exit(0);
