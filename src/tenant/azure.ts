/**
 * What a Tenant owns in Azure, as data: the one place that decides a tenant's Azure resources —
 * the SQL SKU of its tier, the backup redundancy its BackupPolicy asks for (after the residency
 * decision allowed it), the WAF rules of its front door, the names, the tags, and which resource
 * waits for which. Pure functions: the ARM engine (src/azure/engine.ts) runs what they return.
 *
 * SQL SKU: `config.tiers[tier].sql`, read here and nowhere else; zone redundancy
 * (`decideZoneRedundancy`) is decided here too, from the same SKU.
 */
import type { Tenant } from '../api/v1alpha1/tenant.ts';
import type { ArmBody } from '../azure/arm-client.ts';
import { type ArmResource, type ExistingResource, type Outputs, resource } from '../azure/engine.ts';
import { BUILT_IN_ROLES, roleAssignmentKind } from '../azure/kinds/authorization.ts';
import { AZURE_TAGS, props, str, type Tags } from '../azure/kinds/common.ts';
import { agentPoolId, agentPoolKind, managedClusterId } from '../azure/kinds/container-service.ts';
import {
  federatedCredentialKind,
  identityId,
  identityKind,
  identityOutputs,
  serviceAccountSubject,
} from '../azure/kinds/identity.ts';
import { type KeyRotation, vaultId, vaultKeyKind, vaultKind } from '../azure/kinds/key-vault.ts';
import { AUDIT_TABLE, auditRetentionKind, diagnosticSettingKind } from '../azure/kinds/monitor.ts';
import { type WafCustomRuleSpec, wafPolicyId, wafPolicyKind } from '../azure/kinds/network.ts';
import { dnsZoneConfigName, dnsZoneGroupKind, privateEndpointId, privateEndpointKind } from '../azure/kinds/private-link.ts';
import { resourceGroupId, resourceGroupKind } from '../azure/kinds/resources.ts';
import {
  type BackupStorageRedundancy,
  type DatabaseSku,
  type EntraAdmin,
  type LongTermRetention,
  type ShortTermRetention,
  serverKeyName,
  skuSupportsZoneRedundancy,
  sqlDatabaseKind,
  sqlEncryptionProtectorKind,
  sqlEntraAdminKind,
  sqlEntraOnlyKind,
  sqlFailoverGroupKind,
  sqlLongTermRetentionKind,
  sqlServerAuditingKind,
  sqlServerId,
  sqlServerKeyKind,
  sqlServerKind,
  sqlServerOutputs,
  sqlShortTermRetentionKind,
  sqlTdeKind,
  sqlThreatProtectionKind,
} from '../azure/kinds/sql.ts';
import type { OperatorConfig } from '../config.ts';
import { federatedCredentialName, geoReplicationNames, type TenantAzureNames, tenantAzureNames } from './azure-names.ts';
import { buildWafCustomRules } from './front-door.ts';
import { tenantNamespaceName } from './labels.ts';
import { type NodePoolPlan, nodePoolName, nodePoolPlan } from './node-pool.ts';
import type { SqlPlacement } from './placement.ts';
import { checkResidency } from './residency.ts';
import { APP_SERVICE_ACCOUNT } from './workload.ts';

type AzureConfig = NonNullable<OperatorConfig['azure']>;

/** One WAF policy per tenant resource group. */
export const WAF_POLICY_NAME = 'tenant-waf';

/** The private endpoints of a tenant's resource group (names are unique per group only, so fixed). */
export const PRIVATE_ENDPOINT_NAMES = { sql: 'pe-sql', keyVault: 'pe-keyvault' } as const;

/** Azure allows one DNS zone group per private endpoint; named as the portal names it. */
export const DNS_ZONE_GROUP_NAME = 'default';

/**
 * Where a tenant's private endpoints go, or what the configuration lacks for them (the database
 * and vault are then created all the same, and their conditions say the platform team must act).
 */
export type PrivateEndpointPlan =
  | { configured: true; subnetId: string; dnsZones: { sql: string; keyVault: string } }
  | { configured: false; missing: string[] };
/** The diagnostic setting that sends a tenant resource's audit logs to the audit workspace. */
export const AUDIT_DIAGNOSTIC_SETTING = 'tenant-operator-audit';

/**
 * Long-term retention made sure of before a database is deleted (deletionPolicy Delete) when its
 * policy keeps none: the promise's "12 weeks weekly".
 */
export const DEFAULT_FINAL_BACKUP_RETENTION: LongTermRetention = {
  weeklyRetention: 'P12W',
  monthlyRetention: 'PT0S',
  yearlyRetention: 'PT0S',
  weekOfYear: 1,
};

/** Backup settings the tenant's resolved BackupPolicy asks for (undefined when no policy is found). */
export interface BackupPlan {
  redundancy: BackupStorageRedundancy;
  shortTerm: ShortTermRetention;
  longTerm: LongTermRetention;
  /** The policy asks for a geo-secondary (`geoReplication: Enabled`). */
  geoReplication?: boolean | undefined;
}

/** The reason of a tenant's `GeoReplicated` condition, as decided before any I/O. */
export type GeoReplicationReason =
  | 'NotRequested'
  | 'NoPairedRegion'
  | 'PairedRegionOutsideResidency'
  | 'SharedServerNotReplicated'
  | 'Replicating';

export interface GeoReplicationDecision {
  enabled: boolean;
  reason: GeoReplicationReason;
  message: string;
  /** The region the secondary lives in (the tenant region's pair), when there is one. */
  partnerRegion?: string | undefined;
}

/**
 * Pure: whether the tenant gets a geo-secondary, and where. Its BackupPolicy must ask for it; the
 * secondary goes to the region Azure pairs with the tenant's, and only when that region is in the
 * tenant's residency zone (data never leaves the zone, not even as a replica).
 */
export function decideGeoReplication(
  region: string,
  requested: boolean,
  zone: { name: string; regions: readonly string[] } | undefined,
  regionPairs: Readonly<Record<string, string>>,
): GeoReplicationDecision {
  if (!requested)
    return { enabled: false, reason: 'NotRequested', message: 'The tenant’s BackupPolicy does not ask for geo-replication.' };
  const partner = regionPairs[region];
  if (partner === undefined)
    return {
      enabled: false,
      reason: 'NoPairedRegion',
      message: `Not geo-replicated: Azure pairs region ${region} with no other region (azure.regionPairs).`,
    };
  if (zone === undefined || !zone.regions.includes(partner))
    return {
      enabled: false,
      reason: 'PairedRegionOutsideResidency',
      partnerRegion: partner,
      message: `Not geo-replicated: ${region}’s paired region ${partner} is outside data-residency zone ${zone?.name ?? '(none)'}; no secondary is created. Choose a BackupPolicy without geoReplication, or ask the platform team.`,
    };
  return {
    enabled: true,
    reason: 'Replicating',
    partnerRegion: partner,
    message: `The database is geo-replicated to ${partner} (${region}’s paired region) in failover group listeners the application uses.`,
  };
}

/** The tenant's geo-replication decision from its spec, its policy's request and the configuration. */
export function tenantGeoReplication(tenant: Tenant, config: OperatorConfig, azure: AzureConfig, requested: boolean) {
  const verdict = checkResidency(tenant.spec, config);
  const zone = verdict.allowed ? { name: verdict.zone, regions: config.residency.zones[verdict.zone]?.regions ?? [] } : undefined;
  return decideGeoReplication(tenant.spec.region, requested, zone, azure.regionPairs);
}

/**
 * Why a tenant's database is zone-redundant or not: the reason of its `ZoneRedundant` condition
 * once Azure agrees. Only Production is promised 99.9 %: QA and Development stay in one zone.
 */
export type ZoneRedundancyReason = 'AcrossAvailabilityZones' | 'NotProduction' | 'NoAvailabilityZones' | 'SkuNotZoneRedundant';

export interface ZoneRedundancyDecision {
  zoneRedundant: boolean;
  reason: ZoneRedundancyReason;
  message: string;
}

/**
 * Pure: whether the tenant's database should be zone-redundant: Production, in a region with
 * availability zones, on a SKU Azure offers zone redundancy for.
 */
export function decideZoneRedundancy(
  tenant: Pick<Tenant, 'spec'>,
  sku: DatabaseSku,
  zoneRegions: readonly string[],
): ZoneRedundancyDecision {
  const { environment, region } = tenant.spec;
  if (environment !== 'Production')
    return {
      zoneRedundant: false,
      reason: 'NotProduction',
      message: `Not zone-redundant: only Production databases are (this is ${environment}).`,
    };
  if (!zoneRegions.includes(region))
    return {
      zoneRedundant: false,
      reason: 'NoAvailabilityZones',
      message: `Not zone-redundant: region ${region} has no availability zones.`,
    };
  if (!skuSupportsZoneRedundancy(sku))
    return {
      zoneRedundant: false,
      reason: 'SkuNotZoneRedundant',
      message: `Not zone-redundant: Azure offers no zone redundancy for SKU ${sku.name} (${sku.tier ?? 'DTU'}); configure the tier with a vCore or Premium SKU.`,
    };
  return {
    zoneRedundant: true,
    reason: 'AcrossAvailabilityZones',
    message: `The database is zone-redundant: its replicas span the availability zones of ${region}.`,
  };
}

/** The desired zone redundancy of a tenant as its tier is configured (the gate compares it with what runs). */
export function tenantZoneRedundancy(tenant: Tenant, config: OperatorConfig, azure: AzureConfig): ZoneRedundancyDecision {
  const sku = config.tiers[tenant.spec.tier].sql;
  return decideZoneRedundancy(
    tenant,
    { name: sku.skuName, tier: sku.tier, capacity: sku.capacity },
    azure.availabilityZoneRegions,
  );
}

/** Everything decided about one tenant's Azure side, before any I/O. */
export interface TenantAzurePlan {
  subscriptionId: string;
  names: TenantAzureNames;
  /** Where the data lives (the residency decision allowed it). */
  region: string;
  /** Where the WAF policy lives: the front door's region. */
  wafRegion: string;
  /** How long a new role assignment takes to reach the data plane (before the server key is tried). */
  rbacPropagationMs: number;
  tags: Tags;
  sqlSku: DatabaseSku;
  /**
   * Whether the database is zone-redundant, and why; `held` while turning it on or off waits for
   * the maintenance window (the change ends with a brief disconnect): a new database is created as
   * decided, an existing one keeps what it has.
   */
  zoneRedundancy: ZoneRedundancyDecision & { held: boolean };
  entraAdmin: EntraAdmin;
  directoryTenantId: string;
  keyVaultPublicNetworkAccess: boolean;
  identity: { namespace: string; serviceAccountName: string; oidcIssuer: string };
  waf: { mode: 'Prevention' | 'Detection'; customRules: WafCustomRuleSpec[] };
  /**
   * Undefined when the tenant's BackupPolicy is missing or invalid: the database is then neither
   * created nor changed (held with a reason), never provisioned with a guessed redundancy.
   */
  backup: BackupPlan | undefined;
  privateEndpoints: PrivateEndpointPlan;
  /** Where SQL auditing and Key Vault `AuditEvent` logs go, and how long they must be kept. */
  audit: { workspaceId: string; retentionDays: number };
  /** The encryption key's rotation policy. */
  keyRotation: KeyRotation;
  /** The tenant's own AKS node pool (isolation Dedicated), or why it has none (node-pool.ts). */
  nodePool: NodePoolPlan;
  /**
   * Set when the tenant's database lives on a shared server of its region and environment
   * (src/tenant/placement.ts); undefined for a server of its own. Undefined keeps the plan, and so
   * its fingerprint, exactly what it was before placement existed.
   */
  sharedSql?: SharedSqlServer | undefined;
  /** Whether (and where) the database has a geo-secondary in a failover group. */
  geoReplication: GeoReplicationDecision;
  /** The secondary server and failover group names (used only when geo-replication is enabled). */
  geoNames: { sqlServer: string; failoverGroup: string };
  /** Private endpoint placement of the secondary server, in the paired region's subnet. */
  geoPrivateEndpoints: PrivateEndpointPlan | undefined;
}

/** A shared SQL server: in a platform resource group, tagged with no tenant. */
export interface SharedSqlServer {
  resourceGroup: string;
  name: string;
  tags: Tags;
}

/** Tags of the shared pool (its resource group and servers): the platform's, never a tenant's. */
export function sharedPoolTags(environment: string, azure: AzureConfig): Tags {
  return {
    ...azure.tags,
    [AZURE_TAGS.managedBy]: 'tenant-operator',
    [AZURE_TAGS.environment]: environment.toLowerCase(),
    [AZURE_TAGS.instance]: azure.instanceName,
  };
}

/** Pure: the subnet of the tenant's region and the DNS zones, or the configuration fields missing. */
export function privateEndpointPlan(region: string, azure: AzureConfig): PrivateEndpointPlan {
  const subnetId = azure.privateEndpoints.subnets[region];
  const { sql, keyVault } = azure.privateDnsZones;
  if (subnetId !== undefined && sql !== undefined && keyVault !== undefined)
    return { configured: true, subnetId, dnsZones: { sql, keyVault } };
  return {
    configured: false,
    missing: [
      ...(subnetId === undefined ? [`azure.privateEndpoints.subnets.${region}`] : []),
      ...(sql === undefined ? ['azure.privateDnsZones.sql'] : []),
      ...(keyVault === undefined ? ['azure.privateDnsZones.keyVault'] : []),
    ],
  };
}

export function tenantNames(tenant: Tenant, azure: AzureConfig): TenantAzureNames {
  return tenantAzureNames(
    tenant.metadata.name,
    tenant.spec.environment.toLowerCase(),
    azure.nameSalt === undefined ? {} : { salt: azure.nameSalt },
  );
}

/** Tags every resource of a tenant environment carries. */
export function tenantAzureTags(tenant: Tenant, azure: AzureConfig): Tags {
  return {
    ...azure.tags,
    [AZURE_TAGS.managedBy]: 'tenant-operator',
    [AZURE_TAGS.tenant]: tenant.metadata.name,
    [AZURE_TAGS.environment]: tenant.spec.environment.toLowerCase(),
    [AZURE_TAGS.instance]: azure.instanceName,
  };
}

/**
 * Pure: the plan for a tenant whose residency was allowed, given its resolved backup settings.
 * `zoneRedundancyHeld`: the maintenance gate holds a change of zone redundancy (see
 * src/maintenance/gate.ts).
 */
export function tenantAzurePlan(
  tenant: Tenant,
  config: OperatorConfig,
  azure: AzureConfig,
  backup: BackupPlan | undefined,
  zoneRedundancyHeld = false,
  placement?: SqlPlacement | undefined,
): TenantAzurePlan {
  const sku = config.tiers[tenant.spec.tier].sql;
  const shared = placement?.sqlServer.shared === true ? placement.sqlServer : undefined;
  return {
    subscriptionId: placement?.subscriptionId ?? azure.subscriptionId,
    names: tenantNames(tenant, azure),
    region: tenant.spec.region,
    wafRegion: azure.frontDoorRegion ?? tenant.spec.region,
    rbacPropagationMs: azure.rbacPropagationSeconds * 1000,
    tags: tenantAzureTags(tenant, azure),
    sqlSku: { name: sku.skuName, tier: sku.tier, capacity: sku.capacity },
    zoneRedundancy: { ...tenantZoneRedundancy(tenant, config, azure), held: zoneRedundancyHeld },
    entraAdmin: {
      login: azure.sqlAdminGroup.login,
      objectId: azure.sqlAdminGroup.objectId,
      tenantId: azure.directoryTenantId,
      principalType: 'Group',
    },
    directoryTenantId: azure.directoryTenantId,
    keyVaultPublicNetworkAccess: azure.keyVaultPublicNetworkAccess,
    identity: {
      namespace: tenantNamespaceName(tenant.metadata.name, tenant.spec.environment, config),
      serviceAccountName: APP_SERVICE_ACCOUNT,
      oidcIssuer: azure.oidcIssuer,
    },
    waf: { mode: azure.wafMode, customRules: buildWafCustomRules(tenant, config.uptime.proberSourceCidrs) },
    backup,
    privateEndpoints: privateEndpointPlan(tenant.spec.region, azure),
    audit: { workspaceId: azure.audit.logAnalyticsWorkspaceId, retentionDays: azure.audit.retentionDays },
    keyRotation: { ...azure.keyRotation },
    nodePool: nodePoolPlan(tenant, azure, tenantAzureTags(tenant, azure)),
    ...(shared
      ? {
          sharedSql: {
            resourceGroup: shared.resourceGroup,
            name: shared.name,
            tags: sharedPoolTags(tenant.spec.environment, azure),
          },
        }
      : {}),
    ...geoPlan(tenant, config, azure, backup, shared !== undefined),
  };
}

/** Where the tenant's SQL server is: the shared one it was placed on, else its own. */
export type SqlServerLocation = Pick<SharedSqlServer, 'resourceGroup' | 'name'> | undefined;

/** The shared server of a recorded placement, or undefined for a server of the tenant's own. */
export function sharedServerOf(placement: SqlPlacement | undefined): SqlServerLocation {
  return placement?.sqlServer.shared === true
    ? { resourceGroup: placement.sqlServer.resourceGroup, name: placement.sqlServer.name }
    : undefined;
}

function geoPlan(
  tenant: Tenant,
  config: OperatorConfig,
  azure: AzureConfig,
  backup: BackupPlan | undefined,
  onSharedServer: boolean,
) {
  const decided = tenantGeoReplication(tenant, config, azure, backup?.geoReplication === true);
  // A failover group on a shared server needs a shared secondary and database-level keys on both
  // sides: not built yet, so it is said, never half-made.
  const geoReplication: GeoReplicationDecision =
    decided.enabled && onSharedServer
      ? {
          enabled: false,
          reason: 'SharedServerNotReplicated',
          message:
            'Not geo-replicated: the database lives on a shared SQL server (spec.isolation Shared, or placed before its BackupPolicy asked for a secondary), and failover groups are built for a server of the tenant’s own only. A new tenant that is to be geo-replicated is placed on its own server; this one’s database is never moved by the operator (README "Placement").',
        }
      : decided;
  return {
    geoReplication,
    geoNames: geoReplicationNames(
      tenant.metadata.name,
      tenant.spec.environment.toLowerCase(),
      azure.nameSalt === undefined ? {} : { salt: azure.nameSalt },
    ),
    geoPrivateEndpoints:
      geoReplication.enabled && geoReplication.partnerRegion !== undefined
        ? privateEndpointPlan(geoReplication.partnerRegion, azure)
        : undefined,
  };
}

/**
 * Which server holds the tenant's geo-secondary: one small function, so shared servers (issue #15)
 * can change the answer in one place. Today: the tenant's own secondary server in the paired region.
 */
export function geoSecondaryServer(plan: Pick<TenantAzurePlan, 'subscriptionId' | 'names' | 'geoNames' | 'geoReplication'>) {
  const rg = resourceGroupId(plan.subscriptionId, plan.names.resourceGroup);
  return {
    resourceGroupId: rg,
    name: plan.geoNames.sqlServer,
    id: sqlServerId(rg, plan.geoNames.sqlServer),
    location: plan.geoReplication.partnerRegion ?? '',
  };
}

/** The failover group of the tenant's database, on the primary server (one group per tenant database). */
export function tenantFailoverGroupId(plan: Pick<TenantAzurePlan, 'subscriptionId' | 'names' | 'geoNames'>): string {
  const ids = tenantAzureIds(plan.subscriptionId, plan.names);
  return `${ids.sqlServer}/failoverGroups/${plan.geoNames.failoverGroup}`;
}

/** The ids of a tenant's resources: derived from names only, so they are known in any state. */
export function tenantAzureIds(subscriptionId: string, names: TenantAzureNames, shared?: SqlServerLocation) {
  const rg = resourceGroupId(subscriptionId, names.resourceGroup);
  const server = shared
    ? sqlServerId(resourceGroupId(subscriptionId, shared.resourceGroup), shared.name)
    : sqlServerId(rg, names.sqlServer);
  return {
    resourceGroup: rg,
    identity: identityId(rg, names.identity),
    vault: vaultId(rg, names.keyVault),
    sqlServer: server,
    database: `${server}/databases/${names.sqlDatabase}`,
    wafPolicy: wafPolicyId(rg, WAF_POLICY_NAME),
    privateEndpoints: {
      sql: privateEndpointId(rg, PRIVATE_ENDPOINT_NAMES.sql),
      keyVault: privateEndpointId(rg, PRIVATE_ENDPOINT_NAMES.keyVault),
    },
    /** Server-level audit records are sent from the server's `master` database. */
    sqlAuditDiagnostics: `${server}/databases/master/providers/Microsoft.Insights/diagnosticSettings/${AUDIT_DIAGNOSTIC_SETTING}`,
  };
}

/** Reads a string an output reported, or undefined (the dependent then waits). */
function output(outputs: Outputs, key: string, read: (body: ArmBody) => string | undefined): string | undefined {
  const body = outputs.get(key);
  return body === undefined ? undefined : read(body);
}

/**
 * Pure: the tenant's resources and their dependencies. The database is created only after the
 * encryption protector, so it is encrypted with the tenant's key from its first byte.
 */
export function tenantAzureResources(plan: TenantAzurePlan): ArmResource[] {
  const { names, region: location, tags, subscriptionId } = plan;
  const shared = plan.sharedSql;
  const ids = tenantAzureIds(subscriptionId, names, shared);
  // A shared server and its settings carry the platform's tags, never a tenant's.
  const serverTags = shared?.tags ?? tags;
  const rg = ids.resourceGroup;
  const identityPrincipal = (o: Outputs) => output(o, 'identity', (b) => identityOutputs(b).principalId);
  const serverPrincipal = (o: Outputs) => output(o, 'sqlServer', (b) => sqlServerOutputs(b).principalId);
  const keyUri = (o: Outputs) => output(o, 'tdeKey', (b) => str(props(b).keyUriWithVersion));
  const list: ArmResource[] = [
    resource('resourceGroup', resourceGroupKind, () => ({ subscriptionId, name: names.resourceGroup, location, tags })),
    resource('identity', identityKind, () => ({ resourceGroupId: rg, name: names.identity, location, tags }), ['resourceGroup']),
    resource(
      'federatedCredential',
      federatedCredentialKind,
      () => ({
        identityId: ids.identity,
        name: federatedCredentialName(plan.identity.namespace, plan.identity.serviceAccountName),
        issuer: plan.identity.oidcIssuer,
        subject: serviceAccountSubject(plan.identity.namespace, plan.identity.serviceAccountName),
      }),
      ['identity'],
    ),
    resource(
      'keyVault',
      vaultKind,
      () => ({
        subscriptionId,
        resourceGroupId: rg,
        name: names.keyVault,
        location,
        tags,
        tenantId: plan.directoryTenantId,
        publicNetworkAccess: plan.keyVaultPublicNetworkAccess,
      }),
      ['resourceGroup'],
    ),
    resource(
      'tdeKey',
      vaultKeyKind,
      () => ({ vaultId: ids.vault, name: names.tdeKey, keySize: 3072 as const, rotation: plan.keyRotation }),
      ['keyVault'],
    ),
    // Audit: one read of the shared workspace's table, and four writes per tenant, each once (its
    // server is the tenant's own): the vault's AuditEvent log, server auditing, where the server's
    // audit records go, and Defender for SQL.
    resource('auditRetention', auditRetentionKind, () => ({
      workspaceId: plan.audit.workspaceId,
      table: AUDIT_TABLE,
      minimumDays: plan.audit.retentionDays,
    })),
    resource(
      'keyVaultAudit',
      diagnosticSettingKind,
      () => ({
        scopeId: ids.vault,
        name: AUDIT_DIAGNOSTIC_SETTING,
        workspaceId: plan.audit.workspaceId,
        categories: ['AuditEvent'],
      }),
      ['keyVault'],
    ),
    resource(
      'roleAssignment.secretsUser',
      roleAssignmentKind,
      (o) => {
        const principalId = identityPrincipal(o);
        return principalId === undefined
          ? undefined
          : {
              subscriptionId,
              scope: ids.vault,
              role: BUILT_IN_ROLES.keyVaultSecretsUser,
              principalId,
              principalType: 'ServicePrincipal' as const,
            };
      },
      ['identity', 'keyVault'],
    ),
    ...(shared
      ? [
          resource('sqlResourceGroup', resourceGroupKind, () => ({
            subscriptionId,
            name: shared.resourceGroup,
            location,
            tags: shared.tags,
          })),
        ]
      : []),
    resource(
      'sqlServer',
      sqlServerKind,
      () => ({
        resourceGroupId: shared ? resourceGroupId(subscriptionId, shared.resourceGroup) : rg,
        name: shared?.name ?? names.sqlServer,
        location,
        tags: serverTags,
        entraAdmin: plan.entraAdmin,
      }),
      [shared ? 'sqlResourceGroup' : 'resourceGroup'],
    ),
    ...serverSecurityResources(plan, '', ids.sqlServer),
    ...(shared
      ? databaseKeyAccess(plan, ids, identityPrincipal)
      : serverKeyResources(plan, '', ids.sqlServer, ids.vault, serverPrincipal, keyUri, 'the SQL server’s')),
    resource(
      'wafPolicy',
      wafPolicyKind,
      () => ({
        resourceGroupId: rg,
        name: WAF_POLICY_NAME,
        location: plan.wafRegion,
        tags,
        mode: plan.waf.mode,
        customRules: plan.waf.customRules,
      }),
      ['resourceGroup'],
    ),
  ];
  const pe = plan.privateEndpoints;
  if (pe.configured) {
    // The endpoint gives the service an address in the platform's network; the zone group makes
    // the service's own name resolve to it there. Both wait only for the service itself.
    for (const [service, target, groupId] of [
      ['sql', ids.sqlServer, 'sqlServer'],
      ['keyVault', ids.vault, 'vault'],
    ] as const) {
      const dnsZone = pe.dnsZones[service];
      // Several tenants' endpoints target one shared server: a DNS zone group of each would fight
      // over the server's one record in the zone. Each tenant's pods resolve the server's name to
      // their own endpoint instead (a host alias, src/tenant/workload.ts).
      const zoneGroup = !(shared && service === 'sql');
      list.push(
        resource(
          `privateEndpoint.${service}`,
          privateEndpointKind,
          () => ({
            resourceGroupId: rg,
            name: PRIVATE_ENDPOINT_NAMES[service],
            location,
            tags,
            subnetId: pe.subnetId,
            targetId: target,
            groupId,
          }),
          // A shared server is not in the tenant's group, where its endpoint goes.
          service === 'keyVault' ? ['keyVault'] : shared ? ['sqlServer', 'resourceGroup'] : ['sqlServer'],
        ),
        ...(zoneGroup
          ? [
              resource(
                `privateDnsZoneGroup.${service}`,
                dnsZoneGroupKind,
                () => ({
                  privateEndpointId: ids.privateEndpoints[service],
                  name: DNS_ZONE_GROUP_NAME,
                  zones: [{ name: dnsZoneConfigName(dnsZone), privateDnsZoneId: dnsZone }],
                }),
                [`privateEndpoint.${service}`],
              ),
            ]
          : []),
      );
    }
  }
  const nodePool = plan.nodePool;
  // In the platform's cluster, not the tenant's resource group: it waits for nothing of the tenant's.
  if (nodePool.kind === 'dedicated') list.push(resource('nodePool', agentPoolKind, () => nodePool.pool));
  const backup = plan.backup;
  if (backup !== undefined) {
    list.push(
      resource(
        'sqlDatabase',
        sqlDatabaseKind,
        (o) => {
          // On a shared server the database carries the tenant's key and identity itself.
          const uri = shared ? keyUri(o) : undefined;
          if (shared && uri === undefined) return undefined;
          return {
            serverId: ids.sqlServer,
            name: names.sqlDatabase,
            location,
            tags,
            sku: plan.sqlSku,
            backupStorageRedundancy: backup.redundancy,
            zoneRedundant: plan.zoneRedundancy.zoneRedundant,
            holdZoneRedundancy: plan.zoneRedundancy.held,
            ...(uri === undefined ? {} : { customerManagedKey: { identityId: ids.identity, keyUriWithVersion: uri } }),
          };
        },
        shared
          ? ['sqlEntraOnly', 'tdeKey', 'identity', 'roleAssignment.cryptoServiceEncryptionUser']
          : ['sqlEncryptionProtector', 'sqlEntraOnly'],
        // The tenant identity's crypto role must reach Key Vault's data plane before Azure SQL
        // accepts the key for the database (AzureKeyVaultMissingPermissions until then).
        shared
          ? afterPropagation(
              plan,
              'roleAssignment.cryptoServiceEncryptionUser',
              'the tenant identity’s Key Vault role to propagate',
            )
          : undefined,
      ),
      resource('sqlTde', sqlTdeKind, () => ({ databaseId: ids.database }), ['sqlDatabase']),
      resource(
        'sqlShortTermRetention',
        sqlShortTermRetentionKind,
        () => ({ databaseId: ids.database, retention: backup.shortTerm }),
        ['sqlDatabase'],
      ),
      resource(
        'sqlLongTermRetention',
        sqlLongTermRetentionKind,
        () => ({ databaseId: ids.database, retention: backup.longTerm }),
        ['sqlDatabase'],
      ),
    );
    if (plan.geoReplication.enabled) list.push(...geoReplicationResources(plan));
  }
  return list;
}

type Ids = ReturnType<typeof tenantAzureIds>;
type Read = (o: Outputs) => string | undefined;

/** When a role assignment's grant reaches Key Vault's data plane (see `rbacPropagationMs`). */
function afterPropagation(plan: TenantAzurePlan, roleKey: string, why: string): ArmResource['notBefore'] {
  return (o, now) => {
    const createdOn = Date.parse(output(o, roleKey, (b) => str(props(b).createdOn)) ?? '');
    // No date, or one ahead of our clock (skew): just try; a refusal is retried anyway.
    if (Number.isNaN(createdOn) || createdOn > now.getTime()) return undefined;
    return { at: new Date(createdOn + plan.rbacPropagationMs), why };
  };
}

/**
 * The security every SQL server of the tenant's gets, the geo-secondary as the primary: the
 * tenant's Entra admin and Entra-only authentication, auditing to the platform workspace (with
 * its diagnostic setting on master), and Defender for SQL. `prefix` keeps the secondary's keys apart.
 */
function serverSecurityResources(plan: TenantAzurePlan, prefix: '' | 'geo.', serverId: string): ArmResource[] {
  const server = `${prefix}sqlServer`;
  return [
    resource(`${prefix}sqlEntraAdmin`, sqlEntraAdminKind, () => ({ serverId, admin: plan.entraAdmin }), [server]),
    resource(`${prefix}sqlEntraOnly`, sqlEntraOnlyKind, () => ({ serverId }), [`${prefix}sqlEntraAdmin`]),
    resource(`${prefix}sqlAuditing`, sqlServerAuditingKind, () => ({ serverId }), [server]),
    resource(
      `${prefix}sqlAuditDiagnostics`,
      diagnosticSettingKind,
      () => ({
        scopeId: `${serverId}/databases/master`,
        name: AUDIT_DIAGNOSTIC_SETTING,
        workspaceId: plan.audit.workspaceId,
        categories: ['SQLSecurityAuditEvents'],
      }),
      [server],
    ),
    resource(`${prefix}sqlThreatProtection`, sqlThreatProtectionKind, () => ({ serverId }), [server]),
  ];
}

/**
 * A server of the tenant's own (or its geo-secondary): its system identity may use the tenant's
 * key, which becomes the server's key and encryption protector (server-level customer-managed key).
 */
function serverKeyResources(
  plan: TenantAzurePlan,
  prefix: '' | 'geo.',
  serverId: string,
  vaultId: string,
  serverPrincipal: Read,
  keyUri: Read,
  whose: string,
): ArmResource[] {
  const { subscriptionId } = plan;
  const role = `${prefix}roleAssignment.cryptoServiceEncryptionUser`;
  return [
    resource(
      role,
      roleAssignmentKind,
      (o) => {
        const principalId = serverPrincipal(o);
        return principalId === undefined
          ? undefined
          : {
              subscriptionId,
              scope: vaultId,
              role: BUILT_IN_ROLES.keyVaultCryptoServiceEncryptionUser,
              principalId,
              principalType: 'ServicePrincipal' as const,
            };
      },
      [`${prefix}sqlServer`, 'keyVault'],
    ),
    resource(
      `${prefix}sqlServerKey`,
      sqlServerKeyKind,
      (o) => {
        const uri = keyUri(o);
        return uri === undefined ? undefined : { serverId, keyUriWithVersion: uri };
      },
      [`${prefix}sqlServer`, 'tdeKey', role],
      // The server's crypto role takes minutes to reach Key Vault's data plane; until then Azure
      // refuses the key (AzureKeyVaultMissingPermissions). Wait for it instead of writing in vain.
      afterPropagation(plan, role, `${whose} Key Vault role to propagate`),
    ),
    resource(
      `${prefix}sqlEncryptionProtector`,
      sqlEncryptionProtectorKind,
      (o) => {
        const uri = keyUri(o);
        return uri === undefined ? undefined : { serverId, serverKeyName: serverKeyName(uri) };
      },
      [`${prefix}sqlServerKey`],
    ),
  ];
}

/**
 * A shared server: the tenant's own identity may use the tenant's key, which the database names
 * as its own (database-level customer-managed key), so the server holds no tenant's key.
 */
function databaseKeyAccess(plan: TenantAzurePlan, ids: Ids, identityPrincipal: Read): ArmResource[] {
  return [
    resource(
      'roleAssignment.cryptoServiceEncryptionUser',
      roleAssignmentKind,
      (o) => {
        const principalId = identityPrincipal(o);
        return principalId === undefined
          ? undefined
          : {
              subscriptionId: plan.subscriptionId,
              scope: ids.vault,
              role: BUILT_IN_ROLES.keyVaultCryptoServiceEncryptionUser,
              principalId,
              principalType: 'ServicePrincipal' as const,
            };
      },
      ['identity', 'keyVault'],
    ),
  ];
}

/** The private endpoint of the tenant's secondary server (in the paired region's subnet). */
export const GEO_PRIVATE_ENDPOINT_NAME = 'pe-sql-geo';

/**
 * Pure: the geo-secondary's server, secured as the primary is (Entra-only with the same admin,
 * TLS 1.2, no public access, auditing to the same workspace, Defender, the tenant's own key as its
 * TDE protector), its private endpoint, and the failover group that makes Azure seed the secondary
 * database. The group waits for the secondary's key: Azure refuses to geo-replicate a database
 * whose key the partner server lacks (KeyMaterialNotFoundOnRemoteServer).
 */
function geoReplicationResources(plan: TenantAzurePlan): ArmResource[] {
  const { tags, subscriptionId } = plan;
  const ids = tenantAzureIds(subscriptionId, plan.names);
  const secondary = geoSecondaryServer(plan);
  const keyUri = (o: Outputs) => output(o, 'tdeKey', (b) => str(props(b).keyUriWithVersion));
  const principal = (o: Outputs) => output(o, 'geo.sqlServer', (b) => sqlServerOutputs(b).principalId);
  const list: ArmResource[] = [
    resource(
      'geo.sqlServer',
      sqlServerKind,
      () => ({
        resourceGroupId: secondary.resourceGroupId,
        name: secondary.name,
        location: secondary.location,
        tags,
        entraAdmin: plan.entraAdmin,
      }),
      ['resourceGroup'],
    ),
    ...serverSecurityResources(plan, 'geo.', secondary.id),
    ...serverKeyResources(plan, 'geo.', secondary.id, ids.vault, principal, keyUri, 'the secondary SQL server’s'),
    resource(
      'failoverGroup',
      sqlFailoverGroupKind,
      () => ({
        serverId: ids.sqlServer,
        name: plan.geoNames.failoverGroup,
        partnerServerId: secondary.id,
        databaseIds: [ids.database],
        tags,
      }),
      ['sqlDatabase', 'sqlEncryptionProtector', 'geo.sqlEncryptionProtector', 'geo.sqlEntraOnly'],
    ),
  ];
  const pe = plan.geoPrivateEndpoints;
  if (pe?.configured) {
    list.push(
      resource(
        'privateEndpoint.sqlSecondary',
        privateEndpointKind,
        () => ({
          resourceGroupId: secondary.resourceGroupId,
          name: GEO_PRIVATE_ENDPOINT_NAME,
          location: secondary.location,
          tags,
          subnetId: pe.subnetId,
          targetId: secondary.id,
          groupId: 'sqlServer',
        }),
        ['geo.sqlServer'],
      ),
      resource(
        'privateDnsZoneGroup.sqlSecondary',
        dnsZoneGroupKind,
        () => ({
          privateEndpointId: privateEndpointId(secondary.resourceGroupId, GEO_PRIVATE_ENDPOINT_NAME),
          name: DNS_ZONE_GROUP_NAME,
          zones: [{ name: dnsZoneConfigName(pe.dnsZones.sql), privateDnsZoneId: pe.dnsZones.sql }],
        }),
        ['privateEndpoint.sqlSecondary'],
      ),
    );
  }
  return list;
}

const existing = (key: string, id: string, kind: ExistingResource['kind']): ExistingResource => ({ key, id, kind });

/**
 * The tenant's dedicated node pool, if the configuration names a cluster: deleted whatever the
 * deletionPolicy (it holds no customer data, node-pool.ts), and when the tenant is Shared again.
 * Known from the tenant's name alone, like every inventory.
 */
export function tenantNodePoolInventory(tenant: Tenant, azure: AzureConfig): ExistingResource[] {
  const cluster = azure.cluster;
  if (cluster === undefined) return [];
  const clusterId = managedClusterId(cluster.subscriptionId ?? azure.subscriptionId, cluster.resourceGroup, cluster.name);
  return [existing('nodePool', agentPoolId(clusterId, nodePoolName(tenant.metadata.name, azure.nameSalt)), agentPoolKind)];
}

/**
 * The tenant's resources to let go of (deletionPolicy Retain), by id: known from the names alone,
 * so a tenant whose region was refused or whose policy is gone can still be released.
 */
export function tenantReleaseInventory(
  subscriptionId: string,
  names: TenantAzureNames,
  shared?: SqlServerLocation,
  geo?: { sqlServer: string; failoverGroup: string },
): ExistingResource[] {
  const ids = tenantAzureIds(subscriptionId, names, shared);
  return [
    ...geoInventory(subscriptionId, names, geo, false),
    existing('privateEndpoint.sql', ids.privateEndpoints.sql, privateEndpointKind),
    existing('privateEndpoint.keyVault', ids.privateEndpoints.keyVault, privateEndpointKind),
    existing('sqlDatabase', ids.database, sqlDatabaseKind),
    // A shared server is the platform's: it never goes with a tenant (its other databases live on).
    ...(shared ? [] : [existing('sqlServer', ids.sqlServer, sqlServerKind)]),
    existing('keyVault', ids.vault, vaultKind),
    existing('identity', ids.identity, identityKind),
    existing('wafPolicy', ids.wafPolicy, wafPolicyKind),
    existing('resourceGroup', ids.resourceGroup, resourceGroupKind),
  ];
}

/**
 * deletionPolicy Delete, children first. The vault (and so the resource group holding it) is not
 * in this list: it is kept while any backup encrypted with its key may still be restored (see
 * TenantAzureStep.delete). Its private endpoint goes: nothing of the tenant's runs to use it, and
 * it holds an address of the platform's subnet (its DNS zone group goes with it).
 */
export function tenantDeleteInventory(
  subscriptionId: string,
  names: TenantAzureNames,
  shared?: SqlServerLocation,
  geo?: { sqlServer: string; failoverGroup: string },
): ExistingResource[] {
  const ids = tenantAzureIds(subscriptionId, names, shared);
  return [
    ...geoInventory(subscriptionId, names, geo, true),
    existing('privateEndpoint.sql', ids.privateEndpoints.sql, privateEndpointKind),
    existing('privateEndpoint.keyVault', ids.privateEndpoints.keyVault, privateEndpointKind),
    existing('sqlDatabase', ids.database, sqlDatabaseKind),
    // A shared server (and its audit setting) stays: other tenants' databases live on it.
    ...(shared
      ? []
      : [
          // Azure keeps a deleted resource's diagnostic settings (a server re-created under the name
          // would inherit them): remove the server's before the server.
          existing('sqlAuditDiagnostics', ids.sqlAuditDiagnostics, diagnosticSettingKind),
          existing('sqlServer', ids.sqlServer, sqlServerKind),
        ]),
    existing('identity', ids.identity, identityKind),
    existing('wafPolicy', ids.wafPolicy, wafPolicyKind),
  ];
}

/**
 * Where a failover drill acts: the tenant's failover group as each server sees it and the
 * geo-secondary database; undefined without geo-replication.
 */
export function failoverDrillTarget(plan: TenantAzurePlan) {
  if (!plan.geoReplication.enabled || plan.geoReplication.partnerRegion === undefined) return undefined;
  const secondary = geoSecondaryServer(plan);
  return {
    homeGroupId: tenantFailoverGroupId(plan),
    partnerGroupId: `${secondary.id}/failoverGroups/${plan.geoNames.failoverGroup}`,
    partnerDatabaseId: `${secondary.id}/databases/${plan.names.sqlDatabase}`,
    homeRegion: plan.region,
    partnerRegion: plan.geoReplication.partnerRegion,
  };
}

/** The names of a tenant's geo-replication (whether or not it has one: inventories are by name). */
export function tenantGeoNames(tenant: Tenant, azure: AzureConfig) {
  return geoReplicationNames(
    tenant.metadata.name,
    tenant.spec.environment.toLowerCase(),
    azure.nameSalt === undefined ? {} : { salt: azure.nameSalt },
  );
}

/**
 * The geo-replication resources of an inventory, first: the secondary's private endpoint, (when
 * deleting) the failover group, then the secondary server, which takes the geo-secondary database
 * with it. Released, the server and endpoint are tagged like the rest; the group needs no tag.
 */
function geoInventory(
  subscriptionId: string,
  names: TenantAzureNames,
  geo: { sqlServer: string; failoverGroup: string } | undefined,
  deleting: boolean,
): ExistingResource[] {
  if (geo === undefined) return [];
  const rg = resourceGroupId(subscriptionId, names.resourceGroup);
  const server = sqlServerId(rg, geo.sqlServer);
  const group = `${tenantAzureIds(subscriptionId, names).sqlServer}/failoverGroups/${geo.failoverGroup}`;
  return [
    existing('privateEndpoint.sqlSecondary', privateEndpointId(rg, GEO_PRIVATE_ENDPOINT_NAME), privateEndpointKind),
    ...(deleting ? [existing('failoverGroup', group, sqlFailoverGroupKind)] : []),
    existing('geo.sqlServer', server, sqlServerKind),
  ];
}
