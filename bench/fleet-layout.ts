/**
 * Where the benchmark's tenants go in Azure: the regions they rotate over, the subscriptions the
 * emulator serves and the operator's shard list (`azure.subscriptions`), for the two layouts.
 *
 * - `shared` (the default, issue #15): placement's default (shared SQL servers per region and
 *   environment) across 3 regions and 4 subscriptions at Azure's default quotas. The shards follow
 *   Azure's landing-zone advice of separate subscriptions per environment: each subscription but
 *   the last takes one environment, the last takes any (the overflow), so a small fleet already
 *   spreads over several subscriptions and 3,000 tenants (1,000 per environment, at most ~975 per
 *   subscription under the 980 resource groups) fill all four.
 * - `dedicated` (`--placement dedicated`): the layout every reference run before issue #15
 *   measured: one subscription, eight regions, a server and resource group per tenant (the emulator's
 *   quotas raised, by name), at most 250 tenants (the operator's shard limit of 250 servers per region).
 */
import { EMULATOR_SUBSCRIPTION_ID } from '../hack/arm-emulator/index.ts';

export type Placement = 'shared' | 'dedicated';

export const ENVIRONMENTS = ['Development', 'QA', 'Production'] as const;
const TIERS = ['Small', 'Medium', 'Large'] as const;

/** The i-th tenant of a fleet: tiers, environments and regions rotate (every 9 tenants, each environment 3 times). */
export function fleetTenantShape(i: number, regions: readonly string[]) {
  return {
    tier: TIERS[i % 3] as (typeof TIERS)[number],
    environment: ENVIRONMENTS[Math.floor(i / 3) % 3] as (typeof ENVIRONMENTS)[number],
    region: regions[i % regions.length] as string,
  };
}

/** The dedicated layout's regions (unchanged, so its runs stay comparable with the references). */
const DEDICATED_REGIONS = [
  'westeurope',
  'northeurope',
  'swedencentral',
  'germanywestcentral',
  'francecentral',
  'uksouth',
  'eastus',
  'eastus2',
] as const;

/** The shared layout's regions, in order (`--regions R` takes the first R). */
const SHARED_REGIONS = ['westeurope', 'northeurope', 'swedencentral', 'germanywestcentral', 'francecentral', 'uksouth'] as const;

/** Azure's default limits (src/tenant/placement.ts AZURE_DEFAULT_LIMITS): the shared layout raises none. */
const AZURE_DEFAULT_SHARD_LIMITS = { resourceGroups: 980, sqlServersPerRegion: 20, roleAssignments: 4000 };
/** The dedicated layout's raise: Azure's ceiling after a quota request, 250 servers per region. */
const RAISED_SHARD_LIMITS = { resourceGroups: 980, sqlServersPerRegion: 250, roleAssignments: 4000 };

/** The dedicated layout's limit: its one subscription's 250 servers per region... and 980 groups. */
export const DEDICATED_MAX_TENANTS = 250;

export interface FleetLayout {
  placement: Placement;
  regions: readonly string[];
  /** Every subscription, the emulator's own (the operator's `azure.subscriptionId`) first. */
  subscriptionIds: readonly string[];
  /** The operator's `azure.subscriptions`. */
  shards: { id: string; environments?: string[]; limits: typeof AZURE_DEFAULT_SHARD_LIMITS }[];
  /** The operator's `azure.placement`. */
  placementConfig: { defaultIsolation: 'Shared' | 'Dedicated' };
}

/** A fixed, readable subscription id per shard index (0 is the emulator's own). */
export function benchSubscriptionId(index: number): string {
  return index === 0 ? EMULATOR_SUBSCRIPTION_ID : `00000000-0000-4000-8000-${String(index).padStart(12, '0')}`;
}

export function fleetLayout(placement: Placement, subscriptions: number, regions: number): FleetLayout {
  if (placement === 'dedicated') {
    return {
      placement,
      regions: DEDICATED_REGIONS,
      subscriptionIds: [EMULATOR_SUBSCRIPTION_ID],
      shards: [{ id: EMULATOR_SUBSCRIPTION_ID, limits: RAISED_SHARD_LIMITS }],
      placementConfig: { defaultIsolation: 'Dedicated' },
    };
  }
  if (!(regions >= 1 && regions <= SHARED_REGIONS.length)) throw new RangeError(`regions must be 1..${SHARED_REGIONS.length}`);
  if (!(subscriptions >= 1)) throw new RangeError('subscriptions must be >= 1');
  const ids = Array.from({ length: subscriptions }, (_, i) => benchSubscriptionId(i));
  return {
    placement,
    regions: SHARED_REGIONS.slice(0, regions),
    subscriptionIds: ids,
    // One environment per subscription but the last, which takes any (with one subscription: any).
    shards: ids.map((id, i) =>
      i < ids.length - 1
        ? { id, environments: [ENVIRONMENTS[i % ENVIRONMENTS.length] as string], limits: AZURE_DEFAULT_SHARD_LIMITS }
        : { id, limits: AZURE_DEFAULT_SHARD_LIMITS },
    ),
    placementConfig: { defaultIsolation: 'Shared' },
  };
}
