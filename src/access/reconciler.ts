/**
 * The AccessRequest controller: makes each request's grant exist exactly while the policy
 * (policy.ts) says it must, and records every step as an Event and an audit line.
 *
 * One pass: read the request from the cache → decide (pure) → if a grant is due, check what it
 * needs (the tenant, its namespace, the admission policy), record `grantedAt`, `expiresAt` and the
 * planned grant in status *before* granting (so a crash or a restart can neither lose the expiry
 * nor extend it) → grant (server-side apply of one RoleBinding, or an Azure role assignment
 * schedule request that Azure itself ends at `expiresAt`) → otherwise remove whatever the record
 * and the `tenancy.dev/access-request` label say was granted → one status write → requeue at the
 * next instant the decision changes by itself (an expiry, an approval deadline).
 *
 * On start every cached request is reconciled, so grants that expired while no operator ran are
 * removed first thing; grants whose request is gone (deleted past its finalizer by hand) are found
 * by their label and removed as well.
 */
import {
  type AccessGrantRecord,
  type AccessPhase,
  type AccessRequest,
  type AccessRequestStatus,
  accessRequestSpecSchema,
  accessRequestStatusSchema,
  TERMINAL_ACCESS_PHASES,
} from '../api/v1alpha1/access-request.ts';
import type { Condition } from '../api/v1alpha1/common.ts';
import { reasonClass, setSummarizedConditions } from '../api/v1alpha1/conditions.ts';
import { ENVIRONMENTS, type Environment } from '../api/v1alpha1/tenant.ts';
import type { ArmClient } from '../azure/arm-client.ts';
import { type ArmResource, reconcileResources, resource } from '../azure/engine.ts';
import type { AzureFailure } from '../azure/errors.ts';
import {
  isRefusedScheduleRequest,
  type RoleAssignmentScheduleRequestParams,
  roleAssignmentScheduleRequestKind,
  scheduleRequestStatus,
} from '../azure/kinds/role-assignment-schedule.ts';
import type { OperatorContext } from '../context.ts';
import type { AccessMetrics } from '../observability/access-metrics.ts';
import { textDigest } from '../observability/redaction.ts';
import { FIELD_MANAGER } from '../runtime/apply.ts';
import type { ConditionInput } from '../runtime/conditions.ts';
import type { ReconcileResult, Reconciler } from '../runtime/controller.ts';
import { errorMessage, isTerminal, RetryableError } from '../runtime/errors.ts';
import type { Informer } from '../runtime/informer.ts';
import { isNotFound, KubeApiError, type KubeObject } from '../runtime/kube-client.ts';
import { classifyKubeError } from '../runtime/kube-errors.ts';
import { RESOURCES } from '../runtime/resources.ts';
import { writeStatusIfChanged } from '../runtime/status.ts';
import {
  ACCESS_FINALIZER,
  ACCESS_REQUEST_LABEL,
  assignRequest,
  buildAccessRoleBinding,
  plannedGrant,
  removeRequest,
  type TenantRef,
} from './grant.ts';
import { type AccessDecision, accessSettings, decideAccess, isoSeconds, requeueDelayMs } from './policy.ts';

/** How soon a grant waiting for its tenant's namespace or database is looked at again. */
const DEPENDENCY_RETRY_MS = 10_000;
/** How soon a failed grant or removal is tried again when the error gives no better time. */
const FAILURE_RETRY_MS = 30_000;
/** Azure refuses to end a role assignment in its first five minutes (`ActiveDurationTooShort`). */
const AZURE_MIN_ACTIVE_MS = 5 * 60_000;

const ADMISSION = '/apis/admissionregistration.k8s.io/v1';

/** What the grant builders need of a request. */
const ref = (r: AccessRequest) => ({ name: r.metadata.name, spec: r.spec });

export interface AccessReconcilerDeps {
  accessRequests: Informer;
  /** RoleBindings carrying the `tenancy.dev/access-request` label. */
  roleBindings: Informer;
  metrics: AccessMetrics;
  /** Absent without an Azure configuration: Azure roles are then refused as not configured. */
  arm?: ArmClient | undefined;
}

/** Where one pass left the grant. */
interface GrantOutcome {
  /** The grant exists as recorded (or nothing is granted, when removing). */
  done: boolean;
  /** Why not, for the Ready condition. */
  condition?: ConditionInput;
  /** Look again this soon. */
  retryMs?: number;
}

/** Not there yet: Ready False with `reason`, looked at again after `retryMs`. */
function notYet(reason: string, message: string, retryMs: number): GrantOutcome {
  return { done: false, retryMs, condition: { type: 'Ready', status: 'False', reason, message } };
}

export class AccessRequestReconciler implements Reconciler {
  /**
   * The reason last warned about, per request name (with its uid, since a name can be reused):
   * one Warning Event per new reason. Forgotten when the request is gone or its problem is solved.
   */
  readonly #warned = new Map<string, { uid: string | undefined; reason: string }>();
  readonly ctx: OperatorContext;
  readonly deps: AccessReconcilerDeps;

  constructor(ctx: OperatorContext, deps: AccessReconcilerDeps) {
    this.ctx = ctx;
    this.deps = deps;
  }

  async reconcile(name: string, signal?: AbortSignal): Promise<ReconcileResult | undefined> {
    const obj = this.deps.accessRequests.get(name);
    if (!obj) {
      this.#warned.delete(name);
      await this.#removeOrphans(name, undefined);
      this.deps.metrics.grantGone(name);
      return undefined;
    }
    const spec = accessRequestSpecSchema.safeParse(obj.spec);
    if (!spec.success) {
      // The CRD schema is generated from the same zod schema: only a hand-edited CRD gets here.
      this.ctx.logger.warn('AccessRequest does not parse; nothing is granted', { name, error: spec.error.message });
      return undefined;
    }
    const parsedStatus = accessRequestStatusSchema.safeParse(obj.status ?? {});
    const request: AccessRequest = {
      apiVersion: obj.apiVersion,
      kind: 'AccessRequest',
      metadata: obj.metadata,
      spec: spec.data,
      status: parsedStatus.success ? parsedStatus.data : {},
    };
    if (obj.metadata.deletionTimestamp) return this.#finalize(request, signal);

    const now = this.ctx.clock.now();
    const previous = request.status ?? {};
    const decision = decideAccess(
      { name, creationTimestamp: obj.metadata.creationTimestamp, spec: request.spec, status: previous },
      now,
      accessSettings(this.ctx.config),
    );
    if (previous.phase === undefined) await this.#recordRequested(request);

    let status: AccessRequestStatus = { ...previous };
    let phase: AccessPhase = decision.phase;
    let ready = decision.ready;
    let retryMs: number | undefined;

    if (decision.grant) {
      const blocked = previous.grantedAt === undefined ? await this.#blocker(request) : undefined;
      if (blocked) {
        phase = 'Approved';
        ready = blocked.condition as ConditionInput;
        retryMs = blocked.retryMs;
      } else {
        if (previous.grantedAt === undefined) {
          status = await this.#recordIntent(request, decision, now);
        }
        const outcome = await this.#grant(request, status, signal);
        if (!outcome.done) {
          phase = previous.phase === 'Active' ? 'Active' : 'Approved';
          ready = outcome.condition ?? ready;
          retryMs = outcome.retryMs;
        }
      }
    } else {
      const outcome = await this.#remove(request, status, now, signal);
      if (outcome.done) {
        // Whatever was granted is gone now; a request closed without a grant ends now as well.
        if (status.grantedAt !== undefined || TERMINAL_ACCESS_PHASES.includes(decision.phase)) status.endedAt ??= isoSeconds(now);
        if (obj.metadata.finalizers?.includes(ACCESS_FINALIZER)) await this.#setFinalizer(request, false);
      } else {
        phase = previous.phase ?? 'Active';
        ready = outcome.condition ?? ready;
        retryMs = outcome.retryMs;
      }
    }

    this.#updateMetrics(request, status);
    await this.#recordTransition(request, previous.phase, phase, ready);
    await this.#recordProblem(request, previous.conditions, ready);
    const conditions: Condition[] = setSummarizedConditions(previous.conditions, [ready], now, obj.metadata.generation);
    status = { ...status, observedGeneration: obj.metadata.generation, conditions, phase };
    await writeStatusIfChanged(this.ctx.client, RESOURCES.AccessRequest, obj, status);

    const delays = [retryMs, requeueDelayMs(decision.wakeAt, now)].filter((d): d is number => d !== undefined);
    return delays.length === 0 ? undefined : { requeueAfterMs: Math.min(...delays) };
  }

  /**
   * What must hold before anything is granted: the admission policy that makes the names in the
   * request trustworthy, the tenant, and the place the grant goes (its namespace).
   */
  async #blocker(request: AccessRequest): Promise<GrantOutcome | undefined> {
    const policy = this.ctx.config.access.admissionPolicyName;
    const missing = await this.#policyProblem(policy);
    if (missing) {
      return notYet(
        'AccessPolicyMissing',
        `${missing}: without it requester and approver are unchecked names, so nothing is granted. Install config/access (or the chart's admission policy).`,
        FAILURE_RETRY_MS,
      );
    }
    const tenant = this.#tenant(request.spec.tenant);
    if (!tenant) {
      return notYet('TenantNotFound', `Tenant ${request.spec.tenant} does not exist; nothing is granted.`, FAILURE_RETRY_MS);
    }
    const role = this.ctx.config.access.roles[request.spec.role];
    if (role?.kind === 'Namespace') {
      const grant = plannedGrant(
        { name: request.metadata.name, uid: request.metadata.uid ?? request.metadata.name, spec: request.spec },
        role,
        tenant,
        this.ctx.config,
      ).roleBinding;
      if (grant && !this.ctx.caches.namespaces.get(grant.namespace)) {
        return notYet(
          'TenantNotReady',
          `Namespace ${grant.namespace} of tenant ${tenant.name} does not exist yet; granted once it does.`,
          DEPENDENCY_RETRY_MS,
        );
      }
    }
    if (role?.kind === 'Database') {
      // The window starts when it is recorded: wait for the database rather than spend it on 404s.
      const conditions = (this.ctx.caches.tenants.get(tenant.name)?.status as { conditions?: Condition[] } | undefined)
        ?.conditions;
      if (!conditions?.some((c) => c.type === 'DatabaseReady' && c.status === 'True')) {
        return notYet(
          'TenantNotReady',
          `The database of tenant ${tenant.name} is not ready yet (its DatabaseReady condition); granted once it is.`,
          DEPENDENCY_RETRY_MS,
        );
      }
    }
    return undefined;
  }

  /** Why the admission policy cannot be relied on, or undefined when it and its binding are in place. */
  async #policyProblem(name: string): Promise<string | undefined> {
    try {
      const [, binding] = await Promise.all([
        this.ctx.client.request('GET', `${ADMISSION}/validatingadmissionpolicies/${encodeURIComponent(name)}`),
        this.ctx.client.request<{ spec?: { policyName?: string } }>(
          'GET',
          `${ADMISSION}/validatingadmissionpolicybindings/${encodeURIComponent(name)}`,
        ),
      ]);
      return binding.spec?.policyName === name ? undefined : `The binding ${name} does not enforce the policy ${name}`;
    } catch (err) {
      if (isNotFound(err)) return `The ValidatingAdmissionPolicy ${name} or its binding is missing`;
      // Unverifiable is as bad as missing: the operator's RBAC names the policy it may read.
      if (err instanceof KubeApiError && err.code === 403)
        return `The operator may not read the ValidatingAdmissionPolicy ${name} (its RBAC names the policies it may read)`;
      throw classifyKubeError(err, `reading the access admission policy ${name}`);
    }
  }

  #tenant(name: string): TenantRef | undefined {
    const t = this.ctx.caches.tenants.get(name);
    const environment = (t?.spec as { environment?: string } | undefined)?.environment;
    if (!t || !ENVIRONMENTS.includes(environment as Environment)) return undefined;
    // Where its database lives (a shared server, another subscription), once placed.
    const placement = (t.status as { placement?: TenantRef['placement'] } | undefined)?.placement;
    return { name, environment: environment as Environment, ...(placement ? { placement } : {}) };
  }

  /**
   * Writes the finalizer, then `grantedAt`, `expiresAt` and the planned grant, before anything is
   * granted: if the operator stops right after granting, the next one knows when it ends.
   */
  async #recordIntent(request: AccessRequest, decision: AccessDecision, now: Date): Promise<AccessRequestStatus> {
    const role = this.ctx.config.access.roles[request.spec.role];
    const tenant = this.#tenant(request.spec.tenant);
    if (!role || !tenant || !decision.grantedAt || !decision.expiresAt) throw new Error('recordIntent without a grant to make');
    const grant: AccessGrantRecord = plannedGrant(
      { name: request.metadata.name, uid: request.metadata.uid ?? request.metadata.name, spec: request.spec },
      role,
      tenant,
      this.ctx.config,
    );
    if (!request.metadata.finalizers?.includes(ACCESS_FINALIZER)) await this.#setFinalizer(request, true);
    const status: AccessRequestStatus = {
      ...request.status,
      phase: 'Approved',
      grantedAt: decision.grantedAt,
      expiresAt: decision.expiresAt,
      grant,
      conditions: setSummarizedConditions(
        request.status?.conditions,
        [
          {
            type: 'Ready',
            status: 'False',
            reason: 'Granting',
            message: `Granting ${request.spec.role} until ${decision.expiresAt}.`,
          },
        ],
        now,
        request.metadata.generation,
      ),
      observedGeneration: request.metadata.generation,
    };
    const kubeObject = request as unknown as KubeObject;
    await writeStatusIfChanged(this.ctx.client, RESOURCES.AccessRequest, kubeObject, status);
    this.ctx.recorder.audit({
      subject: { kind: 'AccessRequest', name: request.metadata.name, generation: request.metadata.generation },
      action: `record grant of ${request.spec.role} on tenant ${request.spec.tenant} to ${request.spec.requester} from ${decision.grantedAt} until ${decision.expiresAt}`,
      result: 'ok',
    });
    return status;
  }

  /** Makes the recorded grant exist. */
  async #grant(request: AccessRequest, status: AccessRequestStatus, signal: AbortSignal | undefined): Promise<GrantOutcome> {
    const grant = status.grant;
    const expiresAt = status.expiresAt;
    if (!grant || !expiresAt || !status.grantedAt) throw new Error('grant without a recorded grant');
    if (grant.roleBinding) {
      const rb = grant.roleBinding;
      if (!this.ctx.caches.namespaces.get(rb.namespace)) {
        return notYet(
          'TenantNotReady',
          `Namespace ${rb.namespace} does not exist (any more); the grant waits for it.`,
          DEPENDENCY_RETRY_MS,
        );
      }
      const desired = buildAccessRoleBinding(ref(request), rb, expiresAt);
      const observed = this.deps.roleBindings.get(rb.name, rb.namespace);
      try {
        const { outcome, object } = await this.ctx.applier.apply(desired, observed);
        if (outcome === 'applied') {
          this.deps.roleBindings.observe(object);
          this.#auditWrite(
            request,
            `apply RoleBinding ${rb.namespace}/${rb.name} (${rb.clusterRole} for ${request.spec.requester})`,
          );
        }
      } catch (err) {
        return this.#failed(
          request,
          `granting RoleBinding ${rb.namespace}/${rb.name}`,
          classifyKubeError(err, 'applying the RoleBinding'),
        );
      }
      await this.#removeOrphans(request.metadata.name, rb);
      return { done: true };
    }
    if (grant.azure) {
      return this.#azure(request, 'assign', assignRequest(ref(request), grant.azure, status.grantedAt, expiresAt), signal);
    }
    return { done: true };
  }

  /** Makes sure nothing of the request is granted: the recorded grant and anything else carrying its label. */
  async #remove(
    request: AccessRequest,
    status: AccessRequestStatus,
    now: Date,
    signal: AbortSignal | undefined,
  ): Promise<GrantOutcome> {
    const removedRoleBindings = await this.#removeOrphans(request.metadata.name, undefined, request);
    if (removedRoleBindings instanceof RetryableError)
      return this.#failed(request, 'removing the RoleBinding', removedRoleBindings);
    const azure = status.grant?.azure;
    // A final, removed grant is not asked about again on every resync.
    if (!azure || status.endedAt !== undefined) return { done: true };
    const grantedAt = Date.parse(status.grantedAt ?? '');
    const expiresAt = Date.parse(status.expiresAt ?? '');
    const outcome = await this.#azure(request, 'remove', removeRequest(ref(request), azure), signal);
    if (!outcome.done && outcome.condition?.reason === 'RemovalNotYetAllowed' && !Number.isNaN(grantedAt)) {
      // Azure ends it itself at expiresAt; if that comes first, the next pass finds it gone.
      const allowedAt = Math.min(grantedAt + AZURE_MIN_ACTIVE_MS, Number.isNaN(expiresAt) ? Number.POSITIVE_INFINITY : expiresAt);
      return { ...outcome, retryMs: Math.max(allowedAt - now.getTime(), 1000) };
    }
    return outcome;
  }

  /** One engine pass over the request to assign or end the Azure role. */
  async #azure(
    request: AccessRequest,
    action: 'assign' | 'remove',
    params: RoleAssignmentScheduleRequestParams,
    signal: AbortSignal | undefined,
  ): Promise<GrantOutcome> {
    if (!this.deps.arm) {
      return notYet(
        'RoleNotConfigured',
        'The access was granted on Azure, and this operator has no Azure configuration to manage it.',
        FAILURE_RETRY_MS,
      );
    }
    const kind = {
      ...roleAssignmentScheduleRequestKind,
      // What we want is already so: the principal has the role (assign), or no longer has it (remove).
      satisfiedBy: action === 'assign' ? ['RoleAssignmentExists'] : ['RoleAssignmentDoesNotExist'],
    };
    const res: ArmResource = resource(`access.${action}`, kind, () => params);
    const pass = await reconcileResources(this.deps.arm.withSignal(signal), [res], { now: this.ctx.clock.now() });
    const report = pass.reports.get(res.key);
    if (pass.changes.length > 0) {
      this.#auditWrite(
        request,
        `${action === 'assign' ? 'AdminAssign' : 'AdminRemove'} role assignment schedule request ${params.name} on ${params.scope}`,
      );
    }
    if (report?.phase === 'Ready') return { done: true };
    if (report?.phase === 'Failed' && report.error) {
      const code = (report.error.cause as { code?: unknown } | undefined)?.code;
      if (action === 'remove' && code === 'ActiveDurationTooShort') {
        return {
          done: false,
          condition: {
            type: 'Ready',
            status: 'False',
            reason: 'RemovalNotYetAllowed',
            message: `Azure ends a role assignment no sooner than five minutes after it began; the access is removed then (or at its expiry, by Azure itself).`,
          },
        };
      }
      return this.#failed(request, `${action === 'assign' ? 'granting' : 'removing'} the Azure role`, report.error);
    }
    const answer = scheduleRequestStatus(pass.outputs.get(res.key));
    if (isRefusedScheduleRequest(answer)) {
      return this.#failed(
        request,
        `${action === 'assign' ? 'granting' : 'removing'} the Azure role`,
        new RetryableError(
          'AzureOperationFailed',
          `Azure answered role assignment schedule request ${params.name} with status ${answer}; a PIM policy on the scope may require its own approval, or refuse the window`,
        ),
      );
    }
    return notYet(
      action === 'assign' ? 'Granting' : 'RemovingAccess',
      `Role assignment schedule request ${params.name} is ${answer ?? 'not answered yet'}.`,
      DEPENDENCY_RETRY_MS,
    );
  }

  #failed(request: AccessRequest, what: string, err: AzureFailure | RetryableError): GrantOutcome {
    this.ctx.recorder.audit({
      subject: { kind: 'AccessRequest', name: request.metadata.name, generation: request.metadata.generation },
      action: what,
      result: 'error',
      detail: errorMessage(err),
    });
    const retryAfter = err instanceof RetryableError ? err.retryAfterMs : undefined;
    return notYet(
      err.reason,
      `${what}: ${errorMessage(err)}`,
      retryAfter ?? (isTerminal(err) ? 5 * FAILURE_RETRY_MS : FAILURE_RETRY_MS),
    );
  }

  /**
   * Deletes RoleBindings labelled with `name` except `keep`: a request's old grant, or every grant of
   * a request that no longer exists. Returns a classified error instead of throwing, so the caller
   * can record it.
   */
  async #removeOrphans(
    name: string,
    keep: { namespace: string; name: string } | undefined,
    request?: AccessRequest,
  ): Promise<RetryableError | undefined> {
    const stale = this.deps.roleBindings
      .list()
      .filter((rb) => rb.metadata.labels?.[ACCESS_REQUEST_LABEL] === name)
      .filter((rb) => !(keep && rb.metadata.namespace === keep.namespace && rb.metadata.name === keep.name));
    for (const rb of stale) {
      try {
        await this.ctx.applier.delete(rb);
      } catch (err) {
        const failure = classifyKubeError(err, `deleting RoleBinding ${rb.metadata.namespace}/${rb.metadata.name}`);
        if (request) return failure instanceof RetryableError ? failure : new RetryableError(failure.reason, failure.message);
        throw failure;
      }
      const where = `RoleBinding ${rb.metadata.namespace}/${rb.metadata.name}`;
      if (request) {
        this.#auditWrite(request, `delete ${where}`);
      } else {
        // The request is gone: the Event goes on the RoleBinding itself, the audit line names both.
        this.ctx.recorder.audit({
          subject: { kind: 'AccessRequest', name },
          action: `delete ${where}: its AccessRequest no longer exists`,
          result: 'ok',
        });
        await this.ctx.recorder.event(
          rb,
          'Normal',
          'AccessRemoved',
          `Removed: AccessRequest ${name} no longer exists, so the access it granted does not either.`,
        );
      }
    }
    return undefined;
  }

  /** A request being deleted: remove its grant first, then let it go. */
  async #finalize(request: AccessRequest, signal: AbortSignal | undefined): Promise<ReconcileResult | undefined> {
    if (!request.metadata.finalizers?.includes(ACCESS_FINALIZER)) return undefined;
    const outcome = await this.#remove(request, request.status ?? {}, this.ctx.clock.now(), signal);
    if (!outcome.done) return { requeueAfterMs: outcome.retryMs ?? FAILURE_RETRY_MS };
    if (request.status?.grantedAt !== undefined && request.status.endedAt === undefined) {
      await this.ctx.recorder.event(
        request as unknown as KubeObject,
        'Normal',
        'AccessRemoved',
        `${request.spec.role} on tenant ${request.spec.tenant} for ${request.spec.requester} was removed: the AccessRequest is being deleted.`,
      );
    }
    await this.#setFinalizer(request, false);
    this.deps.metrics.grantGone(request.metadata.name);
    return undefined;
  }

  /** Adds or removes our finalizer through server-side apply: we own only our own entry. */
  async #setFinalizer(request: AccessRequest, present: boolean): Promise<void> {
    const body: KubeObject = {
      apiVersion: request.apiVersion,
      kind: 'AccessRequest',
      metadata: { name: request.metadata.name, finalizers: present ? [ACCESS_FINALIZER] : [] },
    };
    try {
      this.deps.accessRequests.observe(await this.ctx.client.apply<KubeObject>(RESOURCES.AccessRequest, body, FIELD_MANAGER));
    } catch (err) {
      if (!present && isNotFound(err)) return;
      throw classifyKubeError(err, `${present ? 'adding' : 'removing'} the finalizer of AccessRequest ${request.metadata.name}`);
    }
    this.#auditWrite(request, `${present ? 'add' : 'remove'} finalizer ${ACCESS_FINALIZER}`);
  }

  #auditWrite(request: AccessRequest, action: string): void {
    this.ctx.recorder.audit({
      subject: { kind: 'AccessRequest', name: request.metadata.name, generation: request.metadata.generation },
      action,
      result: 'ok',
    });
  }

  async #recordRequested(request: AccessRequest): Promise<void> {
    const s = request.spec;
    const message = `${s.requester} requests ${s.role} on tenant ${s.tenant} for ${s.duration}${s.azurePrincipalId ? ` (Entra principal ${s.azurePrincipalId})` : ''}.`;
    this.ctx.recorder.audit({
      subject: { kind: 'AccessRequest', name: request.metadata.name, generation: request.metadata.generation },
      action: 'access requested',
      result: 'ok',
      // The reason is free text a person typed: only its digest leaves the object.
      detail: `${message} Reason ${textDigest(s.reason)}.`,
    });
    await this.ctx.recorder.event(request as unknown as KubeObject, 'Normal', 'AccessRequested', message);
  }

  /** An Event and an audit line for each step the request took in this pass. */
  async #recordTransition(
    request: AccessRequest,
    from: AccessPhase | undefined,
    to: AccessPhase,
    ready: ConditionInput,
  ): Promise<void> {
    const s = request.spec;
    const steps: { reason: string; type: 'Normal' | 'Warning'; message: string }[] = [];
    const wasPending = from === undefined || from === 'Pending';
    if (wasPending && s.approval?.decision === 'Approved' && (to === 'Approved' || to === 'Active')) {
      steps.push({
        reason: 'AccessApproved',
        type: 'Normal',
        message: `${s.approval.approver} approved ${s.role} on tenant ${s.tenant} for ${s.requester}.`,
      });
    }
    if (to !== from) {
      if (to === 'Active') steps.push({ reason: 'AccessGranted', type: 'Normal', message: ready.message });
      if (to === 'Denied')
        steps.push({
          reason: ready.reason === 'PolicyViolation' ? 'PolicyViolation' : 'AccessDenied',
          type: ready.reason === 'PolicyViolation' ? 'Warning' : 'Normal',
          message: ready.message,
        });
      if (to === 'Expired') steps.push({ reason: 'AccessExpired', type: 'Normal', message: ready.message });
      if (to === 'Revoked') steps.push({ reason: 'AccessRevoked', type: 'Normal', message: ready.message });
    }
    for (const step of steps) {
      this.ctx.recorder.audit({
        subject: { kind: 'AccessRequest', name: request.metadata.name, generation: request.metadata.generation },
        action: step.reason,
        result: 'ok',
        detail: step.message,
      });
      await this.ctx.recorder.event(request as unknown as KubeObject, step.type, step.reason, step.message);
    }
  }

  /**
   * A Warning Event when the request gets stuck on something a person or a retry must fix, once per
   * new reason (a retry every 30 s must not flood `kubectl describe`; the audit line records each).
   */
  async #recordProblem(request: AccessRequest, previous: readonly Condition[] | undefined, ready: ConditionInput): Promise<void> {
    const name = request.metadata.name;
    const uid = request.metadata.uid;
    // Waiting for an approver is the normal course; a policy violation has its own Event (a denial).
    if (ready.status === 'True' || ready.reason === 'AwaitingApproval' || ready.reason === 'PolicyViolation') {
      this.#warned.delete(name);
      return;
    }
    if (!['transient', 'spec', 'platform'].includes(reasonClass(ready.reason))) return;
    if (previous?.find((c) => c.type === 'Ready')?.reason === ready.reason) return;
    // The cache may not show the status just written when the retry comes: remember it here too.
    const last = this.#warned.get(name);
    if (last?.uid === uid && last?.reason === ready.reason) return;
    this.#warned.set(name, { uid, reason: ready.reason });
    await this.ctx.recorder.event(request as unknown as KubeObject, 'Warning', ready.reason, ready.message);
  }

  #updateMetrics(request: AccessRequest, status: AccessRequestStatus): void {
    if (status.grantedAt !== undefined && status.expiresAt !== undefined && status.endedAt === undefined) {
      this.deps.metrics.grantInPlace(request.metadata.name, request.spec.tenant, request.spec.role, new Date(status.expiresAt));
    } else {
      this.deps.metrics.grantGone(request.metadata.name);
    }
  }
}
