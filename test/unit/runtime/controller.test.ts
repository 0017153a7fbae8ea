/**
 * The controller's outcome of each reconcile, as the metrics count it: who must act is part of it,
 * so a spec only its owner can fix or a permission only the platform team can grant is never
 * counted as the operator failing (issue #19 item 4).
 */
import { expect, test } from '@jest/globals';
import { silentLogger } from '../../../src/observability/logger.ts';
import { Controller, type ReconcileOutcome, type ReconcileResult } from '../../../src/runtime/controller.ts';
import { FailureWithPendingWork, PlatformError, RetryableError, TerminalError } from '../../../src/runtime/errors.ts';
import { WorkQueue } from '../../../src/runtime/queue.ts';

test.each<[string, () => ReconcileResult | undefined, ReconcileOutcome]>([
  ['nothing left to do', () => undefined, 'success'],
  ['a look again later', () => ({ requeueAfterMs: 60_000 }), 'requeue'],
  [
    'a TerminalError (a mistyped spec)',
    () => {
      throw new TerminalError('InvalidSpec', 'spec.region: unknown');
    },
    'spec_error',
  ],
  [
    'a PlatformError (a missing permission)',
    () => {
      throw new PlatformError('AzureAuthorizationFailed', 'no role', { retryAfterMs: 60_000 });
    },
    'platform_error',
  ],
  [
    'a RetryableError (throttled)',
    () => {
      throw new RetryableError('AzureThrottled', '429', { retryAfterMs: 60_000 });
    },
    'retryable_error',
  ],
  [
    'anything else (a bug)',
    () => {
      throw new TypeError('undefined is not a function');
    },
    'error',
  ],
])('%s counts as %s', async (_name, reconcile, expected) => {
  const queue = new WorkQueue({ baseDelayMs: 60_000 });
  let report: (outcome: ReconcileOutcome) => void = () => {};
  const reported = new Promise<ReconcileOutcome>((resolve) => {
    report = resolve;
  });
  const controller = new Controller('tenant', { reconcile: async () => reconcile() }, queue, {
    concurrency: 1,
    logger: silentLogger(),
    hooks: { onReconciled: (_controller, outcome) => report(outcome) },
  });
  controller.start();
  queue.add('acme');
  expect(await reported).toBe(expected);
  await controller.stop();
});

test.each<[string, Error]>([
  ['a TerminalError', new TerminalError('WafRuleInvalid', 'bad rule')],
  ['a PlatformError', new PlatformError('AzureAuthorizationFailed', 'no role', { retryAfterMs: 300_000 })],
])(
  '%s reported while an operation of another resource runs: counted as the failure, looked at again on time',
  async (_name, failure) => {
    const queue = new WorkQueue({ baseDelayMs: 60_000 });
    const outcomes: ReconcileOutcome[] = [];
    let calls = 0;
    let again: () => void = () => {};
    const second = new Promise<void>((resolve) => {
      again = resolve;
    });
    const controller = new Controller(
      'tenant',
      {
        reconcile: async () => {
          calls++;
          if (calls === 1) throw new FailureWithPendingWork(failure as TerminalError, 20);
          again();
          return undefined;
        },
      },
      queue,
      { concurrency: 1, logger: silentLogger(), hooks: { onReconciled: (_c, outcome) => outcomes.push(outcome) } },
    );
    controller.start();
    queue.add('acme');
    // Without the pending work, a terminal failure waits for a spec change and a platform one 5 minutes.
    await second;
    expect(outcomes[0]).toBe(failure instanceof TerminalError ? 'spec_error' : 'platform_error');
    expect(calls).toBe(2);
    await controller.stop();
  },
);
