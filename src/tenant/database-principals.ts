/**
 * Who may use a tenant's database, decided once and pure: the contained users the tenant needs
 * (its workload identity as the application, with data reader/writer and EXECUTE, never db_owner
 * or DDL; the configured migration group with db_ddladmin), the T-SQL that brings an observed
 * catalogue there, and the rights any Entra principal holds beyond that.
 *
 * Users are created `FROM EXTERNAL PROVIDER WITH OBJECT_ID = '<client id>'`: with the id given,
 * Azure SQL does not look the name up in Microsoft Graph, so the server's own identity needs no
 * Directory Readers role, and a user-assigned identity's display name (not unique in a directory)
 * cannot pick the wrong principal. For a service principal or managed identity the id is its
 * application (client) id, which is also what its tokens carry (`appid`) and the user's SID.
 */
import { quoteName, quoteString } from '../azure/sql-data-plane.ts';

export const APPLICATION_ROLES = ['db_datareader', 'db_datawriter'] as const;
export const APPLICATION_PERMISSIONS = ['EXECUTE'] as const;
export const MIGRATION_ROLES = ['db_datareader', 'db_datawriter', 'db_ddladmin'] as const;

/** Roles that let a principal change structure, security or everything. */
const PRIVILEGED_ROLES = new Set(['db_owner', 'db_ddladmin', 'db_securityadmin', 'db_accessadmin']);
/** Database-scope permissions of the same kind. */
const PRIVILEGED_PERMISSIONS = new Set([
  'CONTROL',
  'ALTER',
  'ALTER ANY USER',
  'ALTER ANY ROLE',
  'ALTER ANY SCHEMA',
  'CREATE TABLE',
  'CREATE PROCEDURE',
  'CREATE VIEW',
  'CREATE FUNCTION',
  'CREATE SCHEMA',
]);

export interface DesiredPrincipal {
  /** User name in the database. */
  name: string;
  /** Entra object id to create it with (a managed identity's client id, a group's object id). */
  objectId: string;
  roles: string[];
  permissions: string[];
  purpose: 'application' | 'migration';
}

/** The tenant's principals: its application identity, and the migration group when configured. */
export function desiredDatabasePrincipals(
  application: { name: string; clientId: string },
  migrationGroup: { name: string; objectId: string } | undefined,
): DesiredPrincipal[] {
  const principals: DesiredPrincipal[] = [
    {
      name: application.name,
      objectId: application.clientId.toLowerCase(),
      roles: [...APPLICATION_ROLES],
      permissions: [...APPLICATION_PERMISSIONS],
      purpose: 'application',
    },
  ];
  if (migrationGroup !== undefined) {
    principals.push({
      name: migrationGroup.name,
      objectId: migrationGroup.objectId.toLowerCase(),
      roles: [...MIGRATION_ROLES],
      permissions: [],
      purpose: 'migration',
    });
  }
  return principals;
}

/** What the catalogue views showed (Entra principals only). */
export interface ObservedCatalogue {
  principals: { name: string; type: string; sid: string | undefined }[];
  roleMembers: { role: string; member: string }[];
  permissions: { permission: string; state: string; member: string }[];
}

/** One right beyond what the operator grants. */
export interface ExcessPrivilege {
  member: string;
  /** `role db_owner` or `permission CONTROL`. */
  right: string;
  /** The statement that takes it away. */
  revoke: string;
}

export interface DatabaseAccessPlan {
  /** Statements that create users and grant what is missing, in order. */
  grants: string[];
  /** Rights beyond the desired ones, with what would take each away. */
  excess: ExcessPrivilege[];
}

const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

/** Pure: what to run so every desired principal exists with exactly its rights, and what is excess. */
export function planDatabaseAccess(desired: readonly DesiredPrincipal[], observed: ObservedCatalogue): DatabaseAccessPlan {
  const grants: string[] = [];
  for (const p of desired) {
    const user = quoteName(p.name);
    if (!observed.principals.some((o) => same(o.name, p.name))) {
      grants.push(`CREATE USER ${user} FROM EXTERNAL PROVIDER WITH OBJECT_ID = ${quoteString(p.objectId)}`);
    }
    for (const role of p.roles) {
      if (!observed.roleMembers.some((m) => same(m.member, p.name) && same(m.role, role))) {
        grants.push(`ALTER ROLE ${quoteName(role)} ADD MEMBER ${user}`);
      }
    }
    for (const permission of p.permissions) {
      if (!observed.permissions.some((g) => same(g.member, p.name) && same(g.permission, permission) && g.state === 'GRANT')) {
        grants.push(`GRANT ${permission} TO ${user}`);
      }
    }
  }
  const allowed = (member: string, kind: 'role' | 'permission', right: string): boolean =>
    desired.some((p) => same(p.name, member) && (kind === 'role' ? p.roles : p.permissions).some((r) => same(r, right)));
  const excess: ExcessPrivilege[] = [];
  for (const m of observed.roleMembers) {
    const privileged = PRIVILEGED_ROLES.has(m.role.toLowerCase());
    // The application must never hold more than reader/writer, whatever role was added to it.
    const application = desired.some((p) => p.purpose === 'application' && same(p.name, m.member));
    if ((privileged || application) && !allowed(m.member, 'role', m.role)) {
      excess.push({
        member: m.member,
        right: `role ${m.role}`,
        revoke: `ALTER ROLE ${quoteName(m.role)} DROP MEMBER ${quoteName(m.member)}`,
      });
    }
  }
  for (const g of observed.permissions) {
    if (g.state !== 'GRANT' && g.state !== 'GRANT_WITH_GRANT_OPTION') continue;
    if (PRIVILEGED_PERMISSIONS.has(g.permission.toUpperCase()) && !allowed(g.member, 'permission', g.permission)) {
      excess.push({
        member: g.member,
        right: `permission ${g.permission}`,
        revoke: `REVOKE ${g.permission.toUpperCase()} FROM ${quoteName(g.member)}`,
      });
    }
  }
  return { grants, excess };
}

/** `alice: role db_owner`, for status and messages. */
export function describeExcess(excess: readonly ExcessPrivilege[]): string[] {
  return excess.map((e) => `${e.member}: ${e.right}`);
}
