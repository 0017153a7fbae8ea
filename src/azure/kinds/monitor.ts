/**
 * Azure Monitor: diagnostic settings (`Microsoft.Insights/diagnosticSettings`, an extension
 * resource on the resource whose logs it sends) and the retention of a Log Analytics table, which
 * belongs to the platform's workspace and is only read.
 */
import { PlatformError } from '../../runtime/errors.ts';
import type { ArmBody } from '../arm-client.ts';
import type { ResourceKind } from '../engine.ts';
import { PLATFORM_RETRY_MS } from '../errors.ts';
import { props, provisioningState, str } from './common.ts';
import { sameId } from './compare.ts';
import { identity } from './ids.ts';
import { settingsKind } from './shapes.ts';

/** Diagnostic settings (no SDK of ours covers them; the latest api-version of the REST specs). */
export const DIAGNOSTIC_SETTINGS_API_VERSION = '2021-05-01-preview';
/** Log Analytics workspaces and tables. */
export const LOG_ANALYTICS_API_VERSION = '2023-09-01';

/**
 * The table both audit streams land in: diagnostic settings without `logAnalyticsDestinationType`
 * write Key Vault `AuditEvent` and SQL `SQLSecurityAuditEvents` records to `AzureDiagnostics`.
 */
export const AUDIT_TABLE = 'AzureDiagnostics';

export interface DiagnosticSettingParams {
  /** The resource whose logs are sent (a vault; a SQL server's `master` database). */
  scopeId: string;
  name: string;
  /** ARM id of the Log Analytics workspace that keeps them. */
  workspaceId: string;
  /** Log categories to send, e.g. `AuditEvent`. */
  categories: readonly string[];
}

/** The enabled log categories of a diagnostic setting. */
function enabledCategories(observed: ArmBody): Set<string> {
  const logs = props(observed).logs;
  return new Set(
    (Array.isArray(logs) ? logs : [])
      .filter((l: { enabled?: unknown }) => l.enabled === true)
      .map((l: { category?: unknown }) => String(l.category ?? '').toLowerCase()),
  );
}

/**
 * Log categories sent to a workspace. No retention policy is set: diagnostic-settings retention is
 * deprecated (it only ever applied to storage accounts); a workspace keeps what it receives for its
 * table's retention, which `auditRetentionKind` checks.
 */
export const diagnosticSettingKind: ResourceKind<DiagnosticSettingParams> = settingsKind({
  ...identity<DiagnosticSettingParams>(
    'Microsoft.Insights/diagnosticSettings',
    DIAGNOSTIC_SETTINGS_API_VERSION,
    'diagnostic setting',
    (p) => [p.scopeId, p.name],
  ),
  body: (p) => ({
    properties: { workspaceId: p.workspaceId, logs: p.categories.map((category) => ({ category, enabled: true })) },
  }),
  diff: (p, observed) => {
    const fields: string[] = [];
    if (!sameId(str(props(observed).workspaceId), p.workspaceId)) fields.push('workspaceId');
    const enabled = enabledCategories(observed);
    if (p.categories.some((c) => !enabled.has(c.toLowerCase()))) fields.push('logs');
    return fields;
  },
});

export interface AuditRetentionParams {
  workspaceId: string;
  table: string;
  /** The fewest days the table must keep records (interactive plus long-term retention). */
  minimumDays: number;
}

/** Total days a Log Analytics table keeps records, as its GET reports them (workspace default included). */
export function tableRetentionDays(observed: ArmBody | undefined): number | undefined {
  if (observed === undefined) return undefined;
  const p = props(observed);
  const total = typeof p.totalRetentionInDays === 'number' ? p.totalRetentionInDays : undefined;
  const interactive = typeof p.retentionInDays === 'number' ? p.retentionInDays : undefined;
  return total !== undefined && total > 0 ? total : interactive;
}

/**
 * The audit table of the configured workspace keeps records at least `minimumDays`. The workspace
 * is the platform's, shared by every tenant: read, never written; a shortfall is for the platform
 * team to fix.
 */
export const auditRetentionKind: ResourceKind<AuditRetentionParams> = {
  ...identity<AuditRetentionParams>(
    'Microsoft.OperationalInsights/workspaces/tables',
    LOG_ANALYTICS_API_VERSION,
    'audit log retention',
    (p) => [p.workspaceId, p.table],
  ),
  readOnly: true,
  create: () => ({}),
  diff: () => [],
  state: provisioningState,
  // The table may be updating (someone raising its retention): what it reports still counts.
  ready: () => true,
  findings: (p, observed) => {
    const workspace = p.workspaceId.split('/').pop() ?? p.workspaceId;
    const retry = { retryAfterMs: PLATFORM_RETRY_MS };
    if (observed === undefined) {
      return new PlatformError(
        'AuditWorkspaceNotFound',
        `the Log Analytics workspace ${p.workspaceId} (table ${p.table}) that azure.audit names was not found; create it or fix the configuration`,
        retry,
      );
    }
    const days = tableRetentionDays(observed);
    if (days !== undefined && days >= p.minimumDays) return undefined;
    return new PlatformError(
      'AuditRetentionTooShort',
      `table ${p.table} of workspace ${workspace} keeps audit records ${days ?? 'an unknown number of'} days, fewer than the ${p.minimumDays} promised; raise its total retention (az monitor log-analytics workspace table update --name ${p.table} --total-retention-time ${p.minimumDays})`,
      retry,
    );
  },
};
