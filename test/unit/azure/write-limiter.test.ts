import { describe, expect, test } from '@jest/globals';
import { createWriteLimiter } from '../../../src/azure/write-limiter.ts';

/** A fake clock whose sleep advances time instead of waiting. */
function fakeTime() {
  let now = 0;
  const sleeps: number[] = [];
  return {
    now: () => now,
    advance: (ms: number) => {
      now += ms;
    },
    sleeps,
    sleep: async (ms: number, signal?: { aborted: boolean }) => {
      if (signal?.aborted) throw new DOMException('aborted', 'AbortError');
      sleeps.push(ms);
      now += ms;
    },
  };
}

describe('createWriteLimiter', () => {
  test('a full bucket lets a burst through without waiting', async () => {
    const time = fakeTime();
    const limiter = createWriteLimiter({ writesPerSecond: 2, burst: 5, now: time.now, sleep: time.sleep });
    for (let i = 0; i < 5; i++) await limiter.acquire();
    expect(time.sleeps).toEqual([]);
    expect(limiter.stats).toEqual({ granted: 5, delayed: 0, waitedMs: 0 });
  });

  test('after the burst, writes go out at the sustained rate', async () => {
    const time = fakeTime();
    const limiter = createWriteLimiter({ writesPerSecond: 2, burst: 2, now: time.now, sleep: time.sleep });
    await Promise.all([limiter.acquire(), limiter.acquire(), limiter.acquire(), limiter.acquire()]);
    expect(time.sleeps).toEqual([500, 500]);
    expect(time.now()).toBe(1000);
    expect(limiter.stats.delayed).toBe(2);
  });

  test('idle time refills the bucket, up to its size', async () => {
    const time = fakeTime();
    const limiter = createWriteLimiter({ writesPerSecond: 1, burst: 3, now: time.now, sleep: time.sleep });
    for (let i = 0; i < 3; i++) await limiter.acquire();
    time.advance(60_000);
    for (let i = 0; i < 3; i++) await limiter.acquire();
    expect(time.sleeps).toEqual([]);
    await limiter.acquire();
    expect(time.sleeps).toEqual([1000]);
  });

  test('an aborted waiter does not take a token or block the queue', async () => {
    const time = fakeTime();
    const limiter = createWriteLimiter({ writesPerSecond: 1, burst: 1, now: time.now, sleep: time.sleep });
    await limiter.acquire();
    const controller = new AbortController();
    controller.abort();
    await expect(limiter.acquire(controller.signal)).rejects.toThrow('aborted');
    await limiter.acquire();
    expect(limiter.stats.granted).toBe(2);
  });

  test.each([
    ['zero rate', { writesPerSecond: 0, burst: 1 }],
    ['empty bucket', { writesPerSecond: 1, burst: 0 }],
  ])('rejects a %s', (_name, options) => {
    expect(() => createWriteLimiter(options)).toThrow(RangeError);
  });

  test('real timers: the sustained rate holds', async () => {
    const limiter = createWriteLimiter({ writesPerSecond: 100, burst: 1 });
    const started = Date.now();
    for (let i = 0; i < 6; i++) await limiter.acquire();
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
  });
});
