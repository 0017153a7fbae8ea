/**
 * A real Prometheus server for tests (Debian's `prometheus` package, hack/tools/apt-packages.txt):
 * scrapes the given targets every second under one job, loads rule files, evaluates rules every
 * second, and answers PromQL through its HTTP API. `stop()` kills the process and removes its
 * directory.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { tool } from '../unit/delivery/tools.ts';

/** One sample of an instant query. */
export interface PromSample {
  metric: Record<string, string>;
  /** Unix seconds and the value as Prometheus prints it ("1", "NaN", "+Inf"). */
  value: [number, string];
}

export interface PrometheusOptions {
  /** The job name of the scrape config (what `up{job=...}` says). */
  job: string;
  /** `host:port` of each target's /metrics. */
  targets: string[];
  ruleFiles?: string[];
  /** More scrape configurations, as Prometheus reads them (the uptime test's Probe translations). */
  scrapeConfigs?: Record<string, unknown>[];
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

export class Prometheus {
  readonly dir = mkdtempSync(join(tmpdir(), 'tenant-operator-prometheus-'));
  #child: ChildProcess | undefined;
  #port = 0;
  #log = '';

  get url(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  /** Starts the server and waits until it is ready (its rule files loaded). */
  async start(options: PrometheusOptions): Promise<void> {
    this.#port = await freePort();
    const config = join(this.dir, 'prometheus.yaml');
    writeFileSync(
      config,
      stringify({
        global: { scrape_interval: '1s', scrape_timeout: '1s', evaluation_interval: '1s' },
        rule_files: options.ruleFiles ?? [],
        scrape_configs: [
          { job_name: options.job, static_configs: [{ targets: options.targets }] },
          ...(options.scrapeConfigs ?? []),
        ],
      }),
    );
    this.#child = spawn(
      tool('prometheus'),
      [
        `--config.file=${config}`,
        `--storage.tsdb.path=${join(this.dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${this.#port}`,
        '--log.level=warn',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    this.#child.stderr?.on('data', (chunk: Buffer) => {
      this.#log = (this.#log + chunk.toString()).slice(-8000);
    });
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      if (this.#child.exitCode !== null) throw new Error(`prometheus exited ${this.#child.exitCode}:\n${this.#log}`);
      const ready = await fetch(`${this.url}/-/ready`).then(
        (r) => r.ok,
        () => false,
      );
      if (ready) return;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`prometheus not ready after 60 s:\n${this.#log}`);
  }

  /** An instant query at `time` (Unix seconds; default now). Throws with Prometheus' error. */
  async query(expr: string, time?: number): Promise<PromSample[]> {
    const params = new URLSearchParams({ query: expr, ...(time === undefined ? {} : { time: String(time) }) });
    const body = (await (await fetch(`${this.url}/api/v1/query?${params}`)).json()) as {
      status: string;
      error?: string;
      data?: { resultType: string; result: PromSample[] | [number, string] };
    };
    if (body.status !== 'success' || !body.data) throw new Error(`${expr}: ${body.error ?? body.status}`);
    // A scalar (time(), a number) as one sample without labels.
    return body.data.resultType === 'scalar'
      ? [{ metric: {}, value: body.data.result as [number, string] }]
      : (body.data.result as PromSample[]);
  }

  /** Values of a label over the series that match `match` (the API behind Grafana's label_values). */
  async labelValues(label: string, match: string): Promise<string[]> {
    const params = new URLSearchParams({ 'match[]': match });
    const body = (await (await fetch(`${this.url}/api/v1/label/${label}/values?${params}`)).json()) as { data: string[] };
    return body.data;
  }

  /** What Prometheus logged last (warnings and errors), for failure messages. */
  get log(): string {
    return this.#log;
  }

  async stop(): Promise<void> {
    const child = this.#child;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
