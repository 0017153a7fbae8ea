/**
 * The maintenance window that governs one tenant, resolved once for every user (the change gate,
 * restore drills): the MaintenanceWindow the tenant names, or else the default one read in the
 * local time of the tenant's region (`maintenance.regionTimeZones`), so that the default "02:00"
 * means 02:00 where that customer is. Pure.
 */
import type { Tenant } from '../api/v1alpha1/tenant.ts';
import type { OperatorConfig } from '../config.ts';
import type { KubeObject } from '../runtime/kube-client.ts';
import type { WindowSchedule } from './window.ts';

export interface TenantWindow {
  /** The MaintenanceWindow's name. */
  name: string;
  /** Its schedule as it applies to this tenant; undefined when the MaintenanceWindow does not exist. */
  schedule: WindowSchedule | undefined;
  /** Set when the default window is read in the region's zone instead of its own. */
  regionalTimeZone?: string;
}

export function resolveTenantWindow(
  tenant: Pick<Tenant, 'spec'>,
  config: Pick<OperatorConfig, 'defaultMaintenanceWindow' | 'maintenance'>,
  lookup: (name: string) => KubeObject | undefined,
  name: string | undefined = tenant.spec.maintenanceWindowRef?.name,
): TenantWindow {
  const windowName = name ?? config.defaultMaintenanceWindow;
  const raw = lookup(windowName);
  if (!raw) return { name: windowName, schedule: undefined };
  const schedule = raw.spec as WindowSchedule;
  const zone = name === undefined ? config.maintenance.regionTimeZones[tenant.spec.region] : undefined;
  if (!zone || zone === schedule.timeZone) return { name: windowName, schedule };
  return { name: windowName, schedule: { ...schedule, timeZone: zone }, regionalTimeZone: zone };
}
