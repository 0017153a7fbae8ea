/**
 * The Azure SQL data plane, through the real `tedious` driver: one short session per call (TDS 8.0
 * strict encryption, the server's certificate checked against its real name, an Entra access token
 * for the operator's own identity), bounded by a timeout and the caller's AbortSignal, and the one
 * classification of what can go wrong there (a refused login, an unavailable database, a failed
 * statement). Knows nothing of tenants: it runs the statements it is given.
 */
import { connect as netConnect, type Socket } from 'node:net';
import type { TokenCredential } from '@azure/core-auth';
import { Connection, Request } from 'tedious';
import { PlatformError, RetryableError } from '../runtime/errors.ts';

/** The scope of an Azure SQL access token (audience `https://database.windows.net/`). */
export const SQL_SCOPE = 'https://database.windows.net/.default';

export interface SqlDataPlaneOptions {
  /** The operator's identity (workload identity in the cluster). */
  credential: TokenCredential;
  /** PEM CA to trust instead of the public roots (the emulator's certificate). */
  ca?: string | undefined;
  /**
   * `host:port` every server is reached at instead of `<fqdn>:1433`: the ARM emulator's TDS
   * endpoint in tests and `make dev`. TLS still verifies the server's real name.
   */
  endpointOverride?: string | undefined;
  /** Longest a whole session may take, connection and statements together (default 15 s). */
  timeoutMs?: number | undefined;
}

export interface SqlTarget {
  /** `<server>.database.windows.net`: the name TLS verifies and the login names. */
  serverFqdn: string;
  database: string;
  /**
   * The address to connect to (port 1433) instead of resolving `serverFqdn`, e.g. the caller's
   * own private endpoint to a server whose name has no private DNS record.
   */
  address?: string | undefined;
}

export type SqlRow = Record<string, unknown>;

/** What a session offers its caller. */
export interface SqlSession {
  /** Run one batch; the rows of its result sets, in order. Throws SqlStatementError. */
  query(sql: string): Promise<SqlRow[]>;
}

/** A statement SQL Server refused: its error number, state, class and message (never a token). */
export class SqlStatementError extends Error {
  override readonly name = 'SqlStatementError';
  readonly number: number;
  readonly state: number;
  readonly severity: number;
  readonly statement: string;
  constructor(number: number, state: number, severity: number, message: string, statement: string) {
    super(message);
    this.number = number;
    this.state = state;
    this.severity = severity;
    this.statement = statement;
  }
}

/** Login errors SQL Server itself calls transient (tedious' list, and Azure's retry guidance). */
const TRANSIENT_LOGIN = new Set([4060, 10928, 10929, 40197, 40501, 40613, 49918, 49919, 49920]);

/**
 * Classify a data-plane failure once: a refused login means the platform must act (the operator's
 * identity is not the server's Entra admin, or not in its admin group); an unavailable database or a
 * broken connection is retried soon; a refused statement names its SQL error number and message.
 */
export function classifySqlError(err: unknown, what: string): RetryableError {
  if (err instanceof SqlStatementError) {
    return new PlatformError(
      'SqlStatementFailed',
      `${what}: SQL error ${err.number} (state ${err.state}, class ${err.severity}): ${err.message}`,
      { retryAfterMs: 5 * 60_000, cause: err },
    );
  }
  const login = err as { loginErrorNumber?: number; code?: string; message?: string };
  const number = login.loginErrorNumber;
  const message = login.message ?? String(err);
  if (number === 18456) {
    return new PlatformError(
      'SqlLoginRefused',
      `${what}: SQL error 18456: ${message} The operator's identity must be the server's Microsoft Entra admin or a member of its admin group (azure.sqlAdminGroup).`,
      { retryAfterMs: 5 * 60_000, cause: err },
    );
  }
  if (number !== undefined && TRANSIENT_LOGIN.has(number)) {
    return new RetryableError('SqlUnavailable', `${what}: SQL error ${number}: ${message}`, { retryAfterMs: 30_000, cause: err });
  }
  if (number !== undefined) {
    return new RetryableError('SqlConnectionFailed', `${what}: SQL error ${number}: ${message}`, {
      retryAfterMs: 60_000,
      cause: err,
    });
  }
  if (/certificate|self[- ]signed|altname|hostname/i.test(message)) {
    return new PlatformError('SqlTlsRefused', `${what}: the server's TLS certificate was refused: ${message}`, {
      retryAfterMs: 5 * 60_000,
      cause: err,
    });
  }
  return new RetryableError('SqlConnectionFailed', `${what}: ${message}`, { retryAfterMs: 30_000, cause: err });
}

function splitHostPort(endpoint: string): { host: string; port: number } {
  const at = endpoint.lastIndexOf(':');
  return { host: endpoint.slice(0, at).replace(/^\[|\]$/g, ''), port: Number(endpoint.slice(at + 1)) };
}

/** Quote an identifier as `[name]` (T-SQL QUOTENAME). */
export function quoteName(name: string): string {
  return `[${name.replaceAll(']', ']]')}]`;
}

/** Quote a string literal as `'value'`. */
export function quoteString(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

/**
 * Open a session on `target`, run `use`, and close it, within `timeoutMs` and `signal`. Nothing is
 * retried here: the caller's reconcile is requeued instead, so no worker waits on SQL.
 */
export async function withSqlSession<T>(
  options: SqlDataPlaneOptions,
  target: SqlTarget,
  signal: AbortSignal | undefined,
  use: (session: SqlSession) => Promise<T>,
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 15_000;
  const deadline = AbortSignal.timeout(timeoutMs);
  const abort = signal ? AbortSignal.any([signal, deadline]) : deadline;
  abort.throwIfAborted();
  const token = await options.credential.getToken(SQL_SCOPE, { abortSignal: abort });
  if (!token) throw new Error('no access token for Azure SQL');
  // Tests and `make dev` reach every server at the emulator's endpoint; otherwise the target's own address, if given.
  const override = options.endpointOverride
    ? splitHostPort(options.endpointOverride)
    : target.address === undefined
      ? undefined
      : { host: target.address, port: 1433 };
  const connection = new Connection({
    server: target.serverFqdn,
    authentication: { type: 'azure-active-directory-access-token', options: { token: token.token } },
    options: {
      database: target.database,
      encrypt: 'strict',
      port: 1433,
      connectTimeout: timeoutMs,
      requestTimeout: timeoutMs,
      maxRetriesOnTransientErrors: 0,
      appName: 'tenant-operator',
      ...(options.ca === undefined ? {} : { cryptoCredentialsDetails: { ca: options.ca } }),
      ...(override === undefined
        ? {}
        : {
            connector: () =>
              new Promise<Socket>((resolve, reject) => {
                const socket = netConnect(override.port, override.host);
                socket.once('connect', () => resolve(socket));
                socket.once('error', reject);
              }),
          }),
    },
  });
  let loginErrorNumber: number | undefined;
  connection.on('errorMessage', (e: { number: number }) => {
    loginErrorNumber ??= e.number;
  });
  connection.on('error', () => {});
  const close = () => connection.close();
  abort.addEventListener('abort', close, { once: true });
  try {
    await new Promise<void>((resolve, reject) => {
      connection.connect((err) => {
        if (!err) return resolve();
        reject(Object.assign(err, { loginErrorNumber }));
      });
    });
    loginErrorNumber = undefined;
    const session: SqlSession = {
      query: (sql) =>
        new Promise<SqlRow[]>((resolve, reject) => {
          const rows: SqlRow[] = [];
          const request = new Request(sql, (err) => {
            if (!err) return resolve(rows);
            const e = err as { number?: number; state?: number; class?: number; message: string };
            if (e.number !== undefined) {
              reject(new SqlStatementError(e.number, e.state ?? 0, e.class ?? 0, e.message, sql));
            } else reject(err);
          });
          request.on('row', (columns: { value: unknown; metadata: { colName: string } }[]) => {
            rows.push(Object.fromEntries(columns.map((c) => [c.metadata.colName, c.value])));
          });
          connection.execSqlBatch(request);
        }),
    };
    return await use(session);
  } catch (err) {
    if (abort.aborted && !(err instanceof SqlStatementError)) {
      throw new Error(deadline.aborted ? `no answer within ${timeoutMs} ms` : 'canceled', { cause: err });
    }
    throw err;
  } finally {
    abort.removeEventListener('abort', close);
    connection.close();
  }
}

// --- catalogue and backup history reads (Azure SQL Database views) ------------------------------

/** Entra principals of the database (E: user or app, X: group), with their SID as a GUID. */
export const PRINCIPALS_QUERY =
  "SELECT name, type, CONVERT(nvarchar(36), CONVERT(uniqueidentifier, sid)) AS sid FROM sys.database_principals WHERE type IN ('E', 'X')";
/** Which roles those principals are members of. */
export const ROLE_MEMBERS_QUERY =
  "SELECT r.name AS role, m.name AS member FROM sys.database_role_members AS rm JOIN sys.database_principals AS r ON r.principal_id = rm.role_principal_id JOIN sys.database_principals AS m ON m.principal_id = rm.member_principal_id WHERE m.type IN ('E', 'X')";
/** Their database-scope permissions (class 0). */
export const PERMISSIONS_QUERY =
  "SELECT p.permission_name, p.state_desc, m.name AS member FROM sys.database_permissions AS p JOIN sys.database_principals AS m ON m.principal_id = p.grantee_principal_id WHERE p.class = 0 AND m.type IN ('E', 'X')";
/**
 * The newest completed backup still in retention (`sys.dm_database_backups`, Azure SQL Database;
 * not on Hyperscale). A point-in-time restore reaches up to it.
 */
export const NEWEST_BACKUP_QUERY =
  'SELECT TOP 1 backup_finish_date, backup_type FROM sys.dm_database_backups WHERE in_retention = 1 ORDER BY backup_finish_date DESC';

/**
 * The database's geo-replication link (`sys.dm_geo_replication_link_status`, one row per link, on
 * both sides; `last_replication` and `replication_lag_sec` on the primary only). ARM reports no lag.
 */
export const GEO_REPLICATION_LINK_QUERY =
  'SELECT TOP 1 partner_server, partner_database, last_replication, replication_lag_sec, replication_state_desc, role_desc FROM sys.dm_geo_replication_link_status';

/** One geo-replication link as the database sees it. */
export interface GeoReplicationLink {
  partnerServer: string;
  partnerDatabase: string;
  /** When the primary last heard the secondary harden a log block; undefined on the secondary. */
  lastReplication: Date | undefined;
  /** Seconds the secondary trails the primary; undefined on the secondary and while seeding. */
  lagSeconds: number | undefined;
  /** `SEEDING`, `CATCH_UP`, `SUSPENDED`, `PENDING`. */
  state: string;
  /** `PRIMARY` or `SECONDARY`: this database's role. */
  role: string;
}

export interface CatalogueRows {
  principals: { name: string; type: string; sid: string | undefined }[];
  roleMembers: { role: string; member: string }[];
  permissions: { permission: string; state: string; member: string }[];
}

const text = (v: unknown): string => (typeof v === 'string' ? v : v === null || v === undefined ? '' : String(v));

/** The Entra principals of the database, their roles and database-scope permissions. */
export async function readCatalogue(session: SqlSession): Promise<CatalogueRows> {
  const principals = await session.query(PRINCIPALS_QUERY);
  const members = await session.query(ROLE_MEMBERS_QUERY);
  const permissions = await session.query(PERMISSIONS_QUERY);
  return {
    principals: principals.map((r) => ({
      name: text(r.name),
      type: text(r.type).trim(),
      sid: r.sid === null || r.sid === undefined ? undefined : text(r.sid).toLowerCase(),
    })),
    roleMembers: members.map((r) => ({ role: text(r.role), member: text(r.member) })),
    permissions: permissions.map((r) => ({
      permission: text(r.permission_name).trim(),
      state: text(r.state_desc).trim(),
      member: text(r.member),
    })),
  };
}

/** When the newest completed backup finished; undefined when the database lists none yet. */
export async function readNewestBackup(session: SqlSession): Promise<Date | undefined> {
  const rows = await session.query(NEWEST_BACKUP_QUERY);
  const finished = rows[0]?.backup_finish_date;
  return finished instanceof Date && !Number.isNaN(finished.getTime()) ? finished : undefined;
}

/** The database's geo-replication link; undefined when it has none. */
export async function readGeoReplicationLink(session: SqlSession): Promise<GeoReplicationLink | undefined> {
  const row = (await session.query(GEO_REPLICATION_LINK_QUERY))[0];
  if (row === undefined) return undefined;
  const last = row.last_replication;
  const lag = row.replication_lag_sec;
  return {
    partnerServer: text(row.partner_server),
    partnerDatabase: text(row.partner_database),
    lastReplication: last instanceof Date && !Number.isNaN(last.getTime()) ? last : undefined,
    lagSeconds: typeof lag === 'number' && Number.isFinite(lag) ? lag : undefined,
    state: text(row.replication_state_desc).trim(),
    role: text(row.role_desc).trim(),
  };
}

/** The data plane's options from the operator's clients (its credential and CA) and its settings. */
export function sqlDataPlaneOptionsOf(
  clients: { credential: TokenCredential; ca: string | undefined },
  settings: { endpointOverride?: string | undefined; timeoutSeconds: number } | undefined,
): SqlDataPlaneOptions {
  return {
    credential: clients.credential,
    ca: clients.ca,
    endpointOverride: settings?.endpointOverride,
    timeoutMs: (settings?.timeoutSeconds ?? 15) * 1000,
  };
}
