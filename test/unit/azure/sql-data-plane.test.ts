import { describe, expect, test } from '@jest/globals';
import { classifySqlError, quoteName, quoteString, SqlStatementError } from '../../../src/azure/sql-data-plane.ts';
import { PlatformError } from '../../../src/runtime/errors.ts';

const loginError = (number: number | undefined, message: string) =>
  Object.assign(new Error(message), { loginErrorNumber: number });

describe('classifySqlError', () => {
  test.each([
    [
      'a refused login: the platform must put the operator in the admin group',
      loginError(18456, "Login failed for user '<token-identified principal>'."),
      'SqlLoginRefused',
      true,
      'SQL error 18456',
    ],
    [
      'a database not available yet (resuming, failing over): retried soon',
      loginError(40613, "Database 'db' on server 's' is not currently available."),
      'SqlUnavailable',
      false,
      'SQL error 40613',
    ],
    ['a server that does not exist (yet)', loginError(40532, 'Cannot open server'), 'SqlConnectionFailed', false, '40532'],
    [
      'a network failure',
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ESOCKET' }),
      'SqlConnectionFailed',
      false,
      'ECONNREFUSED',
    ],
    [
      'a certificate for another name',
      new Error("Hostname/IP does not match certificate's altnames"),
      'SqlTlsRefused',
      true,
      'certificate',
    ],
    [
      'a failed statement names its number, state, class and message',
      new SqlStatementError(15063, 1, 16, 'The login already has an account under a different user name.', 'CREATE USER [x] ...'),
      'SqlStatementFailed',
      true,
      'SQL error 15063 (state 1, class 16): The login already has an account under a different user name.',
    ],
  ])('%s', (_name, err, reason, platform, message) => {
    const c = classifySqlError(err, 'database db');
    expect(c.reason).toBe(reason);
    expect(c instanceof PlatformError).toBe(platform);
    expect(c.message).toContain(message);
    expect(c.message.startsWith('database db: ')).toBe(true);
    expect(c.retryAfterMs).toBeGreaterThanOrEqual(30_000);
  });
});

describe('quoting', () => {
  test.each([
    ['plain', 'id-acme', '[id-acme]'],
    ['a closing bracket is doubled', 'a]b', '[a]]b]'],
  ])('quoteName: %s', (_n, name, quoted) => expect(quoteName(name)).toBe(quoted));

  test('quoteString doubles single quotes', () => expect(quoteString("o'brien")).toBe("'o''brien'"));
});
