import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from '@jest/globals';
import { ConfigError, loadConfig, parseConfig } from '../../src/config.ts';

describe('parseConfig', () => {
  test('an empty configuration gets the documented defaults', () => {
    const c = parseConfig({});
    expect(c).toMatchObject({
      namespacePrefix: 'tenant-',
      resyncPeriodSeconds: 600,
      concurrency: 4,
      ingressNamespace: 'azure-alb-system',
    });
    expect(c.leaderElection).toMatchObject({ leaseDurationSeconds: 15, renewDeadlineSeconds: 10, retryPeriodSeconds: 2 });
    expect(c.tiers.Large.quota.cpu).toBe('64');
  });

  test.each([
    ['a negative concurrency', { concurrency: -1 }, 'concurrency'],
    ['a resync period of 1 second', { resyncPeriodSeconds: 1 }, 'resyncPeriodSeconds'],
    ['a CIDR that is not one', { azureEgressCidrs: { sql: ['10.0.0.0'] } }, 'azureEgressCidrs.sql.0: must be a CIDR'],
    ['an unknown field', { concurency: 3 }, 'Unrecognized key: "concurency"'],
    [
      'a renew deadline longer than the lease',
      { leaderElection: { leaseDurationSeconds: 5, renewDeadlineSeconds: 10 } },
      'renewDeadlineSeconds must be shorter',
    ],
    ['a namespace prefix with capitals', { namespacePrefix: 'Tenant-' }, 'namespacePrefix'],
  ])('names the bad field: %s', (_name, raw, expected) => {
    expect(() => parseConfig(raw)).toThrow(ConfigError);
    expect(() => parseConfig(raw)).toThrow(expected);
  });
});

describe('loadConfig', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cfg-'));

  test('reads a YAML file and lets environment variables override single fields', () => {
    const file = join(dir, 'config.yaml');
    writeFileSync(file, 'concurrency: 8\ningressNamespace: alb\n');
    const c = loadConfig({ file, env: { TENANT_OPERATOR_CONCURRENCY: '2', TENANT_OPERATOR_LEADER_ELECTION: 'false' } });
    expect(c.concurrency).toBe(2);
    expect(c.ingressNamespace).toBe('alb');
    expect(c.leaderElection.enabled).toBe(false);
  });

  test('a missing file is a clear error', () => {
    expect(() => loadConfig({ file: join(dir, 'nope.yaml'), env: {} })).toThrow(/cannot read configuration file .*nope.yaml/);
  });
});

describe('access', () => {
  test('defaults: three roles, 8h at most, 24h to approve, the shipped admission policy and groups', () => {
    expect(parseConfig({}).access).toEqual({
      approversGroup: 'tenant-access-approvers',
      requestersGroup: 'tenant-access-requesters',
      maxDuration: '8h',
      pendingTimeout: '24h',
      admissionPolicyName: 'tenant-access-requests',
      roles: {
        'namespace-view': { kind: 'Namespace', clusterRole: 'tenant-access-view' },
        'namespace-debug': { kind: 'Namespace', clusterRole: 'tenant-access-debug' },
        'database-read': { kind: 'Database', azureRoleDefinitionId: 'acdd72a7-3385-48ef-bd42-f606fba81ae7' },
      },
    });
  });

  test.each([
    ['a maximum that is not a Go duration', { maxDuration: '8 hours' }, 'access.maxDuration: a Go duration such as 8h or 90m'],
    ['a zero maximum', { maxDuration: '0h' }, 'access.maxDuration: must be longer than zero'],
    ['a role of an unknown kind', { roles: { x: { kind: 'Cluster', clusterRole: 'admin' } } }, 'access.roles.x.kind'],
    [
      'an Azure role that is not a GUID',
      { roles: { x: { kind: 'Database', azureRoleDefinitionId: 'Reader' } } },
      'must be a role definition GUID',
    ],
    [
      'a role name that is not a DNS label',
      { roles: { Admin: { kind: 'Namespace', clusterRole: 'admin' } } },
      'access.roles.Admin: Invalid key in record',
    ],
  ])('refuses %s', (_name, access, expected) => {
    expect(() => parseConfig({ access })).toThrow(expected);
  });
});
