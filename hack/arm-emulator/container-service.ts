/**
 * Azure Kubernetes Service: the platform's managed cluster (seeded, read-only, like the platform
 * network) and its agent pools (node pools), which callers create and delete, with AKS's name
 * rules, VM sizes offered per region, count ranges, taints, and Compute's vCPU quota (quotas.ts).
 */
import { randomUUID } from 'node:crypto';
import { API_VERSIONS } from './api-versions.ts';
import { asBoolean, asNumber, asObject, asString, type JsonObject } from './json.ts';
import { vmSizeOf } from './quotas.ts';
import { armError, type ResourceTypeSpec, type WriteOutcome } from './resource-types.ts';
import { getResource, putResource, type Store, type StoredResource } from './store.ts';

export const MANAGED_CLUSTER_TYPE = 'Microsoft.ContainerService/managedClusters';
export const AGENT_POOL_TYPE = 'Microsoft.ContainerService/managedClusters/agentPools';

/** The AKS cluster the platform team created, in which the operator adds node pools. */
export interface PlatformCluster {
  subscriptionId: string;
  resourceGroup: string;
  name: string;
  location: string;
  /** Its system node pool (counts against the vCPU quota). Default `system`, Standard_D4s_v5 x 3. */
  systemPool?: { name: string; vmSize: string; count: number };
  kubernetesVersion?: string;
}

export function managedClusterId(c: Pick<PlatformCluster, 'subscriptionId' | 'resourceGroup' | 'name'>): string {
  return `/subscriptions/${c.subscriptionId}/resourceGroups/${c.resourceGroup}/providers/${MANAGED_CLUSTER_TYPE}/${c.name}`;
}

function stored(id: string, type: string, body: JsonObject): StoredResource {
  const name = id.split('/').pop() ?? '';
  return { id, type, name, body: { id, name, type, ...body }, state: 'Succeeded', operationId: undefined };
}

/** Put the platform's cluster, its resource group and its system pool into the store. */
export function seedPlatformCluster(store: Store, cluster: PlatformCluster): void {
  const location = cluster.location.replaceAll(' ', '').toLowerCase();
  const rgId = `/subscriptions/${cluster.subscriptionId}/resourceGroups/${cluster.resourceGroup}`;
  if (getResource(store, rgId) === undefined) {
    putResource(store, stored(rgId, 'Microsoft.Resources/resourceGroups', { location, tags: {}, properties: {} }));
  }
  const id = managedClusterId(cluster);
  const version = cluster.kubernetesVersion ?? '1.34.2';
  putResource(
    store,
    stored(id, MANAGED_CLUSTER_TYPE, {
      location,
      tags: {},
      properties: {
        kubernetesVersion: version,
        currentKubernetesVersion: version,
        dnsPrefix: cluster.name,
        fqdn: `${cluster.name}-${randomUUID().slice(0, 8)}.hcp.${location}.azmk8s.io`,
        nodeResourceGroup: `MC_${cluster.resourceGroup}_${cluster.name}_${location}`,
        powerState: { code: 'Running' },
        oidcIssuerProfile: { enabled: true, issuerURL: `https://${location}.oic.prod-aks.azure.com/${randomUUID()}/` },
      },
    }),
  );
  const system = cluster.systemPool ?? { name: 'system', vmSize: 'Standard_D4s_v5', count: 3 };
  putResource(
    store,
    stored(`${id}/agentPools/${system.name}`, AGENT_POOL_TYPE, {
      _location: location,
      properties: {
        count: system.count,
        vmSize: system.vmSize,
        osType: 'Linux',
        mode: 'System',
        type: 'VirtualMachineScaleSets',
        orchestratorVersion: version,
        currentOrchestratorVersion: version,
        powerState: { code: 'Running' },
        nodeLabels: {},
        nodeTaints: ['CriticalAddonsOnly=true:NoSchedule'],
      },
    }),
  );
}

function fail(status: number, code: string, message: string): WriteOutcome {
  return { ok: false, error: armError(status, code, message) };
}

// https://learn.microsoft.com/azure/aks/create-node-pools: "The name of a node pool must start with a
// lowercase letter and can only contain alphanumeric characters. For Linux node pools the length
// must be between 1 and 12 characters."
const LINUX_POOL_NAME = /^[a-z][a-z0-9]{0,11}$/;
const TAINT = /^([A-Za-z0-9]([-A-Za-z0-9_./]*[A-Za-z0-9])?)=([-A-Za-z0-9_.]{0,63}):(NoSchedule|PreferNoSchedule|NoExecute)$/;
const MAX_NODES_PER_POOL = 1000;

function invalid(message: string): WriteOutcome {
  // AKS answers malformed agent pool parameters with 400 InvalidParameter.
  return fail(400, 'InvalidParameter', message);
}

function stringMap(value: unknown): Record<string, string> | undefined {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) return undefined;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== 'string') return undefined;
    out[k] = v;
  }
  return out;
}

const agentPools: ResourceTypeSpec = {
  type: AGENT_POOL_TYPE,
  apiVersions: [API_VERSIONS.containerService],
  writes: { PUT: 'async', DELETE: 'async' },
  tracked: false,
  write(ctx, { target, body, existing }) {
    const cluster = getResource(ctx.store, target.parentId);
    const location = asString(cluster?.body.location) ?? '';
    if (!LINUX_POOL_NAME.test(target.name)) {
      return invalid(
        `The agent pool name '${target.name}' is invalid: a Linux agent pool name must start with a lowercase letter, contain only lowercase letters and digits, and be 1-12 characters long.`,
      );
    }
    const p = asObject(body.properties);
    const old = asObject(existing?.body.properties);
    const osType = asString(p.osType) ?? 'Linux';
    if (osType !== 'Linux') return invalid(`osType '${osType}' is not supported by the emulator (Linux only).`);
    const mode = asString(p.mode) ?? 'User';
    if (mode !== 'User' && mode !== 'System') return invalid(`mode '${mode}' must be System or User.`);
    const vmSizeName = asString(p.vmSize) ?? asString(old.vmSize);
    if (vmSizeName === undefined) return invalid('vmSize is required.');
    if (existing !== undefined && asString(old.vmSize)?.toLowerCase() !== vmSizeName.toLowerCase()) {
      return invalid(`vmSize of agent pool '${target.name}' cannot be changed (create a new pool).`);
    }
    const size = vmSizeOf(vmSizeName);
    if (size === undefined || (size.regions !== undefined && !size.regions.includes(location))) {
      // AKS's answer (dotnet/core#8000, MicrosoftDocs/azure-docs#45485).
      return fail(
        400,
        'BadRequest',
        `The VM size of Agentpool:${target.name} is not allowed in your subscription in location '${location}'. For more details, please visit https://aka.ms/aks/quotas-skus-regions`,
      );
    }
    const autoscale = asBoolean(p.enableAutoScaling) ?? false;
    const count = asNumber(p.count) ?? 1;
    const minCount = asNumber(p.minCount);
    const maxCount = asNumber(p.maxCount);
    const minimum = mode === 'System' ? 1 : 0;
    if (!Number.isInteger(count) || count < minimum || count > MAX_NODES_PER_POOL) {
      return invalid(
        `agentPoolProfile.count was ${count}. It must be greater or equal to minCount:${minimum} and less than or equal to maxCount:${MAX_NODES_PER_POOL}.`,
      );
    }
    if (autoscale) {
      if (minCount === undefined || maxCount === undefined || minCount < minimum || maxCount > MAX_NODES_PER_POOL) {
        return invalid(`With enableAutoScaling, minCount and maxCount are required within [${minimum}, ${MAX_NODES_PER_POOL}].`);
      }
      if (minCount > maxCount || count < minCount || count > maxCount) {
        return invalid(`count ${count} must lie within minCount ${minCount} and maxCount ${maxCount}.`);
      }
    } else if (minCount !== undefined || maxCount !== undefined) {
      return invalid('minCount and maxCount may only be set with enableAutoScaling.');
    }
    const taints = p.nodeTaints === undefined || p.nodeTaints === null ? [] : p.nodeTaints;
    if (!Array.isArray(taints) || taints.some((t) => typeof t !== 'string' || !TAINT.test(t))) {
      return invalid(
        `nodeTaints must be strings 'key=value:NoSchedule|PreferNoSchedule|NoExecute', got ${JSON.stringify(taints)}.`,
      );
    }
    const labels = stringMap(p.nodeLabels);
    if (labels === undefined) return invalid('nodeLabels must map strings to strings.');
    const version = asString(asObject(cluster?.body.properties).currentKubernetesVersion);
    return {
      ok: true,
      body: {
        _location: location,
        properties: {
          count,
          vmSize: vmSizeName,
          osType,
          osSKU: asString(p.osSKU) ?? 'Ubuntu',
          mode,
          type: 'VirtualMachineScaleSets',
          enableAutoScaling: autoscale,
          ...(autoscale ? { minCount, maxCount } : {}),
          nodeLabels: labels,
          nodeTaints: taints,
          maxPods: asNumber(p.maxPods) ?? 250,
          osDiskSizeGB: asNumber(p.osDiskSizeGB) ?? 128,
          orchestratorVersion: asString(p.orchestratorVersion) ?? version,
          currentOrchestratorVersion: version,
          powerState: { code: 'Running' },
          ...(p.tags === undefined ? {} : { tags: p.tags }),
        },
      },
    };
  },
  validateDelete(_ctx, pool) {
    if (asString(asObject(pool.body.properties).mode) === 'System') {
      return armError(400, 'InvalidParameter', `Agent pool '${pool.name}' is the cluster's system pool and cannot be deleted.`);
    }
    return undefined;
  },
};

const managedClusters: ResourceTypeSpec = {
  type: MANAGED_CLUSTER_TYPE,
  apiVersions: [API_VERSIONS.containerService],
  // The platform team's cluster: served, never written through the emulator.
  writes: {},
  tracked: true,
  write: () => fail(405, 'MethodNotAllowed', `${MANAGED_CLUSTER_TYPE} is the platform's: read-only in the emulator.`),
};

/** The types of this module, for resourceTypeSpecs(). */
export function containerServiceSpecs(): ResourceTypeSpec[] {
  return [managedClusters, agentPools];
}
