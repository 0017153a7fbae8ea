/**
 * Reading and applying a tenant's disruptive settings. What runs is read from the world — the
 * tenant namespace records the applied tier and application image — never from the Tenant's
 * status, so a lost status cannot make the operator think a change was already applied.
 */
import type { Tenant } from '../api/v1alpha1/tenant.ts';
import { ISOLATIONS, type Isolation, TIERS, type Tier } from '../api/v1alpha1/tenant.ts';
import type { KubeObject } from '../runtime/kube-client.ts';
import { nodeIsolation } from '../tenant/node-pool.ts';
import type { DisruptiveSettings } from './gate.ts';

/** Annotation on the tenant namespace: the `image:version` the tenant runs. */
export const APPLIED_APPLICATION_ANNOTATION = 'tenancy.dev/application';
/** Label on the tenant namespace: the tier the tenant is sized for (lower case). */
export const APPLIED_TIER_LABEL = 'tenancy.dev/tier';
/** Annotation on the tenant namespace: whether the operator made the database zone-redundant (`true`/`false`). */
export const APPLIED_ZONE_REDUNDANCY_ANNOTATION = 'tenancy.dev/zone-redundant';
/** Annotation on the tenant namespace: the isolation the tenant runs with (`Shared`/`Dedicated`). */
export const APPLIED_ISOLATION_ANNOTATION = 'tenancy.dev/isolation';
/** Annotation on the tenant namespace: the database the application is given, `host/name` (`''`: none yet). */
export const APPLIED_DATABASE_ANNOTATION = 'tenancy.dev/database';

/** Where the application's database is: the host it connects to and the database's name. */
export interface DatabaseConnection {
  host: string;
  name: string;
}

/**
 * The database setting the tenant should run with. `known`: the host and name the Azure side
 * decided (status.azure.databaseHost: the failover group's listener when geo-replicated); while
 * unknown, whatever runs stays (a tenant never provisioned records none yet, `''`). Undefined
 * when the operator does not manage Azure.
 */
export function desiredDatabase(
  managed: boolean,
  known: Partial<DatabaseConnection>,
  running: DisruptiveSettings | undefined,
): string | undefined {
  if (!managed) return undefined;
  if (known.host && known.name) return `${known.host}/${known.name}`;
  return running ? running.database : '';
}

/** The connection a database setting names; undefined for none. */
export function databaseConnection(setting: string | undefined): DatabaseConnection | undefined {
  const slash = setting?.indexOf('/') ?? -1;
  if (!setting || slash <= 0 || slash === setting.length - 1) return undefined;
  return { host: setting.slice(0, slash), name: setting.slice(slash + 1) };
}

/**
 * `zoneRedundant`: what the tenant's database should be (src/tenant/azure.ts); `database`: from
 * desiredDatabase. Both undefined without Azure.
 */
export function desiredSettings(tenant: Tenant, zoneRedundant?: boolean, database?: string): DisruptiveSettings {
  return {
    image: tenant.spec.application.image,
    version: tenant.spec.application.version,
    tier: tenant.spec.tier,
    isolation: nodeIsolation(tenant.spec),
    ...(zoneRedundant === undefined ? {} : { zoneRedundant }),
    ...(database === undefined ? {} : { database }),
  };
}

/** The settings the tenant runs with, from its namespace; undefined when never provisioned. */
export function runningSettings(namespace: KubeObject | undefined): DisruptiveSettings | undefined {
  const application = namespace?.metadata.annotations?.[APPLIED_APPLICATION_ANNOTATION];
  const tierLabel = namespace?.metadata.labels?.[APPLIED_TIER_LABEL];
  const tier = TIERS.find((t) => t.toLowerCase() === tierLabel);
  if (!application || !tier) return undefined;
  const colon = application.lastIndexOf(':');
  if (colon <= 0) return undefined;
  const zone = namespace?.metadata.annotations?.[APPLIED_ZONE_REDUNDANCY_ANNOTATION];
  const isolation = ISOLATIONS.find((i) => i === namespace?.metadata.annotations?.[APPLIED_ISOLATION_ANNOTATION]);
  const database = namespace?.metadata.annotations?.[APPLIED_DATABASE_ANNOTATION];
  return {
    image: application.slice(0, colon),
    version: application.slice(colon + 1),
    tier,
    ...(isolation === undefined ? {} : { isolation }),
    ...(zone === 'true' || zone === 'false' ? { zoneRedundant: zone === 'true' } : {}),
    ...(database === undefined ? {} : { database }),
  };
}

/** The tenant as the builders should see it: disruptive fields replaced by what may run now. */
export function withSettings(tenant: Tenant, settings: DisruptiveSettings): Tenant {
  // Isolation is replaced only while a change of it is held: an unset spec.isolation stays unset,
  // since placement gives an unset tenant's database the operator's default (placement.ts).
  const isolation = (settings.isolation ?? 'Shared') as Isolation;
  return {
    ...tenant,
    spec: {
      ...tenant.spec,
      ...(isolation === nodeIsolation(tenant.spec) ? {} : { isolation }),
      tier: settings.tier as Tier,
      application: { ...tenant.spec.application, image: settings.image, version: settings.version },
    },
  };
}
