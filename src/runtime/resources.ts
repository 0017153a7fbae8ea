/** The resource types the operator reads and writes, with the URL facts the API server needs. */
import type { ResourceType } from './kube-client.ts';

const t = (apiVersion: string, kind: string, plural: string, namespaced: boolean): ResourceType => ({
  apiVersion,
  kind,
  plural,
  namespaced,
});

export const RESOURCES = {
  Tenant: t('tenancy.dev/v1alpha1', 'Tenant', 'tenants', false),
  BackupPolicy: t('tenancy.dev/v1alpha1', 'BackupPolicy', 'backuppolicies', false),
  MaintenanceWindow: t('tenancy.dev/v1alpha1', 'MaintenanceWindow', 'maintenancewindows', false),
  AccessRequest: t('tenancy.dev/v1alpha1', 'AccessRequest', 'accessrequests', false),
  RoleBinding: t('rbac.authorization.k8s.io/v1', 'RoleBinding', 'rolebindings', true),
  Namespace: t('v1', 'Namespace', 'namespaces', false),
  ResourceQuota: t('v1', 'ResourceQuota', 'resourcequotas', true),
  LimitRange: t('v1', 'LimitRange', 'limitranges', true),
  NetworkPolicy: t('networking.k8s.io/v1', 'NetworkPolicy', 'networkpolicies', true),
  ServiceAccount: t('v1', 'ServiceAccount', 'serviceaccounts', true),
  Service: t('v1', 'Service', 'services', true),
  Deployment: t('apps/v1', 'Deployment', 'deployments', true),
  PodDisruptionBudget: t('policy/v1', 'PodDisruptionBudget', 'poddisruptionbudgets', true),
  HorizontalPodAutoscaler: t('autoscaling/v2', 'HorizontalPodAutoscaler', 'horizontalpodautoscalers', true),
  Ingress: t('networking.k8s.io/v1', 'Ingress', 'ingresses', true),
  HTTPRoute: t('gateway.networking.k8s.io/v1', 'HTTPRoute', 'httproutes', true),
  SecretProviderClass: t('secrets-store.csi.x-k8s.io/v1', 'SecretProviderClass', 'secretproviderclasses', true),
  WebApplicationFirewallPolicy: t(
    'alb.networking.azure.io/v1',
    'WebApplicationFirewallPolicy',
    'webapplicationfirewallpolicies',
    true,
  ),
  Probe: t('monitoring.coreos.com/v1', 'Probe', 'probes', true),
} as const satisfies Record<string, ResourceType>;

export type ResourceKind = keyof typeof RESOURCES;

/** Namespaced kinds the operator creates in tenant namespaces, in the order they are applied. */
export const OWNED_NAMESPACED_KINDS = [
  'ResourceQuota',
  'LimitRange',
  'NetworkPolicy',
  'ServiceAccount',
  'SecretProviderClass',
  'Service',
  'PodDisruptionBudget',
  'Deployment',
  'HorizontalPodAutoscaler',
  'HTTPRoute',
  'WebApplicationFirewallPolicy',
  'Ingress',
  'Probe',
] as const satisfies readonly ResourceKind[];

/** Kinds defined by CRDs a cluster may lack; the operator checks for them at start-up. */
export const OPTIONAL_KINDS: readonly ResourceKind[] = [
  'HTTPRoute',
  'SecretProviderClass',
  'WebApplicationFirewallPolicy',
  // The Prometheus Operator's: without it tenants are not probed (README "Uptime").
  'Probe',
];

export function resourceOf(kind: string): ResourceType {
  const type = (RESOURCES as Record<string, ResourceType>)[kind];
  if (!type) throw new Error(`no resource type registered for kind ${kind}`);
  return type;
}
