/**
 * The BackupPolicy controller's status side: how many tenants use each policy and how many of
 * them are within their RPO (from their BackupHealthy condition), counted from the cache.
 */
import type { BackupPolicyStatus } from '../api/v1alpha1/backup-policy.ts';
import type { Condition } from '../api/v1alpha1/common.ts';
import type { OperatorContext } from '../context.ts';
import { setCondition } from '../runtime/conditions.ts';
import type { ReconcileResult, Reconciler } from '../runtime/controller.ts';
import { RESOURCES } from '../runtime/resources.ts';
import { writeStatusIfChanged } from '../runtime/status.ts';

type TenantView = { spec?: { backupPolicyRef?: { name?: string } }; status?: { conditions?: Condition[] } };

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
    const status: BackupPolicyStatus = {
      ...(policy.status as BackupPolicyStatus | undefined),
      observedGeneration: policy.metadata.generation,
      conditions: setCondition(
        previous,
        { type: 'Ready', status: 'True', reason: 'Accepted', message: `Applied to ${users.length} tenant(s).` },
        clock.now(),
        policy.metadata.generation,
      ),
      tenants: users.length,
      tenantsWithinRpo: withinRpo.length,
    };
    await writeStatusIfChanged(this.ctx.client, RESOURCES.BackupPolicy, policy, status);
    return undefined;
  }
}
