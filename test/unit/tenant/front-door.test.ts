import { describe, expect, test } from '@jest/globals';
import type { TenantSpec } from '../../../src/api/v1alpha1/tenant.ts';
import type { KubeObject } from '../../../src/runtime/kube-client.ts';
import {
  buildFrontDoor,
  buildGatewayFrontDoor,
  buildIngressFrontDoor,
  buildWafCustomRules,
  type FrontDoorOptions,
  tenantUrl,
} from '../../../src/tenant/front-door.ts';
import { aConfig, aTenant, type TenantModifier, withEnvironment } from '../../fixtures/tenant.ts';
import { schemaProblems, servedSchema, thirdPartyCrds } from '../../fixtures/third-party/crds.ts';

const WAF_ID =
  '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-acme-prd/providers/Microsoft.Network/applicationGatewayWebApplicationFirewallPolicies/waf-acme-prd';

const withIngress =
  (ingress: Partial<TenantSpec['ingress']>): TenantModifier =>
  (t) => {
    t.spec.ingress = { ...t.spec.ingress, ...ingress };
  };

const byName = (objects: KubeObject[]) => Object.fromEntries(objects.map((o) => [`${o.kind}/${o.metadata.name}`, o]));
const specOf = (o: KubeObject | undefined) => o?.spec as any;

describe('tenantUrl', () => {
  test('is the HTTPS address of the tenant host', () => {
    expect(tenantUrl(aTenant('contoso', withIngress({ host: 'contoso.saas.example.com' })))).toBe(
      'https://contoso.saas.example.com/',
    );
  });
});

describe('buildFrontDoor', () => {
  test.each([
    ['no mode: gateway', {}, ['HTTPRoute', 'HTTPRoute', 'WebApplicationFirewallPolicy']],
    ['gateway', { mode: 'gateway' }, ['HTTPRoute', 'HTTPRoute', 'WebApplicationFirewallPolicy']],
    ['ingress', { mode: 'ingress' }, ['Ingress']],
  ] as const)('mode %s builds %j', (_name, options, kinds) => {
    expect(buildFrontDoor(aTenant(), aConfig(), { wafPolicyId: WAF_ID, ...options }).map((o) => o.kind)).toEqual(kinds);
  });

  test.each(['gateway', 'ingress'] as const)(
    '%s: every object lives in the tenant namespace with the ownership labels',
    (mode) => {
      for (const o of buildFrontDoor(aTenant('acme', withEnvironment('Production')), aConfig(), { mode, wafPolicyId: WAF_ID })) {
        expect(o.metadata.namespace).toBe('tenant-acme-prod');
        expect(o.metadata.labels).toEqual({
          'app.kubernetes.io/managed-by': 'tenant-operator',
          'tenancy.dev/tenant': 'acme',
          'tenancy.dev/environment': 'prod',
        });
      }
    },
  );
});

describe('buildGatewayFrontDoor (Application Gateway for Containers)', () => {
  const objects = (options: Partial<FrontDoorOptions> = {}, config = aConfig()) =>
    byName(
      buildGatewayFrontDoor(aTenant('acme', withIngress({ host: 'acme.saas.example.com' })), config, {
        wafPolicyId: WAF_ID,
        ...options,
      }),
    );

  test('routes the tenant host on the shared Gateway HTTPS listener to the tenant-app Service port 80', () => {
    expect(specOf(objects()['HTTPRoute/tenant-app'])).toEqual({
      parentRefs: [
        {
          group: 'gateway.networking.k8s.io',
          kind: 'Gateway',
          name: 'tenant-gateway',
          namespace: 'azure-alb-system',
          sectionName: 'https',
        },
      ],
      hostnames: ['acme.saas.example.com'],
      rules: [{ backendRefs: [{ name: 'tenant-app', port: 80 }] }],
    });
  });

  test('redirects plain HTTP to HTTPS with a 301 on the HTTP listener, never reaching the app', () => {
    expect(specOf(objects()['HTTPRoute/tenant-app-https-redirect'])).toEqual({
      parentRefs: [
        {
          group: 'gateway.networking.k8s.io',
          kind: 'Gateway',
          name: 'tenant-gateway',
          namespace: 'azure-alb-system',
          sectionName: 'http',
        },
      ],
      hostnames: ['acme.saas.example.com'],
      rules: [{ filters: [{ type: 'RequestRedirect', requestRedirect: { scheme: 'https', statusCode: 301 } }] }],
    });
  });

  test('binds the Azure WAF policy to the HTTPS route', () => {
    const waf = objects()['WebApplicationFirewallPolicy/tenant-waf'];
    expect(waf?.apiVersion).toBe('alb.networking.azure.io/v1');
    expect(specOf(waf)).toEqual({
      targetRef: { group: 'gateway.networking.k8s.io', kind: 'HTTPRoute', name: 'tenant-app', namespace: 'tenant-acme-dev' },
      webApplicationFirewall: { id: WAF_ID },
    });
  });

  test.each([
    [
      'options name the Gateway and listeners',
      { gateway: { name: 'edge', namespace: 'infra', httpsListener: 'web-tls', httpListener: 'web' } },
      {},
      ['edge', 'infra', 'web-tls', 'web'],
    ],
    [
      'the namespace follows the configured ingress namespace',
      {},
      { ingressNamespace: 'alb' },
      ['tenant-gateway', 'alb', 'https', 'http'],
    ],
  ] as const)('%s', (_name, options, config, [name, namespace, https, http]) => {
    const o = objects(options, aConfig(config));
    expect(specOf(o['HTTPRoute/tenant-app']).parentRefs[0]).toMatchObject({ name, namespace, sectionName: https });
    expect(specOf(o['HTTPRoute/tenant-app-https-redirect']).parentRefs[0]).toMatchObject({ name, namespace, sectionName: http });
  });

  test('allowed ranges and countries stay out of Kubernetes: the Gateway API has no client-address filter', () => {
    const tenant = aTenant('acme', withIngress({ allowedSourceRanges: ['203.0.113.0/24'], allowedCountries: ['NL'] }));
    const json = JSON.stringify(buildGatewayFrontDoor(tenant, aConfig(), { wafPolicyId: WAF_ID }));
    expect(json).not.toContain('203.0.113.0/24');
    expect(json).not.toContain('"NL"');
  });
});

describe('buildIngressFrontDoor (AGIC)', () => {
  const ingress = (options: Partial<FrontDoorOptions> = {}, ...modifiers: TenantModifier[]) => {
    const [only] = buildIngressFrontDoor(
      aTenant('acme', withIngress({ host: 'acme.saas.example.com' }), ...modifiers),
      aConfig(),
      {
        wafPolicyId: WAF_ID,
        ...options,
      },
    );
    return only as KubeObject & { spec: any };
  };
  const rules = [
    {
      host: 'acme.saas.example.com',
      http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'tenant-app', port: { number: 80 } } } }] },
    },
  ];

  test.each([
    [
      'cert-manager (default): spec.tls with the issuer annotation',
      {},
      { 'cert-manager.io/cluster-issuer': 'letsencrypt' },
      [{ hosts: ['acme.saas.example.com'], secretName: 'tenant-tls' }],
    ],
    [
      'cert-manager with a named issuer and secret',
      { certificateSource: 'cert-manager', clusterIssuer: 'corp-ca', tlsSecretName: 'acme-tls' },
      { 'cert-manager.io/cluster-issuer': 'corp-ca' },
      [{ hosts: ['acme.saas.example.com'], secretName: 'acme-tls' }],
    ],
    [
      'Key Vault: the certificate installed in the gateway, and no spec.tls (AGIC would ignore the annotation)',
      { certificateSource: 'key-vault', appGatewayCertificateName: 'acme-cert' },
      { 'appgw.ingress.kubernetes.io/appgw-ssl-certificate': 'acme-cert' },
      undefined,
    ],
    [
      'Key Vault without a name: the namespace name',
      { certificateSource: 'key-vault' },
      { 'appgw.ingress.kubernetes.io/appgw-ssl-certificate': 'tenant-acme-dev' },
      undefined,
    ],
    [
      'an SSL profile for the listener',
      { sslProfile: 'tls12-strict' },
      { 'cert-manager.io/cluster-issuer': 'letsencrypt', 'appgw.ingress.kubernetes.io/appgw-ssl-profile': 'tls12-strict' },
      [{ hosts: ['acme.saas.example.com'], secretName: 'tenant-tls' }],
    ],
  ] as const)('%s', (_name, options, certificateAnnotations, tls) => {
    const ing = ingress(options);
    expect(ing.metadata.annotations).toEqual({
      'appgw.ingress.kubernetes.io/ssl-redirect': 'true',
      'appgw.ingress.kubernetes.io/waf-policy-for-path': WAF_ID,
      ...certificateAnnotations,
    });
    expect(ing.spec).toEqual({ ingressClassName: 'azure-application-gateway', ...(tls ? { tls } : {}), rules });
  });

  test('uses spec.ingressClassName only (the API server rejects it together with the deprecated annotation)', () => {
    const ing = ingress({ ingressClassName: 'agic-private' });
    expect(ing.spec.ingressClassName).toBe('agic-private');
    expect(ing.metadata.annotations).not.toHaveProperty('kubernetes.io/ingress.class');
  });

  test('allowed ranges do not become an annotation: AGIC has none, the WAF policy enforces them', () => {
    const ing = ingress({}, withIngress({ allowedSourceRanges: ['203.0.113.0/24'] }));
    expect(JSON.stringify(ing)).not.toContain('203.0.113.0/24');
  });
});

describe('buildWafCustomRules', () => {
  test.each([
    ['nothing restricted: no custom rules', {}, []],
    [
      'allowed source ranges: block every address outside them',
      { allowedSourceRanges: ['203.0.113.0/24', '2001:db8::/32'] },
      [
        {
          name: 'BlockOutsideAllowedRanges',
          priority: 10,
          ruleType: 'MatchRule',
          action: 'Block',
          matchConditions: [
            {
              matchVariables: [{ variableName: 'RemoteAddr' }],
              operator: 'IPMatch',
              negationConditon: true,
              matchValues: ['203.0.113.0/24', '2001:db8::/32'],
            },
          ],
        },
      ],
    ],
    [
      'allowed countries: block every client geolocated elsewhere',
      { allowedCountries: ['NL', 'BE', 'DE'] },
      [
        {
          name: 'BlockOutsideAllowedCountries',
          priority: 20,
          ruleType: 'MatchRule',
          action: 'Block',
          matchConditions: [
            {
              matchVariables: [{ variableName: 'RemoteAddr' }],
              operator: 'GeoMatch',
              negationConditon: true,
              matchValues: ['NL', 'BE', 'DE'],
            },
          ],
        },
      ],
    ],
  ] as const)('%s', (_name, restrictions, expected) => {
    expect(buildWafCustomRules(aTenant('acme', withIngress(restrictions as Partial<TenantSpec['ingress']>)))).toEqual(expected);
  });

  test('both set: two rules, so a request must come from an allowed range AND an allowed country', () => {
    const rules = buildWafCustomRules(
      aTenant('acme', withIngress({ allowedSourceRanges: ['203.0.113.0/24'], allowedCountries: ['NL'] })),
    );
    expect(rules.map((r) => [r.name, r.priority, r.matchConditions[0]?.operator])).toEqual([
      ['BlockOutsideAllowedRanges', 10, 'IPMatch'],
      ['BlockOutsideAllowedCountries', 20, 'GeoMatch'],
    ]);
  });
});

describe('against the published CRDs (hack/third-party-crds.sh)', () => {
  test('the script produced exactly the expected kinds, each a served v1 of its group', () => {
    const kinds = thirdPartyCrds()
      .crds.map((c) => `${c.spec.group}/${c.spec.versions.find((v) => v.served && v.storage)?.name} ${c.spec.names.kind}`)
      .sort();
    expect(kinds).toEqual([
      'alb.networking.azure.io/v1 WebApplicationFirewallPolicy',
      'gateway.networking.k8s.io/v1 Gateway',
      'gateway.networking.k8s.io/v1 GatewayClass',
      'gateway.networking.k8s.io/v1 HTTPRoute',
      'gateway.networking.k8s.io/v1beta1 ReferenceGrant',
      'secrets-store.csi.x-k8s.io/v1 SecretProviderClass',
    ]);
  });

  test.each([
    ['a plain tenant', aTenant('acme')],
    [
      'a restricted production tenant',
      aTenant(
        'acme',
        withEnvironment('Production'),
        withIngress({ allowedSourceRanges: ['203.0.113.0/24'], allowedCountries: ['NL'] }),
      ),
    ],
    [
      'the longest host the Tenant schema admits',
      aTenant('acme', withIngress({ host: `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.example.com` })),
    ],
  ])('gateway mode objects fit their CRD schemas, nothing pruned (%s)', (_name, tenant) => {
    for (const o of buildGatewayFrontDoor(tenant, aConfig(), { wafPolicyId: WAF_ID })) {
      const schema = servedSchema(o.apiVersion, o.kind);
      expect(schema).toBeDefined();
      expect(schemaProblems(schema!, o)).toEqual([]);
    }
  });

  test('the schema check catches what the API server would prune or reject', () => {
    const schema = servedSchema('gateway.networking.k8s.io/v1', 'HTTPRoute')!;
    const bad = {
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'HTTPRoute',
      metadata: { name: 'x' },
      spec: {
        parentRefs: [{ name: 'gw', sectionNames: ['https'] }],
        rules: [{ filters: [{ type: 'RequestRedirect', requestRedirect: { statusCode: 305 } }] }],
      },
    };
    expect(schemaProblems(schema, bad)).toEqual([
      '.spec.parentRefs[0].sectionNames: unknown field, the API server would prune it',
      '.spec.rules[0].filters[0].requestRedirect.statusCode: 305 is not one of [301,302,303,307,308]',
    ]);
  });
});
