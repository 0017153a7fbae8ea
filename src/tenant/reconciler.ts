/**
 * The Tenant reconciler: orchestration only. It reads the Tenant and what exists from the
 * caches, decides which disruptive changes may run now (maintenance gate), asks the pure
 * builders for the desired objects, applies what differs, prunes what is no longer wanted, and
 * writes status once if it changed. The steps run in dependency order — namespace isolation,
 * Azure resources, application, front door — and a failing step leaves the later components
 * False with its reason. Deletion follows `deletionPolicy`: Retain leaves everything (labelled
 * or tagged as orphaned), Delete removes it. The namespace never has an ownerReference to the
 * Tenant: reinstalling the CRD must not delete customers.
 */

import { goDurationMs } from '../api/v1alpha1/common.ts';
import type { Tenant, TenantStatus } from '../api/v1alpha1/tenant.ts';
import { classifyAzureError } from '../azure/errors.ts';
import { type FailoverDrillOutcome, stepFailoverDrill } from '../backup/failover-drill.ts';
import { backupTargets, type ResolvedPolicy, resolveBackupPolicy } from '../backup/policy.ts';
import { desiredRetention } from '../backup/retention.ts';
import type { TenantBackup, TenantBackupResult } from '../backup/tenant-backup.ts';
import type { AzureFacts, OperatorContext, PrivateEndpointAddresses } from '../context.ts';
import {
  APPLY_NOW_ANNOTATION,
  type DisruptiveSettings,
  decideDisruptiveChanges,
  disruptiveChanges,
  type GateDecision,
} from '../maintenance/gate.ts';
import { maintenanceStatus, updatePendingCondition } from '../maintenance/tenant-maintenance.ts';
import {
  databaseConnection,
  desiredDatabase,
  desiredSettings,
  runningSettings,
  withSettings,
} from '../maintenance/tenant-settings.ts';
import { resolveTenantWindow } from '../maintenance/tenant-window.ts';
import { isWithinWindow, nextWindow } from '../maintenance/window.ts';
import { FIELD_MANAGER } from '../runtime/apply.ts';
import type { ConditionInput } from '../runtime/conditions.ts';
import type { ReconcileResult, Reconciler } from '../runtime/controller.ts';
import { FailureWithPendingWork, inContext, PlatformError, RetryableError, TerminalError } from '../runtime/errors.ts';
import type { KubeObject } from '../runtime/kube-client.ts';
import { classifyKubeError } from '../runtime/kube-errors.ts';
import { RESOURCES } from '../runtime/resources.ts';
import { buildProbe, PROBE_NAME } from '../uptime/probe.ts';
import { applicationAvailability } from './availability.ts';
import {
  type BackupPlan,
  DEFAULT_FINAL_BACKUP_RETENTION,
  failoverDrillTarget,
  privateEndpointPlan,
  type TenantAzurePlan,
  tenantAzurePlan,
  tenantGeoReplication,
  tenantZoneRedundancy,
} from './azure.ts';
import { type AzureStepResult, type TenantAzureStep, withReplicationLag } from './azure-step.ts';
import {
  DATABASE_ACCESS_READY,
  DATABASE_LEAST_PRIVILEGE,
  type DatabaseAccessResult,
  type TenantDatabaseAccess,
} from './database-access.ts';
import { buildTenantObjects } from './desired.ts';
import { buildFrontDoor, tenantUrl } from './front-door.ts';
import { type CacheView, reuseVerdict, StepObservation, type StepRecord, stepInputs } from './kubernetes-side.ts';
import { ENVIRONMENT_LABEL, FINALIZER, MANAGED_BY_LABEL, ORPHANED_LABEL, TENANT_LABEL, tenantNamespaceName } from './labels.ts';
import { AZURE_EGRESS_POLICY, buildDefaultDeny, buildNetworkPolicies, sameEgressAddresses } from './network-policy.ts';
import { DEDICATED_NODE_KEY, nodeIsolation } from './node-pool.ts';
import { parseTenant } from './parse.ts';
import { reachableDatabase, type SqlPlacement, sharedServerEndpoint } from './placement.ts';
import { checkResidency, isRedundancyAllowed, type ResidencyVerdict } from './residency.ts';
import { buildSecretProviderClass } from './secrets.ts';
import { changedStatusPaths, nextTenantStatus, statusChanged } from './status.ts';
import {
  buildDeployment,
  buildHorizontalPodAutoscaler,
  buildPodDisruptionBudget,
  buildService,
  buildServiceAccount,
} from './workload.ts';

export { classifyKubeError };

/** Application-step kinds that come and go with the spec or configuration: what is not desired is deleted. */
const PRUNABLE_KINDS = [
  'HorizontalPodAutoscaler',
  'SecretProviderClass',
  'HTTPRoute',
  'WebApplicationFirewallPolicy',
  'Ingress',
  'Probe',
];

/** One pass over a tenant: what was written, and the status fields gathered on the way. */
interface Pass {
  tenant: Tenant;
  /** The disruptive settings the gate lets run now (`tenant` carries those of its spec). */
  settings: DisruptiveSettings;
  /** A change of the database's zone redundancy waits for the maintenance window. */
  zoneRedundancyHeld: boolean;
  written: string[];
  namespace?: string;
  azure?: AzureFacts;
  /** What the Azure step asks to record and how it went. */
  azureStep?: AzureStepResult;
  /** Where the tenant's database lives (recorded in status.placement). */
  placement?: SqlPlacement;
  /** The tenant's Azure plan this pass (the failover drill acts on its failover group). */
  plan?: TenantAzurePlan;
  /** The private endpoints the egress policy was built with this pass. */
  egress?: PrivateEndpointAddresses | undefined;
  url?: string;
  /**
   * The Kubernetes steps' records (kubernetes-side.ts): the last pass's at first, replaced by a new
   * one when a step runs in full, dropped when a later write of this pass moves what they saw.
   */
  isolation?: StepRecord | undefined;
  application?: StepRecord | undefined;
  /** What the Kubernetes step running in full has looked at so far. */
  observing?: StepObservation | undefined;
}

/** The facts from Azure the application step reads: its inputs besides the Tenant (kubernetes-side.ts). */
type ApplicationFacts = Pick<
  AzureFacts,
  | 'identityClientId'
  | 'keyVaultName'
  | 'azureTenantId'
  | 'sqlResourceGroup'
  | 'privateEndpoints'
  | 'nodePoolReady'
  | 'wafPolicyId'
>;

function applicationFacts(azure: AzureFacts | undefined): ApplicationFacts {
  const a = azure ?? {};
  return {
    identityClientId: a.identityClientId,
    keyVaultName: a.keyVaultName,
    azureTenantId: a.azureTenantId,
    sqlResourceGroup: a.sqlResourceGroup,
    privateEndpoints: a.privateEndpoints,
    nodePoolReady: a.nodePoolReady,
    wafPolicyId: a.wafPolicyId,
  };
}

interface Step {
  /** Condition types this step reports; set False with the failure's reason if it throws. */
  conditions: string[];
  /** Runs even for a refused tenant whose namespace exists: it restores isolation, provisions nothing new. */
  repairs?: boolean;
  run: (pass: Pass) => Promise<ConditionInput[]>;
}

/** The Tenant reconciler's collaborators for Azure; both absent in Kubernetes-only mode. */
export interface TenantSteps {
  azure?: TenantAzureStep | undefined;
  backup?: TenantBackup | undefined;
  /** The tenant database's contained users (T-SQL over the data plane). */
  database?: TenantDatabaseAccess | undefined;
}

export class TenantReconciler implements Reconciler {
  readonly ctx: OperatorContext;
  readonly #azure: TenantAzureStep | undefined;
  readonly #backupStep: TenantBackup | undefined;
  readonly #databaseStep: TenantDatabaseAccess | undefined;
  /**
   * Per tenant (name): what the last successful pass's Kubernetes steps observed, so a pass whose
   * Kubernetes inputs did not change (most passes of a creation only poll Azure) skips them.
   */
  readonly #kubernetesSide = new Map<string, { isolation?: StepRecord; application?: StepRecord }>();
  /** Per tenant (name): the reason of the retryable Azure failure last announced by a Warning Event. */
  readonly #lastAzureWarning = new Map<string, string>();

  constructor(ctx: OperatorContext, steps: TenantSteps = {}) {
    this.ctx = ctx;
    this.#azure = steps.azure;
    this.#backupStep = steps.backup;
    this.#databaseStep = steps.database;
  }

  async reconcile(name: string, signal?: AbortSignal): Promise<ReconcileResult | undefined> {
    const raw = this.ctx.caches.tenants.get(name);
    // Taken out for this pass: put back only when the pass succeeds (a failed step is run in full).
    const lastSide = this.#kubernetesSide.get(name);
    this.#kubernetesSide.delete(name);
    if (!raw) {
      this.#lastAzureWarning.delete(name);
      return undefined;
    }
    const parsed = parseTenant(raw);
    if (!parsed.ok) {
      // Nothing can be built from a spec that does not parse, but the tenant stays isolated.
      const isolation = await this.#keepDefaultDeny(raw);
      await this.#writeStatus(raw as unknown as Tenant, [
        { type: 'SpecValid', status: 'False', reason: 'InvalidSpec', message: parsed.message },
        ...isolation.conditions,
      ]);
      throw isolation.failure ?? new TerminalError('InvalidSpec', parsed.message);
    }
    const tenant = parsed.tenant;
    const served = this.ctx.config.servedRegions;
    if (served.length > 0 && !served.includes(tenant.spec.region) && !tenant.metadata.finalizers?.includes(FINALIZER)) {
      // Another cluster serves this region: say so, and take nothing (not even a finalizer, which
      // would block its deletion on an instance that will never act on it).
      if (tenant.metadata.deletionTimestamp) return undefined;
      const message = `region ${tenant.spec.region} is not served by this instance (servedRegions: ${served.join(', ')}); apply this Tenant to the cluster that serves it`;
      await this.#writeStatus(tenant, [{ type: 'RegionServed', status: 'False', reason: 'RegionNotServed', message }]);
      throw new TerminalError('RegionNotServed', message);
    }
    if (tenant.metadata.deletionTimestamp) return this.#finalize(tenant, signal);
    if (!tenant.metadata.finalizers?.includes(FINALIZER)) await this.#setFinalizer(tenant, true);

    // A refused tenant (its data would leave its zone) gets nothing new, but what already isolates
    // it is still repaired: a terminal state stops provisioning, never the default-deny.
    const residency = checkResidency(tenant.spec, this.ctx.config);
    // One resolution of the BackupPolicy, passed to the Azure plan and to the backup step alike.
    const policy = resolveBackupPolicy(this.ctx, tenant);
    const decision: ReturnType<typeof decideBackupPlan> = residency.allowed
      ? decideBackupPlan(policy, residency)
      : { refused: new TerminalError(residency.reason, residency.message) };
    const refusal = decision.refused;

    const { gate, desired } = this.#decideDisruptiveChanges(tenant);
    const pass: Pass = {
      tenant: withSettings(tenant, gate.effective),
      settings: gate.effective,
      zoneRedundancyHeld:
        desired.zoneRedundant !== undefined && (gate.effective.zoneRedundant ?? false) !== desired.zoneRedundant,
      written: [],
      ...(lastSide?.isolation ? { isolation: lastSide.isolation } : {}),
      ...(lastSide?.application ? { application: lastSide.application } : {}),
    };
    const components: ConditionInput[] = [
      refusal
        ? { type: 'DataResidency', status: 'False', reason: refusal.reason, message: refusal.message }
        : { type: 'DataResidency', status: 'True', reason: 'RegionAllowed', message: residency.message },
    ];
    let failure: RetryableError | TerminalError | undefined;
    for (const step of this.#steps(decision.plan, signal)) {
      const blocked = failure ?? refusal;
      const repair = !failure && refusal !== undefined && step.repairs === true && this.#namespaceExists(tenant);
      if (blocked && !repair) {
        for (const type of step.conditions)
          components.push({ type, status: 'False', reason: blocked.reason, message: blocked.message });
        continue;
      }
      try {
        components.push(...(await step.run(pass)));
      } catch (err) {
        failure = classifyKubeError(err, `tenant ${name}`);
        for (const type of step.conditions)
          components.push({ type, status: 'False', reason: failure.reason, message: failure.message });
      }
    }

    // A tenant's first provisioning takes many passes: one Event when it is done, not one per pass
    // (each is an API write; at a fleet's onboarding they were a quarter of all writes). The audit
    // trail still has every write. Later changes are announced as they happen.
    const provisioned = provisionedAt(tenant, components, this.ctx.clock.now());
    if (provisioned.first && provisioned.at) {
      const created = Date.parse(tenant.metadata.creationTimestamp ?? provisioned.at);
      const after = Math.round((Date.parse(provisioned.at) - created) / 1000);
      this.ctx.recorder
        .event(raw, 'Normal', 'Provisioned', `Ready ${after} s after creation: every component is in place`)
        .catch(() => {});
    } else if (pass.written.length > 0 && provisioned.at) {
      this.ctx.recorder.event(raw, 'Normal', 'Applied', `Applied ${pass.written.join(', ')}`).catch(() => {});
    }
    // The namespace records what runs (tenant-settings.ts): once it is written, the gate's decision
    // took effect, even if a later step failed, so the maintenance status (and a consumed emergency
    // reason) must be recorded now, or the next pass would see no change and forget it.
    const isolated = components.some((c) => c.type === 'NamespaceReady' && c.status === 'True');
    const maintenance = isolated ? maintenanceStatus(this.ctx, tenant, raw, gate) : tenant.status?.maintenance;
    // Backups are checked once the tenant's Azure side stands: a database still being created has
    // nothing to check, and the reads would be repeated on every poll of its creation.
    const provisioning = pass.azureStep?.requeueAfterMs !== undefined;
    const settled = !(failure || refusal || provisioning);
    const firstProvisioning = provisioned.at === undefined || provisioned.first;
    const database = settled ? await this.#database(raw, pass, firstProvisioning, signal) : undefined;
    // The replication lag ARM does not report, from the database session (or as last recorded).
    if (pass.azure) {
      pass.azure.geoReplication = withReplicationLag(
        pass.azure.geoReplication,
        database?.geoLink,
        tenant.status?.azure?.geoReplication,
      );
    }
    const backup = settled ? await this.#backup(raw, pass, policy, database?.newestBackup) : undefined;
    const databaseStatus = database ? database.status : tenant.status?.database;
    const drill = settled ? await this.#failoverDrill(raw, pass, policy) : undefined;
    const failoverDrill = drill === undefined ? tenant.status?.failoverDrill : drill.status;
    // The gate read the database host the last pass recorded: when this pass's Azure step knows
    // another (the failover group's listener, first seen now), look again once status records it.
    const fresh =
      pass.azure && desiredDatabase(true, reachableDatabase(pass.azure, this.#privateEndpointsConfigured(tenant)), undefined);
    const databaseMoved = fresh !== undefined && fresh !== '' && fresh !== desired.database;
    const later = Math.min(
      backup?.requeueAfterMs ?? Infinity,
      database?.requeueAfterMs ?? Infinity,
      drill?.requeueAfterMs ?? Infinity,
      databaseMoved ? 1000 : Infinity,
    );
    const fields = {
      ...(failoverDrill && (failoverDrill.running || failoverDrill.last) ? { failoverDrill } : {}),
      ...this.#statusFields(tenant, pass, maintenance),
      ...(provisioned.at ? { provisionedAt: provisioned.at } : {}),
      ...((backup?.status ?? tenant.status?.backup) ? { backup: backup?.status ?? tenant.status?.backup } : {}),
      ...(databaseStatus ? { database: databaseStatus } : {}),
    };
    const previousDatabaseConditions: ConditionInput[] = (tenant.status?.conditions ?? [])
      .filter((c) => c.type === DATABASE_ACCESS_READY || c.type === DATABASE_LEAST_PRIVILEGE)
      .map((c) => ({ type: c.type, status: c.status, reason: c.reason, message: c.message }));
    await this.#writeStatus(tenant, components, fields, gate, [
      ...(backup?.conditions ?? []),
      ...(database?.conditions ?? (this.#databaseStep ? previousDatabaseConditions : [])),
      ...(pass.azureStep?.informational ?? []),
    ]);
    // A failed repair is retried on its own terms before the refusal makes the tenant wait for an edit.
    if (failure) throw failure;
    if (refusal) throw refusal;
    this.#rememberKubernetesSide(name, pass);
    const azureFailure = pass.azureStep?.failure;
    if (azureFailure) {
      // Independent resources may still have operations running: they are polled on time.
      const next = pass.azureStep?.besideFailureMs;
      throw next === undefined ? azureFailure : new FailureWithPendingWork(azureFailure, next);
    }
    if (pass.azureStep?.requeueAfterMs !== undefined) {
      // Azure has no watch: look again while an operation runs or a resource is not ready yet,
      // ahead of tenants not started yet.
      return { requeueAfterMs: Math.min(pass.azureStep.requeueAfterMs, later), urgent: true };
    }
    if (gate.pending.length > 0 && gate.window) {
      // Look again when the window opens (capped: a resync or an edit may come sooner anyway).
      const untilOpen = gate.window.opensAt.getTime() - this.ctx.clock.now().getTime();
      return { requeueAfterMs: Math.min(Math.max(untilOpen, 1000), 6 * 3600_000, later) };
    }
    return later === Infinity ? undefined : { requeueAfterMs: later };
  }

  /**
   * The database's contained users after the Azure step: informational conditions, status.database,
   * audit lines, and an Event once the tenant has been Ready.
   */
  async #database(
    raw: KubeObject,
    pass: Pass,
    firstProvisioning: boolean,
    signal: AbortSignal | undefined,
  ): Promise<DatabaseAccessResult | undefined> {
    const step = this.#databaseStep;
    if (!step || !pass.azure) return undefined;
    const result = await step.reconcile(pass.tenant, pass.azure, pass.tenant.status?.database, signal);
    for (const statement of result.changes) {
      this.ctx.recorder.audit({
        subject: { kind: 'Tenant', name: pass.tenant.metadata.name, generation: pass.tenant.metadata.generation },
        action: `sql ${statement}`,
        result: 'ok',
      });
    }
    // During the first provisioning the audit lines, status.database and the DatabaseAccessReady
    // condition suffice; one Provisioned Event ends it (each Event is an API write).
    if (result.changes.length > 0 && !firstProvisioning) {
      this.ctx.recorder
        .event(raw, 'Normal', 'DatabaseAccessApplied', `Ran on the database: ${result.changes.join('; ')}`)
        .catch(() => {});
    }
    return result;
  }

  /**
   * The failover drill of a geo-replicated tenant (src/backup/failover-drill.ts): one step per
   * pass, its state in status.failoverDrill, Events for its start and end. A failed ARM request is
   * retried on a later pass; the drill recorded in status is never forgotten.
   */
  async #failoverDrill(raw: KubeObject, pass: Pass, policy: ResolvedPolicy): Promise<FailoverDrillOutcome | undefined> {
    const plan = pass.plan;
    const azure = this.#azure;
    const previous = pass.tenant.status?.failoverDrill;
    if (!azure || !plan || !policy.found) return undefined;
    const drillPolicy = policy.spec.failoverDrill;
    // Geo-replication off or drills disabled: a drill already running still finishes (fails back).
    if ((!plan.geoReplication.enabled || !drillPolicy.enabled) && previous?.running === undefined) return undefined;
    const target = failoverDrillTarget(plan);
    if (target === undefined) return undefined;
    const now = this.ctx.clock.now();
    const geo = pass.azure?.geoReplication;
    const targets = backupTargets(policy.spec);
    try {
      const outcome = await stepFailoverDrill(
        azure.arm,
        target,
        {
          everyMs: goDurationMs(drillPolicy.every),
          rtoMs: targets.rtoMs,
          // The policy's drill window when it names one, else the tenant's own.
          window: this.#windowNow(pass.tenant, now, drillPolicy.maintenanceWindowRef?.name),
          ready: geo?.state === 'CATCH_UP' && geo.role === 'Primary',
          pollMs: this.ctx.config.azure ? this.ctx.config.azure.operationPollSeconds * 1000 : 10_000,
        },
        previous,
        now,
      );
      for (const e of outcome.events) this.ctx.recorder.event(raw, e.type, e.reason, e.message).catch(() => {});
      return outcome;
    } catch (err) {
      const e = classifyAzureError(err);
      this.ctx.logger.warn('failover drill step failed', { tenant: pass.tenant.metadata.name, reason: e.reason });
      return {
        status: previous ?? {},
        events: [],
        requeueAfterMs: e instanceof RetryableError ? (e.retryAfterMs ?? 30_000) : undefined,
      };
    }
  }

  /** Whether the window (`name`, else the tenant's own) is open now, and when it opens next. */
  #windowNow(tenant: Tenant, now: Date, name?: string): { open: boolean; nextOpensAt: Date | undefined } {
    const { schedule } = resolveTenantWindow(
      tenant,
      this.ctx.config,
      (n) => this.ctx.caches.maintenanceWindows.get(n),
      name ?? tenant.spec.maintenanceWindowRef?.name,
    );
    if (!schedule) return { open: false, nextOpensAt: undefined };
    try {
      return { open: isWithinWindow(schedule, now), nextOpensAt: nextWindow(schedule, now)?.opensAt };
    } catch {
      return { open: false, nextOpensAt: undefined };
    }
  }

  /** Backups after the Azure step: informational conditions (never un-Ready), status.backup, events. */
  async #backup(
    raw: KubeObject,
    pass: Pass,
    policy: ResolvedPolicy,
    newestBackup: { at: Date | undefined } | undefined,
  ): Promise<TenantBackupResult | undefined> {
    const backup = this.#backupStep;
    if (!backup || !pass.azure) return undefined;
    try {
      const result = await backup.reconcile(pass.tenant, pass.azure, pass.tenant.status?.backup, policy, newestBackup);
      for (const e of result.events) this.ctx.recorder.event(raw, e.type, e.reason, e.message).catch(() => {});
      return result;
    } catch (err) {
      const e =
        err instanceof RetryableError || err instanceof TerminalError
          ? err
          : new RetryableError('BackupCheckFailed', String(err));
      const unknown = (type: string) => ({ type, status: 'Unknown' as const, reason: e.reason, message: e.message });
      return {
        conditions: [unknown('BackupHealthy'), unknown('RestoreDrillSucceeded')],
        status: pass.tenant.status?.backup,
        events: [],
        requeueAfterMs: e instanceof RetryableError ? (e.retryAfterMs ?? 60_000) : undefined,
      };
    }
  }

  #steps(backup: BackupPlan | undefined, signal?: AbortSignal): Step[] {
    const steps: Step[] = [
      { conditions: ['NamespaceReady', 'NetworkIsolated'], repairs: true, run: (p) => this.#isolateUnlessUnchanged(p) },
    ];
    const azure = this.#azure;
    if (azure) {
      steps.push({
        conditions: [
          'Placed',
          'IdentityReady',
          'KeyVaultReady',
          'NodePoolReady',
          'DatabaseReady',
          'WafEnforced',
          'AzureResourcesReady',
        ],
        run: async (p) => {
          // Where the database lives, decided once and recorded (throws only when reading the
          // shared pool from Azure failed: nothing is created before the tenant is placed).
          const geo = tenantGeoReplication(p.tenant, this.ctx.config, azure.azure, backup?.geoReplication === true);
          const placed = await azure.place(p.tenant, geo.enabled, signal);
          p.placement = placed.placement;
          // Never throws for an Azure failure: it comes back classified, with every component's
          // own condition, and the application step still runs with what exists.
          const plan: TenantAzurePlan = tenantAzurePlan(
            p.tenant,
            this.ctx.config,
            azure.azure,
            backup,
            p.zoneRedundancyHeld,
            placed.placement,
          );
          p.plan = plan;
          const result = await azure.reconcile(p.tenant, plan, signal);
          if (result.failure?.reason === 'DatabasePaused') await this.#databaseStep?.wake(p.tenant, result.facts, signal);
          p.azure = result.facts;
          p.azureStep = result;
          await this.#refreshEgress(p, result.facts.privateEndpoints);
          for (const change of result.drift ?? [])
            this.#reportDrift(
              p.tenant,
              'azure',
              change.label,
              `Azure ${change.label} ${change.id.split('/').pop()}: ${change.what.join(', ')}`,
            );
          const retryable =
            result.failure && !(result.failure instanceof TerminalError) && !(result.failure instanceof PlatformError)
              ? result.failure
              : undefined;
          // One Warning per run of the same retryable failure, not one per pass retrying it (a role
          // assignment propagating fails every pass for minutes): each is an API write, and the
          // condition carries the latest message meanwhile.
          const name = p.tenant.metadata.name;
          if (retryable && this.#lastAzureWarning.get(name) !== retryable.reason) {
            this.ctx.recorder
              .event(p.tenant as unknown as KubeObject, 'Warning', retryable.reason, retryable.message)
              .catch(() => {});
          }
          if (retryable) this.#lastAzureWarning.set(name, retryable.reason);
          else this.#lastAzureWarning.delete(name);
          return [{ type: 'Placed', status: 'True', reason: placed.reason, message: placed.message }, ...result.conditions];
        },
      });
    } else {
      // Kubernetes-only mode: say so, rather than leave the Azure components silently absent.
      steps.push({
        conditions: ['AzureResourcesReady'],
        run: async () => [
          {
            type: 'AzureResourcesReady',
            status: 'True',
            reason: 'NotManaged',
            message:
              'Azure is not configured: the tenant’s identity, Key Vault, database and WAF policy are not managed by this operator.',
          },
        ],
      });
    }
    steps.push({ conditions: ['ApplicationAvailable', 'IngressReady'], run: (p) => this.#runApplicationUnlessUnchanged(p) });
    return steps;
  }

  /**
   * For a tenant whose spec does not parse: restores the default-deny policy of the namespace it
   * already has (found by label), so isolation never depends on the spec being valid. The other
   * policies are left as they are: they need the spec, and without them the policy fails closed.
   */
  async #keepDefaultDeny(raw: KubeObject): Promise<{ conditions: ConditionInput[]; failure?: RetryableError | TerminalError }> {
    const namespaces = this.ctx.caches.namespaces
      .list()
      .filter(
        (ns) => ns.metadata.labels?.[TENANT_LABEL] === raw.metadata.name && ns.metadata.labels?.[ORPHANED_LABEL] !== 'true',
      );
    if (namespaces.length === 0) return { conditions: [] };
    try {
      for (const ns of namespaces) {
        const labels = Object.fromEntries(
          [MANAGED_BY_LABEL, TENANT_LABEL, ENVIRONMENT_LABEL].flatMap((k) =>
            ns.metadata.labels?.[k] ? [[k, ns.metadata.labels[k]]] : [],
          ),
        );
        const desired = buildDefaultDeny(ns.metadata.name, labels);
        await this.ctx.applier.apply(desired, this.#cached(desired));
      }
    } catch (err) {
      const e = classifyKubeError(err, `restoring the default-deny policy of tenant ${raw.metadata.name}`);
      return { conditions: [{ type: 'NetworkIsolated', status: 'False', reason: e.reason, message: e.message }], failure: e };
    }
    return {
      conditions: [
        {
          type: 'NetworkIsolated',
          status: 'True',
          reason: 'DefaultDenyEnforced',
          message: 'Default-deny is in place; the allow policies wait for a valid spec.',
        },
      ],
    };
  }

  /** What the caches hold now, as the skip rule reads it (kubernetes-side.ts). */
  readonly #cacheView: CacheView = {
    resourceVersion: (ref) => {
      const [kind, path] = ref.split(' ', 2) as [string, string];
      const slash = path.indexOf('/');
      const namespace = path.slice(0, slash) || undefined;
      const name = path.slice(slash + 1);
      const cache = kind === 'Namespace' ? this.ctx.caches.namespaces : this.ctx.caches.owned.get(kind);
      return cache?.get(name, namespace)?.metadata.resourceVersion;
    },
    countInNamespace: (kind, namespace) => this.ctx.caches.owned.get(kind)?.listInNamespace(namespace).length ?? 0,
  };

  /**
   * Runs a Kubernetes step in full, recording what it observed, unless the record of its last full
   * run still holds (same inputs, every object it saw unchanged): then its conditions are reused.
   */
  async #unlessUnchanged(
    pass: Pass,
    step: 'isolation' | 'application',
    inputs: string,
    run: () => Promise<ConditionInput[]>,
  ): Promise<ConditionInput[]> {
    const verdict = reuseVerdict(pass[step], inputs, this.#cacheView);
    if (verdict.reuse) {
      pass.namespace = verdict.record.namespace;
      if (verdict.record.url !== undefined) pass.url = verdict.record.url;
      this.ctx.metrics.kubernetesStepsReused.inc({ step });
      return verdict.record.conditions;
    }
    pass[step] = undefined;
    const observing = new StepObservation();
    pass.observing = observing;
    try {
      const conditions = await run();
      pass[step] = observing.record(inputs, pass.namespace as string, conditions, step === 'application' ? pass.url : undefined);
      return conditions;
    } finally {
      pass.observing = undefined;
    }
  }

  /** The tenant's metadata every Kubernetes step depends on: its spec (generation), labels and annotations. */
  #tenantInputs(pass: Pass): unknown[] {
    const m = pass.tenant.metadata;
    return [m.uid, m.generation, m.labels, m.annotations, pass.settings];
  }

  #isolateUnlessUnchanged(pass: Pass): Promise<ConditionInput[]> {
    const egress = this.#azure ? pass.tenant.status?.azure?.privateEndpoints : undefined;
    const inputs = stepInputs([...this.#tenantInputs(pass), egress]);
    return this.#unlessUnchanged(pass, 'isolation', inputs, () => this.#isolate(pass)).then((conditions) => {
      pass.egress = egress;
      return conditions;
    });
  }

  #runApplicationUnlessUnchanged(pass: Pass): Promise<ConditionInput[]> {
    const inputs = stepInputs([...this.#tenantInputs(pass), pass.namespace, applicationFacts(pass.azure)]);
    return this.#unlessUnchanged(pass, 'application', inputs, () => this.#runApplication(pass));
  }

  /** After a successful pass: what its Kubernetes steps observed, for the next pass to reuse. */
  #rememberKubernetesSide(name: string, pass: Pass): void {
    if (pass.isolation === undefined && pass.application === undefined) return;
    this.#kubernetesSide.set(name, {
      ...(pass.isolation ? { isolation: pass.isolation } : {}),
      ...(pass.application ? { application: pass.application } : {}),
    });
  }

  /**
   * The isolation step ran before Azure, with the endpoints the last status recorded: when this
   * pass's Azure step knows other addresses (a new endpoint, one re-created), the egress policy
   * follows now rather than one pass later. An address that went away is removed at once too.
   */
  async #refreshEgress(pass: Pass, endpoints: PrivateEndpointAddresses | undefined): Promise<void> {
    if (pass.namespace === undefined || sameEgressAddresses(pass.egress, endpoints)) return;
    const desired = buildNetworkPolicies(pass.tenant, this.ctx.config, endpoints).find(
      (p) => p.metadata.name === AZURE_EGRESS_POLICY,
    );
    if (desired) {
      await this.#apply(pass, desired, this.#cached(desired));
    } else {
      await this.#prune(pass, pass.namespace, [], ['NetworkPolicy'], AZURE_EGRESS_POLICY);
    }
    pass.egress = endpoints;
    // The isolation step saw the policy before this write: the next pass runs it in full.
    pass.isolation = undefined;
  }

  /** Namespace, quota, limits and NetworkPolicies. */
  async #isolate(pass: Pass): Promise<ConditionInput[]> {
    // Egress to the endpoints the last pass recorded (none yet for a new tenant: fails closed).
    pass.egress = this.#azure ? pass.tenant.status?.azure?.privateEndpoints : undefined;
    const desired = buildTenantObjects(pass.tenant, this.ctx.config, pass.egress, {
      zoneRedundant: pass.settings.zoneRedundant,
      database: pass.settings.database,
    });
    const namespace = desired.namespace.metadata.name;
    pass.namespace = namespace;
    const ns = await this.#apply(pass, desired.namespace, this.ctx.caches.namespaces.get(namespace));
    if ((ns.status as { phase?: string } | undefined)?.phase === 'Terminating') {
      throw new RetryableError(
        'NamespaceTerminating',
        `namespace ${namespace} is still being deleted; the tenant is recreated once it is gone`,
      );
    }
    for (const obj of desired.namespaced) await this.#apply(pass, obj, this.#cached(obj));
    await this.#prune(pass, namespace, desired.namespaced, ['NetworkPolicy']);
    const allows = desired.namespaced.filter((o) => o.kind === 'NetworkPolicy').length - 1;
    return [
      {
        type: 'NamespaceReady',
        status: 'True',
        reason: 'NamespaceActive',
        message: `Namespace ${namespace} is active with its quota and limits.`,
      },
      {
        type: 'NetworkIsolated',
        status: 'True',
        reason: 'DefaultDenyEnforced',
        message: `Default-deny and ${allows} allow policies are in place.`,
      },
    ];
  }

  /** ServiceAccount, secrets, Deployment and friends, then the front door. */
  async #runApplication(pass: Pass): Promise<ConditionInput[]> {
    const { config } = this.ctx;
    const t = pass.tenant;
    const namespace = pass.namespace as string;
    // Only these facts: they are the step's inputs for the skip rule (kubernetes-side.ts).
    const azure = applicationFacts(pass.azure);
    const identity = azure.identityClientId ? { identityClientId: azure.identityClientId } : {};
    const desired: KubeObject[] = [buildServiceAccount(t, config, identity)];

    const wantsSecrets = (t.spec.secrets?.length ?? 0) > 0;
    const spc =
      wantsSecrets && azure.keyVaultName && azure.azureTenantId && azure.identityClientId && this.#serves('SecretProviderClass')
        ? buildSecretProviderClass(t, config, {
            keyVaultName: azure.keyVaultName,
            tenantId: azure.azureTenantId,
            identityClientId: azure.identityClientId,
            ...(config.secretsSyncToSecretName ? { syncToSecretName: config.secretsSyncToSecretName } : {}),
          })
        : undefined;
    if (spc) desired.push(spc);
    desired.push(buildService(t, config), buildPodDisruptionBudget(t, config));

    // Pods that mount secrets start only once their SecretProviderClass exists, or they hang on the mount.
    const existing = this.ctx.caches.owned.get('Deployment')?.get('tenant-app', namespace);
    // Whether it exists decides what is built: a record reused later must see the same.
    pass.observing?.saw('Deployment', 'tenant-app', namespace, existing?.metadata.resourceVersion);
    const secretsBlocked = wantsSecrets && !spc;
    // A new tenant's pods start once, with their database: started before it is reachable they
    // could only fail to connect, and its arrival would replace them all (a second rollout, and a
    // Deployment write per tenant at a fleet's onboarding). '' is the gate's "none yet"
    // (desiredDatabase); a running Deployment is never held back.
    const databaseBlocked = pass.settings.database === '';
    // On a shared server the server's name resolves to this tenant's own private endpoint. The
    // alias comes with the database setting ('' while the database waits for this very endpoint,
    // reachableDatabase), so a new tenant's first pod template has both.
    const sqlEndpoint = databaseBlocked ? undefined : sharedServerEndpoint(azure);
    const hostAliases =
      sqlEndpoint?.fqdn === undefined ? {} : { hostAliases: [{ ip: sqlEndpoint.ip, hostnames: [sqlEndpoint.fqdn] }] };
    if ((!secretsBlocked && !databaseBlocked) || existing)
      desired.push(
        buildDeployment(t, config, {
          ...identity,
          ...hostAliases,
          // As the gate lets it run. No alias for a failover group's listener: geo-replicated
          // databases have their own server, whose private DNS zone answers the listener's CNAME
          // chain with the current primary's endpoint, so a failover moves no pod.
          database: databaseConnection(pass.settings.database),
          dedicatedNodePoolReady: onOwnPool(t, azure, existing),
        }),
      );
    const hpa = buildHorizontalPodAutoscaler(t, config, identity);
    if (hpa) desired.push(hpa);

    const frontDoor = this.#frontDoor(t, azure);
    desired.push(...frontDoor.objects);
    // Uptime is measured from the first time the tenant is exposed, and then for as long as it
    // lives: a front door that breaks later is downtime to count, not a reason to stop counting.
    const probe = this.#probe(pass, namespace, frontDoor.condition.status === 'True');
    if (probe) desired.push(probe);

    let deployment = existing;
    for (const obj of desired) {
      const applied = await this.#apply(pass, obj, this.#cached(obj));
      if (obj.kind === 'Deployment') deployment = applied;
    }
    await this.#prune(pass, namespace, desired, PRUNABLE_KINDS);

    const available: ConditionInput =
      secretsBlocked && !existing
        ? {
            type: 'ApplicationAvailable',
            status: 'False',
            reason: 'WaitingForKeyVault',
            message: this.#serves('SecretProviderClass')
              ? 'The application mounts Key Vault secrets; it starts once the tenant’s vault and identity exist.'
              : 'The Secrets Store CSI driver CRDs are not installed in this cluster; the application cannot mount its secrets.',
          }
        : databaseBlocked && !existing
          ? {
              type: 'ApplicationAvailable',
              status: 'False',
              reason: 'WaitingForDatabase',
              message: 'The application starts once its database is reachable (DatabaseReady says how far it is).',
            }
          : applicationAvailability(deployment);
    if (frontDoor.condition.status === 'True') pass.url = tenantUrl(t);
    return [available, frontDoor.condition];
  }

  #frontDoor(t: Tenant, azure: AzureFacts): { objects: KubeObject[]; condition: ConditionInput } {
    const fd = this.ctx.config.frontDoor;
    const kinds = fd.mode === 'gateway' ? ['HTTPRoute', 'WebApplicationFirewallPolicy'] : ['Ingress'];
    const missing = kinds.filter((k) => !this.#serves(k));
    const no = (reason: string, message: string) => ({
      objects: [],
      condition: { type: 'IngressReady', status: 'False' as const, reason, message },
    });
    if (missing.length > 0) {
      return no(
        'FrontDoorApiMissing',
        `This cluster does not serve ${missing.join(', ')}: install its CRDs or set frontDoor.mode.`,
      );
    }
    if (!azure.wafPolicyId) {
      if (this.#azure) return no('WaitingForWafPolicy', 'The tenant’s WAF policy does not exist yet.');
      if (!fd.exposeWithoutWafPolicy) {
        return no(
          'WafNotManaged',
          'Azure is not configured, so the operator has no WAF policy for this tenant and exposes nothing; set frontDoor.exposeWithoutWafPolicy where a WAF is managed elsewhere or none is wanted (kind).',
        );
      }
    }
    const objects = buildFrontDoor(t, this.ctx.config, {
      mode: fd.mode,
      wafPolicyId: azure.wafPolicyId,
      gateway: { ...fd.gateway, namespace: fd.gateway.namespace ?? this.ctx.config.ingressNamespace },
      ingressClassName: fd.ingressClassName,
      certificateSource: fd.certificateSource,
      clusterIssuer: fd.clusterIssuer,
      tlsSecretName: fd.tlsSecretName,
      ...(fd.sslProfile ? { sslProfile: fd.sslProfile } : {}),
    });
    return {
      objects,
      condition: azure.wafPolicyId
        ? {
            type: 'IngressReady',
            status: 'True',
            reason: 'Configured',
            message: `Serving ${tenantUrl(t)} over HTTPS (TLS 1.2+) behind the tenant’s WAF policy.`,
          }
        : {
            type: 'IngressReady',
            status: 'True',
            reason: 'ConfiguredWithoutWaf',
            message: `Serving ${tenantUrl(t)} over HTTPS (TLS 1.2+) without a per-tenant WAF policy (Kubernetes-only mode, frontDoor.exposeWithoutWafPolicy).`,
          },
    };
  }

  /** The tenant's uptime Probe (src/uptime/probe.ts), when configured and the cluster serves the kind. */
  #probe(pass: Pass, namespace: string, exposed: boolean): KubeObject | undefined {
    if (!this.ctx.config.uptime.probes || !this.#serves('Probe')) return undefined;
    const existing = this.ctx.caches.owned.get('Probe')?.get(PROBE_NAME, namespace);
    pass.observing?.saw('Probe', PROBE_NAME, namespace, existing?.metadata.resourceVersion);
    return exposed || existing ? buildProbe(pass.tenant, this.ctx.config) : undefined;
  }

  #namespaceExists(tenant: Tenant): boolean {
    return (
      this.ctx.caches.namespaces.get(tenantNamespaceName(tenant.metadata.name, tenant.spec.environment, this.ctx.config)) !==
      undefined
    );
  }

  #serves(kind: string): boolean {
    return this.ctx.caches.owned.has(kind);
  }

  /** Whether the operator configuration gives the tenant's region private endpoints (src/tenant/azure.ts). */
  #privateEndpointsConfigured(tenant: Tenant): boolean {
    const azure = this.#azure?.azure;
    return azure !== undefined && privateEndpointPlan(tenant.spec.region, azure).configured;
  }

  #cached(obj: KubeObject): KubeObject | undefined {
    return this.ctx.caches.owned.get(obj.kind)?.get(obj.metadata.name, obj.metadata.namespace);
  }

  #decideDisruptiveChanges(tenant: Tenant): { gate: GateDecision; desired: DisruptiveSettings } {
    const { config, caches, clock } = this.ctx;
    const window = resolveTenantWindow(tenant, config, (n) => caches.maintenanceWindows.get(n));
    const namespace = caches.namespaces.get(tenantNamespaceName(tenant.metadata.name, tenant.spec.environment, config));
    // Zone redundancy is decided where the SKU is (src/tenant/azure.ts), from the desired tier.
    const azure = this.#azure?.azure;
    const running = runningSettings(namespace);
    // The database's host is decided once, by the Azure step (status.azure.databaseHost).
    const recorded = tenant.status?.azure;
    const database = desiredDatabase(
      azure !== undefined,
      reachableDatabase(recorded, this.#privateEndpointsConfigured(tenant)),
      running,
    );
    const desired = desiredSettings(
      tenant,
      azure ? tenantZoneRedundancy(tenant, config, azure).zoneRedundant : undefined,
      database,
    );
    const now = clock.now();
    // The notice runs from when these very changes were first seen: a new or different change
    // is announced afresh, so customers always hear of what will land.
    const previous = tenant.status?.maintenance;
    const changes = running ? disruptiveChanges(running, desired) : [];
    const seenBefore = changes.length > 0 && changes.join('|') === (previous?.pendingChanges ?? []).join('|');
    const announcedAt = seenBefore && previous?.announcedAt ? new Date(previous.announcedAt) : now;
    const gate = decideDisruptiveChanges({
      desired,
      running,
      schedule: window.schedule,
      now,
      emergencyReason: tenant.metadata.annotations?.[APPLY_NOW_ANNOTATION],
      emergencyConsumed: previous?.emergencyApplied,
      announcedAt,
      noticeMs: config.maintenance.noticeHours * 3600_000,
    });
    return { gate, desired };
  }

  async #apply(pass: Pass, desired: KubeObject, observed: KubeObject | undefined): Promise<KubeObject> {
    const { outcome, object, drift } = await this.ctx.applier.apply(desired, observed);
    pass.observing?.saw(desired.kind, desired.metadata.name, desired.metadata.namespace, object.metadata.resourceVersion);
    if (outcome === 'applied') {
      const cache = desired.kind === 'Namespace' ? this.ctx.caches.namespaces : this.ctx.caches.owned.get(desired.kind);
      cache?.observe(object);
      const ref = `${desired.kind} ${desired.metadata.namespace ? `${desired.metadata.namespace}/` : ''}${desired.metadata.name}`;
      pass.written.push(ref);
      if (drift) this.#reportDrift(pass.tenant, 'kubernetes', desired.kind, `${ref}: ${describeDrift(drift)}`);
      this.ctx.recorder.audit({
        subject: { kind: 'Tenant', name: pass.tenant.metadata.name, generation: pass.tenant.metadata.generation },
        action: `${observed ? 'update' : 'create'} ${ref}`,
        result: 'ok',
      });
    }
    return object;
  }

  /**
   * A repair of someone else's change: production is not meant to be edited by hand, so it is
   * reported (Warning Event, audit line, metric by kind), not only undone.
   */
  #reportDrift(tenant: Tenant, source: 'kubernetes' | 'azure', kind: string, what: string): void {
    const subject = { kind: 'Tenant', name: tenant.metadata.name, generation: tenant.metadata.generation };
    this.ctx.recorder.audit({ subject, action: `repair drift (${source}) ${what}`, result: 'ok' });
    this.ctx.metrics.driftRepaired.inc({ source, kind });
    this.ctx.recorder
      .event(tenant as unknown as KubeObject, 'Warning', 'DriftRepaired', `Changed outside the operator, restored: ${what}`)
      .catch(() => {});
  }

  /**
   * Deletes objects of `kinds` the operator made for this tenant that are no longer desired (only
   * the one named `only`, when given).
   */
  async #prune(pass: Pass, namespace: string, desired: KubeObject[], kinds: string[], only?: string): Promise<void> {
    for (const kind of kinds) {
      const cache = this.ctx.caches.owned.get(kind);
      if (!cache) continue;
      const wanted = new Set(desired.filter((o) => o.kind === kind).map((o) => o.metadata.name));
      const present = cache.listInNamespace(namespace);
      if (only === undefined) pass.observing?.listedKind(kind, present.length);
      for (const obj of present) {
        if (wanted.has(obj.metadata.name)) continue;
        if (only !== undefined && obj.metadata.name !== only) continue;
        if (obj.metadata.labels?.[TENANT_LABEL] !== pass.tenant.metadata.name) continue;
        await this.ctx.applier.delete(obj);
        // The cache still holds it until the watch says it is gone: look again on the next pass.
        pass.observing?.void();
        const ref = `${kind} ${namespace}/${obj.metadata.name}`;
        pass.written.push(`-${ref}`);
        this.ctx.recorder.audit({
          subject: { kind: 'Tenant', name: pass.tenant.metadata.name, generation: pass.tenant.metadata.generation },
          action: `delete ${ref}`,
          result: 'ok',
        });
      }
    }
  }

  async #finalize(tenant: Tenant, signal?: AbortSignal): Promise<ReconcileResult | undefined> {
    if (!tenant.metadata.finalizers?.includes(FINALIZER)) return undefined;
    const { config, caches, applier, recorder } = this.ctx;
    const namespaceName = tenantNamespaceName(tenant.metadata.name, tenant.spec.environment, config);
    const observed = caches.namespaces.get(namespaceName);
    const subject = { kind: 'Tenant', name: tenant.metadata.name, generation: tenant.metadata.generation };
    const deleting = tenant.spec.deletionPolicy === 'Delete';
    const raw = tenant as unknown as KubeObject;
    if (!tenant.status?.conditions?.some((c) => c.type === 'Finalized')) {
      // Once, when deletion starts: what is about to happen to the customer's data.
      recorder
        .event(
          raw,
          deleting ? 'Warning' : 'Normal',
          deleting ? 'Deleting' : 'Releasing',
          deleting
            ? `deletionPolicy Delete: ${this.#azure ? 'the database is deleted after a final backup, then every Azure resource, then ' : ''}namespace ${namespaceName} is deleted`
            : `deletionPolicy Retain: ${this.#azure ? 'Azure resources are kept, tagged as orphaned, and ' : ''}namespace ${namespaceName} is kept, labelled ${ORPHANED_LABEL}=true`,
        )
        .catch(() => {});
    }
    // Azure first: until it is done, the finalizer stays and the namespace is untouched.
    if (this.#backupStep) await this.#backupStep.release(tenant, tenant.status?.azure ?? {});
    if (this.#azure) {
      const outcome = deleting
        ? await this.#azure.delete(tenant, DEFAULT_FINAL_BACKUP_RETENTION, signal)
        : await this.#azure.release(tenant, signal);
      if (!outcome.finished) {
        // A sleeping database refuses the orphan tag's update (or another write): a login wakes it.
        if (outcome.failure?.reason === 'DatabasePaused' && tenant.status?.azure) {
          await this.#databaseStep?.wake(tenant, tenant.status.azure, signal);
        }
        const failure = outcome.failure
          ? inContext(outcome.failure, deleting ? 'deleting the tenant' : 'releasing the tenant')
          : undefined;
        const condition: ConditionInput = failure
          ? { type: 'Finalized', status: 'False', reason: failure.reason, message: failure.message }
          : {
              type: 'Finalized',
              status: 'False',
              reason: deleting ? 'DeletingAzureResources' : 'ReleasingAzureResources',
              message: `Waiting for ${outcome.waitingFor ?? 'Azure'}.`,
            };
        const { conditions: _c, observedGeneration: _g, ...fields } = tenant.status ?? {};
        const operations = outcome.operations.length > 0 ? outcome.operations : undefined;
        await this.#writeStatus(tenant, [condition], { ...fields, azure: { ...fields.azure, operations } });
        if (failure) {
          recorder
            .event(
              tenant as unknown as KubeObject,
              'Warning',
              deleting ? 'AzureDeleteFailed' : 'AzureReleaseFailed',
              failure.message,
            )
            .catch(() => {});
          throw failure;
        }
        // An operation runs: poll soon. Waiting for something slower (a weekly backup): look less often.
        const pollMs = this.#azure.azure.operationPollSeconds * 1000;
        return { requeueAfterMs: outcome.operations.length > 0 ? pollMs : pollMs * 6 };
      }
    }
    try {
      if (observed && deleting) {
        await applier.delete(observed);
        recorder.audit({ subject, action: `delete Namespace ${namespaceName} (deletionPolicy Delete)`, result: 'ok' });
        recorder
          .event(
            raw,
            'Normal',
            'Deleted',
            `Deleted namespace ${namespaceName}${this.#azure ? ' and every Azure resource of the tenant' : ''}`,
          )
          .catch(() => {});
      } else if (observed && observed.metadata.labels?.[ORPHANED_LABEL] !== 'true') {
        const desired = buildTenantObjects(tenant, config).namespace;
        // Keep what runs: the orphan keeps the applied tier and application, not a pending change.
        desired.metadata.labels = { ...desired.metadata.labels, ...observed.metadata.labels, [ORPHANED_LABEL]: 'true' };
        desired.metadata.annotations = { ...desired.metadata.annotations, ...observed.metadata.annotations };
        await applier.apply(desired, observed);
        recorder.audit({ subject, action: `orphan Namespace ${namespaceName} (deletionPolicy Retain)`, result: 'ok' });
        recorder
          .event(
            raw,
            'Normal',
            'Released',
            `Kept namespace ${namespaceName} (labelled ${ORPHANED_LABEL}=true) and the tenant’s Azure resources`,
          )
          .catch(() => {});
      }
      await this.#setFinalizer(tenant, false);
    } catch (err) {
      throw classifyKubeError(err, `deleting tenant ${tenant.metadata.name}`);
    }
    return undefined;
  }

  /** Adds or removes our finalizer through server-side apply: we own only our own entry. */
  async #setFinalizer(tenant: Tenant, present: boolean): Promise<void> {
    const body: KubeObject = {
      apiVersion: tenant.apiVersion,
      kind: 'Tenant',
      metadata: { name: tenant.metadata.name, finalizers: present ? [FINALIZER] : [] },
    };
    try {
      this.ctx.caches.tenants.observe(await this.ctx.client.apply<KubeObject>(RESOURCES.Tenant, body, FIELD_MANAGER));
    } catch (err) {
      throw classifyKubeError(err, `${present ? 'adding' : 'removing'} the finalizer of tenant ${tenant.metadata.name}`);
    }
    this.ctx.recorder.audit({
      subject: { kind: 'Tenant', name: tenant.metadata.name, generation: tenant.metadata.generation },
      action: `${present ? 'add' : 'remove'} finalizer ${FINALIZER}`,
      result: 'ok',
    });
  }

  #statusFields(
    tenant: Tenant,
    pass: Pass,
    maintenance: TenantStatus['maintenance'],
  ): Omit<TenantStatus, 'conditions' | 'observedGeneration'> {
    const a = pass.azure;
    const record = pass.azureStep?.record;
    const azure = a
      ? Object.fromEntries(
          Object.entries({
            resourceGroup: a.resourceGroup,
            sqlResourceGroup: a.sqlResourceGroup,
            sqlServerFqdn: a.sqlServerFqdn,
            databaseName: a.databaseName,
            keyVaultUri: a.keyVaultUri,
            identityClientId: a.identityClientId,
            earliestRestorePoint: a.earliestRestorePoint,
            privateEndpoints: a.privateEndpoints,
            keyVersion: a.keyVersion,
            keyCreatedAt: a.keyCreatedAt,
            keyExpiresAt: a.keyExpiresAt,
            sqlKeyVersion: a.sqlKeyVersion,
            threatDetection: a.threatDetection,
            auditRetentionDays: a.auditRetentionDays,
            databaseHost: a.databaseHost,
            geoReplication: a.geoReplication,
            operations: record?.operations,
            verified: record?.verified,
          }).filter(([, v]) => v !== undefined),
        )
      : tenant.status?.azure;
    return {
      ...(pass.namespace ? { namespace: pass.namespace } : {}),
      // What runs: the gate's effective tier, once the namespace that records it was written.
      ...(pass.namespace ? { tier: pass.tenant.spec.tier } : tenant.status?.tier ? { tier: tenant.status.tier } : {}),
      ...(pass.namespace
        ? { isolation: nodeIsolation(pass.tenant.spec) }
        : tenant.status?.isolation
          ? { isolation: tenant.status.isolation }
          : {}),
      // Recorded while the pool exists or is wanted, so a tenant back on Shared (or deleted) finds it to remove.
      ...(a ? (a.nodePool ? { nodePool: a.nodePool } : {}) : tenant.status?.nodePool ? { nodePool: tenant.status.nodePool } : {}),
      ...(pass.url ? { url: pass.url } : {}),
      ...(azure && Object.keys(azure).length > 0 ? { azure } : {}),
      ...((pass.placement ?? tenant.status?.placement) ? { placement: pass.placement ?? tenant.status?.placement } : {}),
      ...(maintenance ? { maintenance } : {}),
    };
  }

  async #writeStatus(
    tenant: Tenant,
    components: ConditionInput[],
    fields: Omit<TenantStatus, 'conditions' | 'observedGeneration'> = {},
    gate?: GateDecision,
    extra: ConditionInput[] = [],
  ): Promise<void> {
    const informational: ConditionInput[] = [...(gate ? [updatePendingCondition(gate)] : []), ...extra];
    const next = nextTenantStatus(tenant, components, fields, this.ctx.clock.now(), informational);
    if (!statusChanged(tenant.status, next)) return;
    const changed = changedStatusPaths(tenant.status, next);
    for (const path of changed) this.ctx.metrics.statusChanges.inc({ changed: path });
    this.ctx.logger.debug('writing tenant status', { tenant: tenant.metadata.name, changed });
    try {
      const written = await this.ctx.client.apply<KubeObject>(
        RESOURCES.Tenant,
        { apiVersion: tenant.apiVersion, kind: 'Tenant', metadata: { name: tenant.metadata.name }, status: next },
        FIELD_MANAGER,
        'status',
      );
      this.ctx.caches.tenants.observe(written);
    } catch (err) {
      throw classifyKubeError(err, `writing the status of tenant ${tenant.metadata.name}`);
    }
  }
}

/**
 * Pure: when the tenant was first Ready (`status.provisionedAt`), and whether that is now. A
 * tenant Ready before this field existed takes its Ready transition time, without an Event.
 */
export function provisionedAt(
  tenant: Tenant,
  components: readonly ConditionInput[],
  now: Date,
): { at: string | undefined; first: boolean } {
  const recorded = tenant.status?.provisionedAt;
  if (recorded) return { at: recorded, first: false };
  const ready = tenant.status?.conditions?.find((c) => c.type === 'Ready');
  if (ready?.status === 'True') return { at: ready.lastTransitionTime, first: false };
  if (components.every((c) => c.status === 'True')) return { at: now.toISOString().replace(/\.\d{3}Z$/, 'Z'), first: true };
  return { at: undefined, first: false };
}

/** Pure: `deleted`, or `fields spec.egress, metadata.labels changed`, for a drift report. */
export function describeDrift(paths: readonly string[]): string {
  if (paths.includes('deleted')) return 'deleted by hand';
  return `${paths.join(', ')} changed by hand`;
}

/**
 * Pure: the backup settings the tenant's resolved BackupPolicy asks for, once residency allowed
 * its redundancy. A missing or invalid policy gives no plan (the database waits, never provisioned
 * with a guessed redundancy); a redundancy that would copy backups out of the residency zone is
 * refused outright.
 */
export function decideBackupPlan(
  policy: ResolvedPolicy,
  residency: Extract<ResidencyVerdict, { allowed: true }>,
): { plan: BackupPlan | undefined; refused?: undefined } | { plan?: undefined; refused: TerminalError } {
  if (!policy.found) return { plan: undefined };
  const redundancy = policy.spec.backupStorageRedundancy;
  if (!isRedundancyAllowed(residency, redundancy)) {
    return {
      refused: new TerminalError(
        'BackupRedundancyNotAllowed',
        `backup storage redundancy ${redundancy} would copy backups out of data-residency zone ${residency.zone} (allowed: ${residency.backupRedundancies.join(', ')}); choose another BackupPolicy`,
      ),
    };
  }
  const retention = desiredRetention(policy.spec);
  return {
    plan: {
      redundancy,
      shortTerm: retention.shortTerm,
      longTerm: retention.longTerm,
      geoReplication: policy.spec.geoReplication === 'Enabled',
    },
  };
}

/**
 * Whether the tenant's pods go to its own node pool: Dedicated, and the pool reported Ready in this
 * pass, or the running Deployment already placed there (an Azure hiccup must not move every pod
 * back to the shared nodes; only the maintenance gate's change of isolation does).
 */
function onOwnPool(tenant: Tenant, azure: AzureFacts, running: KubeObject | undefined): boolean {
  if (nodeIsolation(tenant.spec) !== 'Dedicated') return false;
  if (azure.nodePoolReady === true) return true;
  const placed = (running?.spec as { template?: { spec?: { nodeSelector?: Record<string, string> } } } | undefined)?.template
    ?.spec?.nodeSelector?.[DEDICATED_NODE_KEY];
  return placed === tenant.metadata.name;
}
