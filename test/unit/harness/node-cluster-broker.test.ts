/**
 * The node cluster broker (test/harness/node-cluster.ts) with a stand-in cluster: it starts the
 * cluster once, gives it to one file at a time, empties it between files, refuses a detach from a
 * file that does not hold it, and replaces a holder whose process died.
 */
import { spawn } from 'node:child_process';
import { afterEach, describe, expect, test } from '@jest/globals';
import type { ControlPlaneInfo } from '../../harness/control-plane.ts';
import { NodeClusterBroker, type NodeClusterInfo, type RunningNodeCluster } from '../../harness/node-cluster.ts';

const INFO: NodeClusterInfo = {
  cluster: { server: 'https://127.0.0.1:1' } as ControlPlaneInfo,
  node: { testApp: '/nowhere/testapp', adminKubeconfig: '/nowhere/admin.kubeconfig' },
  startSeconds: 1.5,
  nodeStartSeconds: 1,
};

function fakeCluster() {
  const calls = { starts: 0, resets: 0, stops: 0 };
  const start = async (): Promise<RunningNodeCluster> => {
    calls.starts++;
    return {
      info: INFO,
      reset: async () => {
        calls.resets++;
      },
      stop: async () => {
        calls.stops++;
      },
    };
  };
  return { calls, start };
}

async function call(url: string, path: 'attach' | 'detach', file: string, pid = process.pid) {
  const res = await fetch(`${url}/${path}?file=${encodeURIComponent(file)}&pid=${pid}`, { method: 'POST' });
  return { status: res.status, body: (await res.json()) as NodeClusterInfo & { error?: string } };
}

let broker: NodeClusterBroker | undefined;
afterEach(async () => {
  await broker?.stop();
  broker = undefined;
});

describe('the node cluster broker', () => {
  test('starts the cluster once, for the first file, and hands it to one file at a time, emptied in between', async () => {
    const { calls, start } = fakeCluster();
    broker = new NodeClusterBroker(start);
    const url = await broker.listen();
    const order: string[] = [];
    const first = await call(url, 'attach', 'a.test.ts');
    expect(first).toEqual({ status: 200, body: INFO });
    const second = call(url, 'attach', 'b.test.ts').then((r) => {
      order.push('b attached');
      return r;
    });
    const refused = await call(url, 'detach', 'b.test.ts');
    expect(refused.status).toBe(500);
    expect(refused.body.error).toBe('b.test.ts detaches from the node cluster, but a.test.ts holds it');
    order.push('a detaches');
    expect((await call(url, 'detach', 'a.test.ts')).status).toBe(200);
    // The second file was started on nothing new: the same cluster, so no start time of its own.
    expect(await second).toEqual({ status: 200, body: { ...INFO, startSeconds: 0 } });
    expect(order).toEqual(['a detaches', 'b attached']);
    expect(calls).toEqual({ starts: 1, resets: 1, stops: 0 });
    await broker.stop();
    broker = undefined;
    expect(calls.stops).toBe(1);
  });

  test('a holder whose process died is replaced, and what it left is removed first', async () => {
    const { calls, start } = fakeCluster();
    broker = new NodeClusterBroker(start);
    const url = await broker.listen();
    const child = spawn('true');
    const dead = child.pid as number;
    await new Promise((r) => child.once('exit', r));
    expect((await call(url, 'attach', 'crashed.test.ts', dead)).status).toBe(200);
    expect((await call(url, 'attach', 'next.test.ts')).status).toBe(200);
    expect(calls).toEqual({ starts: 1, resets: 1, stops: 0 });
  });

  test('a cluster that cannot start fails each file with the reason at once, and no file is left holding it', async () => {
    broker = new NodeClusterBroker(async () => {
      throw new Error('the test node cannot start; missing:\n- bin/kubelet');
    });
    const url = await broker.listen();
    for (const file of ['a.test.ts', 'b.test.ts']) {
      const res = await call(url, 'attach', file);
      expect(res).toEqual({ status: 500, body: { error: 'the test node cannot start; missing:\n- bin/kubelet' } });
    }
  });
});
