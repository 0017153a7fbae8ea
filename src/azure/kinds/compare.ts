/**
 * Azure's normal form: how an observed resource is compared with what we want (ids and GUIDs
 * case-insensitively, locations without spaces, our tags only), and a diff written as data.
 */
import type { ArmBody } from '../arm-client.ts';
import { AZURE_TAGS, type Placement, str, type Tags } from './common.ts';

/**
 * Tags differ when a tag we want is missing or has another value, or when the resource is still
 * marked orphaned. Tags someone else added are left alone (Azure Policy often adds some).
 */
export function tagsDiffer(desired: Tags, observed: Tags | undefined): boolean {
  const actual = observed ?? {};
  if (AZURE_TAGS.orphaned in actual && !(AZURE_TAGS.orphaned in desired)) return true;
  return Object.entries(desired).some(([k, v]) => actual[k] !== v);
}

/** Azure normalizes locations ("West Europe" → "westeurope"); compare that way. */
export function sameLocation(a: string | undefined, b: string | undefined): boolean {
  const norm = (s: string | undefined): string => (s ?? '').replaceAll(' ', '').toLowerCase();
  return norm(a) === norm(b);
}

/**
 * `location` and `tags` differences. A location difference is never written (Azure cannot move
 * most resources, and moving data silently is what residency forbids): kinds leave it out of
 * their update, so it surfaces as an immutable difference.
 */
export function placementDiff(desired: Placement, observed: ArmBody): string[] {
  const fields: string[] = [];
  if (!sameLocation(desired.location, str(observed.location))) fields.push('location');
  if (tagsDiffer(desired.tags, observed.tags as Tags | undefined)) fields.push('tags');
  return fields;
}

/**
 * A diff written as data: each field we own with whether it differs, in Azure's normal form.
 * Returns the names of those that do, in the order given.
 */
export function fieldsThatDiffer(differs: Record<string, boolean>): string[] {
  return Object.keys(differs).filter((field) => differs[field]);
}

/** Case-insensitive equality of ids and GUIDs. */
export function sameId(a: string | undefined, b: string | undefined): boolean {
  return (a ?? '').toLowerCase() === (b ?? '').toLowerCase();
}
