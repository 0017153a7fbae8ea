import { describe, expect, test } from '@jest/globals';
import { VerifiedCache } from '../../../src/azure/verified-cache.ts';

const MINUTE = 60_000;

describe('VerifiedCache', () => {
  test.each<[string, { fingerprint: string; at: number }, boolean]>([
    ['same fingerprint, fresh', { fingerprint: 'a', at: 29 * MINUTE }, true],
    ['same fingerprint, at the interval', { fingerprint: 'a', at: 30 * MINUTE }, false],
    ['same fingerprint, expired', { fingerprint: 'a', at: 45 * MINUTE }, false],
    ['desired state changed', { fingerprint: 'b', at: 1 * MINUTE }, false],
    ['the clock went backwards', { fingerprint: 'a', at: -1 * MINUTE }, false],
  ])('%s', (_name, lookup, hit) => {
    const cache = new VerifiedCache<string>(30 * MINUTE);
    cache.set('uid-1', 'a', 'facts', 0);
    expect(cache.get('uid-1', lookup.fingerprint, lookup.at)).toBe(hit ? 'facts' : undefined);
  });

  test('a miss drops the entry, so a later lookup with the old fingerprint misses too', () => {
    const cache = new VerifiedCache<string>(30 * MINUTE);
    cache.set('uid-1', 'a', 'facts', 0);
    expect(cache.get('uid-1', 'b', MINUTE)).toBeUndefined();
    expect(cache.get('uid-1', 'a', MINUTE)).toBeUndefined();
  });

  test('forget() and other keys', () => {
    const cache = new VerifiedCache<string>(30 * MINUTE);
    cache.set('uid-1', 'a', 'one', 0);
    cache.set('uid-2', 'a', 'two', 0);
    cache.forget('uid-1');
    expect(cache.get('uid-1', 'a', 1)).toBeUndefined();
    expect(cache.get('uid-2', 'a', 1)).toBe('two');
  });

  test('interval 0 disables it', () => {
    const cache = new VerifiedCache<string>(0);
    cache.set('uid-1', 'a', 'facts', 0);
    expect(cache.get('uid-1', 'a', 0)).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  test('expired entries of tenants never seen again are swept as new ones arrive', () => {
    const cache = new VerifiedCache<number>(30 * MINUTE);
    for (let i = 0; i < 200; i++) cache.set(`gone-${i}`, 'a', i, 0);
    for (let i = 0; i < 100; i++) cache.set(`live-${i}`, 'a', i, 31 * MINUTE);
    expect(cache.size).toBeLessThanOrEqual(100);
    expect(cache.get('live-99', 'a', 32 * MINUTE)).toBe(99);
  });
});
