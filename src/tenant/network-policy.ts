/**
 * The tenant's NetworkPolicies: deny everything in and out by default, then allow exactly
 * DNS, traffic inside the namespace, the front door reaching the application port (from its
 * controller's namespace and from its configured source ranges), and egress to the tenant's own
 * SQL and Key Vault private endpoints (one address each) and to Microsoft Entra ID.
 */
import { isIPv4 } from 'node:net';
import type { Tenant } from '../api/v1alpha1/tenant.ts';
import type { OperatorConfig } from '../config.ts';
import type { PrivateEndpointAddresses } from '../context.ts';
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

/** The policy that lets tenant pods reach Azure (their private endpoints, Entra ID). */
export const AZURE_EGRESS_POLICY = 'allow-azure-egress';

/** Whether two sets of endpoints open the same addresses (names aside). */
export function sameEgressAddresses(a: PrivateEndpointAddresses | undefined, b: PrivateEndpointAddresses | undefined): boolean {
  return a?.sql?.ip === b?.sql?.ip && a?.keyVault?.ip === b?.keyVault?.ip && a?.sqlSecondary?.ip === b?.sqlSecondary?.ip;
}

/** Azure SQL over a private endpoint: the TDS port only (no redirect ports through Private Link). */
export const SQL_PORT = 1433;
/** Key Vault and Entra ID: HTTPS. */
export const HTTPS_PORT = 443;

/**
 * `endpoints`: the tenant's own private endpoints, as Azure reported them. Each is one /32 on its
 * service's port; one not known yet is simply absent, so the policy never allows more than the
 * tenant's own addresses (a shared range would reach every tenant's endpoints).
 */
export function buildNetworkPolicies(tenant: Tenant, config: OperatorConfig, endpoints?: PrivateEndpointAddresses): KubeObject[] {
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
  const to = (cidrs: readonly string[], port: number) =>
    cidrs.map((cidr) => ({ to: [{ ipBlock: { cidr } }], ports: [{ protocol: 'TCP', port }] }));
  // Only a well-formed IPv4 address becomes a /32: anything else Azure might report is dropped.
  const own = (address: { ip: string } | undefined) => (address !== undefined && isIPv4(address.ip) ? [`${address.ip}/32`] : []);
  const azure = [
    ...to(own(endpoints?.sql), SQL_PORT),
    // After a failover the listener resolves to the secondary's endpoint: the data must stay reachable.
    ...to(own(endpoints?.sqlSecondary), SQL_PORT),
    ...to(own(endpoints?.keyVault), HTTPS_PORT),
    // Shared ranges: Kubernetes-only mode only (the configuration refuses them when Azure is managed here).
    ...to(config.azureEgressCidrs.sql, SQL_PORT),
    ...to(config.azureEgressCidrs.keyVault, HTTPS_PORT),
    ...to(config.azureEgressCidrs.entraId, HTTPS_PORT),
  ];
  if (azure.length > 0) policies.push(policy(AZURE_EGRESS_POLICY, { podSelector: {}, policyTypes: ['Egress'], egress: azure }));
  return policies;
}
