/**
 * The tenant's front door: how the customer's host name reaches the `tenant-app` Service over
 * HTTPS only, TLS 1.2 or higher, behind a web application firewall. Two modes from one Tenant spec:
 *
 * - `gateway` (default): Application Gateway for Containers through the Gateway API — an HTTPRoute
 *   on a shared Gateway, an HTTP→HTTPS redirect route, and a WebApplicationFirewallPolicy.
 * - `ingress`: Application Gateway Ingress Controller (AGIC) — one Ingress with AGIC annotations.
 *
 * Allowed source ranges and countries are not Kubernetes objects in either mode: neither the
 * Gateway API nor AGIC filters by client address (AGIC has no source-range annotation; checked
 * against its annotation list in pkg/annotations/ingress_annotations.go and the Learn page
 * "Annotations for Application Gateway Ingress Controller"). They become custom rules of the
 * tenant's Azure WAF policy (`buildWafCustomRules`), which both modes reference by resource id.
 */
import type { Tenant } from '../api/v1alpha1/tenant.ts';
import type { WafCustomRuleSpec } from '../azure/kinds/network.ts';
import type { OperatorConfig } from '../config.ts';
import type { KubeObject } from '../runtime/kube-client.ts';
import { tenantLabels, tenantNamespaceName } from './labels.ts';
import { APP_NAME, SERVICE_PORT } from './workload.ts';

export type FrontDoorMode = 'gateway' | 'ingress';
export type CertificateSource = 'cert-manager' | 'key-vault';

/** The shared Gateway tenant routes attach to, and its two listeners. */
export interface SharedGateway {
  name: string;
  namespace: string;
  /** The HTTPS listener (port 443) that terminates TLS. */
  httpsListener: string;
  /** The plain HTTP listener (port 80) that only redirects. */
  httpListener: string;
}

export interface FrontDoorOptions {
  /** Default `gateway` (Application Gateway for Containers). */
  mode?: FrontDoorMode;
  /**
   * Resource id of the tenant's Azure WAF policy
   * (`/subscriptions/.../providers/Microsoft.Network/applicationGatewayWebApplicationFirewallPolicies/<name>`).
   * Required on purpose: the type makes a front door without a WAF impossible.
   */
  /** The tenant's Azure WAF policy; undefined only when Kubernetes-only mode exposes tenants without one. */
  wafPolicyId: string | undefined;
  /** gateway mode: defaults to `tenant-gateway` in the configured `ingressNamespace`, listeners `https` and `http`. */
  gateway?: Partial<SharedGateway>;
  /** ingress mode: IngressClass of AGIC; default `azure-application-gateway`. */
  ingressClassName?: string;
  /** ingress mode: where the TLS certificate comes from; default `cert-manager`. */
  certificateSource?: CertificateSource;
  /** ingress mode, cert-manager: the Secret cert-manager fills; default `tenant-tls`. */
  tlsSecretName?: string;
  /** ingress mode, cert-manager: ClusterIssuer to ask; default `letsencrypt`. */
  clusterIssuer?: string;
  /**
   * ingress mode, key-vault: name of the certificate installed in the Application Gateway (imported
   * from Key Vault by the Azure side); default the tenant's namespace name, unique per gateway.
   */
  appGatewayCertificateName?: string;
  /** ingress mode: an SSL profile preinstalled in the Application Gateway (e.g. minimum TLS 1.2 + mTLS). */
  sslProfile?: string;
}

export const HTTPS_ROUTE_NAME = APP_NAME;
export const REDIRECT_ROUTE_NAME = `${APP_NAME}-https-redirect`;
export const WAF_POLICY_NAME = 'tenant-waf';
export const INGRESS_NAME = APP_NAME;

const GATEWAY_GROUP = 'gateway.networking.k8s.io';
const AGIC = 'appgw.ingress.kubernetes.io';

/** The address the tenant is reached at, as shown in `status.url`. */
export function tenantUrl(tenant: Tenant): string {
  return `https://${tenant.spec.ingress.host}/`;
}

function metadata(tenant: Tenant, config: OperatorConfig, name: string) {
  return {
    name,
    namespace: tenantNamespaceName(tenant.metadata.name, tenant.spec.environment, config),
    labels: tenantLabels(tenant.metadata.name, tenant.spec.environment),
  };
}

/** The front-door objects for the selected mode. */
export function buildFrontDoor(tenant: Tenant, config: OperatorConfig, options: FrontDoorOptions): KubeObject[] {
  return (options.mode ?? 'gateway') === 'gateway'
    ? buildGatewayFrontDoor(tenant, config, options)
    : buildIngressFrontDoor(tenant, config, options);
}

/**
 * Application Gateway for Containers: HTTPRoute `tenant-app` on the shared Gateway's HTTPS listener,
 * HTTPRoute `tenant-app-https-redirect` on its HTTP listener (301 to https), and a
 * WebApplicationFirewallPolicy binding the tenant's Azure WAF policy to the HTTPS route.
 *
 * What the shared Gateway (platform-owned, not built here) must carry:
 * - `gatewayClassName: azure-alb-external`; listeners `https` (443, HTTPS, `tls.mode: Terminate`
 *   with a certificate covering the tenant host names, e.g. a wildcard for the platform domain) and
 *   `http` (80, HTTP), both with `allowedRoutes.namespaces.from: Selector` matching
 *   `app.kubernetes.io/managed-by: tenant-operator`, the label every tenant namespace carries
 *   (attaching across namespaces needs that, not a ReferenceGrant).
 * - TLS 1.2 minimum: AGC applies predefined policy `2023-06` (TLS 1.2 only) when none is set; pin it
 *   with a FrontendTLSPolicy (`alb.networking.azure.io/v1`) targeting the `https` listener with
 *   `default.policyType: { type: predefined, name: 2023-06-S }` (Learn: "Application Gateway for
 *   Containers TLS policy overview"). TLS is a listener property, so no tenant object can weaken it.
 * - The Azure WAF policy must be in the scope of an AGC SecurityPolicy (ARM child of the AGC resource).
 */
export function buildGatewayFrontDoor(tenant: Tenant, config: OperatorConfig, options: FrontDoorOptions): KubeObject[] {
  const gateway: SharedGateway = {
    name: options.gateway?.name ?? 'tenant-gateway',
    namespace: options.gateway?.namespace ?? config.ingressNamespace,
    httpsListener: options.gateway?.httpsListener ?? 'https',
    httpListener: options.gateway?.httpListener ?? 'http',
  };
  const parentRef = (sectionName: string) => ({
    group: GATEWAY_GROUP,
    kind: 'Gateway',
    name: gateway.name,
    namespace: gateway.namespace,
    sectionName,
  });
  const hostnames = [tenant.spec.ingress.host];
  const https: KubeObject = {
    apiVersion: `${GATEWAY_GROUP}/v1`,
    kind: 'HTTPRoute',
    metadata: metadata(tenant, config, HTTPS_ROUTE_NAME),
    spec: {
      parentRefs: [parentRef(gateway.httpsListener)],
      hostnames,
      rules: [{ backendRefs: [{ name: APP_NAME, port: SERVICE_PORT }] }],
    },
  };
  const redirect: KubeObject = {
    apiVersion: `${GATEWAY_GROUP}/v1`,
    kind: 'HTTPRoute',
    metadata: metadata(tenant, config, REDIRECT_ROUTE_NAME),
    spec: {
      parentRefs: [parentRef(gateway.httpListener)],
      hostnames,
      // No backend: plain HTTP never reaches the application.
      rules: [{ filters: [{ type: 'RequestRedirect', requestRedirect: { scheme: 'https', statusCode: 301 } }] }],
    },
  };
  const waf: KubeObject = {
    apiVersion: 'alb.networking.azure.io/v1',
    kind: 'WebApplicationFirewallPolicy',
    metadata: metadata(tenant, config, WAF_POLICY_NAME),
    spec: {
      targetRef: { group: GATEWAY_GROUP, kind: 'HTTPRoute', name: HTTPS_ROUTE_NAME, namespace: https.metadata.namespace },
      webApplicationFirewall: { id: options.wafPolicyId },
    },
  };
  return options.wafPolicyId ? [https, redirect, waf] : [https, redirect];
}

/**
 * AGIC: one Ingress `tenant-app` of class `azure-application-gateway` (the class name's
 * `spec.ingressClassName` replaces the deprecated `kubernetes.io/ingress.class` annotation; the API
 * server rejects an Ingress with both). Annotations, as documented by AGIC:
 * - `ssl-redirect: "true"`: a 301 from HTTP to HTTPS.
 * - `waf-policy-for-path: <id>`: the tenant's WAF policy on every path of this Ingress.
 * - certificate: cert-manager fills `spec.tls[].secretName` (annotation `cert-manager.io/cluster-issuer`);
 *   with Key Vault the certificate is already in the Application Gateway and `appgw-ssl-certificate`
 *   names it — without `spec.tls`, because AGIC ignores that annotation when `spec.tls` is present.
 * - TLS 1.2 minimum: a gateway-wide setting. The default policy for gateways created with API
 *   2023-02-01 or later is AppGwSslPolicy20220101 (TLS 1.2 minimum), and Application Gateway refuses
 *   TLS 1.0/1.1 since 31 August 2025. `appgw-ssl-profile` (when `sslProfile` is set) selects a
 *   preinstalled SSL profile for this listener; AGIC has no annotation taking a TLS version.
 */
export function buildIngressFrontDoor(tenant: Tenant, config: OperatorConfig, options: FrontDoorOptions): KubeObject[] {
  const meta = metadata(tenant, config, INGRESS_NAME);
  const host = tenant.spec.ingress.host;
  const keyVault = options.certificateSource === 'key-vault';
  const annotations: Record<string, string> = {
    [`${AGIC}/ssl-redirect`]: 'true',
  };
  if (options.wafPolicyId) annotations[`${AGIC}/waf-policy-for-path`] = options.wafPolicyId;
  if (keyVault) annotations[`${AGIC}/appgw-ssl-certificate`] = options.appGatewayCertificateName ?? meta.namespace;
  else annotations['cert-manager.io/cluster-issuer'] = options.clusterIssuer ?? 'letsencrypt';
  if (options.sslProfile) annotations[`${AGIC}/appgw-ssl-profile`] = options.sslProfile;
  return [
    {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'Ingress',
      metadata: { ...meta, annotations },
      spec: {
        ingressClassName: options.ingressClassName ?? 'azure-application-gateway',
        ...(keyVault ? {} : { tls: [{ hosts: [host], secretName: options.tlsSecretName ?? 'tenant-tls' }] }),
        rules: [
          {
            host,
            http: {
              paths: [
                { path: '/', pathType: 'Prefix', backend: { service: { name: APP_NAME, port: { number: SERVICE_PORT } } } },
              ],
            },
          },
        ],
      },
    },
  ];
}

/** One custom rule of an Azure WAF policy, in ARM wire format (the WAF policy kind's own type). */
export type WafCustomRule = WafCustomRuleSpec;

/**
 * Custom rules of the tenant's Azure WAF policy that enforce `ingress.allowedSourceRanges` and
 * `ingress.allowedCountries`: block every client address outside the ranges, and every client
 * geolocated outside the countries. Separate rules, so with both set a request must satisfy both.
 * `RemoteAddr` is the client address (X-Forwarded-For aware), not the last proxy's socket address.
 * Addresses the WAF cannot place in a country (reported as "ZZ", e.g. private ranges) fail the
 * country rule even when they are inside `allowedSourceRanges`.
 *
 * `proberSourceCidrs` (config `uptime.proberSourceCidrs`): the uptime prober's own addresses, exempt
 * from both rules (a second, ANDed condition), so a tenant that admits only its offices is still
 * measured; the managed rule set still inspects the prober's requests.
 */
export function buildWafCustomRules(tenant: Tenant, proberSourceCidrs: readonly string[] = []): WafCustomRule[] {
  const { allowedSourceRanges, allowedCountries } = tenant.spec.ingress;
  const rules: WafCustomRule[] = [];
  const notFromProber =
    proberSourceCidrs.length > 0
      ? [
          {
            matchVariables: [{ variableName: 'RemoteAddr' as const }],
            operator: 'IPMatch' as const,
            negationConditon: true,
            matchValues: [...proberSourceCidrs],
          },
        ]
      : [];
  const blockOutside = (name: string, priority: number, operator: 'IPMatch' | 'GeoMatch', values: string[]): WafCustomRule => ({
    name,
    priority,
    ruleType: 'MatchRule',
    action: 'Block',
    matchConditions: [
      { matchVariables: [{ variableName: 'RemoteAddr' }], operator, negationConditon: true, matchValues: values },
      ...notFromProber,
    ],
  });
  if (allowedSourceRanges?.length) rules.push(blockOutside('BlockOutsideAllowedRanges', 10, 'IPMatch', [...allowedSourceRanges]));
  if (allowedCountries?.length) rules.push(blockOutside('BlockOutsideAllowedCountries', 20, 'GeoMatch', [...allowedCountries]));
  return rules;
}
