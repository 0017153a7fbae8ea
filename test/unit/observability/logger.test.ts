import { Writable } from 'node:stream';
import { describe, expect, test } from '@jest/globals';
import { createLogger, REDACTED, redact } from '../../../src/observability/logger.ts';

function capture() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { logger: createLogger({ stream, level: 'debug' }), lines };
}

describe('secrets never reach the logs', () => {
  const jwt = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ0ZW5hbnQtb3BlcmF0b3IifQ.c2lnbmF0dXJlLXNpZ25hdHVyZQ';
  test.each([
    ['a value under a secret-looking key', { password: 'hunter2-very-secret' }, 'hunter2-very-secret'],
    ['a nested client secret', { azure: { clientSecret: 'abc123-secret-value' } }, 'abc123-secret-value'],
    ['a connection string inside a message field', { detail: 'Server=x;Password=S3cr3t!;User=y' }, 'S3cr3t!'],
    ['a bearer token (JWT) anywhere', { header: `Bearer ${jwt}` }, jwt],
    ['a private key', { pem: '-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----' }, 'MIIEow'],
  ])('%s is redacted', (_name, meta, secret) => {
    const { logger, lines } = capture();
    logger.info('something happened', meta);
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toContain(secret);
    expect(lines[0]).toContain(REDACTED);
  });

  test('ordinary fields pass through untouched', () => {
    const { logger, lines } = capture();
    logger.info('reconciled', { tenant: 'acme', key: 'acme', durationMs: 12 });
    expect(JSON.parse(lines[0] as string)).toMatchObject({ message: 'reconciled', tenant: 'acme', key: 'acme', durationMs: 12 });
  });

  test('redact leaves the input object unchanged', () => {
    const input = { token: 'x' };
    expect(redact(input)).toEqual({ token: REDACTED });
    expect(input.token).toBe('x');
  });
});
