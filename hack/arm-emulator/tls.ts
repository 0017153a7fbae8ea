/** A throwaway self-signed TLS certificate for the emulator, made with the `openssl` CLI. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TlsMaterial {
  /** PEM certificate; also the CA clients must trust (it is self-signed). */
  cert: string;
  /** PEM private key. */
  key: string;
}

/**
 * Generate a P-256 self-signed certificate valid for `127.0.0.1`, `::1`, `localhost` and
 * `*.database.windows.net` (the SQL data plane's TDS endpoint is reached by the server's real name), for two days.
 *
 * Why openssl: node:crypto can make keys but not X.509 certificates. The certificate is its own CA
 * (`basicConstraints CA:TRUE`), so clients pass it as `tlsOptions.ca`, which replaces Mozilla's
 * roots for that client only.
 */
export function generateSelfSignedCertificate(): TlsMaterial {
  const dir = mkdtempSync(join(tmpdir(), 'arm-emulator-tls-'));
  try {
    const keyPath = join(dir, 'key.pem');
    const certPath = join(dir, 'cert.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        keyPath,
        '-out',
        certPath,
        '-days',
        '2',
        '-subj',
        '/CN=arm-emulator',
        '-addext',
        'subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost,DNS:*.database.windows.net',
        '-addext',
        'basicConstraints=critical,CA:TRUE',
        '-addext',
        'keyUsage=critical,digitalSignature,keyCertSign',
        '-addext',
        'extendedKeyUsage=serverAuth',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    return { cert: readFileSync(certPath, 'utf8'), key: readFileSync(keyPath, 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
