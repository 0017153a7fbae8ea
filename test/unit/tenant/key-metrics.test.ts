/** The encryption key's series, computed at scrape time from the Tenants' status. */
import { describe, expect, test } from '@jest/globals';
import { Registry } from 'prom-client';
import type { KubeObject } from '../../../src/runtime/kube-client.ts';
import { encryptionKeySamples, registerEncryptionKeyMetrics } from '../../../src/tenant/key-metrics.ts';

const tenant = (name: string, azure?: Record<string, string>): KubeObject =>
  ({
    apiVersion: 'tenancy.dev/v1alpha1',
    kind: 'Tenant',
    metadata: { name },
    ...(azure ? { status: { azure } } : {}),
  }) as KubeObject;

describe('encryptionKeySamples', () => {
  test.each<[string, KubeObject, { createdSeconds?: number; expiresSeconds?: number }]>([
    [
      'a key read from Key Vault',
      tenant('contoso', { keyCreatedAt: '2027-01-01T00:00:00.000Z', keyExpiresAt: '2029-01-01T00:00:00.000Z' }),
      { createdSeconds: Date.parse('2027-01-01T00:00:00Z') / 1000, expiresSeconds: Date.parse('2029-01-01T00:00:00Z') / 1000 },
    ],
    [
      'a key without an expiry',
      tenant('fabrikam', { keyCreatedAt: '2027-01-01T00:00:00.000Z' }),
      {
        createdSeconds: Date.parse('2027-01-01T00:00:00Z') / 1000,
      },
    ],
    ['a tenant whose key is not known yet', tenant('northwind'), {}],
    ['a timestamp that does not parse', tenant('tailspin', { keyCreatedAt: 'soon' }), {}],
  ])('%s', (_name, t, expected) => {
    const { tenant: name, ...values } = encryptionKeySamples(t as never);
    expect(name).toBe(t.metadata.name);
    expect(Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined))).toEqual(expected);
  });
});

describe('registerEncryptionKeyMetrics', () => {
  test('each scrape reads the cache as it is now: a rotation shows, a deleted tenant goes', async () => {
    const registry = new Registry();
    let tenants = [
      tenant('contoso', { keyCreatedAt: '2027-01-01T00:00:00Z', keyExpiresAt: '2029-01-01T00:00:00Z' }),
      tenant('northwind'),
    ];
    registerEncryptionKeyMetrics(registry, () => tenants);
    const expiry = async () =>
      (await registry.getSingleMetric('tenant_operator_key_expiry_timestamp_seconds')?.get())?.values.map((v) => [
        v.labels.tenant,
        v.value,
      ]);
    expect(await expiry()).toEqual([['contoso', Date.parse('2029-01-01T00:00:00Z') / 1000]]);
    tenants = [tenant('contoso', { keyCreatedAt: '2028-01-01T00:00:00Z', keyExpiresAt: '2030-01-01T00:00:00Z' })];
    expect(await expiry()).toEqual([['contoso', Date.parse('2030-01-01T00:00:00Z') / 1000]]);
    tenants = [];
    expect(await expiry()).toEqual([]);
    expect(await registry.metrics()).toContain('# TYPE tenant_operator_key_created_timestamp_seconds gauge');
  });
});
