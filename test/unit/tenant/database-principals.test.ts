import { describe, expect, test } from '@jest/globals';
import {
  desiredDatabasePrincipals,
  type ObservedCatalogue,
  planDatabaseAccess,
} from '../../../src/tenant/database-principals.ts';

const APP = { name: 'id-acme-prod', clientId: '11111111-2222-4333-8444-555555555555' };
const MIGRATIONS = { name: 'tenant-migrations', objectId: '66666666-7777-4888-8999-000000000000' };

/** A catalogue builder: principals with their roles and permissions. */
function catalogue(
  ...users: { name: string; sid?: string; roles?: string[]; permissions?: string[]; denied?: string[] }[]
): ObservedCatalogue {
  return {
    principals: users.map((u) => ({ name: u.name, type: 'E', sid: u.sid })),
    roleMembers: users.flatMap((u) => (u.roles ?? []).map((role) => ({ role, member: u.name }))),
    permissions: users.flatMap((u) => [
      ...(u.permissions ?? []).map((permission) => ({ permission, state: 'GRANT', member: u.name })),
      ...(u.denied ?? []).map((permission) => ({ permission, state: 'DENY', member: u.name })),
    ]),
  };
}

const app = (o: { roles?: string[]; permissions?: string[]; denied?: string[] } = {}) => ({
  name: APP.name,
  sid: APP.clientId,
  roles: o.roles ?? ['db_datareader', 'db_datawriter'],
  permissions: o.permissions ?? ['EXECUTE'],
  ...(o.denied ? { denied: o.denied } : {}),
});

describe('desiredDatabasePrincipals', () => {
  test('the application gets reader, writer and EXECUTE by its client id; never db_owner or DDL', () => {
    const [application, ...rest] = desiredDatabasePrincipals(APP, undefined);
    expect(application).toEqual({
      name: APP.name,
      objectId: APP.clientId,
      roles: ['db_datareader', 'db_datawriter'],
      permissions: ['EXECUTE'],
      purpose: 'application',
    });
    expect(rest).toEqual([]);
  });

  test('the configured migration group gets db_ddladmin besides reader and writer', () => {
    const migration = desiredDatabasePrincipals(APP, MIGRATIONS)[1];
    expect(migration).toMatchObject({
      name: MIGRATIONS.name,
      roles: ['db_datareader', 'db_datawriter', 'db_ddladmin'],
      permissions: [],
    });
  });
});

describe('planDatabaseAccess', () => {
  const desired = desiredDatabasePrincipals(APP, MIGRATIONS);
  const migrations = {
    name: MIGRATIONS.name,
    sid: MIGRATIONS.objectId,
    roles: ['db_datareader', 'db_datawriter', 'db_ddladmin'],
  };

  test.each([
    [
      'an empty database: both users, their roles and EXECUTE',
      catalogue(),
      [
        `CREATE USER [${APP.name}] FROM EXTERNAL PROVIDER WITH OBJECT_ID = '${APP.clientId}'`,
        `ALTER ROLE [db_datareader] ADD MEMBER [${APP.name}]`,
        `ALTER ROLE [db_datawriter] ADD MEMBER [${APP.name}]`,
        `GRANT EXECUTE TO [${APP.name}]`,
        `CREATE USER [${MIGRATIONS.name}] FROM EXTERNAL PROVIDER WITH OBJECT_ID = '${MIGRATIONS.objectId}'`,
        `ALTER ROLE [db_datareader] ADD MEMBER [${MIGRATIONS.name}]`,
        `ALTER ROLE [db_datawriter] ADD MEMBER [${MIGRATIONS.name}]`,
        `ALTER ROLE [db_ddladmin] ADD MEMBER [${MIGRATIONS.name}]`,
      ],
    ],
    ['everything in place: nothing to run', catalogue(app(), migrations), []],
    [
      'a role removed by hand comes back, nothing else',
      catalogue(app({ roles: ['db_datareader'] }), migrations),
      [`ALTER ROLE [db_datawriter] ADD MEMBER [${APP.name}]`],
    ],
    [
      'EXECUTE denied by hand is granted again',
      catalogue(app({ permissions: [], denied: ['EXECUTE'] }), migrations),
      [`GRANT EXECUTE TO [${APP.name}]`],
    ],
    [
      'names compare case-insensitively, like the database',
      catalogue({ ...app(), name: APP.name.toUpperCase() }, migrations),
      [],
    ],
  ])('%s', (_name, observed, grants) => {
    expect(planDatabaseAccess(desired, observed).grants).toEqual(grants);
  });

  test.each([
    ['nothing beyond what is granted', catalogue(app(), migrations), []],
    [
      'a hand-made user in db_owner with CONTROL',
      catalogue(app(), migrations, { name: 'alice@example.com', roles: ['db_owner'], permissions: ['CONTROL', 'SELECT'] }),
      [
        ['alice@example.com: role db_owner', 'ALTER ROLE [db_owner] DROP MEMBER [alice@example.com]'],
        ['alice@example.com: permission CONTROL', 'REVOKE CONTROL FROM [alice@example.com]'],
      ],
    ],
    [
      'the application given db_ddladmin and ALTER',
      catalogue(app({ roles: ['db_datareader', 'db_datawriter', 'db_ddladmin'], permissions: ['EXECUTE', 'ALTER'] }), migrations),
      [
        [`${APP.name}: role db_ddladmin`, `ALTER ROLE [db_ddladmin] DROP MEMBER [${APP.name}]`],
        [`${APP.name}: permission ALTER`, `REVOKE ALTER FROM [${APP.name}]`],
      ],
    ],
    [
      'the application in any other role (db_backupoperator): only reader and writer are its',
      catalogue(app({ roles: ['db_datareader', 'db_datawriter', 'db_backupoperator'] }), migrations),
      [[`${APP.name}: role db_backupoperator`, `ALTER ROLE [db_backupoperator] DROP MEMBER [${APP.name}]`]],
    ],
    ['the migration group’s db_ddladmin is its own, not excess', catalogue(app(), migrations), []],
    [
      'a hand-made reader is none of the operator’s business',
      catalogue(app(), migrations, { name: 'reporting', roles: ['db_datareader'], permissions: ['SELECT'] }),
      [],
    ],
  ])('excess: %s', (_name, observed, expected) => {
    const plan = planDatabaseAccess(desired, observed);
    expect(plan.excess.map((e) => [`${e.member}: ${e.right}`, e.revoke])).toEqual(expected);
  });

  test('a name with a closing bracket is quoted, never cut', () => {
    const odd = desiredDatabasePrincipals({ name: 'a]b', clientId: APP.clientId }, undefined);
    expect(planDatabaseAccess(odd, catalogue()).grants[0]).toBe(
      `CREATE USER [a]]b] FROM EXTERNAL PROVIDER WITH OBJECT_ID = '${APP.clientId}'`,
    );
  });
});
