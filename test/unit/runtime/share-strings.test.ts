import { describe, expect, test } from '@jest/globals';
import { shareStrings } from '../../../src/runtime/informer.ts';

describe('shareStrings', () => {
  test('keeps every value as it was, in the same object', () => {
    const parsed = JSON.parse(
      JSON.stringify({
        metadata: { name: 'tenant-a', labels: { 'app.kubernetes.io/name': 'tenant-app' }, generation: 3 },
        spec: { ports: [{ port: 443, name: 'https' }], paused: false, note: null, tags: ['a', 'b', ''] },
        status: { conditions: [{ type: 'Ready', status: 'True', message: 'x'.repeat(300) }] },
      }),
    );
    const copy = structuredClone(parsed);
    expect(shareStrings(parsed)).toBe(parsed);
    expect(parsed).toEqual(copy);
  });

  test('strings that are array indices or empty survive', () => {
    const parsed = { a: '0', b: '443', c: '', d: '__proto__', e: 'constructor' };
    expect(shareStrings({ ...parsed })).toEqual(parsed);
  });

  test('top-level arrays and scalars', () => {
    expect(shareStrings(['x', 1, ['y']])).toEqual(['x', 1, ['y']]);
    expect(shareStrings('plain')).toBe('plain');
    expect(shareStrings(null)).toBeNull();
  });
});
