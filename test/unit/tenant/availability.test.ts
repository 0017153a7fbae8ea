import { describe, expect, test } from '@jest/globals';
import type { KubeObject } from '../../../src/runtime/kube-client.ts';
import { applicationAvailability } from '../../../src/tenant/availability.ts';

type DeploymentModifier = (d: KubeObject & { spec: { replicas?: number }; status: Record<string, any> }) => void;

/** A Deployment as the API server returns it: 3 replicas, rolled out and available, generation observed. */
function aDeployment(...modifiers: DeploymentModifier[]): KubeObject {
  const d = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'tenant-app', namespace: 'tenant-acme-prod', generation: 4 },
    spec: { replicas: 3 as number | undefined },
    status: {
      observedGeneration: 4,
      replicas: 3,
      updatedReplicas: 3,
      readyReplicas: 3,
      availableReplicas: 3,
      conditions: [
        {
          type: 'Available',
          status: 'True',
          reason: 'MinimumReplicasAvailable',
          message: 'Deployment has minimum availability.',
        },
        {
          type: 'Progressing',
          status: 'True',
          reason: 'NewReplicaSetAvailable',
          message: 'ReplicaSet "tenant-app-7c9" has successfully progressed.',
        },
      ] as { type: string; status: string; reason: string; message: string }[],
    } as Record<string, any>,
  };
  for (const m of modifiers) m(d);
  return d;
}

const status =
  (fields: Record<string, unknown>): DeploymentModifier =>
  (d) => {
    Object.assign(d.status, fields);
  };
const condition =
  (type: string, value: string, reason: string, message: string): DeploymentModifier =>
  (d) => {
    d.status.conditions = [
      ...d.status.conditions.filter((c: { type: string }) => c.type !== type),
      { type, status: value, reason, message },
    ];
  };
const specReplicas =
  (replicas: number | undefined): DeploymentModifier =>
  (d) => {
    d.spec.replicas = replicas;
  };

describe('applicationAvailability', () => {
  test.each([
    ['not created yet', undefined, 'False', 'DeploymentMissing', /does not exist yet/],
    [
      'a new generation the controller has not observed: nothing is known about it yet',
      aDeployment(status({ observedGeneration: 3 })),
      'Unknown',
      'RolloutPending',
      /generation 4 is not yet observed .*observed 3/,
    ],
    [
      'a status written before the first observation',
      aDeployment(status({ observedGeneration: undefined })),
      'Unknown',
      'RolloutPending',
      /observed none/,
    ],
    [
      'past its progress deadline',
      aDeployment(
        status({ updatedReplicas: 1, availableReplicas: 2 }),
        condition('Progressing', 'False', 'ProgressDeadlineExceeded', 'ReplicaSet "tenant-app-8d1" has timed out progressing.'),
      ),
      'False',
      'RolloutStuck',
      /exceeded its progress deadline: ReplicaSet "tenant-app-8d1" has timed out progressing/,
    ],
    [
      'new replicas still coming up',
      aDeployment(status({ replicas: 4, updatedReplicas: 1, availableReplicas: 3 })),
      'False',
      'RollingOut',
      /1 of 3 replicas run the current version/,
    ],
    [
      'all updated, old replicas still terminating',
      aDeployment(status({ replicas: 4, updatedReplicas: 3, availableReplicas: 3 })),
      'False',
      'RollingOut',
      /1 old replicas are pending termination/,
    ],
    [
      'updated but not all available',
      aDeployment(status({ availableReplicas: 2, readyReplicas: 2 })),
      'False',
      'ReplicasUnavailable',
      /^2 of 3 replicas are available: Deployment has minimum availability\.$/,
    ],
    [
      'the Available condition is False',
      aDeployment(
        condition('Available', 'False', 'MinimumReplicasUnavailable', 'Deployment does not have minimum availability.'),
      ),
      'False',
      'ReplicasUnavailable',
      /does not have minimum availability/,
    ],
    [
      'no available replica at all, fields omitted as the API server does for zero',
      aDeployment(status({ availableReplicas: undefined, readyReplicas: undefined, conditions: [] })),
      'False',
      'ReplicasUnavailable',
      /^0 of 3 replicas are available\.$/,
    ],
    [
      'rolled out and available',
      aDeployment(),
      'True',
      'Available',
      /^3 of 3 replicas are available and run the current version\.$/,
    ],
    [
      'spec.replicas omitted (an HPA-managed field before its first write): the API default of 1',
      aDeployment(specReplicas(undefined), status({ replicas: 1, updatedReplicas: 1, availableReplicas: 1 })),
      'True',
      'Available',
      /^1 of 1 replicas/,
    ],
    [
      'scaling down: more available than desired is available',
      aDeployment(specReplicas(2), status({ replicas: 3, updatedReplicas: 3, availableReplicas: 3 })),
      'True',
      'Available',
      /^3 of 2 replicas are available/,
    ],
  ] as const)('%s: %s %s', (_name, deployment, expectedStatus, reason, message) => {
    const c = applicationAvailability(deployment);
    expect(c).toMatchObject({ type: 'ApplicationAvailable', status: expectedStatus, reason });
    expect(c.message).toMatch(message);
  });
});
