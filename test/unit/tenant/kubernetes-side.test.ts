import { describe, expect, test } from '@jest/globals';
import {
  absoluteRef,
  type CacheView,
  objectRef,
  relativeRef,
  reuseVerdict,
  StepObservation,
  type StepRecord,
  stepInputs,
} from '../../../src/tenant/kubernetes-side.ts';

const NS = 'tenant-acme-prod';
const INPUTS = stepInputs(['uid-1', 3, { team: 'a' }, {}, { tier: 'Small' }]);

/** A record of a full isolation run: the namespace, two policies, and the NetworkPolicies listed to prune. */
function recordOf(options: { inputs?: string; voided?: boolean } = {}): StepRecord {
  const seen = new StepObservation();
  seen.saw('Namespace', NS, undefined, '10');
  seen.saw('NetworkPolicy', 'default-deny', NS, '11');
  seen.saw('NetworkPolicy', 'allow-dns', NS, '12');
  seen.listedKind('NetworkPolicy', 2);
  // Looked up and absent (a Deployment not built while its secrets wait): must stay absent.
  seen.saw('Deployment', 'tenant-app', NS, undefined);
  if (options.voided) seen.void();
  return seen.record(options.inputs ?? INPUTS, NS, [
    { type: 'NamespaceReady', status: 'True', reason: 'NamespaceActive', message: 'ok' },
  ]);
}

/** The cache as the record saw it, with `changes` applied (undefined: the object is gone). */
function cacheOf(changes: Record<string, string | undefined> = {}, counts: Record<string, number> = {}): CacheView {
  const versions: Record<string, string | undefined> = {
    [objectRef('Namespace', NS, undefined)]: '10',
    [objectRef('NetworkPolicy', 'default-deny', NS)]: '11',
    [objectRef('NetworkPolicy', 'allow-dns', NS)]: '12',
    ...changes,
  };
  return {
    resourceVersion: (ref) => versions[ref],
    countInNamespace: (kind, namespace) => (namespace === NS ? (counts[kind] ?? (kind === 'NetworkPolicy' ? 2 : 0)) : 0),
  };
}

describe('reuseVerdict: when a pass may skip a Kubernetes step', () => {
  test.each<[string, StepRecord | undefined, string, CacheView, boolean, string | undefined]>([
    ['nothing changed since the last full run (a pass that only polls Azure)', recordOf(), INPUTS, cacheOf(), true, undefined],
    [
      'no full run recorded (first pass, new process, last pass failed)',
      undefined,
      INPUTS,
      cacheOf(),
      false,
      'no full pass recorded',
    ],
    [
      'the spec changed (new generation)',
      recordOf(),
      stepInputs(['uid-1', 4, { team: 'a' }, {}, { tier: 'Small' }]),
      cacheOf(),
      false,
      'inputs changed',
    ],
    [
      'an annotation changed (the emergency override)',
      recordOf(),
      stepInputs(['uid-1', 3, { team: 'a' }, { 'tenancy.dev/apply-now': 'CVE' }, { tier: 'Small' }]),
      cacheOf(),
      false,
      'inputs changed',
    ],
    [
      'the maintenance gate lets a held setting through',
      recordOf(),
      stepInputs(['uid-1', 3, { team: 'a' }, {}, { tier: 'Large' }]),
      cacheOf(),
      false,
      'inputs changed',
    ],
    [
      'a Tenant of the same name was re-created (new uid)',
      recordOf(),
      stepInputs(['uid-2', 3, { team: 'a' }, {}, { tier: 'Small' }]),
      cacheOf(),
      false,
      'inputs changed',
    ],
    [
      'someone edited an object the step applied (drift arrives by watch)',
      recordOf(),
      INPUTS,
      cacheOf({ [objectRef('NetworkPolicy', 'allow-dns', NS)]: '40' }),
      false,
      'NetworkPolicy tenant-acme-prod/allow-dns changed',
    ],
    [
      'someone deleted an object the step applied',
      recordOf(),
      INPUTS,
      cacheOf({ [objectRef('NetworkPolicy', 'default-deny', NS)]: undefined }),
      false,
      'NetworkPolicy tenant-acme-prod/default-deny changed',
    ],
    [
      'the namespace changed (e.g. it is terminating)',
      recordOf(),
      INPUTS,
      cacheOf({ [objectRef('Namespace', NS, undefined)]: '41' }),
      false,
      'Namespace /tenant-acme-prod changed',
    ],
    [
      'an object the step found absent appeared (it would be taken over)',
      recordOf(),
      INPUTS,
      cacheOf({ [objectRef('Deployment', 'tenant-app', NS)]: '50' }),
      false,
      'Deployment tenant-acme-prod/tenant-app changed',
    ],
    [
      'an object of a pruned kind appeared in the namespace (to be pruned)',
      recordOf(),
      INPUTS,
      cacheOf({}, { NetworkPolicy: 3 }),
      false,
      'NetworkPolicy objects in tenant-acme-prod changed',
    ],
    [
      'the last full run deleted an object (the cache has not seen it go yet)',
      recordOf({ voided: true }),
      INPUTS,
      cacheOf(),
      false,
      'the last full run deleted or could not read back an object',
    ],
  ])('%s', (_name, record, inputs, cache, reuse, why) => {
    const verdict = reuseVerdict(record, inputs, cache);
    expect(verdict.reuse).toBe(reuse);
    if (!verdict.reuse && why !== undefined) expect(verdict.why).toBe(why);
    if (verdict.reuse) expect(verdict.record.conditions[0]?.reason).toBe('NamespaceActive');
  });
});

describe('StepRecord: compact, and alike for every tenant whose step saw the same objects', () => {
  test.each<[string, string, string]>([
    ['an object in the namespace', objectRef('NetworkPolicy', 'allow-dns', NS), 'NetworkPolicy ~/allow-dns'],
    ['the namespace itself', objectRef('Namespace', NS, undefined), 'Namespace /~'],
    ['an object in another namespace', objectRef('Service', 'gateway', 'platform'), 'Service platform/gateway'],
    ['another cluster-scoped object', objectRef('ClusterRole', 'view', undefined), 'ClusterRole /view'],
  ])('%s: %s <-> %s', (_name, ref, relative) => {
    expect(relativeRef(ref, NS)).toBe(relative);
    expect(absoluteRef(relative, NS)).toBe(ref);
  });

  test("two tenants' records of the same objects differ only in their versions", () => {
    const recordFor = (namespace: string, base: number) => {
      const seen = new StepObservation();
      seen.saw('Namespace', namespace, undefined, String(base));
      seen.saw('NetworkPolicy', 'default-deny', namespace, String(base + 1));
      seen.saw('Deployment', 'tenant-app', namespace, undefined);
      seen.listedKind('NetworkPolicy', 1);
      return seen.record(INPUTS, namespace, []);
    };
    const a = recordFor('ns-alpha', 10);
    const b = recordFor('ns-bravo', 20);
    expect(a.refs).toBe(b.refs);
    expect(a.refs).not.toContain('ns-alpha');
    expect(a.listed).toBe(b.listed);
    expect([a.versions, b.versions]).toEqual(['10,11,-', '20,21,-']);
  });

  test('a resourceVersion that is not an etcd revision voids the record instead of being misread', () => {
    const seen = new StepObservation();
    seen.saw('NetworkPolicy', 'default-deny', NS, '11,12');
    const record = seen.record(INPUTS, NS, []);
    const verdict = reuseVerdict(record, INPUTS, { resourceVersion: () => '11,12', countInNamespace: () => 0 });
    expect(verdict.reuse).toBe(false);
  });
});
