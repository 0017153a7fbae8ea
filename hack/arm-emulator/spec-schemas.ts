/**
 * Small hand-written schemas of the `properties` of every resource type the emulator serves, written
 * from the official REST specifications (Azure/azure-rest-api-specs) at exactly the api-versions in
 * api-versions.ts (README.md names each spec file and the commit read). They decide what a request may
 * carry (required fields, enums, read-only and create-only fields) and which fields GET returns.
 */

import { asObject, isObject, type JsonObject } from './json.ts';
import { type ArmError, armError } from './resource-types.ts';

/**
 * How the spec lets a field move:
 * - `readWrite`: sent and returned;
 * - `readOnly` (`readOnly: true`): returned, never sent; Azure ignores it in a request;
 * - `createOnly` (`x-ms-mutability: ["create"]`): sent on create only, never returned;
 * - `createRead` (`["read","create"]`): sent on create, returned, cannot change afterwards;
 * - `writeOnly` (`["create","update"]`, secrets): sent, never returned.
 */
export type FieldAccess = 'readWrite' | 'readOnly' | 'createOnly' | 'createRead' | 'writeOnly';

export interface FieldSpec {
  access?: FieldAccess;
  required?: boolean;
  enum?: readonly (string | number)[];
}

export interface ResourceSchema {
  /** Spec file (under specification/) the fields were read from. */
  specFile: string;
  /** `properties.<name>` of the resource body. */
  properties: Readonly<Record<string, FieldSpec>>;
}

const RO: FieldSpec = { access: 'readOnly' };
const RW: FieldSpec = {};
const CREATE_ONLY: FieldSpec = { access: 'createOnly' };
const CREATE_READ: FieldSpec = { access: 'createRead' };
const REQUIRED: FieldSpec = { required: true };
const REDUNDANCY = ['Geo', 'Local', 'Zone', 'GeoZone'] as const;

const SQL_2022 = 'sql/resource-manager/Microsoft.Sql/preview/2022-08-01-preview';
const SQL_2020 = 'sql/resource-manager/Microsoft.Sql/preview/2020-11-01-preview';
const SQL_2021_11 = 'sql/resource-manager/Microsoft.Sql/preview/2021-11-01-preview';
const LOG_ANALYTICS = 'operationalinsights/resource-manager/Microsoft.OperationalInsights/OperationalInsights/stable/2023-09-01';

/** Keyed by lower-case resource type. */
export const RESOURCE_SCHEMAS: Readonly<Record<string, ResourceSchema>> = {
  'microsoft.containerservice/managedclusters/agentpools': {
    // Fields the operator may send or read; the rest of the (large) AgentPool model is unknown here.
    specFile: 'containerservice/resource-manager/Microsoft.ContainerService/aks/stable/2026-06-01/managedClusters.json',
    properties: {
      count: RW,
      vmSize: RW,
      osType: { enum: ['Linux', 'Windows'] },
      osSKU: RW,
      mode: { enum: ['System', 'User', 'Gateway', 'Machines', 'ManagedSystem'] },
      type: { enum: ['VirtualMachineScaleSets', 'AvailabilitySet', 'VirtualMachines'] },
      enableAutoScaling: RW,
      minCount: RW,
      maxCount: RW,
      nodeLabels: RW,
      nodeTaints: RW,
      maxPods: RW,
      osDiskSizeGB: RW,
      orchestratorVersion: RW,
      currentOrchestratorVersion: RO,
      powerState: RW,
      tags: RW,
      provisioningState: RO,
    },
  },
  'microsoft.resources/resourcegroups': {
    specFile: 'resources/resource-manager/Microsoft.Resources/stable/2025-04-01/resources.json',
    properties: { provisioningState: RO },
  },
  'microsoft.managedidentity/userassignedidentities': {
    specFile: 'msi/resource-manager/Microsoft.ManagedIdentity/stable/2024-11-30/ManagedIdentity.json',
    properties: {
      tenantId: RO,
      principalId: RO,
      clientId: RO,
      isolationScope: { enum: ['None', 'Regional'] },
    },
  },
  'microsoft.managedidentity/userassignedidentities/federatedidentitycredentials': {
    specFile: 'msi/resource-manager/Microsoft.ManagedIdentity/stable/2024-11-30/ManagedIdentity.json',
    properties: { issuer: REQUIRED, subject: REQUIRED, audiences: REQUIRED },
  },
  'microsoft.keyvault/vaults': {
    specFile: 'keyvault/resource-manager/Microsoft.KeyVault/stable/2026-02-01/keyvault.json',
    properties: {
      tenantId: REQUIRED,
      sku: REQUIRED,
      accessPolicies: RW,
      vaultUri: RW,
      hsmPoolResourceId: RO,
      enabledForDeployment: RW,
      enabledForDiskEncryption: RW,
      enabledForTemplateDeployment: RW,
      enableSoftDelete: RW,
      softDeleteRetentionInDays: RW,
      enableRbacAuthorization: RW,
      createMode: { access: 'writeOnly', enum: ['recover', 'default'] },
      enablePurgeProtection: RW,
      networkAcls: RW,
      provisioningState: { access: 'readOnly', enum: ['Succeeded', 'RegisteringDns'] },
      privateEndpointConnections: RO,
      publicNetworkAccess: RW,
    },
  },
  'microsoft.keyvault/vaults/keys': {
    specFile: 'keyvault/resource-manager/Microsoft.KeyVault/stable/2026-02-01/keys.json',
    properties: {
      attributes: RW,
      kty: { enum: ['EC', 'EC-HSM', 'RSA', 'RSA-HSM'] },
      keyOps: RW,
      keySize: RW,
      curveName: { enum: ['P-256', 'P-384', 'P-521', 'P-256K'] },
      keyUri: RO,
      keyUriWithVersion: RO,
      rotationPolicy: RW,
      release_policy: RW,
    },
  },
  'microsoft.authorization/roleassignments': {
    specFile: 'authorization/resource-manager/Microsoft.Authorization/stable/2022-04-01/authorization-RoleAssignmentsCalls.json',
    properties: {
      roleDefinitionId: REQUIRED,
      principalId: REQUIRED,
      principalType: { enum: ['User', 'Group', 'ServicePrincipal', 'ForeignGroup', 'Device'] },
      scope: RO,
      description: RW,
      condition: RW,
      conditionVersion: RW,
      createdOn: RO,
      updatedOn: RO,
      createdBy: RO,
      updatedBy: RO,
      delegatedManagedIdentityResourceId: RW,
    },
  },
  'microsoft.authorization/roleassignmentschedulerequests': {
    specFile: 'authorization/resource-manager/Microsoft.Authorization/stable/2020-10-01/RoleAssignmentScheduleRequest.json',
    properties: {
      scope: RO,
      roleDefinitionId: REQUIRED,
      principalId: REQUIRED,
      principalType: RO,
      requestType: {
        required: true,
        enum: [
          'AdminAssign',
          'AdminRemove',
          'AdminUpdate',
          'AdminExtend',
          'AdminRenew',
          'SelfActivate',
          'SelfDeactivate',
          'SelfExtend',
          'SelfRenew',
        ],
      },
      status: RO,
      approvalId: RO,
      targetRoleAssignmentScheduleId: RW,
      targetRoleAssignmentScheduleInstanceId: RW,
      scheduleInfo: RW,
      linkedRoleEligibilityScheduleId: RW,
      justification: RW,
      ticketInfo: RW,
      condition: RW,
      conditionVersion: RW,
      createdOn: RO,
      requestorId: RO,
      expandedProperties: RO,
    },
  },
  'microsoft.authorization/roleassignmentschedules': {
    specFile: 'authorization/resource-manager/Microsoft.Authorization/stable/2020-10-01/RoleAssignmentSchedule.json',
    properties: {
      scope: RO,
      roleDefinitionId: RO,
      principalId: RO,
      principalType: RO,
      roleAssignmentScheduleRequestId: RO,
      linkedRoleEligibilityScheduleId: RO,
      assignmentType: RO,
      memberType: RO,
      status: RO,
      startDateTime: RO,
      endDateTime: RO,
      condition: RO,
      conditionVersion: RO,
      createdOn: RO,
      updatedOn: RO,
      expandedProperties: RO,
    },
  },
  'microsoft.sql/servers': {
    specFile: `${SQL_2022}/Servers.json`,
    properties: {
      administratorLogin: CREATE_READ,
      administratorLoginPassword: { access: 'writeOnly' },
      version: RW,
      state: RO,
      fullyQualifiedDomainName: RO,
      privateEndpointConnections: RO,
      minimalTlsVersion: RW,
      publicNetworkAccess: { enum: ['Enabled', 'Disabled', 'SecuredByPerimeter'] },
      workspaceFeature: RO,
      primaryUserAssignedIdentityId: RW,
      federatedClientId: RW,
      keyId: RW,
      administrators: CREATE_READ,
      restrictOutboundNetworkAccess: { enum: ['Enabled', 'Disabled'] },
      externalGovernanceStatus: RO,
    },
  },
  'microsoft.sql/servers/databases': {
    specFile: `${SQL_2022}/Databases.json`,
    properties: {
      createMode: {
        access: 'createOnly',
        enum: [
          'Default',
          'Copy',
          'Secondary',
          'PointInTimeRestore',
          'Restore',
          'Recovery',
          'RestoreExternalBackup',
          'RestoreExternalBackupSecondary',
          'RestoreLongTermRetentionBackup',
          'OnlineSecondary',
        ],
      },
      collation: CREATE_READ,
      maxSizeBytes: RW,
      sampleName: CREATE_ONLY,
      elasticPoolId: RW,
      sourceDatabaseId: CREATE_ONLY,
      status: RO,
      databaseId: RO,
      creationDate: RO,
      currentServiceObjectiveName: RO,
      requestedServiceObjectiveName: RO,
      defaultSecondaryLocation: RO,
      failoverGroupId: RO,
      restorePointInTime: CREATE_ONLY,
      sourceDatabaseDeletionDate: CREATE_ONLY,
      recoveryServicesRecoveryPointId: CREATE_ONLY,
      longTermRetentionBackupResourceId: CREATE_ONLY,
      recoverableDatabaseId: CREATE_ONLY,
      restorableDroppedDatabaseId: CREATE_ONLY,
      catalogCollation: { access: 'createRead', enum: ['DATABASE_DEFAULT', 'SQL_Latin1_General_CP1_CI_AS'] },
      zoneRedundant: RW,
      licenseType: { enum: ['LicenseIncluded', 'BasePrice'] },
      maxLogSizeBytes: RO,
      earliestRestoreDate: RO,
      readScale: { enum: ['Enabled', 'Disabled'] },
      highAvailabilityReplicaCount: RW,
      secondaryType: { enum: ['Geo', 'Named', 'Standby'] },
      currentSku: RO,
      autoPauseDelay: RW,
      currentBackupStorageRedundancy: { access: 'readOnly', enum: REDUNDANCY },
      requestedBackupStorageRedundancy: { enum: REDUNDANCY },
      minCapacity: RW,
      pausedDate: RO,
      resumedDate: RO,
      maintenanceConfigurationId: RW,
      isLedgerOn: RW,
      isInfraEncryptionEnabled: RO,
      federatedClientId: RW,
      keys: RW,
      encryptionProtector: RW,
      preferredEnclaveType: { enum: ['Default', 'VBS'] },
      sourceResourceId: CREATE_ONLY,
      manualCutover: RW,
      performCutover: RW,
    },
  },
  'microsoft.sql/servers/databases/transparentdataencryption': {
    specFile: `${SQL_2022}/TransparentDataEncryptions.json`,
    properties: { state: { required: true, enum: ['Enabled', 'Disabled'] } },
  },
  'microsoft.sql/servers/databases/backupshorttermretentionpolicies': {
    specFile: 'sql/resource-manager/Microsoft.Sql/preview/2021-02-01-preview/BackupShortTermRetentionPolicies.json',
    properties: { retentionDays: RW, diffBackupIntervalInHours: { enum: [12, 24] } },
  },
  'microsoft.sql/servers/databases/backuplongtermretentionpolicies': {
    specFile: `${SQL_2020}/LongTermRetentionPolicies.json`,
    properties: { weeklyRetention: RW, monthlyRetention: RW, yearlyRetention: RW, weekOfYear: RW },
  },
  'microsoft.sql/servers/failovergroups': {
    // Required fields (readWriteEndpoint, partnerServers) are checked by the type itself, with
    // FailoverGroups.json's own error codes.
    specFile: `${SQL_2020}/FailoverGroups.json`,
    properties: {
      readWriteEndpoint: RW,
      readOnlyEndpoint: RW,
      replicationRole: RO,
      replicationState: RO,
      partnerServers: RW,
      databases: RW,
    },
  },
  'microsoft.sql/servers/azureadonlyauthentications': {
    specFile: `${SQL_2020}/ServerAzureADOnlyAuthentications.json`,
    properties: { azureADOnlyAuthentication: REQUIRED },
  },
  'microsoft.sql/servers/administrators': {
    specFile: `${SQL_2020}/ServerAzureADAdministrators.json`,
    properties: {
      administratorType: { required: true, enum: ['ActiveDirectory'] },
      login: REQUIRED,
      sid: REQUIRED,
      tenantId: RW,
      azureADOnlyAuthentication: RO,
    },
  },
  'microsoft.sql/servers/keys': {
    specFile: `${SQL_2020}/ServerKeys.json`,
    properties: {
      serverKeyType: { required: true, enum: ['ServiceManaged', 'AzureKeyVault'] },
      uri: RW,
      thumbprint: RO,
      creationDate: RO,
      subregion: RO,
      autoRotationEnabled: RO,
    },
  },
  'microsoft.sql/servers/encryptionprotector': {
    specFile: `${SQL_2020}/EncryptionProtectors.json`,
    properties: {
      serverKeyName: RW,
      serverKeyType: { required: true, enum: ['ServiceManaged', 'AzureKeyVault'] },
      uri: RO,
      thumbprint: RO,
      subregion: RO,
      autoRotationEnabled: RW,
    },
  },
  'microsoft.sql/servers/auditingsettings': {
    specFile: `${SQL_2021_11}/BlobAuditing.json`,
    properties: {
      isDevopsAuditEnabled: RW,
      retentionDays: RW,
      auditActionsAndGroups: RW,
      isStorageSecondaryKeyInUse: RW,
      isAzureMonitorTargetEnabled: RW,
      queueDelayMs: RW,
      isManagedIdentityInUse: RW,
      state: { required: true, enum: ['Enabled', 'Disabled'] },
      storageEndpoint: RW,
      storageAccountAccessKey: { access: 'writeOnly' },
      storageAccountSubscriptionId: RW,
    },
  },
  'microsoft.sql/servers/advancedthreatprotectionsettings': {
    specFile: `${SQL_2021_11}/ServerAdvancedThreatProtectionSettings.json`,
    properties: { state: { required: true, enum: ['New', 'Enabled', 'Disabled'] }, creationTime: RO },
  },
  'microsoft.insights/diagnosticsettings': {
    specFile: 'monitor/resource-manager/Microsoft.Insights/preview/2021-05-01-preview/diagnosticsSettings_API.json',
    properties: {
      storageAccountId: RW,
      serviceBusRuleId: RW,
      eventHubAuthorizationRuleId: RW,
      eventHubName: RW,
      metrics: RW,
      logs: RW,
      workspaceId: RW,
      marketplacePartnerId: RW,
      logAnalyticsDestinationType: RW,
    },
  },
  'microsoft.operationalinsights/workspaces': {
    specFile: `${LOG_ANALYTICS}/Workspaces.json`,
    properties: {
      provisioningState: RO,
      customerId: RO,
      sku: RW,
      retentionInDays: RW,
      workspaceCapping: RW,
      createdDate: RO,
      modifiedDate: RO,
      publicNetworkAccessForIngestion: { enum: ['Enabled', 'Disabled', 'SecuredByPerimeter'] },
      publicNetworkAccessForQuery: { enum: ['Enabled', 'Disabled', 'SecuredByPerimeter'] },
      forceCmkForQuery: RW,
      privateLinkScopedResources: RO,
      features: RW,
      defaultDataCollectionRuleResourceId: RW,
    },
  },
  'microsoft.operationalinsights/workspaces/tables': {
    specFile: `${LOG_ANALYTICS}/Tables.json`,
    properties: {
      retentionInDays: RW,
      totalRetentionInDays: RW,
      archiveRetentionInDays: RO,
      searchResults: RW,
      restoredLogs: RW,
      resultStatistics: RO,
      plan: { enum: ['Basic', 'Analytics'] },
      lastPlanModifiedDate: RO,
      schema: RW,
      provisioningState: RO,
      retentionInDaysAsDefault: RO,
      totalRetentionInDaysAsDefault: RO,
    },
  },
  'microsoft.network/applicationgatewaywebapplicationfirewallpolicies': {
    specFile: 'network/resource-manager/Microsoft.Network/stable/2026-01-01/webapplicationfirewall.json',
    properties: {
      policySettings: RW,
      customRules: RW,
      managedRules: REQUIRED,
      provisioningState: RO,
      resourceState: RO,
      applicationGateways: RO,
      httpListeners: RO,
      pathBasedRules: RO,
    },
  },
  'microsoft.network/privateendpoints': {
    specFile: 'network/resource-manager/Microsoft.Network/stable/2026-01-01/privateEndpoint.json',
    properties: {
      subnet: RW,
      networkInterfaces: RO,
      provisioningState: RO,
      ipVersionType: { enum: ['IPv4', 'IPv6', 'DualStack'] },
      privateLinkServiceConnections: RW,
      manualPrivateLinkServiceConnections: RW,
      customDnsConfigs: RW,
      applicationSecurityGroups: RW,
      ipConfigurations: RW,
      customNetworkInterfaceName: RW,
      billingSku: RW,
    },
  },
  'microsoft.network/privateendpoints/privatednszonegroups': {
    specFile: 'network/resource-manager/Microsoft.Network/stable/2026-01-01/privateEndpoint.json',
    properties: { provisioningState: RO, privateDnsZoneConfigs: RW },
  },
};

/** Something a request carried that the spec does not allow (Azure ignores it, or the emulator refused it). */
export interface SpecViolation {
  method: string;
  resourceType: string;
  resourceId: string;
  /** `properties.<field>`. */
  field: string;
  kind: 'readOnly' | 'unknown' | 'createOnlyChanged' | 'enum' | 'required';
}

export interface SpecCheck {
  /** A violation Azure refuses (400), if any. */
  error: ArmError | undefined;
  /** Every violation found, refused or ignored. */
  violations: SpecViolation[];
  /** The create-only and create-read values of a create, to keep (create-only ones are never returned). */
  createValues: JsonObject;
}

/**
 * Check a PUT/PATCH body against the schema of its type. Read-only fields are dropped from `body`
 * (Azure ignores them) and reported; unknown fields are reported (Azure ignores them too); an enum
 * value outside the spec, a missing required field, or a create-only field whose value differs from
 * the one the resource was created with is refused, as Azure refuses them.
 */
export function checkAgainstSpec(
  type: string,
  method: string,
  resourceId: string,
  body: JsonObject,
  createValues: JsonObject | undefined,
): SpecCheck {
  const schema = RESOURCE_SCHEMAS[type.toLowerCase()];
  const result: SpecCheck = { error: undefined, violations: [], createValues: {} };
  if (schema === undefined) return result;
  const props = asObject(body.properties);
  const violation = (field: string, kind: SpecViolation['kind']): void => {
    result.violations.push({ method, resourceType: type, resourceId, field: `properties.${field}`, kind });
  };
  for (const [field, value] of Object.entries(props)) {
    const spec = schema.properties[field];
    if (spec === undefined) {
      violation(field, 'unknown');
      continue;
    }
    if (spec.access === 'readOnly') {
      violation(field, 'readOnly');
      delete props[field];
      continue;
    }
    if (spec.enum !== undefined && value !== null && !spec.enum.includes(value as string | number)) {
      violation(field, 'enum');
      result.error ??= armError(
        400,
        'InvalidParameterValue',
        `Invalid value '${String(value)}' for '${field}': allowed values are ${spec.enum.join(', ')}.`,
      );
    }
    if (spec.access === 'createOnly' || spec.access === 'createRead') {
      if (createValues === undefined) result.createValues[field] = value;
      else if (createValues[field] !== undefined && JSON.stringify(createValues[field]) !== JSON.stringify(value)) {
        violation(field, 'createOnlyChanged');
        result.error ??= armError(
          400,
          'InvalidParameterValue',
          `'${field}' can only be set when the resource is created (it was ${JSON.stringify(createValues[field])}).`,
        );
      }
    }
  }
  if (createValues !== undefined) result.createValues = createValues;
  if (method === 'PUT') {
    for (const [field, spec] of Object.entries(schema.properties)) {
      if (spec.required && props[field] === undefined) {
        violation(field, 'required');
        result.error ??= armError(400, 'InvalidRequestContent', `The request body must contain 'properties.${field}'.`);
      }
    }
  }
  if (isObject(body.properties)) body.properties = props;
  return result;
}

/** Drop the `properties` fields GET never returns: not in the spec at this api-version, create-only, secrets. */
export function shapeForGet(type: string, body: JsonObject): void {
  const schema = RESOURCE_SCHEMAS[type.toLowerCase()];
  if (schema === undefined || !isObject(body.properties)) return;
  for (const field of Object.keys(body.properties)) {
    const access = schema.properties[field]?.access;
    if (schema.properties[field] === undefined || access === 'createOnly' || access === 'writeOnly') {
      delete body.properties[field];
    }
  }
}
