/**
 * The tenant's NetworkPolicies: deny everything in and out by default, then allow exactly
 * DNS, traffic inside the namespace, the front door reaching the application port (from its
 * controller's namespace and from its configured source ranges), and egress to the Azure SQL,
 * Key Vault and Entra ID endpoints configured for the cluster.
 */
import type { Tenant } from '../api/v1alpha1/tenant.ts';
import type { OperatorConfig } from '../config.ts';
import type { KubeObject } from '../runtime/kube-client.ts';
import { tenantLabels, tenantNamespaceName } from './labels.ts';

/** Pods of the tenant's application carry this label (see the workload builder). */
export const APP_SELECTOR = { 'app.kubernetes.io/name': 'tenant-app' };

const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';

/**
 * The policy that isolates a namespace on its own: no traffic in or out. It depends on nothing in
 * the spec, so even a tenant whose spec no longer parses keeps it (see the reconciler).
 */
export function buildDefaultDeny(namespace: string, labels: Record<string, string>): KubeObject {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: 'default-deny', namespace, labels },
    spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'] },
  };
}

export function buildNetworkPolicies(tenant: Tenant, config: OperatorConfig): KubeObject[] {
  const namespace = tenantNamespaceName(tenant.metadata.name, tenant.spec.environment, config);
  const policy = (name: string, spec: Record<string, unknown>): KubeObject => ({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name, namespace, labels: tenantLabels(tenant.metadata.name, tenant.spec.environment) },
    spec,
  });
  const policies = [
    buildDefaultDeny(namespace, tenantLabels(tenant.metadata.name, tenant.spec.environment)),
    policy('allow-dns', {
      podSelector: {},
      policyTypes: ['Egress'],
      egress: [
        {
          to: [
            {
              namespaceSelector: { matchLabels: { [NAMESPACE_NAME_LABEL]: 'kube-system' } },
              podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } },
            },
          ],
          ports: [
            { protocol: 'UDP', port: 53 },
            { protocol: 'TCP', port: 53 },
          ],
        },
      ],
    }),
    policy('allow-same-namespace', {
      podSelector: {},
      policyTypes: ['Ingress', 'Egress'],
      ingress: [{ from: [{ podSelector: {} }] }],
      egress: [{ to: [{ podSelector: {} }] }],
    }),
    policy('allow-from-front-door', {
      podSelector: { matchLabels: APP_SELECTOR },
      policyTypes: ['Ingress'],
      ingress: [
        {
          // In-cluster controllers come as pods of their namespace; AGC and AGIC come from their
          // subnet's addresses, which no pod selector matches.
          from: [
            { namespaceSelector: { matchLabels: { [NAMESPACE_NAME_LABEL]: config.ingressNamespace } } },
            ...config.frontDoor.sourceCidrs.map((cidr) => ({ ipBlock: { cidr } })),
          ],
          ports: [{ protocol: 'TCP', port: tenant.spec.application.port }],
        },
      ],
    }),
  ];
  const azure = [
    ...config.azureEgressCidrs.sql.map((cidr) => ({ to: [{ ipBlock: { cidr } }], ports: [{ protocol: 'TCP', port: 1433 }] })),
    ...config.azureEgressCidrs.keyVault.map((cidr) => ({ to: [{ ipBlock: { cidr } }], ports: [{ protocol: 'TCP', port: 443 }] })),
    ...config.azureEgressCidrs.entraId.map((cidr) => ({ to: [{ ipBlock: { cidr } }], ports: [{ protocol: 'TCP', port: 443 }] })),
  ];
  if (azure.length > 0) policies.push(policy('allow-azure-egress', { podSelector: {}, policyTypes: ['Egress'], egress: azure }));
  return policies;
}
