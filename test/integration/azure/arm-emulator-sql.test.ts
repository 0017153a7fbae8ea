/**
 * The emulator's SQL data plane as a real client sees it (tedious over TDS 8.0 against its own
 * emulator): only tokens its directory issued for Azure SQL's audience, only the server's Entra
 * admin (here through the admin group) may create users, a contained user logs in with its own
 * token but may not create users, and SQL Server's own errors for what it does not serve.
 */
import { createServer, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { type ArmEmulator, EMULATOR_OPERATOR_PRINCIPAL, startArmEmulator } from '../../../hack/arm-emulator/index.ts';
import { createAzureClients, createWriteLimiter } from '../../../src/azure/clients.ts';
import { classifySqlError, type SqlDataPlaneOptions, withSqlSession } from '../../../src/azure/sql-data-plane.ts';
import { emulatorDirectory, emulatorPlatformNetwork, TEST_SQL_ADMIN_GROUP } from '../../harness/fixtures.ts';

let emulator: ArmEmulator;
const SERVER = 'sqlemu-srv';
const FQDN = `${SERVER}.database.windows.net`;
const APP = { objectId: '7c7c7c7c-1111-4222-8333-444444444444', clientId: '8d8d8d8d-1111-4222-8333-444444444444' };
const OUTSIDER = { objectId: '9e9e9e9e-1111-4222-8333-444444444444', clientId: '0f0f0f0f-1111-4222-8333-444444444444' };

const tokenOf = (token: string) => ({ getToken: async () => ({ token, expiresOnTimestamp: Date.now() + 3600_000 }) });
const options = (o: Partial<SqlDataPlaneOptions> = {}): SqlDataPlaneOptions => ({
  credential: emulator.credential,
  ca: emulator.ca,
  endpointOverride: emulator.sqlEndpoint,
  timeoutMs: 10_000,
  ...o,
});
const run = (sql: string, o: Partial<SqlDataPlaneOptions> = {}, database = 'appdb') =>
  withSqlSession(options(o), { serverFqdn: FQDN, database }, undefined, (s) => s.query(sql));
const failure = async (p: Promise<unknown>) => {
  try {
    await p;
  } catch (err) {
    return err as Error & { number?: number; loginErrorNumber?: number };
  }
  throw new Error('expected a failure');
};

beforeAll(async () => {
  emulator = await startArmEmulator({
    lroDelayMs: 1,
    platformNetwork: emulatorPlatformNetwork(),
    directoryGroups: emulatorDirectory(),
  });
  const clients = createAzureClients({
    subscriptionId: emulator.subscriptionId,
    endpoint: emulator.endpoint,
    ca: emulator.ca,
    credential: emulator.credential,
    writeLimiter: createWriteLimiter({ writesPerSecond: 100, burst: 100 }),
  });
  await clients.resources.resourceGroups.createOrUpdate('rg-sqlemu', { location: 'westeurope' });
  const admin = { login: 'sql-admins', sid: TEST_SQL_ADMIN_GROUP, tenantId: emulator.directoryTenantId };
  await clients.sql.servers.beginCreateOrUpdateAndWait('rg-sqlemu', SERVER, {
    location: 'westeurope',
    administrators: { administratorType: 'ActiveDirectory', ...admin, azureADOnlyAuthentication: true, principalType: 'Group' },
  });
  await clients.sql.serverAzureADAdministrators.beginCreateOrUpdateAndWait('rg-sqlemu', SERVER, 'ActiveDirectory', {
    administratorType: 'ActiveDirectory',
    ...admin,
  });
  await clients.sql.databases.beginCreateOrUpdateAndWait('rg-sqlemu', SERVER, 'appdb', {
    location: 'westeurope',
    sku: { name: 'GP_Gen5', tier: 'GeneralPurpose', capacity: 2 },
  });
}, 60_000);

afterAll(async () => {
  await emulator?.stop();
});

describe('login', () => {
  test('the admin group’s member logs in with its token and may create users', async () => {
    await run(
      `CREATE USER [app] FROM EXTERNAL PROVIDER WITH OBJECT_ID = '${APP.clientId}'; ALTER ROLE db_datareader ADD MEMBER [app]`,
    );
    expect(emulator.sqlDataPlane.catalogue(SERVER, 'appdb')?.roleMembers).toEqual([{ role: 'db_datareader', member: 'app' }]);
    expect(emulator.sqlDataPlane.statements.at(-1)).toMatchObject({
      principal: EMULATOR_OPERATOR_PRINCIPAL.objectId,
      statement: 'ALTER ROLE db_datareader ADD MEMBER [app]',
    });
  });

  test('a contained user logs in with its own token (its appid is the user’s SID) but may not create users', async () => {
    const token = emulator.entra.issueToken(APP);
    expect(await run('SELECT 1', { credential: tokenOf(token) })).toEqual([{ '': 1 }]);
    const err = await failure(
      run(`CREATE USER [x] FROM EXTERNAL PROVIDER WITH OBJECT_ID = '${OUTSIDER.clientId}'`, { credential: tokenOf(token) }),
    );
    expect(err).toMatchObject({ number: 15247, message: 'User does not have permission to perform this action.' });
  });

  test.each([
    ['a principal that is neither admin nor a user of the database', () => emulator.entra.issueToken(OUTSIDER)],
    [
      'a token for another audience (ARM)',
      () => emulator.entra.issueToken(EMULATOR_OPERATOR_PRINCIPAL, 'https://management.azure.com/'),
    ],
    ['a token another issuer signed', () => `${emulator.entra.issueToken(EMULATOR_OPERATOR_PRINCIPAL).slice(0, -4)}AAAA`],
    ['an expired token', () => emulator.entra.issueToken(EMULATOR_OPERATOR_PRINCIPAL, undefined, -600_000)],
  ])('refused with 18456: %s', async (_name, token) => {
    const err = await failure(run('SELECT 1', { credential: tokenOf(token()) }));
    expect(err.loginErrorNumber).toBe(18456);
    expect(err.message).toBe("Login failed for user '<token-identified principal>'.");
    expect(classifySqlError(err, 'db').reason).toBe('SqlLoginRefused');
  });

  test('a database that does not exist: 4060', async () => {
    const err = await failure(run('SELECT 1', {}, 'nodb'));
    expect(err.loginErrorNumber).toBe(4060);
    expect(err.message).toBe('Cannot open database "nodb" requested by the login. The login failed.');
  });

  test('the certificate is checked against the server’s real name: a client trusting other roots refuses it', async () => {
    const err = await failure(run('SELECT 1', { ca: undefined }));
    expect(classifySqlError(err, 'db').reason).toBe('SqlTlsRefused');
    // The emulator's certificate names *.database.windows.net, not any name that reaches its port.
    const elsewhere = await failure(
      withSqlSession(options(), { serverFqdn: `${SERVER}.database.example.com`, database: 'appdb' }, undefined, (x) =>
        x.query('SELECT 1'),
      ),
    );
    expect(elsewhere.message).toMatch(/altnames/);
    expect(classifySqlError(elsewhere, 'db').reason).toBe('SqlTlsRefused');
  });
});

describe('statements', () => {
  test.each([
    ['an unmodelled statement', 'TRUNCATE TABLE dbo.orders', 102, "Incorrect syntax near 'TRUNCATE'."],
    [
      'a user that already exists',
      `CREATE USER [app] FROM EXTERNAL PROVIDER WITH OBJECT_ID = '${APP.clientId}'`,
      15023,
      "User, group, or role 'app' already exists in the current database.",
    ],
    [
      'a role that does not exist',
      'ALTER ROLE db_nothing ADD MEMBER [app]',
      15151,
      "Cannot alter the role 'db_nothing', because it does not exist or you do not have permission.",
    ],
    [
      'a grant to nobody',
      'GRANT EXECUTE TO [ghost]',
      15151,
      "Cannot find the user 'ghost', because it does not exist or you do not have permission.",
    ],
    [
      'an unknown name without an object id (Graph lookup)',
      'CREATE USER [ghost] FROM EXTERNAL PROVIDER',
      33130,
      "Principal 'ghost' could not be found or this principal type is not supported.",
    ],
    ['a table the emulator does not hold', 'SELECT * FROM dbo.orders', 208, "Invalid object name 'dbo.orders'."],
  ])('%s: SQL Server’s own error', async (_name, sql, number, message) => {
    const err = await failure(run(sql));
    expect(err).toMatchObject({ name: 'SqlStatementError', number, message });
    expect(emulator.sqlDataPlane.statements.at(-1)).toMatchObject({ statement: sql, error: number });
  });

  test('the backup history lists the newest backup first, full at creation then log backups', async () => {
    emulator.clock.advance(35 * 60_000);
    const rows = await run(
      'SELECT TOP 2 backup_finish_date, backup_type FROM sys.dm_database_backups ORDER BY backup_finish_date DESC',
    );
    expect(rows).toHaveLength(2);
    const [newest, before] = rows as { backup_finish_date: Date; backup_type: string }[];
    expect(newest?.backup_finish_date.getTime()).toBeGreaterThan(before?.backup_finish_date.getTime() ?? Infinity);
    expect(emulator.clock.now().getTime() - (newest?.backup_finish_date.getTime() ?? 0)).toBeLessThan(10 * 60_000);
    expect(newest?.backup_type).toBe('L');
  });
});

describe('bounds', () => {
  test('a server that accepts and never answers is given up after the timeout, classified as retryable', async () => {
    const sockets: Socket[] = [];
    const silent = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as { port: number }).port;
    try {
      const started = Date.now();
      const err = await failure(run('SELECT 1', { endpointOverride: `127.0.0.1:${port}`, timeoutMs: 300 }));
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(err.message).toBe('no answer within 300 ms');
      expect(classifySqlError(err, 'db')).toMatchObject({ reason: 'SqlConnectionFailed', retryAfterMs: 30_000 });
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  test('an aborted reconcile opens no session', async () => {
    const before = emulator.sqlDataPlane.statements.length;
    const aborted = AbortSignal.abort();
    const err = await failure(
      withSqlSession(options(), { serverFqdn: FQDN, database: 'appdb' }, aborted, (s) => s.query('SELECT 1')),
    );
    expect(err.name).toBe('AbortError');
    expect(emulator.sqlDataPlane.statements.length).toBe(before);
  });
});
