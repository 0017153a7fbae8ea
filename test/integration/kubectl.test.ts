/**
 * What a kubectl user sees, with the real kubectl against the real API server: printer columns
 * of `get tenants` (and `-o wide`), the `tenancy` category, events in `describe`, and field
 * documentation in `explain`.
 */
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { Operator } from '../../src/operator.ts';
import type { KubeClient } from '../../src/runtime/kube-client.ts';
import { adminClient, sharedControlPlane, startOperator, tenant, typeOf, waitFor } from '../harness/fixtures.ts';

const info = sharedControlPlane();
let admin: KubeClient;
let operator: Operator;
const kubectl = (...args: string[]) =>
  execFileSync('kubectl', ['--kubeconfig', info.adminKubeconfig, ...args], { encoding: 'utf8' });

beforeAll(async () => {
  admin = adminClient(info.adminKubeconfig);
  operator = await startOperator({ info, leaseName: 'kubectl' });
  await admin.apply(
    typeOf('Tenant'),
    tenant('kubectl-view', { tier: 'Medium', environment: 'QA', region: 'northeurope' }),
    'test',
  );
  await waitFor('status written', async () => {
    const t = await admin.get(typeOf('Tenant'), 'kubectl-view');
    return (t.status as { namespace?: string } | undefined)?.namespace;
  });
});

afterAll(async () => {
  await operator?.stop();
});

describe('kubectl', () => {
  test('get tenants shows tier, environment, region, readiness and reason', () => {
    const out = kubectl('get', 'tenants', 'kubectl-view');
    const [header, row] = out.trim().split('\n');
    expect(header?.split(/\s+/)).toEqual(['NAME', 'TIER', 'ENVIRONMENT', 'REGION', 'READY', 'REASON', 'AGE']);
    expect(row).toMatch(/^kubectl-view\s+Medium\s+QA\s+northeurope\s+(True|False|Unknown)\s+\w+\s+\d+s$/);
  });

  test('get tenants -o wide adds pending changes, window, namespace and URL', () => {
    const header = kubectl('get', 'tenants', 'kubectl-view', '-o', 'wide').split('\n')[0];
    expect(header?.split(/\s+/)).toEqual([
      'NAME',
      'TIER',
      'ENVIRONMENT',
      'REGION',
      'READY',
      'REASON',
      'PENDING',
      'UNTIL',
      'NAMESPACE',
      'URL',
      'AGE',
    ]);
    expect(kubectl('get', 'tenants', 'kubectl-view', '-o', 'wide')).toContain('tenant-kubectl-view-qa');
  });

  test('the short name and the tenancy category list the operator’s kinds', () => {
    expect(kubectl('get', 'tn', 'kubectl-view', '-o', 'name').trim()).toBe('tenant.tenancy.dev/kubectl-view');
    const all = kubectl('get', 'tenancy', '-o', 'name');
    expect(all).toContain('tenant.tenancy.dev/kubectl-view');
  });

  test('describe shows the operator’s events on the tenant: one when it is first Ready, then one per change', async () => {
    const provisioned = await waitFor(
      'Provisioned event in describe',
      () => {
        const text = kubectl('describe', 'tenant', 'kubectl-view');
        return /Normal\s+Provisioned\s/.test(text) ? text : undefined;
      },
      60_000,
    );
    expect(provisioned).toMatch(/Normal\s+Provisioned\s+.*tenant-operator\s+Ready \d+ s after creation/);
    // The first provisioning's many writes are in the audit trail, not one Event per pass.
    expect(provisioned).not.toMatch(/Normal\s+(Applied|AzureApplied)\s/);

    // A later change is announced as it happens, saying what was written.
    const renamed = tenant('kubectl-view', { tier: 'Medium', environment: 'QA', region: 'northeurope' });
    (renamed.spec as { displayName: string }).displayName = 'Kubectl View Ltd';
    await admin.apply(typeOf('Tenant'), renamed, 'test');
    const changed = await waitFor('Applied event in describe', () => {
      const text = kubectl('describe', 'tenant', 'kubectl-view');
      return /Normal\s+Applied\s/.test(text) ? text : undefined;
    });
    expect(changed).toMatch(/Normal\s+Applied\s+.*tenant-operator\s+Applied Namespace tenant-kubectl-view-qa/);
  });

  test('explain documents the spec', () => {
    const out = kubectl('explain', 'tenant.spec.deletionPolicy');
    expect(out).toContain('What deleting the Tenant does to its namespace and Azure resources');
    expect(kubectl('explain', 'maintenancewindow.spec.timeZone')).toContain('IANA time zone');
  });
});
