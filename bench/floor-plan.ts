/**
 * The floor: the least work that produces what the operator produced. This module reads back the
 * Kubernetes objects the operator applied (exactly the fields its field manager owns, taken from
 * `metadata.managedFields`, so defaults the API server added are not re-sent), renames them to a
 * fresh set of namespaces, and lists the ARM resource types the operator wrote, so that
 * bench/floor.ts can issue the same writes with a plain client and the operator's own SDK apply
 * functions.
 */

import { FIELD_MANAGER } from '../src/runtime/apply.ts';
import { isNotFound, type KubeClient, type KubeObject } from '../src/runtime/kube-client.ts';
import { OWNED_NAMESPACED_KINDS, RESOURCES, resourceOf } from '../src/runtime/resources.ts';
import { MANAGED_BY_LABEL, TENANT_LABEL } from '../src/tenant/labels.ts';

/** Label value the floor's objects carry instead of `tenant-operator`, so no operator cache sees them. */
export const FLOOR_MANAGED_BY = 'bench-floor';

export interface FloorTenant {
  /** The floor's tenant name (Azure names derive from it). */
  name: string;
  /** The Tenant as the operator saw it, renamed. */
  tenant: KubeObject;
  /** Namespace, quota, limits, NetworkPolicies: the operator's first step. */
  isolation: KubeObject[];
  /** Everything else the operator applied in the namespace (after Azure). */
  app: KubeObject[];
}

export interface FloorPlan {
  kubeconfig: string;
  /** The operator's configuration file (Azure endpoint, write limit, tiers...). */
  configPath: string;
  concurrency: number;
  /** `pooled` (default): one connection pool; `operator`: src/runtime's KubeClient, as the operator uses it. */
  kubeClient: 'pooled' | 'operator';
  /** ARM resource types the operator wrote for (nearly) every tenant during cold convergence. */
  armSteps: string[];
  /** Desired retention when the operator wrote retention policies. */
  retention: {
    shortTerm: { retentionDays: number; diffBackupIntervalInHours: 12 | 24 };
    longTerm: { weeklyRetention: string; monthlyRetention: string; yearlyRetention: string; weekOfYear: number };
  };
  redundancy: 'Local' | 'Zone' | 'Geo' | 'GeoZone';
  tenants: FloorTenant[];
}

type FieldSet = { [key: string]: FieldSet };

function matchesKey(item: unknown, key: Record<string, unknown>): boolean {
  if (item === null || typeof item !== 'object') return false;
  const obj = item as Record<string, unknown>;
  return Object.entries(key).every(([k, v]) => JSON.stringify(obj[k]) === JSON.stringify(v));
}

/** `value` restricted to the fields of a managedFields `fieldsV1` set. */
export function projectFields(value: unknown, fields: FieldSet): unknown {
  const keys = Object.keys(fields).filter((k) => k !== '.');
  if (keys.length === 0) return value;
  if (Array.isArray(value)) {
    const out: unknown[] = [];
    for (const item of value) {
      for (const k of keys) {
        if (k.startsWith('k:') && matchesKey(item, JSON.parse(k.slice(2)) as Record<string, unknown>)) {
          out.push(projectFields(item, fields[k] as FieldSet));
          break;
        }
        if (k.startsWith('v:') && JSON.stringify(JSON.parse(k.slice(2))) === JSON.stringify(item)) {
          out.push(item);
          break;
        }
      }
    }
    return out;
  }
  if (value !== null && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const k of keys) {
      if (!k.startsWith('f:')) continue;
      const name = k.slice(2);
      if (name in obj) out[name] = projectFields(obj[name], fields[k] as FieldSet);
    }
    return out;
  }
  return value;
}

type ManagedFieldsEntry = { manager?: string; operation?: string; subresource?: string; fieldsV1?: FieldSet };

/** The object as the operator's field manager applied it (identity fields kept), or undefined. */
export function appliedByOperator(live: KubeObject): KubeObject | undefined {
  const entries = (live.metadata as { managedFields?: ManagedFieldsEntry[] }).managedFields ?? [];
  const entry = entries.find((m) => m.manager === FIELD_MANAGER && m.operation === 'Apply' && !m.subresource);
  if (!entry?.fieldsV1) return undefined;
  const projected = projectFields(live, entry.fieldsV1) as KubeObject;
  return {
    ...projected,
    apiVersion: live.apiVersion,
    kind: live.kind,
    metadata: {
      ...(projected.metadata ?? {}),
      name: live.metadata.name,
      ...(live.metadata.namespace ? { namespace: live.metadata.namespace } : {}),
    },
  };
}

const ISOLATION_KINDS = new Set(['Namespace', 'ResourceQuota', 'LimitRange', 'NetworkPolicy']);

/** JSON bytes of what the operator's caches hold (its label selector), and how much of it is managedFields. */
export interface CachedBytes {
  objects: number;
  jsonBytes: number;
  managedFieldsBytes: number;
}

/** Every object with the operator's label, per kind the cluster serves, as the operator applied it. */
export async function readOperatorObjects(admin: KubeClient, servedKinds: string[], sizes?: CachedBytes): Promise<KubeObject[]> {
  const selector = `${MANAGED_BY_LABEL}=tenant-operator`;
  const out: KubeObject[] = [];
  for (const kind of ['Namespace', ...OWNED_NAMESPACED_KINDS.filter((k) => servedKinds.includes(k))]) {
    const type = resourceOf(kind);
    const base = type.apiVersion.includes('/') ? `/apis/${type.apiVersion}` : `/api/${type.apiVersion}`;
    let continueToken: string | undefined;
    do {
      let page: { items: KubeObject[]; metadata?: { continue?: string } };
      try {
        page = await admin.request<{ items: KubeObject[]; metadata?: { continue?: string } }>('GET', `${base}/${type.plural}`, {
          query: { labelSelector: selector, limit: 500, continue: continueToken },
        });
      } catch (err) {
        // An optional kind this cluster does not serve (the Probe of a cluster without the Prometheus Operator).
        if (isNotFound(err)) break;
        throw err;
      }
      for (const item of page.items) {
        if (sizes) {
          sizes.objects++;
          sizes.jsonBytes += JSON.stringify(item).length;
          sizes.managedFieldsBytes += JSON.stringify((item.metadata as { managedFields?: unknown }).managedFields ?? []).length;
        }
        const applied = appliedByOperator({ ...item, apiVersion: type.apiVersion, kind });
        if (applied) out.push(applied);
      }
      continueToken = page.metadata?.continue || undefined;
    } while (continueToken);
  }
  return out;
}

/**
 * Renames one tenant's objects for the floor: namespace `<prefix>X` becomes `floor-X`, and the
 * managed-by label says `bench-floor` (so neither the operator's caches nor the kubelet stand-in
 * pick them up). Names inside the namespace stay.
 */
export function floorTenant(
  tenant: KubeObject,
  objects: KubeObject[],
  operatorPrefix: string,
  floorName: string,
  kindOrder: readonly string[],
): FloorTenant {
  const rename = (ns: string) => (ns.startsWith(operatorPrefix) ? `floor-${ns.slice(operatorPrefix.length)}` : `floor-${ns}`);
  const renamed = objects.map((o) => {
    const metadata = { ...o.metadata };
    if (o.kind === 'Namespace') metadata.name = rename(o.metadata.name);
    else if (o.metadata.namespace) metadata.namespace = rename(o.metadata.namespace);
    if (metadata.labels?.[MANAGED_BY_LABEL]) metadata.labels = { ...metadata.labels, [MANAGED_BY_LABEL]: FLOOR_MANAGED_BY };
    return { ...o, metadata };
  });
  const order = (o: KubeObject) => {
    const i = ['Namespace', ...kindOrder].indexOf(o.kind);
    return i < 0 ? 99 : i;
  };
  renamed.sort((a, b) => order(a) - order(b) || a.metadata.name.localeCompare(b.metadata.name));
  return {
    name: floorName,
    tenant: { ...tenant, metadata: { ...tenant.metadata, name: floorName } },
    isolation: renamed.filter((o) => ISOLATION_KINDS.has(o.kind)),
    app: renamed.filter((o) => !ISOLATION_KINDS.has(o.kind)),
  };
}

/** Groups objects by their tenant label. */
export function byTenant(objects: KubeObject[]): Map<string, KubeObject[]> {
  const map = new Map<string, KubeObject[]>();
  for (const o of objects) {
    const tenant = o.metadata.labels?.[TENANT_LABEL];
    if (!tenant) continue;
    const list = map.get(tenant) ?? [];
    list.push(o);
    map.set(tenant, list);
  }
  return map;
}

export { OWNED_NAMESPACED_KINDS, RESOURCES };
