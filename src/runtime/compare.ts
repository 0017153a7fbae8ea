/**
 * Decides whether an object in the cluster already matches what we would apply, so converged
 * objects cost no write. The comparison is "desired is contained in observed": every field we set
 * must be present with the same value; fields the server or others added are ignored. Lists must
 * have the same length (an extra or missing rule is drift). Fields we stopped setting are caught
 * by the desired-state hash annotation, which changes whenever the desired object does.
 */
import { createHash } from 'node:crypto';

export const DESIRED_HASH_ANNOTATION = 'tenancy.dev/desired-hash';

/** Stable JSON: keys sorted, so equal objects hash equally. */
export function stableStringify(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableStringify(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * Whether two JSON-like values are equal as `stableStringify` sees them (key order and undefined
 * fields do not matter), without building either string: status comparisons run on every pass.
 */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!jsonEqual(a[i], b[i])) return false;
    return true;
  }
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object' || Array.isArray(b)) return false;
  const left = a as Record<string, unknown>;
  const right = b as Record<string, unknown>;
  let defined = 0;
  for (const key in left) {
    const value = left[key];
    if (value === undefined) continue;
    defined++;
    if (!jsonEqual(value, right[key])) return false;
  }
  for (const key in right) if (right[key] !== undefined) defined--;
  return defined === 0;
}

export function hashOf(value: unknown): string {
  return createHash('sha256').update(stableStringify(value)).digest('hex').slice(0, 16);
}

/** True when every field of `desired` is present in `observed` with an equal value. */
export function isContainedIn(desired: unknown, observed: unknown): boolean {
  if (desired === undefined) return true;
  if (Array.isArray(desired)) {
    if (!Array.isArray(observed) || observed.length !== desired.length) return false;
    return desired.every((d, i) => isContainedIn(d, observed[i]));
  }
  if (desired !== null && typeof desired === 'object') {
    if (observed === null || typeof observed !== 'object' || Array.isArray(observed)) return false;
    const obs = observed as Record<string, unknown>;
    return Object.entries(desired as Record<string, unknown>).every(([k, v]) => isContainedIn(v, obs[k]));
  }
  return desired === observed;
}

/**
 * Where `observed` departs from `desired` (the fields `isContainedIn` compares), as dotted paths
 * cut at `depth` levels (`spec.egress`), for people: which fields someone changed by hand.
 */
export function differingPaths(desired: unknown, observed: unknown, depth = 2, prefix = ''): string[] {
  if (isContainedIn(desired, observed)) return [];
  const here = prefix === '' ? '(object)' : prefix;
  if (depth === 0 || desired === null || typeof desired !== 'object' || Array.isArray(desired)) return [here];
  if (observed === null || typeof observed !== 'object' || Array.isArray(observed)) return [here];
  const obs = observed as Record<string, unknown>;
  return Object.entries(desired as Record<string, unknown>).flatMap(([k, v]) =>
    differingPaths(v, obs[k], depth - 1, prefix === '' ? k : `${prefix}.${k}`),
  );
}
