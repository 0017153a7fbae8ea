import { describe, expect, test } from '@jest/globals';
import { tenantNamespaceName } from '../../../src/tenant/labels.ts';
import { buildNamespace } from '../../../src/tenant/namespace.ts';
import { buildLimitRange, buildResourceQuota } from '../../../src/tenant/quota.ts';
import { aConfig, aTenant, withTier } from '../../fixtures/tenant.ts';

describe('tenantNamespaceName', () => {
  test.each([
    ['acme', 'Production', 'tenant-', 'tenant-acme-prod'],
    ['acme', 'QA', 'tenant-', 'tenant-acme-qa'],
    ['a'.repeat(40), 'Development', 'customer-', `customer-${'a'.repeat(40)}-dev`],
  ] as const)('%s in %s with prefix %s is %s', (name, env, prefix, expected) => {
    const ns = tenantNamespaceName(name, env, { namespacePrefix: prefix });
    expect(ns).toBe(expected);
    expect(ns.length).toBeLessThanOrEqual(63);
  });
});

describe('buildNamespace', () => {
  test('enforces, audits and warns on Pod Security "restricted"', () => {
    const ns = buildNamespace(aTenant(), aConfig());
    expect(ns.metadata.labels).toMatchObject({
      'pod-security.kubernetes.io/enforce': 'restricted',
      'pod-security.kubernetes.io/audit': 'restricted',
      'pod-security.kubernetes.io/warn': 'restricted',
      'tenancy.dev/tier': 'small',
    });
  });

  test('never points back at the Tenant with an ownerReference (a CRD reinstall must not delete customers)', () => {
    expect(buildNamespace(aTenant(), aConfig()).metadata).not.toHaveProperty('ownerReferences');
  });
});

describe('buildResourceQuota', () => {
  test.each([
    ['Small', '4', '8Gi', '20'],
    ['Medium', '16', '32Gi', '50'],
    ['Large', '64', '128Gi', '150'],
  ] as const)('%s tier: cpu %s, memory %s, pods %s', (tier, cpu, memory, pods) => {
    const hard = (buildResourceQuota(aTenant('acme', withTier(tier)), aConfig()).spec as { hard: Record<string, string> }).hard;
    expect(hard).toMatchObject({ 'requests.cpu': cpu, 'limits.cpu': cpu, 'limits.memory': memory, pods });
  });

  test('forbids LoadBalancer and NodePort services: tenants are reached only through the front door', () => {
    const hard = (buildResourceQuota(aTenant(), aConfig()).spec as { hard: Record<string, string> }).hard;
    expect(hard['services.loadbalancers']).toBe('0');
    expect(hard['services.nodeports']).toBe('0');
  });
});

describe('buildLimitRange', () => {
  test('sets container defaults and maxima from the tier table, in wire format ("default", not "_default")', () => {
    const limits = (buildLimitRange(aTenant('acme', withTier('Medium')), aConfig()).spec as { limits: object[] }).limits;
    expect(limits).toEqual([
      {
        type: 'Container',
        default: { cpu: '1', memory: '1Gi' },
        defaultRequest: { cpu: '250m', memory: '256Mi' },
        max: { cpu: '4', memory: '8Gi' },
      },
    ]);
  });
});
