import { describe, expect, test } from '@jest/globals';
import { setCondition, summarizeReady } from '../../../src/runtime/conditions.ts';

const t0 = new Date('2026-11-22T10:00:00Z');
const t1 = new Date('2026-11-22T11:00:00Z');

describe('setCondition', () => {
  test('adds a condition with lastTransitionTime and observedGeneration', () => {
    expect(setCondition([], { type: 'Ready', status: 'True', reason: 'Reconciled', message: 'ok' }, t0, 3)).toEqual([
      {
        type: 'Ready',
        status: 'True',
        reason: 'Reconciled',
        message: 'ok',
        lastTransitionTime: '2026-11-22T10:00:00Z',
        observedGeneration: 3,
      },
    ]);
  });

  test('keeps lastTransitionTime when the status does not change, even if reason and message do', () => {
    const first = setCondition([], { type: 'Ready', status: 'False', reason: 'A', message: 'a' }, t0, 1);
    const second = setCondition(first, { type: 'Ready', status: 'False', reason: 'B', message: 'b' }, t1, 2);
    expect(second[0]).toMatchObject({ reason: 'B', lastTransitionTime: '2026-11-22T10:00:00Z', observedGeneration: 2 });
  });

  test('moves lastTransitionTime when the status flips', () => {
    const first = setCondition([], { type: 'Ready', status: 'False', reason: 'A', message: 'a' }, t0, 1);
    const second = setCondition(first, { type: 'Ready', status: 'True', reason: 'B', message: 'b' }, t1, 1);
    expect(second[0]?.lastTransitionTime).toBe('2026-11-22T11:00:00Z');
  });

  test('keeps one entry per type, other types untouched', () => {
    let list = setCondition([], { type: 'A', status: 'True', reason: 'R', message: '' }, t0, 1);
    list = setCondition(list, { type: 'B', status: 'True', reason: 'R', message: '' }, t0, 1);
    list = setCondition(list, { type: 'A', status: 'False', reason: 'S', message: '' }, t1, 1);
    expect(list.map((c) => `${c.type}=${c.status}`)).toEqual(['A=False', 'B=True']);
  });
});

describe('summarizeReady', () => {
  test.each([
    [
      'all True',
      [
        ['X', 'True'],
        ['Y', 'True'],
      ],
      'True',
      'Reconciled',
    ],
    [
      'the first not-True component gives the reason',
      [
        ['X', 'True'],
        ['Y', 'False'],
        ['Z', 'False'],
      ],
      'False',
      'Y-reason',
    ],
    ['Unknown stays Unknown', [['X', 'Unknown']], 'Unknown', 'X-reason'],
  ] as const)('%s', (_name, components, status, reason) => {
    const ready = summarizeReady(components.map(([type, s]) => ({ type, status: s, reason: `${type}-reason`, message: 'm' })));
    expect(ready).toMatchObject({ type: 'Ready', status, reason });
  });
});
