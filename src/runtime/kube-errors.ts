/** How a failed Kubernetes API call is classified: retry with backoff, or wait for a spec change. */
import { errorMessage, PlatformError, RetryableError, TerminalError } from './errors.ts';
import { KubeApiError } from './kube-client.ts';

/** Maps a Kubernetes API failure to what the controller should do about it. */
export function classifyKubeError(err: unknown, what: string): RetryableError | TerminalError {
  if (err instanceof KubeApiError) {
    if (err.code === 400 || err.code === 422)
      return new TerminalError('InvalidObject', `${what} was rejected by the API server: ${err.message}`, { cause: err });
    // RBAC or an admission policy said no: no spec change fixes that, the platform team must act.
    // Retried every minute, so the fix is picked up soon without a storm meanwhile.
    if (err.code === 403)
      return new PlatformError('Forbidden', `${what} is forbidden: ${err.message} (check the operator's RBAC)`, {
        cause: err,
        retryAfterMs: 60_000,
      });
    if (err.code === 409) return new RetryableError('Conflict', `${what}: ${err.message}`, { cause: err });
    return new RetryableError('KubernetesApiError', `${what}: ${err.message}`, {
      cause: err,
      ...(err.retryAfterMs === undefined ? {} : { retryAfterMs: err.retryAfterMs }),
    });
  }
  if (err instanceof RetryableError || err instanceof TerminalError) return err;
  return new RetryableError('KubernetesUnreachable', `${what}: ${errorMessage(err)}`, { cause: err });
}
