/**
 * `Microsoft.ContainerService/managedClusters/agentPools`: an AKS node pool in a cluster someone
 * else created, with its size, labels and taints. The api-version is the one
 * @azure/arm-containerservice 25.5.0 sends.
 */
import type { ArmBody } from '../arm-client.ts';
import type { ResourceKind } from '../engine.ts';
import { props, provisioningState, str } from './common.ts';
import { armId, childrenOf } from './ids.ts';

export const CONTAINER_SERVICE_API_VERSION = '2026-06-01';

export interface AgentPoolParams {
  /** ARM id of the managed cluster. */
  clusterId: string;
  name: string;
  vmSize: string;
  count: number;
  nodeLabels: Record<string, string>;
  /** `key=value:Effect`. */
  nodeTaints: string[];
  /** Azure tags of the pool (agent pools carry them in `properties.tags`). */
  tags: Record<string, string>;
}

const MANAGED_CLUSTERS_TYPE = 'Microsoft.ContainerService/managedClusters';

export function managedClusterId(subscriptionId: string, resourceGroup: string, name: string): string {
  return armId(MANAGED_CLUSTERS_TYPE, `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}`, name);
}

export function agentPoolId(clusterId: string, name: string): string {
  return armId(agentPoolKind.type, clusterId, name);
}

function body(p: AgentPoolParams): ArmBody {
  return {
    properties: {
      mode: 'User',
      osType: 'Linux',
      type: 'VirtualMachineScaleSets',
      vmSize: p.vmSize,
      count: p.count,
      nodeLabels: p.nodeLabels,
      nodeTaints: p.nodeTaints,
      tags: p.tags,
    },
  };
}

function sameStringMap(a: Record<string, string>, b: unknown): boolean {
  const other = (typeof b === 'object' && b !== null ? b : {}) as Record<string, unknown>;
  return Object.keys(a).length === Object.keys(other).length && Object.entries(a).every(([k, v]) => other[k] === v);
}

/** The fields we own, compared as AKS returns them (taints in any order; foreign tags ignored). */
export function agentPoolDiff(p: AgentPoolParams, observed: ArmBody): string[] {
  const o = props(observed);
  const fields: string[] = [];
  if ((str(o.vmSize) ?? '').toLowerCase() !== p.vmSize.toLowerCase()) fields.push('vmSize');
  if (o.count !== p.count) fields.push('count');
  if (str(o.mode) !== 'User') fields.push('mode');
  if (!sameStringMap(p.nodeLabels, o.nodeLabels)) fields.push('nodeLabels');
  const taints = Array.isArray(o.nodeTaints) ? [...(o.nodeTaints as unknown[])].map(String).sort() : [];
  if (taints.join('\n') !== [...p.nodeTaints].sort().join('\n')) fields.push('nodeTaints');
  const tags = (typeof o.tags === 'object' && o.tags !== null ? o.tags : {}) as Record<string, unknown>;
  if (Object.entries(p.tags).some(([k, v]) => tags[k] !== v)) fields.push('tags');
  return fields;
}

export const agentPoolKind: ResourceKind<AgentPoolParams> = {
  ...childrenOf<AgentPoolParams>(MANAGED_CLUSTERS_TYPE, (p) => p.clusterId)(
    'agentPools',
    CONTAINER_SERVICE_API_VERSION,
    'AKS node pool',
    (p) => p.name,
  ),
  create: body,
  diff: agentPoolDiff,
  // AKS cannot change a pool's VM size in place: a new pool would be needed, and pods would move.
  // That is a decision for a person (a terminal difference), never a silent re-create.
  update: (p, observed, fields) =>
    fields.includes('vmSize') ? undefined : { method: 'PUT', body: body({ ...p, tags: mergedTags(p, observed) }) },
  state: provisioningState,
  // AKS keeps an agent pool's tags in its properties, not at the top level.
  tagsOf: (observed) => {
    const tags = props(observed).tags;
    return typeof tags === 'object' && tags !== null ? (tags as Record<string, string>) : undefined;
  },
};

function mergedTags(p: AgentPoolParams, observed: ArmBody): Record<string, string> {
  const current = props(observed).tags;
  return { ...((typeof current === 'object' && current !== null ? current : {}) as Record<string, string>), ...p.tags };
}
