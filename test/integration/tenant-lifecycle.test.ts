/**
 * A Tenant's namespace isolation against a real kube-apiserver, with the operator running as its
 * restricted user: create, update, drift correction, and deletion under both policies.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { Operator } from '../../src/operator.ts';
import { isNotFound, type KubeClient, type KubeObject } from '../../src/runtime/kube-client.ts';
import {
  addArmFault,
  adminClient,
  advanceArmClock,
  armDeletedVaults,
  armResources,
  clearArmFaults,
  condition,
  sharedControlPlane,
  startOperator,
  type TenantWithStatus,
  tenant,
  typeOf,
  waitFor,
  waitForReady,
  wakeTenantDatabases,
} from '../harness/fixtures.ts';

const NP = { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', plural: 'networkpolicies', namespaced: true };
const QUOTA = { apiVersion: 'v1', kind: 'ResourceQuota', plural: 'resourcequotas', namespaced: true };
const LIMITS = { apiVersion: 'v1', kind: 'LimitRange', plural: 'limitranges', namespaced: true };

let admin: KubeClient;
let operator: Operator;
const info = sharedControlPlane();
let before: Set<string>;

const tenantNames = async () =>
  (await admin.request<{ items: KubeObject[] }>('GET', '/apis/tenancy.dev/v1alpha1/tenants')).items.map((t) => t.metadata.name);

beforeAll(async () => {
  admin = adminClient(info.adminKubeconfig);
  // A freshly started API server may still be initializing the Tenant storage.
  before = new Set(await waitFor('tenants listable', () => tenantNames()));
  operator = await startOperator({ info, leaseName: 'lifecycle' });
  await waitFor('leadership', () => operator.isLeader);
});

afterAll(async () => {
  // Let go of this file's tenants while the operator still runs (Retain: quick), so nothing of
  // theirs (a restore drill started after the clock moved, say) is left for other files.
  if (admin && operator) {
    const mine = (await tenantNames()).filter((n) => !before.has(n));
    for (const name of mine) await admin.delete(typeOf('Tenant'), name).catch(() => {});
    // The clock moved days: their serverless databases paused, and only a login lets them be released.
    if (info.arm) await wakeTenantDatabases(info.arm, admin, mine).catch(() => {});
    await waitFor(
      'this file’s tenants released',
      async () => (await tenantNames()).every((n) => !mine.includes(n)),
      60_000,
    ).catch(() => {});
  }
  await operator?.stop();
});

async function getOrUndefined<T extends KubeObject>(type: Parameters<KubeClient['get']>[0], name: string, ns?: string) {
  try {
    return await admin.get<T>(type, name, ns);
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

describe('a new Tenant', () => {
  let ready: TenantWithStatus;
  beforeAll(async () => {
    await admin.apply(typeOf('Tenant'), tenant('acme', { tier: 'Medium', environment: 'Production', replicas: 2 }), 'test');
    ready = await waitForReady(admin, 'acme');
  });

  test('gets its own namespace, labelled and held to Pod Security "restricted"', async () => {
    expect(ready.status?.namespace).toBe('tenant-acme-prod');
    const ns = await admin.get(typeOf('Namespace'), 'tenant-acme-prod');
    expect(ns.metadata.labels).toMatchObject({
      'app.kubernetes.io/managed-by': 'tenant-operator',
      'tenancy.dev/tenant': 'acme',
      'tenancy.dev/environment': 'prod',
      'pod-security.kubernetes.io/enforce': 'restricted',
    });
    expect(ns.metadata).not.toHaveProperty('ownerReferences');
  });

  test('gets the quota and limits of its tier', async () => {
    const quota = await admin.get<KubeObject & { spec: { hard: Record<string, string> } }>(
      QUOTA,
      'tenant-quota',
      'tenant-acme-prod',
    );
    expect(quota.spec.hard).toMatchObject({
      'limits.cpu': '16',
      'limits.memory': '32Gi',
      pods: '50',
      'services.loadbalancers': '0',
    });
    const limits = await admin.get<KubeObject & { spec: { limits: { default: Record<string, string> }[] } }>(
      LIMITS,
      'tenant-limits',
      'tenant-acme-prod',
    );
    expect(limits.spec.limits[0]?.default).toEqual({ cpu: '1', memory: '1Gi' });
  });

  test('is isolated by a default-deny policy plus explicit allows', async () => {
    const list = await admin.request<{ items: KubeObject[] }>(
      'GET',
      '/apis/networking.k8s.io/v1/namespaces/tenant-acme-prod/networkpolicies',
    );
    expect(list.items.map((p) => p.metadata.name).sort()).toEqual([
      'allow-azure-egress',
      'allow-dns',
      'allow-from-front-door',
      'allow-same-namespace',
      'default-deny',
    ]);
    const deny = list.items.find((p) => p.metadata.name === 'default-deny') as KubeObject & { spec: unknown };
    expect(deny.spec).toEqual({ podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
  });

  test('may reach exactly its own private endpoints: SQL on 1433, Key Vault on 443, nothing wider', async () => {
    const endpoints = (ready.status as Record<string, any>).azure.privateEndpoints;
    const egress = await admin.get<KubeObject & { spec: any }>(NP, 'allow-azure-egress', 'tenant-acme-prod');
    expect(egress.spec).toEqual({
      podSelector: {},
      policyTypes: ['Egress'],
      egress: [
        { to: [{ ipBlock: { cidr: `${endpoints.sql.ip}/32` } }], ports: [{ protocol: 'TCP', port: 1433 }] },
        { to: [{ ipBlock: { cidr: `${endpoints.keyVault.ip}/32` } }], ports: [{ protocol: 'TCP', port: 443 }] },
      ],
    });
  });

  test('reports every component and Ready for its generation', () => {
    for (const type of [
      'DataResidency',
      'NamespaceReady',
      'NetworkIsolated',
      'IdentityReady',
      'KeyVaultReady',
      'DatabaseReady',
      'WafEnforced',
      'AzureResourcesReady',
      'ApplicationAvailable',
      'IngressReady',
      'Ready',
    ]) {
      expect(condition(ready, type)).toMatchObject({ status: 'True', observedGeneration: ready.metadata.generation });
    }
    expect(ready.metadata.finalizers).toContain('tenancy.dev/cleanup');
  });

  test('shows where its Azure resources are and its URL, and no secret', () => {
    const status = ready.status as Record<string, any>;
    expect(status.url).toBe('https://acme.saas.example.com/');
    expect(status.azure.sqlServerFqdn).toMatch(/\.database\.windows\.net$/);
    expect(status.azure.keyVaultUri).toMatch(/^https:\/\/kv-.*\.vault\.azure\.net\/$/);
    expect(status.azure.identityClientId).toMatch(/^[0-9a-f-]{36}$/);
    expect(status.azure.databaseName).toBeTruthy();
    // Its private endpoints, in the emulator's westeurope subnet (10.100.0.0/16).
    expect(status.azure.privateEndpoints).toEqual({
      sql: {
        ip: expect.stringMatching(/^10\.100\.\d+\.\d+$/),
        fqdn: expect.stringMatching(/\.privatelink\.database\.windows\.net$/),
      },
      keyVault: {
        ip: expect.stringMatching(/^10\.100\.\d+\.\d+$/),
        fqdn: expect.stringMatching(/\.privatelink\.vaultcore\.azure\.net$/),
      },
    });
    expect(JSON.stringify(status)).not.toMatch(/password|secret|token/i);
  });

  test('runs its own application: 2+ replicas in Production, restricted, with workload identity', async () => {
    const d = await admin.get<KubeObject & { spec: any }>(typeOf('Deployment'), 'tenant-app', 'tenant-acme-prod');
    expect(d.spec.replicas).toBe(2);
    const pod = d.spec.template;
    expect(pod.metadata.labels['azure.workload.identity/use']).toBe('true');
    expect(pod.spec.serviceAccountName).toBe('tenant-app');
    expect(pod.spec.containers[0].image).toBe('registry.example.com/saas/app:1.0.0');
    expect(pod.spec.containers[0].securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
    const sa = await admin.get(typeOf('ServiceAccount'), 'tenant-app', 'tenant-acme-prod');
    expect(sa.metadata.annotations?.['azure.workload.identity/client-id']).toBe((ready.status as any).azure.identityClientId);
    const pdb = await admin.get<KubeObject & { spec: any }>(typeOf('PodDisruptionBudget'), 'tenant-app', 'tenant-acme-prod');
    expect(pdb.spec.maxUnavailable).toBe(1);
  });

  test('is reached through an HTTPS-only route behind its WAF policy', async () => {
    const route = await admin.get<KubeObject & { spec: any }>(typeOf('HTTPRoute'), 'tenant-app', 'tenant-acme-prod');
    expect(route.spec.hostnames).toEqual(['acme.saas.example.com']);
    const waf = await admin.get<KubeObject & { spec: any }>(
      typeOf('WebApplicationFirewallPolicy'),
      'tenant-waf',
      'tenant-acme-prod',
    );
    expect(waf.spec.webApplicationFirewall.id).toMatch(
      /\/providers\/Microsoft\.Network\/ApplicationGatewayWebApplicationFirewallPolicies\/tenant-waf$/i,
    );
    expect(waf.spec.targetRef).toMatchObject({ kind: 'HTTPRoute', name: 'tenant-app' });
  });
});

describe('drift', () => {
  beforeAll(async () => {
    await admin.apply(typeOf('Tenant'), tenant('drift'), 'test');
    await waitForReady(admin, 'drift');
  });

  /** The tenant's DriftRepaired Warning events (cluster-scoped objects' events live in `default`). */
  const driftReports = async () =>
    (
      await admin.request<{ items: { reason?: string; type?: string; message?: string }[] }>(
        'GET',
        '/api/v1/namespaces/default/events?fieldSelector=involvedObject.kind=Tenant,involvedObject.name=drift,reason=DriftRepaired',
      )
    ).items.map((e) => `${e.type}: ${e.message}`);
  const driftCount = async (kind: string) =>
    (await operator.metrics.driftRepaired.get()).values.find((v) => v.labels.kind === kind && v.labels.source === 'kubernetes')
      ?.value ?? 0;

  test('a deleted NetworkPolicy is restored', async () => {
    const before = await admin.get(NP, 'default-deny', 'tenant-drift-dev');
    await admin.delete(NP, 'default-deny', 'tenant-drift-dev');
    const restored = await waitFor('default-deny restored', async () => {
      const np = await getOrUndefined(NP, 'default-deny', 'tenant-drift-dev');
      return np && np.metadata.uid !== before.metadata.uid ? np : undefined;
    });
    expect(restored.spec).toEqual({ podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
    // Repaired and reported: production is not edited by hand silently.
    const reports = await waitFor('drift reported', async () => {
      const r = await driftReports();
      return r.some((m) => m.includes('default-deny')) ? r : undefined;
    });
    expect(reports.find((m) => m.includes('default-deny'))).toBe(
      'Warning: Changed outside the operator, restored: NetworkPolicy tenant-drift-dev/default-deny: deleted by hand',
    );
  });

  test('a hand-edited quota is put back, and the edit is reported with its fields and counted', async () => {
    const before = await driftCount('ResourceQuota');
    await admin.request('PATCH', '/api/v1/namespaces/tenant-drift-dev/resourcequotas/tenant-quota', {
      body: { spec: { hard: { pods: '999' } } },
      contentType: 'application/merge-patch+json',
    });
    const fixed = await waitFor('quota restored', async () => {
      const q = await admin.get<KubeObject & { spec: { hard: Record<string, string> } }>(
        QUOTA,
        'tenant-quota',
        'tenant-drift-dev',
      );
      return q.spec.hard.pods === '20' ? q : undefined;
    });
    expect(fixed.spec.hard.pods).toBe('20');
    const reports = await waitFor('quota drift reported', async () => {
      const r = await driftReports();
      return r.some((m) => m.includes('tenant-quota')) ? r : undefined;
    });
    expect(reports.find((m) => m.includes('tenant-quota'))).toBe(
      'Warning: Changed outside the operator, restored: ResourceQuota tenant-drift-dev/tenant-quota: spec.hard changed by hand',
    );
    expect(await driftCount('ResourceQuota')).toBe(before + 1);
  });

  test('a removed isolation label on the namespace is put back', async () => {
    await admin.request('PATCH', '/api/v1/namespaces/tenant-drift-dev', {
      body: { metadata: { labels: { 'pod-security.kubernetes.io/enforce': 'privileged' } } },
      contentType: 'application/merge-patch+json',
    });
    const ns = await waitFor('namespace label restored', async () => {
      const n = await admin.get(typeOf('Namespace'), 'tenant-drift-dev');
      return n.metadata.labels?.['pod-security.kubernetes.io/enforce'] === 'restricted' ? n : undefined;
    });
    expect(ns.metadata.labels?.['pod-security.kubernetes.io/enforce']).toBe('restricted');
  });
});

describe('an update', () => {
  test('a tier change is disruptive: it waits for a maintenance window, and apply-now applies it at once', async () => {
    await admin.apply(typeOf('Tenant'), tenant('grow', { tier: 'Small' }), 'test');
    const first = await waitForReady(admin, 'grow');
    await admin.apply(typeOf('Tenant'), tenant('grow', { tier: 'Large' }), 'test');
    const held = await waitFor('generation observed', async () => {
      const t = await admin.get<TenantWithStatus>(typeOf('Tenant'), 'grow');
      return t.status?.observedGeneration === t.metadata.generation && t.metadata.generation !== first.metadata.generation
        ? t
        : undefined;
    });
    // This control plane has no "default" MaintenanceWindow: the change is held, and the tenant stays Ready.
    expect(condition(held, 'UpdatePending')).toMatchObject({ status: 'True', reason: 'MaintenanceWindowNotFound' });
    expect(condition(held, 'Ready')?.status).toBe('True');
    const quotaBefore = await admin.get<KubeObject & { spec: { hard: Record<string, string> } }>(
      QUOTA,
      'tenant-quota',
      'tenant-grow-dev',
    );
    expect(quotaBefore.spec.hard['limits.cpu']).toBe('4');

    const urgent = tenant('grow', { tier: 'Large' });
    urgent.metadata.annotations = { 'tenancy.dev/apply-now': 'customer escalation #812' };
    await admin.apply(typeOf('Tenant'), urgent, 'test');
    const quota = await waitFor('quota resized', async () => {
      const q = await admin.get<KubeObject & { spec: { hard: Record<string, string> } }>(
        QUOTA,
        'tenant-quota',
        'tenant-grow-dev',
      );
      return q.spec.hard['limits.cpu'] === '64' ? q : undefined;
    });
    expect(quota.spec.hard['limits.memory']).toBe('128Gi');
    const ns = await admin.get(typeOf('Namespace'), 'tenant-grow-dev');
    expect(ns.metadata.labels?.['tenancy.dev/tier']).toBe('large');
  });
});

describe('the WAF policy in Azure', () => {
  async function wafRules(): Promise<any[]> {
    const { request } = await import('node:https');
    const { readFileSync } = await import('node:fs');
    const text = await new Promise<string>((resolve, reject) => {
      const req = request(
        `${info.arm.endpoint}/_emulator/resources?type=Microsoft.Network/ApplicationGatewayWebApplicationFirewallPolicies`,
        { ca: readFileSync(info.arm.caFile) },
        (res) => {
          let t = '';
          res.on('data', (c: Buffer) => {
            t += c.toString();
          });
          res.on('end', () => resolve(t));
        },
      );
      req.on('error', reject);
      req.end();
    });
    const policies = (JSON.parse(text) as { value: any[] }).value;
    // The 'geo' tenant's own policy, by its resource group: other files' tenants (geo-replication's)
    // share the emulator, and their policies mention 'geo' too.
    const mine = policies.find((p) =>
      String(p.id ?? p.body?.id ?? '')
        .toLowerCase()
        .includes('/resourcegroups/rg-geo-dev/'),
    );
    return mine?.body?.properties?.customRules ?? mine?.properties?.customRules ?? [];
  }

  test('allowed countries reach the policy, and removing the restriction removes the rule', async () => {
    await admin.apply(typeOf('Tenant'), tenant('geo', { allowedCountries: ['NL', 'BE'] }), 'test');
    await waitForReady(admin, 'geo');
    const rules = await waitFor('geo rule', async () => {
      const r = await wafRules();
      return r.some((x) => x.name === 'BlockOutsideAllowedCountries') ? r : undefined;
    });
    const geo = rules.find((x) => x.name === 'BlockOutsideAllowedCountries');
    expect(geo.matchConditions[0]).toMatchObject({ operator: 'GeoMatch', negationConditon: true, matchValues: ['NL', 'BE'] });
    await admin.apply(typeOf('Tenant'), tenant('geo'), 'test');
    await waitFor('geo rule removed', async () => (await wafRules()).every((x) => x.name !== 'BlockOutsideAllowedCountries'));
  });
});

describe('deletion', () => {
  const tagged = (r: Record<string, any>, tenantName: string) => r.tags?.['tenancy.dev-tenant'] === tenantName;

  test('deletionPolicy Retain keeps the namespace and every Azure resource, marked orphaned, and the Tenant goes away', async () => {
    await admin.apply(typeOf('Tenant'), tenant('keeper', { deletionPolicy: 'Retain' }), 'test');
    await waitForReady(admin, 'keeper');
    await admin.delete(typeOf('Tenant'), 'keeper');
    await waitFor('tenant gone', async () => (await getOrUndefined(typeOf('Tenant'), 'keeper')) === undefined);
    const ns = await admin.get(typeOf('Namespace'), 'tenant-keeper-dev');
    expect(ns.metadata.deletionTimestamp).toBeUndefined();
    expect(ns.metadata.labels?.['tenancy.dev/orphaned']).toBe('true');
    const deny = await admin.get(NP, 'default-deny', 'tenant-keeper-dev');
    expect(deny.metadata.name).toBe('default-deny');
    const mine = (await armResources(info.arm)).filter((r) => tagged(r, 'keeper'));
    const types = new Set(mine.map((r) => String(r.type)));
    for (const type of [
      'Microsoft.Resources/resourceGroups',
      'Microsoft.KeyVault/vaults',
      'Microsoft.Sql/servers',
      'Microsoft.Sql/servers/databases',
    ]) {
      expect(types).toContain(type);
    }
    for (const r of mine.filter((x) =>
      ['Microsoft.Resources/resourceGroups', 'Microsoft.Sql/servers/databases'].includes(String(x.type)),
    )) {
      expect(r.tags['tenancy.dev-orphaned']).toBeDefined();
    }
  });

  test('a re-created Tenant adopts its orphaned namespace and Azure resources again', async () => {
    await admin.apply(typeOf('Tenant'), tenant('keeper', { deletionPolicy: 'Retain' }), 'test');
    await waitForReady(admin, 'keeper');
    const ns = await waitFor('orphan label removed', async () => {
      const n = await admin.get(typeOf('Namespace'), 'tenant-keeper-dev');
      return n.metadata.labels?.['tenancy.dev/orphaned'] === undefined ? n : undefined;
    });
    expect(ns.metadata.labels?.['tenancy.dev/tenant']).toBe('keeper');
    const rg = (await armResources(info.arm, 'Microsoft.Resources/resourceGroups')).find((r) => tagged(r, 'keeper'));
    expect(rg?.tags['tenancy.dev-orphaned']).toBeUndefined();
  });

  test('deletionPolicy Delete waits for a real final backup, shows a stuck delete, keeps the vault for the backups, removes the rest', async () => {
    await admin.apply(typeOf('Tenant'), tenant('goner', { deletionPolicy: 'Delete' }), 'test');
    await waitForReady(admin, 'goner');
    const vault = (await armResources(info.arm, 'Microsoft.KeyVault/vaults')).find((r) => tagged(r, 'goner'));
    expect(vault).toBeDefined();
    await admin.delete(typeOf('Tenant'), 'goner');

    // No long-term backup taken since the request yet: nothing is deleted, and the Tenant says why.
    const waiting = await waitFor('waiting for the final backup', async () => {
      const t = await getOrUndefined<TenantWithStatus>(typeOf('Tenant'), 'goner');
      return condition(t, 'Finalized')?.reason === 'DeletingAzureResources' ? t : undefined;
    });
    expect(condition(waiting, 'Finalized')?.message).toContain('long-term backup taken after the deletion was requested');
    expect(condition(waiting, 'Ready')).toMatchObject({ status: 'False', reason: 'DeletingAzureResources' });
    expect((await armResources(info.arm, 'Microsoft.Sql/servers/databases')).filter((r) => tagged(r, 'goner'))).toHaveLength(1);

    // A week later the weekly full backup has been copied; Azure now refuses the deletes for a while.
    await addArmFault(info.arm, {
      name: 'delete-fails',
      match: { method: 'DELETE', path: 'goner' },
      action: { kind: 'error', status: 500, code: 'InternalServerError', message: 'injected' },
    });
    await advanceArmClock(info.arm, 7 * 86_400_000 + 60_000);
    const stuck = await waitFor('a stuck delete is visible', async () => {
      const t = await getOrUndefined<TenantWithStatus>(typeOf('Tenant'), 'goner');
      return condition(t, 'Finalized')?.reason === 'AzureUnavailable' ? t : undefined;
    });
    expect(stuck.metadata.finalizers).toContain('tenancy.dev/cleanup');
    expect((await getOrUndefined(typeOf('Namespace'), 'tenant-goner-dev'))?.metadata.deletionTimestamp).toBeUndefined();
    // The Warning Event follows the status write (events are best effort, not awaited).
    const warning = await waitFor('an AzureDeleteFailed Warning Event', async () => {
      const events = await admin.request<{
        items: { reason: string; type: string; message: string; involvedObject: { name: string } }[];
      }>('GET', '/api/v1/namespaces/default/events');
      return events.items.find((e) => e.involvedObject.name === 'goner' && e.reason === 'AzureDeleteFailed');
    });
    expect(warning).toMatchObject({ type: 'Warning', message: expect.stringContaining('InternalServerError') });

    await clearArmFaults(info.arm);
    await waitFor('tenant gone', async () => (await getOrUndefined(typeOf('Tenant'), 'goner')) === undefined, 60_000);
    const left = (await armResources(info.arm)).filter((r) => tagged(r, 'goner'));
    // The key encrypts the retained backups: its vault (and the group holding it) stays, marked.
    expect(left.map((r) => r.type).sort()).toEqual(['Microsoft.KeyVault/vaults', 'Microsoft.Resources/resourceGroups']);
    const kept = left.find((r) => r.type === 'Microsoft.KeyVault/vaults');
    expect(kept?.tags).toMatchObject({
      'tenancy.dev-orphaned': 'true',
      'tenancy.dev-keep-until': expect.stringMatching(/^\d{4}-/),
    });
    expect(
      (await armResources(info.arm, 'Microsoft.KeyVault/vaults/keys')).some((k) => String(k.id).startsWith(String(kept?.id))),
    ).toBe(true);
    expect(JSON.stringify(await armDeletedVaults(info.arm))).not.toContain(String(vault?.name));
    // Without a kube-controller-manager the namespace stays Terminating: being deleted is what we assert.
    const ns = await getOrUndefined(typeOf('Namespace'), 'tenant-goner-dev');
    expect(ns === undefined || ns.metadata.deletionTimestamp !== undefined).toBe(true);
  });
});

describe('data residency', () => {
  test('a region outside the tenant’s zone is refused with a reason and nothing is provisioned', async () => {
    const bad = tenant('offshore', { region: 'eastus2' });
    (bad.spec as Record<string, unknown>).dataResidency = 'EU';
    await admin.apply(typeOf('Tenant'), bad, 'test');
    const refused = await waitFor('RegionNotAllowed', async () => {
      const t = await admin.get<TenantWithStatus>(typeOf('Tenant'), 'offshore');
      return condition(t, 'Ready')?.reason === 'RegionNotAllowed' ? t : undefined;
    });
    expect(condition(refused, 'Ready')?.status).toBe('False');
    expect(condition(refused, 'DataResidency')?.message).toContain('region "eastus2" is outside data-residency zone EU');
    expect(await getOrUndefined(typeOf('Namespace'), 'tenant-offshore-dev')).toBeUndefined();

    // A refused Tenant can always be deleted: its Azure side is found by name, not recomputed.
    await admin.delete(typeOf('Tenant'), 'offshore');
    await waitFor('refused tenant gone', async () => (await getOrUndefined(typeOf('Tenant'), 'offshore')) === undefined, 30_000);
  });

  test('a Tenant whose BackupPolicy is missing gets no database, says why, and everything else', async () => {
    const t = tenant('unpoliced');
    (t.spec as Record<string, unknown>).backupPolicyRef = { name: 'no-such-policy' };
    await admin.apply(typeOf('Tenant'), t, 'test');
    const held = await waitFor('DatabaseReady BackupPolicyNotFound', async () => {
      const got = await admin.get<TenantWithStatus>(typeOf('Tenant'), 'unpoliced');
      // Everything but the database gets provisioned; the database waits for a policy.
      const others = ['NetworkIsolated', 'IdentityReady', 'KeyVaultReady', 'WafEnforced'];
      return condition(got, 'DatabaseReady')?.reason === 'BackupPolicyNotFound' &&
        others.every((type) => condition(got, type)?.status === 'True')
        ? got
        : undefined;
    });
    expect(condition(held, 'Ready')).toMatchObject({ status: 'False', reason: 'BackupPolicyNotFound' });
    const databases = (await armResources(info.arm, 'Microsoft.Sql/servers/databases')).filter(
      (r) => r.tags?.['tenancy.dev-tenant'] === 'unpoliced',
    );
    expect(databases).toEqual([]);
    await admin.delete(typeOf('Tenant'), 'unpoliced');
    await waitFor('tenant gone', async () => (await getOrUndefined(typeOf('Tenant'), 'unpoliced')) === undefined, 30_000);
  });
});
