/**
 * The operator's Probes on a real API server that serves the Prometheus Operator's Probe CRD (its
 * own control plane, so no other test's operator sees the kind): none while the tenant is not
 * exposed, one once its front door is configured (accepted by the real CRD schema and by the
 * blast-radius admission policy, written as the operator's restricted user), kept when the front
 * door breaks later (that is downtime to count), deleted when `uptime.probes` is turned off.
 * Kubernetes-only mode: the front door is exposed by `frontDoor.exposeWithoutWafPolicy`.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { Operator } from '../../../src/operator.ts';
import type { KubeClient, KubeObject } from '../../../src/runtime/kube-client.ts';
import { PROBE_NAME, UPTIME_JOB } from '../../../src/uptime/probe.ts';
import {
  installAdmissionPolicy,
  installCrds,
  installPlatformDefaults,
  installPrometheusOperatorCrds,
  installRbac,
  installThirdPartyCrds,
} from '../../harness/cluster-setup.ts';
import { ControlPlane } from '../../harness/control-plane.ts';
import { adminClient, condition, startOperator, type TenantWithStatus, tenant, typeOf, waitFor } from '../../harness/fixtures.ts';

const cp = new ControlPlane();
let admin: KubeClient;
let info: Awaited<ReturnType<ControlPlane['start']>>;
let operator: Operator | undefined;

const NAME = 'probed';
const NAMESPACE = `tenant-${NAME}-prod`;

beforeAll(async () => {
  info = await cp.start();
  admin = adminClient(info.adminKubeconfig);
  await installCrds(admin);
  await installThirdPartyCrds(admin);
  await installPrometheusOperatorCrds(admin);
  await installRbac(admin);
  await installPlatformDefaults(admin);
  await installAdmissionPolicy(admin, info.operatorKubeconfig);
}, 120_000);

afterAll(async () => {
  await operator?.stop();
  await cp.stop();
});

/** One operator at a time, Kubernetes-only, with this front-door and uptime configuration. */
async function runOperator(exposed: boolean, probes = true): Promise<void> {
  await operator?.stop();
  operator = await startOperator({
    info,
    config: {
      frontDoor: { exposeWithoutWafPolicy: exposed },
      uptime: { probes, labels: { release: 'kube-prometheus-stack' } },
    },
  });
}

async function ingress(status: 'True' | 'False', reason: string) {
  return waitFor(`IngressReady ${status} ${reason}`, async () => {
    const t = await admin.get<TenantWithStatus>(typeOf('Tenant'), NAME);
    const c = condition(t, 'IngressReady');
    return c?.status === status && c.reason === reason && t.status?.observedGeneration === t.metadata.generation ? t : undefined;
  });
}

const probe = () => admin.get<KubeObject & { spec?: unknown }>(typeOf('Probe'), PROBE_NAME, NAMESPACE).catch(() => undefined);

describe('the tenant’s uptime Probe', () => {
  test('not exposed yet: no Probe (a tenant being created is not down)', async () => {
    await runOperator(false);
    await admin.apply(typeOf('Tenant'), tenant(NAME, { environment: 'Production', replicas: 2 }), 'test');
    await ingress('False', 'WafNotManaged');
    expect(await probe()).toBeUndefined();
  });

  test('exposed: the Probe, as the real CRD and the blast-radius policy accept it from the operator’s user', async () => {
    await runOperator(true);
    await ingress('True', 'ConfiguredWithoutWaf');
    const created = await waitFor('the Probe', probe);
    expect(created.metadata.labels).toMatchObject({
      release: 'kube-prometheus-stack',
      'app.kubernetes.io/managed-by': 'tenant-operator',
      'tenancy.dev/tenant': NAME,
    });
    expect(created.spec).toEqual({
      jobName: UPTIME_JOB,
      interval: '30s',
      module: 'http_2xx',
      prober: { url: 'prometheus-blackbox-exporter.monitoring.svc:9115', scheme: 'http', path: '/probe' },
      targets: {
        staticConfig: {
          static: [`https://${NAME}.saas.example.com/healthz`],
          labels: { tenant: NAME, environment: 'Production' },
        },
      },
    });
  });

  test('the front door breaks later: the Probe stays (downtime to count, not a reason to stop counting)', async () => {
    await runOperator(false);
    await ingress('False', 'WafNotManaged');
    expect(await probe()).toBeDefined();
  });

  test('uptime.probes turned off: the Probe is deleted', async () => {
    await runOperator(true, false);
    await waitFor('the Probe deleted', async () => ((await probe()) === undefined ? true : undefined));
  });
});
