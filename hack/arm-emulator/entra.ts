/**
 * The emulated Entra ID token issuer: access tokens (JWTs) for the emulated directory's principals,
 * signed by the emulator, and their validation by the services that accept them (the TDS endpoint).
 *
 * A stand-in: real Entra signs with RS256 keys published at its JWKS endpoint; the emulator signs
 * with HS256 and a secret of its own, so only tokens it issued validate. The claims are Entra's:
 * `aud`, `iss` (`https://sts.windows.net/{tenant}/`), `tid`, `oid`, `appid` (a service principal's
 * application/client id), `groups` (the principal's groups in the emulated directory), `nbf`, `exp`.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** Azure SQL's token audience (the resource `https://database.windows.net/`; scope `.../.default`). */
export const SQL_AUDIENCE = 'https://database.windows.net/';

/** A principal of the emulated directory a token can be issued to. */
export interface DirectoryPrincipal {
  /** Object id (`oid`). */
  objectId: string;
  /** Application (client) id (`appid`), for service principals and managed identities. */
  clientId?: string | undefined;
}

/**
 * The principal the emulator's own credential (and its token endpoint) stands for: the operator's
 * identity. Fixed, so tests can put it in groups (`directoryGroups`).
 */
export const EMULATOR_OPERATOR_PRINCIPAL: Readonly<Required<DirectoryPrincipal>> = {
  objectId: '0e1a7c2d-5b3f-4d6e-8f9a-00000000c0de',
  clientId: '1f2b8d3e-6c4a-4e7f-9a0b-00000000c0de',
};

export interface AccessTokenClaims {
  aud: string;
  iss: string;
  tid: string;
  oid: string;
  appid?: string | undefined;
  groups?: string[] | undefined;
  nbf: number;
  exp: number;
  iat: number;
}

export type TokenCheck = { ok: true; claims: AccessTokenClaims } | { ok: false; why: string };

export interface TokenIssuer {
  readonly tenantId: string;
  /** A token for `principal`, for `audience`, valid `lifetimeMs` from now (real time). */
  issue(principal: DirectoryPrincipal, audience: string, groups: readonly string[], lifetimeMs?: number): string;
  /** Signature, issuer, audience and lifetime (real time, 5 minutes of clock skew as Entra allows). */
  verify(token: string, audience: string): TokenCheck;
}

const b64url = (data: Buffer | string): string => Buffer.from(data).toString('base64url');

export function createTokenIssuer(tenantId: string, secret: Buffer = randomBytes(32)): TokenIssuer {
  const issuer = `https://sts.windows.net/${tenantId}/`;
  const sign = (input: string): Buffer => createHmac('sha256', secret).update(input).digest();
  return {
    tenantId,
    issue(principal, audience, groups, lifetimeMs = 3_600_000) {
      const now = Math.floor(Date.now() / 1000);
      const claims: AccessTokenClaims = {
        aud: audience,
        iss: issuer,
        tid: tenantId,
        oid: principal.objectId,
        ...(principal.clientId === undefined ? {} : { appid: principal.clientId }),
        ...(groups.length === 0 ? {} : { groups: [...groups] }),
        iat: now,
        nbf: now,
        exp: now + Math.floor(lifetimeMs / 1000),
      };
      const head = `${b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }))}.${b64url(JSON.stringify(claims))}`;
      return `${head}.${b64url(sign(head))}`;
    },
    verify(token, audience) {
      const parts = token.split('.');
      if (parts.length !== 3) return { ok: false, why: 'not a JWT' };
      const [head, body, signature] = parts as [string, string, string];
      const expected = sign(`${head}.${body}`);
      const given = Buffer.from(signature, 'base64url');
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
        return { ok: false, why: 'signature not issued by this directory' };
      }
      let claims: AccessTokenClaims;
      try {
        claims = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as AccessTokenClaims;
      } catch {
        return { ok: false, why: 'claims are not JSON' };
      }
      if (claims.iss !== issuer) return { ok: false, why: `issuer ${claims.iss}` };
      if (claims.aud !== audience) return { ok: false, why: `audience ${claims.aud}` };
      const now = Date.now() / 1000;
      if (!(claims.exp + 300 > now) || !(claims.nbf - 300 <= now)) return { ok: false, why: 'expired or not yet valid' };
      return { ok: true, claims };
    },
  };
}

/**
 * The audience a scope such as `https://database.windows.net/.default` asks for (also the
 * `//.default` spelling Entra documents for resources ending in a slash).
 */
export function audienceOfScope(scope: string): string {
  return scope.replace(/\/*\.default$/, '').replace(/\/*$/, '/');
}
