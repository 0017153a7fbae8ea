/** Writing status through the /status subresource, only when it changed. */
import { FIELD_MANAGER } from './apply.ts';
import { jsonEqual } from './compare.ts';
import type { KubeClient, KubeObject, ResourceType } from './kube-client.ts';
import { classifyKubeError } from './kube-errors.ts';

/** Applies `status` to `obj` (server-side apply on /status) unless it equals what is stored. Returns whether it wrote. */
export async function writeStatusIfChanged(
  client: KubeClient,
  type: ResourceType,
  obj: KubeObject,
  status: object,
): Promise<boolean> {
  if (jsonEqual(obj.status ?? {}, status)) return false;
  try {
    await client.apply(
      type,
      { apiVersion: type.apiVersion, kind: type.kind, metadata: { name: obj.metadata.name }, status },
      FIELD_MANAGER,
      'status',
    );
  } catch (err) {
    throw classifyKubeError(err, `writing the status of ${type.kind} ${obj.metadata.name}`);
  }
  return true;
}
