/**
 * Which Azure regions have availability zones, as Azure publishes them: the emulator's own copy, so
 * a test holds the operator's list (src/config.ts DEFAULT_AVAILABILITY_ZONE_REGIONS) against it
 * instead of against itself. Source: "Azure regions list",
 * https://learn.microsoft.com/azure/reliability/regions-list (MicrosoftDocs/reliability-docs
 * articles/reliability/regions-list.md, ms.date 09/23/2025); regions marked "coming soon"
 * (denmarkeast) are left out.
 */
export const AVAILABILITY_ZONE_REGIONS: readonly string[] = [
  'australiaeast',
  'austriaeast',
  'belgiumcentral',
  'brazilsouth',
  'canadacentral',
  'centralindia',
  'centralus',
  'chilecentral',
  'eastasia',
  'eastus',
  'eastus2',
  'francecentral',
  'germanywestcentral',
  'indonesiacentral',
  'israelcentral',
  'italynorth',
  'japaneast',
  'japanwest',
  'koreacentral',
  'malaysiawest',
  'mexicocentral',
  'newzealandnorth',
  'northeurope',
  'norwayeast',
  'polandcentral',
  'qatarcentral',
  'southafricanorth',
  'southcentralus',
  'southeastasia',
  'spaincentral',
  'swedencentral',
  'switzerlandnorth',
  'uaenorth',
  'uksouth',
  'westeurope',
  'westus2',
  'westus3',
];
