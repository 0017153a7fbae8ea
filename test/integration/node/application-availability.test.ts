/**
 * ApplicationAvailable follows a real rollout on the suite's one-node cluster
 * (test/harness/node-cluster.ts): the deployment controller and the kubelet write the Deployment's
 * status, never the test. A tenant becomes Available and Ready from a real pod; a version no
 * registry has rolls out while the old pod keeps serving; a progress deadline the platform team
 * sets makes the stuck rollout RolloutStuck; and going back to a good version makes it Available
 * again. A version bump outside the tenant's maintenance window leaves the running pods alone, and
 * rolls out for real when the (injected) clock enters the window. (RolloutPending, a generation the
 * controller has not observed yet, lasts milliseconds on a real cluster:
 * test/integration/application.test.ts holds it without a controller.)
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { Operator } from '../../../src/operator.ts';
import { ManualClock } from '../../../src/runtime/clock.ts';
import type { KubeClient, KubeObject } from '../../../src/runtime/kube-client.ts';
import {
  adminClient,
  condition,
  sharedNodeCluster,
  startOperator,
  type TenantWithStatus,
  tenant,
  typeOf,
  waitFor,
  waitForReady,
} from '../../harness/fixtures.ts';
import { type NodeClient, TEST_APP_IMAGE, TEST_APP_VERSIONS } from '../../harness/node.ts';
import { ATTACH_TIMEOUT_MS, type AttachedNodeCluster } from '../../harness/node-cluster.ts';

const NAME = 'rollout';
const NS = 'tenant-rollout-dev';
const APP_SELECTOR = 'app.kubernetes.io/name=tenant-app';
const GOOD = TEST_APP_VERSIONS[0] as string;
/** A tag of the test application no node has and no registry serves: its pull fails for real. */
const MISSING = '9.9.9';
/** Generous: a loaded 2-core machine starts a pod in seconds, but CI machines are slower still. */
const ROLLOUT_TIMEOUT_MS = 120_000;
/** The operator's clock: a Sunday, outside the window below (Wednesdays 02:00-05:00 in Amsterdam). */
const clock = new ManualClock('2026-11-22T12:00:00Z');
const IN_WINDOW = '2026-11-25T02:00:00Z';
const GATED = 'gated';
const GATED_NS = 'tenant-gated-dev';

let cluster: AttachedNodeCluster | undefined;
let admin: KubeClient;
let node: NodeClient | undefined;
let operator: Operator | undefined;
let emergencies = 0;

type DeploymentObject = KubeObject & {
  spec: { template: { spec: { containers: { image: string }[] } }; progressDeadlineSeconds?: number };
  status?: { conditions?: { type: string; status: string; reason?: string; message?: string }[] };
};

/** The tenant at `version`, applied at once (a version change otherwise waits for the maintenance window). */
async function applyVersion(version: string): Promise<void> {
  const t = tenant(NAME, { image: TEST_APP_IMAGE, version });
  // A new reason each time: the same emergency reason does not apply a later change.
  emergencies += 1;
  t.metadata.annotations = { 'tenancy.dev/apply-now': `availability test #${emergencies}: version ${version}` };
  await admin.apply(typeOf('Tenant'), t, 'test');
}

/** ApplicationAvailable once it has `reason` (and `message`, if given) for the tenant's current generation. */
function availabilityWith(reason: string, message?: string, name = NAME) {
  return waitFor(
    `ApplicationAvailable ${reason} for ${name}`,
    async () => {
      const t = await admin.get<TenantWithStatus>(typeOf('Tenant'), name);
      const available = condition(t, 'ApplicationAvailable');
      const matches = available?.reason === reason && (message === undefined || available.message === message);
      return matches && available?.observedGeneration === t.metadata.generation ? available : undefined;
    },
    ROLLOUT_TIMEOUT_MS,
  );
}

async function deployment(): Promise<DeploymentObject> {
  return admin.get<DeploymentObject>(typeOf('Deployment'), 'tenant-app', NS);
}

beforeAll(async () => {
  cluster = await sharedNodeCluster('node/application-availability.test.ts');
  node = cluster.node;
  admin = adminClient(cluster.cluster.adminKubeconfig);
  // Kubernetes only (no Azure here): served without a per-tenant WAF policy, so the tenant can be Ready.
  await admin.apply(
    typeOf('MaintenanceWindow'),
    {
      apiVersion: 'tenancy.dev/v1alpha1',
      kind: 'MaintenanceWindow',
      metadata: { name: 'node-window' },
      spec: { timeZone: 'Europe/Amsterdam', recurrences: [{ days: ['Wednesday'], start: '02:00', duration: '3h' }] },
    },
    'test',
  );
  operator = await startOperator({
    info: cluster.cluster,
    leaseName: 'application-availability',
    clock,
    // This file is about windows, not advance notice: no notice owed.
    config: { frontDoor: { exposeWithoutWafPolicy: true }, maintenance: { noticeHours: 0 } },
  });
}, ATTACH_TIMEOUT_MS);

afterAll(async () => {
  await operator?.stop();
  await cluster?.detach();
}, 240_000);

describe('ApplicationAvailable on a real node', () => {
  test(
    'a new tenant: its pod runs and passes its probes, and the tenant is Available and Ready',
    async () => {
      await applyVersion(GOOD);
      const available = await availabilityWith('Available');
      expect(available).toMatchObject({ status: 'True', message: '1 of 1 replicas are available and run the current version.' });
      await waitForReady(admin, NAME, ROLLOUT_TIMEOUT_MS);
      expect(await node?.readyPods(NS, APP_SELECTOR)).toHaveLength(1);
      // Written by the real deployment controller, not by a stand-in.
      const d = await deployment();
      expect(d.status?.conditions?.find((c) => c.type === 'Available')).toMatchObject({
        status: 'True',
        reason: 'MinimumReplicasAvailable',
        message: 'Deployment has minimum availability.',
      });
    },
    ROLLOUT_TIMEOUT_MS * 2,
  );

  test(
    'a version whose image cannot be pulled: RollingOut, the tenant not Ready, the old pod still serving',
    async () => {
      await applyVersion(MISSING);
      // First "0 of 1 replicas run the current version" until the new ReplicaSet exists, then, for as
      // long as its pod cannot pull, the surge pod is updated and the old one waits to be replaced.
      const rolling = await availabilityWith('RollingOut', 'Rolling out: 1 old replicas are pending termination.');
      expect(rolling.status).toBe('False');
      const t = await admin.get<TenantWithStatus>(typeOf('Tenant'), NAME);
      expect(condition(t, 'Ready')?.status).not.toBe('True');
      await waitFor(
        'the new pod failing to pull its image',
        async () => {
          const pods = await admin.request<{
            items: { status?: { containerStatuses?: { state?: { waiting?: { reason?: string } } }[] } }[];
          }>('GET', `/api/v1/namespaces/${NS}/pods?labelSelector=${encodeURIComponent(APP_SELECTOR)}`);
          return pods.items.some((p) =>
            ['ErrImagePull', 'ImagePullBackOff'].includes(p.status?.containerStatuses?.[0]?.state?.waiting?.reason ?? ''),
          );
        },
        ROLLOUT_TIMEOUT_MS,
      );
      // maxUnavailable 0: the old pod stays Ready while the new one cannot start.
      expect(await node?.readyPods(NS, APP_SELECTOR)).toHaveLength(1);
    },
    ROLLOUT_TIMEOUT_MS * 2,
  );

  test(
    'past the progress deadline the platform team set: RolloutStuck, with the deployment controller’s message',
    async () => {
      // The operator does not own progressDeadlineSeconds: another field manager may set it, and keeps it.
      await admin.request('PATCH', `/apis/apps/v1/namespaces/${NS}/deployments/tenant-app`, {
        body: { spec: { progressDeadlineSeconds: 5 } },
        contentType: 'application/merge-patch+json',
      });
      const stuck = await availabilityWith('RolloutStuck');
      expect(stuck.status).toBe('False');
      expect(stuck.message).toContain('has timed out progressing');
      expect((await deployment()).spec.progressDeadlineSeconds).toBe(5);
    },
    ROLLOUT_TIMEOUT_MS * 2,
  );

  test(
    'back to a version the node has: the rollout completes and the tenant is Available again',
    async () => {
      await applyVersion(GOOD);
      const available = await availabilityWith('Available');
      expect(available.status).toBe('True');
      await waitFor(
        'only the good version’s pod left',
        async () => {
          const pods = await admin.request<{ items: { spec: { containers: { image: string }[] } }[] }>(
            'GET',
            `/api/v1/namespaces/${NS}/pods?labelSelector=${encodeURIComponent(APP_SELECTOR)}`,
          );
          return pods.items.length === 1 && pods.items[0]?.spec.containers[0]?.image === `${TEST_APP_IMAGE}:${GOOD}`;
        },
        ROLLOUT_TIMEOUT_MS,
      );
      expect(await node?.readyPods(NS, APP_SELECTOR)).toHaveLength(1);
    },
    ROLLOUT_TIMEOUT_MS * 2,
  );
});

/** The gated tenant at `version`, in the window above; `touch` changes a label only (any event requeues it). */
function gated(version: string, touch?: string): KubeObject {
  const t = tenant(GATED, { image: TEST_APP_IMAGE, version }) as KubeObject & { spec: Record<string, unknown> };
  t.spec.maintenanceWindowRef = { name: 'node-window' };
  if (touch) t.metadata.labels = { touched: touch };
  return t;
}

async function podImages(namespace: string): Promise<string[]> {
  const pods = await admin.request<{ items: { spec: { containers: { image: string }[] } }[] }>(
    'GET',
    `/api/v1/namespaces/${namespace}/pods?labelSelector=${encodeURIComponent(APP_SELECTOR)}`,
  );
  return pods.items.map((p) => p.spec.containers[0]?.image ?? '');
}

describe('a maintenance-gated rollout on a real node', () => {
  const [OLD, NEW] = TEST_APP_VERSIONS as [string, string];

  test(
    'a version bump outside the window is held: UpdatePending, and the pod keeps running the old version',
    async () => {
      await admin.apply(typeOf('Tenant'), gated(OLD), 'test');
      await availabilityWith('Available', undefined, GATED);
      await admin.apply(typeOf('Tenant'), gated(NEW), 'test');
      // Held, and still available on the old version (the operator may first report the status
      // it had cached; it settles on the Deployment's own).
      const held = await waitFor(
        'UpdatePending, and ApplicationAvailable True',
        async () => {
          const t = await admin.get<TenantWithStatus>(typeOf('Tenant'), GATED);
          const current = (type: string) => {
            const c = condition(t, type);
            return c?.observedGeneration === t.metadata.generation ? c : undefined;
          };
          const available = current('ApplicationAvailable');
          if (available && available.status !== 'True')
            throw new Error(`ApplicationAvailable ${available.reason}: ${available.message}`);
          return current('UpdatePending')?.status === 'True' && available ? t : undefined;
        },
        ROLLOUT_TIMEOUT_MS,
      );
      expect(condition(held, 'UpdatePending')?.reason).toBe('WaitingForWindow');
      expect(await podImages(GATED_NS)).toEqual([`${TEST_APP_IMAGE}:${OLD}`]);
      expect(await node?.readyPods(GATED_NS, APP_SELECTOR)).toHaveLength(1);
    },
    ROLLOUT_TIMEOUT_MS * 2,
  );

  test(
    'when the clock enters the window, the new version rolls out, never below one ready pod',
    async () => {
      clock.set(IN_WINDOW);
      await admin.apply(typeOf('Tenant'), gated(NEW, 'window'), 'test');
      let fewest = Number.POSITIVE_INFINITY;
      await waitFor(
        'the new version running and available',
        async () => {
          fewest = Math.min(fewest, (await node?.readyPods(GATED_NS, APP_SELECTOR))?.length ?? 0);
          const t = await admin.get<TenantWithStatus>(typeOf('Tenant'), GATED);
          const available = condition(t, 'ApplicationAvailable');
          const images = await podImages(GATED_NS);
          return (
            condition(t, 'UpdatePending')?.status === 'False' &&
            available?.status === 'True' &&
            available.observedGeneration === t.metadata.generation &&
            images.length === 1 &&
            images[0] === `${TEST_APP_IMAGE}:${NEW}`
          );
        },
        ROLLOUT_TIMEOUT_MS,
      );
      expect(fewest).toBeGreaterThanOrEqual(1);
      expect(await node?.readyPods(GATED_NS, APP_SELECTOR)).toHaveLength(1);
    },
    ROLLOUT_TIMEOUT_MS * 2,
  );
});
