/**
 * What an approved AccessRequest grants (src/access/grant.ts), pure: exactly one RoleBinding for
 * the requester, or an Azure role assignment schedule request on the tenant's database whose
 * window Azure ends by itself; names derived so a retry finds what it already made.
 */
import { describe, expect, test } from '@jest/globals';
import { assignRequest, buildAccessRoleBinding, plannedGrant, removeRequest } from '../../../src/access/grant.ts';
import { roleAssignmentScheduleRequestKind } from '../../../src/azure/kinds/role-assignment-schedule.ts';
import { DEFAULT_ACCESS_ROLES, parseConfig } from '../../../src/config.ts';
import { anAccessRequest, approvedBy, withSpec } from '../../fixtures/access-request.ts';

const SUB = '11111111-2222-4333-8444-555555555555';
const PRINCIPAL = '0B5E6A8C-1D2F-4E3A-9B7C-6D5E4F3A2B1C';
const config = parseConfig({
  azure: {
    subscriptionId: SUB,
    directoryTenantId: '22222222-3333-4444-8555-666666666666',
    oidcIssuer: 'https://oidc.example/issuer/',
    sqlAdminGroup: { login: 'sql-admins', objectId: '33333333-4444-4555-8666-777777777777' },
    audit: {
      logAnalyticsWorkspaceId:
        '/subscriptions/00000000-0000-4000-8000-000000000001/resourceGroups/platform/providers/Microsoft.OperationalInsights/workspaces/audit',
    },
  },
});
const request = (...m: Parameters<typeof anAccessRequest>) => {
  const r = anAccessRequest(approvedBy('bob'), ...m);
  return { name: r.name, uid: 'uid-1', spec: r.spec };
};
const tenant = { name: 'acme', environment: 'Production' as const };

describe('plannedGrant', () => {
  test.each([
    ['namespace-view binds tenant-access-view', 'namespace-view', 'tenant-access-view'],
    ['namespace-debug binds tenant-access-debug', 'namespace-debug', 'tenant-access-debug'],
  ])('%s in the tenant namespace', (_name, role, clusterRole) => {
    const grant = plannedGrant(request(withSpec({ role })), DEFAULT_ACCESS_ROLES[role]!, tenant, config);
    expect(grant).toEqual({ roleBinding: { namespace: 'tenant-acme-prod', name: 'access-alice-acme', clusterRole } });
  });

  test('database-read assigns Reader on the tenant’s database to the requester’s principal', () => {
    const grant = plannedGrant(
      request(withSpec({ role: 'database-read', azurePrincipalId: PRINCIPAL })),
      DEFAULT_ACCESS_ROLES['database-read']!,
      tenant,
      config,
    );
    expect(grant.azure).toMatchObject({
      scope: expect.stringMatching(
        new RegExp(
          `^/subscriptions/${SUB}/resourceGroups/rg-acme-prd/providers/Microsoft.Sql/servers/sql-acme-prd-[0-9a-f]{6}/databases/sqldb-acme-prd$`,
        ),
      ),
      roleDefinitionId: `/subscriptions/${SUB}/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7`,
      principalId: PRINCIPAL.toLowerCase(),
    });
    expect(grant.azure?.assignRequest).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(grant.azure?.assignRequest).not.toBe(grant.azure?.removeRequest);
    // Derived, not random: a retry after a crash names the same requests.
    expect(
      plannedGrant(
        request(withSpec({ role: 'database-read', azurePrincipalId: PRINCIPAL })),
        DEFAULT_ACCESS_ROLES['database-read']!,
        tenant,
        config,
      ),
    ).toEqual(grant);
  });
});

describe('plannedGrant for a placed tenant', () => {
  test('database-read on a shared server (in another subscription) scopes the database where it lives', () => {
    const S2 = '00000000-0000-4000-8000-000000000002';
    const placed = {
      ...tenant,
      placement: {
        isolation: 'Shared' as const,
        subscriptionId: S2,
        sqlServer: { resourceGroup: 'tenancy-sql-westeurope-prd', name: 'sqlpool-westeurope-prd-1-abcdef', shared: true },
        placedAt: '2026-12-01T00:00:00Z',
      },
    };
    const grant = plannedGrant(
      request(withSpec({ role: 'database-read', azurePrincipalId: PRINCIPAL })),
      DEFAULT_ACCESS_ROLES['database-read']!,
      placed,
      config,
    );
    expect(grant.azure).toMatchObject({
      scope: `/subscriptions/${S2}/resourceGroups/tenancy-sql-westeurope-prd/providers/Microsoft.Sql/servers/sqlpool-westeurope-prd-1-abcdef/databases/sqldb-acme-prd`,
      roleDefinitionId: `/subscriptions/${S2}/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7`,
    });
  });
});

describe('buildAccessRoleBinding', () => {
  test('binds exactly the requester, as a User, and says when it ends', () => {
    const r = request();
    const rb = buildAccessRoleBinding(
      r,
      { namespace: 'tenant-acme-dev', name: 'access-alice-acme', clusterRole: 'tenant-access-view' },
      '2026-12-01T12:00:00Z',
    );
    expect(rb).toMatchObject({
      kind: 'RoleBinding',
      metadata: {
        namespace: 'tenant-acme-dev',
        labels: {
          'tenancy.dev/access-request': 'alice-acme',
          'tenancy.dev/tenant': 'acme',
          'app.kubernetes.io/managed-by': 'tenant-operator',
        },
        annotations: { 'tenancy.dev/expires-at': '2026-12-01T12:00:00Z' },
      },
      roleRef: { kind: 'ClusterRole', name: 'tenant-access-view' },
      subjects: [{ kind: 'User', name: 'alice@contoso.example', apiGroup: 'rbac.authorization.k8s.io' }],
    });
  });
});

describe('role assignment schedule requests', () => {
  const r = request(withSpec({ role: 'database-read', azurePrincipalId: PRINCIPAL }));
  const grant = plannedGrant(r, DEFAULT_ACCESS_ROLES['database-read']!, tenant, config).azure!;

  test('AdminAssign carries the window, which Azure ends by itself', () => {
    const body = roleAssignmentScheduleRequestKind.create(
      assignRequest(r, grant, '2026-12-01T10:00:00Z', '2026-12-01T12:00:00Z'),
    );
    expect(body).toEqual({
      properties: {
        principalId: PRINCIPAL.toLowerCase(),
        roleDefinitionId: grant.roleDefinitionId,
        requestType: 'AdminAssign',
        justification: expect.stringContaining('AccessRequest alice-acme'),
        scheduleInfo: {
          startDateTime: '2026-12-01T10:00:00Z',
          expiration: { type: 'AfterDateTime', endDateTime: '2026-12-01T12:00:00Z' },
        },
      },
    });
  });

  test('the justification Azure logs never quotes the reason a person typed', () => {
    const params = assignRequest(r, grant, '2026-12-01T10:00:00Z', '2026-12-01T12:00:00Z');
    expect(params.justification).not.toContain(r.spec.reason);
    expect(removeRequest(r, grant).justification).not.toContain(r.spec.reason);
  });

  test('AdminRemove names the same principal, role and scope under its own request name', () => {
    const params = removeRequest(r, grant);
    expect(params).toMatchObject({
      requestType: 'AdminRemove',
      name: grant.removeRequest,
      scope: grant.scope,
      principalId: grant.principalId,
    });
    expect(roleAssignmentScheduleRequestKind.id(params)).toBe(
      `${grant.scope}/providers/Microsoft.Authorization/roleAssignmentScheduleRequests/${grant.removeRequest}`,
    );
  });
});
