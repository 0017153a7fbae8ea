/**
 * The tenant encryption key's facts as Prometheus series, computed at scrape time from the Tenants
 * in the informer cache (status.azure.keyCreatedAt and keyExpiresAt, which the Azure step reads
 * from Key Vault): timestamps, so the key's age (`time() - …created…`) and the time left before it
 * expires are computed in PromQL and never freeze between reconciles. The current version is the
 * newest: its expiry drawing near means no newer version exists (the rotation policy did not run).
 *
 * Pure mapping ({@link encryptionKeySamples}) plus one registration; every replica with a synced
 * cache exports them, so queries aggregate with `max by (tenant)`.
 */
import { Gauge, type Registry } from 'prom-client';
import type { KubeObject } from '../runtime/kube-client.ts';

type CachedTenant = KubeObject & { status?: { azure?: { keyCreatedAt?: string; keyExpiresAt?: string } } };

export interface KeySample {
  tenant: string;
  createdSeconds?: number | undefined;
  expiresSeconds?: number | undefined;
}

function seconds(iso: string | undefined): number | undefined {
  if (iso === undefined) return undefined;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? undefined : ms / 1000;
}

/** Pure: what one Tenant contributes (nothing before the Azure step has read its key). */
export function encryptionKeySamples(tenant: CachedTenant): KeySample {
  const azure = tenant.status?.azure;
  return {
    tenant: tenant.metadata.name,
    createdSeconds: seconds(azure?.keyCreatedAt),
    expiresSeconds: seconds(azure?.keyExpiresAt),
  };
}

/** Registers the two gauges, filled from `tenants()` at every scrape. */
export function registerEncryptionKeyMetrics(registry: Registry, tenants: () => readonly KubeObject[]): void {
  const fill = (gauge: Gauge<'tenant'>, pick: (s: KeySample) => number | undefined) => {
    gauge.reset();
    for (const t of tenants()) {
      const sample = encryptionKeySamples(t as CachedTenant);
      const value = pick(sample);
      if (value !== undefined) gauge.set({ tenant: sample.tenant }, value);
    }
  };
  new Gauge({
    name: 'tenant_operator_key_created_timestamp_seconds',
    help: 'Unix time the current version of the tenant’s encryption key was created (status.azure.keyCreatedAt): the key’s age is time() minus this.',
    labelNames: ['tenant'] as const,
    registers: [registry],
    collect() {
      fill(this, (s) => s.createdSeconds);
    },
  });
  new Gauge({
    name: 'tenant_operator_key_expiry_timestamp_seconds',
    help: 'Unix time the current (newest) version of the tenant’s encryption key expires (status.azure.keyExpiresAt); Key Vault’s rotation policy creates a newer one well before.',
    labelNames: ['tenant'] as const,
    registers: [registry],
    collect() {
      fill(this, (s) => s.expiresSeconds);
    },
  });
}
