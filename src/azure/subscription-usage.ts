/**
 * What a subscription holds of what Azure limits per subscription (resource groups, role
 * assignments) and per subscription and region (SQL servers), read from ARM's own lists: the
 * counts placement decides on and the capacity metrics show. Knows nothing of tenants.
 */
import type { ArmBody, ArmClient } from './arm-client.ts';
import { AUTHORIZATION_API_VERSION } from './kinds/authorization.ts';
import { str } from './kinds/common.ts';
import { RESOURCES_API_VERSION } from './kinds/resources.ts';
import { SQL_API_VERSION } from './kinds/sql.ts';

/** API version of `GET /subscriptions/{id}` (Microsoft.Resources subscriptions). */
export const SUBSCRIPTIONS_API_VERSION = '2022-12-01';

export interface SubscriptionUsage {
  /** Resource group names, lower case. */
  resourceGroups: Set<string>;
  /** SQL server names (lower case) by location. */
  sqlServersByRegion: Map<string, Set<string>>;
  /** Role assignments at or below the subscription. */
  roleAssignments: number;
}

const lower = (b: ArmBody) => (str(b.name) ?? '').toLowerCase();

/** Three list calls (paged): resource groups, SQL servers, role assignments. */
export async function readSubscriptionUsage(arm: Pick<ArmClient, 'list'>, subscriptionId: string): Promise<SubscriptionUsage> {
  const sub = `/subscriptions/${subscriptionId}`;
  const [groups, servers, assignments] = await Promise.all([
    arm.list(`${sub}/resourcegroups`, RESOURCES_API_VERSION),
    arm.list(`${sub}/providers/Microsoft.Sql/servers`, SQL_API_VERSION),
    arm.list(`${sub}/providers/Microsoft.Authorization/roleAssignments`, AUTHORIZATION_API_VERSION),
  ]);
  const sqlServersByRegion = new Map<string, Set<string>>();
  for (const s of servers) {
    const region = (str(s.location) ?? '').replaceAll(' ', '').toLowerCase();
    sqlServersByRegion.set(region, (sqlServersByRegion.get(region) ?? new Set()).add(lower(s)));
  }
  return { resourceGroups: new Set(groups.map(lower)), sqlServersByRegion, roleAssignments: assignments.length };
}
