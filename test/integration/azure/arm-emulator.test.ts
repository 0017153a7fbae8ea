/** The ARM emulator's behaviour as the real SDK clients see it: auth, 404s, conflicts, soft delete, operations, faults. */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { ResourceManagementClient } from '@azure/arm-resources';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { testCredential } from '../../../hack/arm-emulator/index.ts';
import { classifyAzureError } from '../../../src/azure/errors.ts';
import { createWriteLimiter } from '../../../src/azure/write-limiter.ts';
import { createTypedAzureClients, type TypedAzureClients } from '../../harness/azure-sdk-clients.ts';
import { type AzureTestEnv, converge, startAzureTestEnv, tenantPlan } from './support.ts';

let env: AzureTestEnv;
let clients: TypedAzureClients;
let sub: string;
let tenantId: string;

beforeAll(async () => {
  env = await startAzureTestEnv({ requestTimeoutMs: 300, maxRetries: 0 });
  clients = env.clients;
  sub = env.emulator.subscriptionId;
  tenantId = env.emulator.directoryTenantId;
});

afterAll(async () => {
  await env.emulator.stop();
});

const vaultBody = (extra: Record<string, unknown> = {}) => ({
  location: 'westeurope',
  properties: { tenantId, sku: { family: 'A' as const, name: 'standard' as const }, ...extra },
});

async function errorOf(promise: Promise<unknown>): Promise<{ statusCode?: number; code?: string }> {
  try {
    await promise;
  } catch (err) {
    return err as { statusCode?: number; code?: string };
  }
  throw new Error('expected the call to fail');
}

/** A raw HTTPS GET (no SDK): for what the SDK would never send, like a missing token. */
function rawGet(path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const url = new URL(path, env.emulator.endpoint);
    const req = request(url, { ca: env.emulator.ca, headers }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => {
        body += c.toString();
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('ARM semantics', () => {
  test('a request without a bearer token is refused with 401', async () => {
    const res = await rawGet(`/subscriptions/${sub}/resourcegroups/x?api-version=2025-04-01`);
    expect(res.status).toBe(401);
    expect(JSON.parse(res.body)).toMatchObject({ error: { code: 'AuthenticationFailed' } });
  });

  test('404s carry ARM error codes; a database needs its server', async () => {
    expect(await errorOf(clients.resources.resourceGroups.get('nope'))).toMatchObject({
      statusCode: 404,
      code: 'ResourceGroupNotFound',
    });
    await clients.resources.resourceGroups.createOrUpdate('rg-sem', { location: 'westeurope' });
    expect(await errorOf(clients.sql.servers.get('rg-sem', 'nope'))).toMatchObject({ statusCode: 404, code: 'ResourceNotFound' });
    const create = clients.sql.databases.beginCreateOrUpdateAndWait('rg-sem', 'no-server', 'db', { location: 'westeurope' });
    expect(await errorOf(create)).toMatchObject({ statusCode: 404, code: 'ParentResourceNotFound' });
  });

  test('PUT is idempotent: the same body twice gives one resource and stable server-filled ids', async () => {
    const a = await clients.msi.userAssignedIdentities.createOrUpdate('rg-sem', 'id-twice', { location: 'westeurope' });
    const b = await clients.msi.userAssignedIdentities.createOrUpdate('rg-sem', 'id-twice', { location: 'westeurope' });
    expect(b.clientId).toBe(a.clientId);
    expect(b.principalId).toBe(a.principalId);
    expect(
      env.emulator.state.list('Microsoft.ManagedIdentity/userAssignedIdentities').filter((i) => i.name === 'id-twice'),
    ).toHaveLength(1);
  });

  test('vault names are global, and a soft-deleted vault holds its name until purged', async () => {
    await clients.resources.resourceGroups.createOrUpdate('rg-other', { location: 'westeurope' });
    await clients.keyVault.vaults.createOrUpdate('rg-sem', 'kv-global-1', vaultBody());
    expect(await errorOf(clients.keyVault.vaults.createOrUpdate('rg-other', 'kv-global-1', vaultBody()))).toMatchObject({
      statusCode: 409,
      code: 'VaultAlreadyExists',
    });

    await clients.keyVault.vaults.delete('rg-sem', 'kv-global-1');
    expect(await clients.keyVault.vaults.getDeleted('kv-global-1', 'westeurope')).toMatchObject({ name: 'kv-global-1' });
    expect(await errorOf(clients.keyVault.vaults.createOrUpdate('rg-other', 'kv-global-1', vaultBody()))).toMatchObject({
      statusCode: 409,
      code: 'ConflictError',
    });
    await clients.keyVault.vaults.purgeDeleted('kv-global-1', 'westeurope');
    await clients.keyVault.vaults.createOrUpdate('rg-other', 'kv-global-1', vaultBody());
  });

  test('purge protection: cannot be turned off, and blocks purging', async () => {
    await clients.keyVault.vaults.createOrUpdate('rg-sem', 'kv-protected-1', vaultBody({ enablePurgeProtection: true }));
    const off = clients.keyVault.vaults.update('rg-sem', 'kv-protected-1', { properties: { enablePurgeProtection: false } });
    expect(await errorOf(off)).toMatchObject({ statusCode: 400, code: 'BadRequest' });
    await clients.keyVault.vaults.delete('rg-sem', 'kv-protected-1');
    expect(await errorOf(clients.keyVault.vaults.purgeDeleted('kv-protected-1', 'westeurope'))).toMatchObject({
      statusCode: 409,
      code: 'PurgeProtectionEnabled',
    });
  });

  test('a server key needs the server identity to hold a crypto role on the vault (retryable: RBAC propagates)', async () => {
    await clients.keyVault.vaults.createOrUpdate(
      'rg-sem',
      'kv-cmk-1',
      vaultBody({ enablePurgeProtection: true, enableRbacAuthorization: true }),
    );
    const key = await clients.keyVault.keys.createIfNotExist('rg-sem', 'kv-cmk-1', 'k1', {
      properties: { kty: 'RSA', keySize: 3072 },
    });
    await clients.sql.servers.beginCreateOrUpdateAndWait('rg-sem', 'sql-cmk-1', {
      location: 'westeurope',
      identity: { type: 'SystemAssigned' },
      administratorLogin: 'a',
      administratorLoginPassword: 'p@ssw0rd!',
    });
    const version = key.keyUriWithVersion!.split('/').pop();
    const err = await errorOf(
      clients.sql.serverKeys.beginCreateOrUpdateAndWait('rg-sem', 'sql-cmk-1', `kv-cmk-1_k1_${version}`, {
        serverKeyType: 'AzureKeyVault',
        uri: key.keyUriWithVersion!,
      }),
    );
    expect(err).toMatchObject({ statusCode: 400, code: 'AzureKeyVaultMissingPermissions' });
    expect(classifyAzureError(err)).toMatchObject({ reason: 'AzureRbacPropagating' });
  });

  test('createIfNotExist never overwrites a key', async () => {
    const first = await clients.keyVault.keys.createIfNotExist('rg-sem', 'kv-cmk-1', 'k2', {
      properties: { kty: 'RSA', keySize: 2048 },
    });
    const second = await clients.keyVault.keys.createIfNotExist('rg-sem', 'kv-cmk-1', 'k2', {
      properties: { kty: 'RSA', keySize: 4096 },
    });
    expect(second.keyUriWithVersion).toBe(first.keyUriWithVersion);
    expect(second.keySize).toBe(2048);
  });

  test('role assignments: names must be GUIDs, unknown principals without principalType and duplicates are refused', async () => {
    const scope = `subscriptions/${sub}/resourceGroups/rg-sem`;
    const role = `/subscriptions/${sub}/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7`;
    const identity = await clients.msi.userAssignedIdentities.get('rg-sem', 'id-twice');
    const body = { roleDefinitionId: role, principalId: identity.principalId!, principalType: 'ServicePrincipal' as const };
    expect(await errorOf(clients.authorization.roleAssignments.create(scope, 'not-a-guid', body))).toMatchObject({
      code: 'InvalidRoleAssignmentId',
    });
    // Without principalType ARM looks the principal up in the directory; with ServicePrincipal it
    // accepts at once (the grant then takes minutes to reach the data plane).
    const ghost = { roleDefinitionId: role, principalId: '99999999-9999-4999-8999-999999999999' };
    expect(
      await errorOf(clients.authorization.roleAssignments.create(scope, '11111111-1111-4111-8111-111111111111', ghost)),
    ).toMatchObject({
      code: 'PrincipalNotFound',
    });
    await clients.authorization.roleAssignments.create(scope, '66666666-6666-4666-8666-666666666666', {
      ...ghost,
      principalType: 'ServicePrincipal',
    });
    await clients.authorization.roleAssignments.create(scope, '22222222-2222-4222-8222-222222222222', body);
    expect(
      await errorOf(clients.authorization.roleAssignments.create(scope, '33333333-3333-4333-8333-333333333333', body)),
    ).toMatchObject({
      statusCode: 409,
      code: 'RoleAssignmentExists',
    });
  });
});

describe('long-running operations', () => {
  test('GET shows the intermediate state while the operation runs; a second write is refused', async () => {
    const { emulator } = env;
    emulator.faults.add({
      match: { method: 'PUT', resourceType: 'Microsoft.Sql/servers' },
      action: { kind: 'lroDelay', ms: 60_000 },
      times: 1,
    });
    const body = { location: 'westeurope', administratorLogin: 'a', administratorLoginPassword: 'p@ssw0rd!' };
    const poller = await clients.sql.servers.beginCreateOrUpdate('rg-sem', 'sql-slow-1', body);
    expect((await clients.sql.servers.get('rg-sem', 'sql-slow-1')).state).toBe('Creating');
    expect(await errorOf(clients.sql.servers.beginCreateOrUpdate('rg-sem', 'sql-slow-1', body))).toMatchObject({
      statusCode: 409,
      code: 'AnotherOperationInProgress',
    });
    emulator.state.completeOperations();
    const done = await poller.pollUntilDone();
    expect(done.state).toBe('Ready');
  });

  test('an operation that ends Failed rolls back a create; the SDK reports the failure', async () => {
    const { emulator } = env;
    emulator.faults.failOperation(
      { method: 'PUT', resourceType: 'Microsoft.Sql/servers' },
      { times: 1, code: 'InternalServerError' },
    );
    const body = { location: 'westeurope', administratorLogin: 'a', administratorLoginPassword: 'p@ssw0rd!' };
    const err = await errorOf(clients.sql.servers.beginCreateOrUpdateAndWait('rg-sem', 'sql-fails-1', body));
    expect(classifyAzureError(err)).toMatchObject({ reason: 'AzureOperationFailed' });
    expect(await errorOf(clients.sql.servers.get('rg-sem', 'sql-fails-1'))).toMatchObject({ statusCode: 404 });
  });

  test('deleting a resource group deletes what is inside, soft-deleting vaults', async () => {
    await clients.resources.resourceGroups.createOrUpdate('rg-doomed', { location: 'westeurope' });
    await clients.keyVault.vaults.createOrUpdate('rg-doomed', 'kv-doomed-1', vaultBody());
    await clients.resources.resourceGroups.delete('rg-doomed');
    expect(await errorOf(clients.keyVault.vaults.get('rg-doomed', 'kv-doomed-1'))).toMatchObject({
      code: 'ResourceGroupNotFound',
    });
    expect(await clients.keyVault.vaults.getDeleted('kv-doomed-1', 'westeurope')).toMatchObject({ name: 'kv-doomed-1' });
  });
});

describe('faults', () => {
  test('a hanging request ends in the client timeout, classified retryable', async () => {
    env.emulator.faults.hang({ method: 'GET', resourceType: 'Microsoft.Resources/resourceGroups' }, { times: 1 });
    const started = Date.now();
    const err = await errorOf(clients.resources.resourceGroups.get('rg-sem'));
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(classifyAzureError(err)).toMatchObject({ reason: 'AzureRequestTimeout' });
    await expect(clients.resources.resourceGroups.get('rg-sem')).resolves.toMatchObject({ name: 'rg-sem' });
  });

  test('429 with Retry-After reaches the caller with its delay once SDK retries are spent', async () => {
    env.emulator.faults.throttle({ resourceType: 'Microsoft.Resources/resourceGroups' }, { times: 1, retryAfterSeconds: 3 });
    const err = await errorOf(clients.resources.resourceGroups.get('rg-sem'));
    expect(classifyAzureError(err)).toMatchObject({ reason: 'AzureThrottled', retryAfterMs: 3000 });
  });

  test('every request is recorded with method, path, api-version and status', () => {
    const last = env.emulator.requests.at(-1);
    expect(last).toMatchObject({ method: 'GET', apiVersion: '2025-04-01', status: 429, faults: ['throttle'], write: false });
  });
});

test('main.ts runs the emulator standalone and hands its CA and endpoint to another process', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'arm-emulator-main-'));
  const child = spawn(process.execPath, ['hack/arm-emulator/main.ts', '--out-dir', dir], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    const line = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout! }).once('line', resolve);
      child.once('exit', (code) => reject(new Error(`emulator exited with ${code}`)));
    });
    const info = JSON.parse(line) as { endpoint: string; caPath: string; subscriptionId: string };
    expect(info.endpoint).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(readFileSync(join(dir, 'endpoint'), 'utf8').trim()).toBe(info.endpoint);
    const client = new ResourceManagementClient(testCredential(), info.subscriptionId, {
      endpoint: info.endpoint,
      tlsOptions: { ca: readFileSync(info.caPath, 'utf8') },
    });
    await expect(client.resourceGroups.createOrUpdate('rg-standalone', { location: 'westeurope' })).resolves.toMatchObject({
      name: 'rg-standalone',
    });
  } finally {
    child.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
});

describe('Microsoft.ManagedIdentity limits (Azure behaviours)', () => {
  let limited: AzureTestEnv;
  // Plain SDK clients without the operator's managed-identity budget: the emulator must refuse.
  let raw: TypedAzureClients;
  beforeAll(async () => {
    limited = await startAzureTestEnv({ maxRetries: 0, behaviours: { managedIdentityWritesPerSecond: 2 } });
    raw = createTypedAzureClients({
      subscriptionId: limited.emulator.subscriptionId,
      endpoint: limited.emulator.endpoint,
      ca: limited.emulator.ca,
      credential: limited.emulator.credential,
      writeLimiter: createWriteLimiter({ writesPerSecond: 1000, burst: 1000 }),
      retry: { maxRetries: 0 },
    });
    await raw.resources.resourceGroups.createOrUpdate('rg-mi', { location: 'westeurope' });
  });
  afterAll(async () => {
    await limited.emulator.stop();
  });

  test('about 2 writes per second per subscription: the third in a second gets 429 with Retry-After', async () => {
    const msi = raw.msi;
    await msi.userAssignedIdentities.createOrUpdate('rg-mi', 'id-1', { location: 'westeurope' });
    await msi.userAssignedIdentities.createOrUpdate('rg-mi', 'id-2', { location: 'westeurope' });
    expect(await errorOf(msi.userAssignedIdentities.createOrUpdate('rg-mi', 'id-3', { location: 'westeurope' }))).toMatchObject({
      statusCode: 429,
    });
    const refused = limited.emulator.requests.at(-1);
    expect(refused).toMatchObject({ status: 429, resourceType: 'Microsoft.ManagedIdentity/userAssignedIdentities' });
  });

  test('one audience per federated credential; concurrent writes to one identity get 409', async () => {
    const { emulator } = limited;
    const msi = raw.msi;
    emulator.config.lroDelayMs = 5;
    const fic = (subject: string, audiences: string[]) => ({ issuer: 'https://oidc.example.test/', subject, audiences });
    await new Promise((r) => setTimeout(r, 1_100)); // leave the previous test's throttle window
    await msi.userAssignedIdentities.createOrUpdate('rg-mi', 'id-fic', { location: 'westeurope' });
    await new Promise((r) => setTimeout(r, 1_100));
    expect(
      await errorOf(msi.federatedIdentityCredentials.createOrUpdate('rg-mi', 'id-fic', 'two', fic('s2', ['a', 'b']))),
    ).toMatchObject({ statusCode: 400 });
    await new Promise((r) => setTimeout(r, 1_100));
    emulator.faults.add({
      match: { method: 'PUT', resourceType: 'Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials' },
      action: { kind: 'latency', ms: 200 },
      times: 1,
    });
    const results = await Promise.allSettled([
      msi.federatedIdentityCredentials.createOrUpdate('rg-mi', 'id-fic', 'first', fic('s-first', ['api://AzureADTokenExchange'])),
      new Promise((r) => setTimeout(r, 50)).then(() =>
        msi.federatedIdentityCredentials.createOrUpdate(
          'rg-mi',
          'id-fic',
          'second',
          fic('s-second', ['api://AzureADTokenExchange']),
        ),
      ),
    ]);
    expect(results[0].status).toBe('fulfilled');
    expect(results[1]).toMatchObject({
      status: 'rejected',
      reason: { statusCode: 409, code: 'ConcurrentFederatedIdentityCredentialsWritesForSingleManagedIdentity' },
    });
  });
});

test('the operator sends nothing the specs forbid (no read-only, unknown, create-only or enum violations)', async () => {
  const { emulator } = env;
  emulator.config.lroDelayMs = 5;
  await converge(env, tenantPlan(env, 'spec'));
  expect(emulator.state.specViolations()).toEqual([]);
});
