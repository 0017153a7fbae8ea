import { describe, expect, test } from '@jest/globals';
import { WorkQueue } from '../../../src/runtime/queue.ts';

describe('WorkQueue', () => {
  test('deduplicates keys that are waiting', async () => {
    const q = new WorkQueue();
    q.add('a');
    q.add('a');
    q.add('b');
    expect(q.depth).toBe(2);
    expect(await q.get()).toBe('a');
    expect(await q.get()).toBe('b');
    q.shutDown();
  });

  test('never hands the same key to two workers; a key re-added while processing comes back after done', async () => {
    const q = new WorkQueue();
    q.add('a');
    const key = await q.get();
    q.add('a');
    expect(q.depth).toBe(0);
    q.done(key as string);
    expect(q.depth).toBe(1);
    expect(await q.get()).toBe('a');
    q.shutDown();
  });

  test('urgent keys are handed out first, each lane in order; an urgent add moves a waiting key ahead', async () => {
    const q = new WorkQueue();
    for (const key of ['new-1', 'new-2', 'new-3']) q.add(key);
    q.add('started-1', { urgent: true });
    q.add('new-3', { urgent: true });
    q.add('started-1', { urgent: true });
    expect(q.depth).toBe(4);
    const order: (string | undefined)[] = [];
    for (let i = 0; i < 4; i++) order.push(await q.get());
    expect(order).toEqual(['started-1', 'new-3', 'new-1', 'new-2']);
    q.shutDown();
  });

  test('a change goes ahead of urgent work; a queued key moves to an earlier lane, never to a later one', async () => {
    const q = new WorkQueue();
    q.add('new-1');
    q.add('polling-1', { urgent: true });
    q.add('polling-2', { urgent: true });
    q.add('edited', { lane: 'change' });
    q.add('polling-2', { lane: 'change' });
    q.add('edited', { urgent: true });
    q.add('edited');
    expect(q.depth).toBe(4);
    const order: (string | undefined)[] = [];
    for (let i = 0; i < 4; i++) order.push(await q.get());
    expect(order).toEqual(['edited', 'polling-2', 'polling-1', 'new-1']);
    q.shutDown();
  });

  test('a key changed while it is processed comes back in the change lane, whatever else was added', async () => {
    const q = new WorkQueue();
    q.add('a');
    const key = (await q.get()) as string;
    q.add('b', { urgent: true });
    q.add('a', { lane: 'change' });
    q.add('a', { urgent: true });
    q.done(key);
    expect(await q.get()).toBe('a');
    expect(await q.get()).toBe('b');
    q.shutDown();
  });

  test('a delayed urgent requeue (an operation being polled) comes back ahead of new keys', async () => {
    const q = new WorkQueue();
    q.addAfter('polling', 10, { urgent: true });
    for (const key of ['new-1', 'new-2']) q.add(key);
    await new Promise((r) => setTimeout(r, 30));
    expect(await q.get()).toBe('polling');
    expect(await q.get()).toBe('new-1');
    q.shutDown();
  });

  test('a key made urgent while it is processed comes back urgent after done', async () => {
    const q = new WorkQueue();
    q.add('a');
    const key = (await q.get()) as string;
    q.add('b');
    q.add('a');
    q.add('a', { urgent: true });
    q.done(key);
    expect(await q.get()).toBe('a');
    expect(await q.get()).toBe('b');
    q.shutDown();
  });

  test.each([
    [0, 500],
    [1, 1000],
    [3, 4000],
    [20, 300_000],
  ])('backoff after %i failures is about %i ms (±10%% jitter, capped)', (failures, expected) => {
    const q = new WorkQueue({ baseDelayMs: 500, maxDelayMs: 300_000 });
    const delay = q.backoffFor(failures);
    expect(delay).toBeGreaterThanOrEqual(expected * 0.9);
    expect(delay).toBeLessThanOrEqual(expected * 1.1);
  });

  test('addRateLimited grows per key and forget resets it', () => {
    const q = new WorkQueue({ baseDelayMs: 1000 });
    const first = q.addRateLimited('a');
    const second = q.addRateLimited('a');
    expect(second).toBeGreaterThan(first);
    expect(q.failures('a')).toBe(2);
    q.forget('a');
    expect(q.failures('a')).toBe(0);
    q.shutDown();
  });

  test('addAfter keeps the earliest of two pending delays', async () => {
    const q = new WorkQueue();
    const started = Date.now();
    q.addAfter('a', 10_000);
    q.addAfter('a', 20);
    expect(await q.get()).toBe('a');
    expect(Date.now() - started).toBeLessThan(5_000);
    q.shutDown();
  });

  test('a delay beyond what a Node timer holds (30 days: the next failover drill) waits, never fires at once', async () => {
    const q = new WorkQueue();
    q.addAfter('drill', 30 * 86_400_000);
    q.add('other');
    expect(await q.get()).toBe('other');
    q.done('other');
    // Uncapped, Node would fire the 30-day timer after 1 ms and hand 'drill' out here.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(q.depth).toBe(0);
    q.shutDown();
  });

  test('the overall rate limit spaces hand-outs once the burst is spent', async () => {
    const q = new WorkQueue({ ratePerSecond: 20, burst: 2 });
    for (const k of ['a', 'b', 'c', 'd']) q.add(k);
    const started = Date.now();
    for (let i = 0; i < 4; i++) q.done((await q.get()) as string);
    // 2 from the burst, then 2 more at 20/s: at least ~100 ms.
    expect(Date.now() - started).toBeGreaterThanOrEqual(90);
    q.shutDown();
  });

  test('shutDown releases waiting workers', async () => {
    const q = new WorkQueue();
    const waiting = q.get();
    q.shutDown();
    expect(await waiting).toBeUndefined();
  });
});
