/**
 * Entry point: configuration -> Kubernetes client -> operator -> signals. Wiring only.
 *
 *   node src/main.ts [--config FILE] [--kubeconfig FILE]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from './config.ts';
import { createLogger } from './observability/logger.ts';
import { Operator } from './operator.ts';
import { KubeConnection } from './runtime/kubeconfig.ts';

const { values } = parseArgs({
  options: { config: { type: 'string' }, kubeconfig: { type: 'string' } },
  allowPositionals: false,
});

let config: ReturnType<typeof loadConfig>;
try {
  config = loadConfig(values.config ? { file: values.config } : {});
} catch (err) {
  if (err instanceof ConfigError) {
    process.stderr.write(`tenant-operator: ${err.message}\n`);
    process.exit(2);
  }
  throw err;
}

const logger = createLogger({ level: config.logLevel, defaultMeta: { component: 'tenant-operator' } });
let connection: KubeConnection;
try {
  connection = KubeConnection.load({ path: values.kubeconfig });
} catch (err) {
  process.stderr.write(`tenant-operator: ${(err as Error).message}\n`);
  process.exit(2);
}

// package.json sits one level above this file, in the repository (src/) and in the image (dist/).
const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

const operator = new Operator({
  connection,
  config,
  logger,
  version,
  onLostLeadership: (reason) => {
    logger.error('leadership lost, exiting so a fresh replica can campaign', { reason });
    process.exit(1);
  },
});

let stopping = false;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    logger.info('shutting down', { signal });
    const force = setTimeout(() => process.exit(1), 25_000);
    force.unref();
    operator.stop().then(
      () => process.exit(0),
      (err: Error) => {
        logger.error('shutdown failed', { error: err.message });
        process.exit(1);
      },
    );
  });
}

operator.start().catch((err: Error) => {
  logger.error('operator failed to start', { error: err.message });
  process.exit(1);
});
