/**
 * Runs the ARM emulator as its own process, for an operator running in another process.
 *
 *   node hack/arm-emulator/main.ts [--port 8443] [--out-dir DIR] [--lro-delay-ms 5] [--seed 1]
 *                                  [--backup-interval-minutes 10] [--restore-duration-ms 0] [--clock-running]
 *                                  [--profile instant|realistic] [--time-factor 0.01]
 *                                  [--rbac-propagation-ms N] [--managed-identity-writes-per-second N]
 *                                  [--front-door-region REGION|any] [--no-serverless-auto-pause]
 *                                  [--expose-create-only-fields] [--ltr-backup-at-deletion]
 *                                  [--platform-network] [--sql-key-auto-rotation-minutes 60] [--audit-workspace-retention-days 180|none]
 *                                  [--sql-port 14330] [--sql-admin-group GUID]
 *                                  [--platform-cluster RG/NAME/LOCATION] [--quotas azure|raised-for-one-shared-subscription]
 *
 * `--platform-cluster` seeds the platform's AKS cluster (node pools go there). `--quotas` picks the
 * quota set (quotas.ts): Azure's defaults unless the raise is named.
 * `--platform-network` seeds the default platform network (a private endpoint subnet per region and
 * the SQL and Key Vault private DNS zones: `defaultPlatformNetwork` in private-link.ts).
 * `--port` defaults to $ARM_EMULATOR_PORT, else a free port. With `--out-dir`, writes `ca.pem`,
 * `endpoint` and `emulator.json` there. `--sql-admin-group` puts the operator's principal
 * (EMULATOR_OPERATOR_PRINCIPAL) into that Entra group, as the platform team does before installing
 * the operator. Prints one JSON line ({ endpoint, caPath, subscriptionId, directoryTenantId,
 * auditWorkspaceId, sqlEndpoint, pid }) once listening, then serves until SIGINT/SIGTERM. Any bearer token is
 * accepted. Faults, clock and state are reachable over `/_emulator/*` (see README.md).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  AZURE_DEFAULT_QUOTAS,
  type AzureBehaviours,
  DEFAULT_LOCATIONS,
  defaultPlatformNetwork,
  EMULATOR_OPERATOR_PRINCIPAL,
  EMULATOR_SUBSCRIPTION_ID,
  QUOTAS_RAISED_FOR_ONE_SHARED_SUBSCRIPTION,
  startArmEmulator,
} from './index.ts';
import { parseOperationProfile } from './operation-profiles.ts';

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    host: { type: 'string' },
    'sql-port': { type: 'string' },
    'sql-admin-group': { type: 'string' },
    'out-dir': { type: 'string' },
    'lro-delay-ms': { type: 'string' },
    seed: { type: 'string' },
    'backup-interval-minutes': { type: 'string' },
    'restore-duration-ms': { type: 'string' },
    'clock-running': { type: 'boolean' },
    profile: { type: 'string' },
    'time-factor': { type: 'string' },
    'rbac-propagation-ms': { type: 'string' },
    'managed-identity-writes-per-second': { type: 'string' },
    'front-door-region': { type: 'string' },
    'no-serverless-auto-pause': { type: 'boolean' },
    'expose-create-only-fields': { type: 'boolean' },
    'ltr-backup-at-deletion': { type: 'boolean' },
    'platform-network': { type: 'boolean' },
    'sql-key-auto-rotation-minutes': { type: 'string' },
    'audit-workspace-retention-days': { type: 'string' },
    'platform-cluster': { type: 'string' },
    quotas: { type: 'string' },
    subscription: { type: 'string', multiple: true },
  },
});

/** Behaviours named on the command line (the rest keep Azure's defaults). */
const behaviours: Partial<AzureBehaviours> = {
  ...(values['rbac-propagation-ms'] === undefined ? {} : { rbacPropagationDelayMs: Number(values['rbac-propagation-ms']) }),
  ...(values['managed-identity-writes-per-second'] === undefined
    ? {}
    : { managedIdentityWritesPerSecond: Number(values['managed-identity-writes-per-second']) }),
  ...(values['front-door-region'] === undefined
    ? {}
    : { frontDoorRegion: values['front-door-region'] === 'any' ? undefined : values['front-door-region'] }),
  ...(values['no-serverless-auto-pause'] ? { serverlessAutoPause: false } : {}),
  ...(values['expose-create-only-fields'] ? { exposeCreateOnlyFields: true } : {}),
  ...(values['ltr-backup-at-deletion'] ? { ltrBackupAtDeletion: true } : {}),
  ...(values['sql-key-auto-rotation-minutes'] === undefined
    ? {}
    : { sqlKeyAutoRotationDelayMs: Number(values['sql-key-auto-rotation-minutes']) * 60_000 }),
};
const auditRetention = values['audit-workspace-retention-days'];

const QUOTA_SETS = {
  azure: AZURE_DEFAULT_QUOTAS,
  'raised-for-one-shared-subscription': QUOTAS_RAISED_FOR_ONE_SHARED_SUBSCRIPTION,
};
const quotaSet = values.quotas ?? 'azure';
if (!(quotaSet in QUOTA_SETS)) throw new Error(`--quotas: '${quotaSet}' is not one of ${Object.keys(QUOTA_SETS).join(', ')}`);
const clusterArg = values['platform-cluster']?.split('/');
if (clusterArg !== undefined && clusterArg.length !== 3) throw new Error('--platform-cluster takes RESOURCE_GROUP/NAME/LOCATION');

const port = Number(values.port ?? process.env.ARM_EMULATOR_PORT ?? 0);
const emulator = await startArmEmulator({
  port,
  ...(values.host === undefined ? {} : { host: values.host }),
  ...(values['lro-delay-ms'] === undefined ? {} : { lroDelayMs: Number(values['lro-delay-ms']) }),
  ...(values.seed === undefined ? {} : { seed: Number(values.seed) }),
  ...(values['backup-interval-minutes'] === undefined
    ? {}
    : { backupIntervalMinutes: Number(values['backup-interval-minutes']) }),
  ...(values['restore-duration-ms'] === undefined ? {} : { restoreDurationMs: Number(values['restore-duration-ms']) }),
  ...(values['clock-running'] ? { clockRunning: true } : {}),
  ...(values.profile === undefined ? {} : { profile: parseOperationProfile(values.profile) }),
  ...(values['time-factor'] === undefined ? {} : { timeFactor: Number(values['time-factor']) }),
  ...(values['platform-network'] ? { platformNetwork: defaultPlatformNetwork(EMULATOR_SUBSCRIPTION_ID, DEFAULT_LOCATIONS) } : {}),
  ...(auditRetention === undefined
    ? {}
    : { auditWorkspaceRetentionDays: auditRetention === 'none' ? false : Number(auditRetention) }),
  ...(values.subscription === undefined ? {} : { extraSubscriptions: values.subscription }),
  behaviours,
  ...(values['sql-port'] === undefined ? {} : { sqlPort: Number(values['sql-port']) }),
  ...(values['sql-admin-group'] === undefined
    ? {}
    : { directoryGroups: { [values['sql-admin-group']]: [EMULATOR_OPERATOR_PRINCIPAL.objectId] } }),
  quotas: QUOTA_SETS[quotaSet as keyof typeof QUOTA_SETS],
  ...(clusterArg === undefined
    ? {}
    : {
        platformClusters: [
          {
            subscriptionId: EMULATOR_SUBSCRIPTION_ID,
            resourceGroup: clusterArg[0]!,
            name: clusterArg[1]!,
            location: clusterArg[2]!,
          },
        ],
      }),
});

const info: Record<string, unknown> = {
  endpoint: emulator.endpoint,
  subscriptionId: emulator.subscriptionId,
  directoryTenantId: emulator.directoryTenantId,
  auditWorkspaceId: emulator.auditWorkspaceId,
  sqlEndpoint: emulator.sqlEndpoint,
  pid: process.pid,
};
if (values['out-dir'] !== undefined) {
  const dir = resolve(values['out-dir']);
  mkdirSync(dir, { recursive: true });
  info.caPath = join(dir, 'ca.pem');
  writeFileSync(join(dir, 'ca.pem'), emulator.ca);
  writeFileSync(join(dir, 'endpoint'), `${emulator.endpoint}\n`);
  writeFileSync(join(dir, 'emulator.json'), `${JSON.stringify(info, null, 2)}\n`);
}
process.stdout.write(`${JSON.stringify(info)}\n`);

const shutdown = (): void => {
  void emulator.stop().then(() => process.exit(0));
};
process.once('SIGINT', shutdown);
process.once('SIGTERM', shutdown);
