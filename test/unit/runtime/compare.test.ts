import { describe, expect, test } from '@jest/globals';
import { withDesiredHash } from '../../../src/runtime/apply.ts';
import { hashOf, isContainedIn, stableStringify } from '../../../src/runtime/compare.ts';

describe('isContainedIn', () => {
  test.each([
    ['equal scalars', 'a', 'a', true],
    ['different scalars', 'a', 'b', false],
    ['fields added by the server are ignored', { a: 1 }, { a: 1, uid: 'x' }, true],
    ['a missing field is drift', { a: 1, b: 2 }, { a: 1 }, false],
    ['nested difference', { s: { hard: { pods: '20' } } }, { s: { hard: { pods: '999' } } }, false],
    ['defaulted fields inside list items are ignored', [{ port: 53 }], [{ port: 53, protocol: 'TCP' }], true],
    ['an extra list item is drift', [{ a: 1 }], [{ a: 1 }, { a: 2 }], false],
    ['a missing list item is drift', [{ a: 1 }, { a: 2 }], [{ a: 1 }], false],
    ['list order matters', [1, 2], [2, 1], false],
    ['object vs array', {}, [], false],
    ['undefined desired fields are ignored', { a: undefined }, {}, true],
    ['empty object is contained in an object', {}, { a: 1 }, true],
  ])('%s', (_name, desired, observed, expected) => {
    expect(isContainedIn(desired, observed)).toBe(expected);
  });
});

describe('desired-state hash', () => {
  test('does not depend on key order', () => {
    expect(stableStringify({ b: 1, a: { d: 2, c: 3 } })).toBe('{"a":{"c":3,"d":2},"b":1}');
    expect(hashOf({ b: 1, a: 2 })).toBe(hashOf({ a: 2, b: 1 }));
  });

  test('changes when a field is removed from the desired object, so removals are applied', () => {
    const before = withDesiredHash({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'x', labels: { a: '1', b: '2' } } });
    const after = withDesiredHash({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'x', labels: { a: '1' } } });
    // The live object still has label b and the old hash: the new desired object is not contained in it.
    expect(isContainedIn(after, before)).toBe(false);
    expect(isContainedIn(before, before)).toBe(true);
  });
});
