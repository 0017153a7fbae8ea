/**
 * Key rotation on the emulated clock: Key Vault creates a new key version when a key's rotation
 * policy says so, and an Azure SQL server whose encryption protector auto-rotates follows the new
 * version some time later (Azure documents "within 60 minutes"). Both happen without a request, as
 * in Azure, whenever the emulator looks at its state.
 */
import { isoDurationMs } from './durations.ts';
import { asNumber, asObject, asString, type JsonObject } from './json.ts';
import { newKeyVersion, type TypeContext } from './resource-types.ts';
import { getResource, putResource, resourcesOfType, type Store, type StoredResource } from './store.ts';

/** When a key's current version is due to be rotated (ms), or undefined when its policy never rotates it. */
export function rotationDueAt(key: JsonObject): number | undefined {
  const p = asObject(key.properties);
  const policy = asObject(p.rotationPolicy);
  const attrs = asObject(p.attributes);
  const created = asNumber(attrs.created);
  if (created === undefined) return undefined;
  const rotate = (Array.isArray(policy.lifetimeActions) ? policy.lifetimeActions : [])
    .map(asObject)
    .find((a) => asString(asObject(a.action).type)?.toLowerCase() === 'rotate');
  if (rotate === undefined) return undefined;
  const trigger = asObject(rotate.trigger);
  const afterCreate = isoDurationMs(asString(trigger.timeAfterCreate) ?? '');
  if (afterCreate !== undefined) return created * 1000 + afterCreate;
  const beforeExpiry = isoDurationMs(asString(trigger.timeBeforeExpiry) ?? '');
  const exp = asNumber(attrs.exp);
  return beforeExpiry === undefined || exp === undefined ? undefined : exp * 1000 - beforeExpiry;
}

/**
 * Rotate every key whose rotation is due, as often as it has come due (a clock moved by years
 * rotates several times): each new version is created at its due time and expires `expiryTime`
 * later (Key Vault applies the policy's expiry to rotated versions only).
 */
export function rotateDueKeys(ctx: TypeContext): void {
  const now = ctx.clock.now().getTime();
  // This runs before every request: it looks at the keys again only when one was put or removed
  // (or changed by a test control, keysChanged) or the earliest rotation came due. Looking at every
  // key on every request made the emulator's CPU grow with the square of the fleet.
  const version = ctx.store.versions.get(KEY_TYPE) ?? 0;
  const last = lastScan.get(ctx.store);
  if (last !== undefined && last.version === version && now < last.nextDueAt) return;
  let nextDueAt = Number.POSITIVE_INFINITY;
  for (const key of resourcesOfType(ctx.store, KEY_TYPE)) {
    let due = cachedDueAt(key);
    for (; due !== undefined && due <= now; due = cachedDueAt(key)) rotateKey(key, Math.floor(due / 1000));
    if (due !== undefined) nextDueAt = Math.min(nextDueAt, due);
  }
  lastScan.set(ctx.store, { version, nextDueAt });
}

const KEY_TYPE = 'microsoft.keyvault/vaults/keys';

/** Per store: the keys' version (Store.versions) at the last look, and the earliest rotation then due. */
const lastScan = new WeakMap<Store, { version: number; nextDueAt: number }>();

/** A key's body changed in place (a test control): the next request looks at every key again. */
export function keysChanged(store: Store): void {
  lastScan.delete(store);
}

/**
 * `rotationDueAt` of a key, computed again only when what it reads was replaced: the key's body,
 * its properties, rotation policy or attributes (every write and every rotation replaces them).
 * This runs on every request over every key; parsing each policy's durations each time made key
 * rotation the emulator's largest cost at 1000 tenants.
 */
const dueMemo = new WeakMap<StoredResource, { inputs: unknown[]; dueAt: number | undefined }>();

function cachedDueAt(key: StoredResource): number | undefined {
  const p = asObject(key.body.properties);
  const inputs = [
    key.body,
    key.body.properties,
    p.rotationPolicy,
    p.attributes,
    asObject(p.attributes).created,
    asObject(p.attributes).exp,
  ];
  const memo = dueMemo.get(key);
  if (memo?.inputs.every((v, i) => v === inputs[i])) return memo.dueAt;
  const dueAt = rotationDueAt(key.body);
  dueMemo.set(key, { inputs, dueAt });
  return dueAt;
}

/** A new current version of `key`, created at `atSeconds` (Key Vault's rotation, or `az keyvault key rotate`). */
export function rotateKey(key: StoredResource, atSeconds: number): void {
  const p = asObject(key.body.properties);
  const expiry = isoDurationMs(asString(asObject(asObject(p.rotationPolicy).attributes).expiryTime) ?? '');
  const version = newKeyVersion();
  const exp = expiry === undefined ? undefined : atSeconds + Math.floor(expiry / 1000);
  const attrs: JsonObject = { ...asObject(p.attributes), created: atSeconds, updated: atSeconds };
  if (exp === undefined) delete attrs.exp;
  else attrs.exp = exp;
  key.body.properties = { ...p, attributes: attrs, keyUriWithVersion: `${asString(p.keyUri)}/${version}` };
  key.body._versions = [...(Array.isArray(key.body._versions) ? key.body._versions : []), version];
  key.body._versionExpiry = { ...asObject(key.body._versionExpiry), ...(exp === undefined ? {} : { [version]: exp }) };
}

const KEY_URI = /^https:\/\/([a-zA-Z0-9-]{3,24})\.vault\.azure\.net(?::443)?\/keys\/([a-zA-Z0-9-]{1,127})\/([0-9a-fA-F]{32})$/;

/**
 * Azure SQL's automatic rotation of the TDE protector: a server whose protector has
 * `autoRotationEnabled` and uses an older version of a key than the vault's current one switches
 * to the current version once `delayMs` of emulated time has passed since that version was
 * created, adding the version as a server key first. A protector with an operation running waits.
 */
export function followKeyRotations(ctx: TypeContext, delayMs: number): void {
  const now = ctx.clock.now().getTime();
  // Vaults by name, read once per call and only when a protector needs one (vault names are global).
  let vaults: Map<string, StoredResource> | undefined;
  for (const protector of resourcesOfType(ctx.store, 'Microsoft.Sql/servers/encryptionProtector')) {
    const p = asObject(protector.body.properties);
    if (p.autoRotationEnabled !== true || p.serverKeyType !== 'AzureKeyVault' || protector.operationId !== undefined) continue;
    const m = KEY_URI.exec(asString(p.uri) ?? '');
    if (m === null) continue;
    const [, vaultName = '', keyName = '', version = ''] = m;
    vaults ??= new Map(resourcesOfType(ctx.store, 'Microsoft.KeyVault/vaults').map((v) => [v.name.toLowerCase(), v]));
    const vault = vaults.get(vaultName.toLowerCase());
    const key = vault === undefined ? undefined : getResource(ctx.store, `${vault.id}/keys/${keyName}`);
    if (key === undefined) continue;
    const kp = asObject(key.body.properties);
    const current = asString(kp.keyUriWithVersion);
    const currentVersion = current?.split('/').pop();
    const created = asNumber(asObject(kp.attributes).created);
    if (current === undefined || currentVersion === undefined || currentVersion.toLowerCase() === version.toLowerCase()) continue;
    if (created === undefined || now < created * 1000 + delayMs) continue;
    const serverId = protector.id.split('/').slice(0, -2).join('/');
    const keyName2 = `${vaultName}_${keyName}_${currentVersion}`;
    const serverKeyId = `${serverId}/keys/${keyName2}`;
    const server = getResource(ctx.store, serverId);
    if (getResource(ctx.store, serverKeyId) === undefined) {
      putResource(ctx.store, {
        id: serverKeyId,
        type: 'Microsoft.Sql/servers/keys',
        name: keyName2,
        state: 'Succeeded',
        operationId: undefined,
        body: {
          id: serverKeyId,
          name: keyName2,
          type: 'Microsoft.Sql/servers/keys',
          kind: 'azurekeyvault',
          location: server?.body.location,
          properties: {
            serverKeyType: 'AzureKeyVault',
            uri: current,
            thumbprint: currentVersion.toUpperCase().slice(0, 40),
            creationDate: new Date(now).toISOString(),
            subregion: server?.body.location,
            autoRotationEnabled: true,
          },
        },
      });
    }
    protector.body.properties = { ...p, serverKeyName: keyName2, uri: current };
  }
}
