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
import type { Tenant, TenantStatus } from '../api/v1alpha1/tenant.ts';
import { type ResolvedPolicy, resolveBackupPolicy } from '../backup/policy.ts';
import { desiredRetention } from '../backup/retention.ts';
import type { TenantBackup, TenantBackupResult } from '../backup/tenant-backup.ts';
import type { AzureFacts, OperatorContext } from '../context.ts';
import { APPLY_NOW_ANNOTATION, decideDisruptiveChanges, type GateDecision } from '../maintenance/gate.ts';
import { maintenanceStatus, updatePendingCondition } from '../maintenance/tenant-maintenance.ts';
import { desiredSettings, runningSettings, withSettings } from '../maintenance/tenant-settings.ts';
import type { WindowSchedule } from '../maintenance/window.ts';
import { FIELD_MANAGER } from '../runtime/apply.ts';
import type { ConditionInput } from '../runtime/conditions.ts';
import type { ReconcileResult, Reconciler } from '../runtime/controller.ts';
import { inContext, PlatformError, RetryableError, TerminalError } from '../runtime/errors.ts';
import type { KubeObject } from '../runtime/kube-client.ts';
import { classifyKubeError } from '../runtime/kube-errors.ts';
import { RESOURCES } from '../runtime/resources.ts';
import { applicationAvailability } from './availability.ts';
import { type BackupPlan, DEFAULT_FINAL_BACKUP_RETENTION, type TenantAzurePlan, tenantAzurePlan } from './azure.ts';
import type { AzureStepResult, TenantAzureStep } from './azure-step.ts';
import { buildTenantObjects } from './desired.ts';
import { buildFrontDoor, tenantUrl } from './front-door.ts';
import { FINALIZER, ORPHANED_LABEL, TENANT_LABEL, tenantNamespaceName } from './labels.ts';
import { parseTenant } from './parse.ts';
import { checkResidency, isRedundancyAllowed, type ResidencyVerdict } from './residency.ts';
import { buildSecretProviderClass } from './secrets.ts';
import { nextTenantStatus, statusChanged } from './status.ts';
import {
  buildDeployment,
  buildHorizontalPodAutoscaler,
  buildPodDisruptionBudget,
  buildService,
  buildServiceAccount,
} from './workload.ts';

export { classifyKubeError };

/** Application-step kinds that come and go with the spec or configuration: what is not desired is deleted. */
const PRUNABLE_KINDS = ['HorizontalPodAutoscaler', 'SecretProviderClass', 'HTTPRoute', 'WebApplicationFirewallPolicy', 'Ingress'];

/** One pass over a tenant: what was written, and the status fields gathered on the way. */
interface Pass {
  tenant: Tenant;
  written: string[];
  namespace?: string;
  azure?: AzureFacts;
  /** What the Azure step asks to record and how it went. */
  azureStep?: AzureStepResult;
  url?: string;
}

interface Step {
  /** Condition types this step reports; set False with the failure's reason if it throws. */
  conditions: string[];
  run: (pass: Pass) => Promise<ConditionInput[]>;
}

/** The Tenant reconciler's collaborators for Azure; both absent in Kubernetes-only mode. */
export interface TenantSteps {
  azure?: TenantAzureStep | undefined;
  backup?: TenantBackup | undefined;
}

export class TenantReconciler implements Reconciler {
  readonly ctx: OperatorContext;
  readonly #azure: TenantAzureStep | undefined;
  readonly #backupStep: TenantBackup | undefined;

  constructor(ctx: OperatorContext, steps: TenantSteps = {}) {
    this.ctx = ctx;
    this.#azure = steps.azure;
    this.#backupStep = steps.backup;
  }

  async reconcile(name: string, signal?: AbortSignal): Promise<ReconcileResult | undefined> {
    const raw = this.ctx.caches.tenants.get(name);
    if (!raw) return undefined;
    const parsed = parseTenant(raw);
    if (!parsed.ok) {
      await this.#writeStatus(raw as unknown as Tenant, [
        { type: 'SpecValid', status: 'False', reason: 'InvalidSpec', message: parsed.message },
      ]);
      throw new TerminalError('InvalidSpec', parsed.message);
    }
    const tenant = parsed.tenant;
    if (tenant.metadata.deletionTimestamp) return this.#finalize(tenant, signal);
    if (!tenant.metadata.finalizers?.includes(FINALIZER)) await this.#setFinalizer(tenant, true);

    const residency = checkResidency(tenant.spec, this.ctx.config);
    if (!residency.allowed) {
      // Nothing is provisioned for a tenant whose data would leave its zone.
      await this.#writeStatus(tenant, [
        { type: 'DataResidency', status: 'False', reason: residency.reason, message: residency.message },
      ]);
      throw new TerminalError(residency.reason, residency.message);
    }

    // One resolution of the BackupPolicy, passed to the Azure plan and to the backup step alike.
    const policy = resolveBackupPolicy(this.ctx, tenant);
    const backupPlan = decideBackupPlan(policy, residency);
    if (backupPlan.refused) {
      await this.#writeStatus(tenant, [
        { type: 'DataResidency', status: 'False', reason: backupPlan.refused.reason, message: backupPlan.refused.message },
      ]);
      throw backupPlan.refused;
    }

    const gate = this.#decideDisruptiveChanges(tenant);
    const pass: Pass = { tenant: withSettings(tenant, gate.effective), written: [] };
    const components: ConditionInput[] = [
      { type: 'DataResidency', status: 'True', reason: 'RegionAllowed', message: residency.message },
    ];
    let failure: RetryableError | TerminalError | undefined;
    for (const step of this.#steps(backupPlan.plan, signal)) {
      if (failure) {
        for (const type of step.conditions)
          components.push({ type, status: 'False', reason: failure.reason, message: failure.message });
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

    if (pass.written.length > 0)
      this.ctx.recorder.event(raw, 'Normal', 'Applied', `Applied ${pass.written.join(', ')}`).catch(() => {});
    // The namespace records what runs (tenant-settings.ts): once it is written, the gate's decision
    // took effect, even if a later step failed, so the maintenance status (and a consumed emergency
    // reason) must be recorded now, or the next pass would see no change and forget it.
    const isolated = components.some((c) => c.type === 'NamespaceReady' && c.status === 'True');
    const maintenance = isolated ? maintenanceStatus(this.ctx, tenant, raw, gate) : tenant.status?.maintenance;
    // Backups are checked once the tenant's Azure side stands: a database still being created has
    // nothing to check, and the reads would be repeated on every poll of its creation.
    const provisioning = pass.azureStep?.requeueAfterMs !== undefined;
    const backup = failure || provisioning ? undefined : await this.#backup(raw, pass, policy);
    const fields = {
      ...this.#statusFields(tenant, pass, maintenance),
      ...((backup?.status ?? tenant.status?.backup) ? { backup: backup?.status ?? tenant.status?.backup } : {}),
    };
    await this.#writeStatus(tenant, components, fields, gate, backup?.conditions);
    if (failure) throw failure;
    const azureFailure = pass.azureStep?.failure;
    if (azureFailure) throw azureFailure;
    if (pass.azureStep?.requeueAfterMs !== undefined) {
      // Azure has no watch: look again while an operation runs or a resource is not ready yet,
      // ahead of tenants not started yet.
      return { requeueAfterMs: Math.min(pass.azureStep.requeueAfterMs, backup?.requeueAfterMs ?? Infinity), urgent: true };
    }
    if (gate.pending.length > 0 && gate.window) {
      // Look again when the window opens (capped: a resync or an edit may come sooner anyway).
      const untilOpen = gate.window.opensAt.getTime() - this.ctx.clock.now().getTime();
      return { requeueAfterMs: Math.min(Math.max(untilOpen, 1000), 6 * 3600_000, backup?.requeueAfterMs ?? Infinity) };
    }
    return backup?.requeueAfterMs === undefined ? undefined : { requeueAfterMs: backup.requeueAfterMs };
  }

  /** Backups after the Azure step: informational conditions (never un-Ready), status.backup, events. */
  async #backup(raw: KubeObject, pass: Pass, policy: ResolvedPolicy): Promise<TenantBackupResult | undefined> {
    const backup = this.#backupStep;
    if (!backup || !pass.azure) return undefined;
    try {
      const result = await backup.reconcile(pass.tenant, pass.azure, pass.tenant.status?.backup, policy);
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
    const steps: Step[] = [{ conditions: ['NamespaceReady', 'NetworkIsolated'], run: (p) => this.#isolate(p) }];
    const azure = this.#azure;
    if (azure) {
      steps.push({
        conditions: ['IdentityReady', 'KeyVaultReady', 'DatabaseReady', 'WafEnforced', 'AzureResourcesReady'],
        run: async (p) => {
          // Never throws for an Azure failure: it comes back classified, with every component's
          // own condition, and the application step still runs with what exists.
          const plan: TenantAzurePlan = tenantAzurePlan(p.tenant, this.ctx.config, azure.azure, backup);
          const result = await azure.reconcile(p.tenant, plan, signal);
          p.azure = result.facts;
          p.azureStep = result;
          if (result.failure && !(result.failure instanceof TerminalError) && !(result.failure instanceof PlatformError)) {
            this.ctx.recorder
              .event(p.tenant as unknown as KubeObject, 'Warning', result.failure.reason, result.failure.message)
              .catch(() => {});
          }
          return result.conditions;
        },
      });
    }
    steps.push({ conditions: ['ApplicationAvailable', 'IngressReady'], run: (p) => this.#runApplication(p) });
    return steps;
  }

  /** Namespace, quota, limits and NetworkPolicies. */
  async #isolate(pass: Pass): Promise<ConditionInput[]> {
    const desired = buildTenantObjects(pass.tenant, this.ctx.config);
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
    const azure = pass.azure ?? {};
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
    const secretsBlocked = wantsSecrets && !spc;
    if (!secretsBlocked || existing) desired.push(buildDeployment(t, config, identity));
    const hpa = buildHorizontalPodAutoscaler(t, config, identity);
    if (hpa) desired.push(hpa);

    const frontDoor = this.#frontDoor(t, azure);
    desired.push(...frontDoor.objects);

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
      return no(
        'WaitingForWafPolicy',
        this.#azure
          ? 'The tenant’s WAF policy does not exist yet.'
          : 'Azure is not configured: no WAF policy, so no front door is exposed.',
      );
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
      condition: {
        type: 'IngressReady',
        status: 'True',
        reason: 'Configured',
        message: `Serving ${tenantUrl(t)} over HTTPS (TLS 1.2+) behind the tenant’s WAF policy.`,
      },
    };
  }

  #serves(kind: string): boolean {
    return this.ctx.caches.owned.has(kind);
  }

  #cached(obj: KubeObject): KubeObject | undefined {
    return this.ctx.caches.owned.get(obj.kind)?.get(obj.metadata.name, obj.metadata.namespace);
  }

  #decideDisruptiveChanges(tenant: Tenant): GateDecision {
    const { config, caches, clock } = this.ctx;
    const windowName = tenant.spec.maintenanceWindowRef?.name ?? config.defaultMaintenanceWindow;
    const window = caches.maintenanceWindows.get(windowName);
    const namespace = caches.namespaces.get(tenantNamespaceName(tenant.metadata.name, tenant.spec.environment, config));
    return decideDisruptiveChanges({
      desired: desiredSettings(tenant),
      running: runningSettings(namespace),
      schedule: window ? (window.spec as WindowSchedule) : undefined,
      now: clock.now(),
      emergencyReason: tenant.metadata.annotations?.[APPLY_NOW_ANNOTATION],
      emergencyConsumed: tenant.status?.maintenance?.emergencyApplied,
    });
  }

  async #apply(pass: Pass, desired: KubeObject, observed: KubeObject | undefined): Promise<KubeObject> {
    const { outcome, object } = await this.ctx.applier.apply(desired, observed);
    if (outcome === 'applied') {
      const cache = desired.kind === 'Namespace' ? this.ctx.caches.namespaces : this.ctx.caches.owned.get(desired.kind);
      cache?.observe(object);
      const ref = `${desired.kind} ${desired.metadata.namespace ? `${desired.metadata.namespace}/` : ''}${desired.metadata.name}`;
      pass.written.push(ref);
      this.ctx.recorder.audit({
        subject: { kind: 'Tenant', name: pass.tenant.metadata.name, generation: pass.tenant.metadata.generation },
        action: `${observed ? 'update' : 'create'} ${ref}`,
        result: 'ok',
      });
    }
    return object;
  }

  /** Deletes objects of `kinds` the operator made for this tenant that are no longer desired. */
  async #prune(pass: Pass, namespace: string, desired: KubeObject[], kinds: string[]): Promise<void> {
    for (const kind of kinds) {
      const cache = this.ctx.caches.owned.get(kind);
      if (!cache) continue;
      const wanted = new Set(desired.filter((o) => o.kind === kind).map((o) => o.metadata.name));
      for (const obj of cache.list()) {
        if (obj.metadata.namespace !== namespace || wanted.has(obj.metadata.name)) continue;
        if (obj.metadata.labels?.[TENANT_LABEL] !== pass.tenant.metadata.name) continue;
        await this.ctx.applier.delete(obj);
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
    // Azure first: until it is done, the finalizer stays and the namespace is untouched.
    if (this.#backupStep) await this.#backupStep.release(tenant, tenant.status?.azure ?? {});
    if (this.#azure) {
      const outcome = deleting
        ? await this.#azure.delete(tenant, DEFAULT_FINAL_BACKUP_RETENTION, signal)
        : await this.#azure.release(tenant, signal);
      if (!outcome.finished) {
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
      } else if (observed && observed.metadata.labels?.[ORPHANED_LABEL] !== 'true') {
        const desired = buildTenantObjects(tenant, config).namespace;
        // Keep what runs: the orphan keeps the applied tier and application, not a pending change.
        desired.metadata.labels = { ...desired.metadata.labels, ...observed.metadata.labels, [ORPHANED_LABEL]: 'true' };
        desired.metadata.annotations = { ...desired.metadata.annotations, ...observed.metadata.annotations };
        await applier.apply(desired, observed);
        recorder.audit({ subject, action: `orphan Namespace ${namespaceName} (deletionPolicy Retain)`, result: 'ok' });
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
            sqlServerFqdn: a.sqlServerFqdn,
            databaseName: a.databaseName,
            keyVaultUri: a.keyVaultUri,
            identityClientId: a.identityClientId,
            earliestRestorePoint: a.earliestRestorePoint,
            operations: record?.operations,
            verified: record?.verified,
          }).filter(([, v]) => v !== undefined),
        )
      : tenant.status?.azure;
    return {
      ...(pass.namespace ? { namespace: pass.namespace } : {}),
      ...(pass.url ? { url: pass.url } : {}),
      ...(azure && Object.keys(azure).length > 0 ? { azure } : {}),
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
  return { plan: { redundancy, shortTerm: retention.shortTerm, longTerm: retention.longTerm } };
}
