/** Deterministic, valid Azure resource names for a tenant's environment, within each type's length and charset rules. */
import { createHash } from 'node:crypto';

/** Every Azure name one tenant environment uses. */
export interface TenantAzureNames {
  /** `rg-<tenant>-<env>`: 1-90 chars of letters, digits, `-_.()`, no trailing period. */
  resourceGroup: string;
  /** `id-<tenant>-<env>`: 3-128 chars of letters, digits, `-_`, starting alphanumeric. */
  identity: string;
  /** `kv-<tenant>-<env>-<hash6>`: 3-24 chars, letters/digits/hyphens, starts with a letter, no `--`; globally unique. */
  keyVault: string;
  /** The per-tenant TDE key in the vault. */
  tdeKey: string;
  /** `sql-<tenant>-<env>-<hash6>`: 1-63 lower-case letters/digits/hyphens; globally unique (DNS name). */
  sqlServer: string;
  /** `sqldb-<tenant>-<env>`: 1-128 chars. */
  sqlDatabase: string;
}

export interface NameOptions {
  /**
   * Mixed into the hash of globally unique names (vault, SQL server). Set it per installation
   * (e.g. the subscription id) so two operator installations cannot claim the same global name.
   */
  salt?: string;
}

/** Name of the TDE key every tenant vault holds. */
export const TDE_KEY_NAME = 'tde-key';

/** First `length` hex characters of SHA-256 over the parts: stable across releases and processes. */
export function shortHash(parts: readonly string[], length = 6): string {
  return createHash('sha256').update(parts.join('\u0000')).digest('hex').slice(0, length);
}

/** Lower-case, every run of characters outside [a-z0-9] becomes one hyphen, no leading/trailing hyphen. */
export function slug(value: string): string {
  return value
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
}

/** Short, stable code for an environment: production → prd, development → dev, qa → qa. */
export function environmentCode(environment: string): string {
  const s = slug(environment);
  const known: Record<string, string> = {
    production: 'prd',
    prod: 'prd',
    prd: 'prd',
    development: 'dev',
    dev: 'dev',
    qa: 'qa',
    test: 'tst',
    testing: 'tst',
    staging: 'stg',
    stage: 'stg',
  };
  return known[s] ?? (s.replaceAll('-', '').slice(0, 4) || 'env');
}

/** Cut `value` to `max` characters without leaving a trailing hyphen. */
function cut(value: string, max: number): string {
  return value.slice(0, Math.max(0, max)).replace(/-+$/, '');
}

/**
 * `prefix-<tenant>-<env>[-hash]` within `max` characters. When the tenant part must be shortened
 * or changed to fit the charset, a hash of the full tenant and environment is appended so two
 * tenants never map to the same name. `alwaysHash` adds the hash regardless (global names).
 */
function compose(prefix: string, tenant: string, environment: string, max: number, alwaysHash: boolean, salt: string): string {
  const t = slug(tenant) || 'tenant';
  const env = environmentCode(environment);
  const hash = shortHash([salt, tenant, environment]);
  const plain = `${prefix}-${t}-${env}`;
  // A lossy slug (`acme.corp` and `acme-corp` both give `acme-corp`) needs the hash to stay unique.
  const lossless = t === tenant;
  if (!alwaysHash && lossless && plain.length <= max) return plain;
  const fixed = `${prefix}--${env}-${hash}`.length;
  const tenantPart = cut(t, max - fixed) || t.slice(0, 1);
  return `${prefix}-${tenantPart}-${env}-${hash}`;
}

/**
 * Names already computed, by salt, tenant and environment. Placement reads the names of every
 * placed tenant for each new one (O(fleet) per placement, each name a SHA-256), so without this
 * a 1000-tenant onboarding spent ~12 s of CPU on hashing the same names again. Bounded: cleared
 * when full, so a fleet larger than the bound costs what it did before, never more memory.
 */
const computedNames = new Map<string, Readonly<TenantAzureNames>>();
const COMPUTED_NAMES_MAX = 10_000;

/** Names for one tenant environment. Pure and deterministic: the same inputs give the same names. */
export function tenantAzureNames(tenant: string, environment: string, options: NameOptions = {}): TenantAzureNames {
  const salt = options.salt ?? '';
  const key = `${salt}\u0000${tenant}\u0000${environment}`;
  const known = computedNames.get(key);
  if (known !== undefined) return { ...known };
  const names = composeTenantAzureNames(tenant, environment, salt);
  if (computedNames.size >= COMPUTED_NAMES_MAX) computedNames.clear();
  computedNames.set(key, Object.freeze({ ...names }));
  return names;
}

function composeTenantAzureNames(tenant: string, environment: string, salt: string): TenantAzureNames {
  return {
    resourceGroup: compose('rg', tenant, environment, 90, false, salt),
    identity: compose('id', tenant, environment, 128, false, salt),
    keyVault: compose('kv', tenant, environment, 24, true, salt),
    tdeKey: TDE_KEY_NAME,
    sqlServer: compose('sql', tenant, environment, 63, true, salt),
    sqlDatabase: compose('sqldb', tenant, environment, 128, false, salt),
  };
}

/**
 * Name of the federated credential that trusts one Kubernetes service account: 3-120 chars of
 * letters, digits, `-_`, starting alphanumeric.
 */
export function federatedCredentialName(namespace: string, serviceAccount: string): string {
  const plain = `k8s-${slug(namespace)}-${slug(serviceAccount)}`;
  if (plain.length <= 120) return plain;
  return `${cut(plain, 120 - 7)}-${shortHash([namespace, serviceAccount])}`;
}

/** The validity rules `tenantAzureNames` promises, as predicates (used by tests and debug checks). */
export const NAME_RULES = {
  resourceGroup: (n: string): boolean => /^[-\w.()]{1,90}$/.test(n) && !n.endsWith('.'),
  identity: (n: string): boolean => /^[a-zA-Z0-9][a-zA-Z0-9_-]{2,127}$/.test(n),
  keyVault: (n: string): boolean => /^[a-zA-Z][a-zA-Z0-9-]{1,22}[a-zA-Z0-9]$/.test(n) && !n.includes('--'),
  sqlServer: (n: string): boolean => /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(n),
  sqlDatabase: (n: string): boolean => n.length >= 1 && n.length <= 128 && !/[<>*%&:\\/?]/.test(n) && !/[. ]$/.test(n),
  federatedCredential: (n: string): boolean => /^[a-zA-Z0-9][a-zA-Z0-9_-]{2,119}$/.test(n),
} as const;

/**
 * Names of a tenant's geo-replication: the secondary server (`sqlgeo-<tenant>-<env>-<hash6>`) and
 * its failover group (`fog-<tenant>-<env>-<hash6>`), both globally unique DNS names (the group's is
 * the read-write listener `<group>.database.windows.net`). One group per tenant database.
 */
export function geoReplicationNames(tenant: string, environment: string, options: NameOptions = {}) {
  const salt = options.salt ?? '';
  return {
    sqlServer: compose('sqlgeo', tenant, environment, 63, true, salt),
    failoverGroup: compose('fog', tenant, environment, 63, true, salt),
  };
}
