/**
 * Azure has no watch, so a tenant's Azure resources, once read and found converged, are trusted
 * for `azure.driftCheckIntervalSeconds` instead of being read again on every reconcile. This runs
 * the operator with the production default (30 minutes) and an injected clock, against the ARM
 * emulator through the real SDK clients:
 * - a Kubernetes-only change to a converged tenant reads none of its Azure resources;
 * - drift made in Azure is not seen while the verified check is fresh, and is repaired on the
 *   first reconcile after the interval;
 * - a change to what the tenant asks of Azure, or to its BackupPolicy, is acted on at once.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { type OperatorConfig, parseConfig } from '../../../src/config.ts';
import type { Operator } from '../../../src/operator.ts';
import { ManualClock } from '../../../src/runtime/clock.ts';
import type { KubeClient } from '../../../src/runtime/kube-client.ts';
import { createAzureClientsFromConfig } from '../../../src/tenant/azure-step.ts';
import {
  adminClient,
  armMark,
  armRequests,
  emulatorAzureConfig,
  sharedControlPlane,
  startOperator,
  type TenantOptions,
  tenant,
  typeOf,
  waitFor,
  waitForReady,
} from '../../harness/fixtures.ts';

const info = sharedControlPlane();
const NAME = 'drift-cache';
const clock = new ManualClock(new Date());
const azureConfig = { ...emulatorAzureConfig(info.arm), driftCheckIntervalSeconds: 1800 };
const clients = createAzureClientsFromConfig(parseConfig({ azure: azureConfig }).azure as NonNullable<OperatorConfig['azure']>);
let admin: KubeClient;
let operator: Operator;

interface TenantWithAzure {
  metadata: { generation: number };
  status?: { observedGeneration?: number; azure?: { resourceGroup?: string; sqlServerFqdn?: string } };
}

/** Changes spec.displayName (not part of the Azure state) and waits until it has been reconciled. */
const POLICY = 'drift-cache-policy';
const policy = (pointInTimeRetentionDays: number) => ({
  apiVersion: 'tenancy.dev/v1alpha1',
  kind: 'BackupPolicy',
  metadata: { name: POLICY },
  spec: { pointInTimeRetentionDays, backupStorageRedundancy: 'Zone', rpo: '2h', rto: '2h' },
});

/** This test's tenant, on its own BackupPolicy so that changing it touches no other test. */
function driftTenant(options: TenantOptions = {}) {
  const t = tenant(NAME, options);
  (t.spec as Record<string, unknown>).backupPolicyRef = { name: POLICY };
  return t;
}

async function touch(displayName: string, options: TenantOptions = {}): Promise<void> {
  const t = driftTenant(options);
  (t.spec as { displayName: string }).displayName = displayName;
  await admin.apply(typeOf('Tenant'), t, 'test');
  const generation = ((await admin.get<never>(typeOf('Tenant'), NAME)) as TenantWithAzure).metadata.generation;
  await waitFor(`generation ${generation} reconciled`, async () => {
    const current = (await admin.get<never>(typeOf('Tenant'), NAME)) as TenantWithAzure;
    return current.status?.observedGeneration === generation ? current : undefined;
  });
}

/** The tenant's ARM requests since `mark`, as "METHOD provider/type". */
async function tenantArmCalls(mark: number, resourceGroup: string): Promise<string[]> {
  return (await armRequests(info.arm, mark))
    .filter((r) => r.path.toLowerCase().includes(`/resourcegroups/${resourceGroup.toLowerCase()}`))
    .map((r) => `${r.method} ${r.path.split('/providers/')[1]?.split('/').slice(0, 2).join('/') ?? 'resourceGroup'}`);
}

let resourceGroup: string;
let serverName: string;

beforeAll(async () => {
  admin = adminClient(info.adminKubeconfig);
  operator = await startOperator({ info, leaseName: 'drift-cache', clock, config: { azure: azureConfig } });
  await admin.apply(typeOf('BackupPolicy'), policy(14), 'test');
  await admin.apply(typeOf('Tenant'), driftTenant(), 'test');
  const ready = (await waitForReady(admin, NAME)) as unknown as TenantWithAzure;
  resourceGroup = ready.status?.azure?.resourceGroup ?? '';
  serverName = ready.status?.azure?.sqlServerFqdn?.split('.')[0] ?? '';
  expect(resourceGroup).not.toBe('');
  expect(serverName).not.toBe('');
  // The pass that created everything wrote, so it is not trusted yet: this one verifies.
  await touch('first look');
});

afterAll(async () => {
  await admin.delete(typeOf('Tenant'), NAME).catch(() => {});
  await admin.delete(typeOf('BackupPolicy'), POLICY).catch(() => {});
  await operator?.stop();
});

describe('a verified Azure check is trusted for the drift-check interval', () => {
  test('a Kubernetes-only change reads no Key Vault, identity, SQL server or WAF resource', async () => {
    const checks = async () => (await operator.metrics.azureStateChecks.get()).values;
    const cachedBefore = (await checks()).find((v) => v.labels.source === 'cache')?.value ?? 0;
    const mark = await armMark(info.arm);
    await touch('second look');
    // What is left is one pass of the backup step, which checks the RPO every time: the database
    // and its restore points. Retention is trusted too, and the server's database list (drill
    // copies) was read by the first pass and is reused for minutes.
    const paths = (await armRequests(info.arm, mark))
      .filter((r) => r.path.toLowerCase().includes(`/resourcegroups/${resourceGroup.toLowerCase()}/`))
      .map((r) => `${r.method} ${r.path.split(`/servers/${serverName}/`)[1] ?? r.path}`.split('?')[0]);
    expect(paths.sort()).toEqual(['GET databases/sqldb-drift-cache-dev', 'GET databases/sqldb-drift-cache-dev/restorePoints']);
    expect((await checks()).find((v) => v.labels.source === 'cache')?.value ?? 0).toBeGreaterThan(cachedBefore);
  });

  test('the trust survives a restart: it is recorded in status, and a new process reads only the RPO check', async () => {
    const stored = (await admin.get<never>(typeOf('Tenant'), NAME)) as TenantWithAzure & {
      status?: { azure?: { verified?: { fingerprint?: string; at?: string } } };
    };
    expect(stored.status?.azure?.verified).toEqual({ fingerprint: expect.any(String), at: expect.any(String) });
    await operator.stop();
    operator = await startOperator({ info, leaseName: 'drift-cache-2', clock, config: { azure: azureConfig } });
    await waitFor('leadership', () => operator.isLeader);
    const mark = await armMark(info.arm);
    await touch('after a restart');
    // The new process reconciles the tenant at start and again for the change: what it reads, each
    // time, is only the backup step's RPO check, and once at most the server's database list.
    const paths = (await armRequests(info.arm, mark))
      .filter((r) => r.path.toLowerCase().includes(`/resourcegroups/${resourceGroup.toLowerCase()}/`))
      .map((r) => `${r.method} ${r.path.split(`/servers/${serverName}/`)[1] ?? r.path}`.split('?')[0]);
    expect([...new Set(paths.filter((p) => p !== 'GET databases'))].sort()).toEqual([
      'GET databases/sqldb-drift-cache-dev',
      'GET databases/sqldb-drift-cache-dev/restorePoints',
    ]);
    expect(paths.filter((p) => p === 'GET databases').length).toBeLessThanOrEqual(1);
  });

  test('drift made in Azure waits for the interval, then is repaired', async () => {
    // Someone opens the SQL server to the internet in the portal.
    await clients.sql.servers.beginUpdateAndWait(resourceGroup, serverName, { publicNetworkAccess: 'Enabled' });

    await touch('within the interval');
    expect((await clients.sql.servers.get(resourceGroup, serverName)).publicNetworkAccess).toBe('Enabled');

    clock.advance(1800 * 1000);
    await touch('after the interval');
    expect((await clients.sql.servers.get(resourceGroup, serverName)).publicNetworkAccess).toBe('Disabled');
    // Reported, not only repaired.
    const reports = await waitFor('Azure drift reported', async () => {
      const events = await admin.request<{ items: { type?: string; message?: string }[] }>(
        'GET',
        `/api/v1/namespaces/default/events?fieldSelector=involvedObject.kind=Tenant,involvedObject.name=${NAME},reason=DriftRepaired`,
      );
      return events.items.length > 0 ? events.items.map((e) => `${e.type}: ${e.message}`) : undefined;
    });
    expect(
      reports.some(
        (m) =>
          m.startsWith('Warning: Changed outside the operator, restored: Azure SQL server') && m.includes('publicNetworkAccess'),
      ),
    ).toBe(true);
  });

  test('a change to what the tenant asks of Azure is applied at once', async () => {
    const mark = await armMark(info.arm);
    await touch('new firewall', { allowedSourceRanges: ['203.0.113.0/24'] });
    const calls = await tenantArmCalls(mark, resourceGroup);
    // The WAF policy carries the allow-list: it was read and written again, within the interval.
    expect(calls).toContain('PUT Microsoft.Network/ApplicationGatewayWebApplicationFirewallPolicies');
  });

  test('a BackupPolicy change reaches the database at once', async () => {
    await admin.apply(typeOf('BackupPolicy'), policy(21), 'test');
    await waitFor('point-in-time retention 21 days in Azure', async () => {
      const retention = await clients.sql.backupShortTermRetentionPolicies.get(
        resourceGroup,
        serverName,
        'sqldb-drift-cache-dev',
        'default',
      );
      return retention.retentionDays === 21 ? retention : undefined;
    });
  });
});

describe('passes that change nothing in Kubernetes skip its steps (src/tenant/kubernetes-side.ts)', () => {
  test('a pass woken by the BackupPolicy reused both Kubernetes steps; a NetworkPolicy deleted by hand is restored all the same', async () => {
    const reused = async (step: string) =>
      (await operator.metrics.kubernetesStepsReused.get()).values.find((v) => v.labels.step === step)?.value ?? 0;
    // The BackupPolicy change above reconciled the tenant with its generation, labels, settings and
    // Kubernetes objects unchanged: neither step was built and compared again.
    expect(await reused('isolation')).toBeGreaterThan(0);
    expect(await reused('application')).toBeGreaterThan(0);
    const stored = (await admin.get<never>(typeOf('Tenant'), NAME)) as { status?: { namespace?: string } };
    const namespace = stored.status?.namespace ?? '';
    expect(namespace).not.toBe('');
    const before = await admin.get(typeOf('NetworkPolicy'), 'default-deny', namespace);
    await admin.delete(typeOf('NetworkPolicy'), 'default-deny', namespace);
    // The deletion arrives by watch: the record of the isolation step no longer holds, it runs in full.
    const restored = await waitFor('default-deny restored', async () => {
      const now = await admin.get(typeOf('NetworkPolicy'), 'default-deny', namespace).catch(() => undefined);
      return now !== undefined && now.metadata.uid !== before.metadata.uid ? now : undefined;
    });
    expect(restored.metadata.uid).not.toBe(before.metadata.uid);
  });
});
