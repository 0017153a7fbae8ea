/**
 * The catalogue of every condition type and reason the operator writes on Tenants, BackupPolicies
 * and MaintenanceWindows: what each means and who must act. It is the single source for
 * - the `Reconciling` and `Stalled` conditions (kstatus, which Flux uses): a reason's class says
 *   whether the operator is still working (`progress`, `transient`) or waits for a person (`spec`,
 *   `platform`), see {@link kstatusConditions};
 * - the Argo CD health script, which reads those two conditions instead of a list of reasons;
 * - the metrics' "who must act" label and the alerts that page the platform team;
 * - the condition tables in README.md (`node hack/generate-docs.ts` writes them; `--check` in CI).
 * A test scans `src/` so that no reason can be written without an entry here.
 */

import { type ConditionInput, setCondition, summarizeReady } from '../../runtime/conditions.ts';
import type { Condition } from './common.ts';

/**
 * What a reason says about the object:
 * - `ok`: the condition is as desired;
 * - `progress`: the operator is working on it (creating, rolling out, waiting for a dependency);
 * - `transient`: an error the operator retries by itself (throttling, an outage, a conflict);
 * - `spec`: only a change of the object's spec (or of what it references) fixes it;
 * - `platform`: the platform team must act (a permission, a quota, a provider, the configuration).
 */
export type ReasonClass = 'ok' | 'progress' | 'transient' | 'spec' | 'platform';

/** Who acts next, by class: the label of metrics and the column of the README tables. */
export const ACTOR: Readonly<Record<ReasonClass, 'nobody' | 'operator' | 'owner' | 'platform-team'>> = {
  ok: 'nobody',
  progress: 'operator',
  transient: 'operator',
  spec: 'owner',
  platform: 'platform-team',
};

interface ReasonEntry {
  class: ReasonClass;
  /** One line for the README: what happened and, when someone must act, what to do. */
  means: string;
}

const entry = (cls: ReasonClass, means: string): ReasonEntry => ({ class: cls, means });

/** Every reason, by name. Reasons are shared across condition types (an Azure error can hit any component). */
export const REASONS = {
  // As desired.
  Reconciled: entry('ok', 'Every component is ready.'),
  RegionAllowed: entry('ok', 'The region belongs to the tenant’s data-residency zone.'),
  NamespaceActive: entry('ok', 'The namespace exists with its quota and limits.'),
  DefaultDenyEnforced: entry('ok', 'Default-deny and the allow policies are in place.'),
  Provisioned: entry('ok', 'The Azure resources of this component exist as specified.'),
  Prevention: entry('ok', 'The WAF policy blocks what its rules match.'),
  DetectionOnly: entry('ok', 'The WAF policy logs what its rules match without blocking (configured so).'),
  Available: entry('ok', 'The application serves with its desired replicas.'),
  Configured: entry('ok', 'The front door serves the tenant’s URL over HTTPS behind its WAF policy.'),
  ConfiguredWithoutWaf: entry(
    'ok',
    'The front door serves the tenant’s URL over HTTPS without a per-tenant WAF policy (Kubernetes-only mode, opted in).',
  ),
  NotManaged: entry('ok', 'This component is not managed by the operator in this installation (Kubernetes-only mode).'),
  SharedNodes: entry('ok', 'Isolation Shared: the tenant runs on the cluster’s shared nodes; it has no node pool of its own.'),
  NodePoolNotConfigured: entry(
    'platform',
    'Isolation Dedicated, but the operator configuration names no AKS cluster (`azure.cluster`): the platform team must configure it.',
  ),
  PlacedOnSharedServer: entry(
    'ok',
    'The database lives on a shared SQL server of its region and environment, encrypted with the tenant’s own key through its own identity.',
  ),
  PlacedOnDedicatedServer: entry('ok', 'The database lives on a SQL server of the tenant’s own (spec.isolation Dedicated).'),
  KeptOnOwnServer: entry(
    'ok',
    'The tenant existed before shared servers and stays on its own SQL server (recorded as Dedicated; nothing was moved).',
  ),
  IsolationChangeNeedsMigration: entry(
    'ok',
    'spec.isolation differs from where the database lives; the operator never moves a live database: plan a migration (README "Placement") or set spec.isolation back.',
  ),
  NoPendingChanges: entry('ok', 'Nothing waits for a maintenance window.'),
  MaintenanceApplied: entry('ok', 'The held changes were applied in the maintenance window.'),
  EmergencyChange: entry('ok', 'Held changes were applied at once through `tenancy.dev/apply-now`.'),
  WithinRPO: entry('ok', 'The newest restore point is within the recovery point objective.'),
  DatabaseUserReady: entry(
    'ok',
    'The workload identity’s contained database user has db_datareader, db_datawriter and EXECUTE (never db_owner or DDL).',
  ),
  NoExcessPrivileges: entry('ok', 'No Entra principal of the database holds db_owner, DDL or security rights it was not given.'),
  ExcessPrivilegesRevoked: entry(
    'ok',
    'Rights beyond what the operator grants were revoked (`azure.sqlDataPlane.reduceExcessPrivileges`); which, in the message.',
  ),
  DrillSucceeded: entry('ok', 'The latest restore drill restored the database within the RTO.'),
  DrillsDisabled: entry('ok', 'The BackupPolicy asks for no restore drills.'),
  Accepted: entry('ok', 'The BackupPolicy is valid and in force.'),
  Open: entry('ok', 'The maintenance window is open.'),
  Closed: entry('ok', 'The maintenance window is valid and closed now.'),
  Current: entry('ok', 'The operator has nothing left to do for this generation.'),
  AcrossAvailabilityZones: entry('ok', 'The database is zone-redundant: its replicas span the region’s availability zones.'),
  NotProduction: entry('ok', 'Not zone-redundant by design: only Production databases are.'),
  NoAvailabilityZones: entry(
    'ok',
    'Not zone-redundant: the tenant’s region has no availability zones (`azure.availabilityZoneRegions`); nothing to do short of another region.',
  ),
  Replicating: entry(
    'ok',
    'The database is geo-replicated to the paired region; the application uses the failover group’s read-write listener.',
  ),
  NotRequested: entry('ok', 'Not geo-replicated by design: the tenant’s BackupPolicy does not set `geoReplication: Enabled`.'),
  NoPairedRegion: entry(
    'ok',
    'Not geo-replicated: Azure pairs the tenant’s region with no other (`azure.regionPairs`); nothing to do short of another region.',
  ),
  // The operator is working.
  Seeding: entry('progress', 'The geo-secondary database is being seeded (a full copy) before it follows the primary.'),
  Provisioning: entry('progress', 'Azure resources are being created or updated; the operator polls them.'),
  AzureDependencyNotReady: entry('progress', 'An Azure resource waits for another one to exist.'),
  AzureRbacPropagating: entry('progress', 'A new Azure role assignment is propagating (Azure needs up to a few minutes).'),
  WaitingForKeyVault: entry('progress', 'The application mounts Key Vault secrets and starts once the vault and identity exist.'),
  WaitingForDatabase: entry(
    'progress',
    'A new tenant’s application starts once its database is reachable, so its pods start once, with their database.',
  ),
  WaitingForWafPolicy: entry('progress', 'The front door is exposed once the tenant’s WAF policy exists.'),
  DeploymentMissing: entry('progress', 'The application Deployment does not exist yet.'),
  RollingOut: entry('progress', 'A new version of the application is rolling out.'),
  RolloutPending: entry('progress', 'The Deployment controller has not observed the latest application spec yet.'),
  ReplicasUnavailable: entry('progress', 'Fewer replicas are available than desired.'),
  RolloutStuck: entry(
    'spec',
    'The rollout exceeded its progress deadline (bad image, crash loop or no capacity): see the pods’ events.',
  ),
  NamespaceTerminating: entry('progress', 'The tenant’s old namespace is still being deleted; it is recreated once gone.'),
  WaitingForWindow: entry(
    'progress',
    'Disruptive changes wait for the tenant’s maintenance window (or `tenancy.dev/apply-now`).',
  ),
  WaitingForNotice: entry(
    'progress',
    'A window is open, but too soon after the change was announced (advance notice): it lands in a later window.',
  ),
  EmergencyOverride: entry('progress', 'Held changes are being applied now through `tenancy.dev/apply-now`.'),
  FirstProvisioning: entry('progress', 'A new tenant is created at once; maintenance windows govern later changes.'),
  WindowOpen: entry('progress', 'The maintenance window is open; held changes are being applied.'),
  NoUpcomingWindow: entry('spec', 'The MaintenanceWindow never opens again: held changes wait forever; fix its schedule.'),
  NoDrillYet: entry('progress', 'No restore drill has run yet; the first runs in the next maintenance window.'),
  DrillStarted: entry('progress', 'A restore drill has started.'),
  DrillRunning: entry('progress', 'A restore drill is running.'),
  DrillScratchDeleted: entry('progress', 'The drill’s scratch database was deleted.'),
  DrillCleanupPending: entry('progress', 'The drill’s scratch database is being deleted.'),
  DrillNotStarted: entry('transient', 'The restore drill could not start; it is retried.'),
  DrillCanceled: entry('progress', 'The drill was canceled (policy change or tenant deletion); its scratch database is removed.'),
  BackupsUnknown: entry('progress', 'The backups of a new database are not known yet.'),
  DatabaseNotReady: entry('progress', 'The database and the workload identity must exist before its user is created.'),
  DeletingAzureResources: entry('progress', 'The tenant is being deleted: its Azure resources go first.'),
  ReleasingAzureResources: entry(
    'progress',
    'The tenant is being deleted with `deletionPolicy: Retain`: Azure resources are released.',
  ),
  // Errors the operator retries by itself.
  AzureThrottled: entry('transient', 'Azure throttled the operator (429); it waits as Retry-After says.'),
  SqlUnavailable: entry('transient', 'The database refused the connection for now (SQL error 40613, 40501, ...); retried.'),
  SqlConnectionFailed: entry('transient', 'The database could not be reached over TDS (network, timeout); retried.'),
  AzureUnavailable: entry('transient', 'Azure answered 5xx or could not be reached; retried with backoff.'),
  AzureRequestTimeout: entry('transient', 'An Azure request timed out; retried.'),
  AzureConflict: entry('transient', 'Another operation runs on the same Azure resource; retried.'),
  AzureOperationFailed: entry('transient', 'An Azure long-running operation failed without a known code; retried.'),
  AzureError: entry('transient', 'Azure answered an error the operator does not classify; retried with backoff.'),
  DatabasePaused: entry(
    'transient',
    'The serverless database is paused and refused the change: the operator logs in to resume it and retries.',
  ),
  BackupCheckFailed: entry('transient', 'Reading the database’s backups failed; retried.'),
  KubernetesUnreachable: entry('transient', 'The Kubernetes API server could not be reached; retried.'),
  KubernetesApiError: entry('transient', 'The Kubernetes API server answered an error; retried.'),
  Conflict: entry('transient', 'A Kubernetes write conflicted with another; retried.'),
  // Only a spec change fixes these.
  InvalidSpec: entry('spec', 'The spec breaks a rule the schema cannot express; edit it as the message says.'),
  InvalidObject: entry('spec', 'The API server rejected an object built from the spec; edit the spec as the message says.'),
  InvalidSchedule: entry('spec', 'The MaintenanceWindow’s schedule is invalid; edit it as the message says.'),
  RegionNotAllowed: entry('spec', 'The region is outside the tenant’s data-residency zone; nothing new is provisioned.'),
  UnknownResidencyZone: entry('spec', 'The data-residency zone is not one the configuration knows.'),
  BackupRedundancyNotAllowed: entry(
    'spec',
    'The BackupPolicy’s redundancy would copy backups out of the residency zone; choose another policy.',
  ),
  BackupPolicyNotFound: entry('spec', 'The referenced BackupPolicy does not exist: create it or fix `backupPolicyRef`.'),
  MaintenanceWindowNotFound: entry(
    'spec',
    'The referenced MaintenanceWindow does not exist: disruptive changes are held until it does.',
  ),
  InvalidMaintenanceWindow: entry(
    'spec',
    'The referenced MaintenanceWindow is invalid: disruptive changes are held until it is fixed.',
  ),
  UnattainableObjectives: entry('spec', 'The BackupPolicy’s RPO or RTO cannot be met as written; edit the policy.'),
  FinalBackupRetentionMissing: entry(
    'spec',
    '`deletionPolicy: Delete` needs a final backup kept long enough; set the policy’s long-term retention.',
  ),
  AzureInvalidSku: entry('spec', 'Azure refused the SKU of the tenant’s tier in its region.'),
  AzureInvalidRequest: entry('spec', 'Azure refused the request as invalid.'),
  AzureInvalidKeyUri: entry('spec', 'The customer-managed key URI is invalid.'),
  AzureRegionNotAllowed: entry('spec', 'Azure does not offer this service in the tenant’s region for this subscription.'),
  AzureLocationConflict: entry('spec', 'An existing Azure resource lives in another region than the spec says.'),
  AzureNameUnavailable: entry('spec', 'A globally unique Azure name is taken (for example by a soft-deleted vault).'),
  AzureImmutableDifference: entry('spec', 'The spec asks to change something Azure cannot change in place.'),
  AzurePolicyDenied: entry('spec', 'An Azure Policy assignment denied the request; the spec (or the policy) must change.'),
  // The platform team must act.
  RegionNotServed: entry(
    'spec',
    'Another cluster serves the tenant’s region (`servedRegions`): apply the Tenant there; nothing is done here.',
  ),
  AzureOwnedByAnotherInstance: entry(
    'platform',
    'An Azure resource with the tenant’s name is tagged as owned by another operator instance: it is never adopted, changed or deleted; check `azure.instanceName`.',
  ),
  NoSubscriptionCapacity: entry(
    'platform',
    'Every subscription configured for the tenant’s region and environment is at a limit (resource groups, SQL servers in the region, role assignments): add a subscription to azure.subscriptions or raise a quota and its configured limit. Nothing was created; existing tenants are not affected.',
  ),
  AzureAuthorizationFailed: entry('platform', 'The operator’s identity lacks an Azure permission; grant it.'),
  AzureAuthenticationFailed: entry('platform', 'The operator could not authenticate to Azure; check its workload identity.'),
  AzureProviderNotRegistered: entry('platform', 'A resource provider is not registered in the subscription; register it.'),
  AzureQuotaExceeded: entry('platform', 'A subscription quota or limit is reached; raise it or add capacity.'),
  AzureVmSizeNotAvailable: entry(
    'platform',
    "The node pool's VM size (`azure.cluster.nodePools`) is not offered in the cluster's region or subscription; choose another size.",
  ),
  AzureSubscriptionNotFound: entry('platform', 'The configured subscription does not exist or is not visible to the operator.'),
  AzureSubscriptionDisabled: entry('platform', 'The subscription is disabled or read-only.'),
  AzureReferenceNotFound: entry(
    'platform',
    'A resource the configuration names (a private endpoint subnet, a private DNS zone) does not exist or is in another region; the message names it.',
  ),
  PrivateEndpointNotConfigured: entry(
    'platform',
    'No private endpoint subnet (`azure.privateEndpoints.subnets.<region>`) or private DNS zone (`azure.privateDnsZones`) is configured for the tenant: its database and vault are unreachable until the platform team adds it.',
  ),
  Forbidden: entry('platform', 'The Kubernetes API server forbade a write: check the operator’s RBAC.'),
  WafNotManaged: entry(
    'platform',
    'Kubernetes-only mode has no per-tenant WAF policy, so nothing is exposed: configure Azure, or set `frontDoor.exposeWithoutWafPolicy`.',
  ),
  FrontDoorApiMissing: entry(
    'platform',
    'The cluster does not serve the front door’s API (Gateway API or Ingress): install it or set `frontDoor.mode`.',
  ),
  SqlLoginRefused: entry(
    'platform',
    'The database refused the operator’s login (SQL error 18456): its identity must be the server’s Entra admin or in `azure.sqlAdminGroup`.',
  ),
  SqlStatementFailed: entry(
    'platform',
    'A T-SQL statement the operator ran failed: the SQL error number and message say why (e.g. 15063: a user with that identity exists under another name).',
  ),
  SqlTlsRefused: entry('platform', 'The SQL server’s TLS certificate was not trusted for its name.'),
  ExcessPrivileges: entry(
    'platform',
    'An Entra principal of the database holds db_owner, DDL or security rights the operator did not grant: revoke them, or set `azure.sqlDataPlane.reduceExcessPrivileges`.',
  ),
  RPOBreached: entry('platform', 'The newest restore point is older than the RPO: check the database’s backups in Azure.'),
  DrillFailed: entry('platform', 'The latest restore drill failed: restores are not proven to work.'),
  DrillExceededRTO: entry('platform', 'The latest restore drill took longer than the RTO.'),
  DrillCleanupFailed: entry('platform', 'The drill’s scratch database could not be deleted; it costs money until removed.'),
  // Time-limited access (AccessRequest, src/access/): its Ready condition says where the request
  // stands; final phases are Ready (the operator has nothing left to do), so they are `ok`.
  AwaitingApproval: entry('spec', 'Waiting for a member of the approvers group (not the requester) to set `spec.approval`.'),
  Granting: entry('progress', 'Approved: the operator is granting exactly the requested role.'),
  AccessGranted: entry('ok', 'The access exists until `status.expiresAt`; the operator removes it then.'),
  RemovingAccess: entry('progress', 'The access expired or was revoked; the operator is removing the grant.'),
  RemovalNotYetAllowed: entry(
    'progress',
    'Azure refuses to end a role assignment in its first five minutes; the operator removes it as soon as Azure allows.',
  ),
  AccessExpired: entry('ok', 'The access expired and its grant was removed (or nobody approved it in time).'),
  AccessRevoked: entry('ok', 'The access was revoked (or the request withdrawn) and its grant removed.'),
  AccessDenied: entry('ok', 'An approver denied the request; nothing was granted.'),
  PolicyViolation: entry(
    'spec',
    'The request breaks the access policy (duration, role, principal, self-approval); nothing is granted: file a new one.',
  ),
  TenantNotFound: entry('spec', 'The tenant the request names does not exist; nothing is granted.'),
  TenantNotReady: entry('progress', 'The tenant’s namespace (or database) does not exist yet; granted once it does.'),
  RoleNotConfigured: entry(
    'platform',
    'The role is not in the operator’s `access.roles` (or needs Azure, which is not configured): fix the configuration.',
  ),
  AccessPolicyMissing: entry(
    'platform',
    'The access admission policy (config/access) is not installed: nothing is granted, since identities would be unchecked.',
  ),
  AuditRetentionTooShort: entry(
    'platform',
    'The audit workspace’s table keeps records fewer days than `azure.audit.retentionDays` (at least 180): raise its retention.',
  ),
  AuditWorkspaceNotFound: entry(
    'platform',
    'The Log Analytics workspace `azure.audit` names does not exist: create it or fix the configuration.',
  ),
  KeyRotationPolicyDiffers: entry(
    'platform',
    'The tenant key’s rotation policy was removed or changed by hand; ARM cannot restore it on an existing key: set it again (README, “Key rotation”).',
  ),
  PairedRegionOutsideResidency: entry(
    'spec',
    'Not geo-replicated: the paired region is outside the tenant’s data-residency zone, so no secondary is created; use a BackupPolicy without `geoReplication`, or another region.',
  ),
  SharedServerNotReplicated: entry(
    'platform',
    'Not geo-replicated: the database lives on a shared SQL server (spec.isolation Shared, or placed before its BackupPolicy asked for a secondary); failover groups are built for a tenant’s own server only, and a live database is moved only by a planned migration.',
  ),
  SkuNotZoneRedundant: entry(
    'platform',
    'Not zone-redundant: Azure offers no zone redundancy for the tier’s SQL SKU (DTU Basic or Standard); configure a vCore or Premium SKU.',
  ),
} as const satisfies Record<string, ReasonEntry>;

export type Reason = keyof typeof REASONS;

/**
 * Reasons of Events that are not condition reasons (a Warning Event for a failure carries the
 * failure's condition reason instead). Listed so the README and the catalogue test know them.
 */
export const EVENT_REASONS = {
  Provisioned: 'The tenant became Ready for the first time (its first provisioning: no Event per write before this).',
  Applied: 'Kubernetes objects of the tenant were created or updated (which ones, in the message).',
  AzureApplied: 'Azure resources were created or updated after the first provisioning: what changed, old -> new, in the message.',
  UpdatePending: 'A disruptive change is held for the maintenance window.',
  FailoverDrillStarted:
    'A failover drill began in the maintenance window: a planned failover of the geo-replicated database to the paired region, then back.',
  FailoverDrillSucceeded: 'A failover drill ended within the RTO with no data lost; the home region serves again.',
  FailoverDrillExceededRTO: 'A failover drill ended, but the paired region served later than the RTO (Warning).',
  FailoverDrillFailed:
    'A failover drill could not fail over; the home region still serves (Warning, Azure’s error in the message).',
  FailoverDrillRetrying: 'Failing back at the end of a failover drill failed and was requested again (Warning).',
  Deleting: 'The tenant is being deleted with `deletionPolicy: Delete`: what will be removed.',
  Deleted: 'The tenant’s namespace (and Azure resources) were deleted.',
  Releasing: 'The tenant is being deleted with `deletionPolicy: Retain`: what will be kept.',
  Released: 'The tenant’s namespace and Azure resources were kept, marked as orphaned.',
  DriftRepaired:
    'Something the operator owns was changed or deleted outside it (by hand) and was restored: which object and fields, in the message.',
  AzureDeleteFailed: 'Deleting the tenant’s Azure resources failed; retried (the condition says why).',
  AzureReleaseFailed: 'Releasing the tenant’s Azure resources failed; retried (the condition says why).',
  AccessRequested: 'Someone asked for time-limited access (who, which role, which tenant, how long; never the reason text).',
  AccessApproved: 'An approver approved an AccessRequest.',
  AccessRemoved: 'A grant was removed because its AccessRequest was deleted (or is gone), not because it expired.',
  DatabaseAccessApplied:
    'T-SQL changed who may use the tenant’s database (a user created, a role or permission granted or revoked): the statements, in the message.',
} as const;

export type ConditionKind = 'Tenant' | 'BackupPolicy' | 'MaintenanceWindow' | 'AccessRequest';

interface ConditionTypeEntry {
  kinds: readonly ConditionKind[];
  /**
   * `component`: part of Ready (Ready is True only when all are); `summary`: Ready, Reconciling,
   * Stalled; `informational`: reported, never makes the object un-Ready.
   */
  role: 'component' | 'summary' | 'informational';
  means: string;
}

/** Every condition type, with the kinds that carry it. */
export const CONDITION_TYPES = {
  Ready: {
    kinds: ['Tenant', 'BackupPolicy', 'MaintenanceWindow', 'AccessRequest'],
    role: 'summary',
    means: 'True when every component is; otherwise the first one that is not, with its reason.',
  },
  Reconciling: {
    kinds: ['Tenant', 'BackupPolicy', 'MaintenanceWindow', 'AccessRequest'],
    role: 'summary',
    means: 'True while the operator works toward the spec (kstatus: InProgress).',
  },
  Stalled: {
    kinds: ['Tenant', 'BackupPolicy', 'MaintenanceWindow', 'AccessRequest'],
    role: 'summary',
    means: 'True when only a person can make progress: the reason says who (kstatus: Failed).',
  },
  RegionServed: {
    kinds: ['Tenant'],
    role: 'component',
    means: 'False only when another cluster serves the tenant’s region (`servedRegions`); absent otherwise.',
  },
  SpecValid: { kinds: ['Tenant'], role: 'component', means: 'The spec passes the rules the schema cannot express.' },
  Placed: {
    kinds: ['Tenant'],
    role: 'component',
    means: 'Where the tenant’s database lives is decided and recorded (status.placement): a shared SQL server or its own.',
  },
  DataResidency: {
    kinds: ['Tenant'],
    role: 'component',
    means: 'The region belongs to the data-residency zone, and so does the backup redundancy.',
  },
  NamespaceReady: { kinds: ['Tenant'], role: 'component', means: 'The tenant’s namespace exists with its quota and limits.' },
  NetworkIsolated: { kinds: ['Tenant'], role: 'component', means: 'Default-deny and the allow policies are in place.' },
  IdentityReady: {
    kinds: ['Tenant'],
    role: 'component',
    means: 'The tenant’s managed identity and its federated credential exist.',
  },
  KeyVaultReady: { kinds: ['Tenant'], role: 'component', means: 'The tenant’s Key Vault and encryption key exist.' },
  DatabaseReady: {
    kinds: ['Tenant'],
    role: 'component',
    means: 'The tenant’s database is online, private, Entra-only and encrypted with its key.',
  },
  WafEnforced: { kinds: ['Tenant'], role: 'component', means: 'The tenant’s WAF policy exists with its rules.' },
  NodePoolReady: {
    kinds: ['Tenant'],
    role: 'component',
    means:
      'Isolation Dedicated: the tenant’s own AKS node pool exists, labelled and tainted for it, and its pods are placed there. Shared: True (SharedNodes).',
  },
  AzureResourcesReady: { kinds: ['Tenant'], role: 'component', means: 'Every Azure resource of the tenant exists as specified.' },
  ApplicationAvailable: { kinds: ['Tenant'], role: 'component', means: 'The application serves with its desired replicas.' },
  IngressReady: { kinds: ['Tenant'], role: 'component', means: 'The front door serves the tenant’s URL.' },
  UpdatePending: {
    kinds: ['Tenant'],
    role: 'informational',
    means: 'True while disruptive changes wait for the maintenance window.',
  },
  BackupHealthy: {
    kinds: ['Tenant'],
    role: 'informational',
    means: 'The newest restore point (the newest backup the database lists) is within the RPO.',
  },
  DatabaseAccessReady: {
    kinds: ['Tenant'],
    role: 'informational',
    means:
      'The workload identity’s contained database user exists with data reader/writer and EXECUTE (T-SQL, checked on the drift interval).',
  },
  DatabaseLeastPrivilege: {
    kinds: ['Tenant'],
    role: 'informational',
    means: 'No Entra principal of the database holds db_owner, DDL or security rights beyond what the operator grants.',
  },
  RestoreDrillSucceeded: {
    kinds: ['Tenant'],
    role: 'informational',
    means: 'The latest restore drill restored the database within the RTO.',
  },
  ZoneRedundant: {
    kinds: ['Tenant'],
    role: 'informational',
    means:
      'The tenant’s database is zone-redundant (Production, in a region with availability zones); otherwise the reason says why not.',
  },
  GeoReplicated: {
    kinds: ['Tenant'],
    role: 'informational',
    means:
      'The tenant’s database has a geo-secondary in the paired region, caught up, behind a failover group; otherwise the reason says why not.',
  },
  Finalized: {
    kinds: ['Tenant'],
    role: 'informational',
    means: 'False while a deleted tenant’s Azure resources are deleted or released.',
  },
} as const satisfies Record<string, ConditionTypeEntry>;

export type ConditionType = keyof typeof CONDITION_TYPES;

/** The class of a reason; one the catalogue does not know is treated as transient (the operator retries). */
export function reasonClass(reason: string): ReasonClass {
  return (REASONS as Record<string, ReasonEntry>)[reason]?.class ?? 'transient';
}

export function isCatalogued(reason: string): reason is Reason {
  return Object.hasOwn(REASONS, reason);
}

/**
 * Pure: the `Reconciling` and `Stalled` conditions that kstatus (Flux) reads, from the
 * conditions that decide Ready (`components`) and the UpdatePending condition, if any. Stalled is
 * True when a component is not True for a reason only a person can fix (`spec` or `platform`), or
 * when a held change can never land without one (its MaintenanceWindow missing, invalid, or never
 * opening again); otherwise Reconciling is True while a component is not True. Both False means
 * the operator is done with this generation: a change held for a window that will open is settled,
 * not in progress (Ready says what runs, UpdatePending what waits and until when).
 */
export function kstatusConditions(
  components: readonly ConditionInput[],
  updatePending?: ConditionInput,
): [ConditionInput, ConditionInput] {
  const needsPerson = (c: ConditionInput) => {
    const cls = reasonClass(c.reason);
    return cls === 'spec' || cls === 'platform';
  };
  const notTrue = components.filter((c) => c.status !== 'True');
  const stuck =
    notTrue.find(needsPerson) ?? (updatePending?.status === 'True' && needsPerson(updatePending) ? updatePending : undefined);
  if (stuck) {
    return [
      { type: 'Stalled', status: 'True', reason: stuck.reason, message: `${stuck.type}: ${stuck.message}` },
      {
        type: 'Reconciling',
        status: 'False',
        reason: stuck.reason,
        message: `Waiting for ${ACTOR[reasonClass(stuck.reason)]} to act.`,
      },
    ];
  }
  const working = notTrue[0];
  if (working) {
    return [
      { type: 'Stalled', status: 'False', reason: working.reason, message: 'Nothing needs a person; the operator is working.' },
      { type: 'Reconciling', status: 'True', reason: working.reason, message: `${working.type}: ${working.message}` },
    ];
  }
  return [
    { type: 'Stalled', status: 'False', reason: 'Current', message: 'Nothing needs a person.' },
    {
      type: 'Reconciling',
      status: 'False',
      reason: 'Current',
      message: 'The operator has nothing left to do for this generation.',
    },
  ];
}

/**
 * The summary every status of the operator carries: `components` set as given, then `Ready`
 * (summarising them, unless a component is Ready itself, as for the objects that have no other),
 * `Stalled` and `Reconciling`, each stamped with `generation`.
 */
export function setSummarizedConditions(
  conditions: readonly Condition[] | undefined,
  components: readonly ConditionInput[],
  now: Date,
  generation: number | undefined,
  informational: readonly ConditionInput[] = [],
): Condition[] {
  let list = [...(conditions ?? [])];
  const ready = components.some((c) => c.type === 'Ready') ? [] : [summarizeReady(components)];
  const pending = informational.find((c) => c.type === 'UpdatePending');
  for (const c of [...components, ...informational, ...ready, ...kstatusConditions(components, pending)])
    list = setCondition(list, c, now, generation);
  return list;
}
