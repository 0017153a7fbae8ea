import { describe, expect, test } from '@jest/globals';
import { GENERATION_SIZE, intern, internedEntries, internParts } from '../../../src/runtime/intern.ts';

/** A Deployment-like object as a watch delivers it: freshly parsed, owned by the caller. */
function parsedObject(name: string, image = 'app:1.0.0') {
  return JSON.parse(
    JSON.stringify({
      metadata: { name, uid: `uid-${name}`, labels: { 'app.kubernetes.io/name': 'tenant-app' }, generation: 3 },
      spec: {
        replicas: 2,
        template: { spec: { containers: [{ name: 'app', image, ports: [{ containerPort: 8080 }] }] } },
        paused: false,
        note: null,
        tags: ['a', 'b', ''],
      },
      status: { conditions: [{ type: 'Ready', status: 'True', message: 'x'.repeat(300) }] },
    }),
  ) as {
    metadata: { name: string; labels: Record<string, string> };
    spec: { template: { spec: { containers: { image: string; ports: unknown[] }[] } }; tags: string[] };
    status: unknown;
  };
}

describe('intern: identical parts of cached objects are kept once', () => {
  test('keeps every value as it was', () => {
    const parsed = parsedObject('a');
    const copy = structuredClone(parsed);
    expect(intern(parsed)).toEqual(copy);
  });

  test('identical subtrees of two objects become one frozen object; different ones stay apart', () => {
    const a = intern(parsedObject('a'));
    const b = intern(parsedObject('b'));
    const c = intern(parsedObject('c', 'app:2.0.0'));
    expect(b.metadata.labels).toBe(a.metadata.labels);
    expect(b.spec).toBe(a.spec);
    expect(b.status).toBe(a.status);
    expect(Object.isFrozen(a.spec)).toBe(true);
    expect(c.spec).not.toBe(a.spec);
    expect(c.spec.template.spec.containers[0]?.image).toBe('app:2.0.0');
    // The parts of c's spec that are the same as a's are still shared.
    expect(c.spec.template.spec.containers[0]?.ports).toBe(a.spec.template.spec.containers[0]?.ports);
    expect(c.spec.tags).toBe(a.spec.tags);
    expect(a.metadata).not.toBe(b.metadata);
  });

  test('a shared part cannot be changed (it would change every object that holds it)', () => {
    const a = intern(parsedObject('a'));
    expect(() => {
      a.spec.tags.push('z');
    }).toThrow(TypeError);
  });

  test('internParts keeps the top level the caller’s: not frozen, not shared', () => {
    const first = internParts(parsedObject('same'));
    const second = internParts(parsedObject('same'));
    expect(first).not.toBe(second);
    expect(Object.isFrozen(first)).toBe(false);
    expect(first.spec).toBe(second.spec);
    (first as Record<string, unknown>).extra = 'mine';
    expect((second as Record<string, unknown>).extra).toBeUndefined();
  });

  test('keys and strings that are array indices, empty or __proto__ survive, and no prototype changes', () => {
    const parsed = JSON.parse('{"data":{"0":"0","443":"443","":"","__proto__":{"polluted":"yes"},"constructor":"c"}}') as {
      data: Record<string, unknown>;
    };
    const copy = structuredClone(parsed);
    const interned = intern(parsed);
    expect(interned).toEqual(copy);
    expect(Object.getPrototypeOf(interned.data)).toBe(Object.prototype);
    expect(Object.keys(interned.data)).toContain('__proto__');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  test('top-level arrays and scalars', () => {
    expect(intern(['x', 1, ['y']])).toEqual(['x', 1, ['y']]);
    expect(intern('plain')).toBe('plain');
    expect(intern(null)).toBeNull();
    expect(intern(7)).toBe(7);
  });

  test('the table is bounded: parts no object uses are not kept for the life of the process', () => {
    for (let i = 0; i < 2 * GENERATION_SIZE + 10; i++) intern({ unique: { value: `v-${i}` } });
    expect(internedEntries()).toBeLessThanOrEqual(2 * GENERATION_SIZE);
    expect(internedEntries()).toBeGreaterThan(0);
  });
});
