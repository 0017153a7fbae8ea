/**
 * The `tenancy.dev/v1alpha1` API: each kind's schemas and its CRD presentation (names,
 * printer columns, admission rules that span the whole object). `hack/generate-crds.ts`
 * turns these into `crds/`; the controllers parse objects with the same zod schemas.
 */
import type { z } from 'zod';
import { accessRequestSpecSchema, accessRequestStatusSchema } from './access-request.ts';
import { backupPolicySpecSchema, backupPolicyStatusSchema } from './backup-policy.ts';
import { GROUP, VERSION } from './common.ts';
import { maintenanceWindowSpecSchema, maintenanceWindowStatusSchema } from './maintenance-window.ts';
import { tenantSpecSchema, tenantStatusSchema } from './tenant.ts';

export * from './access-request.ts';
export * from './backup-policy.ts';
export * from './common.ts';
export * from './maintenance-window.ts';
export * from './tenant.ts';

export interface PrinterColumn {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  jsonPath: string;
  description: string;
  priority?: number;
}

/** Everything needed to describe one kind to the API server. */
export interface KindDefinition {
  kind: string;
  plural: string;
  singular: string;
  shortNames: string[];
  description: string;
  spec: z.ZodType;
  status: z.ZodType;
  printerColumns: PrinterColumn[];
  /** CEL rules on the whole object (the only place `self.metadata.name` is visible). */
  rootValidations?: { rule: string; message: string }[];
}

const readyColumns: PrinterColumn[] = [
  {
    name: 'Ready',
    type: 'string',
    jsonPath: '.status.conditions[?(@.type=="Ready")].status',
    description: 'Whether the object is fully reconciled.',
  },
  {
    name: 'Reason',
    type: 'string',
    jsonPath: '.status.conditions[?(@.type=="Ready")].reason',
    description: 'Why it is (not) ready.',
  },
];
const ageColumn: PrinterColumn = {
  name: 'Age',
  type: 'date',
  jsonPath: '.metadata.creationTimestamp',
  description: 'Time since creation.',
};

export const TENANT: KindDefinition = {
  kind: 'Tenant',
  plural: 'tenants',
  singular: 'tenant',
  shortNames: ['tn'],
  description:
    'A Tenant is one customer environment: its own namespace, application, front door, Key Vault, database, backups and maintenance window.',
  spec: tenantSpecSchema,
  status: tenantStatusSchema,
  printerColumns: [
    {
      name: 'Tier',
      type: 'string',
      jsonPath: '.status.tier',
      description: 'Service tier that runs now (spec.tier once its change is applied).',
    },
    { name: 'Environment', type: 'string', jsonPath: '.spec.environment', description: 'Environment kind.' },
    { name: 'Region', type: 'string', jsonPath: '.spec.region', description: 'Azure region of the data.' },
    ...readyColumns,
    {
      name: 'Pending',
      type: 'string',
      jsonPath: '.status.maintenance.pendingSummary',
      description: 'Disruptive changes waiting for the maintenance window.',
      priority: 1,
    },
    {
      name: 'Until',
      type: 'string',
      jsonPath: '.status.maintenance.nextWindowOpens',
      description: 'When the next maintenance window opens.',
      priority: 1,
    },
    { name: 'Namespace', type: 'string', jsonPath: '.status.namespace', description: 'Tenant namespace.', priority: 1 },
    { name: 'URL', type: 'string', jsonPath: '.status.url', description: 'Where the tenant is reached.', priority: 1 },
    ageColumn,
  ],
  rootValidations: [
    {
      rule: "self.metadata.name.size() <= 40 && self.metadata.name.matches('^[a-z]([-a-z0-9]*[a-z0-9])?$')",
      message: 'Tenant names are DNS labels of at most 40 characters (they become namespace and Azure names)',
    },
  ],
};

export const BACKUP_POLICY: KindDefinition = {
  kind: 'BackupPolicy',
  plural: 'backuppolicies',
  singular: 'backuppolicy',
  shortNames: ['bp'],
  description: 'A BackupPolicy sets backup retention, redundancy, RPO and RTO targets and restore drills for tenants.',
  spec: backupPolicySpecSchema,
  status: backupPolicyStatusSchema,
  printerColumns: [
    { name: 'PITR-Days', type: 'integer', jsonPath: '.spec.pointInTimeRetentionDays', description: 'Point-in-time days.' },
    { name: 'Weekly', type: 'string', jsonPath: '.spec.longTermRetention.weekly', description: 'Weekly retention.' },
    { name: 'Redundancy', type: 'string', jsonPath: '.spec.backupStorageRedundancy', description: 'Backup storage.' },
    { name: 'RPO', type: 'string', jsonPath: '.spec.rpo', description: 'Recovery point objective.' },
    { name: 'RTO', type: 'string', jsonPath: '.spec.rto', description: 'Recovery time objective.' },
    { name: 'Tenants', type: 'integer', jsonPath: '.status.tenants', description: 'Tenants using it.' },
    { name: 'Within-RPO', type: 'integer', jsonPath: '.status.tenantsWithinRpo', description: 'Tenants within RPO.' },
    {
      name: 'Last-Drill',
      type: 'string',
      jsonPath: '.status.lastDrillResult',
      description: 'Result of the latest finished restore drill across its tenants.',
    },
    {
      name: 'Drills-Failing',
      type: 'integer',
      jsonPath: '.status.tenantsWithFailedDrill',
      description: 'Tenants whose latest restore drill failed or exceeded the RTO.',
      priority: 1,
    },
    ageColumn,
  ],
};

export const MAINTENANCE_WINDOW: KindDefinition = {
  kind: 'MaintenanceWindow',
  plural: 'maintenancewindows',
  singular: 'maintenancewindow',
  shortNames: ['mw'],
  description: 'A MaintenanceWindow says when disruptive changes to the tenants that reference it may run.',
  spec: maintenanceWindowSpecSchema,
  status: maintenanceWindowStatusSchema,
  printerColumns: [
    { name: 'Time-Zone', type: 'string', jsonPath: '.spec.timeZone', description: 'IANA time zone.' },
    { name: 'Open', type: 'boolean', jsonPath: '.status.open', description: 'Whether a window is open now.' },
    { name: 'Next-Opening', type: 'string', jsonPath: '.status.nextOpening', description: 'Next opening.' },
    { name: 'Tenants', type: 'integer', jsonPath: '.status.tenants', description: 'Tenants using it.' },
    { name: 'Pending', type: 'integer', jsonPath: '.status.tenantsWithPendingChanges', description: 'Tenants waiting.' },
    ageColumn,
  ],
};

export const ACCESS_REQUEST: KindDefinition = {
  kind: 'AccessRequest',
  plural: 'accessrequests',
  singular: 'accessrequest',
  shortNames: ['ar'],
  description:
    'An AccessRequest asks for time-limited administrative access to one tenant: approved by someone else, granted by the operator, removed when it expires.',
  spec: accessRequestSpecSchema,
  status: accessRequestStatusSchema,
  printerColumns: [
    { name: 'Tenant', type: 'string', jsonPath: '.spec.tenant', description: 'The tenant the access is for.' },
    { name: 'Role', type: 'string', jsonPath: '.spec.role', description: 'What is granted.' },
    { name: 'Requester', type: 'string', jsonPath: '.spec.requester', description: 'Who asked.' },
    { name: 'Approver', type: 'string', jsonPath: '.spec.approval.approver', description: 'Who decided.' },
    {
      name: 'Phase',
      type: 'string',
      jsonPath: '.status.phase',
      description: 'Pending, Approved, Active, Expired, Denied, Revoked.',
    },
    // A string, not a date: kubectl prints a future date as "<invalid>".
    { name: 'Expires', type: 'string', jsonPath: '.status.expiresAt', description: 'When the access is removed (RFC 3339).' },
    { name: 'Duration', type: 'string', jsonPath: '.spec.duration', description: 'How long it lasts once granted.', priority: 1 },
    {
      name: 'Principal',
      type: 'string',
      jsonPath: '.spec.azurePrincipalId',
      description: 'The Entra object id an Azure role is assigned to (what the approver approves).',
      priority: 1,
    },
    ...readyColumns.map((c) => ({ ...c, priority: 1 })),
    ageColumn,
  ],
  rootValidations: [
    {
      rule: "self.metadata.name.size() <= 63 && self.metadata.name.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$')",
      message: 'AccessRequest names are DNS labels of at most 63 characters (they label the grant they lead to)',
    },
  ],
};

export const KINDS = [TENANT, BACKUP_POLICY, MAINTENANCE_WINDOW, ACCESS_REQUEST] as const;
export const CATEGORY = 'tenancy';
export { GROUP, VERSION };
