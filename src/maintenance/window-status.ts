/**
 * The MaintenanceWindow controller: keeps each window's status true — open now or not, the next
 * opening and closing, how many tenants use it and how many have changes waiting — and wakes up
 * exactly at the next opening or closing. Tenants are counted from the cache (no API calls).
 */
import type { Condition } from '../api/v1alpha1/common.ts';
import { setSummarizedConditions } from '../api/v1alpha1/conditions.ts';
import type { MaintenanceWindowStatus } from '../api/v1alpha1/maintenance-window.ts';
import type { OperatorContext } from '../context.ts';
import type { ReconcileResult, Reconciler } from '../runtime/controller.ts';
import { RESOURCES } from '../runtime/resources.ts';
import { writeStatusIfChanged } from '../runtime/status.ts';
import { isoSeconds } from './tenant-maintenance.ts';
import { nextWindow, validateSchedule, type WindowSchedule, windowContaining } from './window.ts';

type TenantView = {
  spec?: { maintenanceWindowRef?: { name?: string } };
  status?: { maintenance?: { pendingChanges?: string[] } };
};

export class MaintenanceWindowReconciler implements Reconciler {
  readonly ctx: OperatorContext;

  constructor(ctx: OperatorContext) {
    this.ctx = ctx;
  }

  async reconcile(name: string): Promise<ReconcileResult | undefined> {
    const { caches, clock, config, metrics } = this.ctx;
    const mw = caches.maintenanceWindows.get(name);
    if (!mw) {
      metrics.maintenanceWindowOpen.remove({ window: name });
      return undefined;
    }
    const users = caches.tenants
      .list()
      .filter((t) => ((t as unknown as TenantView).spec?.maintenanceWindowRef?.name ?? config.defaultMaintenanceWindow) === name);
    const waiting = users.filter((t) => ((t as unknown as TenantView).status?.maintenance?.pendingChanges?.length ?? 0) > 0);
    const schedule = mw.spec as WindowSchedule;
    const now = clock.now();
    const generation = mw.metadata.generation;
    const previous = (mw.status as MaintenanceWindowStatus | undefined)?.conditions;
    const problems = validateSchedule(schedule);
    // Overlapping recurrences are merged by the window math; every other problem makes the window unusable.
    const blocking = problems.filter((p) => !/overlap/i.test(p));
    let conditions: Condition[];
    let status: MaintenanceWindowStatus;
    let wakeAt: Date | undefined;
    if (blocking.length > 0) {
      conditions = setSummarizedConditions(
        previous,
        [{ type: 'Ready', status: 'False', reason: 'InvalidSchedule', message: blocking.join('; ') }],
        now,
        generation,
      );
      status = {
        observedGeneration: generation,
        conditions,
        open: false,
        tenants: users.length,
        tenantsWithPendingChanges: waiting.length,
      };
    } else {
      const current = windowContaining(schedule, now);
      const next = nextWindow(schedule, now);
      const message = current
        ? `Open until ${isoSeconds(current.closesAt)}.`
        : next
          ? `Closed; opens ${isoSeconds(next.opensAt)}.`
          : 'No window opens in the next two years.';
      conditions = setSummarizedConditions(
        previous,
        [{ type: 'Ready', status: 'True', reason: current ? 'Open' : 'Closed', message }],
        now,
        generation,
      );
      status = {
        observedGeneration: generation,
        conditions,
        open: current !== undefined,
        ...(next ? { nextOpening: isoSeconds(next.opensAt) } : {}),
        ...((current ?? next) ? { nextClosing: isoSeconds((current ?? next)!.closesAt) } : {}),
        tenants: users.length,
        tenantsWithPendingChanges: waiting.length,
      };
      wakeAt = current?.closesAt ?? next?.opensAt;
    }
    metrics.maintenanceWindowOpen.set({ window: name }, status.open ? 1 : 0);
    await writeStatusIfChanged(this.ctx.client, RESOURCES.MaintenanceWindow, mw, status);
    if (!wakeAt) return undefined;
    return { requeueAfterMs: Math.min(Math.max(wakeAt.getTime() - now.getTime(), 1000), 6 * 3600_000) };
  }
}
