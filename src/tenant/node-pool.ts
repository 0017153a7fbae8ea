/**
 * A Dedicated tenant's AKS node pool, decided once: its name, size, label and taint, and the
 * node selector and toleration that put the tenant's pods (and only them) on it. Pure.
 *
 * The pool holds no customer data (the database and vault are elsewhere; the application's
 * filesystem is read-only with a bounded emptyDir), so it goes away with the tenant whatever its
 * deletionPolicy says, and when the tenant returns to Shared.
 */
import { createHash } from 'node:crypto';
import type { Isolation, Tenant } from '../api/v1alpha1/tenant.ts';
import { type AgentPoolParams, managedClusterId } from '../azure/kinds/container-service.ts';
import type { OperatorConfig } from '../config.ts';
import { TENANT_LABEL } from './labels.ts';

type AzureConfig = NonNullable<OperatorConfig['azure']>;

/** The label and taint key that mark a node as one tenant's: `tenancy.dev/tenant=<tenant>`. */
export const DEDICATED_NODE_KEY = TENANT_LABEL;

const BASE36_CHARS = 11;

/**
 * The pool's name: `t` and 11 base-36 characters of SHA-256 of the tenant's name (and the
 * installation's salt). AKS allows Linux pool names of 1-12 lowercase letters and digits starting
 * with a letter, so the tenant's name itself cannot be used. Stable: the same tenant always gets
 * the same name, so a lost status finds its pool again. Collisions: 36^11 ≈ 1.3e17 names; among
 * 100 pools (AKS's limit per cluster) the chance of any two sharing one is about 100² / (2 × 1.3e17)
 * ≈ 4e-14, and tenant names are unique in the cluster, so a collision needs a SHA-256 coincidence.
 */
export function nodePoolName(tenantName: string, salt = ''): string {
  const digest = createHash('sha256').update(`${salt}/${tenantName}`).digest();
  // 64 bits are plenty for 11 base-36 characters (36^11 < 2^57).
  const n = digest.readBigUInt64BE(0) % 36n ** BigInt(BASE36_CHARS);
  return `t${n.toString(36).padStart(BASE36_CHARS, '0')}`;
}

/** The taint that keeps every other pod off the tenant's nodes. */
export function dedicatedTaint(tenantName: string): string {
  return `${DEDICATED_NODE_KEY}=${tenantName}:NoSchedule`;
}

/**
 * The isolation of a tenant's nodes: Dedicated only when its spec says so. The operator-wide
 * `azure.placement.defaultIsolation` decides where an unset tenant's database goes
 * (placement.ts), never that it gets a node pool: a pool per tenant is a cost the spec asks for.
 */
export function nodeIsolation(spec: { isolation?: Isolation | undefined }): Isolation {
  return spec.isolation ?? 'Shared';
}

/**
 * Where the pool goes and what it is, or why there is none: `shared` (isolation Shared),
 * `notConfigured` (Dedicated, but the configuration names no cluster).
 */
export type NodePoolPlan = { kind: 'shared' } | { kind: 'notConfigured' } | { kind: 'dedicated'; pool: AgentPoolParams };

/** Pure: the pool of a tenant whose effective isolation is `tenant.spec.isolation`. */
export function nodePoolPlan(tenant: Tenant, azure: AzureConfig, tags: Record<string, string>): NodePoolPlan {
  if (nodeIsolation(tenant.spec) !== 'Dedicated') return { kind: 'shared' };
  const cluster = azure.cluster;
  if (cluster === undefined) return { kind: 'notConfigured' };
  const sizing = cluster.nodePools[tenant.spec.tier];
  const name = tenant.metadata.name;
  return {
    kind: 'dedicated',
    pool: {
      clusterId: managedClusterId(cluster.subscriptionId ?? azure.subscriptionId, cluster.resourceGroup, cluster.name),
      name: nodePoolName(name, azure.nameSalt),
      vmSize: sizing.vmSize,
      count: sizing.count,
      nodeLabels: { [DEDICATED_NODE_KEY]: name },
      nodeTaints: [dedicatedTaint(name)],
      tags,
    },
  };
}

export interface PodPlacement {
  nodeSelector?: Record<string, string>;
  tolerations?: { key: string; operator: 'Equal'; value: string; effect: 'NoSchedule' }[];
}

/**
 * Pure: the node selector and toleration of a tenant's pods. Only a Dedicated tenant whose pool is
 * there (`poolReady`) gets them, so its pods never sit Pending on a pool not yet created; a
 * Shared tenant tolerates no dedicated taint, so it never lands on another tenant's nodes.
 */
export function podPlacement(tenant: Pick<Tenant, 'metadata' | 'spec'>, poolReady: boolean): PodPlacement {
  if ((tenant.spec.isolation ?? 'Shared') !== 'Dedicated' || !poolReady) return {};
  const name = tenant.metadata.name;
  return {
    nodeSelector: { [DEDICATED_NODE_KEY]: name },
    tolerations: [{ key: DEDICATED_NODE_KEY, operator: 'Equal', value: name, effect: 'NoSchedule' }],
  };
}
