/**
 * The `ApplicationAvailable` condition, read from the tenant Deployment's real status the way
 * `kubectl rollout status` reads it: nothing is claimed before the Deployment controller has
 * observed the current generation, and a rollout counts as done only when every replica runs the
 * new template and is available. Pure: the reconciler passes the Deployment from its cache.
 */
import type { ConditionInput } from '../runtime/conditions.ts';
import type { KubeObject } from '../runtime/kube-client.ts';

export const APPLICATION_AVAILABLE = 'ApplicationAvailable';

interface DeploymentCondition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

interface DeploymentStatus {
  observedGeneration?: number;
  replicas?: number;
  updatedReplicas?: number;
  readyReplicas?: number;
  availableReplicas?: number;
  conditions?: DeploymentCondition[];
}

/**
 * The order of the checks is kubectl's (`DeploymentStatusViewer`): a stale observation first (the
 * counts below it describe the previous spec), then a rollout past its progress deadline, then
 * replicas still on the old template, then replicas not yet available.
 */
export function applicationAvailability(deployment: KubeObject | undefined): ConditionInput {
  const condition = (status: ConditionInput['status'], reason: string, message: string): ConditionInput => ({
    type: APPLICATION_AVAILABLE,
    status,
    reason,
    message,
  });
  if (!deployment) return condition('False', 'DeploymentMissing', 'The application Deployment does not exist yet.');

  const name = deployment.metadata.name;
  const status = (deployment.status ?? {}) as DeploymentStatus;
  const generation = deployment.metadata.generation ?? 0;
  // Unknown, not False: the controller has not looked at the new spec yet, so nothing is known about it.
  if ((status.observedGeneration ?? 0) < generation) {
    return condition(
      'Unknown',
      'RolloutPending',
      `Deployment ${name} generation ${generation} is not yet observed by the Deployment controller (observed ${status.observedGeneration ?? 'none'}).`,
    );
  }

  const progressing = status.conditions?.find((c) => c.type === 'Progressing');
  if (progressing?.reason === 'ProgressDeadlineExceeded') {
    return condition(
      'False',
      'RolloutStuck',
      `Deployment ${name} exceeded its progress deadline: ${progressing.message ?? 'no progress'}. Check the pods' events and logs.`,
    );
  }

  // The API server defaults spec.replicas to 1; an HPA writes it, so this is always the current target.
  const desired = ((deployment.spec as { replicas?: number } | undefined)?.replicas ?? 1) as number;
  const updated = status.updatedReplicas ?? 0;
  const total = status.replicas ?? 0;
  const available = status.availableReplicas ?? 0;
  if (updated < desired) {
    return condition('False', 'RollingOut', `Rolling out: ${updated} of ${desired} replicas run the current version.`);
  }
  if (total > updated) {
    return condition('False', 'RollingOut', `Rolling out: ${total - updated} old replicas are pending termination.`);
  }

  const availableCondition = status.conditions?.find((c) => c.type === 'Available');
  if (available < desired || availableCondition?.status === 'False') {
    return condition(
      'False',
      'ReplicasUnavailable',
      `${available} of ${desired} replicas are available${availableCondition?.message ? `: ${availableCondition.message}` : '.'}`,
    );
  }
  return condition('True', 'Available', `${available} of ${desired} replicas are available and run the current version.`);
}
