/**
 * Helpers for the backup integration tests: the shared ARM emulator's admin API (clock, backups,
 * restores, faults, resources, requests), one clock moved for the test and the emulator together,
 * an operator-less context for TenantBackup, and a driver that does what the Tenant reconciler does
 * with TenantBackup: call it with the tenant's Azure facts and its stored `status.backup`, then
 * store the new `status.backup` on the Tenant.
 */
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import type { Tenant } from '../../../src/api/v1alpha1/tenant.ts';
import type { AzureClients } from '../../../src/azure/clients.ts';
import { resolveBackupPolicy } from '../../../src/backup/policy.ts';
import type { TenantBackup, TenantBackupResult } from '../../../src/backup/tenant-backup.ts';
import { parseConfig } from '../../../src/config.ts';
import type { OperatorContext } from '../../../src/context.ts';
import { EventRecorder } from '../../../src/observability/events.ts';
import { silentLogger } from '../../../src/observability/logger.ts';
import { OperatorMetrics } from '../../../src/observability/metrics.ts';
import { type Clock, ManualClock } from '../../../src/runtime/clock.ts';
import type { KubeClient, KubeObject } from '../../../src/runtime/kube-client.ts';
import { tenantAzurePlan } from '../../../src/tenant/azure.ts';
import { createAzureClientsFromConfig, TenantAzureStep } from '../../../src/tenant/azure-step.ts';
import { type CachedTenant, TENANT_METRICS, tenantScrape } from '../../../src/tenant/metrics.ts';
import { decideBackupPlan } from '../../../src/tenant/reconciler.ts';
import { checkResidency } from '../../../src/tenant/residency.ts';
import { type ArmInfo, emulatorAzureConfig, typeOf } from '../../harness/fixtures.ts';

export async function armAdmin<T = Record<string, unknown>>(
  arm: ArmInfo,
  method: 'GET' | 'POST' | 'DELETE',
  path: string,
  body?: object,
): Promise<T> {
  const ca = readFileSync(arm.caFile);
  const text = await new Promise<string>((resolve, reject) => {
    const req = request(`${arm.endpoint}${path}`, { method, ca, headers: { 'content-type': 'application/json' } }, (res) => {
      let out = '';
      res.on('data', (c: Buffer) => {
        out += c.toString();
      });
      res.on('end', () =>
        (res.statusCode ?? 500) < 300 ? resolve(out) : reject(new Error(`${method} ${path}: ${res.statusCode} ${out}`)),
      );
    });
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
  return (text === '' ? {} : JSON.parse(text)) as T;
}

export interface ArmResource {
  id: string;
  name: string;
  tags?: Record<string, string>;
  properties: Record<string, any>;
}

/** Resources of a type in the shared emulator, as GET returns them. */
export async function armResources(arm: ArmInfo, type: string): Promise<ArmResource[]> {
  return (await armAdmin<{ value: ArmResource[] }>(arm, 'GET', `/_emulator/resources?type=${encodeURIComponent(type)}`)).value;
}

export const DATABASES = 'Microsoft.Sql/servers/databases';

/** The operator's clock and the emulator's, moved together. */
export class SharedClock {
  readonly arm: ArmInfo;
  readonly clock: ManualClock;

  private constructor(arm: ArmInfo, now: Date) {
    this.arm = arm;
    this.clock = new ManualClock(now);
  }

  /** Starts at the emulator's current time. */
  static async start(arm: ArmInfo): Promise<SharedClock> {
    const { now } = await armAdmin<{ now: string }>(arm, 'POST', '/_emulator/clock', {});
    return new SharedClock(arm, new Date(now));
  }

  now(): Date {
    return this.clock.now();
  }

  async advance(ms: number): Promise<void> {
    this.clock.advance(ms);
    await armAdmin(this.arm, 'POST', '/_emulator/clock', { set: this.clock.now().toISOString() });
  }
}

export interface ArmRequestRecord {
  seq: number;
  method: string;
  path: string;
  status: number;
  write: boolean;
}

export async function armRequestsSince(arm: ArmInfo, since: number): Promise<ArmRequestRecord[]> {
  return (await armAdmin<{ value: ArmRequestRecord[] }>(arm, 'GET', `/_emulator/requests?since=${since}`)).value;
}

export async function armSeq(arm: ArmInfo): Promise<number> {
  const all = await armRequestsSince(arm, 0);
  return all.length === 0 ? 0 : (all[all.length - 1] as ArmRequestRecord).seq;
}

/** ARM writes since `since` whose path mentions `fragment` (case-insensitive). */
export async function armWritesTo(arm: ArmInfo, since: number, fragment: string): Promise<ArmRequestRecord[]> {
  const f = fragment.toLowerCase();
  return (await armRequestsSince(arm, since)).filter((r) => r.write && r.path.toLowerCase().includes(f));
}

export type StoredTenant = Tenant & { status?: Tenant['status'] };

/** A cache stand-in over a list read from the API server on `refresh()`. */
class ListCache {
  readonly path: string;
  items: KubeObject[] = [];

  constructor(path: string) {
    this.path = path;
  }

  get(name: string): KubeObject | undefined {
    return this.items.find((o) => o.metadata.name === name);
  }

  list(): KubeObject[] {
    return this.items;
  }

  async refresh(admin: KubeClient): Promise<void> {
    this.items = (await admin.request<{ items: KubeObject[] }>('GET', this.path)).items;
  }
}

/**
 * What TenantBackup and the BackupPolicy status reconciler need from an OperatorContext, without an
 * operator: the configuration for the shared emulator, the clock, fresh metrics, and caches that
 * are re-read from the API server before each use. A new one stands for a restarted operator.
 */
export class BackupTestContext {
  readonly ctx: OperatorContext;
  readonly metrics = new OperatorMetrics({ defaultMetrics: false });
  readonly clients: AzureClients;
  /** The `AzureApplied` events the Azure step recorded (what it wrote). */
  readonly azureChanges: string[] = [];
  readonly #admin: KubeClient;
  readonly #caches = {
    tenants: new ListCache('/apis/tenancy.dev/v1alpha1/tenants'),
    backupPolicies: new ListCache('/apis/tenancy.dev/v1alpha1/backuppolicies'),
    maintenanceWindows: new ListCache('/apis/tenancy.dev/v1alpha1/maintenancewindows'),
  };

  constructor(admin: KubeClient, arm: ArmInfo, clock: Clock) {
    this.#admin = admin;
    const logger = silentLogger();
    const recorder = new EventRecorder(undefined, 'backup-test', clock, logger);
    recorder.event = async (_obj, _type, reason, message) => {
      if (reason === 'AzureApplied') this.azureChanges.push(message);
    };
    const config = parseConfig({ azure: emulatorAzureConfig(arm) });
    this.ctx = {
      client: admin,
      config,
      clock,
      logger,
      metrics: this.metrics,
      recorder,
      caches: this.#caches,
    } as unknown as OperatorContext;
    this.clients = createAzureClientsFromConfig(config.azure as NonNullable<typeof config.azure>);
  }

  async refresh(): Promise<void> {
    for (const cache of Object.values(this.#caches)) await cache.refresh(this.#admin);
  }

  /**
   * The value `name` has for `tenant` at a scrape now: computed, like the operator's /metrics,
   * from the Tenant's stored status and the cached BackupPolicies (src/tenant/metrics.ts).
   */
  async gauge(name: string, tenant: string): Promise<number | undefined> {
    await this.refresh();
    const metric = TENANT_METRICS.find((m) => m.name === name);
    const stored = this.#caches.tenants.get(tenant) as CachedTenant | undefined;
    if (!metric) throw new Error(`${name} is not a per-tenant metric`);
    if (!stored) return undefined;
    return metric.samples(stored, tenantScrape(this.#caches as never, this.ctx.config))[0]?.value;
  }
}

/**
 * What the Tenant reconciler does with TenantBackup once wired: read the Tenant, call reconcile
 * with its Azure facts and stored `status.backup`, store the new `status.backup` (server-side
 * apply on /status, so the CRD schema checks it). `override` changes the tenant in memory only.
 */
export async function driveBackup(
  admin: KubeClient,
  context: BackupTestContext,
  backup: TenantBackup,
  name: string,
  override: (t: StoredTenant) => StoredTenant = (t) => t,
): Promise<TenantBackupResult & { azureChanges: string[] }> {
  await context.refresh();
  const tenant = override((await admin.get(typeOf('Tenant'), name)) as unknown as StoredTenant);
  // The Azure step first, as the reconciler runs it: it writes retention (one of the tenant's
  // resources) and reports what Azure shows; operations it begins are carried in status.
  const policy = resolveBackupPolicy(context.ctx, tenant);
  const residency = checkResidency(tenant.spec, context.ctx.config);
  if (!residency.allowed) throw new Error(residency.message);
  const decided = decideBackupPlan(policy, residency);
  if (decided.refused) throw decided.refused;
  const azureConfig = context.ctx.config.azure;
  if (!azureConfig) throw new Error('no azure config');
  const step = new TenantAzureStep(context.ctx, azureConfig, context.clients);
  const before = context.azureChanges.length;
  let azure = await step.reconcile(tenant, tenantAzurePlan(tenant, context.ctx.config, azureConfig, decided.plan));
  for (let i = 0; i < 100 && (azure.record.operations?.length ?? 0) > 0; i++) {
    await new Promise((r) => setTimeout(r, 20));
    const withOps = {
      ...tenant,
      status: { ...tenant.status, azure: { ...tenant.status?.azure, operations: azure.record.operations } },
    };
    azure = await step.reconcile(withOps, tenantAzurePlan(tenant, context.ctx.config, azureConfig, decided.plan));
  }
  const result = await backup.reconcile(tenant, azure.facts, tenant.status?.backup, policy);
  await admin.apply(
    typeOf('Tenant'),
    { apiVersion: 'tenancy.dev/v1alpha1', kind: 'Tenant', metadata: { name }, status: { backup: result.status ?? {} } },
    'backup-wiring-test',
    'status',
  );
  return { ...result, azureChanges: context.azureChanges.slice(before) };
}

export function conditionOf(result: TenantBackupResult, type: string) {
  return result.conditions.find((c) => c.type === type);
}
