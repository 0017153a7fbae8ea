/**
 * The api-versions the emulator accepts, per resource type: exactly what the SDK versions pinned in
 * package.json send (read from their sources in node_modules), or, for types no pinned SDK covers,
 * what the operator's kinds send. A request with another version is
 * refused like ARM refuses an unregistered one, so an SDK upgrade shows up as a clear test failure.
 */
export const API_VERSIONS = {
  /** @azure/arm-resources 8.0.0 */
  resources: '2025-04-01',
  /** @azure/arm-msi 2.2.0 */
  managedIdentity: '2024-11-30',
  /** @azure/arm-keyvault 5.0.0 */
  keyVault: '2026-02-01',
  /** @azure/arm-authorization 9.0.0 (role assignments) */
  authorization: '2022-04-01',
  /** @azure/arm-authorization 9.0.0 (Privileged Identity Management: role assignment schedule requests and schedules) */
  authorizationSchedules: '2020-10-01',
  /** @azure/arm-sql 10.0.0: servers, databases, transparent data encryption */
  sql: '2022-08-01-preview',
  /** @azure/arm-sql 10.0.0: Entra-only auth, Entra admins, server keys, encryption protector, LTR policies */
  sqlSecurity: '2020-11-01-preview',
  /** @azure/arm-sql 10.0.0: short-term retention policies */
  sqlShortTermRetention: '2021-02-01-preview',
  /** @azure/arm-sql 10.0.0: database restore points (list) */
  sqlRestorePoints: '2020-11-01-preview',
  /** @azure/arm-sql 10.0.0: database usages (list) */
  sqlDatabaseUsages: '2021-02-01-preview',
  /** @azure/arm-sql 10.0.0: long-term retention backups (list) */
  sqlLongTermRetentionBackups: '2021-05-01-preview',
  /** @azure/arm-sql 10.0.0: failover groups (and their failover actions) */
  sqlFailoverGroups: '2020-11-01-preview',
  /** @azure/arm-sql 10.0.0: replication links (list) */
  sqlReplicationLinks: '2022-02-01-preview',
  /** @azure/arm-sql 10.0.0: server auditing settings, advanced threat protection (Defender for SQL) */
  sqlAuditing: '2021-11-01-preview',
  /** @azure/arm-network 39.0.0 (WAF policies, private endpoints and their DNS zone groups, virtual networks) */
  network: '2026-01-01',
  /**
   * Microsoft.Network/privateDnsZones: the Private DNS API's current stable version. The operator
   * never reads zones (it only names them in zone groups); served for inspection.
   */
  privateDns: '2024-06-01',
  /**
   * No SDK of the operator's covers these (it calls them by id through its ARM client): the
   * api-versions it sends, chosen from the REST specs. Diagnostic settings: the latest
   * (monitor/.../preview/2021-05-01-preview/diagnosticsSettings_API.json).
   */
  diagnosticSettings: '2021-05-01-preview',
  /** Log Analytics workspaces and tables (operationalinsights/.../stable/2023-09-01). */
  logAnalytics: '2023-09-01',
  /** @azure/arm-containerservice 25.5.0: managed clusters and their agent pools */
  containerService: '2026-06-01',
} as const;
