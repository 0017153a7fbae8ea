import { describe, expect, test } from '@jest/globals';
import { createPerSubscriptionLimiter, createWriteLimiter, subscriptionOfUrl } from '../../../src/azure/write-limiter.ts';

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

describe('createPerSubscriptionLimiter (ARM throttles each subscription and principal on its own)', () => {
  const A = '00000000-0000-4000-8000-00000000000a';
  const B = '00000000-0000-4000-8000-00000000000b';

  test('each subscription has its own bucket: a burst in one leaves the other untouched', async () => {
    const time = fakeTime();
    const limiter = createPerSubscriptionLimiter({ writesPerSecond: 1, burst: 2, now: time.now, sleep: time.sleep });
    const a = limiter.forSubscription?.(A);
    const b = limiter.forSubscription?.(B.toUpperCase());
    for (let i = 0; i < 2; i++) await a?.acquire();
    for (let i = 0; i < 2; i++) await b?.acquire();
    expect(time.sleeps).toEqual([]);
    await a?.acquire();
    expect(time.sleeps).toEqual([1000]);
    // The same subscription, however spelled, is one bucket; the stats add up over all of them.
    expect(limiter.forSubscription?.(B)).toBe(b);
    expect(limiter.stats).toEqual({ granted: 5, delayed: 1, waitedMs: 1000 });
  });

  test.each([
    ['a resource', `/subscriptions/${A}/resourceGroups/rg/providers/Microsoft.Sql/servers/s?api-version=1`, A],
    ['a subscription-level list', `https://management.azure.com/subscriptions/${B}/resourcegroups?api-version=1`, B],
    ['no subscription (a tenant-level call)', 'https://management.azure.com/providers/Microsoft.Sql/operations', ''],
  ])('the subscription of a request URL: %s', (_name, url, expected) => {
    expect(subscriptionOfUrl(url)).toBe(expected);
  });
});
