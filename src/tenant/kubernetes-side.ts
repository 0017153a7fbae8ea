/**
 * When a Tenant pass may reuse what the last full pass of one Kubernetes step (isolation, or the
 * application and front door) found, instead of building, hashing, comparing and applying the
 * namespace's objects again. A tenant's creation takes a pass per step of its Azure chain and per
 * poll of a running operation; most of those passes change nothing in Kubernetes, and rebuilding
 * the namespace's objects on each was a large part of the operator's CPU per tenant.
 *
 * Level-triggered all the same: a step is reused only when everything it was computed from is as
 * it was — the same inputs (Tenant generation, labels and annotations, the maintenance gate's
 * settings, the facts from Azure it reads) and every object it looked at still at the
 * resourceVersion it saw, with no object of a kind it prunes added to the namespace. Anyone's
 * change to one of those objects arrives by watch, moves its resourceVersion in the cache, and the
 * next pass runs the step in full (and repairs it). Records live in memory only: a new process
 * starts with full passes.
 */
import { hash } from 'node:crypto';
import type { ConditionInput } from '../runtime/conditions.ts';

/** A resourceVersion no object has: a voided record never holds. */
const VOID = '(void)';

/** What one full run of a step looked at and reported. */
export interface StepRecord {
  /** The step's inputs other than the objects it observed (see `stepInputs`). */
  inputs: string;
  /**
   * Every object the step compared, applied or looked up, by `objectRef`, at the resourceVersion it
   * saw (undefined: it looked and the object was absent, which must still hold).
   */
  observed: ReadonlyMap<string, string | undefined>;
  /** Kinds whose objects in the namespace the step listed to prune, with how many it found. */
  listed: ReadonlyMap<string, number>;
  namespace: string;
  conditions: ConditionInput[];
  /** The tenant's URL, when the step exposed it. */
  url?: string | undefined;
}

/** `Kind namespace/name`: how a step refers to an object it observed. */
export function objectRef(kind: string, name: string, namespace: string | undefined): string {
  return `${kind} ${namespace ?? ''}/${name}`;
}

/**
 * The inputs of a step as one comparable string: a digest of the JSON of plain data, in a fixed
 * order. A digest, not the JSON: two records per tenant are held for the life of the process, and
 * the JSON (spec, labels, facts) was about 5 KB per tenant of the heap.
 */
export function stepInputs(parts: readonly unknown[]): string {
  return hash('sha256', JSON.stringify(parts), 'base64');
}

/** What the cache holds now, for `reuseVerdict`. */
export interface CacheView {
  /** resourceVersion of the cached object, undefined when it is not in the cache. */
  resourceVersion(ref: string): string | undefined;
  /** How many objects of `kind` the cache holds in `namespace`. */
  countInNamespace(kind: string, namespace: string): number;
}

export type ReuseVerdict = { reuse: true; record: StepRecord } | { reuse: false; why: string };

/**
 * Pure: whether a step may reuse `record` given its current `inputs` and what the cache holds;
 * when not, why (for tests and debug logs).
 */
export function reuseVerdict(record: StepRecord | undefined, inputs: string, cache: CacheView): ReuseVerdict {
  if (record === undefined) return { reuse: false, why: 'no full pass recorded' };
  if (record.inputs !== inputs) return { reuse: false, why: 'inputs changed' };
  for (const [ref, version] of record.observed) {
    if (cache.resourceVersion(ref) !== version) return { reuse: false, why: `${ref} changed` };
  }
  for (const [kind, count] of record.listed) {
    if (cache.countInNamespace(kind, record.namespace) !== count)
      return { reuse: false, why: `${kind} objects in ${record.namespace} changed` };
  }
  return { reuse: true, record };
}

/** Collects what a full run of a step observed, for its `StepRecord`. */
export class StepObservation {
  readonly observed = new Map<string, string | undefined>();
  readonly listed = new Map<string, number>();

  /** An object the step compared (unchanged), wrote (the server's answer) or found absent (undefined). */
  saw(kind: string, name: string, namespace: string | undefined, resourceVersion: string | undefined): void {
    this.observed.set(objectRef(kind, name, namespace), resourceVersion);
  }

  /** The step listed `count` objects of `kind` in the namespace (to prune what is not desired). */
  listedKind(kind: string, count: number): void {
    this.listed.set(kind, count);
  }

  /** A step that deleted or could not read back an object cannot be reused: its record is void. */
  void(): void {
    this.observed.set('(void)', VOID);
  }

  record(inputs: string, namespace: string, conditions: ConditionInput[], url?: string): StepRecord {
    return { inputs, observed: new Map(this.observed), listed: new Map(this.listed), namespace, conditions, url };
  }
}
