/**
 * The blast-radius admission policy of config/admission stays in step with what it guards: every
 * kind the ClusterRole lets the operator write is matched (a kind added to RBAC without the policy
 * would be a hole), and the names it hard-codes are the ones the builders use.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from '@jest/globals';
import { parseAllDocuments } from 'yaml';
import { parseConfig } from '../../../src/config.ts';
import { MANAGED_BY, MANAGED_BY_LABEL } from '../../../src/tenant/labels.ts';
import { APP_SERVICE_ACCOUNT } from '../../../src/tenant/workload.ts';
import { REPO_ROOT } from '../../harness/control-plane.ts';
import { configRbacRules } from './tools.ts';

interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs?: string[];
  operations?: string[];
}

const policyText = readFileSync(join(REPO_ROOT, 'config', 'admission', 'blast-radius-policy.yaml'), 'utf8');
const policy = parseAllDocuments(policyText)[0]?.toJS() as {
  spec: { matchConstraints: { resourceRules: Rule[] }; matchConditions: { expression: string }[]; failurePolicy: string };
};
const matched = new Set(
  policy.spec.matchConstraints.resourceRules.flatMap((r) => r.apiGroups.flatMap((g) => r.resources.map((res) => `${g}/${res}`))),
);

/** Kinds the operator writes that are outside the policy on purpose, and why. */
const NOT_CONFINED: Record<string, string> = {
  'tenancy.dev/tenants': 'its own custom resources: only status and its finalizer are written',
  'tenancy.dev/backuppolicies': 'its own custom resources: status only',
  'tenancy.dev/maintenancewindows': 'its own custom resources: status only',
  'tenancy.dev/tenants/status': 'status subresource',
  'tenancy.dev/backuppolicies/status': 'status subresource',
  'tenancy.dev/maintenancewindows/status': 'status subresource',
  'tenancy.dev/accessrequests': 'its own custom resources: only status and its finalizer are written',
  'tenancy.dev/accessrequests/status': 'status subresource',
  '/events': 'Events go to tenant namespaces and `default` (for cluster-scoped objects); they grant nothing',
  'coordination.k8s.io/leases': 'its leader Lease, in its own namespace (a Role, not the ClusterRole)',
};

describe('config/admission blast-radius policy', () => {
  test('matches every resource the ClusterRole lets the operator create, patch or delete', () => {
    const writable = (configRbacRules('ClusterRole') as Rule[])
      .filter((r) => r.verbs?.some((v) => ['create', 'patch', 'update', 'delete'].includes(v)))
      .flatMap((r) => r.apiGroups.flatMap((g) => r.resources.map((res) => `${g}/${res}`)));
    const uncovered = writable.filter((k) => !matched.has(k) && !(k in NOT_CONFINED));
    expect(uncovered).toEqual([]);
  });

  test('fails closed, on CREATE, UPDATE and DELETE', () => {
    expect(policy.spec.failurePolicy).toBe('Fail');
    for (const r of policy.spec.matchConstraints.resourceRules) expect(r.operations).toEqual(['CREATE', 'UPDATE', 'DELETE']);
  });

  test('names the ServiceAccount and the ownership label the builders use', () => {
    expect(policyText).toContain(`'${APP_SERVICE_ACCOUNT}'`);
    expect(policyText).toContain(`'${MANAGED_BY_LABEL}'`);
    expect(policyText).toContain(`== '${MANAGED_BY}'`);
    expect(policy.spec.matchConditions.map((c) => c.expression)).toEqual([
      "request.userInfo.username == 'system:serviceaccount:tenant-operator-system:tenant-operator'",
    ]);
  });
});

describe('config/access', () => {
  const access = join(REPO_ROOT, 'config', 'access');
  const docs = (file: string) =>
    parseAllDocuments(readFileSync(join(access, file), 'utf8')).map((d) => d.toJS() as Record<string, any>);
  const defaults = parseConfig({}).access;

  test('the admission policy’s parameters are the operator configuration’s defaults', () => {
    expect(docs('policy-params.yaml')[0]?.data).toEqual({
      approversGroup: defaults.approversGroup,
      maxDuration: defaults.maxDuration,
      roles: Object.keys(defaults.roles).sort().join(' '),
    });
    expect(docs('policy.yaml')[0]?.metadata.name).toBe(defaults.admissionPolicyName);
    expect(docs('policy-binding.yaml')[0]).toMatchObject({
      metadata: { name: defaults.admissionPolicyName },
      spec: { policyName: defaults.admissionPolicyName, paramRef: { parameterNotFoundAction: 'Deny' } },
    });
    expect(docs('policy.yaml')[0]?.spec.failurePolicy).toBe('Fail');
  });

  test('the operator may bind exactly the ClusterRoles the default namespace roles name, and they exist here', () => {
    const clusterRoles = Object.values(defaults.roles)
      .flatMap((r) => (r.kind === 'Namespace' ? [r.clusterRole] : []))
      .sort();
    const bind = (configRbacRules('ClusterRole') as (Rule & { resourceNames?: string[] })[]).find((r) =>
      r.verbs?.includes('bind'),
    );
    expect([...(bind?.resourceNames ?? [])].sort()).toEqual(clusterRoles);
    const shipped = docs('roles.yaml').map((o) => o.metadata.name);
    for (const name of clusterRoles) expect(shipped).toContain(name);
  });

  test('no role a grant binds reads Secrets', () => {
    for (const role of docs('roles.yaml'))
      for (const rule of role.rules as Rule[])
        expect([role.metadata.name, rule.resources.includes('secrets')]).toEqual([role.metadata.name, false]);
  });
});
