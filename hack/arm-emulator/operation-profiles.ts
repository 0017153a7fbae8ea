/**
 * How long each kind of ARM write takes in the emulator: the `instant` profile (every long-running
 * operation ~5 ms, synchronous writes answered at once) and the `realistic` profile (figures from
 * Microsoft's documentation or well-sourced reports, see README.md "Operation durations"), scaled by a
 * time factor. The table is exported so the benchmark can compute a physical floor (the longest chain
 * of dependent operations of one tenant).
 */

export type OperationProfileName = 'instant' | 'realistic';

/** One kind of write, as the emulator times it. */
export type OperationKind =
  | 'resourceGroup.create'
  | 'resourceGroup.update'
  | 'resourceGroup.delete'
  | 'identity.write'
  | 'identity.delete'
  | 'federatedCredential.write'
  | 'vault.create'
  | 'vault.update'
  | 'vault.delete'
  | 'key.create'
  | 'roleAssignment.write'
  | 'sqlServer.create'
  | 'sqlServer.update'
  | 'sqlServer.delete'
  | 'database.create'
  | 'database.scale'
  | 'database.delete'
  | 'database.pointInTimeRestore'
  | 'transparentDataEncryption.write'
  | 'encryptionProtector.write'
  | 'serverKey.write'
  | 'entraAuthentication.write'
  | 'retentionPolicy.write'
  | 'wafPolicy.write'
  | 'wafPolicy.delete'
  | 'privateEndpoint.create'
  | 'privateEndpoint.update'
  | 'privateEndpoint.delete'
  | 'privateDnsZoneGroup.write'
  | 'privateDnsZoneGroup.delete'
  | 'sqlAuditing.write'
  | 'threatProtection.write'
  | 'diagnosticSetting.write'
  | 'workspace.write'
  | 'workspaceTable.write'
  | 'agentPool.create'
  | 'agentPool.update'
  | 'agentPool.delete'
  | 'failoverGroup.create'
  | 'failoverGroup.update'
  | 'failoverGroup.delete'
  | 'failoverGroup.plannedFailover'
  | 'failoverGroup.forcedFailover'
  | 'geoSecondary.seeding';

export interface OperationDuration {
  /** Realistic duration in milliseconds (before the time factor). */
  realisticMs: number;
  /** Where the figure comes from (a URL, or "estimate: why"). */
  source: string;
}

const SQL_SCALE_DOC = 'https://learn.microsoft.com/azure/azure-sql/database/single-database-scale#latency';
const ESTIMATE = 'estimate (no published figure found)';

/**
 * Realistic durations per operation kind. Figures are typical, not worst cases; README.md lists each
 * source with what it says.
 */
export const REALISTIC_DURATIONS: Readonly<Record<OperationKind, OperationDuration>> = {
  'resourceGroup.create': {
    realisticMs: 2_000,
    source:
      'https://github.com/hashicorp/terraform-provider-azurerm/issues/7895 (log: resource group "Creation complete after 2s")',
  },
  'resourceGroup.update': { realisticMs: 1_000, source: `${ESTIMATE}: a synchronous ARM write` },
  'resourceGroup.delete': {
    realisticMs: 90_000,
    source: `${ESTIMATE}: deletes every resource in the group, so at least the longest child delete (SQL server)`,
  },
  'identity.write': {
    realisticMs: 1_000,
    source: 'guide §5/§9: user-assigned identities are created synchronously, "near-immediate"',
  },
  'identity.delete': { realisticMs: 1_000, source: 'synchronous ARM delete' },
  'federatedCredential.write': {
    realisticMs: 1_000,
    source: `${ESTIMATE}: synchronous; concurrent writes to one identity get 409 (Azure/bicep#10928), so writes take measurable time`,
  },
  'vault.create': {
    realisticMs: 20_000,
    source: `${ESTIMATE}: a long-running operation that registers the vault DNS name (provisioningState RegisteringDns)`,
  },
  'vault.update': { realisticMs: 2_000, source: `${ESTIMATE}: synchronous PATCH` },
  'vault.delete': { realisticMs: 2_000, source: `${ESTIMATE}: synchronous soft delete` },
  'key.create': { realisticMs: 1_000, source: `${ESTIMATE}: synchronous data-plane key creation behind ARM` },
  'roleAssignment.write': {
    realisticMs: 1_000,
    source: 'synchronous ARM write; the propagation delay is modelled separately (rbacPropagationDelayMs)',
  },
  'sqlServer.create': {
    realisticMs: 90_000,
    source:
      'https://github.com/microsoft/azure-pipelines-extensions/issues/840 (log: azurerm_sql_server "Still creating... [40s elapsed]" and beyond); issue #13: creates take one to several minutes',
  },
  'sqlServer.update': { realisticMs: 30_000, source: `${ESTIMATE}: a server PATCH (TLS, network access, identity)` },
  'sqlServer.delete': { realisticMs: 60_000, source: `${ESTIMATE}: drops every database first` },
  'database.create': {
    realisticMs: 120_000,
    source: `issue #13 ("real Azure SQL server and database creates take minutes"); ${SQL_SCALE_DOC} (a new compute instance is created)`,
  },
  'database.scale': {
    realisticMs: 180_000,
    source: `${SQL_SCALE_DOC}: within General Purpose "latency is constant ... typically less than 5 minutes"`,
  },
  'database.delete': { realisticMs: 30_000, source: `${ESTIMATE}: takes the last backup before the drop` },
  'database.pointInTimeRestore': {
    realisticMs: 600_000,
    source:
      'https://learn.microsoft.com/azure/azure-sql/database/recovery-using-backups (restore time depends on size, log to replay, concurrent restores); https://techcommunity.microsoft.com/t5/modernization-best-practices-and/azure-sql-managed-instance-point-in-time-restore-service-level/ba-p/4129726 (SLE from telemetry: minutes for small databases)',
  },
  'transparentDataEncryption.write': { realisticMs: 10_000, source: `${ESTIMATE}: metadata change on a small database` },
  'encryptionProtector.write': {
    realisticMs: 30_000,
    source: `${ESTIMATE}: re-wraps every database encryption key on the server`,
  },
  'serverKey.write': { realisticMs: 10_000, source: `${ESTIMATE}: validates the key against the vault` },
  'entraAuthentication.write': { realisticMs: 10_000, source: ESTIMATE },
  'retentionPolicy.write': { realisticMs: 10_000, source: ESTIMATE },
  'wafPolicy.write': {
    realisticMs: 10_000,
    source: `${ESTIMATE}: Network resource provider write (answered synchronously by the emulator)`,
  },
  'wafPolicy.delete': { realisticMs: 10_000, source: ESTIMATE },
  'privateEndpoint.create': {
    realisticMs: 60_000,
    source:
      'https://github.com/hashicorp/terraform-provider-azurerm/pull/28112 (log: azurerm_private_endpoint "Still creating... [29s elapsed]" and beyond); about a minute (issue #16): a network interface is created and the connection approved',
  },
  'privateEndpoint.update': { realisticMs: 10_000, source: `${ESTIMATE}: a tags-only PUT` },
  'privateEndpoint.delete': { realisticMs: 30_000, source: `${ESTIMATE}: removes the network interface and the connection` },
  'privateDnsZoneGroup.write': { realisticMs: 15_000, source: `${ESTIMATE}: writes one A record per zone` },
  'privateDnsZoneGroup.delete': { realisticMs: 10_000, source: ESTIMATE },
  'sqlAuditing.write': {
    realisticMs: 10_000,
    source: `${ESTIMATE}: a long-running server setting (409 ServerBlobAuditingPolicyInProgress while one runs)`,
  },
  'threatProtection.write': { realisticMs: 10_000, source: `${ESTIMATE}: a long-running server setting` },
  'diagnosticSetting.write': { realisticMs: 1_000, source: `${ESTIMATE}: a synchronous Azure Monitor write` },
  'workspace.write': { realisticMs: 10_000, source: ESTIMATE },
  'workspaceTable.write': { realisticMs: 10_000, source: ESTIMATE },
  'agentPool.create': {
    realisticMs: 240_000,
    source:
      'https://learn.microsoft.com/azure/aks/create-node-pools ("It takes a few minutes for the node pool to be created"): 4 minutes, VMSS nodes provisioned and joined',
  },
  'agentPool.update': { realisticMs: 120_000, source: `${ESTIMATE}: a scale of a running pool, nodes added or drained` },
  'agentPool.delete': {
    realisticMs: 180_000,
    source: `${ESTIMATE}: nodes cordoned, drained and the scale set deleted ("a few minutes" as for create)`,
  },
  'failoverGroup.create': {
    realisticMs: 60_000,
    source: `${ESTIMATE}: the group and its two listener DNS records; the secondaries then seed (geoSecondary.seeding)`,
  },
  'failoverGroup.update': { realisticMs: 30_000, source: ESTIMATE },
  'failoverGroup.delete': { realisticMs: 30_000, source: `${ESTIMATE}: removes the listener records; databases stay replicated` },
  'failoverGroup.plannedFailover': {
    realisticMs: 60_000,
    source:
      'https://learn.microsoft.com/azure/azure-sql/database/business-continuity-high-availability-disaster-recover-hadr-overview (geo-replication and failover groups: RTO 60 s); https://learn.microsoft.com/powershell/module/az.sql/switch-azsqldatabasefailovergroup (a planned failover "waits until both roles are switched")',
  },
  'failoverGroup.forcedFailover': {
    realisticMs: 30_000,
    source:
      'https://learn.microsoft.com/powershell/module/az.sql/switch-azsqldatabasefailovergroup (with AllowDataLoss the command "only waits until the new primary assumes its role"): half the planned figure, an estimate',
  },
  'geoSecondary.seeding': {
    realisticMs: 300_000,
    source:
      'https://learn.microsoft.com/azure/azure-sql/database/active-geo-replication-overview (seeding copies the whole database; its time depends on size and network): 5 minutes for a small database, an estimate',
  },
};

/** What the instant profile gives a long-running operation (what the emulator always did). */
export const INSTANT_OPERATION_MS = 5;

/** The operation kind of a write, from its resource type, method and what it does. */
export function operationKind(
  resourceType: string,
  method: string,
  facts: { created: boolean; pointInTimeRestore?: boolean; failover?: 'Planned' | 'Forced' },
): OperationKind | undefined {
  const m = method.toUpperCase();
  const del = m === 'DELETE';
  switch (resourceType.toLowerCase()) {
    case 'microsoft.resources/resourcegroups':
      return del ? 'resourceGroup.delete' : facts.created ? 'resourceGroup.create' : 'resourceGroup.update';
    case 'microsoft.managedidentity/userassignedidentities':
      return del ? 'identity.delete' : 'identity.write';
    case 'microsoft.managedidentity/userassignedidentities/federatedidentitycredentials':
      return 'federatedCredential.write';
    case 'microsoft.keyvault/vaults':
      return del ? 'vault.delete' : facts.created ? 'vault.create' : 'vault.update';
    case 'microsoft.keyvault/vaults/keys':
      return 'key.create';
    case 'microsoft.authorization/roleassignments':
    case 'microsoft.authorization/roleassignmentschedulerequests':
      return 'roleAssignment.write';
    case 'microsoft.sql/servers':
      return del ? 'sqlServer.delete' : facts.created ? 'sqlServer.create' : 'sqlServer.update';
    case 'microsoft.sql/servers/databases':
      if (del) return 'database.delete';
      if (facts.pointInTimeRestore) return 'database.pointInTimeRestore';
      return facts.created ? 'database.create' : 'database.scale';
    case 'microsoft.sql/servers/databases/transparentdataencryption':
      return 'transparentDataEncryption.write';
    case 'microsoft.sql/servers/encryptionprotector':
      return 'encryptionProtector.write';
    case 'microsoft.sql/servers/keys':
      return 'serverKey.write';
    case 'microsoft.sql/servers/azureadonlyauthentications':
    case 'microsoft.sql/servers/administrators':
      return 'entraAuthentication.write';
    case 'microsoft.sql/servers/databases/backupshorttermretentionpolicies':
    case 'microsoft.sql/servers/databases/backuplongtermretentionpolicies':
      return 'retentionPolicy.write';
    case 'microsoft.network/applicationgatewaywebapplicationfirewallpolicies':
      return del ? 'wafPolicy.delete' : 'wafPolicy.write';
    case 'microsoft.network/privateendpoints':
      return del ? 'privateEndpoint.delete' : facts.created ? 'privateEndpoint.create' : 'privateEndpoint.update';
    case 'microsoft.network/privateendpoints/privatednszonegroups':
      return del ? 'privateDnsZoneGroup.delete' : 'privateDnsZoneGroup.write';
    case 'microsoft.sql/servers/auditingsettings':
      return 'sqlAuditing.write';
    case 'microsoft.sql/servers/advancedthreatprotectionsettings':
      return 'threatProtection.write';
    case 'microsoft.insights/diagnosticsettings':
      return 'diagnosticSetting.write';
    case 'microsoft.operationalinsights/workspaces':
      return 'workspace.write';
    case 'microsoft.operationalinsights/workspaces/tables':
      return 'workspaceTable.write';
    case 'microsoft.containerservice/managedclusters/agentpools':
      return del ? 'agentPool.delete' : facts.created ? 'agentPool.create' : 'agentPool.update';
    case 'microsoft.sql/servers/failovergroups':
      if (facts.failover !== undefined)
        return facts.failover === 'Planned' ? 'failoverGroup.plannedFailover' : 'failoverGroup.forcedFailover';
      return del ? 'failoverGroup.delete' : facts.created ? 'failoverGroup.create' : 'failoverGroup.update';
    default:
      return undefined;
  }
}

/** The profile in force: which table, and how much to scale it. */
export interface OperationTiming {
  profile: OperationProfileName;
  /** Multiplies realistic durations (0.01: a 3-minute create takes 1.8 s). Ignored by `instant`. */
  timeFactor: number;
}

/**
 * Real milliseconds a write of this kind takes. `longRunning` says whether the emulator answers it as
 * a long-running operation (instant: 5 ms) or synchronously (instant: 0, answered at once).
 */
export function operationDurationMs(timing: OperationTiming, kind: OperationKind | undefined, longRunning: boolean): number {
  if (timing.profile === 'instant' || kind === undefined) return longRunning ? INSTANT_OPERATION_MS : 0;
  return Math.round(REALISTIC_DURATIONS[kind].realisticMs * timing.timeFactor);
}

/** Parse a profile name (CLI, JSON), or throw a clear error. */
export function parseOperationProfile(value: string): OperationProfileName {
  if (value === 'instant' || value === 'realistic') return value;
  throw new Error(`unknown operation profile '${value}': use 'instant' or 'realistic'`);
}
