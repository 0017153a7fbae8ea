import { describe, expect, test } from '@jest/globals';
import { withDesiredHash } from '../../../src/runtime/apply.ts';
import { hashOf, isContainedIn, jsonEqual, stableStringify } from '../../../src/runtime/compare.ts';

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

describe('jsonEqual agrees with comparing stableStringify strings', () => {
  test.each([
    ['equal scalars', 1, 1],
    ['different scalars', 1, 2],
    ['string and number', '1', 1],
    ['key order does not matter', { a: 1, b: { c: 2, d: 3 } }, { b: { d: 3, c: 2 }, a: 1 }],
    ['undefined fields do not count', { a: 1, b: undefined }, { a: 1 }],
    ['undefined on the right does not count', { a: 1 }, { a: 1, b: undefined }],
    ['a missing field differs', { a: 1, b: 2 }, { a: 1 }],
    ['an extra field differs', { a: 1 }, { a: 1, b: null }],
    ['list order matters', [1, 2], [2, 1]],
    ['list lengths', [1], [1, 1]],
    ['object vs array', {}, []],
    ['null vs object', null, {}],
    [
      'nested conditions',
      { conditions: [{ type: 'Ready', status: 'True' }] },
      { conditions: [{ type: 'Ready', status: 'False' }] },
    ],
    ['empty objects', {}, {}],
  ])('%s', (_name, a, b) => {
    expect(jsonEqual(a, b)).toBe(stableStringify(a) === stableStringify(b));
    expect(jsonEqual(b, a)).toBe(stableStringify(a) === stableStringify(b));
  });
});
