/** A Kubernetes API failure classified once: who must act, and when to look again. */
import { expect, test } from '@jest/globals';
import { reasonClass } from '../../../src/api/v1alpha1/conditions.ts';
import { PlatformError, RetryableError, TerminalError } from '../../../src/runtime/errors.ts';
import { KubeApiError } from '../../../src/runtime/kube-client.ts';
import { classifyKubeError } from '../../../src/runtime/kube-errors.ts';

test.each([
  ['a rejected object: the spec must change', new KubeApiError(422, 'Invalid', 'bad'), TerminalError, 'InvalidObject', 'spec'],
  [
    'forbidden (RBAC, admission): the platform team must act',
    new KubeApiError(403, 'Forbidden', 'no'),
    PlatformError,
    'Forbidden',
    'platform',
  ],
  ['a conflict: retried', new KubeApiError(409, 'Conflict', 'stale'), RetryableError, 'Conflict', 'transient'],
  ['a 5xx: retried', new KubeApiError(503, 'ServiceUnavailable', 'busy'), RetryableError, 'KubernetesApiError', 'transient'],
  ['no answer at all: retried', new Error('ECONNREFUSED'), RetryableError, 'KubernetesUnreachable', 'transient'],
] as const)('%s', (_name, err, type, reason, cls) => {
  const classified = classifyKubeError(err, 'writing x');
  expect(classified).toBeInstanceOf(type);
  expect(classified.reason).toBe(reason);
  // The catalogue says the same about who acts.
  expect(reasonClass(classified.reason)).toBe(cls);
});

test('a platform problem is looked at again in a minute, not in a storm', () => {
  expect((classifyKubeError(new KubeApiError(403, 'Forbidden', 'no'), 'x') as PlatformError).retryAfterMs).toBe(60_000);
});
