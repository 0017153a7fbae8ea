import { describe, expect, test } from '@jest/globals';
import { audienceOfScope, createTokenIssuer, SQL_AUDIENCE } from '../../../hack/arm-emulator/entra.ts';
import { backupHistory } from '../../../hack/arm-emulator/sql-backups.ts';
import { splitStatements } from '../../../hack/arm-emulator/sql-data-plane.ts';

const TENANT = '72f988bf-0000-4000-8000-00000000d1e7';
const PRINCIPAL = { objectId: 'aaaaaaaa-0000-4000-8000-000000000001', clientId: 'bbbbbbbb-0000-4000-8000-000000000002' };

describe('the emulated Entra token issuer', () => {
  const issuer = createTokenIssuer(TENANT);
  const other = createTokenIssuer(TENANT);

  test('a token it issued validates, with Entra’s claims', () => {
    const check = issuer.verify(issuer.issue(PRINCIPAL, SQL_AUDIENCE, ['group-1']), SQL_AUDIENCE);
    expect(check).toMatchObject({
      ok: true,
      claims: {
        aud: SQL_AUDIENCE,
        iss: `https://sts.windows.net/${TENANT}/`,
        tid: TENANT,
        oid: PRINCIPAL.objectId,
        appid: PRINCIPAL.clientId,
        groups: ['group-1'],
      },
    });
  });

  test.each([
    ['another audience', () => issuer.issue(PRINCIPAL, 'https://management.azure.com/', []), 'audience'],
    ['another issuer’s signature', () => other.issue(PRINCIPAL, SQL_AUDIENCE, []), 'signature'],
    ['expired beyond the 5 minutes of skew', () => issuer.issue(PRINCIPAL, SQL_AUDIENCE, [], -301_000), 'expired'],
    [
      'claims changed after signing',
      () => {
        const [h, , s] = issuer.issue(PRINCIPAL, SQL_AUDIENCE, []).split('.');
        const forged = Buffer.from(JSON.stringify({ oid: 'x', aud: SQL_AUDIENCE })).toString('base64url');
        return `${h}.${forged}.${s}`;
      },
      'signature',
    ],
    ['not a JWT', () => 'test-token', 'not a JWT'],
  ])('refuses %s', (_name, token, why) => {
    const check = issuer.verify(token(), SQL_AUDIENCE);
    expect(check.ok).toBe(false);
    expect(check.ok ? '' : check.why).toContain(why);
  });

  test.each([
    ['https://database.windows.net/.default', 'https://database.windows.net/'],
    ['https://database.windows.net//.default', 'https://database.windows.net/'],
    ['https://management.azure.com/.default', 'https://management.azure.com/'],
  ])('scope %s asks for audience %s', (scope, audience) => expect(audienceOfScope(scope)).toBe(audience));
});

describe('backupHistory (sys.dm_database_backups)', () => {
  const M = 60_000;
  test.each([
    [
      'newest first, limited, full at creation',
      0,
      35 * M,
      [],
      10,
      [
        [30 * M, 'L'],
        [20 * M, 'L'],
        [10 * M, 'L'],
        [0, 'D'],
      ],
    ],
    ['TOP 1', 0, 35 * M, [], 1, [[30 * M, 'L']]],
    [
      'a pause skips its backups',
      0,
      55 * M,
      [{ from: 15 * M, to: 45 * M }],
      10,
      [
        [50 * M, 'L'],
        [10 * M, 'L'],
        [0, 'D'],
      ],
    ],
    ['nothing before creation', 10 * M, 5 * M, [], 10, []],
  ])('%s', (_name, created, now, pauses, limit, expected) => {
    expect(backupHistory(created, now, 10 * M, pauses, limit).map((b) => [b.finishedMs, b.type])).toEqual(expected);
  });
});

describe('splitStatements', () => {
  test.each([
    [
      'two statements',
      'GRANT EXECUTE TO [a]; ALTER ROLE db_datareader ADD MEMBER [a]',
      ['GRANT EXECUTE TO [a]', 'ALTER ROLE db_datareader ADD MEMBER [a]'],
    ],
    [
      'a semicolon inside a bracketed name stays',
      'CREATE USER [a;b] FROM EXTERNAL PROVIDER',
      ['CREATE USER [a;b] FROM EXTERNAL PROVIDER'],
    ],
    ["a semicolon inside a string stays, '' included", "SELECT 'it''s; fine'", ["SELECT 'it''s; fine'"]],
    ['empty statements are dropped', ' ; ;SELECT 1;', ['SELECT 1']],
  ])('%s', (_name, sql, expected) => expect(splitStatements(sql)).toEqual(expected));
});
