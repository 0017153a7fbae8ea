/**
 * The operator's HTTP endpoints: /healthz (the process is alive), /readyz (caches synced and,
 * for the leader, controllers running; a standby replica is ready too) and /metrics.
 *
 * `/metrics?name[]=a&name[]=b` answers only the metrics named (as the Python client does): a
 * poller that needs two counters must not make the operator render every tenant's series (2.7 MB
 * at 1000 tenants), which Prometheus asks for once per scrape interval.
 */
import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';

export interface Probes {
  healthy: () => boolean;
  ready: () => boolean;
}

export function startHttpServer(options: { host: string; port: number; registry: Registry; probes: Probes }): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const answer = (ok: boolean) => {
      res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' });
      res.end(ok ? 'ok\n' : 'not ready\n');
    };
    if (path === '/healthz') return answer(options.probes.healthy());
    if (path === '/readyz') return answer(options.probes.ready());
    if (path === '/metrics') {
      const names = new URL(req.url ?? '/', 'http://localhost').searchParams.getAll('name[]');
      metricsText(options.registry, names).then(
        (text) => {
          res.writeHead(200, { 'content-type': options.registry.contentType });
          res.end(text);
        },
        (err: Error) => {
          res.writeHead(500);
          res.end(err.message);
        },
      );
      return;
    }
    res.writeHead(404);
    res.end();
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve(server));
  });
}

/** Every metric, or only those named (unknown names are skipped, as Prometheus clients do). */
async function metricsText(registry: Registry, names: readonly string[]): Promise<string> {
  if (names.length === 0) return registry.metrics();
  const known = [...new Set(names)].filter((name) => registry.getSingleMetric(name) !== undefined);
  const parts = await Promise.all(known.map((name) => registry.getSingleMetricAsString(name)));
  return parts.map((text) => `${text}\n`).join('');
}
