/** `Microsoft.Resources/resourceGroups`: where a set of resources lives. */
import type { ResourceKind } from '../engine.ts';
import type { Placement } from './common.ts';
import { placedKind } from './shapes.ts';

export const RESOURCES_API_VERSION = '2025-04-01';

export interface ResourceGroupParams extends Placement {
  subscriptionId: string;
  name: string;
}

export function resourceGroupId(subscriptionId: string, name: string): string {
  return `/subscriptions/${subscriptionId}/resourceGroups/${name}`;
}

export const resourceGroupKind: ResourceKind<ResourceGroupParams> = placedKind({
  type: 'Microsoft.Resources/resourceGroups',
  label: 'resource group',
  apiVersion: RESOURCES_API_VERSION,
  id: (p) => resourceGroupId(p.subscriptionId, p.name),
});
