import {
  type AzureContext,
  assertSettled,
  callOptions,
  getOrUndefined,
  mergeTags,
  placementDiff,
  refuseLocationChange,
  type Tags,
} from './arm.ts';

export interface ResourceGroupDesired {
  name: string;
  location: string;
  tags: Tags;
}

export interface ResourceGroupObserved {
  id: string;
  name: string;
  location: string;
  tags: Tags;
  provisioningState: string | undefined;
}

export type ResourceGroupField = 'location' | 'tags';

type ResourceGroup = Awaited<ReturnType<AzureContext['clients']['resources']['resourceGroups']['get']>>;

function toObserved(rg: ResourceGroup, name: string): ResourceGroupObserved {
  return {
    id: rg.id ?? '',
    name: rg.name ?? name,
    location: rg.location,
    tags: rg.tags ?? {},
    provisioningState: rg.properties?.provisioningState,
  };
}

export async function observeResourceGroup(ctx: AzureContext, name: string): Promise<ResourceGroupObserved | undefined> {
  const rg = await getOrUndefined(() => ctx.clients.resources.resourceGroups.get(name, callOptions(ctx)));
  return rg === undefined ? undefined : toObserved(rg, name);
}

/** Fields that differ. Pure. `location` can only differ by mistake: Azure cannot move a group. */
export function diffResourceGroup(desired: ResourceGroupDesired, observed: ResourceGroupObserved): ResourceGroupField[] {
  const fields: ResourceGroupField[] = placementDiff(desired, observed);
  return fields;
}

/**
 * Create the group (PUT) when missing, else PATCH its tags when they differ; no call when nothing
 * differs. A location change is a TerminalError: moving means a new group.
 */
export async function applyResourceGroup(
  ctx: AzureContext,
  desired: ResourceGroupDesired,
  observed: ResourceGroupObserved | undefined,
): Promise<ResourceGroupObserved> {
  const groups = ctx.clients.resources.resourceGroups;
  if (observed === undefined) {
    const rg = await groups.createOrUpdate(desired.name, { location: desired.location, tags: desired.tags }, callOptions(ctx));
    return toObserved(rg, desired.name);
  }
  assertSettled(ctx, `resource group ${desired.name}`, observed.provisioningState);
  const fields = diffResourceGroup(desired, observed);
  refuseLocationChange(`resource group ${desired.name}`, fields, observed.location, desired.location);
  if (fields.length === 0) return observed;
  const rg = await groups.update(desired.name, { tags: mergeTags(desired.tags, observed.tags) }, callOptions(ctx));
  return { ...observed, tags: rg.tags ?? {} };
}

/** Replace the group's tags with `tags` merged over what it has (used to mark it orphaned). */
export async function tagResourceGroup(ctx: AzureContext, observed: ResourceGroupObserved, tags: Tags): Promise<void> {
  await ctx.clients.resources.resourceGroups.update(observed.name, { tags: { ...observed.tags, ...tags } }, callOptions(ctx));
}

/** Delete the group and wait for ARM to finish (it deletes whatever is still inside). */
export async function deleteResourceGroup(ctx: AzureContext, name: string): Promise<void> {
  await ctx.clients.resources.resourceGroups.delete(name, callOptions(ctx));
}
