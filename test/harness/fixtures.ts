/**
 * Fixture builders and helpers for integration tests: Tenants built from named options rather
 * than copied YAML, operators started in-process as the restricted user, and `waitFor` that
 * polls a condition with a timeout (never a fixed sleep).
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EMULATOR_OPERATOR_PRINCIPAL } from '../../hack/arm-emulator/entra.ts';
import {
  type ArmEmulator,
  type ArmEmulatorOptions,
  DEFAULT_LOCATIONS,
  defaultPlatformNetwork,
  EMULATOR_SUBSCRIPTION_ID,
  type PlatformCluster,
  type PlatformNetwork,
  PRIVATE_LINK_ZONES,
  startArmEmulator,
} from '../../hack/arm-emulator/index.ts';
import { platformAuditWorkspaceId } from '../../hack/arm-emulator/monitoring.ts';
import { type OperatorConfig, parseConfig } from '../../src/config.ts';
import { createLogger, silentLogger } from '../../src/observability/logger.ts';
import { Operator } from '../../src/operator.ts';
import type { Clock } from '../../src/runtime/clock.ts';
import type { KubeClient, KubeObject } from '../../src/runtime/kube-client.ts';
import { KubeConnection } from '../../src/runtime/kubeconfig.ts';
import { tenantAzureNames } from '../../src/tenant/azure-names.ts';
import { adminClient, typeOf } from './cluster-setup.ts';
import type { AuditEvent, ControlPlaneInfo } from './control-plane.ts';
import { type AttachedNodeCluster, attachNodeCluster } from './node-cluster.ts';

/** Where the shared ARM emulator listens, and what it trusts. */
export interface ArmInfo {
  endpoint: string;
  caFile: string;
  subscriptionId: string;
  directoryTenantId: string;
  /** `127.0.0.1:PORT` of the emulator's SQL data plane (TDS). */
  sqlEndpoint?: string | undefined;
}

/** The SQL admin group every test configuration names (azure.sqlAdminGroup). */
export const TEST_SQL_ADMIN_GROUP = '5f0e8c1a-3b6d-4e2f-9a7c-1d2e3f4a5b6c';

/**
 * The emulated directory of the tests and `make dev`: the operator's identity is a member of the SQL
 * admin group, as the platform team sets it up before installing the operator.
 */
export function emulatorDirectory(): Record<string, string[]> {
  return { [TEST_SQL_ADMIN_GROUP]: [EMULATOR_OPERATOR_PRINCIPAL.objectId] };
}

/** `nodeClusterBroker`: where test files attach to the real node cluster (node-cluster.ts). */
export type SharedInfo = ControlPlaneInfo & { arm: ArmInfo; nodeClusterBroker: string };

export function sharedControlPlane(): SharedInfo {
  const file = process.env.TENANT_OPERATOR_TEST_CP;
  if (!file) throw new Error('integration tests need the jest globalSetup (run through `npm test`)');
  return JSON.parse(readFileSync(file, 'utf8')) as SharedInfo;
}

/**
 * The suite's emulator settings: Azure's behaviours are the emulator's defaults
 * (hack/arm-emulator/README.md); the ones below are named, explicit and say why.
 */
export function suiteEmulatorOptions(): ArmEmulatorOptions {
  return {
    lroDelayMs: 5,
    // The platform team's private endpoint subnets and DNS zones, which exist before any tenant.
    platformNetwork: emulatorPlatformNetwork(),
    // The operator's identity is in the SQL admin group (its T-SQL logs in as the server's admin).
    directoryGroups: emulatorDirectory(),
    // The platform team's AKS cluster (emulatorAzureConfig names it), where Dedicated tenants get node pools.
    platformClusters: [emulatorPlatformCluster()],
    behaviours: {
      // Role assignments reach the data plane after 300 ms (minutes on Azure): the operator retries
      // the refused server key after azure.rbacPropagationRetrySeconds (0.2 s in the tests).
      rbacPropagationDelayMs: 300,
    },
  };
}

/**
 * An ARM emulator of a test file's own, with the suite's settings: for a file that moves the
 * emulator's clock or must count every request, so that no other file sees its clock or its load.
 */
export async function startPrivateArmEmulator(
  behaviours: ArmEmulatorOptions['behaviours'] = {},
  options: Omit<ArmEmulatorOptions, 'behaviours'> = {},
): Promise<{ emulator: ArmEmulator; arm: ArmInfo }> {
  const suite = suiteEmulatorOptions();
  const emulator = await startArmEmulator({ ...suite, ...options, behaviours: { ...suite.behaviours, ...behaviours } });
  const caFile = join(mkdtempSync(join(tmpdir(), 'tenant-operator-arm-')), 'arm-ca.pem');
  writeFileSync(caFile, emulator.ca);
  const arm = {
    endpoint: emulator.endpoint,
    caFile,
    subscriptionId: emulator.subscriptionId,
    directoryTenantId: emulator.directoryTenantId,
    sqlEndpoint: emulator.sqlEndpoint,
  };
  return { emulator, arm };
}

/**
 * Waits for this file's turn on the suite's real node cluster, a control plane of its own with
 * kubelet, controllers and CoreDNS (started by the first file that asks). Detach in afterAll.
 */
export function sharedNodeCluster(file: string): Promise<AttachedNodeCluster> {
  return attachNodeCluster(sharedControlPlane().nodeClusterBroker, file);
}

/**
 * The platform network the emulators of the tests and `make dev` hold: a private endpoint subnet in
 * every region the emulator knows, and the SQL and Key Vault private DNS zones.
 */
export function emulatorPlatformNetwork(subscriptionId = EMULATOR_SUBSCRIPTION_ID): PlatformNetwork {
  return defaultPlatformNetwork(subscriptionId, DEFAULT_LOCATIONS);
}

/** The platform's AKS cluster in the emulator (global-setup.ts seeds it), where Dedicated tenants get node pools. */
export const EMULATOR_CLUSTER = { resourceGroup: 'platform-aks', name: 'aks-platform', location: 'westeurope' } as const;

export function emulatorPlatformCluster(subscriptionId = EMULATOR_SUBSCRIPTION_ID): PlatformCluster {
  return { subscriptionId, ...EMULATOR_CLUSTER };
}

/** The operator configuration naming a platform network's subnets (by region) and DNS zones. */
export function privateNetworkConfig(network: PlatformNetwork): Record<string, unknown> {
  const zone = (name: string) => network.privateDnsZones.find((id) => id.toLowerCase().endsWith(`/${name}`));
  return {
    privateEndpoints: { subnets: Object.fromEntries(network.subnets.map((s) => [s.location, s.id])) },
    privateDnsZones: { sql: zone(PRIVATE_LINK_ZONES.sql), keyVault: zone(PRIVATE_LINK_ZONES.keyVault) },
  };
}

/** Operator configuration for Azure through the ARM emulator (the same settings `make dev` uses). */
export function emulatorAzureConfig(arm: ArmInfo): Record<string, unknown> {
  return {
    // Tenants' private endpoints go into the emulator's platform network (emulatorPlatformNetwork).
    ...privateNetworkConfig(emulatorPlatformNetwork(arm.subscriptionId)),
    subscriptionId: arm.subscriptionId,
    directoryTenantId: arm.directoryTenantId,
    endpoint: arm.endpoint,
    caFile: arm.caFile,
    credential: 'emulator',
    oidcIssuer: 'https://oidc.test.example/issuer/',
    sqlAdminGroup: { login: 'sql-admins', objectId: TEST_SQL_ADMIN_GROUP },
    // The emulator's TDS endpoint stands for every <server>.database.windows.net:1433.
    ...(arm.sqlEndpoint === undefined ? {} : { sqlDataPlane: { endpointOverride: arm.sqlEndpoint } }),
    // The platform's audit workspace, which the emulator starts with (180 days).
    audit: { logAnalyticsWorkspaceId: platformAuditWorkspaceId(arm.subscriptionId) },
    writesPerSecond: 50,
    writeBurst: 100,
    readsPerSecond: 1000,
    readBurst: 1000,
    // The emulator's front door (Application Gateway for Containers) is in westeurope, like Azure's
    // rule that a WAF policy lives with it.
    frontDoorRegion: 'westeurope',
    // Dedicated tenants' node pools go into the emulator's platform cluster (emulatorPlatformCluster).
    cluster: { resourceGroup: EMULATOR_CLUSTER.resourceGroup, name: EMULATOR_CLUSTER.name },
    // Nothing waits for an Azure operation; a tenant is looked at again this soon while one runs.
    operationPollSeconds: 0.05,
    // The emulator's role assignments propagate in a fraction of a second here (see global-setup.ts).
    rbacPropagationRetrySeconds: 0.2,
    rbacPropagationSeconds: 0.3,
    // Most tests change Azure behind the operator's back and expect the next pass to see it; the
    // drift-check cache has its own test (test/integration/azure/drift-check-cache.test.ts).
    driftCheckIntervalSeconds: 0,
    // The tests written before shared servers are about a tenant with its own server; placement on
    // shared servers has its own tests (test/integration/azure/placement.test.ts).
    placement: { defaultIsolation: 'Dedicated' },
    // The suite's one subscription holds every file's retained tenants, one SQL server each, well
    // past Azure's default 20 per region: the limits a quota increase allows (the emulator's quota
    // is raised to match, QUOTAS_RAISED_FOR_ONE_SHARED_SUBSCRIPTION in global-setup.ts).
    subscriptions: [{ id: arm.subscriptionId, limits: { resourceGroups: 980, sqlServersPerRegion: 250, roleAssignments: 4000 } }],
  };
}

export interface TenantOptions {
  tier?: 'Small' | 'Medium' | 'Large';
  environment?: 'Production' | 'QA' | 'Development';
  region?: string;
  image?: string;
  version?: string;
  replicas?: number;
  host?: string;
  deletionPolicy?: 'Retain' | 'Delete';
  isolation?: 'Shared' | 'Dedicated';
  allowedCountries?: string[];
  allowedSourceRanges?: string[];
}

/** A valid Tenant; options override single fields. */
export function tenant(name: string, o: TenantOptions = {}): KubeObject {
  return {
    apiVersion: 'tenancy.dev/v1alpha1',
    kind: 'Tenant',
    metadata: { name },
    spec: {
      displayName: `Customer ${name}`,
      tier: o.tier ?? 'Small',
      environment: o.environment ?? 'Development',
      region: o.region ?? 'westeurope',
      application: {
        image: o.image ?? 'registry.example.com/saas/app',
        version: o.version ?? '1.0.0',
        ...(o.replicas === undefined ? {} : { replicas: o.replicas }),
      },
      ingress: {
        host: o.host ?? `${name}.saas.example.com`,
        ...(o.allowedCountries ? { allowedCountries: o.allowedCountries } : {}),
        ...(o.allowedSourceRanges ? { allowedSourceRanges: o.allowedSourceRanges } : {}),
      },
      ...(o.deletionPolicy ? { deletionPolicy: o.deletionPolicy } : {}),
      ...(o.isolation ? { isolation: o.isolation } : {}),
    },
  };
}

export interface TestOperatorOptions {
  info: ControlPlaneInfo & { arm?: ArmInfo };
  identity?: string;
  leaseName?: string;
  config?: Record<string, unknown>;
  clock?: Clock;
}

/** Starts an operator in this process, authenticated as the restricted `tenant-operator` user. */
export async function startOperator(o: TestOperatorOptions): Promise<Operator> {
  const connection = KubeConnection.load({ path: o.info.operatorKubeconfig });
  const config: OperatorConfig = parseConfig({
    http: { port: 0, host: '127.0.0.1' },
    resyncPeriodSeconds: 600,
    ...(o.info.arm ? { azure: emulatorAzureConfig(o.info.arm) } : {}),
    ...o.config,
    leaderElection: {
      enabled: true,
      namespace: 'tenant-operator-system',
      leaseName: o.leaseName ?? `lease-${Math.random().toString(36).slice(2, 8)}`,
      leaseDurationSeconds: 15,
      renewDeadlineSeconds: 10,
      retryPeriodSeconds: 2,
      ...(o.config?.leaderElection as object | undefined),
    },
  });
  const operator = new Operator({
    connection,
    config,
    // TEST_OPERATOR_LOG_LEVEL=info (or debug) shows the operator's own logs while debugging a test.
    logger: process.env.TEST_OPERATOR_LOG_LEVEL ? createLogger({ level: process.env.TEST_OPERATOR_LOG_LEVEL }) : silentLogger(),
    ...(o.identity ? { identity: o.identity } : {}),
    ...(o.clock ? { clock: o.clock } : {}),
  });
  await operator.start();
  return operator;
}

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (err) {
      lastError = err;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${(lastError as Error).message}` : ''}`);
}

export type Conditions = { type: string; status: string; reason: string; message: string; observedGeneration?: number }[];
export type TenantWithStatus = KubeObject & {
  status?: { observedGeneration?: number; conditions?: Conditions; namespace?: string };
};

export function condition(obj: TenantWithStatus | undefined, type: string) {
  return obj?.status?.conditions?.find((c) => c.type === type);
}

/** Waits until the Tenant is gone (its finalizer done); throws after `timeoutMs`. */
export function waitForTenantDeleted(admin: KubeClient, name: string, timeoutMs = 60_000): Promise<unknown> {
  return waitFor(
    `tenant ${name} gone`,
    async () => {
      try {
        await admin.get(typeOf('Tenant'), name);
        return false;
      } catch {
        return true;
      }
    },
    timeoutMs,
  );
}

/** `waitForTenantDeleted` that gives up quietly after `timeoutMs`, for afterAll. */
export async function waitForTenantGone(admin: KubeClient, name: string, timeoutMs = 60_000): Promise<void> {
  await waitForTenantDeleted(admin, name, timeoutMs).catch(() => {});
}

/** Waits until the Tenant's Ready condition is True for its current generation. */
export function waitForReady(admin: KubeClient, name: string, timeoutMs = 30_000): Promise<TenantWithStatus> {
  return waitFor(
    `tenant ${name} Ready`,
    async () => {
      const t = await admin.get<TenantWithStatus>(typeOf('Tenant'), name);
      const ready = condition(t, 'Ready');
      // Say why, if it times out.
      if (ready && ready.status !== 'True') throw new Error(`Ready=${ready.status} ${ready.reason}: ${ready.message}`);
      return ready?.status === 'True' && t.status?.observedGeneration === t.metadata.generation ? t : undefined;
    },
    timeoutMs,
  );
}

export { adminClient, typeOf };

/** Writes (create, update, patch, delete) the operator's user made, from the API server's audit log. */
export function operatorWrites(info: ControlPlaneInfo, since = 0): AuditEvent[] {
  const lines = readFileSync(info.auditLog, 'utf8').split('\n').slice(since);
  return lines
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as AuditEvent)
    .filter((e) => e.stage === 'ResponseComplete' && e.user.username === 'tenant-operator')
    .filter((e) => ['create', 'update', 'patch', 'delete', 'deletecollection'].includes(e.verb))
    .filter((e) => e.objectRef?.resource !== 'leases');
}

/** Current number of lines in the audit log: pass to operatorWrites to count from now on. */
export function auditMark(info: ControlPlaneInfo): number {
  return readFileSync(info.auditLog, 'utf8').split('\n').length - 1;
}

export interface ArmRequest {
  seq: number;
  method: string;
  path: string;
  status: number;
}

/** Requests the shared ARM emulator recorded after `since` (its admin API, over HTTPS with its CA). */
export async function armRequests(arm: ArmInfo, since = 0): Promise<ArmRequest[]> {
  return (await armAdmin<{ value: ArmRequest[] }>(arm, 'GET', `/_emulator/requests?since=${since}`)).value;
}

export const ARM_WRITE_METHODS = new Set(['PUT', 'PATCH', 'DELETE', 'POST']);

/** The newest request sequence number: pass to armRequests to look only at what follows. */
export async function armMark(arm: ArmInfo): Promise<number> {
  const all = await armRequests(arm);
  return all.length === 0 ? 0 : (all[all.length - 1] as ArmRequest).seq;
}

async function armAdmin<T>(arm: ArmInfo, method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<T> {
  const { request } = await import('node:https');
  const ca = readFileSync(arm.caFile);
  const text = await new Promise<string>((resolve, reject) => {
    const req = request(`${arm.endpoint}${path}`, { ca, method, headers: { 'content-type': 'application/json' } }, (res) => {
      let t = '';
      res.on('data', (c: Buffer) => {
        t += c.toString();
      });
      res.on('end', () => resolve(t));
    });
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
  return JSON.parse(text) as T;
}

/** Resources the shared ARM emulator holds (optionally of one type), as ARM would return them. */
export async function armResources(arm: ArmInfo, type?: string): Promise<Record<string, any>[]> {
  const query = type ? `?type=${encodeURIComponent(type)}` : '';
  return (await armAdmin<{ value: Record<string, any>[] }>(arm, 'GET', `/_emulator/resources${query}`)).value;
}

export async function armDeletedVaults(arm: ArmInfo): Promise<Record<string, any>[]> {
  return (await armAdmin<{ value: Record<string, any>[] }>(arm, 'GET', '/_emulator/deleted-vaults')).value;
}

/** Adds a fault rule to the shared emulator (see hack/arm-emulator/faults.ts); clearArmFaults removes all. */
export async function addArmFault(arm: ArmInfo, rule: Record<string, unknown>): Promise<void> {
  await armAdmin(arm, 'POST', '/_emulator/faults', rule);
}

/** Moves the shared emulator's clock (weekly full backups, retention expiry follow it). */
export async function advanceArmClock(arm: ArmInfo, ms: number): Promise<void> {
  await armAdmin(arm, 'POST', '/_emulator/clock', { advanceMs: ms });
}

/**
 * Key Vault's data plane on the shared emulator: `az keyvault key rotation-policy update` (a
 * policy) or its removal (none), behind the operator's back.
 */
export async function setArmKeyRotationPolicy(arm: ArmInfo, keyId: string, policy?: Record<string, unknown>): Promise<void> {
  await armAdmin(arm, 'POST', '/_emulator/key-rotation-policy', { keyId, ...(policy ? { policy } : {}) });
}

/** `az keyvault key rotate` on the shared emulator: a new current version now. */
export async function rotateArmKey(arm: ArmInfo, keyId: string): Promise<void> {
  await armAdmin(arm, 'POST', '/_emulator/key-rotate', { keyId });
}

/**
 * Someone logs in to these tenants' databases (the emulator's `/_emulator/database-activity`): a paused
 * serverless database resumes, as a login resumes it on Azure. For cleanups of files that moved the
 * emulator's clock past the auto-pause delay: the operator would wake such a database itself (its
 * orphan tag resumes it; a refused update makes it log in), but a resume on Azure's terms takes a
 * pass or two, and a cleanup has no time to spare.
 */
export async function wakeTenantDatabases(arm: ArmInfo, admin: KubeClient, names: string[]): Promise<void> {
  for (const name of names) {
    const t = await admin.get<KubeObject & { spec?: { environment?: string } }>(typeOf('Tenant'), name).catch(() => undefined);
    if (!t) continue;
    const database = tenantAzureNames(name, (t.spec?.environment ?? 'Development').toLowerCase()).sqlDatabase;
    await armAdmin(arm, 'POST', '/_emulator/database-activity', { database });
  }
}

export async function clearArmFaults(arm: ArmInfo): Promise<void> {
  await armAdmin(arm, 'DELETE', '/_emulator/faults');
}
