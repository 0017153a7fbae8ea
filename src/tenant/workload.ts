/**
 * The tenant's own application instance: ServiceAccount (workload identity), Deployment, Service,
 * PodDisruptionBudget and, when the tier autoscales, a HorizontalPodAutoscaler. Sized by tier,
 * spread across zones and nodes, held to Pod Security "restricted", and shaped for the 99.9 %
 * availability promise (replicas >= 2 in Production, no unavailable pod during a rollout).
 *
 * Everything is in wire format with canonical quantities: the applier compares desired ⊆ observed,
 * so a value the API server rewrites ("1000m" -> "1") would be applied again on every reconcile.
 */
import type { Tenant } from '../api/v1alpha1/tenant.ts';
import type { OperatorConfig } from '../config.ts';
import type { DatabaseConnection } from '../maintenance/tenant-settings.ts';
import type { KubeObject } from '../runtime/kube-client.ts';
import { tenantLabels, tenantNamespaceName } from './labels.ts';
import { APP_SELECTOR } from './network-policy.ts';
import { podPlacement } from './node-pool.ts';

/** Name of the Deployment, Service, PodDisruptionBudget, HPA and ServiceAccount. */
export const APP_NAME = 'tenant-app';
/** The ServiceAccount the federated credential of the tenant's Azure identity trusts. */
export const APP_SERVICE_ACCOUNT = 'tenant-app';
/** Name of the SecretProviderClass the CSI volume mounts (see secrets.ts). */
export const SECRET_PROVIDER_CLASS_NAME = 'tenant-secrets';
/** Where the tenant's Key Vault secrets appear as files. */
export const SECRETS_MOUNT_PATH = '/mnt/secrets';
/** The Service port the front door targets; the container port is `spec.application.port`. */
export const SERVICE_PORT = 80;

const WORKLOAD_IDENTITY_CLIENT_ID = 'azure.workload.identity/client-id';
const WORKLOAD_IDENTITY_USE = 'azure.workload.identity/use';
const ZONE_KEY = 'topology.kubernetes.io/zone';
const HOSTNAME_KEY = 'kubernetes.io/hostname';

/** Bounds of a HorizontalPodAutoscaler; proposed as `tiers.<Tier>.autoscaling` in the operator config. */
export interface AutoscalingBounds {
  /** Defaults to the tier's replica count for the environment (never below 2 in Production). */
  minReplicas?: number;
  maxReplicas: number;
  /** Average CPU utilisation of the requests the HPA aims for; default 70. */
  targetCpuUtilizationPercent?: number;
}

export interface WorkloadOptions {
  /** Client id of the tenant's user-assigned identity, once the Azure side created it. */
  identityClientId?: string;
  /**
   * Autoscaling for this tenant; overrides the tier table. `false` turns it off. When omitted the
   * tier's `autoscaling` bounds apply, if the configuration has them (none by default).
   */
  autoscaling?: AutoscalingBounds | false;
  /**
   * The tenant's dedicated node pool exists (isolation Dedicated): its pods get the pool's node
   * selector and toleration (node-pool.ts). False or omitted: no placement, the shared nodes.
   */
  dedicatedNodePoolReady?: boolean;
  /**
   * Names the pods resolve to fixed addresses: a shared SQL server's name to the tenant's own
   * private endpoint (no shared DNS record can name each tenant's endpoint).
   */
  hostAliases?: { ip: string; hostnames: string[] }[];
  /**
   * The database the application connects to, as the maintenance gate lets it run (a change
   * rolls every pod). The host is the failover group's read-write listener when geo-replicated.
   */
  database?: DatabaseConnection | undefined;
}

/** Environment variable: the host the application's database answers on (TDS, port 1433). */
export const DATABASE_HOST_ENV = 'DATABASE_HOST';
/** Environment variable: the name of the application's database. */
export const DATABASE_NAME_ENV = 'DATABASE_NAME';

/**
 * The application's database coordinates as plain environment: nothing secret (the app signs in
 * with its workload identity, whose AZURE_CLIENT_ID, AZURE_TENANT_ID and token file the AKS
 * workload identity webhook injects from the ServiceAccount's annotation).
 */
export function databaseEnv(database: DatabaseConnection | undefined): { name: string; value: string }[] {
  if (!database) return [];
  return [
    { name: DATABASE_HOST_ENV, value: database.host },
    { name: DATABASE_NAME_ENV, value: database.name },
  ];
}

/** The tier table entry with the proposed, not yet existing, `autoscaling` field read defensively. */
type TierWithAutoscaling = OperatorConfig['tiers'][Tenant['spec']['tier']] & { autoscaling?: AutoscalingBounds };

function metadata(tenant: Tenant, config: OperatorConfig, name: string, extra: Record<string, string> = {}) {
  return {
    name,
    namespace: tenantNamespaceName(tenant.metadata.name, tenant.spec.environment, config),
    labels: { ...tenantLabels(tenant.metadata.name, tenant.spec.environment), ...APP_SELECTOR, ...extra },
  };
}

/** Replicas when not autoscaled: `spec.application.replicas`, else the tier table for the environment. */
export function desiredReplicas(tenant: Tenant, config: OperatorConfig): number {
  const { replicas } = config.tiers[tenant.spec.tier];
  return tenant.spec.application.replicas ?? (tenant.spec.environment === 'Production' ? replicas.production : replicas.other);
}

/**
 * The autoscaling bounds in force, or undefined. A tenant that pins `spec.application.replicas`
 * is never autoscaled: the HPA and the operator would fight over the same field.
 */
export function autoscalingFor(
  tenant: Tenant,
  config: OperatorConfig,
  options: WorkloadOptions = {},
): Required<AutoscalingBounds> | undefined {
  if (tenant.spec.application.replicas !== undefined || options.autoscaling === false) return undefined;
  const bounds = options.autoscaling ?? (config.tiers[tenant.spec.tier] as TierWithAutoscaling).autoscaling;
  if (!bounds) return undefined;
  const floor = tenant.spec.environment === 'Production' ? 2 : 1;
  const minReplicas = Math.max(bounds.minReplicas ?? desiredReplicas(tenant, config), floor);
  return {
    minReplicas,
    maxReplicas: Math.max(bounds.maxReplicas, minReplicas),
    targetCpuUtilizationPercent: bounds.targetCpuUtilizationPercent ?? 70,
  };
}

/** The application's ServiceAccount; the identity annotation appears once the client id is known. */
export function buildServiceAccount(tenant: Tenant, config: OperatorConfig, options: WorkloadOptions = {}): KubeObject {
  const meta = metadata(tenant, config, APP_SERVICE_ACCOUNT);
  return {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: options.identityClientId
      ? { ...meta, annotations: { [WORKLOAD_IDENTITY_CLIENT_ID]: options.identityClientId } }
      : meta,
    // The app never talks to the Kubernetes API; workload identity projects its own token (below).
    automountServiceAccountToken: false,
  };
}

/**
 * Pod topology spread. Hostname: always ScheduleAnyway, a preference, so a small node pool never
 * blocks a rollout. Zone: DoNotSchedule only for Production with >= 2 replicas, where losing a zone
 * must not take every replica down; elsewhere a preference, because a hard rule buys nothing with
 * one replica and can leave pods Pending when a zone is short of capacity. The hard zone rule
 * honours taints, so nodes of a failed zone (tainted unreachable) stop counting as a domain and
 * replacements can land in the surviving zones. The rule needs every node to carry the zone label:
 * AKS labels every node (`0` in a pool without zones), but the scheduler never places these pods on
 * a node without the label (seen on the test node, test/harness/node.ts; hack/kind.sh labels
 * kind's node for that reason). `matchLabelKeys: [pod-template-hash]` spreads each
 * ReplicaSet on its own, so a finished rollout is as well spread as the one before it.
 */
function topologySpread(tenant: Tenant, replicas: number) {
  const hardZones = tenant.spec.environment === 'Production' && replicas >= 2;
  const constraint = (topologyKey: string, hard: boolean) => ({
    maxSkew: 1,
    topologyKey,
    whenUnsatisfiable: hard ? 'DoNotSchedule' : 'ScheduleAnyway',
    labelSelector: { matchLabels: APP_SELECTOR },
    matchLabelKeys: ['pod-template-hash'],
    ...(hard ? { nodeTaintsPolicy: 'Honor' } : {}),
  });
  return [constraint(ZONE_KEY, hardZones), constraint(HOSTNAME_KEY, false)];
}

/**
 * The application Deployment: image `<image>:<version>`, probes on the health path, tier-sized
 * resources, restricted security context, and the Key Vault CSI volume only when the tenant lists
 * secrets (a CSI volume without its SecretProviderClass would keep the pod from starting).
 *
 * The container image must run as a numeric non-root user: `runAsNonRoot` is checked by the kubelet,
 * and no `runAsUser` is forced here because that would break images that own files as their user.
 */
export function buildDeployment(tenant: Tenant, config: OperatorConfig, options: WorkloadOptions = {}): KubeObject {
  const { application } = tenant.spec;
  const { container } = config.tiers[tenant.spec.tier];
  const autoscaling = autoscalingFor(tenant, config, options);
  const replicas = autoscaling?.minReplicas ?? desiredReplicas(tenant, config);
  const production = tenant.spec.environment === 'Production';
  const hasSecrets = (tenant.spec.secrets?.length ?? 0) > 0;
  const probe = (periodSeconds: number, failureThreshold: number) => ({
    httpGet: { path: application.healthPath, port: 'http', scheme: 'HTTP' },
    periodSeconds,
    failureThreshold,
  });

  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: metadata(tenant, config, APP_NAME),
    spec: {
      // With an HPA the replica count is the HPA's field: setting it here would undo every scaling decision.
      ...(autoscaling ? {} : { replicas }),
      selector: { matchLabels: APP_SELECTOR },
      // Production never drops below its replica count during a rollout: one extra pod comes up first.
      ...(production ? { strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } } } : {}),
      template: {
        metadata: {
          labels: {
            ...tenantLabels(tenant.metadata.name, tenant.spec.environment),
            ...APP_SELECTOR,
            // The workload identity webhook mutates only pods carrying this label.
            [WORKLOAD_IDENTITY_USE]: 'true',
          },
        },
        spec: {
          serviceAccountName: APP_SERVICE_ACCOUNT,
          // Off: the app needs no Kubernetes API token. The workload identity webhook adds its own
          // projected token volume (azure-identity-token, audience api://AzureADTokenExchange) and the
          // CSI driver receives the pod's token through the CSIDriver's tokenRequests; neither uses
          // the automounted API token (read in the webhook source, azure-workload-identity pkg/webhook).
          automountServiceAccountToken: false,
          ...(options.hostAliases && options.hostAliases.length > 0 ? { hostAliases: options.hostAliases } : {}),
          securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
          ...podPlacement(tenant, options.dedicatedNodePoolReady ?? false),
          topologySpreadConstraints: topologySpread(tenant, replicas),
          containers: [
            {
              name: 'app',
              image: `${application.image}:${application.version}`,
              ports: [{ name: 'http', containerPort: application.port, protocol: 'TCP' }],
              ...(options.database ? { env: databaseEnv(options.database) } : {}),
              // Startup allows 5 s x 30 = 150 s before liveness takes over; liveness is more patient
              // than readiness so a slow dependency takes a pod out of the Service before it restarts it.
              startupProbe: probe(5, 30),
              readinessProbe: probe(10, 3),
              livenessProbe: probe(20, 3),
              resources: {
                requests: {
                  cpu: container.defaultRequestCpu,
                  memory: container.defaultRequestMemory,
                },
                limits: { cpu: container.defaultCpu, memory: container.defaultMemory },
              },
              securityContext: {
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                runAsNonRoot: true,
                capabilities: { drop: ['ALL'] },
              },
              volumeMounts: [
                { name: 'tmp', mountPath: '/tmp' },
                ...(hasSecrets ? [{ name: 'secrets-store', mountPath: SECRETS_MOUNT_PATH, readOnly: true }] : []),
              ],
            },
          ],
          volumes: [
            // The root filesystem is read-only; /tmp is the one writable place, bounded so a runaway
            // writer is evicted instead of filling the node's disk.
            { name: 'tmp', emptyDir: { sizeLimit: '256Mi' } },
            ...(hasSecrets
              ? [
                  {
                    name: 'secrets-store',
                    csi: {
                      driver: 'secrets-store.csi.k8s.io',
                      readOnly: true,
                      volumeAttributes: { secretProviderClass: SECRET_PROVIDER_CLASS_NAME },
                    },
                  },
                ]
              : []),
          ],
        },
      },
    },
  };
}

/** ClusterIP Service `tenant-app`: port 80 (`http`) to the application's container port. */
export function buildService(tenant: Tenant, config: OperatorConfig): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: metadata(tenant, config, APP_NAME),
    spec: {
      type: 'ClusterIP',
      selector: APP_SELECTOR,
      ports: [{ name: 'http', port: SERVICE_PORT, targetPort: tenant.spec.application.port, protocol: 'TCP' }],
    },
  };
}

/**
 * PodDisruptionBudget with `maxUnavailable: 1` at every size: voluntary disruptions (node drains,
 * upgrades) take one pod at a time. With 2 replicas that equals `minAvailable: 1`; with more it
 * keeps more capacity than `minAvailable: 1` would; with 1 replica (never in Production) drains can
 * still proceed instead of blocking cluster upgrades forever. It also follows an HPA's count.
 * `unhealthyPodEvictionPolicy: AlwaysAllow` lets drains evict pods that are not ready anyway, so a
 * crash-looping tenant cannot hold a node upgrade hostage.
 */
export function buildPodDisruptionBudget(tenant: Tenant, config: OperatorConfig): KubeObject {
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: metadata(tenant, config, APP_NAME),
    spec: {
      maxUnavailable: 1,
      selector: { matchLabels: APP_SELECTOR },
      unhealthyPodEvictionPolicy: 'AlwaysAllow',
    },
  };
}

/** autoscaling/v2 HPA on CPU utilisation, or undefined when autoscaling is not enabled for the tenant. */
export function buildHorizontalPodAutoscaler(
  tenant: Tenant,
  config: OperatorConfig,
  options: WorkloadOptions = {},
): KubeObject | undefined {
  const bounds = autoscalingFor(tenant, config, options);
  if (!bounds) return undefined;
  return {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: metadata(tenant, config, APP_NAME),
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: APP_NAME },
      minReplicas: bounds.minReplicas,
      maxReplicas: bounds.maxReplicas,
      metrics: [
        {
          type: 'Resource',
          resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: bounds.targetCpuUtilizationPercent } },
        },
      ],
    },
  };
}

/** Every workload object of the tenant, in apply order (the ServiceAccount before the pods that use it). */
export function buildWorkload(tenant: Tenant, config: OperatorConfig, options: WorkloadOptions = {}): KubeObject[] {
  const hpa = buildHorizontalPodAutoscaler(tenant, config, options);
  return [
    buildServiceAccount(tenant, config, options),
    buildService(tenant, config),
    buildPodDisruptionBudget(tenant, config),
    buildDeployment(tenant, config, options),
    ...(hpa ? [hpa] : []),
  ];
}
