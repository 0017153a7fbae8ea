/**
 * Two operator processes (node src/main.ts, as in production) against one API server: exactly
 * one reconciles; SIGKILL the leader and the standby takes over within the lease timings.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { KubeClient, KubeObject } from '../../src/runtime/kube-client.ts';
import { REPO_ROOT } from '../harness/control-plane.ts';
import {
  adminClient,
  emulatorAzureConfig,
  sharedControlPlane,
  tenant,
  typeOf,
  waitFor,
  waitForReady,
} from '../harness/fixtures.ts';

const info = sharedControlPlane();
const LEASE = 'leader-election-test';
/**
 * controller-runtime's proportions (15 s / 10 s / 2 s) at about half the length: the protocol is the
 * same, and each handover below waits one lease duration (three of them in this file).
 */
const LEASE_TIMINGS = { leaseDurationSeconds: 8, renewDeadlineSeconds: 6, retryPeriodSeconds: 2 };
let admin: KubeClient;
let dir: string;
const processes: { child: ChildProcess; port: number; identity: string }[] = [];

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

async function spawnOperator(identityHint: string): Promise<{ child: ChildProcess; port: number; identity: string }> {
  const port = await freePort();
  const configFile = join(dir, `${identityHint}.yaml`);
  writeFileSync(
    configFile,
    JSON.stringify({
      http: { port, host: '127.0.0.1' },
      leaderElection: { leaseName: LEASE, namespace: 'tenant-operator-system', ...LEASE_TIMINGS },
      logLevel: 'warn',
      azure: emulatorAzureConfig(info.arm),
    }),
  );
  const child = spawn(process.execPath, ['src/main.ts', '--kubeconfig', info.operatorKubeconfig, '--config', configFile], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  child.stderr?.resume();
  await waitFor(`${identityHint} ready`, async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200);
  const entry = { child, port, identity: `pid-${child.pid}` };
  processes.push(entry);
  return entry;
}

async function metric(port: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return text
    .split('\n')
    .filter((l) => l.startsWith(name))
    .reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
}

async function leaseHolder(): Promise<string | undefined> {
  const lease = await admin.request<KubeObject & { spec?: { holderIdentity?: string } }>(
    'GET',
    `/apis/coordination.k8s.io/v1/namespaces/tenant-operator-system/leases/${LEASE}`,
  );
  return lease.spec?.holderIdentity || undefined;
}

beforeAll(() => {
  admin = adminClient(info.adminKubeconfig);
  dir = mkdtempSync(join(tmpdir(), 'tenant-operator-le-'));
});

afterAll(async () => {
  for (const { child } of processes) if (child.exitCode === null) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

test('exactly one of two replicas reconciles, and a killed leader is replaced within the lease timings', async () => {
  const a = await spawnOperator('a');
  const b = await spawnOperator('b');
  const leaderPort = await waitFor('a leader', async () => {
    const [la, lb] = [await metric(a.port, 'tenant_operator_leader'), await metric(b.port, 'tenant_operator_leader')];
    if (la + lb !== 1) return undefined;
    return la === 1 ? a.port : b.port;
  });
  const leader = leaderPort === a.port ? a : b;
  const standby = leader === a ? b : a;
  expect(await leaseHolder()).toContain(String(leader.child.pid));

  await admin.apply(typeOf('Tenant'), tenant('le-one'), 'test');
  await waitForReady(admin, 'le-one');
  expect(await metric(leader.port, 'tenant_operator_reconcile_total')).toBeGreaterThan(0);
  expect(await metric(standby.port, 'tenant_operator_reconcile_total')).toBe(0);
  expect(await metric(standby.port, 'tenant_operator_leader')).toBe(0);

  const killedAt = Date.now();
  leader.child.kill('SIGKILL');
  await waitFor('standby takes over', async () => (await metric(standby.port, 'tenant_operator_leader')) === 1, 30_000);
  const handoverMs = Date.now() - killedAt;
  // Worst case by design: lease duration (8 s) + two retry periods (2 s each) = 12 s; allow 5 s of CI slack.
  expect(handoverMs).toBeLessThan(17_000);
  expect(await leaseHolder()).toContain(String(standby.child.pid));
  process.stdout.write(`leader handover after SIGKILL: ${handoverMs} ms\n`);

  await admin.apply(typeOf('Tenant'), tenant('le-two'), 'test');
  await waitForReady(admin, 'le-two');
  expect(await metric(standby.port, 'tenant_operator_reconcile_total')).toBeGreaterThan(0);

  // SIGTERM is a graceful shutdown: in-flight work finishes, the lease is released, exit code 0.
  const exited = new Promise<number | null>((resolve) => standby.child.once('exit', (code) => resolve(code)));
  const termAt = Date.now();
  standby.child.kill('SIGTERM');
  expect(await exited).toBe(0);
  expect(Date.now() - termAt).toBeLessThan(10_000);
  expect(await leaseHolder()).toBeUndefined();
}, 90_000);

describe('a leader that loses its lease', () => {
  test('stops reconciling at once, and leads again once the lease is free', async () => {
    const { startOperator } = await import('../harness/fixtures.ts');
    const lease = 'stolen-lease';
    const operator = await startOperator({ info, leaseName: lease, config: { leaderElection: LEASE_TIMINGS } });
    try {
      await waitFor('leading', () => operator.isLeader);
      // Another holder takes the lease and keeps it fresh for a while.
      const path = `/apis/coordination.k8s.io/v1/namespaces/tenant-operator-system/leases/${lease}`;
      const steal = async () => {
        const current = await admin.request<KubeObject & { spec: Record<string, unknown> }>('GET', path);
        const now = new Date().toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
        await admin.request('PUT', path, {
          body: { ...current, spec: { ...current.spec, holderIdentity: 'thief', renewTime: now } },
        });
      };
      await steal();
      const keepStolen = setInterval(() => void steal().catch(() => {}), 1000);
      await waitFor('leadership lost', () => !operator.isLeader, 20_000);
      await admin.apply(typeOf('Tenant'), tenant('while-stolen'), 'test');
      await new Promise((r) => setTimeout(r, 2000));
      const meanwhile = await admin.get(typeOf('Tenant'), 'while-stolen');
      expect(meanwhile.status).toEqual({ observedGeneration: 0 }); // nobody reconciled it (the CRD's default on read)
      clearInterval(keepStolen);
      await waitFor('leading again', () => operator.isLeader, 30_000);
      await waitForReady(admin, 'while-stolen');
    } finally {
      await operator.stop();
    }
  }, 90_000);
});
