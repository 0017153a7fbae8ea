/**
 * The maintenance part of a Tenant's status — next window, what waits, since when — and the
 * Events and audit lines that give a person advance notice of held and applied changes.
 */
import type { Tenant, TenantStatus } from '../api/v1alpha1/tenant.ts';
import type { OperatorContext } from '../context.ts';
import { describeFreeText } from '../observability/redaction.ts';
import type { ConditionInput } from '../runtime/conditions.ts';
import type { KubeObject } from '../runtime/kube-client.ts';
import { APPLY_NOW_ANNOTATION, emergencyReasonRecord, type GateDecision } from './gate.ts';

export function isoSeconds(date: Date): string {
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
      : gate.reason === 'WaitingForNotice' && gate.window
        ? `until the maintenance window opening at ${isoSeconds(gate.window.opensAt)}: the window open now comes too soon after the change was announced (advance notice)`
        : gate.reason === 'MaintenanceWindowNotFound'
          ? 'because the referenced MaintenanceWindow does not exist (create it)'
          : gate.reason === 'InvalidMaintenanceWindow'
            ? 'because the MaintenanceWindow is invalid (fix its schedule)'
            : 'because no maintenance window opens in the next two years';
  const override = `To apply now, annotate the Tenant ${APPLY_NOW_ANNOTATION}="<reason>" (recorded as an emergency change).`;
  return {
    type: 'UpdatePending',
    status: 'True',
    reason: gate.reason,
    message: `${gate.pending.join('; ')}: held ${until}. ${override}`,
  };
}

/** Records events for a gate decision and returns the maintenance status (which the tenant metrics read). */
export function maintenanceStatus(
  ctx: Pick<OperatorContext, 'clock' | 'config' | 'recorder'>,
  tenant: Tenant,
  raw: KubeObject,
  gate: GateDecision,
): NonNullable<TenantStatus['maintenance']> {
  const previous = tenant.status?.maintenance;
  const now = ctx.clock.now();
  const subject = { kind: 'Tenant', name: tenant.metadata.name, generation: tenant.metadata.generation };
  const windowName = tenant.spec.maintenanceWindowRef?.name ?? ctx.config.defaultMaintenanceWindow;
  const { recorder } = ctx;
  if (gate.pending.length > 0 && (previous?.pendingChanges ?? []).join('|') !== gate.pending.join('|')) {
    const when = gate.window
      ? `the maintenance window opening ${gate.window.opensAt.toISOString()}`
      : `maintenance window ${windowName}`;
    recorder.event(raw, 'Normal', 'UpdatePending', `${gate.pending.join('; ')}: waits for ${when}`).catch(() => {});
  }
  if (gate.applying.length > 0) {
    const emergency = gate.reason === 'EmergencyOverride';
    // The reason is free text: the Event and the audit line show it redacted, bounded and digested.
    const why = emergency
      ? `emergency change (${APPLY_NOW_ANNOTATION}: ${describeFreeText(tenant.metadata.annotations?.[APPLY_NOW_ANNOTATION] ?? '')})`
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
  const reason = tenant.metadata.annotations?.[APPLY_NOW_ANNOTATION];
  const previousRecord = previous?.emergencyApplied;
  const emergencyApplied =
    gate.reason === 'EmergencyOverride' && reason !== undefined
      ? emergencyReasonRecord(reason)
      : // A status written before reasons were digested still holds the text: digest it now.
        previousRecord && !previousRecord.startsWith('sha256:')
        ? emergencyReasonRecord(previousRecord)
        : previousRecord;
  return {
    ...(gate.window
      ? { nextWindowOpens: isoSeconds(gate.window.opensAt), nextWindowCloses: isoSeconds(gate.window.closesAt) }
      : {}),
    windowOpen: gate.open,
    ...(gate.pending.length > 0
      ? {
          pendingChanges: gate.pending,
          pendingSummary: gate.pending.join('; '),
          pendingSince: previous?.pendingSince ?? isoSeconds(now),
          // When exactly these changes were first seen: the advance notice runs from here.
          announcedAt:
            previous?.announcedAt && (previous.pendingChanges ?? []).join('|') === gate.pending.join('|')
              ? previous.announcedAt
              : isoSeconds(now),
        }
      : {}),
    ...(emergencyApplied ? { emergencyApplied } : {}),
  };
}
