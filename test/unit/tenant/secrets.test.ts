import { describe, expect, test } from '@jest/globals';
import { parse } from 'yaml';
import type { TenantSpec } from '../../../src/api/v1alpha1/tenant.ts';
import { buildSecretProviderClass, keyVaultObjects, type SecretProviderOptions } from '../../../src/tenant/secrets.ts';
import { aConfig, aTenant, type TenantModifier, withEnvironment } from '../../fixtures/tenant.ts';
import { schemaProblems, servedSchema } from '../../fixtures/third-party/crds.ts';

const withSecrets =
  (...secrets: NonNullable<TenantSpec['secrets']>): TenantModifier =>
  (t) => {
    t.spec.secrets = secrets;
  };

const OPTIONS: SecretProviderOptions = {
  keyVaultName: 'kv-acme-prd-1a2b3c',
  tenantId: '11111111-1111-1111-1111-111111111111',
  identityClientId: '22222222-2222-2222-2222-222222222222',
};

const spc = (modifiers: TenantModifier[], options: Partial<SecretProviderOptions> = {}) =>
  buildSecretProviderClass(aTenant('acme', withEnvironment('Production'), ...modifiers), aConfig(), { ...OPTIONS, ...options });

describe('buildSecretProviderClass', () => {
  test.each([
    ['no secrets field', []],
    ['an empty list', [withSecrets()]],
  ])('%s: nothing to mount, no SecretProviderClass', (_name, modifiers) => {
    expect(spc(modifiers)).toBeUndefined();
  });

  test('the Azure provider with workload identity: vault, directory and client id, never pod identity', () => {
    const obj = spc([withSecrets({ name: 'db-password' })]);
    expect(obj?.apiVersion).toBe('secrets-store.csi.x-k8s.io/v1');
    expect(obj?.kind).toBe('SecretProviderClass');
    expect(obj?.metadata).toEqual({
      name: 'tenant-secrets',
      namespace: 'tenant-acme-prod',
      labels: {
        'app.kubernetes.io/managed-by': 'tenant-operator',
        'tenancy.dev/tenant': 'acme',
        'tenancy.dev/environment': 'prod',
      },
    });
    expect(obj?.spec).toEqual({
      provider: 'azure',
      parameters: {
        usePodIdentity: 'false',
        clientID: '22222222-2222-2222-2222-222222222222',
        keyvaultName: 'kv-acme-prd-1a2b3c',
        tenantId: '11111111-1111-1111-1111-111111111111',
        objects: 'array:\n  - |\n    objectName: db-password\n    objectType: secret',
      },
    });
  });

  test.each([
    [
      'only a Kubernetes Secret sync when asked for',
      { syncToSecretName: 'app-env' },
      [
        {
          secretName: 'app-env',
          type: 'Opaque',
          data: [
            { objectName: 'db-password', key: 'db-password' },
            { objectName: 'api.key', key: 'api.key' },
          ],
        },
      ],
    ],
    ['no sync by default: values stay out of etcd', {}, undefined],
  ])('%s', (_name, options, secretObjects) => {
    const obj = spc([withSecrets({ name: 'db-password' }, { name: 'api-key', fileName: 'api.key' })], options);
    expect((obj?.spec as { secretObjects?: unknown } | undefined)?.secretObjects).toEqual(secretObjects);
  });

  test('carries names only, never a secret value', () => {
    const obj = spc([withSecrets({ name: 'db-password' })], { syncToSecretName: 'app-env' });
    const leaves = (v: unknown): string[] =>
      v !== null && typeof v === 'object' ? Object.values(v).flatMap(leaves) : typeof v === 'string' ? [v] : [];
    expect(obj).not.toHaveProperty('data');
    expect(obj).not.toHaveProperty('stringData');
    expect(new Set(leaves(obj?.spec))).toEqual(
      new Set([
        'azure',
        'false',
        OPTIONS.identityClientId,
        OPTIONS.keyVaultName,
        OPTIONS.tenantId,
        'array:\n  - |\n    objectName: db-password\n    objectType: secret',
        'app-env',
        'Opaque',
        'db-password',
      ]),
    );
  });

  test.each([
    ['one secret', [withSecrets({ name: 'db-password' })]],
    ['secrets with aliases, synced', [withSecrets({ name: 'db-password' }, { name: 'api-key', fileName: 'api.key' })]],
  ])('fits the published SecretProviderClass CRD schema, nothing pruned (%s)', (_name, modifiers) => {
    const obj = spc(modifiers, { syncToSecretName: 'app-env' })!;
    expect(schemaProblems(servedSchema(obj.apiVersion, obj.kind)!, obj)).toEqual([]);
  });
});

describe('keyVaultObjects', () => {
  test.each([
    ['one secret', [{ name: 'db-password' }], 'array:\n  - |\n    objectName: db-password\n    objectType: secret'],
    [
      'a file name becomes the objectAlias',
      [{ name: 'db-password' }, { name: 'api-key', fileName: 'api.key' }],
      'array:\n  - |\n    objectName: db-password\n    objectType: secret\n  - |\n    objectName: api-key\n    objectType: secret\n    objectAlias: api.key',
    ],
    [
      'names YAML would misread are quoted',
      [{ name: '2024' }, { name: 'yes' }, { name: 'key', fileName: '.env' }],
      'array:\n  - |\n    objectName: "2024"\n    objectType: secret\n  - |\n    objectName: "yes"\n    objectType: secret\n  - |\n    objectName: key\n    objectType: secret\n    objectAlias: ".env"',
    ],
  ])('%s', (_name, secrets, expected) => {
    expect(keyVaultObjects(secrets)).toBe(expected);
  });

  test('reads back as the provider reads it: a YAML array of YAML documents, every value a string', () => {
    const secrets = [{ name: '2024' }, { name: 'no' }, { name: 'db-password', fileName: 'db.pw' }];
    const items = (parse(keyVaultObjects(secrets)) as { array: string[] }).array.map((doc) => parse(doc, { version: '1.1' }));
    expect(items).toEqual([
      { objectName: '2024', objectType: 'secret' },
      { objectName: 'no', objectType: 'secret' },
      { objectName: 'db-password', objectType: 'secret', objectAlias: 'db.pw' },
    ]);
  });
});
