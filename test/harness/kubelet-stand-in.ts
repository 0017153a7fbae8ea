/**
 * There is no kubelet in the test control plane, so pods never run. This stand-in plays the
 * kubelet's and the deployment controller's part for tenant Deployments: it marks each one
 * rolled out and available (status only), the way a healthy cluster would. Deployments in a
 * namespace labelled `test.tenancy.dev/no-kubelet` are left alone, for tests that write the
 * status themselves (a stuck rollout).
 */
import { KubeApiError, type KubeClient, type KubeObject } from '../../src/runtime/kube-client.ts';

type Deployment = KubeObject & { spec?: { replicas?: number }; status?: { observedGeneration?: number } };

export const NO_KUBELET_LABEL = 'test.tenancy.dev/no-kubelet';

export interface KubeletStandIn {
  stop(): void;
}

export function startKubeletStandIn(admin: KubeClient, intervalMs = 200): KubeletStandIn {
  let stopped = false;
  const tick = async () => {
    const list = await admin.request<{ items: Deployment[] }>('GET', '/apis/apps/v1/deployments', {
      query: { labelSelector: 'app.kubernetes.io/managed-by=tenant-operator' },
    });
    const manual = await admin.request<{ items: KubeObject[] }>('GET', '/api/v1/namespaces', {
      query: { labelSelector: NO_KUBELET_LABEL },
    });
    const ignored = new Set(manual.items.map((n) => n.metadata.name));
    for (const d of list.items) {
      const ns = d.metadata.namespace as string;
      if (ignored.has(ns) || d.status?.observedGeneration === d.metadata.generation) continue;
      await markAvailable(admin, d).catch((err) => {
        if (!(err instanceof KubeApiError)) throw err;
      });
    }
  };
  const loop = async () => {
    while (!stopped) {
      await tick().catch(() => {});
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  };
  void loop();
  return {
    stop: () => {
      stopped = true;
    },
  };
}

export function deploymentStatus(generation: number, replicas: number, overrides: Record<string, unknown> = {}) {
  const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
  return {
    observedGeneration: generation,
    replicas,
    updatedReplicas: replicas,
    readyReplicas: replicas,
    availableReplicas: replicas,
    conditions: [
      {
        type: 'Available',
        status: 'True',
        reason: 'MinimumReplicasAvailable',
        message: 'stand-in',
        lastUpdateTime: now,
        lastTransitionTime: now,
      },
      {
        type: 'Progressing',
        status: 'True',
        reason: 'NewReplicaSetAvailable',
        message: 'stand-in',
        lastUpdateTime: now,
        lastTransitionTime: now,
      },
    ],
    ...overrides,
  };
}

export async function markAvailable(admin: KubeClient, d: Deployment): Promise<void> {
  const replicas = d.spec?.replicas ?? 1;
  await admin.request('PATCH', `/apis/apps/v1/namespaces/${d.metadata.namespace}/deployments/${d.metadata.name}/status`, {
    body: { status: deploymentStatus(d.metadata.generation ?? 1, replicas) },
    contentType: 'application/merge-patch+json',
  });
}
