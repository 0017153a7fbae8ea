/**
 * Fenced leadership under a frozen connection: the leader reaches the API server through a TCP
 * proxy that freezes for 25 s (longer than the 15 s lease) while the leader is in the middle of
 * provisioning tenants; a standby reaches the server directly. The standby takes over; the old
 * leader must have stopped before that (never two leaders at once), and — read from the API
 * server's own audit log, where each replica's User-Agent names it — nothing the old leader sent
 * is written after the new leader took the lease, not even what it had sent before the freeze
 * and the network delivered on thaw.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import type { Operator } from '../../src/operator.ts';
import type { KubeClient } from '../../src/runtime/kube-client.ts';
import { adminClient, sharedControlPlane, startOperator, tenant, typeOf, waitFor, waitForReady } from '../harness/fixtures.ts';
import { FrozenProxy } from '../harness/frozen-proxy.ts';

const info = sharedControlPlane();
const LEASE = 'fenced-leadership';
const OLD = 'fence-old';
const NEW = 'fence-new';
/** As in the fault report: longer than the lease (15 s), shorter than a request's own timeout (30 s). */
const FREEZE_MS = 25_000;
const TENANTS = ['fence-a', 'fence-b', 'fence-c', 'fence-d', 'fence-e', 'fence-f'];
const WRITES = new Set(['create', 'update', 'patch', 'delete', 'deletecollection']);

interface AuditLine {
  stage: string;
  verb: string;
  userAgent?: string;
  requestReceivedTimestamp: string;
  objectRef?: { resource?: string; name?: string; namespace?: string; subresource?: string };
  responseStatus?: { code?: number };
}

let admin: KubeClient;
let proxy: FrozenProxy;
const operators: Operator[] = [];

function audit(): AuditLine[] {
  return readFileSync(info.auditLog, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as AuditLine)
    .filter((e) => e.stage === 'ResponseComplete');
}

const by = (identity: string) => (e: AuditLine) => e.userAgent?.startsWith(`tenant-operator/${identity}`) === true;
const succeededWrite = (e: AuditLine) => WRITES.has(e.verb) && (e.responseStatus?.code ?? 0) < 400;

beforeAll(async () => {
  admin = adminClient(info.adminKubeconfig);
  proxy = new FrozenProxy(Number(new URL(info.server).port));
  const port = await proxy.start();
  const proxied = join(info.dir, 'operator-through-proxy.kubeconfig');
  writeFileSync(proxied, readFileSync(info.operatorKubeconfig, 'utf8').replace(info.server, `https://127.0.0.1:${port}`));
  operators.push(await startOperator({ info: { ...info, operatorKubeconfig: proxied }, identity: OLD, leaseName: LEASE }));
}, 60_000);

afterAll(async () => {
  proxy.thaw();
  for (const operator of operators) await operator.stop();
  await proxy.stop();
  for (const name of TENANTS) await admin.delete(typeOf('Tenant'), name).catch(() => {});
});

test('a leader cut off from the API server stops before the standby takes over, and none of its writes land afterwards', async () => {
  const [old] = operators as [Operator];
  await waitFor('old leader elected', () => old.isLeader);
  const standby = await startOperator({ info, identity: NEW, leaseName: LEASE });
  operators.push(standby);

  // Never two leaders: sampled throughout, from before the freeze until after the thaw.
  let bothLed = 0;
  const sampler = setInterval(() => {
    if (old.isLeader && standby.isLeader) bothLed++;
  }, 20);

  const mark = audit().length;
  for (const name of TENANTS) await admin.apply(typeOf('Tenant'), tenant(name), 'test');
  // Freeze in the middle of the work: as soon as the old leader has written for one of them.
  await waitFor('old leader provisioning', () =>
    audit()
      .slice(mark)
      .some((e) => by(OLD)(e) && succeededWrite(e) && e.objectRef?.resource === 'namespaces'),
  );
  proxy.freeze();
  const frozenAt = Date.now();

  await waitFor('standby takes over', () => standby.isLeader, FREEZE_MS);
  const oldLedAtTakeover = old.isLeader;
  await waitFor('the end of the freeze', () => Date.now() - frozenAt >= FREEZE_MS, FREEZE_MS + 5_000);
  proxy.thaw();

  // The old replica's connection works again: once its cache sees a Tenant created after the thaw,
  // everything it had held or queued has had its chance to reach the server.
  await admin.apply(typeOf('Tenant'), tenant('fence-after-thaw'), 'test');
  TENANTS.push('fence-after-thaw');
  await waitFor('old replica sees the cluster again', () => old.ctx.caches.tenants.get('fence-after-thaw') !== undefined, 30_000);
  for (const name of TENANTS) await waitForReady(admin, name, 60_000);
  clearInterval(sampler);

  const lines = audit().slice(mark);
  const leaseWrite = (e: AuditLine) => succeededWrite(e) && e.objectRef?.resource === 'leases' && e.objectRef.name === LEASE;
  const takeover = lines.find((e) => by(NEW)(e) && leaseWrite(e));
  expect(takeover).toBeDefined();
  const takenAt = (takeover as AuditLine).requestReceivedTimestamp;
  // Should the new leader in turn lose the lease (a starved machine), the old replica may win it
  // back, legitimately: its writes from then on belong to a new term. A stale renew cannot win
  // (its resourceVersion is out of date), so a successful lease write is a real acquisition.
  const regainedAt = lines.find(
    (e) => by(OLD)(e) && leaseWrite(e) && e.requestReceivedTimestamp > takenAt,
  )?.requestReceivedTimestamp;
  const oldWrites = lines.filter((e) => by(OLD)(e) && succeededWrite(e));
  const late = oldWrites
    .filter((e) => e.requestReceivedTimestamp >= takenAt && (regainedAt === undefined || e.requestReceivedTimestamp < regainedAt))
    .map(
      (e) =>
        `${e.requestReceivedTimestamp} ${e.verb} ${e.objectRef?.resource}/${e.objectRef?.subresource ?? ''} ${e.objectRef?.namespace ?? ''}/${e.objectRef?.name}`,
    );
  process.stdout.write(
    `fenced leadership: frozen at ${new Date(frozenAt).toISOString()}, lease taken over at ${takenAt}` +
      `${regainedAt ? `, won back by the old replica at ${regainedAt}` : ''}; old leader wrote ` +
      `${oldWrites.length - late.length} times outside, ${late.length} after losing the lease; ` +
      `${proxy.droppedRequests} abandoned connection(s) with unsent bytes dropped; two leaders in ${bothLed} samples\n`,
  );
  expect(oldWrites.length).toBeGreaterThan(0);
  expect(late).toEqual([]);
  expect({ oldLedAtTakeover, samplesWithTwoLeaders: bothLed }).toEqual({ oldLedAtTakeover: false, samplesWithTwoLeaders: 0 });
}, 150_000);
