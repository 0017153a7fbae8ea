/**
 * The tenant's SecretProviderClass: which Key Vault secrets the Secrets Store CSI driver (Azure
 * provider) mounts into the application, authenticated with the tenant's workload identity.
 * Only names travel through here: secret values go from Key Vault to the pod and never pass
 * through the operator, its logs or the Kubernetes API (unless a sync into a Secret is asked for).
 */
import type { Tenant } from '../api/v1alpha1/tenant.ts';
import type { OperatorConfig } from '../config.ts';
import type { KubeObject } from '../runtime/kube-client.ts';
import { tenantLabels, tenantNamespaceName } from './labels.ts';
import { SECRET_PROVIDER_CLASS_NAME } from './workload.ts';

export interface SecretProviderOptions {
  /** Name of the tenant's Key Vault (not its URI). */
  keyVaultName: string;
  /** Microsoft Entra tenant (directory) id the vault and identity belong to. */
  tenantId: string;
  /** Client id of the tenant's user-assigned identity; its federated credential trusts `tenant-app`. */
  identityClientId: string;
  /**
   * When set, the driver also copies the mounted secrets into a Kubernetes Secret of this name
   * (for software that reads environment variables). The Secret exists only while a pod mounts the
   * volume, and it puts the values into etcd: leave unset unless an application needs it.
   */
  syncToSecretName?: string;
}

/** YAML 1.1 words the provider's YAML parser would not read as plain strings. */
const YAML_KEYWORDS = new Set(['y', 'n', 'yes', 'no', 'true', 'false', 'on', 'off', 'null']);

/** A YAML scalar: plain when unambiguous (every usual Key Vault name), else JSON-quoted (valid YAML). */
function yamlScalar(value: string): string {
  const plain = /^[A-Za-z][A-Za-z0-9._-]*$/.test(value) && !YAML_KEYWORDS.has(value.toLowerCase());
  return plain ? value : JSON.stringify(value);
}

/**
 * The `objects` parameter of the Azure provider: a YAML string holding an array of YAML strings,
 * one per secret. `objectAlias` (the file name under the mount) appears when `fileName` is set. No `objectVersion`: the latest version is mounted, so rotation needs no change here.
 */
export function keyVaultObjects(secrets: NonNullable<Tenant['spec']['secrets']>): string {
  const items = secrets.map((s) => {
    const lines = [`objectName: ${yamlScalar(s.name)}`, 'objectType: secret'];
    if (s.fileName) lines.push(`objectAlias: ${yamlScalar(s.fileName)}`);
    return `  - |\n${lines.map((l) => `    ${l}`).join('\n')}`;
  });
  return `array:\n${items.join('\n')}`;
}

/**
 * The SecretProviderClass `tenant-secrets`, or undefined when the tenant lists no secrets (the
 * Deployment then mounts no CSI volume either).
 */
export function buildSecretProviderClass(
  tenant: Tenant,
  config: OperatorConfig,
  options: SecretProviderOptions,
): KubeObject | undefined {
  const secrets = tenant.spec.secrets ?? [];
  if (secrets.length === 0) return undefined;
  const spec: Record<string, unknown> = {
    provider: 'azure',
    parameters: {
      usePodIdentity: 'false',
      clientID: options.identityClientId,
      keyvaultName: options.keyVaultName,
      tenantId: options.tenantId,
      objects: keyVaultObjects(secrets),
    },
  };
  if (options.syncToSecretName) {
    spec.secretObjects = [
      {
        secretName: options.syncToSecretName,
        type: 'Opaque',
        // objectName refers to the mounted file: the alias when there is one.
        data: secrets.map((s) => ({ objectName: s.fileName ?? s.name, key: s.fileName ?? s.name })),
      },
    ];
  }
  return {
    apiVersion: 'secrets-store.csi.x-k8s.io/v1',
    kind: 'SecretProviderClass',
    metadata: {
      name: SECRET_PROVIDER_CLASS_NAME,
      namespace: tenantNamespaceName(tenant.metadata.name, tenant.spec.environment, config),
      labels: tenantLabels(tenant.metadata.name, tenant.spec.environment),
    },
    spec,
  };
}
