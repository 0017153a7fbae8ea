import { describe, expect, test } from '@jest/globals';
import type { PrivateEndpointAddresses } from '../../../src/context.ts';
import { buildNetworkPolicies, sameEgressAddresses } from '../../../src/tenant/network-policy.ts';
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
      'Kubernetes-only mode, shared SQL, Key Vault and Entra ID CIDRs: 1433, 443 and 443 to exactly those ranges',
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

  describe('exact egress to the tenant’s own private endpoints', () => {
    const ENTRA = ['20.190.128.0/18'];
    const sqlRule = (ip: string) => ({ to: [{ ipBlock: { cidr: `${ip}/32` } }], ports: [{ protocol: 'TCP', port: 1433 }] });
    const vaultRule = (ip: string) => ({ to: [{ ipBlock: { cidr: `${ip}/32` } }], ports: [{ protocol: 'TCP', port: 443 }] });
    const entraRule = { to: [{ ipBlock: { cidr: ENTRA[0] } }], ports: [{ protocol: 'TCP', port: 443 }] };
    const egress = (endpoints: PrivateEndpointAddresses | undefined, entraId: string[] = ENTRA) =>
      byName(buildNetworkPolicies(aTenant(), aConfig({ azureEgressCidrs: { entraId } }), endpoints))['allow-azure-egress']
        ?.egress;

    test.each<[string, PrivateEndpointAddresses | undefined, unknown[] | undefined]>([
      ['a new tenant, no endpoint known yet: Entra ID only, nothing wider (fails closed)', undefined, [entraRule]],
      [
        'both endpoints known: exactly their two addresses, SQL on 1433 and the vault on 443, and Entra ID',
        { sql: { ip: '10.100.0.4', fqdn: 'sql-acme.privatelink.database.windows.net' }, keyVault: { ip: '10.100.0.5' } },
        [sqlRule('10.100.0.4'), vaultRule('10.100.0.5'), entraRule],
      ],
      [
        'only the SQL endpoint known so far: the vault gets nothing yet',
        { sql: { ip: '10.100.0.4' } },
        [sqlRule('10.100.0.4'), entraRule],
      ],
      [
        'an address that is not IPv4 is dropped, never widened',
        { sql: { ip: '10.100.0.0/16' }, keyVault: { ip: 'kv-acme.vault.azure.net' } },
        [entraRule],
      ],
    ])('%s', (_name, endpoints, expected) => {
      expect(egress(endpoints)).toEqual(expected);
    });

    test('no Entra ID range and no endpoint: no egress policy at all (default-deny holds)', () => {
      expect(egress(undefined, [])).toBeUndefined();
    });

    test('two tenants in one subnet: each policy names only its own addresses', () => {
      const config = aConfig({ azureEgressCidrs: { entraId: ENTRA } });
      const cidrs = (name: string, endpoints: PrivateEndpointAddresses) =>
        (byName(buildNetworkPolicies(aTenant(name), config, endpoints))['allow-azure-egress']?.egress ?? []).flatMap((r) =>
          r.to.map((t: { ipBlock: { cidr: string } }) => t.ipBlock.cidr),
        );
      const alpha = cidrs('alpha', { sql: { ip: '10.100.0.4' }, keyVault: { ip: '10.100.0.5' } });
      const bravo = cidrs('bravo', { sql: { ip: '10.100.0.6' }, keyVault: { ip: '10.100.0.7' } });
      expect(alpha).toEqual(['10.100.0.4/32', '10.100.0.5/32', ENTRA[0]]);
      expect(bravo).toEqual(['10.100.0.6/32', '10.100.0.7/32', ENTRA[0]]);
    });

    test.each<[string, PrivateEndpointAddresses | undefined, PrivateEndpointAddresses | undefined, boolean]>([
      ['the same addresses, another name', { sql: { ip: '10.0.0.4', fqdn: 'a' } }, { sql: { ip: '10.0.0.4', fqdn: 'b' } }, true],
      ['a new address', { sql: { ip: '10.0.0.4' } }, { sql: { ip: '10.0.0.9' } }, false],
      ['an address gone', { keyVault: { ip: '10.0.0.5' } }, undefined, false],
      ['none either way', undefined, {}, true],
    ])('sameEgressAddresses: %s', (_name, a, b, same) => {
      expect(sameEgressAddresses(a, b)).toBe(same);
    });
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
