/**
 * The BackupPolicy controller's status side: how many tenants use each policy, how many of them
 * are within their RPO (from their BackupHealthy condition), and how their restore drills went
 * (from their status.backup.drill), counted from the cache.
 */
import { type BackupPolicyStatus, backupPolicySpecSchema } from '../api/v1alpha1/backup-policy.ts';
import type { Condition } from '../api/v1alpha1/common.ts';
import { setSummarizedConditions } from '../api/v1alpha1/conditions.ts';
import type { OperatorContext } from '../context.ts';
import type { ReconcileResult, Reconciler } from '../runtime/controller.ts';
import { RESOURCES } from '../runtime/resources.ts';
import { writeStatusIfChanged } from '../runtime/status.ts';
import { unattainableObjectives } from './policy.ts';

type DrillView = {
  phase?: string;
  result?: string;
  finishedAt?: string;
  previous?: { result?: string; finishedAt?: string };
};
type TenantView = {
  metadata?: { name?: string };
  spec?: { backupPolicyRef?: { name?: string } };
  status?: { conditions?: Condition[]; backup?: { drill?: DrillView } };
};

/** The latest finished drill of a tenant: the current one once finished, else the one before it. */
function lastFinishedDrill(drill: DrillView | undefined): { result: string; finishedAt: string | undefined } | undefined {
  const last = drill?.phase === 'Running' ? drill.previous : drill;
  return last?.result === undefined ? undefined : { result: last.result, finishedAt: last.finishedAt };
}

/** Pure: the drill summary of a policy's tenants. */
export function drillSummary(
  users: readonly TenantView[],
): Pick<BackupPolicyStatus, 'lastDrillResult' | 'lastDrillAt' | 'lastDrillTenant' | 'tenantsWithFailedDrill'> {
  let latest: { result: string; finishedAt: string | undefined; tenant: string | undefined } | undefined;
  let failed = 0;
  for (const t of users) {
    const last = lastFinishedDrill(t.status?.backup?.drill);
    if (last === undefined) continue;
    if (last.result !== 'Succeeded') failed += 1;
    if (latest === undefined || (last.finishedAt ?? '') > (latest.finishedAt ?? '')) {
      latest = { ...last, tenant: t.metadata?.name };
    }
  }
  return {
    tenantsWithFailedDrill: failed,
    ...(latest === undefined
      ? {}
      : {
          lastDrillResult: latest.result,
          ...(latest.finishedAt ? { lastDrillAt: latest.finishedAt } : {}),
          ...(latest.tenant ? { lastDrillTenant: latest.tenant } : {}),
        }),
  };
}

export class BackupPolicyReconciler implements Reconciler {
  readonly ctx: OperatorContext;

  constructor(ctx: OperatorContext) {
    this.ctx = ctx;
  }

  async reconcile(name: string): Promise<ReconcileResult | undefined> {
    const { caches, clock, config } = this.ctx;
    const policy = caches.backupPolicies.get(name);
    if (!policy) return undefined;
    const users = caches.tenants
      .list()
      .map((t) => t as unknown as TenantView)
      .filter((t) => (t.spec?.backupPolicyRef?.name ?? config.defaultBackupPolicy) === name);
    const withinRpo = users.filter((t) => t.status?.conditions?.some((c) => c.type === 'BackupHealthy' && c.status === 'True'));
    const previous = (policy.status as BackupPolicyStatus | undefined)?.conditions;
    const parsed = backupPolicySpecSchema.safeParse(policy.spec ?? {});
    const problems = parsed.success ? unattainableObjectives(parsed.data) : [];
    const {
      lastDrillResult: _r,
      lastDrillAt: _a,
      lastDrillTenant: _t,
      ...kept
    } = (policy.status as BackupPolicyStatus | undefined) ?? {};
    const status: BackupPolicyStatus = {
      ...kept,
      observedGeneration: policy.metadata.generation,
      conditions: setSummarizedConditions(
        previous,
        [
          problems.length > 0
            ? { type: 'Ready', status: 'False', reason: 'UnattainableObjectives', message: `${problems.join('; ')}.` }
            : { type: 'Ready', status: 'True', reason: 'Accepted', message: `Applied to ${users.length} tenant(s).` },
        ],
        clock.now(),
        policy.metadata.generation,
      ),
      tenants: users.length,
      tenantsWithinRpo: withinRpo.length,
      ...drillSummary(users),
    };
    await writeStatusIfChanged(this.ctx.client, RESOURCES.BackupPolicy, policy, status);
    return undefined;
  }
}
