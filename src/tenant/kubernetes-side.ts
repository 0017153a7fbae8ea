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
import { internString } from '../runtime/intern.ts';

/** What one full run of a step looked at and reported. */
export interface StepRecord {
  /** The step's inputs other than the objects it observed (see `stepInputs`). */
  inputs: string;
  /**
   * Every object the step compared, applied or looked up (its `objectRef` relative to `namespace`,
   * see `relativeRef`), one per line. Tenants whose step looked at the same objects have the same
   * text, held once: two records per tenant live as long as the process, and as a map of full refs
   * to versions they were about 3.9 KB per tenant of the heap (12 MiB at 3000 tenants).
   */
  refs: string;
  /** The resourceVersion each of `refs` was at, in the same order, comma-separated; `-`: absent, which must still hold. */
  versions: string;
  /** Kinds whose objects in the namespace the step listed to prune, as `Kind=count` lines (shared like `refs`). */
  listed: string;
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
 * `ref` with the record's namespace written `~` (`NetworkPolicy ~/allow-dns`, and the namespace
 * itself `Namespace /~`), so the refs of every tenant's step read alike. `~` is in no Kubernetes name.
 */
export function relativeRef(ref: string, namespace: string): string {
  const space = ref.indexOf(' ');
  const slash = ref.indexOf('/', space);
  const ns = ref.slice(space + 1, slash);
  const name = ref.slice(slash + 1);
  if (ns === namespace) return `${ref.slice(0, space)} ~/${name}`;
  if (ns === '' && name === namespace) return `${ref.slice(0, space)} /~`;
  return ref;
}

/** The inverse of `relativeRef`. */
export function absoluteRef(relative: string, namespace: string): string {
  const space = relative.indexOf(' ');
  const path = relative.slice(space + 1);
  if (path.startsWith('~/')) return `${relative.slice(0, space)} ${namespace}/${path.slice(2)}`;
  if (path === '/~') return `${relative.slice(0, space)} /${namespace}`;
  return relative;
}

/** The `versions` of a voided record, which never holds. */
const VOID = '(void)';
/** How `versions` writes an object the step found absent. */
const ABSENT = '-';

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
  if (record.versions === VOID) return { reuse: false, why: 'the last full run deleted or could not read back an object' };
  const versions = record.versions.split(',');
  const refs = record.refs === '' ? [] : record.refs.split('\n');
  for (let i = 0; i < refs.length; i++) {
    const ref = absoluteRef(refs[i] as string, record.namespace);
    const version = versions[i] === ABSENT ? undefined : versions[i];
    if (cache.resourceVersion(ref) !== version) return { reuse: false, why: `${ref} changed` };
  }
  for (const line of record.listed === '' ? [] : record.listed.split('\n')) {
    const [kind, count] = line.split('=') as [string, string];
    if (cache.countInNamespace(kind, record.namespace) !== Number(count))
      return { reuse: false, why: `${kind} objects in ${record.namespace} changed` };
  }
  return { reuse: true, record };
}

/** Collects what a full run of a step observed, for its `StepRecord`. */
export class StepObservation {
  readonly observed = new Map<string, string | undefined>();
  readonly listed = new Map<string, number>();
  #voided = false;

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
    this.#voided = true;
  }

  record(inputs: string, namespace: string, conditions: ConditionInput[], url?: string): StepRecord {
    const refs = [...this.observed.keys()].map((ref) => relativeRef(ref, namespace));
    const versions = [...this.observed.values()].map((version) => version ?? ABSENT);
    const listed = [...this.listed].map(([kind, count]) => `${kind}=${count}`);
    return {
      inputs,
      refs: internString(refs.join('\n')),
      // etcd's resourceVersions are integers; one that is not (opaque by contract) voids the record.
      versions: this.#voided || versions.some((v) => v.includes(',')) ? VOID : versions.join(','),
      listed: internString(listed.join('\n')),
      namespace,
      conditions,
      url,
    };
  }
}
