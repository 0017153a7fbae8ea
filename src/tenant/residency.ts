/**
 * Data residency: a tenant's data (database, vault, backups) stays in the zone it belongs to.
 * Pure policy functions in the cert-manager style: input in, a verdict with a reason out.
 */
import type { TenantSpec } from '../api/v1alpha1/tenant.ts';
import type { OperatorConfig } from '../config.ts';

export type Redundancy = 'Local' | 'Zone' | 'Geo' | 'GeoZone';

export type ResidencyVerdict =
  | { allowed: true; zone: string; backupRedundancies: Redundancy[]; message: string }
  | { allowed: false; reason: 'RegionNotAllowed' | 'UnknownResidencyZone'; message: string };

/** The zone a tenant's region belongs to, checked against the zone the spec asks for, if any. */
export function checkResidency(
  spec: Pick<TenantSpec, 'region' | 'dataResidency'>,
  config: Pick<OperatorConfig, 'residency'>,
): ResidencyVerdict {
  const zones = config.residency.zones;
  if (spec.dataResidency !== undefined) {
    const zone = zones[spec.dataResidency];
    if (!zone) {
      return {
        allowed: false,
        reason: 'UnknownResidencyZone',
        message: `data-residency zone "${spec.dataResidency}" is not configured; known zones: ${Object.keys(zones).sort().join(', ')}`,
      };
    }
    if (!zone.regions.includes(spec.region)) {
      return {
        allowed: false,
        reason: 'RegionNotAllowed',
        message: `region "${spec.region}" is outside data-residency zone ${spec.dataResidency} (allowed: ${zone.regions.join(', ')})`,
      };
    }
    return {
      allowed: true,
      zone: spec.dataResidency,
      backupRedundancies: zone.backupRedundancies,
      message: `${spec.region} is in zone ${spec.dataResidency}.`,
    };
  }
  const found = Object.entries(zones).find(([, z]) => z.regions.includes(spec.region));
  if (!found) {
    return {
      allowed: false,
      reason: 'RegionNotAllowed',
      message: `region "${spec.region}" belongs to no configured data-residency zone; ask the platform team to add it or pick another region`,
    };
  }
  return {
    allowed: true,
    zone: found[0],
    backupRedundancies: found[1].backupRedundancies,
    message: `${spec.region} is in zone ${found[0]}.`,
  };
}

/** Whether a backup storage redundancy keeps backups inside the tenant's zone. */
export function isRedundancyAllowed(verdict: ResidencyVerdict, redundancy: Redundancy): boolean {
  return verdict.allowed && verdict.backupRedundancies.includes(redundancy);
}
