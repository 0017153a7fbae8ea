/**
 * The emulated Azure SQL data plane behind the TDS listener (tds.ts): who may log in to a hosted
 * database (an Entra access token from the emulated directory; the server's Entra admin, or a
 * contained user of that database), the statements the operator runs (CREATE/DROP USER, ALTER ROLE
 * ... ADD/DROP MEMBER, GRANT/REVOKE/DENY at database scope, the catalogue views,
 * `sys.dm_database_backups` and `sys.dm_geo_replication_link_status`), per-database principals, role members and permissions, and a record
 * of every statement. Anything else is answered with SQL Server's own error for it.
 *
 * A stand-in, not a SQL engine: catalogue queries are recognised by the view they read and answered
 * in the column shape the operator selects (see README.md "SQL data plane"); a failed statement
 * ends its batch (as with XACT_ABORT ON).
 */
import { type DirectoryPrincipal, SQL_AUDIENCE, type TokenIssuer } from './entra.ts';
import type { GeoLinkStatus } from './geo-replication.ts';
import type { ResultColumn, SqlErrorInfo, StatementResult, TdsBackend, TdsSession } from './tds.ts';

/** What the data plane reads from the emulated Azure resources. */
export interface SqlDataPlaneHost {
  /** The SQL server called `name`, as GET renders it (undefined when none). */
  server(name: string): { id: string; fqdn: string; adminSid: string | undefined } | undefined;
  /** The database on that server, as GET renders it. */
  database(
    serverId: string,
    name: string,
  ): { id: string; name: string; databaseId: string; status: string; creationMs: number } | undefined;
  /** Newest first, at most `limit`: finish times (ms) of the database's backups, with their type. */
  backups(databaseResourceId: string, limit: number): { finishedMs: number; type: 'D' | 'I' | 'L' }[];
  /** The database's geo-replication link as `sys.dm_geo_replication_link_status` shows it; undefined without one. */
  geoLink(databaseResourceId: string): GeoLinkStatus | undefined;
  /** A login reached the database (a paused serverless database resumes). */
  touched(databaseResourceId: string): void;
  /** The groups `objectId` belongs to in the emulated directory. */
  groupsOf(objectId: string): string[];
  /** A principal of the emulated directory by display name (a user-assigned identity), for FROM EXTERNAL PROVIDER. */
  principalNamed(name: string): DirectoryPrincipal | undefined;
}

/** One statement as the emulator received it, for assertions. Never holds a token. */
export interface RecordedStatement {
  seq: number;
  time: string;
  server: string;
  database: string;
  /** Object id of the caller (the token's `oid`). */
  principal: string;
  statement: string;
  /** The SQL error number when it failed. */
  error?: number | undefined;
}

export type PrincipalType = 'E' | 'X' | 'R' | 'S';

interface DatabasePrincipal {
  id: number;
  name: string;
  type: PrincipalType;
  /** Lower-case GUID for Entra principals. */
  sid: string | undefined;
}

interface DatabaseState {
  principals: Map<string, DatabasePrincipal>;
  /** `role|member` by principal id. */
  members: Set<string>;
  /** principal id -> permission -> GRANT | DENY. */
  permissions: Map<number, Map<string, 'GRANT' | 'DENY'>>;
  nextId: number;
}

export interface SqlDataPlane extends TdsBackend {
  statements: RecordedStatement[];
  /** The principals, role memberships and database-scope permissions of a database, for assertions. */
  catalogue(serverName: string, database: string): DatabaseCatalogue | undefined;
  /** Run statements as the server's admin would (a person with SSMS), unrecorded by default. */
  runAsAdmin(serverName: string, database: string, sql: string): StatementResult[];
  reset(): void;
}

export interface DatabaseCatalogue {
  principals: { name: string; type: PrincipalType; sid: string | undefined }[];
  roleMembers: { role: string; member: string }[];
  permissions: { member: string; permission: string; state: 'GRANT' | 'DENY' }[];
}

const FIXED_ROLES: [string, number][] = [
  ['db_owner', 16384],
  ['db_accessadmin', 16385],
  ['db_securityadmin', 16386],
  ['db_ddladmin', 16387],
  ['db_backupoperator', 16389],
  ['db_datareader', 16390],
  ['db_datawriter', 16391],
  ['db_denydatareader', 16392],
  ['db_denydatawriter', 16393],
];

const DATABASE_PERMISSIONS = new Set([
  'EXECUTE',
  'SELECT',
  'INSERT',
  'UPDATE',
  'DELETE',
  'ALTER',
  'CONTROL',
  'ALTER ANY USER',
  'ALTER ANY ROLE',
  'ALTER ANY SCHEMA',
  'CREATE TABLE',
  'CREATE PROCEDURE',
  'CREATE VIEW',
  'CREATE FUNCTION',
  'CREATE SCHEMA',
  'VIEW DATABASE STATE',
  'VIEW DEFINITION',
  'REFERENCES',
]);

function freshDatabase(): DatabaseState {
  const principals = new Map<string, DatabasePrincipal>();
  principals.set('public', { id: 0, name: 'public', type: 'R', sid: undefined });
  principals.set('dbo', { id: 1, name: 'dbo', type: 'S', sid: undefined });
  principals.set('guest', { id: 2, name: 'guest', type: 'S', sid: undefined });
  for (const [name, id] of FIXED_ROLES) principals.set(name, { id, name, type: 'R', sid: undefined });
  return { principals, members: new Set(), permissions: new Map(), nextId: 5 };
}

const err = (number: number, cls: number, message: string, state = 1): StatementResult => ({
  kind: 'error',
  error: { number, state, class: cls, message },
});
const ok = (): StatementResult => ({ kind: 'done' });

const LOGIN_FAILED = (who: string): SqlErrorInfo => ({
  number: 18456,
  state: 1,
  class: 14,
  message: `Login failed for user '${who}'.`,
});
const TOKEN_PRINCIPAL = '<token-identified principal>';

/** Split a batch into statements at `;` outside brackets and quotes. */
export function splitStatements(sql: string): string[] {
  const out: string[] = [];
  let current = '';
  let quote: string | undefined;
  for (let i = 0; i < sql.length; i++) {
    const c = sql[i] as string;
    if (quote) {
      current += c;
      if (c === quote) {
        if (sql[i + 1] === quote) current += sql[++i];
        else quote = undefined;
      }
      continue;
    }
    if (c === "'") quote = "'";
    else if (c === '[') quote = ']';
    if (c === ';') {
      if (current.trim()) out.push(current.trim());
      current = '';
    } else current += c;
  }
  if (current.trim()) out.push(current.trim());
  return out;
}

const IDENT = String.raw`(\[(?:[^\]]|\]\])+\]|[A-Za-z_#@][\w@$#]*)`;
const unquote = (id: string): string => (id.startsWith('[') ? id.slice(1, -1).replaceAll(']]', ']') : id);
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function createSqlDataPlane(host: SqlDataPlaneHost, issuer: TokenIssuer, clock: () => Date): SqlDataPlane {
  const databases = new Map<string, DatabaseState>();
  const statements: RecordedStatement[] = [];
  const stateOf = (db: { id: string; databaseId: string }): DatabaseState => {
    const key = `${db.id.toLowerCase()}|${db.databaseId}`;
    let s = databases.get(key);
    if (!s) {
      s = freshDatabase();
      databases.set(key, s);
    }
    return s;
  };

  interface Caller {
    oid: string;
    admin: boolean;
    /** The caller's user in the database, when not the admin. */
    user: DatabasePrincipal | undefined;
  }

  function execute(
    server: { name: string },
    db: { id: string; name: string; databaseId: string; creationMs: number },
    caller: Caller,
    sql: string,
    record: boolean,
  ): StatementResult[] {
    const state = stateOf(db);
    const results: StatementResult[] = [];
    for (const statement of splitStatements(sql)) {
      const result = run(state, db, caller, statement);
      if (record && !/^set\s/i.test(statement)) {
        statements.push({
          seq: statements.length + 1,
          time: clock().toISOString(),
          server: server.name,
          database: db.name,
          principal: caller.oid,
          statement,
          ...(result.kind === 'error' ? { error: result.error.number } : {}),
        });
      }
      results.push(result);
      if (result.kind === 'error') break;
    }
    return results;
  }

  function hasPermission(state: DatabaseState, caller: Caller, permission: string): boolean {
    if (caller.admin) return true;
    const user = caller.user;
    if (!user) return false;
    if (state.members.has(`db_owner|${user.name.toLowerCase()}`)) return true;
    const perms = state.permissions.get(user.id);
    return perms?.get('CONTROL') === 'GRANT' || perms?.get(permission) === 'GRANT';
  }

  function run(
    state: DatabaseState,
    db: { id: string; name: string; creationMs: number },
    caller: Caller,
    statement: string,
  ): StatementResult {
    const text = statement.replace(/\s+/g, ' ').trim();
    if (/^set\s/i.test(text)) return ok();
    let m = new RegExp(`^CREATE USER ${IDENT} FROM EXTERNAL PROVIDER(?: WITH OBJECT_ID ?= ?'([^']*)')?$`, 'i').exec(text);
    if (m) {
      if (!hasPermission(state, caller, 'ALTER ANY USER'))
        return err(15247, 16, 'User does not have permission to perform this action.');
      const name = unquote(m[1] as string);
      const objectId = m[2];
      if (state.principals.has(name.toLowerCase())) {
        return err(15023, 16, `User, group, or role '${name}' already exists in the current database.`);
      }
      let sid: string;
      if (objectId !== undefined) {
        if (!GUID.test(objectId)) return err(33117, 16, `The object_id '${objectId}' is not a valid Microsoft Entra object id.`);
        sid = objectId.toLowerCase();
      } else {
        const found = host.principalNamed(name);
        if (!found) return err(33130, 16, `Principal '${name}' could not be found or this principal type is not supported.`);
        sid = (found.clientId ?? found.objectId).toLowerCase();
      }
      if ([...state.principals.values()].some((p) => p.sid === sid)) {
        return err(15063, 16, 'The login already has an account under a different user name.');
      }
      state.principals.set(name.toLowerCase(), { id: state.nextId++, name, type: 'E', sid });
      return ok();
    }
    m = new RegExp(`^DROP USER(?: IF EXISTS)? ${IDENT}$`, 'i').exec(text);
    if (m) {
      if (!hasPermission(state, caller, 'ALTER ANY USER'))
        return err(15247, 16, 'User does not have permission to perform this action.');
      const name = unquote(m[1] as string);
      const p = state.principals.get(name.toLowerCase());
      if (!p || (p.type !== 'E' && p.type !== 'X')) {
        if (/ IF EXISTS /i.test(text)) return ok();
        return err(15151, 16, `Cannot drop the user '${name}', because it does not exist or you do not have permission.`);
      }
      state.principals.delete(name.toLowerCase());
      for (const key of [...state.members]) if (key.endsWith(`|${name.toLowerCase()}`)) state.members.delete(key);
      state.permissions.delete(p.id);
      return ok();
    }
    m = new RegExp(`^ALTER ROLE ${IDENT} (ADD|DROP) MEMBER ${IDENT}$`, 'i').exec(text);
    if (m) {
      const roleName = unquote(m[1] as string);
      const memberName = unquote(m[3] as string);
      const role = state.principals.get(roleName.toLowerCase());
      if (role?.type !== 'R' || role.name === 'public') {
        return err(15151, 16, `Cannot alter the role '${roleName}', because it does not exist or you do not have permission.`);
      }
      if (!hasPermission(state, caller, 'ALTER ANY ROLE')) {
        return err(15151, 16, `Cannot alter the role '${roleName}', because it does not exist or you do not have permission.`);
      }
      const member = state.principals.get(memberName.toLowerCase());
      const add = (m[2] as string).toUpperCase() === 'ADD';
      if (!member) {
        return err(
          15151,
          16,
          `Cannot ${add ? 'add' : 'drop'} the principal '${memberName}', because it does not exist or you do not have permission.`,
        );
      }
      const key = `${role.name.toLowerCase()}|${member.name.toLowerCase()}`;
      if (add) state.members.add(key);
      else state.members.delete(key);
      return ok();
    }
    m = new RegExp(`^(GRANT|REVOKE|DENY) ([A-Z ,]+?) (TO|FROM) ${IDENT}$`, 'i').exec(text);
    if (m) {
      const verb = (m[1] as string).toUpperCase();
      const perms = (m[2] as string).split(',').map((p) => p.trim().toUpperCase());
      const name = unquote(m[4] as string);
      const bad = perms.find((p) => !DATABASE_PERMISSIONS.has(p));
      if (bad !== undefined) return err(102, 15, `Incorrect syntax near '${bad.split(' ')[0]}'.`);
      if (!hasPermission(state, caller, 'CONTROL'))
        return err(15247, 16, 'User does not have permission to perform this action.');
      const grantee = state.principals.get(name.toLowerCase());
      if (!grantee)
        return err(15151, 16, `Cannot find the user '${name}', because it does not exist or you do not have permission.`);
      const map = state.permissions.get(grantee.id) ?? new Map<string, 'GRANT' | 'DENY'>();
      for (const p of perms) {
        if (verb === 'REVOKE') map.delete(p);
        else map.set(p, verb === 'GRANT' ? 'GRANT' : 'DENY');
      }
      state.permissions.set(grantee.id, map);
      return ok();
    }
    if (/^select\b/i.test(text)) return select(state, db, caller, text);
    const near = text.split(/\s+/)[0] ?? '';
    return err(102, 15, `Incorrect syntax near '${near}'.`);
  }

  function select(state: DatabaseState, db: { id: string; creationMs: number }, caller: Caller, text: string): StatementResult {
    const lower = text.toLowerCase();
    const entra = [...state.principals.values()].filter((p) => p.type === 'E' || p.type === 'X');
    const byId = new Map([...state.principals.values()].map((p) => [p.id, p]));
    if (lower.includes('sys.dm_database_backups')) {
      if (!hasPermission(state, caller, 'VIEW DATABASE STATE')) {
        return err(297, 16, 'The user does not have permission to perform this action.');
      }
      const top = /\bselect top \(?(\d+)\)?/i.exec(text);
      const backups = host.backups(db.id, top ? Number(top[1]) : 1000);
      const columns: ResultColumn[] = [
        { name: 'backup_finish_date', type: 'datetime2' },
        { name: 'backup_type', type: 'char' },
      ];
      return { kind: 'rows', columns, rows: backups.map((b) => [new Date(b.finishedMs), b.type]) };
    }
    if (lower.includes('sys.dm_geo_replication_link_status')) {
      if (!hasPermission(state, caller, 'VIEW DATABASE STATE')) {
        return err(297, 16, 'The user does not have permission to perform this action.');
      }
      const link = host.geoLink(db.id);
      const columns: ResultColumn[] = [
        { name: 'partner_server', type: 'nvarchar' },
        { name: 'partner_database', type: 'nvarchar' },
        { name: 'last_replication', type: 'datetimeoffset' },
        { name: 'replication_lag_sec', type: 'int' },
        { name: 'replication_state_desc', type: 'nvarchar' },
        { name: 'role_desc', type: 'nvarchar' },
      ];
      const rows =
        link === undefined
          ? []
          : [
              [
                link.partnerServer,
                link.partnerDatabase,
                link.lastReplication,
                link.replicationLagSeconds,
                link.replicationState,
                link.role,
              ],
            ];
      return { kind: 'rows', columns, rows };
    }
    if (lower.includes('sys.database_role_members')) {
      const rows = [...state.members].map((key) => key.split('|') as [string, string]);
      const members = rows
        .map(([role, member]) => [state.principals.get(role)?.name ?? role, state.principals.get(member)?.name ?? member])
        .filter(([, member]) => entra.some((p) => p.name === member));
      return {
        kind: 'rows',
        columns: [
          { name: 'role', type: 'nvarchar' },
          { name: 'member', type: 'nvarchar' },
        ],
        rows: members,
      };
    }
    if (lower.includes('sys.database_permissions')) {
      const rows: string[][] = [];
      for (const [id, perms] of state.permissions) {
        const p = byId.get(id);
        if (!p || (p.type !== 'E' && p.type !== 'X')) continue;
        for (const [permission, s] of perms) rows.push([permission, s, p.name]);
      }
      return {
        kind: 'rows',
        columns: [
          { name: 'permission_name', type: 'nvarchar' },
          { name: 'state_desc', type: 'nvarchar' },
          { name: 'member', type: 'nvarchar' },
        ],
        rows,
      };
    }
    if (lower.includes('sys.database_principals')) {
      return {
        kind: 'rows',
        columns: [
          { name: 'name', type: 'nvarchar' },
          { name: 'type', type: 'char' },
          { name: 'sid', type: 'nvarchar' },
        ],
        rows: entra.map((p) => [p.name, p.type, p.sid ?? null]),
      };
    }
    if (/^select 1$/i.test(text)) return { kind: 'rows', columns: [{ name: '', type: 'int' }], rows: [[1]] };
    return err(208, 16, `Invalid object name '${/\bfrom ([\w.[\]]+)/i.exec(text)?.[1] ?? text.slice(7, 40)}'.`);
  }

  const plane: SqlDataPlane = {
    statements,
    login(request) {
      const serverName = request.serverName.split('.')[0]?.toLowerCase() ?? '';
      const server = host.server(serverName);
      if (!server || server.fqdn.toLowerCase() !== request.serverName.toLowerCase()) {
        return {
          ok: false,
          error: {
            number: 40532,
            state: 1,
            class: 20,
            message: `Cannot open server "${serverName}" requested by the login. The login failed.`,
          },
        };
      }
      if (request.accessToken === undefined) return { ok: false, error: LOGIN_FAILED('') };
      const check = issuer.verify(request.accessToken, SQL_AUDIENCE);
      if (!check.ok) return { ok: false, error: LOGIN_FAILED(TOKEN_PRINCIPAL) };
      const claims = check.claims;
      const db = host.database(server.id, request.database);
      if (!db) {
        return {
          ok: false,
          error: {
            number: 4060,
            state: 1,
            class: 11,
            message: `Cannot open database "${request.database}" requested by the login. The login failed.`,
          },
        };
      }
      host.touched(db.id);
      if (db.status !== 'Online') {
        return {
          ok: false,
          error: {
            number: 40613,
            state: 1,
            class: 14,
            message: `Database '${db.name}' on server '${serverName}' is not currently available. Please retry the connection later.`,
          },
        };
      }
      const groups = claims.groups ?? host.groupsOf(claims.oid);
      const adminSid = server.adminSid?.toLowerCase();
      const admin =
        adminSid !== undefined && (claims.oid.toLowerCase() === adminSid || groups.some((g) => g.toLowerCase() === adminSid));
      const state = stateOf(db);
      const sids = [claims.oid, claims.appid, ...groups].filter((s): s is string => s !== undefined).map((s) => s.toLowerCase());
      const user = [...state.principals.values()].find((p) => p.sid !== undefined && sids.includes(p.sid));
      if (!admin && !user) return { ok: false, error: LOGIN_FAILED(TOKEN_PRINCIPAL) };
      const caller: Caller = { oid: claims.oid, admin, user };
      const session: TdsSession = { execute: (sql) => execute({ name: serverName }, db, caller, sql, true) };
      return { ok: true, session, database: db.name };
    },
    catalogue(serverName, database) {
      const server = host.server(serverName.toLowerCase());
      const db = server && host.database(server.id, database);
      if (!db) return undefined;
      const state = stateOf(db);
      const byId = new Map([...state.principals.values()].map((p) => [p.id, p]));
      return {
        principals: [...state.principals.values()]
          .filter((p) => p.type === 'E' || p.type === 'X')
          .map((p) => ({ name: p.name, type: p.type, sid: p.sid })),
        roleMembers: [...state.members].map((k) => {
          const [role, member] = k.split('|') as [string, string];
          return { role: state.principals.get(role)?.name ?? role, member: state.principals.get(member)?.name ?? member };
        }),
        permissions: [...state.permissions].flatMap(([id, perms]) =>
          [...perms].map(([permission, s]) => ({ member: byId.get(id)?.name ?? String(id), permission, state: s })),
        ),
      };
    },
    runAsAdmin(serverName, database, sql) {
      const server = host.server(serverName.toLowerCase());
      const db = server && host.database(server.id, database);
      if (!db) throw new Error(`no database ${database} on server ${serverName}`);
      return execute({ name: serverName }, db, { oid: 'admin', admin: true, user: undefined }, sql, false);
    },
    reset() {
      databases.clear();
      statements.length = 0;
    },
  };
  return plane;
}
