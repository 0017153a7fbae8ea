/**
 * The Tenant kind: one customer environment (namespace, application, front door, Azure
 * resources, backups, maintenance) declared in a single object that a platform team keeps in git.
 */
import { z } from 'zod';
import { type CustomObject, conditionsField, localObjectReference } from './common.ts';
import { ISO_COUNTRY_CODES } from './countries.ts';

export const TIERS = ['Small', 'Medium', 'Large'] as const;
export const ENVIRONMENTS = ['Production', 'QA', 'Development'] as const;
export type Tier = (typeof TIERS)[number];
export type Environment = (typeof ENVIRONMENTS)[number];
/** Dedicated infrastructure: a SQL server and an AKS node pool of the tenant's own. */
export const ISOLATIONS = ['Shared', 'Dedicated'] as const;
export type Isolation = (typeof ISOLATIONS)[number];

const HOSTNAME_PATTERN = /^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;

export const applicationSchema = z
  .object({
    image: z
      .string()
      .min(1)
      .max(255)
      .regex(/^[a-z0-9]+([._/:-][a-z0-9]+)*$/)
      .describe('Container image repository without tag, for example "contoso.azurecr.io/shop".'),
    version: z
      .string()
      .min(1)
      .max(128)
      .regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/)
      .describe('Image tag to run, for example "2.4.1". Changing it is a disruptive change held for the maintenance window.'),
    replicas: z
      .number()
      .int()
      .min(1)
      .max(50)
      .optional()
      .describe('Replica count; defaults by tier and environment. Production needs at least 2 (99.9% availability).'),
    port: z.number().int().min(1024).max(65535).default(8080).describe('Container port the application listens on.'),
    healthPath: z
      .string()
      .max(256)
      .regex(/^\/[A-Za-z0-9._~/-]*$/)
      .default('/healthz')
      .describe('HTTP path used for readiness, liveness and startup probes.'),
  })
  .describe('The application instance dedicated to this tenant.');

export const ingressSchema = z
  .object({
    host: z
      .string()
      .min(4)
      .max(253)
      .regex(HOSTNAME_PATTERN)
      .describe('Fully qualified host name the tenant is reached at, for example "shop.contoso.example".'),
    allowedSourceRanges: z
      .array(
        z
          .string()
          .max(43)
          .describe('An IPv4 or IPv6 CIDR, for example "203.0.113.0/24".')
          .meta({
            'x-kubernetes-validations': [{ rule: 'isCIDR(self)', message: 'must be a valid CIDR such as 203.0.113.0/24' }],
          }),
      )
      .max(64)
      .optional()
      .describe('When set, only these source ranges may reach the tenant (enforced at the front door and by the WAF).'),
    allowedCountries: z
      .array(z.enum(ISO_COUNTRY_CODES as [string, ...string[]]).describe('ISO 3166-1 alpha-2 country code.'))
      .max(100)
      .optional()
      .describe('When set, the WAF allows requests only from these countries (ISO 3166-1 alpha-2 codes).'),
  })
  .describe('The tenant’s front door: HTTPS only, TLS 1.2 or higher, behind a web application firewall.');

export const secretReferenceSchema = z.object({
  name: z
    .string()
    .min(1)
    .max(127)
    .regex(/^[0-9a-zA-Z-]+$/)
    .describe('Name of the secret in the tenant’s Key Vault. Values never pass through the operator.'),
  fileName: z
    .string()
    .max(253)
    .regex(/^[A-Za-z0-9._-]+$/)
    .optional()
    .describe('File name under the CSI mount; defaults to the secret name.'),
});

export const tenantSpecSchema = z
  .object({
    displayName: z.string().min(1).max(100).describe('Human-readable customer name.'),
    tier: z.enum(TIERS).describe('Service tier: sizes quotas, the application and the database (Small, Medium, Large).'),
    environment: z
      .enum(ENVIRONMENTS)
      .describe('Environment kind: Production, QA or Development. Immutable: each environment is a separate Tenant.')
      .meta({ 'x-kubernetes-validations': [{ rule: 'self == oldSelf', message: 'environment is immutable' }] }),
    region: z
      .string()
      .min(3)
      .max(40)
      .regex(/^[a-z][a-z0-9]+$/)
      .describe('Azure region that hosts the tenant’s data, for example "westeurope". Immutable (data residency).')
      .meta({ 'x-kubernetes-validations': [{ rule: 'self == oldSelf', message: 'region is immutable (data residency)' }] }),
    dataResidency: z
      .string()
      .min(1)
      .max(32)
      .regex(/^[A-Za-z][A-Za-z0-9-]*$/)
      .optional()
      .describe(
        'Data-residency zone (for example "EU"); the region must belong to it. Defaults to the zone of the region. Immutable, like the region: set it at creation or never.',
      )
      .meta({
        'x-kubernetes-validations': [{ rule: 'self == oldSelf', message: 'dataResidency is immutable (data residency)' }],
      }),
    application: applicationSchema,
    ingress: ingressSchema,
    secrets: z
      .array(secretReferenceSchema)
      .max(64)
      .optional()
      .describe('Key Vault secrets mounted into the application through the Secrets Store CSI driver.')
      .meta({ 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['name'] }),
    backupPolicyRef: localObjectReference('BackupPolicy').optional(),
    maintenanceWindowRef: localObjectReference('MaintenanceWindow').optional(),
    isolation: z
      .enum(ISOLATIONS)
      .optional()
      .describe(
        'Dedicated: the tenant gets its own SQL server and its own AKS node pool, tainted for it alone. Shared: its database (with its own key and identity) lives on a shared SQL server of its region and environment, and its pods run on the shared nodes. Unset: shared nodes, and the database placed by the operator’s azure.placement.defaultIsolation (Shared unless configured). The database’s placement is decided once (status.placement) and never moved by the operator; the node pool follows a change in the maintenance window.',
      ),
    deletionPolicy: z
      .enum(['Retain', 'Delete'])
      .default('Retain')
      .describe(
        'What deleting the Tenant does to its namespace and Azure resources. Retain (default) keeps them, labelled as orphaned; Delete removes them.',
      ),
  })
  .describe('Desired state of one customer environment.')
  .meta({
    'x-kubernetes-validations': [
      {
        rule: "self.environment != 'Production' || !has(self.application.replicas) || self.application.replicas >= 2",
        message: 'Production tenants need at least 2 application replicas (99.9% availability)',
        fieldPath: '.application.replicas',
      },
      {
        rule: "self.environment != 'Production' || self.application.version != 'latest'",
        message: 'Production tenants must pin an application version, not "latest"',
        fieldPath: '.application.version',
      },
      {
        // The field's own rule covers a change; this one covers adding or removing it later, which
        // would move the tenant's data to another zone just the same.
        rule: 'has(self.dataResidency) == has(oldSelf.dataResidency)',
        message: 'dataResidency is immutable (data residency): it cannot be added or removed after creation',
        fieldPath: '.dataResidency',
      },
    ],
  });

export const DRILL_PHASES = ['Running', 'Succeeded', 'Failed'] as const;
export const DRILL_RESULTS = ['Succeeded', 'Failed', 'ExceededRTO'] as const;

const drillResult = z
  .enum(DRILL_RESULTS)
  .describe(
    'Succeeded; Failed (the restore failed, timed out or did not verify); ExceededRTO (restored and verified, but slower than the rto).',
  );

/** A restore drill as the Tenant's status records it, so a drill survives an operator restart. */
export const restoreDrillStatusSchema = z
  .object({
    phase: z.enum(DRILL_PHASES).describe('Running while the drill restores or cleans up; then Succeeded or Failed.'),
    step: z
      .enum(['Restoring', 'CleaningUp'])
      .optional()
      .describe('While Running: waiting for the restore, or deleting the scratch database.'),
    result: drillResult.optional(),
    startedAt: z.string().optional().describe('When the restore was requested (RFC 3339).'),
    finishedAt: z.string().optional().describe('When the result was known (RFC 3339).'),
    scratchDatabase: z.string().optional().describe('The scratch database the drill restores into; deleted at the end.'),
    restorePointInTime: z.string().optional().describe('The point in time restored (RFC 3339).'),
    measuredRtoSeconds: z.number().int().optional().describe('Seconds from the restore request until the database was Online.'),
    message: z.string().optional().describe('What happened, for a person.'),
    nextDrillAt: z.string().optional().describe('When the next drill is due (RFC 3339).'),
    previous: z
      .object({
        result: drillResult,
        startedAt: z.string().optional(),
        finishedAt: z.string().optional(),
        measuredRtoSeconds: z.number().int().optional(),
      })
      .optional()
      .describe('The drill before the current one, kept while the current one runs.'),
  })
  .describe('The latest restore drill.');

/** One private endpoint as the application sees it. */
const privateEndpointStatus = z.object({
  ip: z.string().describe('Private IP address of the endpoint, in the configured subnet.'),
  fqdn: z.string().optional().describe('Name that resolves to that address in the private DNS zone.'),
});

export const tenantStatusSchema = z
  .object({
    observedGeneration: z.number().int().optional().describe('The metadata.generation the status reflects.'),
    conditions: conditionsField,
    namespace: z.string().optional().describe('The namespace that holds the tenant’s workloads.'),
    provisionedAt: z
      .string()
      .optional()
      .describe(
        'When the tenant was first Ready (RFC 3339); Events for each write start after this, one Provisioned Event marks it.',
      ),
    tier: z
      .enum(TIERS)
      .optional()
      .describe('The tier that runs now; differs from spec.tier while a tier change waits for the maintenance window.'),
    isolation: z
      .enum(ISOLATIONS)
      .optional()
      .describe('The isolation that runs now; differs from spec.isolation while a change waits for the maintenance window.'),
    nodePool: z
      .string()
      .optional()
      .describe(
        'Name of the tenant’s dedicated AKS node pool (isolation Dedicated), in the cluster the operator configuration names.',
      ),
    url: z.string().optional().describe('The address the tenant is reached at.'),
    failoverDrill: z
      .object({
        running: z
          .object({
            phase: z.enum(['FailingOver', 'FailingBack']).describe('FailingOver: to the paired region; FailingBack: home again.'),
            startedAt: z.string().describe('When the failover was requested (RFC 3339); the RTO is measured from here.'),
            homeRegion: z.string().describe('The tenant’s region.'),
            partnerRegion: z.string().describe('The paired region the drill fails over to.'),
            servedAt: z.string().optional().describe('When the paired region served (RFC 3339).'),
            operation: z
              .object({ url: z.string(), kind: z.enum(['AsyncOperation', 'Location']) })
              .optional()
              .describe('The Azure operation of the current phase, polled by the next pass (after a restart too).'),
          })
          .optional()
          .describe('The drill in progress, if any: an operator restart resumes it from here.'),
        last: z
          .object({
            result: z.enum(['Succeeded', 'ExceededRTO', 'Failed']).describe('Outcome of the latest finished drill.'),
            startedAt: z.string(),
            finishedAt: z.string(),
            measuredRtoSeconds: z.number().optional().describe('Time to serve again from the paired region (achieved RTO).'),
            dataLossSeconds: z.number().optional().describe('Data lost (achieved RPO): 0 for a planned failover.'),
            message: z.string(),
          })
          .optional()
          .describe('The latest finished failover drill.'),
      })
      .optional()
      .describe('Failover drills of the geo-replicated database (BackupPolicy failoverDrill).'),
    azure: z
      .object({
        resourceGroup: z.string().optional().describe('Resource group holding the tenant’s Azure resources.'),
        sqlResourceGroup: z
          .string()
          .optional()
          .describe(
            'Resource group of the SQL server holding the database, when it is a shared one (not the tenant’s own group).',
          ),
        sqlServerFqdn: z.string().optional().describe('Fully qualified domain name of the tenant’s SQL server.'),
        databaseName: z.string().optional().describe('Name of the tenant’s dedicated database.'),
        keyVaultUri: z.string().optional().describe('URI of the tenant’s Key Vault.'),
        identityClientId: z.string().optional().describe('Client id of the tenant’s workload identity.'),
        earliestRestorePoint: z.string().optional().describe('Earliest point in time the database can be restored to.'),
        privateEndpoints: z
          .object({
            sql: privateEndpointStatus.optional().describe('The SQL server’s private endpoint.'),
            keyVault: privateEndpointStatus.optional().describe('The Key Vault’s private endpoint.'),
            sqlSecondary: privateEndpointStatus
              .optional()
              .describe('The geo-secondary SQL server’s private endpoint (paired region), reached after a failover.'),
          })
          .optional()
          .describe(
            'The private endpoints the application reaches its database and vault through; the tenant’s egress NetworkPolicy allows exactly these addresses.',
          ),
        keyVersion: z
          .string()
          .optional()
          .describe('Current version of the tenant’s encryption key (Key Vault rotates it on its rotation policy).'),
        keyCreatedAt: z
          .string()
          .optional()
          .describe('When that key version was created (RFC 3339): the key’s age is now minus this.'),
        keyExpiresAt: z
          .string()
          .optional()
          .describe('When that key version expires (RFC 3339); a newer version is due well before.'),
        sqlKeyVersion: z
          .string()
          .optional()
          .describe(
            'The key version the SQL server’s encryption protector uses; follows keyVersion after a rotation (Azure SQL within an hour, or the operator on its next check).',
          ),
        threatDetection: z
          .enum(['Enabled', 'Disabled'])
          .optional()
          .describe('Microsoft Defender for SQL (advanced threat protection) on the tenant’s SQL server.'),
        auditRetentionDays: z
          .number()
          .int()
          .optional()
          .describe('Days the audit workspace keeps the tenant’s SQL and Key Vault audit records, as last read.'),
        databaseHost: z
          .string()
          .optional()
          .describe(
            'The host name the application connects to: the failover group’s read-write listener when the database is geo-replicated (it follows a failover), else the SQL server’s own name.',
          ),
        geoReplication: z
          .object({
            failoverGroup: z.string().optional().describe('Name of the tenant database’s failover group.'),
            listener: z.string().optional().describe('Read-write listener (always the current primary).'),
            readOnlyListener: z.string().optional().describe('Read-only listener (the current secondary).'),
            primaryRegion: z.string().optional().describe('Region that serves reads and writes now.'),
            partnerRegion: z.string().optional().describe('Region of the geo-secondary (the tenant region’s pair).'),
            role: z
              .enum(['Primary', 'Secondary'])
              .optional()
              .describe('Role of the tenant’s home-region server: Secondary after a failover to the paired region.'),
            state: z
              .string()
              .optional()
              .describe(
                'Azure’s replication state: SEEDING while the secondary is first copied, CATCH_UP once it follows the primary.',
              ),
            lagSeconds: z
              .number()
              .int()
              .min(0)
              .optional()
              .describe(
                'Seconds the geo-secondary trails the primary (replication_lag_sec of the database’s sys.dm_geo_replication_link_status; ARM does not report it), read with the database’s other checks while the home-region database is the primary; absent while seeding, after a failover, or not read yet.',
              ),
            lastReplication: z
              .string()
              .optional()
              .describe('When the primary last heard the geo-secondary harden its log (RFC 3339), read with lagSeconds.'),
          })
          .optional()
          .describe('The database’s geo-replication, as Azure last reported it.'),
        operations: z
          .array(
            z.object({
              key: z.string().describe('Which of the tenant’s resources.'),
              id: z.string().describe('ARM id of the resource.'),
              method: z.enum(['PUT', 'PATCH', 'DELETE']).describe('The write Azure is running.'),
              url: z.string().describe('Where the operation is polled (Azure-AsyncOperation or Location).'),
              kind: z.enum(['AsyncOperation', 'Location']).describe('How it is polled.'),
              startedAt: z.string().describe('When it was begun (RFC 3339).'),
            }),
          )
          .optional()
          .describe(
            'Azure operations begun and still running; the next pass (after a restart too) looks at them instead of starting them again.',
          ),
        verified: z
          .object({
            fingerprint: z.string().describe('Hash of the desired Azure state that was found converged.'),
            at: z.string().describe('When (RFC 3339).'),
          })
          .optional()
          .describe('The last pass that found every Azure resource as desired; trusted for azure.driftCheckIntervalSeconds.'),
      })
      .optional()
      .describe('Where the tenant’s Azure resources are. Never contains secret values.'),
    placement: z
      .object({
        isolation: z.enum(ISOLATIONS).describe('Shared or Dedicated, as placed.'),
        subscriptionId: z.string().describe('The Azure subscription holding the tenant’s resources.'),
        sqlServer: z
          .object({
            resourceGroup: z.string().describe('Resource group of the SQL server.'),
            name: z.string().describe('Name of the SQL server.'),
            shared: z.boolean().describe('True for a shared server of the region and environment.'),
          })
          .describe('The SQL server that holds the tenant’s database.'),
        placedAt: z.string().describe('When the placement was recorded (RFC 3339).'),
        migrated: z
          .boolean()
          .optional()
          .describe('True when recorded for a tenant that existed before placement (kept on its own server).'),
        reason: z
          .enum(['GeoReplicated'])
          .optional()
          .describe(
            'Why a tenant whose spec names no isolation is on a server of its own though the default is Shared: GeoReplicated (a failover group is built for a server of the tenant’s own).',
          ),
      })
      .optional()
      .describe('Where the tenant’s database lives. Recorded once and stable: a live database is never moved.'),
    maintenance: z
      .object({
        nextWindowOpens: z.string().optional().describe('When the next maintenance window opens (RFC 3339).'),
        nextWindowCloses: z.string().optional().describe('When that window closes (RFC 3339).'),
        pendingChanges: z.array(z.string()).optional().describe('Disruptive changes waiting for the window.'),
        pendingSummary: z
          .string()
          .optional()
          .describe('The waiting changes in one line, for `kubectl get` (a list column prints as escaped JSON).'),
        pendingSince: z.string().optional().describe('When the oldest pending change was first held.'),
        announcedAt: z
          .string()
          .optional()
          .describe(
            'When the pending changes, exactly as listed, were first seen and announced; they land only in a window opening at least the configured notice after this.',
          ),
        windowOpen: z.boolean().optional().describe('Whether the tenant’s maintenance window is open now.'),
        emergencyApplied: z
          .string()
          .optional()
          .describe(
            'Digest (sha256:…) of the tenancy.dev/apply-now reason last honoured, never its text; a new reason is needed for another override.',
          ),
      })
      .optional()
      .describe('Maintenance-window state: what waits, and until when.'),
    backup: z
      .object({
        policy: z.string().optional().describe('The BackupPolicy in force.'),
        retention: z
          .object({
            retentionDays: z.number().int().optional().describe('Point-in-time restore days in force on the database.'),
            diffBackupIntervalHours: z.number().int().optional().describe('Hours between differential backups.'),
            weeklyRetention: z.string().optional().describe('Long-term retention of weekly backups (ISO 8601).'),
            monthlyRetention: z.string().optional().describe('Long-term retention of monthly backups (ISO 8601).'),
            yearlyRetention: z.string().optional().describe('Long-term retention of yearly backups (ISO 8601).'),
            weekOfYear: z.number().int().optional().describe('Week whose backup is the yearly one.'),
          })
          .optional()
          .describe('Backup retention as Azure reports it for the database.'),
        newestRestorePoint: z
          .string()
          .optional()
          .describe(
            'Newest point in time the database can be restored to, as last recorded (RFC 3339): the newest completed backup the database lists (sys.dm_database_backups). Recorded again once it is three quarters of the RPO old, not at every log backup (status is not a heartbeat), so while the database is within its RPO this is too; BackupHealthy is checked against the live list on every pass.',
          ),
        drill: restoreDrillStatusSchema.optional(),
      })
      .optional()
      .describe('Backups: retention in force, the newest restore point, and restore drills.'),
    database: z
      .object({
        user: z
          .string()
          .optional()
          .describe('The contained database user of the tenant’s workload identity (the application logs in as it).'),
        roles: z.array(z.string()).optional().describe('Database roles that user is a member of.'),
        permissions: z.array(z.string()).optional().describe('Database-scope permissions granted to that user.'),
        migrationPrincipal: z
          .string()
          .optional()
          .describe(
            'The principal schema changes run as (azure.sqlDataPlane.migrationGroup), with db_ddladmin; never the application.',
          ),
        excessPrivileges: z
          .array(z.string())
          .optional()
          .describe('Rights beyond what the operator grants, held by Entra principals of the database, as last checked.'),
        verified: z
          .object({
            fingerprint: z.string().describe('Hash of the desired principals that were found in place.'),
            at: z.string().describe('When (RFC 3339).'),
          })
          .optional()
          .describe('The last check that found every principal as desired; trusted for azure.driftCheckIntervalSeconds.'),
      })
      .optional()
      .describe('Who may use the tenant’s database, as its catalogue showed it. Never contains a token.'),
  })
  .describe('Observed state, written by the operator only.');

export type TenantSpec = z.infer<typeof tenantSpecSchema>;
export type TenantStatus = z.infer<typeof tenantStatusSchema>;
export type Tenant = CustomObject<TenantSpec, TenantStatus>;
