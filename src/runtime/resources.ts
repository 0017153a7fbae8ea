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
  Namespace: t('v1', 'Namespace', 'namespaces', false),
  ResourceQuota: t('v1', 'ResourceQuota', 'resourcequotas', true),
  LimitRange: t('v1', 'LimitRange', 'limitranges', true),
  NetworkPolicy: t('networking.k8s.io/v1', 'NetworkPolicy', 'networkpolicies', true),
} as const satisfies Record<string, ResourceType>;

export type ResourceKind = keyof typeof RESOURCES;

export function resourceOf(kind: string): ResourceType {
  const type = (RESOURCES as Record<string, ResourceType>)[kind];
  if (!type) throw new Error(`no resource type registered for kind ${kind}`);
  return type;
}
