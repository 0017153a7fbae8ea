/**
 * Structured JSON logs (winston). A redaction format runs on every line so that a value under
 * a secret-looking key, or a value that looks like a credential, never reaches the output.
 */
import winston from 'winston';

const SECRET_KEY = /(secret|password|passwd|token|credential|connectionstring|apikey|api_key|privatekey|clientsecret)/i;
const SECRET_VALUE = [
  /(?:AccountKey|Password|Pwd|SharedAccessKey)=[^;\s]+/gi, // connection strings
  /eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}/g, // JWTs
  /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----/g,
];
export const REDACTED = '[REDACTED]';

/** Deep copy of `value` with secrets replaced; exported for the audit trail and tests. */
export function redact(value: unknown, depth = 0): unknown {
  if (depth > 8) return value;
  if (typeof value === 'string') return SECRET_VALUE.reduce((s, re) => s.replace(re, REDACTED), value);
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  if (value !== null && typeof value === 'object' && !(value instanceof Date)) {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, SECRET_KEY.test(k) ? REDACTED : redact(v, depth + 1)]),
    );
  }
  return value;
}

const redactFormat = winston.format((info) => {
  for (const key of Object.keys(info)) {
    if (key === 'level' || key === 'timestamp') continue;
    info[key] = SECRET_KEY.test(key) ? REDACTED : redact(info[key]);
  }
  return info;
});

export function createLogger(
  options: { level?: string; stream?: NodeJS.WritableStream; defaultMeta?: object } = {},
): winston.Logger {
  const transport = options.stream
    ? new winston.transports.Stream({ stream: options.stream })
    : new winston.transports.Console({ stderrLevels: ['error', 'warn', 'info', 'debug'] });
  return winston.createLogger({
    level: options.level ?? 'info',
    defaultMeta: options.defaultMeta,
    format: winston.format.combine(redactFormat(), winston.format.timestamp(), winston.format.json()),
    transports: [transport],
  });
}

/** A logger that drops everything, for tests that do not look at logs. */
export function silentLogger(): winston.Logger {
  return winston.createLogger({ silent: true, transports: [new winston.transports.Console({ silent: true })] });
}
