import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { Counter, Gauge, Registry } from 'prom-client';
import { startHttpServer } from '../../../src/observability/http-server.ts';

/** GET /metrics once from a server of its own over `registry`. */
async function scrapeOnce(registry: Registry): Promise<string> {
  const own = await startHttpServer({ host: '127.0.0.1', port: 0, registry, probes: { healthy: () => true, ready: () => true } });
  try {
    return await (await fetch(`http://127.0.0.1:${(own.address() as AddressInfo).port}/metrics`)).text();
  } finally {
    await new Promise<void>((resolve) => own.close(() => resolve()));
  }
}

describe('/metrics', () => {
  const registry = new Registry();
  let collected = 0;
  let server: Server;
  let base: string;

  beforeAll(async () => {
    new Counter({ name: 'op_reconcile_total', help: 'reconciles', registers: [registry] }).inc(3);
    new Gauge({
      name: 'op_tenant_condition',
      help: 'one series per tenant',
      labelNames: ['tenant'],
      registers: [registry],
      collect() {
        collected++;
        this.set({ tenant: 'a' }, 1);
      },
    });
    server = await startHttpServer({ host: '127.0.0.1', port: 0, registry, probes: { healthy: () => true, ready: () => true } });
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const get = async (query: string) => {
    const res = await fetch(`${base}/metrics${query}`);
    return { status: res.status, text: await res.text() };
  };

  test('without a filter: every metric, each collected', async () => {
    const before = collected;
    const { status, text } = await get('');
    expect(status).toBe(200);
    expect(text).toContain('op_reconcile_total 3');
    expect(text).toContain('op_tenant_condition{tenant="a"} 1');
    expect(collected).toBe(before + 1);
  });

  test('name[] answers only the metrics named and collects nothing else', async () => {
    const before = collected;
    const { status, text } = await get('?name[]=op_reconcile_total');
    expect(status).toBe(200);
    expect(text).toContain('op_reconcile_total 3');
    expect(text).not.toContain('op_tenant_condition');
    expect(collected).toBe(before);
  });

  test('several names, an unknown one skipped', async () => {
    const { status, text } = await get('?name[]=op_tenant_condition&name[]=no_such_metric&name[]=op_reconcile_total');
    expect(status).toBe(200);
    expect(text).toContain('op_reconcile_total 3');
    expect(text).toContain('op_tenant_condition{tenant="a"} 1');
    expect(text).not.toContain('no_such_metric');
  });

  test('one family is rendered at a time; the answer holds the same lines as prom-client renders', async () => {
    const streamed = new Registry();
    let active = 0;
    let most = 0;
    for (const name of ['op_first', 'op_second', 'op_third']) {
      new Gauge({
        name,
        help: `${name} help`,
        labelNames: ['tenant'],
        registers: [streamed],
        async collect() {
          active++;
          most = Math.max(most, active);
          await new Promise((resolve) => setTimeout(resolve, 5));
          this.set({ tenant: name }, 2);
          active--;
        },
      });
    }
    const text = await scrapeOnce(streamed);
    expect(most).toBe(1);
    const lines = (t: string) => t.split('\n').filter((l) => l !== '');
    expect(lines(text)).toEqual(lines(await streamed.metrics()));
  });

  test('a family larger than the socket buffers arrives whole', async () => {
    const big = new Registry();
    const series = 60_000;
    new Gauge({
      name: 'op_big',
      help: 'many series',
      labelNames: ['tenant'],
      registers: [big],
      collect() {
        for (let i = 0; i < series; i++) this.set({ tenant: `tenant-${i}` }, i);
      },
    });
    new Counter({ name: 'op_after', help: 'after the big one', registers: [big] }).inc();
    const text = await scrapeOnce(big);
    expect(text.split('\n').filter((l) => l.startsWith('op_big{')).length).toBe(series);
    expect(text).toContain(`op_big{tenant="tenant-${series - 1}"} ${series - 1}`);
    expect(text.endsWith('op_after 1\n')).toBe(true);
  });
});
