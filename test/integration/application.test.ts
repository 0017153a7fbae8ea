/**
 * Each tenant's application instance and front door against the real API server: a Deployment
 * generation no controller has observed is RolloutPending (a state a real cluster holds for
 * milliseconds; the rest of the rollout runs on the real node in
 * test/integration/node/application-availability.test.ts), and the front door switches between
 * Gateway API and Ingress modes with the same Tenant spec, pruning the other mode's objects.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { Operator } from '../../src/operator.ts';
import { isNotFound, type KubeClient, type KubeObject } from '../../src/runtime/kube-client.ts';
import {
  adminClient,
  condition,
  sharedControlPlane,
  startOperator,
  type TenantWithStatus,
  tenant,
  typeOf,
  waitFor,
  waitForReady,
} from '../harness/fixtures.ts';
import { NO_KUBELET_LABEL } from '../harness/kubelet-stand-in.ts';

const info = sharedControlPlane();
let admin: KubeClient;
let operator: Operator;

async function exists(kind: string, name: string, namespace: string): Promise<boolean> {
  try {
    await admin.get(typeOf(kind), name, namespace);
    return true;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}

async function availability(name: string) {
  const t = await admin.get<TenantWithStatus>(typeOf('Tenant'), name);
  return condition(t, 'ApplicationAvailable');
}

beforeAll(async () => {
  admin = adminClient(info.adminKubeconfig);
  operator = await startOperator({ info, leaseName: 'application' });
});

afterAll(async () => {
  await operator?.stop();
});

describe('ApplicationAvailable before the deployment controller looks', () => {
  const ns = 'tenant-rollout-dev';

  beforeAll(async () => {
    // The kubelet stand-in leaves this namespace alone, and no deployment controller runs here:
    // the Deployment's status is never written.
    // Labelled as the operator's: the blast-radius policy lets it take over no one else's namespace.
    await admin.apply(
      typeOf('Namespace'),
      {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name: ns, labels: { [NO_KUBELET_LABEL]: 'true', 'app.kubernetes.io/managed-by': 'tenant-operator' } },
      },
      'test',
    );
    await admin.apply(typeOf('Tenant'), tenant('rollout'), 'test');
    await waitFor('deployment', () => exists('Deployment', 'tenant-app', ns));
  });

  test('not observed yet: Unknown, RolloutPending, and the tenant is not Ready', async () => {
    const c = await waitFor('RolloutPending', async () => {
      const a = await availability('rollout');
      return a?.reason === 'RolloutPending' ? a : undefined;
    });
    expect(c.status).toBe('Unknown');
    const t = await admin.get<TenantWithStatus>(typeOf('Tenant'), 'rollout');
    expect(condition(t, 'Ready')?.status).not.toBe('True');
  });
});

describe('a version change rolls the Deployment', () => {
  test('with apply-now, the new image reaches the pod template at once', async () => {
    await admin.apply(typeOf('Tenant'), tenant('roll'), 'test');
    await waitForReady(admin, 'roll');
    const t = tenant('roll', { version: '2.0.0' });
    t.metadata.annotations = { 'tenancy.dev/apply-now': 'rollout test' };
    await admin.apply(typeOf('Tenant'), t, 'test');
    const image = await waitFor('new image', async () => {
      const d = await admin.get<KubeObject & { spec: any }>(typeOf('Deployment'), 'tenant-app', 'tenant-roll-dev');
      const img = d.spec.template.spec.containers[0].image as string;
      return img.endsWith(':2.0.0') ? img : undefined;
    });
    expect(image).toBe('registry.example.com/saas/app:2.0.0');
  });
});

describe('Key Vault secrets', () => {
  test('are mounted through a SecretProviderClass for the tenant’s vault and identity, never as values', async () => {
    const t = tenant('vaulted') as KubeObject & { spec: Record<string, unknown> };
    t.spec.secrets = [{ name: 'smtp-password' }, { name: 'api-key', fileName: 'api.key' }];
    await admin.apply(typeOf('Tenant'), t, 'test');
    const ready = await waitForReady(admin, 'vaulted');
    const ns = 'tenant-vaulted-dev';
    const spc = await admin.get<KubeObject & { spec: any }>(typeOf('SecretProviderClass'), 'tenant-secrets', ns);
    const azure = (ready.status as { azure: { identityClientId: string; keyVaultUri: string } }).azure;
    expect(spc.spec.provider).toBe('azure');
    expect(spc.spec.parameters.clientID).toBe(azure.identityClientId);
    expect(azure.keyVaultUri).toContain(spc.spec.parameters.keyvaultName);
    expect(spc.spec.parameters.objects).toContain('objectName: smtp-password');
    expect(spc.spec.parameters.objects).toContain('objectAlias: api.key');
    const d = await admin.get<KubeObject & { spec: any }>(typeOf('Deployment'), 'tenant-app', ns);
    const volume = d.spec.template.spec.volumes.find((v: { csi?: unknown }) => v.csi);
    expect(volume.csi).toMatchObject({
      driver: 'secrets-store.csi.k8s.io',
      readOnly: true,
      volumeAttributes: { secretProviderClass: 'tenant-secrets' },
    });
    expect(JSON.stringify(spc)).not.toMatch(/value/i);
  });
});

describe('front-door modes', () => {
  test('the same Tenant is served through Gateway API or an AGIC Ingress, and switching prunes the other', async () => {
    await admin.apply(typeOf('Tenant'), tenant('doors', { allowedSourceRanges: ['203.0.113.0/24'] }), 'test');
    await waitForReady(admin, 'doors');
    const ns = 'tenant-doors-dev';
    expect(await exists('HTTPRoute', 'tenant-app', ns)).toBe(true);
    expect(await exists('Ingress', 'tenant-app', ns)).toBe(false);
    const redirect = await admin.get<KubeObject & { spec: any }>(typeOf('HTTPRoute'), 'tenant-app-https-redirect', ns);
    expect(redirect.spec.rules[0].filters[0]).toMatchObject({
      type: 'RequestRedirect',
      requestRedirect: { scheme: 'https', statusCode: 301 },
    });

    await operator.stop();
    operator = await startOperator({ info, leaseName: 'application', config: { frontDoor: { mode: 'ingress' } } });
    const ingress = await waitFor('ingress', async () =>
      (await exists('Ingress', 'tenant-app', ns))
        ? admin.get<KubeObject & { spec: any }>(typeOf('Ingress'), 'tenant-app', ns)
        : undefined,
    );
    expect(ingress.spec.ingressClassName).toBe('azure-application-gateway');
    expect(ingress.metadata.annotations?.['appgw.ingress.kubernetes.io/ssl-redirect']).toBe('true');
    expect(ingress.metadata.annotations?.['appgw.ingress.kubernetes.io/waf-policy-for-path']).toMatch(/tenant-waf$/);
    expect(ingress.spec.rules[0].host).toBe('doors.saas.example.com');
    await waitFor('HTTPRoute pruned', async () => !(await exists('HTTPRoute', 'tenant-app', ns)));
    const t = await waitForReady(admin, 'doors');
    expect((t.status as { url?: string }).url).toBe('https://doors.saas.example.com/');
  });
});
