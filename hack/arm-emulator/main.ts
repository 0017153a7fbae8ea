/**
 * Runs the ARM emulator as its own process, for an operator running in another process.
 *
 *   node hack/arm-emulator/main.ts [--port 8443] [--out-dir DIR] [--lro-delay-ms 5] [--seed 1]
 *                                  [--backup-interval-minutes 10] [--restore-duration-ms 0] [--clock-running]
 *
 * `--port` defaults to $ARM_EMULATOR_PORT, else a free port. With `--out-dir`, writes `ca.pem`,
 * `endpoint` and `emulator.json` there. Prints one JSON line ({ endpoint, caPath, subscriptionId,
 * directoryTenantId, pid }) once listening, then serves until SIGINT/SIGTERM. Any bearer token is
 * accepted. Faults, clock and state are reachable over `/_emulator/*` (see README.md).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { startArmEmulator } from './index.ts';

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    host: { type: 'string' },
    'out-dir': { type: 'string' },
    'lro-delay-ms': { type: 'string' },
    seed: { type: 'string' },
    'backup-interval-minutes': { type: 'string' },
    'restore-duration-ms': { type: 'string' },
    'clock-running': { type: 'boolean' },
  },
});

const port = Number(values.port ?? process.env.ARM_EMULATOR_PORT ?? 0);
const emulator = await startArmEmulator({
  port,
  ...(values.host === undefined ? {} : { host: values.host }),
  ...(values['lro-delay-ms'] === undefined ? {} : { lroDelayMs: Number(values['lro-delay-ms']) }),
  ...(values.seed === undefined ? {} : { seed: Number(values.seed) }),
  ...(values['backup-interval-minutes'] === undefined
    ? {}
    : { backupIntervalMinutes: Number(values['backup-interval-minutes']) }),
  ...(values['restore-duration-ms'] === undefined ? {} : { restoreDurationMs: Number(values['restore-duration-ms']) }),
  ...(values['clock-running'] ? { clockRunning: true } : {}),
});

const info: Record<string, unknown> = {
  endpoint: emulator.endpoint,
  subscriptionId: emulator.subscriptionId,
  directoryTenantId: emulator.directoryTenantId,
  pid: process.pid,
};
if (values['out-dir'] !== undefined) {
  const dir = resolve(values['out-dir']);
  mkdirSync(dir, { recursive: true });
  info.caPath = join(dir, 'ca.pem');
  writeFileSync(join(dir, 'ca.pem'), emulator.ca);
  writeFileSync(join(dir, 'endpoint'), `${emulator.endpoint}\n`);
  writeFileSync(join(dir, 'emulator.json'), `${JSON.stringify(info, null, 2)}\n`);
}
process.stdout.write(`${JSON.stringify(info)}\n`);

const shutdown = (): void => {
  void emulator.stop().then(() => process.exit(0));
};
process.once('SIGINT', shutdown);
process.once('SIGTERM', shutdown);
