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

  test('admits the front door controller namespace to the app port only', () => {
    const cfg = aConfig({ ingressNamespace: 'alb-system' });
    const rule = byName(buildNetworkPolicies(aTenant('acme', withPort(9000)), cfg))['allow-from-front-door'];
    expect(rule?.ingress).toEqual([
      {
        from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'alb-system' } } }],
        ports: [{ protocol: 'TCP', port: 9000 }],
      },
    ]);
    expect(rule?.podSelector).toEqual({ matchLabels: { 'app.kubernetes.io/name': 'tenant-app' } });
  });

  test.each([
    ['no Azure CIDRs configured: no Azure egress policy', { sql: [], keyVault: [] }, undefined],
    [
      'SQL and Key Vault CIDRs: 1433 and 443 to exactly those ranges',
      { sql: ['10.20.0.0/24'], keyVault: ['10.30.0.0/24'] },
      [
        { to: [{ ipBlock: { cidr: '10.20.0.0/24' } }], ports: [{ protocol: 'TCP', port: 1433 }] },
        { to: [{ ipBlock: { cidr: '10.30.0.0/24' } }], ports: [{ protocol: 'TCP', port: 443 }] },
      ],
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
