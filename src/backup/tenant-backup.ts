/**
 * The backup side of one Tenant, as the Tenant reconciler calls it after the Azure step: applies the
 * BackupPolicy's retention as the Azure step found it, checks the newest restore
 * point against the RPO (`BackupHealthy`), advances the restore drill one step
 * (`RestoreDrillSucceeded`), and returns the status, conditions and events for the caller to
 * record (the backup metrics are read from that status: src/tenant/metrics.ts). Nothing here blocks on a restore: a drill is a state machine
 * whose state lives in `status.backup.drill`.
 *
 * A tenant whose BackupPolicy is missing (or invalid) gets `BackupHealthy` False with
 * `BackupPolicyNotFound` and no writes: its database keeps the retention last applied to it. That
 * is the safe reading of a dangling reference (a typo or a policy being renamed must not shorten a
 * customer's retention to Azure's defaults), and the condition says so. Running drills are
 * canceled and no new ones start until a policy is found.
 */
import type { Tenant, TenantStatus } from '../api/v1alpha1/tenant.ts';
import type { AzureContext } from '../azure/arm.ts';
import { getOrUndefined } from '../azure/arm.ts';
import type { AzureClients } from '../azure/clients.ts';
import { classifyAzureError } from '../azure/errors.ts';
import {
  beginDeleteDatabase,
  type DatabaseObserved,
  listServerDatabases,
  observeDatabase,
  observeRestorePoints,
  type RestorePointsObserved,
  ServerDatabaseListings,
} from '../azure/sql-backups.ts';
import {
  classifySqlError,
  readNewestBackup,
  type SqlDataPlaneOptions,
  sqlDataPlaneOptionsOf,
  withSqlSession,
} from '../azure/sql-data-plane.ts';
import type { AzureFacts, OperatorContext } from '../context.ts';
import { resolveTenantWindow } from '../maintenance/tenant-window.ts';
import { isWithinWindow, nextWindow } from '../maintenance/window.ts';
import type { ConditionInput } from '../runtime/conditions.ts';
import { RetryableError, TerminalError } from '../runtime/errors.ts';
import { tenantAzureNames } from '../tenant/azure-names.ts';
import { type DrillDecision, type DrillSettings, type DrillsOff, decideDrill, RESTORE_DRILL_SUCCEEDED } from './drill.ts';
import { type DrillTarget, executeDrillActions, isDrillCopy, mayBeDrillCopy, observeScratchDatabases } from './drill-runner.ts';
import { type BackupTargets, backupTargets, type ResolvedPolicy } from './policy.ts';
import { BACKUP_HEALTHY, checkRpo, restorePointToRecord } from './rpo.ts';

export type BackupStatus = NonNullable<TenantStatus['backup']>;

export interface TenantBackupEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

export interface TenantBackupResult {
  /** `BackupHealthy` and `RestoreDrillSucceeded`. */
  conditions: ConditionInput[];
  /** The whole `status.backup` to write (undefined only when nothing is known yet). */
  status: TenantStatus['backup'];
  /** Events to record on the Tenant (drill started/succeeded/failed, retention applied, cleanup). */
  events: TenantBackupEvent[];
  /** Look again this soon (a drill is running, the RPO is about to be breached, a drill is due). */
  requeueAfterMs?: number;
}

export interface TenantBackupOptions {
  /** The leadership term every Azure call carries (nothing reaches Azure after a term ends). */
  fence?: (() => AbortSignal) | undefined;
  /** Poll interval while a drill restores or cleans up (default 30 s). */
  pollIntervalMs?: number;
  /** A database younger than this gets no first drill yet (default 1 h). */
  firstDrillGraceMs?: number;
  /** How long a scratch database may not show up after the restore request (default 2 min). */
  missingGraceMs?: number;
  /** Longest requeue asked for while idle (default 6 h; the resync comes sooner anyway). */
  maxIdleRequeueMs?: number;
  /**
   * How old a server's listing may be when looking for drill copies nobody records (default 5 min):
   * one listing per server serves every tenant on it. A copy is looked up afresh before a drill
   * starts, and the running drill's copy is read on every pass.
   */
  scratchListingMaxAgeMs?: number;
}

/** Where the tenant's database lives. */
export interface DatabaseLocation {
  /** The subscription of its placement (a subscription shard); undefined: the operator's own. */
  subscriptionId: string | undefined;
  resourceGroup: string;
  serverName: string;
  databaseName: string;
}

/**
 * The database's location: its subscription from the tenant's recorded placement
 * (`status.placement`: a tenant in another subscription shard is read there, never in the home
 * subscription), the rest from the facts the Azure step reported (the server name is the first
 * label of its FQDN), else from the deterministic names.
 */
export function locateDatabase(tenant: Tenant, facts: AzureFacts, salt: string | undefined): DatabaseLocation {
  const names = tenantAzureNames(tenant.metadata.name, tenant.spec.environment.toLowerCase(), salt === undefined ? {} : { salt });
  return {
    subscriptionId: tenant.status?.placement?.subscriptionId ?? facts.subscriptionId,
    resourceGroup: facts.sqlResourceGroup ?? facts.resourceGroup ?? names.resourceGroup,
    serverName: facts.sqlServerFqdn?.split('.')[0] || names.sqlServer,
    databaseName: facts.databaseName ?? names.sqlDatabase,
  };
}

const DEFAULTS: Required<Omit<TenantBackupOptions, 'fence'>> & Pick<TenantBackupOptions, 'fence'> = {
  pollIntervalMs: 30_000,
  firstDrillGraceMs: 3_600_000,
  missingGraceMs: 120_000,
  maxIdleRequeueMs: 6 * 3_600_000,
  scratchListingMaxAgeMs: 300_000,
};

export class TenantBackup {
  readonly ctx: OperatorContext;
  readonly clients: AzureClients;
  readonly options: Required<Omit<TenantBackupOptions, 'fence'>> & Pick<TenantBackupOptions, 'fence'>;
  /** Where the newest backup is read: the database's own `sys.dm_database_backups`. */
  readonly sqlDataPlane: SqlDataPlaneOptions;
  /** The servers' drill copies, listed once per server for every tenant on it (shared servers hold hundreds). */
  readonly #scratchListings: ServerDatabaseListings;

  constructor(ctx: OperatorContext, clients: AzureClients, options: TenantBackupOptions = {}) {
    this.ctx = ctx;
    this.clients = clients;
    this.options = { ...DEFAULTS, ...options };
    this.sqlDataPlane = sqlDataPlaneOptionsOf(clients, ctx.config.azure?.sqlDataPlane);
    this.#scratchListings = new ServerDatabaseListings({
      maxAgeMs: this.options.scratchListingMaxAgeMs,
      now: () => ctx.clock.now().getTime(),
      keep: mayBeDrillCopy,
    });
  }

  /**
   * One pass over the tenant's backups. Level-based: depends only on the tenant, what Azure shows
   * and `previous` (the tenant's `status.backup`). Throws RetryableError/TerminalError (classified
   * Azure errors) when reading Azure or applying retention fails; a drill action that fails is
   * reported in the result instead, so a drill already started is never forgotten.
   */
  async reconcile(
    tenant: Tenant,
    facts: AzureFacts,
    previous: TenantStatus['backup'] | undefined,
    policy: ResolvedPolicy,
    /** The newest backup, when the database step already read it over its session this pass. */
    newestBackupRead?: { at: Date | undefined },
  ): Promise<TenantBackupResult> {
    const now = this.ctx.clock.now();
    const name = tenant.metadata.name;
    const targets = policy.found ? backupTargets(policy.spec) : undefined;
    const where = locateDatabase(tenant, facts, this.ctx.config.azure?.nameSalt);
    const azure: AzureContext = { clients: this.#clientsFor(where), signal: this.options.fence?.() };
    const events: TenantBackupEvent[] = [];
    const audit = (action: string) =>
      this.ctx.recorder.audit({
        subject: { kind: 'Tenant', name, generation: tenant.metadata.generation },
        action: `azure write ${action}`,
        result: 'ok',
      });

    let database: DatabaseObserved | undefined;
    let points: RestorePointsObserved | undefined;
    // Retention is one of the tenant's Azure resources (src/tenant/azure.ts): written by the ARM
    // engine, reported here as Azure last showed it.
    // Without a policy the database is not managed: the retention last reported stays in status.
    const retention = facts.retention
      ? retentionStatus(facts.retention.shortTerm, facts.retention.longTerm)
      : previous?.retention;
    try {
      database = await observeDatabase(azure, where.resourceGroup, where.serverName, where.databaseName);
      if (database !== undefined) {
        points = await observeRestorePoints(azure, where.resourceGroup, where.serverName, where.databaseName);
      }
    } catch (err) {
      throw classified(err, `backups of tenant ${name}`);
    }
    // The newest backup: ARM does not expose it, the database lists it (sys.dm_database_backups).
    let newest: Date | undefined;
    let dataPlaneFailure: ConditionInput | undefined;
    let dataPlaneRetryMs: number | undefined;
    // A paused serverless database is not woken (a login resumes it, and bills it) to read what
    // cannot have changed: nothing is written while it is paused.
    const pausedSince =
      database?.status?.toLowerCase() === 'paused' ? (database.pausedDate ?? database.creationDate ?? now) : undefined;
    if (pausedSince !== undefined && previous?.newestRestorePoint !== undefined) {
      newest = new Date(previous.newestRestorePoint);
    } else if (newestBackupRead !== undefined && database !== undefined) {
      newest = newestBackupRead.at;
    } else if (database !== undefined && database.status?.toLowerCase() === 'online') {
      try {
        newest = await withSqlSession(
          this.sqlDataPlane,
          { serverFqdn: facts.sqlServerFqdn ?? `${where.serverName}.database.windows.net`, database: where.databaseName },
          azure.signal,
          readNewestBackup,
        );
      } catch (err) {
        const e = classifySqlError(err, `reading the backup history of database ${where.databaseName}`);
        dataPlaneFailure = { type: BACKUP_HEALTHY, status: 'Unknown', reason: e.reason, message: e.message };
        // Minutes when the platform must act (a refused login), sooner for an outage.
        dataPlaneRetryMs = e.retryAfterMs ?? 60_000;
      }
    }

    // RPO. Status records a restore point until it is three quarters of the RPO old, not every log
    // backup (restorePointToRecord says why); the verdict is the same either way.
    const recordedPoint = targets
      ? restorePointToRecord({
          now,
          rpoMs: targets.rpoMs,
          live: newest,
          previouslyRecorded: previous?.newestRestorePoint ? new Date(previous.newestRestorePoint) : undefined,
        })
      : { recorded: newest, refreshAt: undefined };
    const rpo = targets
      ? checkRpo({
          now,
          rpoMs: targets.rpoMs,
          database: database === undefined ? undefined : { name: database.name, creationDate: database.creationDate },
          newestRestorePoint: recordedPoint.recorded,
          earliestRestorePoint: points?.earliestRestoreDate ?? database?.earliestRestoreDate,
          pausedSince,
        })
      : undefined;
    const backupHealthy: ConditionInput = rpo
      ? (dataPlaneFailure ?? rpo.condition)
      : { type: BACKUP_HEALTHY, status: 'False', reason: 'BackupPolicyNotFound', message: policyMessage(policy) };

    // Drill.
    const previousDrill = previous?.drill;
    let drill: DrillDecision | undefined;
    if (database !== undefined) {
      const target: DrillTarget = {
        tenant: name,
        resourceGroup: where.resourceGroup,
        serverName: where.serverName,
        database,
      };
      const settings = this.#drillSettings(tenant, policy, targets, now);
      const runningName = previousDrill?.phase === 'Running' ? previousDrill.scratchDatabase : undefined;
      const live = database;
      const decideOn = async (fresh: boolean) => {
        let scratch: Awaited<ReturnType<typeof observeScratchDatabases>>;
        try {
          const measure = { name: runningName, size: !('off' in settings) && settings.minimumSizeBytes !== undefined };
          scratch = await observeScratchDatabases(azure, target, measure, this.#scratchListings, fresh);
        } catch (err) {
          throw classified(err, `restore drill of tenant ${name}`);
        }
        return decideDrill(previousDrill, settings, {
          now,
          database: { name: live.name, id: live.id, status: live.status, creationDate: live.creationDate },
          scratch,
          restoreWindow: { earliest: points?.earliestRestoreDate ?? live.earliestRestoreDate, newest },
        });
      };
      let decision = await decideOn(false);
      // A drill starts only on a listing read now: a copy begun by another leader since the cached
      // listing must be seen, so two drills never run.
      if (decision.actions.some((a) => a.kind === 'restore')) decision = await decideOn(true);
      const executed = await executeDrillActions(azure, target, previousDrill, decision, {
        everyMs: targets?.drill.everyMs ?? 0,
        now,
      });
      if (executed.writes.length > 0) this.#scratchListings.forget(azure, target.resourceGroup, target.serverName);
      for (const write of executed.writes) audit(write);
      drill = executed.decision;
      events.push(...drill.events);
    }
    const drillCondition: ConditionInput = drill?.condition ?? {
      type: RESTORE_DRILL_SUCCEEDED,
      status: 'Unknown',
      reason: 'NoDrillYet',
      message: 'The tenant database does not exist yet; drills start once it has backups.',
    };
    const drillStatus = drill ? drill.status : previousDrill;

    const status = compact<BackupStatus>({
      policy: policy.name,
      retention,
      newestRestorePoint: recordedPoint.recorded?.toISOString() ?? (dataPlaneFailure ? previous?.newestRestorePoint : undefined),
      drill: drillStatus,
    });

    const requeue = [
      drill?.requeueAfterMs,
      rpo?.breachAt && !dataPlaneFailure ? Math.max(1000, rpo.breachAt.getTime() - now.getTime()) : undefined,
      recordedPoint.refreshAt && !dataPlaneFailure
        ? Math.max(1000, recordedPoint.refreshAt.getTime() - now.getTime())
        : undefined,
      dataPlaneRetryMs,
    ].filter((v): v is number => v !== undefined);
    return {
      conditions: [backupHealthy, drillCondition],
      status,
      events,
      ...(requeue.length > 0 ? { requeueAfterMs: Math.min(...requeue) } : {}),
    };
  }

  /**
   * Before a Tenant is let go (either deletionPolicy): delete the scratch databases of its drills,
   * so a drill running at deletion time never leaves a billed database behind. Resolves when none
   * is left; throws RetryableError `DrillCleanupPending` while one is still being deleted (the
   * finalizer waits), or a classified Azure error. Never touches the live database.
   */
  async release(tenant: Tenant, facts: AzureFacts): Promise<void> {
    const where = locateDatabase(tenant, facts, this.ctx.config.azure?.nameSalt);
    const azure: AzureContext = { clients: this.#clientsFor(where), signal: this.options.fence?.() };
    let remaining: string[];
    try {
      const all = await listServerDatabasesOrEmpty(azure, where);
      const copies = all.filter((db) => isDrillCopy(db, where.databaseName));
      for (const copy of copies) {
        if (copy.status?.toLowerCase() === 'dropping') continue;
        await beginDeleteDatabase(azure, where.resourceGroup, where.serverName, copy.name);
        this.ctx.recorder.audit({
          subject: { kind: 'Tenant', name: tenant.metadata.name, generation: tenant.metadata.generation },
          action: `azure write delete scratch database ${copy.name} (tenant released)`,
          result: 'ok',
        });
      }
      remaining = copies.map((c) => c.name);
    } catch (err) {
      throw classified(err, `deleting the drill databases of tenant ${tenant.metadata.name}`);
    }
    if (remaining.length > 0) {
      throw new RetryableError(
        'DrillCleanupPending',
        `waiting for scratch database(s) ${remaining.join(', ')} of a restore drill to be deleted`,
        { retryAfterMs: 5_000 },
      );
    }
  }

  /** The SDK clients of the database's subscription. */
  #clientsFor(where: DatabaseLocation): AzureClients {
    return where.subscriptionId === undefined ? this.clients : this.clients.inSubscription(where.subscriptionId);
  }

  #drillSettings(
    tenant: Tenant,
    policy: ResolvedPolicy,
    targets: BackupTargets | undefined,
    now: Date,
  ): DrillSettings | DrillsOff {
    if (!policy.found || targets === undefined) {
      return { off: true, reason: 'BackupPolicyNotFound', message: policyMessage(policy) };
    }
    if (!targets.drill.enabled) {
      return {
        off: true,
        reason: 'DrillsDisabled',
        message: `Restore drills are disabled in BackupPolicy ${policy.name}: recovery of this tenant is not being proven.`,
      };
    }
    return {
      everyMs: targets.drill.everyMs,
      rtoMs: targets.rtoMs,
      timeoutFactor: targets.drill.timeoutFactor,
      minimumSizeBytes: targets.drill.minimumSizeBytes,
      firstDrillGraceMs: this.options.firstDrillGraceMs,
      missingGraceMs: this.options.missingGraceMs,
      pollMs: this.options.pollIntervalMs,
      maxIdleRequeueMs: this.options.maxIdleRequeueMs,
      window: targets.drill.inMaintenanceWindow ? this.#window(tenant, targets, now) : undefined,
    };
  }

  /** Whether the window drills wait for is open now, and when it opens next. */
  #window(tenant: Tenant, targets: BackupTargets, now: Date): NonNullable<DrillSettings['window']> {
    const { name, schedule } = resolveTenantWindow(
      tenant,
      this.ctx.config,
      (n) => this.ctx.caches.maintenanceWindows.get(n),
      targets.drill.maintenanceWindowRef ?? tenant.spec.maintenanceWindowRef?.name,
    );
    const description = `MaintenanceWindow ${name}`;
    if (!schedule) return { open: false, nextOpensAt: undefined, description: `${description} (which does not exist)` };
    try {
      return { open: isWithinWindow(schedule, now), nextOpensAt: nextWindow(schedule, now)?.opensAt, description };
    } catch {
      return { open: false, nextOpensAt: undefined, description: `${description} (whose schedule is invalid)` };
    }
  }
}

/** The server's databases; none when the server (or its group) is already gone. */
async function listServerDatabasesOrEmpty(azure: AzureContext, where: DatabaseLocation): Promise<DatabaseObserved[]> {
  return (await getOrUndefined(() => listServerDatabases(azure, where.resourceGroup, where.serverName))) ?? [];
}

function policyMessage(policy: ResolvedPolicy): string {
  return policy.found ? '' : policy.message;
}

function retentionStatus(
  shortTerm: { retentionDays: number; diffBackupIntervalInHours: number } | undefined,
  longTerm: { weeklyRetention: string; monthlyRetention: string; yearlyRetention: string; weekOfYear: number } | undefined,
): BackupStatus['retention'] {
  if (shortTerm === undefined && longTerm === undefined) return undefined;
  return compact({
    retentionDays: shortTerm?.retentionDays,
    diffBackupIntervalHours: shortTerm?.diffBackupIntervalInHours,
    weeklyRetention: longTerm?.weeklyRetention,
    monthlyRetention: longTerm?.monthlyRetention,
    yearlyRetention: longTerm?.yearlyRetention,
    weekOfYear: longTerm?.weekOfYear,
  });
}

function compact<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

function classified(err: unknown, what: string): RetryableError | TerminalError {
  const c = classifyAzureError(err);
  const message = `${what}: ${c.message}`;
  if (c instanceof TerminalError) return new TerminalError(c.reason, message, { cause: err });
  return new RetryableError(c.reason, message, {
    cause: err,
    ...(c.retryAfterMs === undefined ? {} : { retryAfterMs: c.retryAfterMs }),
  });
}
