/**
 * The leader's term ends at lastRenew + renewDeadline even when a renew call never returns, and
 * from that instant the leadership signal refuses every fenced request before anything is sent.
 * A scripted API (the Lease calls only) and jest's fake timers: no wall-clock waiting.
 */
import { afterEach, beforeEach, expect, jest, test } from '@jest/globals';
import { silentLogger } from '../../../src/observability/logger.ts';
import { KubeApiError, KubeClient, type KubeObject } from '../../../src/runtime/kube-client.ts';
import type { KubeConnection } from '../../../src/runtime/kubeconfig.ts';
import { LeaderElector, LeadershipLostError } from '../../../src/runtime/leader.ts';

const OPTIONS = {
  namespace: 'tenant-operator-system',
  name: 'unit',
  identity: 'me',
  leaseDurationMs: 15_000,
  renewDeadlineMs: 10_000,
  retryPeriodMs: 2_000,
};

/** Answers the first acquisition, then lets every later call hang until its signal aborts it. */
class HangingApi {
  calls: { method: string; at: number; abortedAt?: number }[] = [];
  #acquired = false;

  request = (method: string, _path: string, options: { signal?: AbortSignal } = {}): Promise<unknown> => {
    const call: { method: string; at: number; abortedAt?: number } = { method, at: Date.now() };
    this.calls.push(call);
    if (!this.#acquired) {
      if (method === 'GET') return Promise.reject(new KubeApiError(404, 'NotFound', 'lease not found'));
      this.#acquired = true;
      return Promise.resolve({});
    }
    return new Promise((_resolve, reject) => {
      options.signal?.addEventListener('abort', () => {
        call.abortedAt = Date.now();
        reject(options.signal?.reason);
      });
    });
  };
}

beforeEach(() => {
  jest.useFakeTimers({ now: new Date('2026-12-03T12:00:00Z'), doNotFake: ['queueMicrotask', 'nextTick'] });
});
afterEach(() => {
  jest.useRealTimers();
});

test('a renew that never returns ends the term at the renew deadline, fences requests, and aborts the renew itself', async () => {
  const api = new HangingApi();
  const elector = new LeaderElector(api as unknown as KubeClient, OPTIONS, silentLogger());
  const fenced = new KubeClient({} as KubeConnection).fenced(() => elector.signal);
  expect(elector.signal.aborted).toBe(true); // nothing may be written before the first term

  const started = Date.now();
  let stoppedAt: number | undefined;
  let stoppedReason: string | undefined;
  let leadingAt: number | undefined;
  const running = elector.run(
    () => {
      leadingAt = Date.now();
    },
    (reason) => {
      stoppedAt = Date.now();
      stoppedReason = reason;
    },
  );
  await jest.advanceTimersByTimeAsync(0);
  expect(leadingAt).toBe(started);
  expect(elector.isLeader).toBe(true);
  expect(elector.signal.aborted).toBe(false);

  // The first renew starts after one retry period and hangs; the term must still end on time.
  await jest.advanceTimersByTimeAsync(OPTIONS.renewDeadlineMs - 1);
  expect(elector.isLeader).toBe(true);
  expect(api.calls.at(-1)).toMatchObject({ method: 'GET', at: started + OPTIONS.retryPeriodMs });
  await jest.advanceTimersByTimeAsync(1);
  expect(elector.signal.aborted).toBe(true);
  await running;
  expect(stoppedAt).toBe(started + OPTIONS.renewDeadlineMs);
  expect(stoppedReason).toBe('renew deadline exceeded');
  expect(elector.isLeader).toBe(false);
  // The hung renew was cut off at the same instant, not at the client's 30 s timeout.
  expect(api.calls.at(-1)?.abortedAt).toBe(started + OPTIONS.renewDeadlineMs);

  // From now on a fenced request fails before anything is sent (the connection is never touched).
  await expect(fenced.request('PATCH', '/api/v1/namespaces/x', { body: {} })).rejects.toBeInstanceOf(LeadershipLostError);
});

test('each term gets a fresh signal; one ended by stop() is aborted too', async () => {
  const api = {
    request: (method: string) =>
      method === 'GET' ? Promise.reject(new KubeApiError(404, 'NotFound', 'none')) : Promise.resolve({} as KubeObject),
  };
  const elector = new LeaderElector(api as unknown as KubeClient, OPTIONS, silentLogger());
  const running = elector.run(
    () => {},
    () => {},
  );
  await jest.advanceTimersByTimeAsync(0);
  const term = elector.signal;
  expect(term.aborted).toBe(false);
  elector.stop();
  await jest.advanceTimersByTimeAsync(0);
  await running;
  expect(term.aborted).toBe(true);
  expect(elector.isLeader).toBe(false);
});
