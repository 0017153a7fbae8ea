/**
 * A new tenant's application starts once, with its database, with Azure's operation times (the
 * emulator's realistic profile, scaled like the benchmark's): on a shared server the pods reach the
 * database only through the tenant's own private endpoint (a host alias), which is created after the
 * database's host is known. The database setting waits for that endpoint, and the Deployment waits
 * for the database setting: its first pod template already has the database and the alias, so no
 * pod ever starts without its database or is replaced when it arrives.
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import type { ArmEmulator } from '../../../hack/arm-emulator/index.ts';
import type { Operator } from '../../../src/operator.ts';
import type { KubeClient, KubeObject } from '../../../src/runtime/kube-client.ts';
import { DATABASE_HOST_ENV } from '../../../src/tenant/workload.ts';
import {
  adminClient,
  emulatorAzureConfig,
  sharedControlPlane,
  startOperator,
  startPrivateArmEmulator,
  tenant,
  typeOf,
  waitFor,
  waitForReady,
  waitForTenantGone,
} from '../../harness/fixtures.ts';

const info = sharedControlPlane();
const NAME = 'first-rollout';
const NAMESPACE = `tenant-${NAME}-dev`;
/** The benchmark's scale: a database create takes about 1.2 s, a role assignment propagates in 3 s. */
const TIME_FACTOR = 0.01;

let admin: KubeClient;
let emulator: ArmEmulator | undefined;
let operator: Operator | undefined;

interface PodTemplateSeen {
  generation: number;
  database: string | undefined;
  aliases: string[];
}

beforeAll(async () => {
  admin = adminClient(info.adminKubeconfig);
  // Azure's realistic operation times, scaled; no fixed operation delay; role assignments
  // propagate as the profile says.
  const own = await startPrivateArmEmulator(
    { rbacPropagationDelayMs: 3_000 },
    { profile: 'realistic', timeFactor: TIME_FACTOR, lroDelayMs: undefined },
  );
  emulator = own.emulator;
  operator = await startOperator({
    info: { ...info, arm: own.arm },
    leaseName: 'first-rollout',
    config: {
      azure: {
        ...emulatorAzureConfig(own.arm),
        placement: { defaultIsolation: 'Shared' },
        subscriptions: [{ id: own.arm.subscriptionId }],
        // The operator's clocks scaled like the emulator's (as the benchmark does).
        operationPollSeconds: 0.1,
        rbacPropagationSeconds: 3,
        rbacPropagationRetrySeconds: 0.3,
      },
    },
  });
  await waitFor('leadership', () => operator?.isLeader);
}, 60_000);

afterAll(async () => {
  await admin.delete(typeOf('Tenant'), NAME).catch(() => {});
  await waitForTenantGone(admin, NAME);
  await operator?.stop();
  await emulator?.stop();
}, 90_000);

test('a new tenant on a shared server gets its database and the alias that reaches it in its first pod template', async () => {
  await admin.apply(typeOf('Tenant'), tenant(NAME), 'test');
  // Every pod template the Deployment has had, by generation (polled: a generation that lived less
  // than the poll would be missed, but it still counts in the final generation).
  const seen = new Map<number, PodTemplateSeen>();
  // What ApplicationAvailable said while there was no Deployment yet.
  const waitingReasons = new Set<string>();
  let ready = false;
  const watching = (async () => {
    while (!ready) {
      const d = await admin.get<KubeObject & { spec: any }>(typeOf('Deployment'), 'tenant-app', NAMESPACE).catch(() => undefined);
      if (d === undefined) {
        const t = await admin.get<KubeObject>(typeOf('Tenant'), NAME).catch(() => undefined);
        const conditions = (t?.status as { conditions?: { type: string; reason: string }[] } | undefined)?.conditions;
        const available = conditions?.find((c) => c.type === 'ApplicationAvailable');
        if (available) waitingReasons.add(available.reason);
      }
      if (d?.metadata.generation !== undefined && !seen.has(d.metadata.generation)) {
        const pod = d.spec.template.spec;
        seen.set(d.metadata.generation, {
          generation: d.metadata.generation,
          database: (pod.containers[0].env as { name: string; value: string }[] | undefined)?.find(
            (e) => e.name === DATABASE_HOST_ENV,
          )?.value,
          aliases: ((pod.hostAliases ?? []) as { hostnames: string[] }[]).flatMap((a) => a.hostnames),
        });
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  const t = await waitForReady(admin, NAME, 90_000).finally(() => {
    ready = true;
  });
  await watching;
  const status = t.status as { azure: { sqlResourceGroup?: string; privateEndpoints: { sql: { fqdn: string } } } };
  // The setting this test is about: a shared server, reached through the tenant's own endpoint.
  expect(status.azure.sqlResourceGroup).toBeDefined();
  const server = status.azure.privateEndpoints.sql.fqdn;
  const templates = [...seen.values()].sort((a, b) => a.generation - b.generation);
  // Never a database without the alias that reaches it.
  for (const template of templates) if (template.database !== undefined) expect(template.aliases).toContain(template.database);
  expect(templates).toEqual([{ generation: 1, database: server, aliases: [server] }]);
  // Until then the tenant said why its application was not there.
  expect([...waitingReasons]).toEqual(['WaitingForDatabase']);
}, 120_000);
