/**
 * Building blocks shared by every kind of `tenancy.dev/v1alpha1`: object metadata, conditions,
 * references, and the small string formats the CRD schemas validate at admission.
 *
 * Patterns here are RE2-compatible (no look-arounds): the API server compiles them with RE2.
 */
import { z } from 'zod';

export const GROUP = 'tenancy.dev';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;

/** A Kubernetes quantity-free duration in Go notation ("2h", "90m", "2h30m"); at least one unit. */
export const GO_DURATION_PATTERN = '^([0-9]+h)?([0-9]+m)?([0-9]+s)?$';
export const goDuration = (description: string, bounds: { max?: string } = {}) =>
  z
    .string()
    .regex(new RegExp(GO_DURATION_PATTERN))
    .min(2)
    .max(16)
    .describe(`${description} Go duration notation, for example "2h" or "90m".`)
    .meta({
      'x-kubernetes-validations': [
        { rule: "duration(self) > duration('0s')", message: 'must be longer than zero' },
        ...(bounds.max
          ? [{ rule: `duration(self) <= duration('${bounds.max}')`, message: `must be at most ${bounds.max}` }]
          : []),
      ],
    });

/** Milliseconds in a Go-style duration string ("2h30m" -> 9_000_000). Assumes the pattern above. */
export function goDurationMs(value: string): number {
  const match = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(value);
  if (!match || value === '') throw new Error(`invalid duration "${value}": use Go notation such as "2h" or "90m"`);
  const [, h = '0', m = '0', s = '0'] = match;
  return ((Number(h) * 60 + Number(m)) * 60 + Number(s)) * 1000;
}

/** A reference to a cluster-scoped object of this API group, by name. */
export const localObjectReference = (kind: string) =>
  z
    .object({
      name: z
        .string()
        .min(1)
        .max(253)
        .regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/)
        .describe(`Name of the ${kind}.`),
    })
    .describe(`Reference to a ${kind} by name. When omitted, the operator's configured default ${kind} applies.`);

/** Shaped like metav1.Condition, so kubectl, Argo CD and kstatus read it without surprises. */
export const conditionSchema = z.object({
  type: z.string().max(316).describe('Type of condition in CamelCase, for example Ready or NamespaceReady.'),
  status: z.enum(['True', 'False', 'Unknown']).describe('Status of the condition: True, False or Unknown.'),
  reason: z.string().max(1024).describe('Machine-readable CamelCase reason for the last transition.'),
  message: z.string().max(32768).describe('Human-readable details: what happened and what to do about it.'),
  lastTransitionTime: z.string().describe('When the condition last changed status (RFC 3339).'),
  observedGeneration: z.number().int().min(0).optional().describe('The metadata.generation the condition was computed from.'),
});
export type Condition = z.infer<typeof conditionSchema>;

export const conditionsField = z
  .array(conditionSchema)
  .optional()
  .describe('Current state, one entry per condition type. Ready summarises the others.')
  .meta({ 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['type'] });

/** The subset of ObjectMeta the operator reads. */
export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  generation?: number;
  resourceVersion?: string;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
}

/** A typed custom object: spec parsed by zod (defaults applied), status as last written. */
export interface CustomObject<Spec, Status> {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  spec: Spec;
  status?: Status;
}
