/**
 * The Tenant reconciler: orchestration only. It reads the Tenant and what exists from the
 * caches, asks the pure builders for the desired objects, applies what differs, prunes what is
 * no longer wanted, and writes status once if it changed. Deletion follows `deletionPolicy`:
 * Retain leaves the namespace (labelled orphaned), Delete removes it. The namespace never has an
 * ownerReference to the Tenant: reinstalling the CRD must not delete customers.
 */
import type { Tenant, TenantStatus } from '../api/v1alpha1/tenant.ts';
import type { OperatorContext } from '../context.ts';
import { APPLY_NOW_ANNOTATION, decideDisruptiveChanges, type GateDecision } from '../maintenance/gate.ts';
import { desiredSettings, runningSettings, withSettings } from '../maintenance/tenant-settings.ts';
import type { WindowSchedule } from '../maintenance/window.ts';
import { FIELD_MANAGER } from '../runtime/apply.ts';
import type { ConditionInput } from '../runtime/conditions.ts';
import type { ReconcileResult, Reconciler } from '../runtime/controller.ts';
import { errorMessage, RetryableError, TerminalError } from '../runtime/errors.ts';
import { KubeApiError, type KubeObject } from '../runtime/kube-client.ts';
import { RESOURCES } from '../runtime/resources.ts';
import { buildTenantObjects } from './desired.ts';
import { FINALIZER, ORPHANED_LABEL, TENANT_LABEL, tenantNamespaceName } from './labels.ts';
import { parseTenant } from './parse.ts';
import { checkResidency } from './residency.ts';
import { nextTenantStatus, statusChanged } from './status.ts';

/** Maps a Kubernetes API failure to what the controller should do about it. */
export function classifyKubeError(err: unknown, what: string): RetryableError | TerminalError {
  if (err instanceof KubeApiError) {
    if (err.code === 400 || err.code === 422)
      return new TerminalError('InvalidObject', `${what} was rejected by the API server: ${err.message}`, { cause: err });
    if (err.code === 403)
      return new RetryableError('Forbidden', `${what} is forbidden: ${err.message} (check the operator's RBAC)`, { cause: err });
    if (err.code === 409) return new RetryableError('Conflict', `${what}: ${err.message}`, { cause: err });
    return new RetryableError('KubernetesApiError', `${what}: ${err.message}`, {
      cause: err,
      ...(err.retryAfterMs === undefined ? {} : { retryAfterMs: err.retryAfterMs }),
    });
  }
  if (err instanceof RetryableError || err instanceof TerminalError) return err;
  return new RetryableError('KubernetesUnreachable', `${what}: ${errorMessage(err)}`, { cause: err });
}

export class TenantReconciler implements Reconciler {
  readonly ctx: OperatorContext;

  constructor(ctx: OperatorContext) {
    this.ctx = ctx;
  }

  async reconcile(name: string): Promise<ReconcileResult | undefined> {
    const raw = this.ctx.caches.tenants.get(name);
    if (!raw) {
      await this.ctx.metrics.forgetTenant(name);
      return undefined;
    }
    const parsed = parseTenant(raw);
    if (!parsed.ok) {
      await this.#writeStatus(raw as unknown as Tenant, [
        { type: 'SpecValid', status: 'False', reason: 'InvalidSpec', message: parsed.message },
      ]);
      throw new TerminalError('InvalidSpec', parsed.message);
    }
    const tenant = parsed.tenant;
    if (tenant.metadata.deletionTimestamp) return this.#finalize(tenant);
    if (!tenant.metadata.finalizers?.includes(FINALIZER)) await this.#setFinalizer(tenant, true);

    const residency = checkResidency(tenant.spec, this.ctx.config);
    if (!residency.allowed) {
      // Nothing is provisioned for a tenant whose data would leave its zone.
      await this.#writeStatus(tenant, [
        { type: 'DataResidency', status: 'False', reason: residency.reason, message: residency.message },
      ]);
      throw new TerminalError(residency.reason, residency.message);
    }

    const gate = this.#decideDisruptiveChanges(tenant);
    const effective = withSettings(tenant, gate.effective);

    const written: string[] = [];
    const components: ConditionInput[] = [
      { type: 'DataResidency', status: 'True', reason: 'RegionAllowed', message: residency.message },
    ];
    let namespaceName: string | undefined;
    let failure: RetryableError | TerminalError | undefined;
    try {
      const desired = buildTenantObjects(effective, this.ctx.config);
      namespaceName = desired.namespace.metadata.name;
      const ns = await this.#apply(tenant, desired.namespace, this.ctx.caches.namespaces.get(namespaceName), written);
      const phase = (ns.status as { phase?: string } | undefined)?.phase;
      if (phase === 'Terminating') {
        throw new RetryableError(
          'NamespaceTerminating',
          `namespace ${namespaceName} is still being deleted; the tenant will be recreated once it is gone`,
        );
      }
      for (const obj of desired.namespaced) await this.#apply(tenant, obj, this.#cached(obj), written);
      await this.#pruneNetworkPolicies(tenant, namespaceName, desired.namespaced, written);
      components.push(
        {
          type: 'NamespaceReady',
          status: 'True',
          reason: 'NamespaceActive',
          message: `Namespace ${namespaceName} is active with its quota and limits.`,
        },
        {
          type: 'NetworkIsolated',
          status: 'True',
          reason: 'DefaultDenyEnforced',
          message: `Default-deny and ${desired.namespaced.filter((o) => o.kind === 'NetworkPolicy').length - 1} allow policies are in place.`,
        },
      );
    } catch (err) {
      failure = classifyKubeError(err, `tenant ${name}`);
      const namespaceOk = written.length > 0 || (namespaceName !== undefined && this.ctx.caches.namespaces.get(namespaceName));
      components.push(
        namespaceOk && failure.reason !== 'NamespaceTerminating'
          ? { type: 'NamespaceReady', status: 'True', reason: 'NamespaceActive', message: `Namespace ${namespaceName} exists.` }
          : { type: 'NamespaceReady', status: 'False', reason: failure.reason, message: failure.message },
        { type: 'NetworkIsolated', status: 'False', reason: failure.reason, message: failure.message },
      );
    }

    if (written.length > 0) {
      this.ctx.recorder.event(raw, 'Normal', 'Applied', `Applied ${written.join(', ')}`).catch(() => {});
    }
    const maintenance = failure ? tenant.status?.maintenance : this.#maintenanceStatus(tenant, raw, gate);
    await this.#writeStatus(tenant, components, namespaceName, maintenance, gate);
    this.#exportConditions(tenant, components);
    if (failure) throw failure;
    if (gate.pending.length > 0 && gate.window) {
      // Look again when the window opens (capped: a resync or an edit may come sooner anyway).
      const untilOpen = gate.window.opensAt.getTime() - this.ctx.clock.now().getTime();
      return { requeueAfterMs: Math.min(Math.max(untilOpen, 1000), 6 * 3600_000) };
    }
    return undefined;
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

  /** The maintenance part of status, plus the Events and audit lines a person should see. */
  #maintenanceStatus(tenant: Tenant, raw: KubeObject, gate: GateDecision): NonNullable<TenantStatus['maintenance']> {
    const previous = tenant.status?.maintenance;
    const now = this.ctx.clock.now();
    const subject = { kind: 'Tenant', name: tenant.metadata.name, generation: tenant.metadata.generation };
    const windowName = tenant.spec.maintenanceWindowRef?.name ?? this.ctx.config.defaultMaintenanceWindow;
    const { recorder, metrics } = this.ctx;
    if (gate.pending.length > 0 && (previous?.pendingChanges ?? []).join('|') !== gate.pending.join('|')) {
      const when = gate.window
        ? `the maintenance window opening ${gate.window.opensAt.toISOString()}`
        : `maintenance window ${windowName}`;
      recorder.event(raw, 'Normal', 'UpdatePending', `${gate.pending.join('; ')}: waits for ${when}`).catch(() => {});
    }
    if (gate.applying.length > 0) {
      const emergency = gate.reason === 'EmergencyOverride';
      const why = emergency
        ? `emergency change (${APPLY_NOW_ANNOTATION}: ${tenant.metadata.annotations?.[APPLY_NOW_ANNOTATION]})`
        : 'inside the maintenance window';
      recorder.audit({ subject, action: `apply disruptive changes ${gate.applying.join('; ')} ${why}`, result: 'ok' });
      recorder
        .event(
          raw,
          emergency ? 'Warning' : 'Normal',
          emergency ? 'EmergencyChange' : 'MaintenanceApplied',
          `${gate.applying.join('; ')}: ${why}`,
        )
        .catch(() => {});
    }
    const secondsToWindow = gate.open ? 0 : gate.window ? (gate.window.opensAt.getTime() - now.getTime()) / 1000 : -1;
    metrics.maintenanceSecondsToNextWindow.set({ tenant: tenant.metadata.name }, secondsToWindow);
    metrics.maintenancePendingChanges.set({ tenant: tenant.metadata.name }, gate.pending.length);
    const emergencyApplied =
      gate.reason === 'EmergencyOverride' ? tenant.metadata.annotations?.[APPLY_NOW_ANNOTATION] : previous?.emergencyApplied;
    return {
      ...(gate.window
        ? { nextWindowOpens: isoSeconds(gate.window.opensAt), nextWindowCloses: isoSeconds(gate.window.closesAt) }
        : {}),
      windowOpen: gate.open,
      ...(gate.pending.length > 0
        ? { pendingChanges: gate.pending, pendingSince: previous?.pendingSince ?? isoSeconds(now) }
        : {}),
      ...(emergencyApplied ? { emergencyApplied } : {}),
    };
  }

  #cached(obj: KubeObject): KubeObject | undefined {
    const { caches } = this.ctx;
    const cache =
      obj.kind === 'ResourceQuota'
        ? caches.resourceQuotas
        : obj.kind === 'LimitRange'
          ? caches.limitRanges
          : caches.networkPolicies;
    return cache.get(obj.metadata.name, obj.metadata.namespace);
  }

  async #apply(tenant: Tenant, desired: KubeObject, observed: KubeObject | undefined, written: string[]): Promise<KubeObject> {
    const { outcome, object } = await this.ctx.applier.apply(desired, observed);
    if (outcome === 'applied') {
      const ref = `${desired.kind} ${desired.metadata.namespace ? `${desired.metadata.namespace}/` : ''}${desired.metadata.name}`;
      written.push(ref);
      this.ctx.recorder.audit({
        subject: { kind: 'Tenant', name: tenant.metadata.name, generation: tenant.metadata.generation },
        action: `${observed ? 'update' : 'create'} ${ref}`,
        result: 'ok',
      });
    }
    return object;
  }

  /** Deletes NetworkPolicies the operator made for this tenant that are no longer desired. */
  async #pruneNetworkPolicies(tenant: Tenant, namespace: string, desired: KubeObject[], written: string[]): Promise<void> {
    const wanted = new Set(desired.filter((o) => o.kind === 'NetworkPolicy').map((o) => o.metadata.name));
    for (const np of this.ctx.caches.networkPolicies.list()) {
      if (np.metadata.namespace !== namespace || wanted.has(np.metadata.name)) continue;
      if (np.metadata.labels?.[TENANT_LABEL] !== tenant.metadata.name) continue;
      await this.ctx.applier.delete(np);
      written.push(`-NetworkPolicy ${namespace}/${np.metadata.name}`);
      this.ctx.recorder.audit({
        subject: { kind: 'Tenant', name: tenant.metadata.name, generation: tenant.metadata.generation },
        action: `delete NetworkPolicy ${namespace}/${np.metadata.name}`,
        result: 'ok',
      });
    }
  }

  async #finalize(tenant: Tenant): Promise<ReconcileResult | undefined> {
    if (!tenant.metadata.finalizers?.includes(FINALIZER)) return undefined;
    const { config, caches, applier, recorder } = this.ctx;
    const namespaceName = tenantNamespaceName(tenant.metadata.name, tenant.spec.environment, config);
    const observed = caches.namespaces.get(namespaceName);
    const subject = { kind: 'Tenant', name: tenant.metadata.name, generation: tenant.metadata.generation };
    try {
      if (observed && tenant.spec.deletionPolicy === 'Delete') {
        await applier.delete(observed);
        recorder.audit({ subject, action: `delete Namespace ${namespaceName} (deletionPolicy Delete)`, result: 'ok' });
      } else if (observed && observed.metadata.labels?.[ORPHANED_LABEL] !== 'true') {
        const desired = buildTenantObjects(tenant, config).namespace;
        desired.metadata.labels = { ...desired.metadata.labels, [ORPHANED_LABEL]: 'true' };
        await applier.apply(desired, observed);
        recorder.audit({ subject, action: `orphan Namespace ${namespaceName} (deletionPolicy Retain)`, result: 'ok' });
      }
      await this.#setFinalizer(tenant, false);
    } catch (err) {
      throw classifyKubeError(err, `deleting tenant ${tenant.metadata.name}`);
    }
    await this.ctx.metrics.forgetTenant(tenant.metadata.name);
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
      await this.ctx.client.apply(RESOURCES.Tenant, body, FIELD_MANAGER);
    } catch (err) {
      throw classifyKubeError(err, `${present ? 'adding' : 'removing'} the finalizer of tenant ${tenant.metadata.name}`);
    }
    this.ctx.recorder.audit({
      subject: { kind: 'Tenant', name: tenant.metadata.name, generation: tenant.metadata.generation },
      action: `${present ? 'add' : 'remove'} finalizer ${FINALIZER}`,
      result: 'ok',
    });
  }

  async #writeStatus(
    tenant: Tenant,
    components: ConditionInput[],
    namespace?: string,
    maintenance?: TenantStatus['maintenance'],
    gate?: GateDecision,
  ): Promise<void> {
    const extra: ConditionInput[] = gate ? [updatePendingCondition(gate)] : [];
    const fields = { ...(namespace ? { namespace } : {}), ...(maintenance ? { maintenance } : {}) };
    const next = nextTenantStatus(tenant, components, fields, this.ctx.clock.now(), extra);
    if (!statusChanged(tenant.status, next)) return;
    try {
      await this.ctx.client.apply(
        RESOURCES.Tenant,
        { apiVersion: tenant.apiVersion, kind: 'Tenant', metadata: { name: tenant.metadata.name }, status: next },
        FIELD_MANAGER,
        'status',
      );
    } catch (err) {
      throw classifyKubeError(err, `writing the status of tenant ${tenant.metadata.name}`);
    }
  }

  #exportConditions(tenant: Tenant, components: ConditionInput[]): void {
    const labels = { tenant: tenant.metadata.name, tier: tenant.spec.tier, region: tenant.spec.region };
    const all = [...components, { type: 'Ready', status: components.every((c) => c.status === 'True') ? 'True' : 'False' }];
    for (const c of all) this.ctx.metrics.tenantCondition.set({ ...labels, condition: c.type }, c.status === 'True' ? 1 : 0);
  }
}

function isoSeconds(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** UpdatePending is True while disruptive changes wait; it does not count against Ready. */
export function updatePendingCondition(gate: GateDecision): ConditionInput {
  if (gate.pending.length === 0) {
    return { type: 'UpdatePending', status: 'False', reason: gate.reason, message: 'No disruptive change is waiting.' };
  }
  const until =
    gate.reason === 'WaitingForWindow' && gate.window
      ? `until the maintenance window opens at ${isoSeconds(gate.window.opensAt)}`
      : gate.reason === 'MaintenanceWindowNotFound'
        ? 'because the referenced MaintenanceWindow does not exist (create it, or annotate tenancy.dev/apply-now to override)'
        : gate.reason === 'InvalidMaintenanceWindow'
          ? 'because the MaintenanceWindow is invalid'
          : 'because no maintenance window opens in the next two years';
  return { type: 'UpdatePending', status: 'True', reason: gate.reason, message: `${gate.pending.join('; ')}: held ${until}.` };
}
