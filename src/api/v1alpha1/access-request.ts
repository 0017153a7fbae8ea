/**
 * The AccessRequest kind: one person's request for time-limited administrative access to one
 * tenant (a role in its namespace, or read access on its database), approved by someone else,
 * granted by the operator and removed when it expires.
 *
 * Who may write what is enforced at admission, not trusted to the operator: the CRD's CEL rules
 * make every field immutable once written (the approval and the revocation can each be set once),
 * and the ValidatingAdmissionPolicy of config/access ties `requester`, `approval.approver` and
 * `revocation.by` to the identity of whoever sends the request (`request.userInfo`), keeps the
 * approver distinct from the requester and inside the approvers group, and bounds the duration.
 */
import { z } from 'zod';
import { type CustomObject, conditionsField, GO_DURATION_PATTERN } from './common.ts';

export const ACCESS_PHASES = ['Pending', 'Approved', 'Active', 'Expired', 'Denied', 'Revoked'] as const;
export type AccessPhase = (typeof ACCESS_PHASES)[number];

/** Phases nothing leaves: the request is a record from then on; a new need is a new request. */
export const TERMINAL_ACCESS_PHASES: readonly AccessPhase[] = ['Expired', 'Denied', 'Revoked'];

export const APPROVAL_DECISIONS = ['Approved', 'Denied'] as const;

/** Azure requires an active role assignment to last at least five minutes; shorter access is no use to a person either. */
export const MIN_ACCESS_DURATION = '5m';
/** The CRD's absolute ceiling; the configured maximum (access.maxDuration) is enforced at admission and by the operator. */
export const MAX_ACCESS_DURATION = '168h';

const immutable = (what: string) => ({
  'x-kubernetes-validations': [{ rule: 'self == oldSelf', message: `${what} is immutable: file a new request instead` }],
});

/** A Kubernetes username as `request.userInfo.username` carries it (an e-mail, an object id, `oidc:...`). */
const username = (description: string) => z.string().min(1).max(253).describe(description);

export const accessRequestSpecSchema = z
  .object({
    requester: username(
      'Who asks: your own username as the API server knows you (`kubectl auth whoami`). Admission refuses any other name, so it cannot be forged. Immutable.',
    ).meta(immutable('requester')),
    tenant: z
      .string()
      .min(1)
      .max(40)
      .regex(/^[a-z]([-a-z0-9]*[a-z0-9])?$/)
      .describe('The Tenant the access is for. Immutable.')
      .meta(immutable('tenant')),
    role: z
      .string()
      .min(1)
      .max(63)
      .regex(/^[a-z]([-a-z0-9]*[a-z0-9])?$/)
      .describe(
        'What is granted, one of the roles the operator configuration defines (by default namespace-view, namespace-debug, database-read). Immutable.',
      )
      .meta(immutable('role')),
    reason: z
      .string()
      .min(10)
      .max(1024)
      .describe(
        'Why the access is needed (a ticket, an incident), for the approver and the audit trail. Shown to approvers only: never copied into Events, logs or Azure. Immutable.',
      )
      .meta(immutable('reason')),
    duration: z
      .string()
      .regex(new RegExp(GO_DURATION_PATTERN))
      .min(2)
      .max(16)
      .describe(
        `How long the access lasts once granted, Go duration notation ("2h", "90m"), from ${MIN_ACCESS_DURATION} up to the configured maximum (access.maxDuration, 8h by default). Immutable.`,
      )
      .meta({
        'x-kubernetes-validations': [
          { rule: 'self == oldSelf', message: 'duration is immutable: file a new request instead' },
          { rule: `duration(self) >= duration('${MIN_ACCESS_DURATION}')`, message: `must be at least ${MIN_ACCESS_DURATION}` },
          { rule: `duration(self) <= duration('${MAX_ACCESS_DURATION}')`, message: `must be at most ${MAX_ACCESS_DURATION}` },
        ],
      }),
    azurePrincipalId: z
      .string()
      .regex(/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/)
      .optional()
      .describe(
        'Your Microsoft Entra object id, for roles on Azure resources (database-read): the Azure role is assigned to it. The approver approves exactly this principal. Immutable.',
      )
      .meta(immutable('azurePrincipalId')),
    approval: z
      .object({
        approver: username('Who decides: your own username (admission refuses any other), never the requester’s.'),
        decision: z.enum(APPROVAL_DECISIONS).describe('Approved grants the access; Denied closes the request.'),
        comment: z.string().max(1024).optional().describe('Why, for the audit trail. Never copied into Events or logs.'),
      })
      .optional()
      .describe(
        'Set once, by a member of the approvers group other than the requester (enforced at admission). Final: it cannot be changed or removed.',
      )
      .meta({ 'x-kubernetes-validations': [{ rule: 'self == oldSelf', message: 'an approval is final' }] }),
    revocation: z
      .object({
        by: username('Who ends the access: your own username (admission refuses any other).'),
        comment: z.string().max(1024).optional().describe('Why, for the audit trail. Never copied into Events or logs.'),
      })
      .optional()
      .describe(
        'Set once, by the requester or an approver, to end the access before it expires (or to withdraw a pending request). Final.',
      )
      .meta({ 'x-kubernetes-validations': [{ rule: 'self == oldSelf', message: 'a revocation is final' }] }),
  })
  .describe('Who asks for which access to which tenant, for how long and why; and who approved it.')
  .meta({
    'x-kubernetes-validations': [
      {
        // Field rules cover changes; these cover adding or removing an optional field later.
        rule: 'has(self.azurePrincipalId) == has(oldSelf.azurePrincipalId)',
        message: 'azurePrincipalId is immutable: it cannot be added or removed after creation',
        fieldPath: '.azurePrincipalId',
      },
      { rule: '!has(oldSelf.approval) || has(self.approval)', message: 'an approval is final', fieldPath: '.approval' },
      { rule: '!has(oldSelf.revocation) || has(self.revocation)', message: 'a revocation is final', fieldPath: '.revocation' },
      {
        // The four-eyes principle even where the admission policy is missing (which only checks identities).
        rule: '!has(self.approval) || self.approval.approver != self.requester',
        message: 'a request cannot be approved by its requester (four-eyes principle)',
        fieldPath: '.approval.approver',
      },
    ],
  });

export const accessRequestStatusSchema = z
  .object({
    observedGeneration: z.number().int().optional().describe('The metadata.generation the status reflects.'),
    conditions: conditionsField,
    phase: z
      .enum(ACCESS_PHASES)
      .optional()
      .describe(
        'Pending (waiting for an approver), Approved (being granted), Active (granted until expiresAt), then Expired, Denied or Revoked (final).',
      ),
    grantedAt: z
      .string()
      .optional()
      .describe('When the operator started granting (RFC 3339). Recorded before the grant, never moved.'),
    expiresAt: z
      .string()
      .optional()
      .describe('grantedAt plus spec.duration (RFC 3339): the access is removed then, whatever happens in between.'),
    endedAt: z.string().optional().describe('When the access was found removed, or the request closed (RFC 3339).'),
    grant: z
      .object({
        roleBinding: z
          .object({
            namespace: z.string().describe('The tenant namespace.'),
            name: z.string().describe('The RoleBinding.'),
            clusterRole: z.string().describe('The ClusterRole it binds.'),
          })
          .optional()
          .describe('For a namespace role: the RoleBinding granted.'),
        azure: z
          .object({
            scope: z.string().describe('ARM id the role is assigned on (the tenant’s database).'),
            roleDefinitionId: z.string().describe('The Azure role definition assigned.'),
            principalId: z.string().describe('The Entra object id it is assigned to.'),
            assignRequest: z.string().describe('Name of the AdminAssign role assignment schedule request.'),
            removeRequest: z.string().describe('Name of the AdminRemove request used if the access ends early.'),
          })
          .optional()
          .describe(
            'For a role on Azure: the time-bound role assignment, made through a role assignment schedule request that Azure itself ends at expiresAt.',
          ),
      })
      .optional()
      .describe('Exactly what was granted, recorded before it is granted, so it is removed exactly (also after a restart).'),
  })
  .describe('Observed state, written by the operator only.');

export type AccessRequestSpec = z.infer<typeof accessRequestSpecSchema>;
export type AccessRequestStatus = z.infer<typeof accessRequestStatusSchema>;
export type AccessRequest = CustomObject<AccessRequestSpec, AccessRequestStatus>;
export type AccessGrantRecord = NonNullable<AccessRequestStatus['grant']>;
