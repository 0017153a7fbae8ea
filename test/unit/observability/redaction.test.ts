/**
 * Realistic credentials, in the positions they turn up in (a header an upstream error echoes, a
 * connection string, a URL, a reason someone pasted into an annotation), never survive redaction.
 * Fake secrets are assembled at run time so no file of this repository looks like a live credential
 * to a secret scanner.
 */
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { describe, expect, test } from '@jest/globals';
import { createLogger } from '../../../src/observability/logger.ts';
import { describeFreeText, REDACTED, redact, redactText, textDigest } from '../../../src/observability/redaction.ts';

/** `length` characters drawn from `alphabet`, deterministic per call site but random-looking. */
function fake(alphabet: string, length: number): string {
  return [...randomBytes(length)].map((b) => alphabet[b % alphabet.length]).join('');
}
const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const BASE64 = `${ALNUM}+/`;
const BASE32_LOWER = 'abcdefghijklmnopqrstuvwxyz234567';
const join = (...parts: string[]) => parts.join('');

const secrets = {
  githubClassic: join('gh', 'p_', fake(ALNUM, 36)),
  githubFineGrained: join('github', '_pat_', fake(ALNUM, 22), '_', fake(ALNUM, 59)),
  gitlab: join('gl', 'pat-', fake(ALNUM, 20)),
  azureDevOpsLegacy: fake(BASE32_LOWER, 52),
  azureDevOps: join(fake(ALNUM, 52), fake(ALNUM, 24), 'AZ', 'DO', fake(ALNUM, 4)),
  entraClientSecret: join(fake(ALNUM, 3), '8', 'Q~', fake(`${ALNUM}_~.-`, 34)),
  storageAccountKey: `${fake(BASE64, 86)}==`,
  sasSignature: encodeURIComponent(`${fake(BASE64, 43)}=`),
  slack: join('xo', 'xb-', fake('0123456789', 12), '-', fake('0123456789', 13), '-', fake(ALNUM, 24)),
  awsKeyId: join('AK', 'IA', fake('ABCDEFGHIJKLMNOPQRSTUVWXYZ234567', 16)),
  awsSecret: fake(BASE64, 40),
  npm: join('np', 'm_', fake(ALNUM, 36)),
  openAi: join('s', 'k-proj-', fake(ALNUM, 48)),
  opaqueBearer: fake(`${ALNUM}._-`, 48),
  jwt: [
    join('ey', 'J', Buffer.from('{"alg":"RS256","kid":"k1"}').toString('base64url').slice(3)),
    Buffer.from(`{"sub":"${fake(ALNUM, 12)}","aud":"api://AzureADTokenExchange"}`).toString('base64url'),
    fake(`${ALNUM}_-`, 86),
  ].join('.'),
  password: `Pa55-${fake(ALNUM, 12)}!`,
  basic: Buffer.from(`deploy:${fake(ALNUM, 16)}`).toString('base64'),
  privateKey: join(
    '-----BEGIN ',
    'RSA PRIVATE KEY-----\n',
    fake(BASE64, 64),
    '\n',
    fake(BASE64, 64),
    '\n-----END RSA ',
    'PRIVATE KEY-----',
  ),
};

describe('redactText removes credentials in any position', () => {
  test.each<[string, string, string]>([
    [
      'an echoed Authorization header',
      `upstream said 401: request had Authorization: Bearer ${secrets.opaqueBearer}`,
      secrets.opaqueBearer,
    ],
    ['a bearer JWT in a header map', `{"authorization":"Bearer ${secrets.jwt}"}`, secrets.jwt],
    ['a bare JWT in a message', `token exchange failed for ${secrets.jwt} (expired)`, secrets.jwt],
    ['basic credentials', `Authorization: Basic ${secrets.basic}`, secrets.basic],
    ['a bearer scheme without the header name', `curl -H "Bearer ${secrets.opaqueBearer}"`, secrets.opaqueBearer],
    ['token= in a reason', `rotate now, old token=${secrets.opaqueBearer} leaked`, secrets.opaqueBearer],
    ['secret= in a reason', `hotfix; secret=${secrets.password}`, secrets.password],
    [
      'client_secret in a query string',
      `POST /oauth2/v2.0/token?client_id=x&client_secret=${secrets.entraClientSecret}&scope=y`,
      secrets.entraClientSecret,
    ],
    ['an Entra client secret on its own', `use ${secrets.entraClientSecret} for the app registration`, secrets.entraClientSecret],
    [
      'a password in a SQL connection string',
      `Server=tcp:sql.example.net,1433;User ID=app;Password=${secrets.password};Encrypt=True`,
      secrets.password,
    ],
    ['Pwd in an ODBC string', `Driver={ODBC};Uid=app;Pwd=${secrets.password};`, secrets.password],
    [
      'a storage account key',
      `DefaultEndpointsProtocol=https;AccountName=acme;AccountKey=${secrets.storageAccountKey};EndpointSuffix=core.windows.net`,
      secrets.storageAccountKey,
    ],
    [
      'a SAS signature in a URL',
      `https://acme.blob.core.windows.net/c/b?sv=2022-11-02&se=2026-12-31&sig=${secrets.sasSignature}`,
      secrets.sasSignature,
    ],
    ['a password in a URL', `postgres://app:${secrets.password}@db.internal:5432/app`, secrets.password],
    ['a GitHub classic PAT', `clone failed with ${secrets.githubClassic}`, secrets.githubClassic],
    ['a GitHub fine-grained PAT', `PAT ${secrets.githubFineGrained} lacks contents:read`, secrets.githubFineGrained],
    ['a GitLab PAT', `glab auth ${secrets.gitlab}`, secrets.gitlab],
    ['an Azure DevOps PAT', `ado pat ${secrets.azureDevOps}`, secrets.azureDevOps],
    ['an older Azure DevOps PAT', `ado pat ${secrets.azureDevOpsLegacy}`, secrets.azureDevOpsLegacy],
    ['a Slack bot token', `notify via ${secrets.slack}`, secrets.slack],
    ['an AWS key id', `aws_access_key_id ${secrets.awsKeyId}`, secrets.awsKeyId],
    ['an AWS secret key in a config line', `aws_secret_access_key = ${secrets.awsSecret}`, secrets.awsSecret],
    ['an npm token', `//registry.npmjs.org/:_authToken=${secrets.npm}`, secrets.npm],
    ['an OpenAI-style key', `OPENAI_API_KEY=${secrets.openAi}`, secrets.openAi],
    ['an api key in JSON', `{"apiKey": "${secrets.opaqueBearer}"}`, secrets.opaqueBearer],
    ['a private key', `key material:\n${secrets.privateKey}\nend`, secrets.privateKey.split('\n')[1] as string],
  ])('%s', (_name, text, secret) => {
    const out = redactText(text);
    expect(out).not.toContain(secret);
    expect(out).toContain(REDACTED);
  });

  test.each([
    ['a reconcile message', 'reconcile will retry: Conflict writing the status of tenant acme (resourceVersion 12345)'],
    ['a condition message', 'version 1.1.0 -> 1.1.1: held until the maintenance window opens at 2026-12-09T01:00:00Z'],
    ['a Kubernetes uid and a hash', 'uid 3f1c2a9e-8b7d-4c6e-9f0a-1b2c3d4e5f60 hash 9f2c1e0b7a6d5c4b3a29180716253443'],
    [
      'an Azure resource id',
      '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-acme/providers/Microsoft.Sql/servers/sql-acme',
    ],
    ['the word token in prose', 'the token expired; the operator asks for a new one'],
  ])('%s passes untouched', (_name, text) => {
    expect(redactText(text)).toBe(text);
  });
});

describe('free text a person typed', () => {
  test('is shown redacted, on one line, bounded, and with a digest of the original', () => {
    const reason = `CVE-2026-4242 hotfix\nrollback creds: token=${secrets.opaqueBearer} ${'x'.repeat(300)}`;
    const shown = describeFreeText(reason);
    expect(shown).not.toContain(secrets.opaqueBearer);
    expect(shown).toContain('CVE-2026-4242 hotfix rollback creds: token=[REDACTED]');
    expect(shown.length).toBeLessThan(160);
    expect(shown).toContain(textDigest(reason));
  });

  test('a digest is stable, short, and reveals nothing of the text', () => {
    expect(textDigest('CVE-2026-4242 hotfix')).toBe(textDigest('CVE-2026-4242 hotfix'));
    expect(textDigest('CVE-2026-4242 hotfix')).toMatch(/^sha256:[0-9a-f]{16}$/);
    expect(textDigest('a')).not.toBe(textDigest('b'));
  });
});

describe('the logger', () => {
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

  test.each<[string, string, Record<string, unknown>, string]>([
    ['a secret in the message itself', `request failed: Authorization: Bearer ${secrets.opaqueBearer}`, {}, secrets.opaqueBearer],
    [
      'an upstream error that echoed a header',
      'cannot list',
      { error: `HTTP 401 (Authorization: Bearer ${secrets.jwt})` },
      secrets.jwt,
    ],
    [
      'an Error object as metadata',
      'cannot connect',
      { cause: new Error(`dial postgres://app:${secrets.password}@db:5432`) },
      secrets.password,
    ],
    [
      'a PAT inside an array',
      'clone',
      { attempts: [`https://x:${secrets.githubClassic}@github.com/o/r`] },
      secrets.githubClassic,
    ],
    [
      'a header map',
      'request',
      { headers: { Authorization: `Bearer ${secrets.opaqueBearer}`, accept: 'application/json' } },
      secrets.opaqueBearer,
    ],
    ['an access key field', 'aws', { accessKeyId: secrets.awsKeyId }, secrets.awsKeyId],
  ])('%s', (_name, message, meta, secret) => {
    const { logger, lines } = capture();
    logger.warn(message, meta);
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toContain(secret);
    expect(lines[0]).toContain(REDACTED);
  });

  test('redact keeps what is no secret', () => {
    expect(redact({ key: 'acme', headers: { accept: 'application/json' } })).toEqual({
      key: 'acme',
      headers: { accept: 'application/json' },
    });
  });
});
