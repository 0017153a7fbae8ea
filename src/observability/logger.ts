/**
 * Structured JSON logs (winston). A redaction format (src/observability/redaction.ts) runs on every
 * line so that a value under a secret-looking key, or a credential anywhere in any string (the
 * message included), never reaches the output.
 */
import winston from 'winston';
import { REDACTED, redact, SECRET_KEY } from './redaction.ts';

export { REDACTED, redact };

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
