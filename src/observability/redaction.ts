/**
 * What counts as a secret in text the operator writes out (logs, Events, status, audit lines), and
 * how free text a person typed is reduced before it goes anywhere. Pure functions, no I/O.
 *
 * Two layers: a value under a secret-looking key is dropped whole; any string is scanned for
 * credentials in any position (key=value pairs, Authorization headers, connection strings, URLs
 * with a password, JWTs, private keys, and the token formats of GitHub, GitLab, Azure DevOps,
 * Azure Entra client secrets, Slack, AWS, npm and OpenAI-style keys). The pattern list errs on the
 * side of redacting too much: a log line missing a word is cheap, a leaked token is not.
 */
import { createHash } from 'node:crypto';

export const REDACTED = '[REDACTED]';

/** Object keys whose values are never written out. Deliberately not bare `key`: queue keys are names. */
export const SECRET_KEY =
  /(secret|password|passwd|pwd|token|credential|connection_?string|api_?key|access_?key|account_?key|private_?key|shared_?key|master_?key|signing_?key|authorization|cookie|bearer)/i;

/** Names of key=value / key: value pairs whose value is a secret, in query strings, headers, configs, JSON. */
const SECRET_NAMES = [
  'password',
  'passwd',
  'pwd',
  'pass',
  '[a-z_]*secret',
  '[a-z_]*token',
  'api[_-]?key',
  'apikey',
  'access[_-]?key(?:[_-]?id)?',
  'secret[_-]?key',
  'account[_-]?key',
  'shared[_-]?access[_-]?key',
  'sharedaccesskey',
  'private[_-]?key',
  'sig',
  'signature',
  'credentials?',
  'x-api-key',
  'x-functions-key',
  'ocp-apim-subscription-key',
].join('|');

/** Each pattern's first group (if any) is kept: it is the name in front of the secret. */
const SECRET_PATTERNS: RegExp[] = [
  /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)/g,
  // Authorization headers and schemes, whatever the scheme's token looks like.
  /((?:authorization|proxy-authorization)["']?\s*[:=]\s*["']?)[^\r\n"',;]+/gi,
  /(\b(?:bearer|basic)\s+)[A-Za-z0-9._~+/=:%-]{8,}/gi,
  /(\b(?:token|sharedkey|sharedaccesssignature)\s+)[A-Za-z0-9._~+/=:%-]{16,}/gi,
  // name=value, name: value, "name": "value" (JSON), with or without quotes.
  new RegExp(`((?<![A-Za-z0-9])(?:${SECRET_NAMES})["']?\\s*[:=]\\s*["']?)(?!\\[REDACTED\\])[^\\s"',;&}]+`, 'gi'),
  // The password part of a URL: scheme://user:password@host.
  /(\b[a-z][a-z0-9+.-]*:\/\/[^\s:/@]*:)[^\s/@]+(?=@)/gi,
  /\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/g, // JWTs
  /\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{30,}/g, // GitHub classic tokens
  /\bgithub_pat_[A-Za-z0-9_]{30,}/g, // GitHub fine-grained PATs
  /\bglpat-[A-Za-z0-9_-]{20,}/g, // GitLab PATs
  /\b[A-Za-z0-9]{76}AZDO[A-Za-z0-9]{4}\b/g, // Azure DevOps PATs (84 characters, "AZDO" signature)
  /\b[a-z2-7]{52}\b/g, // Azure DevOps PATs (older, 52 characters of base32)
  /\b[A-Za-z0-9_~.-]{3}\dQ~[A-Za-z0-9_~.-]{31,34}/g, // Entra ID (Azure AD) client secrets
  /\bxox[abposr]-[A-Za-z0-9-]{10,}/g, // Slack
  /\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/g, // AWS access key ids
  /\bnpm_[A-Za-z0-9]{36}\b/g, // npm
  /\bsk-(?:proj-)?[A-Za-z0-9_-]{20,}/g, // OpenAI-style API keys
  /\bAIza[0-9A-Za-z_-]{35}\b/g, // Google API keys
];

/** `text` with every credential it contains replaced by [REDACTED]. */
export function redactText(text: string): string {
  return SECRET_PATTERNS.reduce(
    (s, re) => s.replace(re, (_match, name: unknown) => (typeof name === 'string' ? `${name}${REDACTED}` : REDACTED)),
    text,
  );
}

/** Deep copy of `value` with secrets replaced (keys and text). */
export function redact(value: unknown, depth = 0): unknown {
  if (depth > 8) return value;
  if (typeof value === 'string') return redactText(value);
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  if (value instanceof Error) return redactText(value.message);
  if (value !== null && typeof value === 'object' && !(value instanceof Date)) {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, SECRET_KEY.test(k) ? REDACTED : redact(v, depth + 1)]),
    );
  }
  return value;
}

/** A short, stable digest of free text: lets people match a record to what they wrote without repeating it. */
export function textDigest(text: string): string {
  return `sha256:${createHash('sha256').update(text, 'utf8').digest('hex').slice(0, 16)}`;
}

/** The longest piece of someone's free text an Event or a log line repeats. */
const FREE_TEXT_LIMIT = 120;

/**
 * Free text a person typed (an annotation value, a reason), as Events and logs may show it:
 * redacted, on one line, cut to a bounded length, and followed by its digest.
 */
export function describeFreeText(text: string): string {
  const oneLine = redactText(text).replace(/\s+/g, ' ').trim();
  const shown = oneLine.length > FREE_TEXT_LIMIT ? `${oneLine.slice(0, FREE_TEXT_LIMIT)}…` : oneLine;
  return `"${shown}" (${textDigest(text)})`;
}
