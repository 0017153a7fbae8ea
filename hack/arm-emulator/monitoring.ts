/**
 * Azure Monitor in the emulator: diagnostic settings (an extension resource on whatever resource
 * sends logs), Log Analytics workspaces and their tables (retention per table, the workspace's by
 * default), and the platform's audit workspace the emulator starts with.
 */
import { randomUUID } from 'node:crypto';
import { API_VERSIONS } from './api-versions.ts';
import { parseArmPath } from './arm-path.ts';
import type { ControllableClock } from './clock.ts';
import { asBoolean, asNumber, asObject, asString, compact, isObject, type JsonObject } from './json.ts';
import type { ResourceTypeSpec, WriteOutcome } from './resource-types.ts';
import { childrenOfType, getResource, putResource, type Store } from './store.ts';

const DIAGNOSTIC_SETTINGS_TYPE = 'Microsoft.Insights/diagnosticSettings';
const WORKSPACES_TYPE = 'Microsoft.OperationalInsights/workspaces';
const TABLES_TYPE = 'Microsoft.OperationalInsights/workspaces/tables';

function fail(status: number, code: string, message: string): WriteOutcome {
  return { ok: false, error: { status, code, message } };
}

function props(body: JsonObject): JsonObject {
  return asObject(body.properties);
}

/**
 * Log categories (and category groups) each resource type offers to diagnostic settings, from
 * Azure Monitor's "Supported categories for Azure Monitor resource logs". Other types accept any.
 */
export const LOG_CATEGORIES: Readonly<Record<string, { categories: readonly string[]; groups: readonly string[] }>> = {
  'microsoft.keyvault/vaults': { categories: ['AuditEvent', 'AzurePolicyEvaluationDetails'], groups: ['audit', 'allLogs'] },
  'microsoft.sql/servers/databases': {
    categories: [
      'SQLInsights',
      'AutomaticTuning',
      'QueryStoreRuntimeStatistics',
      'QueryStoreWaitStatistics',
      'Errors',
      'DatabaseWaitStatistics',
      'Timeouts',
      'Blocks',
      'Deadlocks',
      'DevOpsOperationsAudit',
      'SQLSecurityAuditEvents',
    ],
    groups: ['audit', 'allLogs'],
  },
};

/** At most this many diagnostic settings per resource (Azure Monitor's documented limit). */
const MAX_DIAGNOSTIC_SETTINGS = 5;

const WORKSPACE_ID =
  /^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/Microsoft\.OperationalInsights\/workspaces\/[^/]+$/i;

/**
 * `Microsoft.Insights/diagnosticSettings` on any resource (api-version 2021-05-01-preview). Checked
 * as Azure does: a destination is required, a workspace id must be one (400
 * `LinkedInvalidPropertyId`) and exist (404 `ResourceNotFound`), categories must be the resource
 * type's, the deprecated storage retention cannot be turned on, at most five settings per resource,
 * and two settings of one resource may not send the same category to the same destination.
 */
const diagnosticSettings: ResourceTypeSpec = {
  type: DIAGNOSTIC_SETTINGS_TYPE,
  apiVersions: [API_VERSIONS.diagnosticSettings],
  writes: { PUT: 'sync', DELETE: 'sync' },
  tracked: false,
  renderState: 'none',
  write(ctx, { target, body }) {
    const p = props(body);
    const workspaceId = asString(p.workspaceId);
    const destinations = [workspaceId, p.storageAccountId, p.eventHubAuthorizationRuleId, p.marketplacePartnerId];
    if (destinations.every((d) => asString(d) === undefined)) {
      return fail(
        400,
        'BadRequest',
        'A diagnostic setting needs at least one destination (workspace, storage account, event hub or partner).',
      );
    }
    if (workspaceId !== undefined) {
      if (!WORKSPACE_ID.test(workspaceId)) {
        return fail(
          400,
          'LinkedInvalidPropertyId',
          `Property id '${workspaceId}' at path 'properties.workspaceId' is invalid. Expect fully qualified resource Id that start with '/subscriptions/{subscriptionId}'.`,
        );
      }
      if (getResource(ctx.store, workspaceId) === undefined) {
        return fail(404, 'ResourceNotFound', `The Log Analytics workspace '${workspaceId}' was not found.`);
      }
    }
    const scopeType = parseArmPath(target.parentId)?.type?.toLowerCase() ?? '';
    const offered = LOG_CATEGORIES[scopeType];
    const logs: JsonObject[] = [];
    for (const raw of Array.isArray(p.logs) ? p.logs : []) {
      const log = asObject(raw);
      const category = asString(log.category);
      const group = asString(log.categoryGroup);
      if (category === undefined && group === undefined)
        return fail(400, 'BadRequest', 'A log setting needs a category or a categoryGroup.');
      if (offered !== undefined) {
        const known = category !== undefined ? offered.categories.includes(category) : offered.groups.includes(group ?? '');
        if (!known) return fail(400, 'BadRequest', `Category '${category ?? group}' is not supported for '${scopeType}'.`);
      }
      if (asObject(log.retentionPolicy).enabled === true) {
        return fail(
          400,
          'BadRequest',
          'Diagnostic settings storage retention is deprecated and can no longer be configured; use the destination’s own retention.',
        );
      }
      logs.push({
        category: category ?? null,
        categoryGroup: group ?? null,
        enabled: asBoolean(log.enabled) ?? false,
        retentionPolicy: { enabled: false, days: 0 },
      });
    }
    const siblings = childrenOfType(ctx.store, target.parentId, DIAGNOSTIC_SETTINGS_TYPE).filter(
      (s) => s.id.toLowerCase() !== target.id.toLowerCase(),
    );
    if (siblings.length >= MAX_DIAGNOSTIC_SETTINGS) {
      return fail(400, 'BadRequest', `A resource can have at most ${MAX_DIAGNOSTIC_SETTINGS} diagnostic settings.`);
    }
    for (const sibling of siblings) {
      const sp = props(sibling.body);
      if (workspaceId === undefined || asString(sp.workspaceId)?.toLowerCase() !== workspaceId.toLowerCase()) continue;
      const theirs = new Set(
        (Array.isArray(sp.logs) ? sp.logs : [])
          .filter((l) => asObject(l).enabled === true)
          .map((l) => asString(asObject(l).category)),
      );
      const clash = logs.find((l) => l.enabled === true && theirs.has(l.category as string));
      if (clash !== undefined) {
        return fail(
          400,
          'BadRequest',
          `Data sinks can't be reused in different settings on the same category for the same resource: '${String(clash.category)}' already goes to this workspace in '${sibling.name}'.`,
        );
      }
    }
    return {
      ok: true,
      status: 200,
      body: {
        properties: compact({
          workspaceId,
          storageAccountId: asString(p.storageAccountId),
          eventHubAuthorizationRuleId: asString(p.eventHubAuthorizationRuleId),
          eventHubName: asString(p.eventHubName),
          marketplacePartnerId: asString(p.marketplacePartnerId),
          metrics: Array.isArray(p.metrics) ? p.metrics : [],
          logs,
          logAnalyticsDestinationType: asString(p.logAnalyticsDestinationType),
        }),
      },
    };
  },
};

/** Tables every new workspace has that the emulator models (diagnostic settings write `AzureDiagnostics`). */
const WORKSPACE_TABLES = ['AzureDiagnostics'];

/** Days a workspace keeps data when nobody says otherwise (Log Analytics' default). */
const DEFAULT_WORKSPACE_RETENTION_DAYS = 30;

/**
 * Log Analytics workspaces (Workspaces.json, 2023-09-01): retention 30-730 days (the workspace
 * default for its tables). PUT is long-running, PATCH synchronous. Deleting one is not modelled as a
 * soft delete.
 */
const workspaces: ResourceTypeSpec = {
  type: WORKSPACES_TYPE,
  apiVersions: [API_VERSIONS.logAnalytics],
  writes: { PUT: 'async', PATCH: 'sync', DELETE: 'sync' },
  tracked: true,
  write(ctx, { target, body, existing }) {
    if (!/^[a-zA-Z0-9][a-zA-Z0-9-]{2,61}[a-zA-Z0-9]$/.test(target.name)) {
      return fail(
        400,
        'InvalidWorkspaceName',
        `The workspace name '${target.name}' is invalid: 4-63 letters, digits and hyphens.`,
      );
    }
    const p = props(body);
    const old = props(existing?.body ?? {});
    const retention = asNumber(p.retentionInDays) ?? DEFAULT_WORKSPACE_RETENTION_DAYS;
    if (!Number.isInteger(retention) || retention < 30 || retention > 730) {
      return fail(400, 'InvalidParameter', `retentionInDays must be 30-730, got ${retention}.`);
    }
    const now = ctx.clock.now().toISOString();
    return {
      ok: true,
      body: {
        location: body.location,
        tags: body.tags,
        properties: compact({
          customerId: asString(old.customerId) ?? randomUUID(),
          sku: { name: asString(asObject(p.sku).name) ?? 'PerGB2018' },
          retentionInDays: retention,
          publicNetworkAccessForIngestion: asString(p.publicNetworkAccessForIngestion) ?? 'Enabled',
          publicNetworkAccessForQuery: asString(p.publicNetworkAccessForQuery) ?? 'Enabled',
          createdDate: asString(old.createdDate) ?? now,
          modifiedDate: now,
        }),
      },
    };
  },
  afterCommit(_ctx, workspace, created) {
    if (!created) return;
    for (const table of WORKSPACE_TABLES) putTable(_ctx.store, workspace.id, table);
  },
};

function putTable(store: Store, workspaceId: string, name: string): void {
  const id = `${workspaceId}/tables/${name}`;
  putResource(store, {
    id,
    type: TABLES_TYPE,
    name,
    state: 'Succeeded',
    operationId: undefined,
    body: {
      id,
      name,
      type: TABLES_TYPE,
      properties: { retentionInDays: -1, totalRetentionInDays: -1, plan: 'Analytics', schema: { name, tableType: 'Microsoft' } },
    },
  });
}

/**
 * A workspace's tables (Tables.json, 2023-09-01): interactive retention 4-730 days and total
 * retention (with long-term, "archive") up to 4383, each -1 for the default (the workspace's
 * retention; total = interactive). GET reports the effective values, as Azure does. Writes are
 * long-running. Creating custom tables is not modelled.
 */
const tables: ResourceTypeSpec = {
  type: TABLES_TYPE,
  apiVersions: [API_VERSIONS.logAnalytics],
  writes: { PUT: 'async', PATCH: 'async' },
  tracked: false,
  write(_ctx, { target, body, existing }) {
    if (existing === undefined) return fail(400, 'InvalidParameter', `Creating the table '${target.name}' is not modelled.`);
    const p = props(body);
    const retention = asNumber(p.retentionInDays) ?? -1;
    const total = asNumber(p.totalRetentionInDays) ?? -1;
    if (retention !== -1 && (!Number.isInteger(retention) || retention < 4 || retention > 730)) {
      return fail(400, 'InvalidParameter', `retentionInDays must be -1 (the workspace's) or 4-730, got ${retention}.`);
    }
    if (total !== -1 && (!Number.isInteger(total) || total < 4 || total > 4383)) {
      return fail(400, 'InvalidParameter', `totalRetentionInDays must be -1 (default) or 4-4383, got ${total}.`);
    }
    if (total !== -1 && retention !== -1 && total < retention) {
      return fail(400, 'InvalidParameter', 'totalRetentionInDays cannot be shorter than retentionInDays.');
    }
    return {
      ok: true,
      body: {
        properties: {
          retentionInDays: retention,
          totalRetentionInDays: total,
          plan: asString(p.plan) ?? 'Analytics',
          schema: isObject(p.schema) ? p.schema : { name: target.name, tableType: 'Microsoft' },
        },
      },
    };
  },
  render(ctx, table, body) {
    const own = props(table.body);
    const workspace = getResource(ctx.store, table.id.split('/').slice(0, -2).join('/'));
    const workspaceDays = asNumber(props(workspace?.body ?? {}).retentionInDays) ?? DEFAULT_WORKSPACE_RETENTION_DAYS;
    const ownRetention = asNumber(own.retentionInDays) ?? -1;
    const ownTotal = asNumber(own.totalRetentionInDays) ?? -1;
    const retention = ownRetention === -1 ? workspaceDays : ownRetention;
    const total = ownTotal === -1 ? retention : ownTotal;
    Object.assign(asObject(body.properties), {
      retentionInDays: retention,
      totalRetentionInDays: total,
      archiveRetentionInDays: total - retention,
      retentionInDaysAsDefault: ownRetention === -1,
      totalRetentionInDaysAsDefault: ownTotal === -1,
    });
  },
};

export function monitoringTypeSpecs(): ResourceTypeSpec[] {
  return [diagnosticSettings, workspaces, tables];
}

/** The audit workspace the platform team set up before installing the operator. */
export const PLATFORM_AUDIT_WORKSPACE = { resourceGroup: 'platform-monitoring', name: 'platform-audit', location: 'westeurope' };

export function platformAuditWorkspaceId(subscriptionId: string): string {
  const w = PLATFORM_AUDIT_WORKSPACE;
  return `/subscriptions/${subscriptionId}/resourceGroups/${w.resourceGroup}/providers/${WORKSPACES_TYPE}/${w.name}`;
}

/**
 * Create the platform's audit workspace (its resource group, the workspace keeping data
 * `retentionInDays`, its tables), as the operator's prerequisites ask: it is not the operator's to
 * create. Written straight into the store, so it is no request and no write in the log.
 */
export function seedPlatformAuditWorkspace(
  store: Store,
  clock: ControllableClock,
  subscriptionId: string,
  retentionInDays: number,
): string {
  const w = PLATFORM_AUDIT_WORKSPACE;
  const rgId = `/subscriptions/${subscriptionId}/resourceGroups/${w.resourceGroup}`;
  const id = platformAuditWorkspaceId(subscriptionId);
  const put = (rid: string, type: string, name: string, body: JsonObject) =>
    putResource(store, {
      id: rid,
      type,
      name,
      state: 'Succeeded',
      operationId: undefined,
      body: { id: rid, name, type, ...body },
    });
  put(rgId, 'Microsoft.Resources/resourceGroups', w.resourceGroup, { location: w.location, tags: {}, properties: {} });
  const now = clock.now().toISOString();
  put(id, WORKSPACES_TYPE, w.name, {
    location: w.location,
    tags: {},
    properties: {
      customerId: randomUUID(),
      sku: { name: 'PerGB2018' },
      retentionInDays,
      publicNetworkAccessForIngestion: 'Enabled',
      publicNetworkAccessForQuery: 'Enabled',
      createdDate: now,
      modifiedDate: now,
    },
  });
  for (const table of WORKSPACE_TABLES) putTable(store, id, table);
  return id;
}
