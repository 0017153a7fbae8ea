import { describe, expect, test } from '@jest/globals';
import { buildNetworkPolicies } from '../../../src/tenant/network-policy.ts';
import { aConfig, aTenant, withEnvironment, withPort } from '../../fixtures/tenant.ts';

type Spec = { podSelector: object; policyTypes: string[]; ingress?: any[]; egress?: any[] };
const byName = (policies: ReturnType<typeof buildNetworkPolicies>) =>
  Object.fromEntries(policies.map((p) => [p.metadata.name, p.spec as Spec]));

describe('buildNetworkPolicies', () => {
  test('denies all ingress and egress by default, for every pod', () => {
    const p = byName(buildNetworkPolicies(aTenant(), aConfig()));
    expect(p['default-deny']).toEqual({ podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
  });

  test.each([
    ['Production', 'tenant-acme-prod'],
    ['QA', 'tenant-acme-qa'],
    ['Development', 'tenant-acme-dev'],
  ] as const)('lives in the %s namespace %s', (env, ns) => {
    for (const policy of buildNetworkPolicies(aTenant('acme', withEnvironment(env)), aConfig()))
      expect(policy.metadata.namespace).toBe(ns);
  });

  test('allows DNS only to kube-dns in kube-system, on port 53', () => {
    const dns = byName(buildNetworkPolicies(aTenant(), aConfig()))['allow-dns'];
    expect(dns?.policyTypes).toEqual(['Egress']);
    expect(dns?.egress?.[0].to[0].namespaceSelector.matchLabels).toEqual({ 'kubernetes.io/metadata.name': 'kube-system' });
    expect(dns?.egress?.[0].ports).toEqual([
      { protocol: 'UDP', port: 53 },
      { protocol: 'TCP', port: 53 },
    ]);
  });

  test.each([
    ['no front door source ranges: the controller namespace only', [], []],
    [
      'AGC / AGIC subnets: their addresses too, since they do not come as pods',
      ['10.40.0.0/24', '10.41.0.0/26'],
      [{ ipBlock: { cidr: '10.40.0.0/24' } }, { ipBlock: { cidr: '10.41.0.0/26' } }],
    ],
  ])('admits the front door to the app port only: %s', (_name, sourceCidrs, ipBlocks) => {
    const cfg = aConfig({ ingressNamespace: 'alb-system', frontDoor: { sourceCidrs } });
    const rule = byName(buildNetworkPolicies(aTenant('acme', withPort(9000)), cfg))['allow-from-front-door'];
    expect(rule?.ingress).toEqual([
      {
        from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'alb-system' } } }, ...ipBlocks],
        ports: [{ protocol: 'TCP', port: 9000 }],
      },
    ]);
    expect(rule?.podSelector).toEqual({ matchLabels: { 'app.kubernetes.io/name': 'tenant-app' } });
  });

  test.each([
    ['no Azure CIDRs configured: no Azure egress policy', { sql: [], keyVault: [], entraId: [] }, undefined],
    [
      'SQL, Key Vault and Entra ID CIDRs: 1433, 443 and 443 to exactly those ranges',
      { sql: ['10.20.0.0/24'], keyVault: ['10.30.0.0/24'], entraId: ['20.190.128.0/18'] },
      [
        { to: [{ ipBlock: { cidr: '10.20.0.0/24' } }], ports: [{ protocol: 'TCP', port: 1433 }] },
        { to: [{ ipBlock: { cidr: '10.30.0.0/24' } }], ports: [{ protocol: 'TCP', port: 443 }] },
        { to: [{ ipBlock: { cidr: '20.190.128.0/18' } }], ports: [{ protocol: 'TCP', port: 443 }] },
      ],
    ],
    [
      'Entra ID alone (workload identity token exchange): 443 only',
      { sql: [], keyVault: [], entraId: ['40.126.0.0/18'] },
      [{ to: [{ ipBlock: { cidr: '40.126.0.0/18' } }], ports: [{ protocol: 'TCP', port: 443 }] }],
    ],
  ])('%s', (_name, azureEgressCidrs, expected) => {
    const p = byName(buildNetworkPolicies(aTenant(), aConfig({ azureEgressCidrs })));
    expect(p['allow-azure-egress']?.egress).toEqual(expected);
  });

  test('every policy carries the ownership labels', () => {
    for (const policy of buildNetworkPolicies(aTenant('acme'), aConfig())) {
      expect(policy.metadata.labels).toEqual({
        'app.kubernetes.io/managed-by': 'tenant-operator',
        'tenancy.dev/tenant': 'acme',
        'tenancy.dev/environment': 'dev',
      });
    }
  });
});
