import { describe, expect, test } from '@jest/globals';
import { checkResidency, isRedundancyAllowed } from '../../../src/tenant/residency.ts';
import { aConfig } from '../../fixtures/tenant.ts';

const config = aConfig();

describe('checkResidency', () => {
  test.each([
    ['a region inside the requested zone', 'westeurope', 'EU', true, 'EU', undefined],
    ['a region found in a zone without asking', 'eastus2', undefined, true, 'US', undefined],
    ['a region outside the requested zone', 'eastus2', 'EU', false, undefined, 'RegionNotAllowed'],
    ['a region in no zone at all', 'chinaeast2', undefined, false, undefined, 'RegionNotAllowed'],
    ['a zone nobody configured', 'westeurope', 'MARS', false, undefined, 'UnknownResidencyZone'],
  ] as const)('%s', (_name, region, dataResidency, allowed, zone, reason) => {
    const verdict = checkResidency({ region, ...(dataResidency ? { dataResidency } : {}) }, config);
    expect(verdict.allowed).toBe(allowed);
    if (verdict.allowed) expect(verdict.zone).toBe(zone);
    else expect(verdict.reason).toBe(reason);
  });

  test('the refusal names the region, the zone and what is allowed', () => {
    const verdict = checkResidency({ region: 'eastus2', dataResidency: 'EU' }, config);
    expect(verdict.message).toBe(
      'region "eastus2" is outside data-residency zone EU (allowed: westeurope, northeurope, francecentral, germanywestcentral, swedencentral, italynorth, spaincentral)',
    );
  });
});

describe('isRedundancyAllowed', () => {
  test.each([
    ['EU allows geo-redundant backups (the pair stays in the EU)', 'westeurope', 'Geo', true],
    ['Singapore keeps backups local (its pair is another jurisdiction)', 'southeastasia', 'Geo', false],
    ['zone-redundant backups stay in the region', 'southeastasia', 'Zone', true],
  ] as const)('%s', (_name, region, redundancy, expected) => {
    expect(isRedundancyAllowed(checkResidency({ region }, config), redundancy)).toBe(expected);
  });
});
