import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { Counter, Gauge, Registry } from 'prom-client';
import { startHttpServer } from '../../../src/observability/http-server.ts';

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
});
